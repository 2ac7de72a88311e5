"""``python -m neuropysim``: profile a network on a chip from the command line, through the
same :class:`neuropysim.Accelerator` a script holds (no logic of its own).

    python -m neuropysim --model lenet5 --preset rram-realistic --set operation_mode=parallel \\
        --faults 0.01 --eval-images 200 [--calibrate all] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

from .accelerator import FAULT_KINDS, Accelerator
from .statistics import format_statistics

__all__ = ["main", "build_parser", "report_lines"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m neuropysim",
        description="Profile a network on a CIM chip: accuracy three ways (step 1) and the "
                    "chip's statistics per inference (step 2), as neuropysim.Accelerator.")
    p.add_argument("--model", default="lenet5", help="a model argument as inference_sim.py's")
    p.add_argument("--dataset", help="data set to score (default: the network's own)")
    p.add_argument("--data-root", help="folder of MNIST IDX / CIFAR-10 files")
    p.add_argument("--checkpoint", help="weights to load (default: the shipped checkpoint)")
    p.add_argument("--preset", help="a named config (contracts.presets)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (repeatable)")
    p.add_argument("--faults", type=float, metavar="RATE",
                   help="inject stuck-at faults at this fraction of the cells")
    p.add_argument("--fault-kind", choices=list(FAULT_KINDS),
                   help="with --faults: stuck_at (the configured LRS share; default), "
                        "stuck_at_lrs or stuck_at_hrs")
    p.add_argument("--eval-images", type=int, help="test images scored (default: all)")
    p.add_argument("--calibrate", metavar="STAGES",
                   help="calibration stages: 'all' or a comma-separated list (cim.calibration)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the profile as JSON")
    return p


def report_lines(acc: Accelerator, profile, hit: int | None) -> list[str]:
    """The human-readable profile: accuracy, calibration table, statistics."""
    a = profile.accuracy
    lines = [f"accuracy on {profile.eval_images} images: float {100 * a['float']:.2f} %, "
             f"quantized {100 * a['quantized']:.2f} %, hardware {100 * a['hardware']:.2f} %"]
    if hit is not None:
        lines.append(f"faults injected: {hit} cells")
    for row in profile.calibration.get("table", []):
        lines.append(f"calibration {row['stage']}: {100 * row['hardware']:.2f} %")
    return lines + format_statistics(profile.statistics)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.fault_kind is not None and args.faults is None:
            raise ValueError(f"--fault-kind {args.fault_kind} applies only with --faults RATE")
        if args.calibrate is not None and not args.calibrate.strip():
            raise ValueError("--calibrate '' names no stage; give 'all' or a comma-separated "
                             "list of targets,bias,scaling,finetune")
        acc = Accelerator(args.model, preset=args.preset, checkpoint=args.checkpoint,
                          data_root=args.data_root, seed=args.seed,
                          warn=lambda text: print(text, file=sys.stderr))
        acc.configure(args.set)
        hit = None if args.faults is None else acc.inject_faults(
            args.faults, args.fault_kind or "stuck_at")
        profile = acc.profile(args.dataset, eval_images=args.eval_images,
                              calibrate=args.calibrate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"accuracy": profile.accuracy, "faults_injected": hit,
                          "calibration": profile.calibration.get("table", []),
                          "statistics": profile.statistics}, indent=2))
    else:
        print("\n".join(report_lines(acc, profile, hit)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
