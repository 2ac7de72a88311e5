"""Design-space sweeps: one chip estimate per point of a grid of config values.

    axes = [parse_axis("adc_bits=4,5,6"), parse_axis("subarray_rows=64,128")]
    points = sweep_points(base_config, axes)          # validated before anything runs
    table = run_sweep("layer_record_VGG8", points, jobs=2)
    folder, notes = write_sweep(table, "results/VGG8-sweep")

Each work item is one config; a worker reads the trace from its path once and keeps it
(the ecosystem notes' advice: pass traces by path, return plain dicts, collect a
DataFrame). ``jobs > 1`` uses joblib (the optional ``sweep`` extra). Never imports torch.
"""
from __future__ import annotations

import functools
import json
import itertools
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from contracts.config import ConfigError, HardwareConfig, parse_override
from contracts.effects import ineffective
from chip.estimator import SUMMARY_KEYS
from contracts.staging import json_kind, staged_folder

__all__ = ["SweepAxis", "SweepPoint", "parse_axis", "sweep_points", "run_sweep",
           "pareto_mask", "front_mask", "parse_objectives", "plot_points", "write_sweep",
           "SWEEP_METRICS", "SWEEP_KIND", "no_effect", "estimate_point"]

#: sweep.json marks a sweep folder as ours, so a re-run may replace it (contracts.staging)
SWEEP_FORMAT = "neuropysim-sweep"
_SWEEP_FILES = ("sweep.json", "sweep.csv", "sweep.png")
SWEEP_KIND = json_kind("sweep", "sweep.json", "format", SWEEP_FORMAT,
                       files=lambda meta: _SWEEP_FILES)

#: summary figures kept per point (units in the names, as in summary.json)
SWEEP_METRICS = (*SUMMARY_KEYS, "unused_area_mm2", "num_tiles", "config_hash")


@dataclass(frozen=True)
class SweepAxis:
    key: str
    values: tuple


@dataclass(frozen=True)
class SweepPoint:
    values: dict          # swept key -> value at this point
    config: HardwareConfig


def parse_axis(text: str) -> SweepAxis:
    """``key=v1,v2,...`` -> SweepAxis with each value typed like ``--set key=value``."""
    if "=" not in text:
        raise ConfigError(f"--sweep {text!r} must have the form key=value1,value2,...")
    key, raw = (part.strip() for part in text.split("=", 1))
    entries = [entry.strip() for entry in raw.split(",")]
    if any(entry == "" for entry in entries):
        raise ConfigError(f"--sweep {text!r} has an empty value; give a comma-separated list "
                          f"such as {key}=4,5,6")
    values = tuple(parse_override(f"{key}={entry}")[1] for entry in entries)
    if len(set(values)) != len(values):
        raise ConfigError(f"--sweep {text!r} repeats a value")
    return SweepAxis(key, values)


def sweep_points(base: HardwareConfig, axes: Sequence[SweepAxis],
                 steps: Sequence[str] = ("cost",)) -> list[SweepPoint]:
    """Every combination of the axes' values on top of ``base``, each validated; a bad
    combination raises ConfigError naming the point before any estimate runs. An axis that
    has no effect on any of ``steps`` ("cost", "accuracy") at any point is refused."""
    if not axes:
        raise ConfigError("a sweep needs at least one --sweep key=value1,value2,...")
    keys = [axis.key for axis in axes]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"--sweep names {', '.join(repeated)} more than once; "
                          f"list all its values in one --sweep")
    base_dict = base.to_dict()
    points = []
    for combo in itertools.product(*(axis.values for axis in axes)):
        values = dict(zip(keys, combo))
        try:
            config = HardwareConfig.from_dict({**base_dict, **values})
        except ConfigError as err:
            where = ", ".join(f"{k}={v}" for k, v in values.items())
            raise ConfigError(f"sweep point {where}: {err}") from None
        points.append(SweepPoint(values, config))
    what = " or ".join("the chip's cost" if s == "cost" else "the accuracy" for s in steps)
    for axis in axes:
        dead = [_dead(p.config, steps).get(axis.key) for p in points]
        if all(dead):
            raise ConfigError(f"--sweep {axis.key}: no effect on {what} at any point "
                              f"({dead[0]}); drop it, or sweep what makes it matter")
    return points


def _dead(config: HardwareConfig, steps: Sequence[str]) -> dict[str, str]:
    """{field: why} of the fields without effect on every one of ``steps`` at ``config``."""
    found = [ineffective(config, step) for step in steps]
    return {k: why for k, why in found[0].items() if all(k in f for f in found[1:])}


