"""Cost-only runs at scale: wall time and peak memory of whole commands (issue 12, item 4).

    python benchmarks/bench_cost_only.py              # VGG-8 and ResNet-50, best of 3
    python benchmarks/bench_cost_only.py --repeat 5 --cases vgg8
    python benchmarks/bench_cost_only.py --cases mobilenetv2 --json

Each case runs the commands a user types, as child processes (interpreter start and the torch
import included), in a scratch folder:

- ``vgg8``: ``inference_sim.py --network vgg8 --dataset synthetic --images 1`` (step 1 only).
  Target: <= 3 s and <= 600 MB peak RSS.
- ``resnet50``: ``inference_sim.py --model resnet50 --dataset synthetic --images 1`` (224x224,
  torchvision's definition, random init), then ``Chip.py --trace ...``. Target: both steps
  <= 60 s together, each <= 3 GB peak RSS.
- ``mobilenetv2``: the same two commands for MobileNetV2 (no target; reported).
- ``bert-base``: step 1 of the BERT-base-shaped encoder (``models/bert.py``, 128 embedded
  tokens, random init). Target (issue 13): trace + chip estimate <= 60 s, <= 4 GB.

Wall time is the best of ``--repeat`` runs of each command (the machine is shared; the
1-minute load average before each run is printed with it, and each run's CPU time, user +
system, which other processes disturb less); peak RSS is the child's ``ru_maxrss`` (the
largest over the runs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (name, step-1 arguments, run step 2 too, targets: (seconds, MB) for step 1 / both steps)
CASES = {
    "vgg8": (["--network", "vgg8"], False, {"step1": (3.0, 600.0)}),
    "resnet50": (["--model", "resnet50"], True, {"both": (60.0, 3000.0)}),
    "mobilenetv2": (["--model", "mobilenetv2"], True, {}),
    # issue 13: BERT-base-shaped encoder, 128 tokens; step 1 only until step 2 prices
    # dynamic_matmul layers (the target, <= 60 s and <= 4 GB, is for both steps)
    "bert-base": (["--model", "bert-base"], False, {"step1": (60.0, 4000.0)}),
}


def _run(argv: list[str], cwd: Path) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds user + system) of one child process; a failure
    stops the benchmark."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)       # the child's own rusage
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}: "
                             f"{lines[-1] if lines else ''}")
    # ru_maxrss: KiB on Linux; the CPU time is less sensitive to the other processes' load
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def _best(argv: list[str], cwd: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        load = os.getloadavg()[0]
        wall, rss, cpu = _run(argv, cwd)
        runs.append({"wall_s": wall, "cpu_s": cpu, "peak_rss_MB": rss, "load_1min": load})
    best = min(runs, key=lambda r: r["wall_s"])
    return {"best_wall_s": best["wall_s"], "load_at_best": best["load_1min"],
            "peak_rss_MB": max(r["peak_rss_MB"] for r in runs), "runs": runs}


def bench_case(name: str, repeat: int, scratch: Path) -> dict:
    args, step2, targets = CASES[name]
    trace = scratch / f"trace_{name}"
    step1 = [str(ROOT / "inference_sim.py"), *args, "--dataset", "synthetic", "--images", "1",
             "--quiet", "--trace-dir", str(trace), "--results-dir", str(scratch / f"res_{name}")]
    out = {"case": name, "step1": _best(step1, scratch, repeat)}
    if step2:
        cmd = [str(ROOT / "Chip.py"), "--trace", str(trace), "--quiet", "--no-plot", "--out",
               str(scratch / f"chip_{name}")]
        out["step2"] = _best(cmd, scratch, repeat)
        out["both_s"] = out["step1"]["best_wall_s"] + out["step2"]["best_wall_s"]
        out["both_peak_rss_MB"] = max(out["step1"]["peak_rss_MB"], out["step2"]["peak_rss_MB"])
    checks = {}
    for part, (seconds, mb) in targets.items():
        wall = out["both_s"] if part == "both" else out[part]["best_wall_s"]
        rss = out["both_peak_rss_MB"] if part == "both" else out[part]["peak_rss_MB"]
        checks[part] = {"target_s": seconds, "target_MB": mb,
                        "met": wall <= seconds and rss <= mb}
    out["targets"] = checks
    return out


def _print(result: dict) -> None:
    for part in ("step1", "step2"):
        if part in result:
            r = result[part]
            runs = ", ".join(f"{x['wall_s']:.2f} s, CPU {x['cpu_s']:.2f} s (load "
                             f"{x['load_1min']:.1f})" for x in r["runs"])
            print(f"{result['case']:12s} {part}: best {r['best_wall_s']:6.2f} s, peak RSS "
                  f"{r['peak_rss_MB']:6.0f} MB   [{runs}]")
    if "both_s" in result:
        print(f"{result['case']:12s} both : {result['both_s']:6.2f} s, peak RSS "
              f"{result['both_peak_rss_MB']:6.0f} MB")
    for part, t in result["targets"].items():
        print(f"{result['case']:12s} target ({part}) <= {t['target_s']:g} s and "
              f"<= {t['target_MB']:g} MB: {'met' if t['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="vgg8,resnet50",
                   help=f"comma-separated, from {', '.join(CASES)} (default vgg8,resnet50)")
    p.add_argument("--repeat", type=int, default=3, help="runs per command (best is kept)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown or args.repeat < 1:
        p.error(f"--cases: unknown {unknown}" if unknown else "--repeat must be >= 1")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_cost_only_") as tmp:
        for name in names:
            result = bench_case(name, args.repeat, Path(tmp))
            results.append(result)
            if not args.json:
                _print(result)
    if args.json:
        print(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
