"""NSGA-II search against the full grid on a space small enough to grid: how much of the grid's
Pareto front the search finds, and with how many evaluations.

    python benchmarks/search_vs_grid.py                    # LeNet-5, 60-point space
    python benchmarks/search_vs_grid.py --budget 20 --seeds 0,1,2

Space: LeNet-5 (shipped checkpoint, 200 mnist5k test images per accuracy point), parallel
mode, adc_bits 3..7 x rows_in_parallel 16,32,64,128 x cols_per_adc 4,8,16 = 60 points (20
step-1 runs); objectives hardware accuracy (max), TOPS/W (max), chip area (min). The grid
runs once; the search runs per seed with ``--budget`` distinct evaluations, each in a folder
of its own (it reuses nothing of the grid). Printed: the grid front's size, per seed the
grid-front points the search found, the search front's points that are not on the grid
front, and the hypervolume of the search's front over the grid front's (objectives scaled to
[0, 1] over the grid; 1 = the whole front found), and the wall times.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OBJECTIVES = {"accuracy": "max", "tops_per_w": "max", "area_mm2": "min"}
AXES = ("adc_bits=3,4,5,6,7", "rows_in_parallel=16,32,64,128", "cols_per_adc=4,8,16")
RANGES = ("adc_bits=3..7", "rows_in_parallel=16,32,64,128", "cols_per_adc=4,8,16")


def _hv2(points: np.ndarray) -> float:
    """Area dominated by ``points`` [n, 2] (maximized) above the origin."""
    pts = points[np.argsort(-points[:, 0])]
    area, best_z = 0.0, 0.0
    for i, (y, z) in enumerate(pts):
        best_z = max(best_z, z)
        nxt = pts[i + 1, 0] if i + 1 < len(pts) else 0.0
        area += (y - nxt) * best_z
    return area


def hypervolume(points: np.ndarray) -> float:
    """Volume dominated by ``points`` [n, 3] (maximized, in [0, 1]) above the origin, by
    slices along the first objective."""
    pts = points[np.argsort(-points[:, 0])]
    volume = 0.0
    for i in range(len(pts)):
        nxt = pts[i + 1, 0] if i + 1 < len(pts) else 0.0
        volume += (pts[i, 0] - nxt) * _hv2(pts[:i + 1, 1:])
    return volume


def _scaled(table, low, high) -> np.ndarray:
    cols = []
    for name, way in OBJECTIVES.items():
        v = table[name].to_numpy(dtype=float)
        s = (v - low[name]) / (high[name] - low[name]) if high[name] > low[name] else v * 0
        cols.append(s if way == "max" else 1.0 - s)
    return np.column_stack(cols)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=int, default=20)
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--eval-images", type=int, default=200)
    p.add_argument("--out", default=None, help="folder for the runs (default: a temporary one)")
    args = p.parse_args()
    from chip.sweep import parse_axis
    from contracts.config import HardwareConfig
    from neuropysim.explore import Backend, run_grid
    from neuropysim.search import parse_range, run_search
    from neuropysim.space import Source, Space, Step1Settings
    out = Path(args.out or tempfile.mkdtemp(prefix="search-vs-grid-"))
    space = Space([Source.from_network("lenet5")], HardwareConfig(operation_mode="parallel"),
                  Step1Settings(eval_images=args.eval_images))
    print(f"load average {os.getloadavg()[0]:.1f}; results in {out}")
    t0 = time.perf_counter()
    grid = run_grid(space, [parse_axis(a) for a in AXES], out / "grid", objectives=OBJECTIVES,
                    backend=Backend(workers=2))
    t_grid = time.perf_counter() - t0
    table = grid.table[grid.table["status"] == "ok"]
    low = {k: table[k].min() for k in OBJECTIVES}
    high = {k: table[k].max() for k in OBJECTIVES}
    front = grid.front
    key = lambda r: tuple(r[a.split("=")[0]] for a in AXES)          # noqa: E731
    front_keys = {key(r) for _, r in front.iterrows()}
    hv_grid = hypervolume(_scaled(front, low, high))
    print(f"grid: {len(table)} points ({grid.step1_runs} step-1 runs) in {t_grid:.0f} s; "
          f"front {len(front)} points; hypervolume {hv_grid:.4f}")
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        found = run_search(space, [parse_range(r) for r in RANGES], out / f"search-{seed}",
                           args.budget, population=args.population, seed=seed,
                           objectives=OBJECTIVES, backend=Backend(workers=2))
        t_search = time.perf_counter() - t0
        s_front = found.front
        hits = sum(key(r) in front_keys for _, r in s_front.iterrows())
        hv = hypervolume(_scaled(s_front, low, high)) if len(s_front) else 0.0
        print(f"search seed {seed}: {found.ran} evaluations ({found.step1_runs} step-1 runs) "
              f"in {t_search:.0f} s; its front {len(s_front)} points, {hits} of the grid "
              f"front's {len(front)} found, {len(s_front) - hits} not on the grid front; "
              f"hypervolume {hv:.4f} = {100 * hv / hv_grid:.1f} % of the grid front's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
