"""The eight Table VII points of the DNN+NeuroSim V1.4 manual side by side with NeuroPySim.

    python benchmarks/table7.py            # default (corrected) model and compat mode

Each preset (contracts.presets, `table7-*`) is estimated on a synthetic VGG-8 trace (seed 0,
input sparsity 0.5): Table VII used a trained VGG-8 on CIFAR-10, so activity differs and
this is a coarse check (tests/test_table7.py asserts a factor 1.5 and the orderings).
"""
from __future__ import annotations

import dataclasses

from chip.estimator import estimate
from contracts.presets import TABLE7_PUBLISHED, preset
from chip.synthetic import synthetic_layers, vgg8_cifar_geometries
from contracts.trace import Trace


def main() -> None:
    layers = synthetic_layers(vgg8_cifar_geometries(), seed=0, input_sparsity=0.5)
    trace = Trace(manifest={"network": "VGG8", "config": {}, "layers": []}, layers=layers)
    print("| point | Table VII area mm² / TOPS / TOPS/W | ours (x published) | "
          "compat (x published) |")
    print("|---|---|---|---|")
    for name, published in TABLE7_PUBLISHED.items():
        cells = []
        for compat in ("none", "neurosim-1.4"):
            config = dataclasses.replace(preset(name), compat=compat)
            s = estimate(trace, config).summary
            got = (s["area_mm2"], s["tops"], s["tops_per_w"])
            cells.append(" / ".join(f"{g:.4g} (x{g / p:.2f})" for g, p in zip(got, published)))
        print(f"| {name} | {' / '.join(map(str, published))} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
