"""Multi-objective search over declared ranges: Optuna's NSGA-II sampler asks for configs, the
Dask back end evaluates them (neuropysim.explore), and the results are told back as they
finish, on the same results folder as a grid (so a re-run or a later grid reuses them).

    ranges = [parse_range("adc_bits=3..8"), parse_range("rows_in_parallel=8,16,32,64,128")]
    outcome = run_search(space, ranges, "results/search", evaluations=40)

A range is ``key=LOW..HIGH`` (integers, or floats; ``:log`` for a log scale, ``:STEP`` for an
integer step) or ``key=V1,V2,...`` (any values, chosen among). ``evaluations`` counts the
distinct points evaluated per source (points already in the results count, but cost
nothing); a config the sampler asks for again is told its known figures. A config that is not
valid (e.g. rows_in_parallel above subarray_rows) is told as failed and not counted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from contracts.config import ConfigError, HardwareConfig, parse_override
from neuropysim.explore import (Backend, Outcome, _progress, default_objectives, write_front)
from neuropysim.backend import Runner
from neuropysim.space import Space, Source
from neuropysim.store import ResultStore, row_columns

__all__ = ["SearchRange", "parse_range", "run_search"]


@dataclass(frozen=True)
class SearchRange:
    """One searched field: ``choices``, or ``low``..``high`` (``step`` for integers)."""

    key: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    step: int | None = None
    log: bool = False

    def distribution(self):
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)
        if self.choices:
            return CategoricalDistribution(self.choices)
        if isinstance(self.low, int):
            return IntDistribution(self.low, self.high, step=self.step or 1, log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    @property
    def grid_size(self) -> float:
        if self.choices:
            return len(self.choices)
        if isinstance(self.low, int):
            return (self.high - self.low) // (self.step or 1) + 1
        return math.inf


def parse_range(text: str) -> SearchRange:
    """``key=LOW..HIGH[:log|:STEP]`` or ``key=V1,V2,...`` (values typed like ``--set``)."""
    key, sep, raw = (part.strip() for part in text.partition("="))
    if not sep or not raw:
        raise ConfigError(f"--range {text!r} must have the form key=LOW..HIGH or "
                          f"key=V1,V2,...")
    if ".." not in raw:
        from chip.sweep import parse_axis
        return SearchRange(key, choices=parse_axis(f"{key}={raw}").values)
    bounds, _, option = raw.partition(":")
    low_text, _, high_text = bounds.partition("..")
    low = parse_override(f"{key}={low_text.strip()}")[1]
    high = parse_override(f"{key}={high_text.strip()}")[1]
    if isinstance(low, bool) or not isinstance(low, (int, float)) or type(low) is not type(high):
        raise ConfigError(f"--range {text!r}: LOW..HIGH needs a numeric field "
                          f"(use key=V1,V2,... for {key})")
    if not low < high:
        raise ConfigError(f"--range {text!r}: LOW must be below HIGH")
    log, step = option == "log", None
    if option and not log:
        if not option.isdigit() or not isinstance(low, int) or int(option) < 1:
            raise ConfigError(f"--range {text!r}: the option after ':' must be 'log' or, for "
                              f"an integer field, a positive step")
        step = int(option)
    if log and low <= 0:
        raise ConfigError(f"--range {text!r}: a log scale needs LOW > 0")
    return SearchRange(key, low=low, high=high, step=step, log=log)


def _told_values(row: dict, objectives: dict[str, str]) -> list[float] | None:
    """The objectives of a finished row, or None when it failed or lacks one."""
    if row.get("status") != "ok":
        return None
    values = []
    for name in objectives:
        try:
            value = float(row.get(name))
        except (TypeError, ValueError):
            return None
        if math.isnan(value):
            return None
        values.append(value)
    return values


class _Study:
    """One source's NSGA-II study: asks configs, tells figures back."""

    def __init__(self, space: Space, source: Source, ranges: Sequence[SearchRange],
                 objectives: dict[str, str], population: int, seed: int):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space, self.source, self.objectives = space, source, objectives
        self.distributions = {r.key: r.distribution() for r in ranges}
        sampler = optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
        self.study = optuna.create_study(
            directions=["maximize" if way == "max" else "minimize" for way in
                        objectives.values()], sampler=sampler)
        self.seen: set[str] = set()            # distinct points asked for

    def ask(self):
        """(trial, point), or (trial, None) for an invalid config (told as failed)."""
        import optuna
        trial = self.study.ask(self.distributions)
        values = dict(trial.params)
        base = self.space.base.to_dict()
        try:
            config = HardwareConfig.from_dict({**base, **values})
        except ConfigError:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return trial, None
        return trial, self.space.point(self.source, values, config)

    def tell(self, trial, row: dict) -> None:
        import optuna
        values = _told_values(row, self.objectives)
        if values is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, values)


