"""Fast IR-drop / sneak-path approximation (cim.devices.ir_drop) against the exact nodal
solver (cim.crossbar_solver): calibration, error tables and solver timing.

    python benchmarks/bench_ir_drop.py            # full tables (about a minute on 2 cores)
    python benchmarks/bench_ir_drop.py --quick    # 32 and 64 rows only
    python benchmarks/bench_ir_drop.py --json out.json

Arrays: cell conductances uniform in the default config's [1/r_off, 1/r_on] =
[1/1.7 MOhm, 1/100 kOhm]; inputs random bit-serial planes (each row at 0.2 V with
probability 0.5, else 0 V); square arrays of 32, 64, 128, 256 rows; equal word- and bit-line
segment resistance r per cell, no driver/sense resistance. Error of a column-current
estimate = mean |I_est - I_solver| / mean I_solver over all columns and 3 input vectors
(max: the worst single column, relative to the mean current). Estimates: "ignore" (ideal
G.V, what a simulator without IR drop gives), "NeuroSim" (per-cell series resistance
1/(1/G + (j+1) r + (N-i) r), NeuroSim V1.x), "ours" (cim.devices.ir_drop mean-field
effective conductances, computed once per array with activity 0.5, input-independent).

"IR drop in step 1" (the last table): what cim.crossbar reads, cim.read_groups, against the
solver: a subarray of N rows read in groups of ``rows_in_parallel``; each group embedded at its
position in the subarray and G_eff interpolated per read in the read's actual input density
("step 1"), against the previous step-1 model (the group alone as an array, fixed activity
0.5) and against ignoring IR drop. Inputs: bit-serial planes of density p on the group's rows
(0 V elsewhere: 1T1R transistors off, 0T1R rows grounded), conductances uniform in
[Gmin, Gmax], 3 vectors per group and density.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.config import HardwareConfig  # noqa: E402
from cim.crossbar_solver import solve_crossbar  # noqa: E402
from cim.devices import ir_drop  # noqa: E402
from cim.read_groups import GroupConductances, row_groups  # noqa: E402

G_MIN, G_MAX = 1 / 1.7e6, 1 / 100e3
V_READ = 0.2
P_ON = 0.5


def array(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(G_MIN, G_MAX, (n, n)), rng


def inputs(rng, n: int, k: int = 3):
    return [np.where(rng.random(n) < P_ON, V_READ, 0.0) for _ in range(k)]


def rel(est: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    scale = float(np.abs(ref).mean())
    return float(np.abs(est - ref).mean() / scale), float(np.abs(est - ref).max() / scale)


def exact(g, v, r, cell):
    return solve_crossbar(g, v, r_wl=r, r_bl=r, cell=cell,
                          active_rows=(v > 0) if cell == "1t1r" else None).column_currents


def calibrate(sizes, rs):
    """Iterations to convergence and the activity scale with the least error, on arrays with
    seeds 1000+ (the evaluation uses other seeds)."""
    rows = []
    for cell in ("1t1r", "0t1r"):
        for n in sizes:
            for r in rs:
                g, rng = array(n, 1000 + n)
                vs = inputs(rng, n)
                refs = [exact(g, v, r, cell) for v in vs]
                gt = torch.tensor(g)
                conv = {}
                for it in (2, 4, 8, 16):
                    conv[it] = ir_drop.ir_drop_conductances(gt, r, r, cell=cell, activity=0.5,
                                                            iterations=it).numpy()
                change = float(np.abs(conv[16] - conv[8]).max() / np.abs(conv[16]).max())
                errs = {}
                for scale in (0.8, 0.9, 1.0, 1.1, 1.2):
                    ge = ir_drop.ir_drop_conductances(gt, r, r, cell=cell,
                                                      activity=0.5 * scale).numpy()
                    errs[scale] = statistics.mean(rel(v @ ge, s)[0] for v, s in zip(vs, refs))
                rows.append({"cell": cell, "rows": n, "r_ohm": r, "change_8_to_16": change,
                             "best_activity_scale": min(errs, key=errs.get),
                             "errors_by_scale": errs})
    return rows


def ir_table(sizes, rs):
    rows = []
    for cell in ("1t1r", "0t1r"):
        for n in sizes:
            for r in rs:
                g, rng = array(n, n)
                gt = torch.tensor(g)
                ge = ir_drop.ir_drop_conductances(gt, r, r, cell=cell, activity=P_ON).numpy()
                gn = g * ir_drop.neurosim_series_factors(gt, r, r).numpy()
                acc = {"ignore": [], "neurosim": [], "ours": []}
                for v in inputs(rng, n):
                    ref = exact(g, v, r, cell)
                    acc["ignore"].append(rel(v @ g, ref))
                    acc["neurosim"].append(rel(v @ gn, ref))
                    acc["ours"].append(rel(v @ ge, ref))
                row = {"cell": cell, "rows": n, "r_ohm": r}
                for key, vals in acc.items():
                    row[key] = statistics.mean(x[0] for x in vals)
                    row[key + "_max"] = max(x[1] for x in vals)
                rows.append(row)
    return rows


def sneak_table(sizes, rs):
    """0T1R partial-parallel read: a group of N/4 rows driven, the other rows floating or
    at V/2 (half-select), all columns sensed."""
    rows = []
    for n in sizes:
        for bias in ("float", "half"):
            for r in rs:
                g, rng = array(n, 7 * n)
                act = np.zeros(n, bool)
                act[: n // 4] = True
                acc, acc_ig = [], []
                for v in inputs(rng, n):
                    v = np.where(act, v, 0.0)
                    ref = solve_crossbar(g, v, r_wl=r, r_bl=r, cell="0t1r", active_rows=act,
                                         unselected_rows=bias, v_half=V_READ / 2).column_currents
                    est = ir_drop.approx_column_currents(
                        torch.tensor(g), torch.tensor(v), r_wl=r, r_bl=r, cell="0t1r",
                        active_rows=torch.tensor(act), unselected_rows=bias,
                        v_half=V_READ / 2, activity=P_ON).numpy()
                    acc.append(rel(est, ref))
                    acc_ig.append(rel(v @ g, ref))
                rows.append({"rows": n, "group": n // 4, "unselected_rows": bias, "r_ohm": r,
                             "ignore": statistics.mean(x[0] for x in acc_ig),
                             "ours": statistics.mean(x[0] for x in acc),
                             "ours_max": max(x[1] for x in acc)})
    return rows


def timing(sizes):
    out = []
    for n in sizes:
        g, rng = array(n, 99)
        v = inputs(rng, n, 1)[0]
        cases = [("1t1r linear", dict(cell="1t1r", active_rows=v > 0)),
                 ("0t1r linear", dict(cell="0t1r")),
                 ("0t1r sinh (Newton)", dict(cell="0t1r", iv="sinh", v0=0.1, v_ref=V_READ))]
        for name, kw in cases:
            solve_crossbar(g, v + 0.0, r_wl=2.5, r_bl=2.5, **kw)         # warm-up
            ts = []
            for _ in range(3):
                t0 = time.perf_counter()
                sol = solve_crossbar(g, v, r_wl=2.5, r_bl=2.5, **kw)
                ts.append(time.perf_counter() - t0)
            out.append({"rows": n, "case": name, "median_s": statistics.median(ts),
                        "unknowns": sol.unknowns, "newton_iterations": sol.iterations})
        t0 = time.perf_counter()
        for _ in range(10):
            ir_drop.ir_drop_conductances(torch.tensor(g), 2.5, 2.5, cell="1t1r", activity=0.5)
        out.append({"rows": n, "case": "approximation (G_eff, once per array)",
                    "median_s": (time.perf_counter() - t0) / 10, "unknowns": 0,
                    "newton_iterations": 0})
    return out


def step1_table(cases, densities=(0.05, 0.5, 0.9)):
    """cim.read_groups (step 1) against the solver: groups at their position, per-read
    activity; the previous model (group alone, activity 0.5) and no IR drop for comparison."""
    rows = []
    for cell, n, group, r in cases:
        cfg = HardwareConfig(operation_mode="parallel", subarray_rows=n, subarray_cols=n,
                             rows_in_parallel=group, wire_resistance_ohm=r, access_device=cell)
        g_max = 1.0 / cfg.r_on_ohm
        g_s, rng = array(n, 3 * n + group)
        g_units = torch.tensor(g_s / g_max, dtype=torch.float32)
        groups = row_groups(n, n, group)
        ours = GroupConductances(g_units, groups, cfg)
        for p in densities:
            acc = {"ignore": [], "previous": [], "step1": []}
            for gi in range(int(groups.shape[0])):
                idx = groups[gi].numpy()
                alone = ir_drop.ir_drop_conductances_from_config(
                    torch.tensor(g_s[idx]), cfg, 0.5).numpy()
                for _ in range(3):
                    v = (rng.random(group) < p).astype(np.float64)
                    full = np.zeros(n)
                    full[idx] = v * V_READ
                    ref = solve_crossbar(g_s, full, r_wl=r, r_bl=r, cell=cell,
                                         active_rows=(full > 0) if cell == "1t1r" else None
                                         ).column_currents
                    if not np.abs(ref).sum():
                        continue
                    est = ours.current(torch.tensor(v, dtype=torch.float32).view(1, -1), gi)
                    acc["step1"].append(rel(est[0].double().numpy() * V_READ * g_max, ref))
                    acc["previous"].append(rel(V_READ * v @ alone, ref))
                    acc["ignore"].append(rel(V_READ * v @ g_s[idx], ref))
            row = {"cell": cell, "rows": n, "group": group, "r_ohm": r, "density": p}
            for key, vals in acc.items():
                row[key] = statistics.mean(x[0] for x in vals)
                row[key + "_max"] = max(x[1] for x in vals)
            rows.append(row)
    return rows


def pct(x: float) -> str:
    return f"{100 * x:.2f} %" if x < 10 else f"{100 * x:.0f} %"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="32 and 64 rows only")
    ap.add_argument("--json", type=Path, help="also write all numbers to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sizes = (32, 64) if args.quick else (32, 64, 128, 256)
    rs = (1.0, 2.5, 5.0)

    cal = calibrate(sizes[-2:], (2.5, 5.0))
    print("## Calibration (seeds 1000+)\n")
    print("| cell | rows | r (ohm) | max change 8 -> 16 iterations | error at scale 1.0 "
          "| best scale | error at best scale |")
    print("|---|---|---|---|---|---|---|")
    for row in cal:
        best = row["best_activity_scale"]
        print(f"| {row['cell']} | {row['rows']} | {row['r_ohm']:g} | "
              f"{row['change_8_to_16']:.1e} | {pct(row['errors_by_scale'][1.0])} | {best:g} | "
              f"{pct(row['errors_by_scale'][best])} |")
    for cell in ("1t1r", "0t1r"):
        total = {k: sum(r["errors_by_scale"][k] for r in cal if r["cell"] == cell)
                 for k in (0.8, 0.9, 1.0, 1.1, 1.2)}
        print(f"\n{cell}: summed error by activity scale: "
              + ", ".join(f"{k:g}: {pct(v)}" for k, v in total.items())
              + f" (ACTIVITY_SCALE in use: {ir_drop.ACTIVITY_SCALE:g})")

    ir = ir_table(sizes, rs)
    print("\n## IR drop: column-current error against the solver (bit-serial inputs, p = 0.5)\n")
    print("| cell | rows | r (ohm/segment) | ignore IR drop | NeuroSim series | ours (mean) "
          "| ours (worst column) |")
    print("|---|---|---|---|---|---|---|")
    for row in ir:
        print(f"| {row['cell']} | {row['rows']} | {row['r_ohm']:g} | {pct(row['ignore'])} | "
              f"{pct(row['neurosim'])} | {pct(row['ours'])} | {pct(row['ours_max'])} |")

    sn = sneak_table(sizes, (0.0, 2.5))
    print("\n## 0T1R sneak paths: a group of N/4 rows read, the others floating or at V/2\n")
    print("| rows | group | unselected rows | r (ohm) | ignore sneak + IR drop | "
          "ours (mean) | ours (worst column) |")
    print("|---|---|---|---|---|---|---|")
    for row in sn:
        print(f"| {row['rows']} | {row['group']} | {row['unselected_rows']} | {row['r_ohm']:g} "
              f"| {pct(row['ignore'])} | {pct(row['ours'])} | "
              f"{pct(row['ours_max'])} |")

    cases = [(cell, n, grp, r) for cell in ("1t1r", "0t1r")
             for n, grp, r in ((64, 64, 5.0), (64, 16, 5.0), (128, 128, 2.5), (128, 32, 2.5),
                               (128, 128, 5.0), (256, 64, 2.5))
             if not (args.quick and n > 64)]
    st = step1_table(cases)
    print("\n## IR drop in step 1 (cim.read_groups): read groups at their position, per-read "
          "activity\n")
    print("| cell | rows | rows per read | r (ohm) | input density | ignore IR drop | "
          "previous (group alone, a = 0.5) | step 1 (mean) | step 1 (worst column) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in st:
        print(f"| {row['cell']} | {row['rows']} | {row['group']} | {row['r_ohm']:g} | "
              f"{row['density']:g} | {pct(row['ignore'])} | {pct(row['previous'])} | "
              f"{pct(row['step1'])} | {pct(row['step1_max'])} |")

    tm = timing(sizes)
    print("\n## Solver timing (r = 2.5 ohm, median of 3)\n")
    print("| rows x cols | case | unknowns | Newton iterations | time |")
    print("|---|---|---|---|---|")
    for row in tm:
        print(f"| {row['rows']} x {row['rows']} | {row['case']} | {row['unknowns']} | "
              f"{row['newton_iterations'] or '-'} | {1e3 * row['median_s']:.1f} ms |")
    if args.json:
        args.json.write_text(json.dumps({"calibration": cal, "ir_drop": ir, "sneak": sn,
                                         "step1": st, "timing": tm}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
