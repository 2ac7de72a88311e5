"""How much NeuroSim's leakage rules move the leakage of networks NeuroSim was not run on here.

    python benchmarks/leakage_rules.py

Compat mode (``compat="neurosim-1.4"``) at NeuroSim's default point on seeded synthetic
traces of ResNet-18 (ImageNet shape) and a DenseNet-40-like CIFAR network priced with
NeuroSim's own table (the 3x3 convs' Cout = the channels after their concatenation, quirk
neurosim_table_shape). For each leakage quirk added in issue 16, compat mode with that quirk
switched off against compat mode: the change of the chip's leakage energy and the largest
per-layer ratio (docs/validation.md, "Leakage, block by block"). Prints a Markdown table.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUIRKS_OFF = ("pipeline_leakage_running_clock", "tile_buffer_leakage_one_core")


def densenet40_table():
    """DenseNet-40 (growth 12, no bottleneck) on 32x32 inputs, as NeuroSim's NetWork csv
    gives it: each 3x3 conv of a dense block with table Cout = its input + 12 channels."""
    from chip.synthetic import _conv, _linear
    layers, c = [_conv("conv0", 3, 24, 3, 32)], 24
    for block, hw in enumerate((32, 16, 8)):
        for i in range(12):
            layers.append(replace(_conv(f"b{block}l{i}", c, 12, 3, hw),
                                  table_channels=(c, c + 12)))
            c += 12
        if block < 2:
            layers.append(_conv(f"t{block}", c, c, 1, hw, after=("relu", "maxpool2x2")))
    return layers + [_linear("fc", c, 10)]


def networks():
    from chip.synthetic import resnet18_imagenet_geometries
    return {"ResNet-18 (ImageNet)": resnet18_imagenet_geometries(),
            "DenseNet-40-like, NeuroSim's table": densenet40_table()}


def compare(geoms) -> dict[str, tuple[float, float, str]]:
    """quirk switched off -> (leakage change, largest layer ratio, its layer)."""
    from chip import estimate
    from chip.compat import QUIRKS
    from chip.synthetic import synthetic_layers
    from contracts.presets import preset
    from contracts.trace import Trace
    trace = Trace(manifest={"network": "net", "config": {}, "layers": []},
                  layers=synthetic_layers(geoms, seed=0, input_sparsity=0.5))
    base = preset("neurosim-1.4-default")
    ref = estimate(trace, base.replace(compat="neurosim-1.4"))
    out = {}
    for off in (*QUIRKS_OFF, ",".join(QUIRKS_OFF)):
        names = ",".join(q for q in QUIRKS if q not in off.split(","))
        got = estimate(trace, base.replace(compat_quirks=names))
        ratio = got.layers.leakage_energy_pJ / ref.layers.leakage_energy_pJ
        worst = int(ratio.values.argmax())
        out[off] = (got.summary["leakage_energy_per_image_pJ"]
                    / ref.summary["leakage_energy_per_image_pJ"] - 1,
                    float(ratio.iloc[worst]), str(ref.layers.layer.iloc[worst]))
    return out


def main() -> int:
    t0 = time.perf_counter()
    print("| network | quirk switched off | leakage | largest layer ratio |")
    print("|---|---|---|---|")
    for name, geoms in networks().items():
        for off, (change, ratio, layer) in compare(geoms).items():
            label = "both" if "," in off else f"`{off}`"
            print(f"| {name} | {label} | {change * 100:+.1f} % | {ratio:.2f}x ({layer}) |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