def no_effect(point: SweepPoint, steps: Sequence[str] = ("cost",)) -> str:
    """The swept fields that have no effect on ``steps`` at this point ('' for none)."""
    dead = _dead(point.config, steps)
    return ";".join(key for key in point.values if key in dead)


@functools.lru_cache(maxsize=2)
def cached_trace(trace_path: str, network_csv: str | None = None):
    """The trace of a folder, read once per process (a worker's points share it: a NeuroSim
    archive takes seconds to read, a point well under one)."""
    from chip.estimator import load_trace
    return load_trace(trace_path, network_csv=network_csv)


_MEMO = None


def worker_memo():
    """This process' ActivityMemo: a sweep's points with the same activity share it."""
    global _MEMO
    if _MEMO is None:
        from chip.parts import ActivityMemo
        _MEMO = ActivityMemo()
    return _MEMO


def estimate_point(trace, config: HardwareConfig, activity: str = "trace") -> dict[str, Any]:
    """SWEEP_METRICS of one point (``trace``: a Trace, or a folder read once per process),
    with this process' activity memo; the accuracy fields that differ from the trace's are
    not warned about (a sweep names them once, up front)."""
    from chip.estimator import ProvenanceWarning, estimate
    if isinstance(trace, (str, os.PathLike)):
        trace = cached_trace(str(trace))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)
        summary = estimate(trace, config, activity=activity, memo=worker_memo()).summary
    return {key: summary[key] for key in SWEEP_METRICS}


def _estimate_point(trace, network_csv: str | None, values: dict,
                    config: HardwareConfig, dead: str, activity: str = "trace") -> dict[str, Any]:
    if isinstance(trace, (str, os.PathLike)):
        trace = cached_trace(str(trace), None if network_csv is None else str(network_csv))
    return {**values, "no_effect": dead, **estimate_point(trace, config, activity)}


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc="sweep", unit="point", file=sys.stderr,
                leave=False, disable=None)  # a bar on a terminal only


def run_sweep(trace, points: Sequence[SweepPoint], jobs: int = 1,
              network_csv: str | os.PathLike | None = None,
              progress: bool = False, activity: str = "trace") -> pd.DataFrame:
    """One row per point: the swept values, ``no_effect`` (swept fields without effect on the
    cost at that point), then SWEEP_METRICS. ``trace`` is a folder path
    (needed for ``jobs > 1``: workers read it themselves) or a loaded Trace. Points whose
    activity is the same share it (chip.parts.ActivityMemo, one per process); ``activity``:
    "trace" or "stats" (chip.activity_stats)."""
    from chip.parts import check_activity_model
    check_activity_model(activity)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r} must be a positive integer")
    if jobs == 1:
        if isinstance(trace, (str, os.PathLike)):
            from chip.estimator import load_trace
            trace = load_trace(trace, network_csv=network_csv)
        rows = [_estimate_point(trace, None, p.values, p.config, no_effect(p), activity)
                for p in _progress(points, len(points), progress)]
    else:
        if not isinstance(trace, (str, os.PathLike)):
            raise TypeError("a parallel sweep reads the trace in each worker: pass its path")
        try:
            from joblib import Parallel, delayed
        except ImportError:
            raise ImportError(f"jobs={jobs} needs joblib: pip install 'neuropysim[sweep]' "
                              f"(or run with jobs=1)") from None
        work = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_estimate_point)(str(trace), network_csv, p.values, p.config, no_effect(p),
                                     activity)
            for p in points)
        rows = list(_progress(work, len(points), progress))
    return pd.DataFrame(rows)


def parse_objectives(text: str) -> dict[str, str]:
    """``"accuracy:max,tops_per_w:max,area_mm2:min"`` -> {figure: "max" | "min"}."""
    objectives: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        name, _, direction = item.partition(":")
        if not name or direction not in ("min", "max"):
            raise ConfigError(f"objective {item!r} must have the form figure:min or "
                              f"figure:max (e.g. tops_per_w:max)")
        if name in objectives:
            raise ConfigError(f"objective {name!r} is named twice")
        objectives[name] = direction
    if not objectives:
        raise ConfigError("name at least one objective, e.g. tops_per_w:max")
    return objectives


