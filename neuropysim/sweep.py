"""`python -m neuropysim.sweep`: explore designs over accuracy and cost, on Dask.

    python -m neuropysim.sweep --network lenet5 --network mlp --set operation_mode=parallel \\
        --sweep adc_bits=4,5,6 --sweep cols_per_adc=4,8 --out results/explore
    python -m neuropysim.sweep --network lenet5 --set operation_mode=parallel \\
        --search 40 --range adc_bits=3..8 --range rows_in_parallel=8,16,32,64,128
    python -m neuropysim.sweep --trace layer_record_VGG8 --sweep technology_node_nm=22,45

Points that change an accuracy field run step 1 (hardware accuracy and trace) and then step
2; points that change only cost share their step-1 run (and their activity where it is the
same). Points run on a local Dask cluster (``--workers``), or on a running one
(``--scheduler tcp://host:8786``); docs/exploration.md. Each finished point is appended to
OUT/points.csv at once; a re-run with the same --out skips the points already there. At the
end: OUT/pareto.csv (the Pareto front per network) and OUT/points.png.

Exit codes as Chip.py's: 2 bad input (one line), 130 Ctrl-C (the points finished so far are
kept), 143 SIGTERM, 1 installation problem.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from contracts.command_line import OneLineParser, parse, run
from contracts.exits import BAD_INPUT, imports_whole
from contracts.staging import exit_cleanly_on_sigterm

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m neuropysim.sweep", description="Explore chip designs over "
                "accuracy (step 1) and cost (step 2) on a Dask cluster; resumable.")
    src = p.add_argument_group("what to price")
    src.add_argument("--network", action="append", default=[], metavar="NAME",
                     help="network run through step 1 per accuracy point (repeatable)")
    src.add_argument("--dataset", metavar="NAME", help="data set of the networks (default: "
                     "each network's own; 'synthetic': cost only)")
    src.add_argument("--trace", action="append", default=[], metavar="DIR",
                     help="trace folder priced as it is: no step 1 (repeatable)")
    src.add_argument("--eval-images", type=int, metavar="N",
                     help="images step 1 scores per accuracy point (default 200)")
    src.add_argument("--images", type=int, metavar="N", help="images traced (1)")
    src.add_argument("--seed", type=int, help="step 1's seed (0)")
    cfg = p.add_argument_group("configs")
    cfg.add_argument("--preset", metavar="NAME", help="base config (contracts.presets)")
    cfg.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     dest="overrides", help="change one field of the base config")
    cfg.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                     help="grid axis (repeatable): every combination is priced")
    cfg.add_argument("--search", type=int, metavar="N", help="instead of a grid: NSGA-II "
                     "search with N distinct evaluations per network over the --range fields")
    cfg.add_argument("--range", action="append", default=[], metavar="KEY=LO..HI|V1,V2",
                     dest="ranges", help="searched field: LO..HI[:log|:STEP] or values")
    cfg.add_argument("--population", type=int, help="NSGA-II population (10)")
    cfg.add_argument("--objectives", metavar="FIG:max,...", help="Pareto figures (default "
                     "accuracy:max,tops_per_w:max,area_mm2:min; accuracy only with --network)")
    cfg.add_argument("--activity", choices=("trace", "stats"), default="trace",
                     help="step 2's activity model (stats: the statistical fast mode)")
    run = p.add_argument_group("where it runs")
    run.add_argument("--out", default="results/explore", metavar="DIR",
                     help="results folder (default results/explore); re-use it to resume")
    run.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, "
                     "e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    run.add_argument("--workers", type=int, default=2, help="local cluster workers (2)")
    run.add_argument("--threads", action="store_true", help="local workers as threads of "
                     "this process instead of processes (faster start, one GIL)")
    run.add_argument("--retry-failed", action="store_true",
                     help="run again the points recorded with an error")
    run.add_argument("--no-plot", action="store_true", help="skip points.png")
    run.add_argument("--quiet", action="store_true", help="print only errors")
    return p


def _space(args):
    from contracts.config import HardwareConfig, apply_overrides
    from contracts.presets import preset
    from neuropysim.space import Source, Space, Step1Settings, check_source
    base = preset(args.preset) if args.preset else HardwareConfig()
    base = apply_overrides(base, args.overrides)
    for name in args.network:
        check_source(name, args.dataset)
    sources = [Source.from_network(n, args.dataset) for n in args.network]
    sources += [Source.from_trace(t) for t in args.trace]
    step1 = Step1Settings(200 if args.eval_images is None else args.eval_images,
                          1 if args.images is None else args.images,
                          0 if args.seed is None else args.seed)
    return Space(sources, base, step1, args.activity)


def _check(args) -> None:
    from contracts.config import ConfigError
    if not args.network and not args.trace:
        raise ConfigError("name at least one --network NAME or --trace DIR")
    if args.dataset and not args.network:
        raise ConfigError("--dataset applies to --network only")
    if args.search is None and not args.sweep:
        raise ConfigError("give grid axes (--sweep KEY=V1,V2,...) or a search "
                          "(--search N --range KEY=LO..HI)")
    if args.search is not None and args.sweep:
        raise ConfigError("--sweep (a grid) and --search cannot be combined; search over "
                          "--range fields")
    if args.search is None and args.ranges:
        raise ConfigError("--range needs --search N")
    _check_ignored(args)


def _check_ignored(args) -> None:
    """Options that would change nothing: one line each (never silently ignored)."""
    from chip.sweep import SWEEP_METRICS
    from contracts.config import ConfigError
    from neuropysim.evaluate import ACCURACY_COLUMNS
    step1 = [f"--{n.replace('_', '-')}" for n in ("eval_images", "images", "seed")
             if getattr(args, n) is not None]
    if step1 and not args.network:
        raise ConfigError(f"{step1[0]} applies to --network points (step 1 runs); --trace "
                          f"points reuse their trace")
    if args.population is not None and args.search is None:
        raise ConfigError("--population applies to --search (NSGA-II)")
    if args.retry_failed and args.search is not None:
        raise ConfigError("--retry-failed applies to a grid; a search evaluates new points")
    if args.objectives:
        from chip.sweep import parse_objectives
        known = set(SWEEP_METRICS) | set(ACCURACY_COLUMNS)
        unknown = [name for name in parse_objectives(args.objectives) if name not in known]
        if unknown:
            raise ConfigError(f"--objectives names {unknown[0]!r}, which is not a figure of "
                              f"a point; choose from: {', '.join(sorted(known))}")


def _report(args, outcome, axes: list[str]) -> None:
    if args.quiet:
        return
    shown = [c for c in ("network", *axes, "accuracy", "area_mm2", "latency_per_image_ns",
                         "tops_per_w") if c in outcome.front]
    if len(outcome.front):
        print("Pareto front:")
        print(outcome.front[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{len(outcome.table)} points ({outcome.ran} run now, {outcome.skipped} already "
          f"done, {outcome.failed} failed; {outcome.step1_runs} step-1 runs) in "
          f"{outcome.folder}/points.csv; front: pareto.csv")
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)


def _run(args) -> int:
    from chip.sweep import parse_axis, parse_objectives
    from neuropysim.explore import Backend, run_grid
    _check(args)
    space = _space(args)
    objectives = parse_objectives(args.objectives) if args.objectives else None
    backend = Backend(scheduler=args.scheduler, workers=args.workers,
                      processes=not args.threads)
    if args.search is not None:
        from neuropysim.search import parse_range, run_search
        ranges = [parse_range(text) for text in args.ranges]
        outcome = run_search(space, ranges, args.out, args.search,
                             population=args.population or 10, objectives=objectives, backend=backend, progress=not args.quiet,
                             plot=not args.no_plot)
        _report(args, outcome, [r.key for r in ranges])
    else:
        axes = [parse_axis(text) for text in args.sweep]
        outcome = run_grid(space, axes, args.out, backend=backend, objectives=objectives,
                           retry_failed=args.retry_failed, progress=not args.quiet,
                           plot=not args.no_plot)
        _report(args, outcome, [a.key for a in axes])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    exit_cleanly_on_sigterm()
    args = parse(_parser(), argv)
    if args is None:
        return BAD_INPUT

    def work() -> int:
        with imports_whole():
            import neuropysim.explore  # noqa: F401  (Ctrl-C held while numpy/pandas load)
        return _run(args)
    return run(work, f"the points finished so far are in {Path(args.out)}/points.csv",
               installation=(ImportError,))


if __name__ == "__main__":   # pragma: no cover
    raise SystemExit(main())