def run_search(space: Space, ranges: Sequence[SearchRange], out: str | Path,
               evaluations: int, *, population: int = 10, seed: int = 0,
               objectives: dict[str, str] | None = None, backend: Backend | None = None,
               progress: bool = False, plot: bool = True, trace_cache: str | None | bool = True,
               on_row: Callable[[dict], None] | None = None,
               max_asks: int | None = None) -> Outcome:
    """NSGA-II over ``ranges`` on every source of ``space``, ``evaluations`` distinct points
    each (module docstring); the front is written as for a grid."""
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise ConfigError(f"evaluations={evaluations!r} must be a positive integer")
    if isinstance(population, bool) or not isinstance(population, int) or population < 2:
        raise ConfigError(f"population={population!r} must be an integer >= 2")
    keys = [r.key for r in ranges]                # each checked by parse_range
    if len(set(keys)) != len(keys) or not keys:
        raise ConfigError("name each searched field once, with at least one --range")
    objectives = objectives or default_objectives(space)
    store = ResultStore(out, row_columns(keys), meta={
        "mode": "search", "axes": keys, "objectives": objectives,
        "sources": [s.label for s in space.sources]})
    cache = str(Path(out).resolve() / "traces") if trace_cache is True else \
        (str(trace_cache) if trace_cache else None)
    backend = backend or Backend()
    used: list[str] = []
    ran = failed = step1_runs = 0
    bar = _progress(evaluations * len(space.sources), progress, "search")
    with backend.session() as client:
        for source in space.sources:
            study = _Study(space, source, ranges, objectives, population, seed)
            runner = Runner(client, cache, backend.step1_threads)
            stats = _drive(study, runner, store, evaluations, population,
                           max_asks or 20 * evaluations, bar, on_row)
            used += sorted(study.seen)
            ran, failed = ran + stats[0], failed + stats[1]
            step1_runs += runner.step1_runs
    if bar is not None:
        bar.close()
    table, front, notes = write_front(store, used, objectives, keys, plot)
    return Outcome(Path(out), table, front, ran=ran, skipped=len(used) - ran, failed=failed,
                   step1_runs=step1_runs, notes=notes)


def _drive(study: _Study, runner: Runner, store: ResultStore, evaluations: int,
           in_flight: int, max_asks: int, bar, on_row) -> tuple[int, int]:
    """Ask, evaluate and tell until ``evaluations`` distinct points are known; returns
    (points run, failed)."""
    pending: dict[str, list] = {}              # point key -> trials waiting for it
    ran = failed = asks = 0

    def fill() -> None:
        nonlocal asks
        while len(study.seen) < evaluations and runner.running < in_flight and \
                asks < max_asks:
            asks += 1
            trial, point = study.ask()
            if point is None:
                continue
            if point.key in pending:
                pending[point.key].append(trial)
            elif point.key in store.rows:          # known: told at once, costs nothing
                study.seen.add(point.key)
                study.tell(trial, store.rows[point.key])
                if bar is not None:
                    bar.update(1)
            else:
                study.seen.add(point.key)
                pending[point.key] = [trial]
                runner.submit(point)

    try:
        fill()
        for point, row in runner.finished():
            store.append(row)
            ran += 1
            failed += row.get("status") != "ok"
            for trial in pending.pop(point.key, []):
                study.tell(trial, row)
            if bar is not None:
                bar.update(1)
            if on_row is not None:
                on_row(row)
            fill()
    except BaseException:
        runner.cancel()
        raise
    return ran, failed