def front_mask(values) -> "np.ndarray":
    """[n] True for the rows of ``values`` [n, m] (every column to be maximized) that no
    other row dominates (>= in every column, > in one); of equal rows only the first; a row
    with a NaN is never on the front."""
    import numpy as np
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v).any(axis=1)
    mask = np.zeros(len(v), dtype=bool)
    for i in np.flatnonzero(ok):
        others = v[ok]
        ge, gt = (others >= v[i]).all(axis=1), (others > v[i]).any(axis=1)
        # a point equal to an earlier one (a swept field without effect there) adds nothing
        earlier = (v[:i][ok[:i]] == v[i]).all(axis=1)
        mask[i] = not (ge & gt).any() and not earlier.any()
    return mask


def pareto_mask(table: pd.DataFrame, minimize: str = "area_mm2",
                maximize: str = "tops_per_w", objectives: dict[str, str] | None = None
                ) -> pd.Series:
    """True for points no other point beats on every figure (smaller ``minimize`` and
    larger ``maximize``, at least one strictly; or the figures of ``objectives``,
    {figure: "min" | "max"}); of points with equal figures only the first."""
    objectives = objectives or {minimize: "min", maximize: "max"}
    missing = [name for name in objectives if name not in table.columns]
    if missing:
        raise ConfigError(f"objective {missing[0]!r} is not a figure of the table; known: "
                          f"{', '.join(map(str, table.columns))}")
    columns = [pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
               * (1.0 if way == "max" else -1.0) for name, way in objectives.items()]
    import numpy as np
    mask = front_mask(np.column_stack(columns)) if len(table) else np.zeros(0, dtype=bool)
    return pd.Series(mask, index=table.index, name="pareto")


_AXIS_LABELS = {"area_mm2": "chip area (mm²)", "tops_per_w": "TOPS/W",
                "accuracy": "hardware accuracy"}


def plot_points(table: pd.DataFrame, path: Path, x: str = "area_mm2", y: str = "tops_per_w",
                color: str | None = None, label_keys: Sequence[str] = (),
                title: str = "sweep") -> str | None:
    """Scatter of ``y`` against ``x``, the ``pareto`` column's points in red (or ringed
    when ``color`` names a figure that colours the points); labelled with ``label_keys``
    when there are few points. Returns a note when matplotlib is missing."""
    from chip.report import new_figure
    fig, ax = new_figure(6.5, 4.5)
    if fig is None:
        return f"matplotlib is not installed: {path.name} skipped (pip install neuropysim[plot])"
    front = table["pareto"].astype(bool).to_numpy() if "pareto" in table else None
    xs = pd.to_numeric(table[x], errors="coerce")
    ys = pd.to_numeric(table[y], errors="coerce")
    if color is not None and color in table and pd.to_numeric(table[color],
                                                              errors="coerce").notna().any():
        shade = ax.scatter(xs, ys, c=pd.to_numeric(table[color], errors="coerce"), s=22,
                           cmap="viridis")
        fig.colorbar(shade, ax=ax, label=_AXIS_LABELS.get(color, color))
        if front is not None:
            ax.scatter(xs[front], ys[front], s=70, facecolors="none", edgecolors="tab:red")
    else:
        ax.scatter(xs, ys, s=28, color=["tab:red" if f else "tab:blue" for f in
                                         (front if front is not None else [False] * len(xs))])
    if label_keys and len(table) <= 60:
        label = " ".join(f"{k}={{{k}}}" for k in label_keys)
        for i, row in table.reset_index(drop=True).iterrows():
            ax.annotate(label.format(**{k: row[k] for k in label_keys}), (xs.iloc[i], ys.iloc[i]),
                        fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(_AXIS_LABELS.get(x, x))
    ax.set_ylabel(_AXIS_LABELS.get(y, y))
    ax.set_title(f"{title}: red = Pareto front")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    return None


def write_sweep(table: pd.DataFrame, axes_keys: Sequence[str], out_dir: str | Path,
                plot: bool = True) -> tuple[Path, list[str]]:
    """sweep.csv (with a ``pareto`` column), sweep.json (what was swept) and sweep.png into
    ``out_dir``, atomically; an existing folder is replaced only if empty or a sweep's."""
    table = table.assign(pareto=pareto_mask(table))
    notes: list[str] = []
    target = Path(out_dir)
    with staged_folder(target, SWEEP_KIND, what="out") as staging:
        table.to_csv(staging / "sweep.csv", index=False)
        meta = {"format": SWEEP_FORMAT, "axes": list(axes_keys), "points": len(table)}
        (staging / "sweep.json").write_text(json.dumps(meta, indent=2) + "\n")
        if plot:
            note = plot_points(table, staging / "sweep.png", label_keys=list(axes_keys),
                               title="sweep (smaller area, higher TOPS/W)")
            if note:
                notes.append(note)
    return target, notes
