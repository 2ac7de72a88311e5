"""Design-space exploration over accuracy and cost: a grid of points, or a multi-objective
search (neuropysim.search), evaluated on Dask, recorded point by point, resumable.

    from neuropysim.explore import run_grid
    from neuropysim.space import Space, Source, Step1Settings
    from chip.sweep import parse_axis
    space = Space([Source.from_network("lenet5")], HardwareConfig(operation_mode="parallel"),
                  Step1Settings(eval_images=200))
    outcome = run_grid(space, [parse_axis("adc_bits=3,4,5"), parse_axis("cols_per_adc=4,8")],
                       "results/explore")
    outcome.table           # one row per point; outcome.front: the Pareto front per network

Results go to the folder of neuropysim.store (points.csv appended as points finish, then
pareto.csv and points.png). A re-run with the same folder skips the points already in it.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from chip.sweep import SweepAxis, pareto_mask, plot_points
from neuropysim.backend import Runner, open_client
from neuropysim.space import Point, Space
from neuropysim.store import ResultStore, row_columns

__all__ = ["Outcome", "Backend", "run_grid", "evaluate", "write_front", "default_objectives",
           "DEFAULT_OBJECTIVES"]

#: the front's figures unless the user names others (accuracy only where it was measured)
DEFAULT_OBJECTIVES = {"accuracy": "max", "tops_per_w": "max", "area_mm2": "min"}


@dataclass
class Backend:
    """Where points run: an existing client, else a scheduler address, else a LocalCluster
    of ``workers`` (worker processes, or threads with ``processes=False``)."""

    client: object = None
    scheduler: str | None = None
    workers: int = 2
    processes: bool = True
    step1_threads: int = 1

    def __post_init__(self):
        if self.client is None and not self.scheduler:
            for name in ("workers", "step1_threads"):
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name}={value!r} must be a positive integer")

    @contextlib.contextmanager
    def session(self):
        if self.client is not None:
            yield self.client
            return
        with open_client(self.scheduler, self.workers, 1, self.processes) as client:
            yield client


@dataclass
class Outcome:
    """What an exploration produced (``table``: the rows of its points, ``front``: the
    Pareto rows per network)."""

    folder: Path
    table: object
    front: object
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    step1_runs: int = 0
    notes: list[str] = field(default_factory=list)


def default_objectives(space: Space) -> dict[str, str]:
    objectives = dict(DEFAULT_OBJECTIVES)
    if not any(s.runs_step1 for s in space.sources):
        objectives.pop("accuracy")
    return objectives


def _progress(total: int, enabled: bool, what: str):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=what, unit="point", file=sys.stderr, leave=False,
                disable=None)


def evaluate(points: Sequence[Point], store: ResultStore, backend: Backend, *,
             trace_cache: str | None, progress: bool = False,
             on_row: Callable[[dict], None] | None = None) -> tuple[int, int, int]:
    """Run ``points`` on the back end, appending each row to ``store`` as it finishes;
    returns (points run, failed, step-1 runs). Ctrl-C cancels what is still running: the
    rows written so far stay (a re-run does the rest)."""
    bar = _progress(len(points), progress, "explore")
    ran = failed = 0
    with backend.session() as client:
        runner = Runner(client, trace_cache, backend.step1_threads)
        try:
            for point in points:
                runner.submit(point)
            for _, row in runner.finished():
                store.append(row)
                ran += 1
                failed += row.get("status") != "ok"
                if bar is not None:
                    bar.update(1)
                if on_row is not None:
                    on_row(row)
        except BaseException:
            runner.cancel()
            raise
        finally:
            if bar is not None:
                bar.close()
    return ran, failed, runner.step1_runs


def write_front(store: ResultStore, keys: Iterable[str], objectives: dict[str, str],
                axes: Sequence[str], plot: bool = True):
    """(table of ``keys`` with a ``pareto`` column per network, front rows, notes); writes
    pareto.csv and points.png (atomically) into the store's folder."""
    import pandas as pd
    from contracts.staging import write_text_atomic
    table = store.table(keys)
    notes: list[str] = []
    table["pareto"] = False
    for network, rows in table.groupby("network", sort=False):
        ok = rows[rows["status"] == "ok"]
        used = {k: v for k, v in objectives.items()
                if k in ok and pd.to_numeric(ok[k], errors="coerce").notna().any()}
        dropped = sorted(set(objectives) - set(used))
        if dropped and len(ok):
            notes.append(f"{network}: {', '.join(dropped)} not measured, so not an objective "
                         f"of its front")
        if len(ok) and used:
            table.loc[ok.index, "pareto"] = pareto_mask(ok, objectives=used)
    front = table[table["pareto"]]
    write_text_atomic(store.folder / "pareto.csv", front.to_csv(index=False))
    if plot:
        note = _plot(table, store.folder / "points.png", objectives, axes)
        if note:
            notes.append(note)
    return table, front, notes


def _plot(table, path: Path, objectives: dict[str, str], axes: Sequence[str]) -> str | None:
    """points.png: the objectives' first two cost figures, coloured by accuracy when it is
    one (written through a temporary name, so a reader never sees a part)."""
    import os
    import secrets
    from contracts.staging import remove_stale_siblings
    figures = [k for k in objectives if k != "accuracy"]
    for extra in ("area_mm2", "tops_per_w"):
        if len(figures) < 2 and extra not in figures:
            figures.append(extra)
    x, y = figures[:2]
    ok = table[table["status"] == "ok"]
    if ok.empty:
        return "no point finished: points.png skipped"
    color = "accuracy" if "accuracy" in objectives else None
    remove_stale_siblings(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(6)}")
    try:
        note = plot_points(ok, tmp, x=x, y=y, color=color, label_keys=list(axes),
                           title="exploration")
        if note is None:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return note


def run_grid(space: Space, axes: Sequence[SweepAxis], out: str | Path, *,
             backend: Backend | None = None, objectives: dict[str, str] | None = None,
             retry_failed: bool = False, progress: bool = False, plot: bool = True,
             trace_cache: str | None | bool = True,
             on_row: Callable[[dict], None] | None = None) -> Outcome:
    """Every point of the grid of ``axes`` on every source of ``space`` (module docstring).
    ``trace_cache``: where workers keep step-1 traces (True: OUT/traces; None/False: none)."""
    points = space.grid(axes)
    keys = [a.key for a in axes]
    objectives = objectives or default_objectives(space)
    store = ResultStore(out, row_columns(keys), meta={
        "mode": "grid", "axes": keys, "objectives": objectives,
        "sources": [s.label for s in space.sources]})
    done = store.done(retry_failed)
    todo = [p for p in points if p.key not in done]
    cache = str(Path(out).resolve() / "traces") if trace_cache is True else \
        (str(trace_cache) if trace_cache else None)
    ran, failed, step1_runs = evaluate(todo, store, backend or Backend(), trace_cache=cache,
                                       progress=progress, on_row=on_row)
    table, front, notes = write_front(store, [p.key for p in points], objectives, keys, plot)
    return Outcome(Path(out), table, front, ran=ran, skipped=len(points) - len(todo),
                   failed=failed, step1_runs=step1_runs, notes=notes)
