"""Accuracy of the default network against device non-idealities (one PNG, four panels).

    python benchmarks/plot_nonidealities.py                  # 300 images, 3 seeds (~6 min, 2 cores)
    python benchmarks/plot_nonidealities.py --images 100 --seeds 1 --out /tmp/x.png

Network and data: inferenceConfig's default network (lenet5) with its shipped checkpoint on
the mnist5k test split (the first ``--images`` images); hardware: inferenceConfig.HARDWARE
with the changes each panel names. Stochastic points are the mean over ``--seeds`` seeds
(cim.repeat.monte_carlo: seeds 0, 1, ...), error bars one sample standard deviation.

Panels:
(a) device-to-device variation sigma (relative, fixed per cell), parallel read with the
    offset (reference column) and the differential encoding, and sequential read;
(b) stuck-at fault rate (half stuck at HRS, half at LRS), same three curves;
(c) time after programming: power-law drift (nu = config.drift_nu, t0 = config.drift_t0_s)
    with and without global drift compensation (offset encoding) and without it for the
    differential encoding; relative drift (spread k*(1 + s*ln(t/t_ref)), config
    drift_relative_*) for both encodings, ``--seeds`` seeds; parallel read;
(d) ADC bits in parallel mode, IR drop off and on (word/bit-line segment resistance); also
    the differential weight encoding at the larger wire resistance.

Prints the key points (accuracy at 1 %, 5 %, 10 % faults, ...) and writes
docs/nonidealities_accuracy.png (``--out``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGMAS = [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
RATES = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
TIMES = [("1s", 1.0), ("1.5s", 1.5), ("2s", 2.0), ("5s", 5.0), ("10s", 10.0), ("1m", 60.0), ("1h", 3600.0), ("1d", 86400.0), ("1mo", 30 * 86400.0),
         ("1y", 365.25 * 86400.0), ("10y", 3652.5 * 86400.0)]
ADC_BITS = [3, 4, 5, 6, 7, 8]
WIRES = [0.0, 0.02, 0.1]           # ohm per cell segment


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=300, help="test images scored per point")
    p.add_argument("--seeds", type=int, default=3, help="seeds per stochastic point")
    p.add_argument("--out", default=str(ROOT / "docs" / "nonidealities_accuracy.png"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cim.repeat import monte_carlo
    from contracts.config import HardwareConfig

    base = HardwareConfig()
    t_start = time.perf_counter()

    def acc(cfg, runs):
        r = monte_carlo(cfg, runs, seed=0, eval_images=args.images, images=1)
        return 100 * r["mean"], 100 * r["std"]

    curves: dict[str, dict[str, list]] = {}

    def curve(panel, label, xs, cfgs, runs):
        points = [acc(c, runs) for c in cfgs]
        curves.setdefault(panel, {})[label] = (xs, points)
        print(f"({panel}) {label}: " + ", ".join(f"{x:g}: {m:.1f}%" + (f"+-{s:.1f}" if s else "")
                                                for x, (m, s) in zip(xs, points)), flush=True)

    for mode, enc in (("parallel", "offset"), ("parallel", "differential"),
                      ("sequential", base.weight_encoding)):
        b = base.replace(operation_mode=mode, weight_encoding=enc)
        label = f"{mode}, {enc}"
        curve("a", label, SIGMAS, [b.replace(d2d_variation_sigma=s) for s in SIGMAS], args.seeds)
        curve("b", label, RATES, [b.replace(stuck_at_fault_rate=r) for r in RATES], args.seeds)
    par = base.replace(operation_mode="parallel")
    for comp in (False, True):
        curve("c", f"{base.weight_encoding}, {'with' if comp else 'no'} compensation",
              [t for _, t in TIMES],
              [par.replace(drift_model="power_law", drift_time_s=t, drift_compensation=comp)
               for _, t in TIMES], 1)
    diff = par.replace(weight_encoding="differential")
    curve("c", "differential, no compensation", [t for _, t in TIMES],
          [diff.replace(drift_model="power_law", drift_time_s=t) for _, t in TIMES], 1)
    for enc_cfg in (par, diff):
        curve("c", f"relative drift k={base.drift_relative_k:g}, {enc_cfg.weight_encoding}",
              [t for _, t in TIMES],
              [enc_cfg.replace(drift_model="relative", drift_time_s=t) for _, t in TIMES],
              args.seeds)
    for wire in WIRES:
        curve("d", f"{base.weight_encoding}, " + ("no IR drop" if wire == 0 else
                                                  f"IR drop {wire:g} ohm/cell"), ADC_BITS,
              [par.replace(adc_bits=bits, wire_resistance_ohm=wire) for bits in ADC_BITS], 1)
    curve("d", f"differential, IR drop {WIRES[-1]:g} ohm/cell", ADC_BITS,
          [diff.replace(adc_bits=bits, wire_resistance_ohm=WIRES[-1]) for bits in ADC_BITS], 1)

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    titles = {"a": "(a) device-to-device variation", "b": "(b) stuck-at faults",
              "c": f"(c) drift: power law (nu={base.drift_nu:g}, t0={base.drift_t0_s:g} s), "
                   f"relative (s={base.drift_relative_log_slope:g})",
              "d": "(d) ADC resolution, parallel read"}
    xlabels = {"a": "d2d sigma (relative)", "b": "stuck-at fault rate",
               "c": "time after programming (s)", "d": "ADC bits"}
    for ax, panel in zip(axes.flat, "abcd"):
        for label, (xs, pts) in curves[panel].items():
            ax.errorbar(xs, [m for m, _ in pts], yerr=[s for _, s in pts], marker="o",
                        capsize=3, label=label)
        if panel == "c":
            ax.set_xscale("log")
        if panel == "b":
            ax.set_xscale("symlog", linthresh=0.005)
        ax.set_title(titles[panel])
        ax.set_xlabel(xlabels[panel])
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"lenet5 on mnist5k test ({args.images} images), "
                 f"{args.seeds} seed(s) per stochastic point")
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out} in {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
