"""Speed of one estimate, whole process: `python Chip.py` on a VGG-8 trace (NeuroSim preset and
the default config) and on a ResNet-18 224x224 trace, median of N runs, with the CPU time
and the peak RSS of each run (issue 15's targets: VGG-8 <= 0.5 s and <= 300 MB with the
NeuroSim preset, <= 0.8 s with the default config; ResNet-18 <= 2 s).

    python benchmarks/bench_estimate.py                       # synthetic traces (seeded)
    python benchmarks/bench_estimate.py --vgg8 layer_record_VGG8   # a step-1 trace instead
    python benchmarks/bench_estimate.py --repeat 5 --plot     # also with breakdown.png
    python benchmarks/bench_estimate.py --chip /tmp/old/Chip.py   # another copy's Chip.py

Traces: chip.synthetic's seeded VGG-8 (CIFAR-10 shape) and ResNet-18 (224x224), one image,
input sparsity 0.5, as benchmarks/bench_chip.py; ``--vgg8 DIR`` prices a folder written by
``python inference_sim.py --network vgg8 --dataset synthetic`` instead. Every run is a fresh
``python Chip.py --quiet --no-plot`` (``--plot``: with the plot too) into a scratch folder.
Printed per case: median, min and max wall time, median CPU time (user + sys: what the
machine's other work changes least), median peak RSS, and the 1-minute load average; the
machine has 2 cores shared with other workers. Also printed: the time Python takes to import
the compiled module alone, which an editable install with rebuild-on-import spends in a
``cmake --build`` check (a regular install does not).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS = {("vgg8", "neurosim-1.4-default"): 0.5, ("vgg8", "default"): 0.8,
           ("resnet18-224", "default"): 2.0, ("resnet18-224", "neurosim-1.4-default"): 2.0}


def _run(argv: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def _trace(name: str, folder: Path) -> Path:
    from chip.synthetic import (resnet18_imagenet_geometries, vgg8_cifar_geometries,
                                write_synthetic_trace)
    geoms = vgg8_cifar_geometries() if name == "vgg8" else resnet18_imagenet_geometries()
    return write_synthetic_trace(folder / f"layer_record_{name}", name.upper(), geoms=geoms,
                                 images=1, input_sparsity=0.5, seed=0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--vgg8", metavar="DIR", help="VGG-8 trace folder (default: synthetic)")
    p.add_argument("--plot", action="store_true", help="also runs that write breakdown.png")
    p.add_argument("--only", choices=("vgg8", "resnet18-224"), help="one network")
    p.add_argument("--chip", metavar="PATH", default=str(REPO / "Chip.py"),
                   help="the Chip.py to run (e.g. of an exported older commit)")
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-estimate-"))
    traces = {"vgg8": Path(args.vgg8) if args.vgg8 else _trace("vgg8", scratch),
              "resnet18-224": _trace("resnet18", scratch)}
    py = sys.executable
    imp = [_run([py, "-c", "import from_neurosim.FormulaBindings"])[0] for _ in range(3)]
    bare = [_run([py, "-c", "pass"])[0] for _ in range(3)]
    print(f"python start-up {statistics.median(bare):.3f} s; + importing the compiled module "
          f"{statistics.median(imp) - statistics.median(bare):.3f} s (median of 3)")
    print(f"{'trace':<14}{'config':<22}{'plot':<6}{'wall median':>12}{'min':>7}{'max':>7}"
          f"{'CPU median':>11}{'RSS MB':>8}{'load':>6}{'target':>8}")
    for net, trace in traces.items():
        if args.only and net != args.only:
            continue
        for preset in ("neurosim-1.4-default", "default"):
            for plot in ([False, True] if args.plot else [False]):
                argv = [py, args.chip, "--trace", str(trace), "--preset", preset,
                        "--quiet", "--out", str(scratch / f"out-{net}-{preset}")]
                if not plot:
                    argv.append("--no-plot")
                load = os.getloadavg()[0]
                runs = [_run(argv) for _ in range(args.repeat)]
                walls = [r[0] for r in runs]
                target = TARGETS.get((net, preset))
                print(f"{net:<14}{preset:<22}{'yes' if plot else 'no':<6}"
                      f"{statistics.median(walls):>11.3f}s{min(walls):>7.2f}{max(walls):>7.2f}"
                      f"{statistics.median(r[1] for r in runs):>10.3f}s"
                      f"{statistics.median(r[2] for r in runs):>8.0f}{load:>6.1f}"
                      f"{(f'{target:.1f} s' if target else ''):>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
