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

import pandas as pd

from contracts.config import ConfigError, HardwareConfig, parse_override
from contracts.effects import ineffective
from chip.estimator import SUMMARY_KEYS
from contracts.staging import json_kind, staged_folder

__all__ = ["SweepAxis", "SweepPoint", "parse_axis", "sweep_points", "run_sweep",
           "pareto_mask", "write_sweep", "SWEEP_METRICS", "SWEEP_KIND", "no_effect"]

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


def sweep_points(base: HardwareConfig, axes: Sequence[SweepAxis]) -> list[SweepPoint]:
    """Every combination of the axes' values on top of ``base``, each validated; a bad
    combination raises ConfigError naming the point before any estimate runs."""
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
    for axis in axes:
        dead = [ineffective(p.config, "cost").get(axis.key) for p in points]
        if all(dead):
            raise ConfigError(f"--sweep {axis.key}: no effect on the chip's cost at any point "
                              f"({dead[0]}); drop it, or sweep what makes it matter")
    return points


def no_effect(point: SweepPoint) -> str:
    """The swept fields that have no effect on the cost at this point ('' for none)."""
    dead = ineffective(point.config, "cost")
    return ";".join(key for key in point.values if key in dead)


@functools.lru_cache(maxsize=2)
def _cached_trace(trace_path: str, network_csv: str | None):
    # one read per worker process: a NeuroSim archive takes seconds, a point well under one
    from chip.estimator import load_trace
    return load_trace(trace_path, network_csv=network_csv)


def _estimate_point(trace, network_csv: str | None, values: dict,
                    config: HardwareConfig, dead: str) -> dict[str, Any]:
    from chip.estimator import ProvenanceWarning, estimate
    if isinstance(trace, (str, os.PathLike)):
        trace = _cached_trace(str(trace), None if network_csv is None else str(network_csv))
    with warnings.catch_warnings():      # the sweep names its accuracy axes once, up front
        warnings.simplefilter("ignore", ProvenanceWarning)
        summary = estimate(trace, config).summary
    return {**values, "no_effect": dead, **{key: summary[key] for key in SWEEP_METRICS}}


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc="sweep", unit="point", file=sys.stderr,
                leave=False, disable=None)  # a bar on a terminal only


def run_sweep(trace, points: Sequence[SweepPoint], jobs: int = 1,
              network_csv: str | os.PathLike | None = None,
              progress: bool = False) -> pd.DataFrame:
    """One row per point: the swept values, ``no_effect`` (swept fields without effect on the
    cost at that point), then SWEEP_METRICS. ``trace`` is a folder path
    (needed for ``jobs > 1``: workers read it themselves) or a loaded Trace."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r} must be a positive integer")
    if jobs == 1:
        if isinstance(trace, (str, os.PathLike)):
            from chip.estimator import load_trace
            trace = load_trace(trace, network_csv=network_csv)
        rows = [_estimate_point(trace, None, p.values, p.config, no_effect(p))
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
            delayed(_estimate_point)(str(trace), network_csv, p.values, p.config, no_effect(p))
            for p in points)
        rows = list(_progress(work, len(points), progress))
    return pd.DataFrame(rows)


def pareto_mask(table: pd.DataFrame, minimize: str = "area_mm2",
                maximize: str = "tops_per_w") -> pd.Series:
    """True for points no other point beats on both figures (smaller ``minimize`` and larger
    ``maximize``, at least one strictly); of points with equal figures only the first."""
    x = table[minimize].to_numpy()
    y = table[maximize].to_numpy()
    # a point equal to an earlier one on both figures (a swept field without effect there)
    # adds nothing to the front: only the first of such a group is marked
    dominated = [bool(((x <= xi) & (y >= yi) & ((x < xi) | (y > yi))).any()
                      or ((x[:i] == xi) & (y[:i] == yi)).any())
                 for i, (xi, yi) in enumerate(zip(x, y))]
    return pd.Series([not d for d in dominated], index=table.index, name="pareto")


def _plot(table: pd.DataFrame, axes_keys: list[str], path: Path) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: sweep.png skipped (pip install neuropysim[plot])"
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    label = " ".join(f"{k}={{{k}}}" for k in axes_keys)
    for _, row in table.iterrows():
        ax.scatter(row["area_mm2"], row["tops_per_w"],
                   color="tab:red" if row["pareto"] else "tab:blue", s=28)
        ax.annotate(label.format(**{k: row[k] for k in axes_keys}),
                    (row["area_mm2"], row["tops_per_w"]), fontsize=6,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("chip area (mm²)")
    ax.set_ylabel("TOPS/W")
    ax.set_title("sweep: red = Pareto front (smaller area, higher TOPS/W)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
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
            note = _plot(table, list(axes_keys), staging / "sweep.png")
            if note:
                notes.append(note)
    return target, notes
