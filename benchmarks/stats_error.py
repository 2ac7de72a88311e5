"""The statistical activity mode against the trace-accurate one: the error of every summary
figure on VGG-8 and ResNet-18 (224x224) at several configs, and the time per point.

    python benchmarks/stats_error.py                 # seeded synthetic VGG-8 and ResNet-18
    python benchmarks/stats_error.py --trace DIR     # trace folders instead (repeatable)

Per config: trace-mode and stats-mode estimates of the same trace (chip.estimate(...,
activity="trace" | "stats")); the relative error of each figure of chip.sweep.SWEEP_METRICS
that differs, the largest over the configs per figure, and the stats mode's time per point:
cold (its statistics computed for this trace: the im2col input bits and the weight
histogram) and warm (kept, as in a sweep's later points). Figures not listed are identical.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chip.estimator import estimate, load_trace  # noqa: E402
from chip.sweep import SWEEP_METRICS  # noqa: E402
from contracts.config import HardwareConfig  # noqa: E402
from contracts.presets import preset  # noqa: E402


def configs() -> dict[str, HardwareConfig]:
    ns = preset("neurosim-1.4-default")
    d = HardwareConfig()
    return {
        "neurosim-1.4-default (SRAM, 128 rows/read)": ns,
        "NeuroSim preset, compat mode": ns.replace(compat="neurosim-1.4"),
        "default (RRAM 1T1R, sequential)": d,
        "RRAM parallel, 128 rows/read, 5-bit ADC": d.replace(operation_mode="parallel"),
        "RRAM parallel, 32 rows/read, 2-bit cells": d.replace(
            operation_mode="parallel", rows_in_parallel=32, cell_bits=2),
        "RRAM parallel, 16 rows/read, differential": d.replace(
            operation_mode="parallel", rows_in_parallel=16, weight_encoding="differential"),
        "table7-rram-22nm-par32": preset("table7-rram-22nm-par32"),
        "SRAM parallel 64x64, 8-bit ADC": ns.replace(subarray_rows=64, subarray_cols=64, rows_in_parallel=64,
                                                     adc_bits=8),
    }


def _trace(name: str):
    from chip.synthetic import (resnet18_imagenet_geometries, synthetic_layers,
                                vgg8_cifar_geometries)
    from contracts.trace import Trace
    geoms = vgg8_cifar_geometries() if name == "vgg8" else resnet18_imagenet_geometries()
    return Trace(manifest={"network": name.upper(), "config": {}, "layers": []},
                 layers=synthetic_layers(geoms, images=1, input_sparsity=0.5, seed=0))


def compare(trace, cfg: HardwareConfig) -> tuple[dict[str, float], float, float, float]:
    """(relative error per differing figure, trace s, stats cold s, stats warm s)."""
    t0 = time.perf_counter()
    exact = estimate(trace, cfg).summary
    t1 = time.perf_counter()
    estimate(trace, cfg, activity="stats")
    t2 = time.perf_counter()
    fast = estimate(trace, cfg, activity="stats").summary
    t3 = time.perf_counter()
    errors = {}
    for key in SWEEP_METRICS:
        a, b = exact[key], fast[key]
        if isinstance(a, (int, float)) and a != b:
            errors[key] = (b - a) / a if a else float("inf")
    for cat, a in exact["energy_breakdown_pJ"].items():
        b = fast["energy_breakdown_pJ"][cat]
        if a != b:
            errors[f"energy[{cat}]"] = (b - a) / a if a else float("inf")
    return errors, t1 - t0, t2 - t1, t3 - t2


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trace", action="append", default=[], metavar="DIR",
                   help="a trace folder (repeatable; default: the synthetic VGG-8, ResNet-18)")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.1f}")
    sources = args.trace or ["vgg8", "resnet18"]
    for net in sources:
        trace = load_trace(net) if args.trace else _trace(net)
        worst: dict[str, float] = {}
        print(f"\n{net}: config | trace s | stats cold s | stats warm s | errors (stats vs trace)")
        for name, cfg in configs().items():
            errors, t_trace, cold, warm = compare(trace, cfg)
            for key, e in errors.items():
                worst[key] = max(worst.get(key, 0.0), abs(e))
            shown = ", ".join(f"{k} {100 * e:+.3f} %" for k, e in errors.items()
                              if abs(e) >= 5e-5) or "all < 0.005 %"
            print(f"  {name} | {t_trace:.2f} | {cold:.3f} | {warm:.3f} | {shown}")
        print(f"  largest |error| per figure: " + ", ".join(
            f"{k} {100 * e:.3f} %" for k, e in sorted(worst.items(), key=lambda x: -x[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
