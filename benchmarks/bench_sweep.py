"""A 1,000-point cost-only VGG-8 sweep, whole process (issue 15's target: <= 5 minutes on the
project's 2-core machine), with `Chip.py --sweep -j 2` and with `python -m neuropysim.sweep`
on a 2-worker Dask LocalCluster.

    python benchmarks/bench_sweep.py                  # synthetic VGG-8 trace (seeded)
    python benchmarks/bench_sweep.py --trace DIR      # a step-1 VGG-8 trace instead
    python benchmarks/bench_sweep.py --activity stats # the statistical fast mode

The grid: the NeuroSim V1.4 preset with adc_bits 3..7 x cols_per_adc 2..32 x
technology_node_nm 22..90 x global_interconnect x pipeline x clock = 5 x 5 x 5 x 2 x 2 x 2
= 1,000 points. Printed: wall and CPU time (user + sys of the whole process tree) of each
command, the points per second, and the 1-minute load average before each run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AXES = ["adc_bits=3,4,5,6,7", "cols_per_adc=2,4,8,16,32",
        "technology_node_nm=22,32,45,65,90", "global_interconnect=htree,xybus",
        "pipeline=true,false", "clock=synchronous,asynchronous"]
POINTS = 1000


def _timed(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the process and its children)."""
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    wall = time.perf_counter() - t0
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-400:]}")
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return wall, cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trace", metavar="DIR", help="VGG-8 trace folder (default: synthetic)")
    p.add_argument("--activity", choices=("trace", "stats"), default="trace")
    p.add_argument("--only", choices=("chip", "dask"))
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    trace = args.trace
    if trace is None:
        from chip.synthetic import vgg8_cifar_geometries, write_synthetic_trace
        trace = str(write_synthetic_trace(scratch / "layer_record_VGG8", "VGG8",
                                          geoms=vgg8_cifar_geometries(), images=1,
                                          input_sparsity=0.5, seed=0))
    sweeps = [a for axis in AXES for a in ("--sweep", axis)]
    common = ["--preset", "neurosim-1.4-default", "--activity", args.activity, "--quiet",
              "--no-plot"]
    runs = {
        "chip": [sys.executable, str(REPO / "Chip.py"), "--trace", trace, *common, *sweeps,
                 "-j", "2", "--out", str(scratch / "chip-sweep")],
        "dask": [sys.executable, "-m", "neuropysim.sweep", "--trace", trace, *common, *sweeps,
                 "--workers", "2", "--out", str(scratch / "dask-sweep")],
    }
    for name, argv in runs.items():
        if args.only and name != args.only:
            continue
        load = os.getloadavg()[0]
        wall, cpu = _timed(argv)
        label = "Chip.py --sweep -j 2" if name == "chip" else "neuropysim.sweep, 2 workers"
        print(f"{label:<30} {POINTS} points ({args.activity}): wall {wall:.1f} s "
              f"({POINTS / wall:.1f} points/s), CPU {cpu:.1f} s, load {load:.1f}; "
              f"target 300 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
