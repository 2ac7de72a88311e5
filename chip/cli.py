"""`python Chip.py`: estimate a chip for a trace folder and write results/<NET>/.

The config follows one rule with step 1 and the Python API (contracts.provenance): the trace's
recorded config, then fields edited in inferenceConfig.py since step 1, then --preset NAME,
then --set key=value. Every accuracy field that then differs from the trace is named in one
warning line. The first line of the report says what was priced: config hash, preset, trace
and the trace's accuracy.

Every bad input prints one line on stderr and exits with 2, writing no result files; Ctrl-C
exits with 130 (SIGTERM 143) after one line, leaving no partial output. Never imports torch.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Sequence

from contracts.command_line import OneLineParser, parse, run
from contracts.effects import effect_note
from contracts.exits import BAD_INPUT
from contracts.staging import exit_cleanly_on_sigterm
from contracts.user_defaults import CONFIG_FILE

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="Chip.py", description="NeuroPySim step 2: area, latency and energy of a "
                "compute-in-memory chip for a trace folder.")
    p.add_argument("--trace", metavar="DIR", help="trace folder (default: inferenceConfig.TRACE_DIR)")
    p.add_argument("--network-csv", metavar="CSV", dest="network_csv",
                   help="NetWork_<model>.csv of a DNN+NeuroSim layer_record folder/archive "
                        "given as --trace (default: found inside or next to it)")
    p.add_argument("--preset", metavar="NAME", help="named hardware config (contracts.presets); "
                   "default: the preset the trace was made with, if any")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override one config field (repeatable)")
    p.add_argument("--updated-trace", metavar="DIR",
                   help="second trace of the same network: cost of rewriting changed cells")
    p.add_argument("--out", metavar="DIR", help="results folder (default: results/<NET>)")
    p.add_argument("--json", action="store_true", help="print summary.json to stdout")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--no-plot", action="store_true", help="skip breakdown.png / sweep.png")
    p.add_argument("--sweep", metavar="KEY=V1,V2,...", action="append", default=[],
                   help="estimate every combination of these values (repeatable; one key per "
                        "--sweep) and write sweep.csv and sweep.png to results/<NET>-sweep")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="sweep points estimated in parallel (needs joblib; default 1)")
    p.add_argument("--activity", choices=("trace", "stats"), default="trace",
                   help="activity model: trace-accurate (default) or the statistical fast "
                        "mode (per-layer input-bit and weight-bit statistics)")
    return p


def _check_manifest_agreement(trace, config) -> None:
    """Shapes of the trace vs the config: precisions must be representable."""
    from contracts.trace import TraceError
    for layer in trace.layers:
        g = layer.geometry
        if g.weight_bits > config.weight_bits or g.input_bits > config.activation_bits:
            raise TraceError(f"layer {g.name!r}: trace precision {g.weight_bits}-bit weights / "
                             f"{g.input_bits}-bit inputs exceeds the config's weight_bits="
                             f"{config.weight_bits} / activation_bits={config.activation_bits}")


def _out_folder(args, trace, defaults, suffix: str = "") -> Path:
    """--out, else results/<net><suffix> (inferenceConfig.RESULTS_DIR)."""
    if args.out is not None:
        return Path(args.out)
    return defaults.results_folder(f"{trace.network}{suffix}")


def _say(args, *lines: str | None) -> None:
    if args.quiet:
        return
    for line in lines:
        if line:
            print(line, file=sys.stderr)


def _run_sweep(args, trace, trace_path, base_config, defaults) -> int:
    """--sweep: validate every point first, estimate them, write results/<NET>-sweep/."""
    from chip.sweep import SWEEP_KIND, parse_axis, run_sweep, sweep_points, write_sweep
    from contracts.config import ConfigError, HardwareConfig
    from contracts.staging import check_replaceable

    if args.updated_trace:
        raise ConfigError("--updated-trace cannot be combined with --sweep")
    axes = [parse_axis(text) for text in args.sweep]
    points = sweep_points(base_config, axes)
    swept_accuracy = [a.key for a in axes if a.key in HardwareConfig.accuracy_fields()]
    if swept_accuracy:
        _say(args, f"warning: sweeping {', '.join(swept_accuracy)}: the trace's recorded "
                   f"accuracy holds only at its own values; run step 1 per point for accuracy")
    out = _out_folder(args, trace, defaults, suffix="-sweep")
    check_replaceable(out, SWEEP_KIND, what="out")      # refuse before the work
    source = trace if args.jobs == 1 else trace_path     # workers read it themselves
    table = run_sweep(source, points, jobs=args.jobs, network_csv=args.network_csv,
                      progress=not args.quiet, activity=args.activity)
    folder, notes = write_sweep(table, [a.key for a in axes], out, plot=not args.no_plot)
    if args.json:
        sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
    elif not args.quiet:
        shown = [a.key for a in axes] + ["area_mm2", "latency_per_image_ns",
                                         "dynamic_energy_per_image_pJ", "tops_per_w", "tops"]
        print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"{len(table)} points written to {folder}/sweep.csv")
    _say(args, *(f"note: {note}" for note in notes))
    return 0


def _estimate(args, defaults) -> int:
    from chip.estimator import estimate, load_trace, resolve_config
    from chip.report import format_summary, summary_json, write_results
    from contracts.results import RESULTS_KIND
    from contracts.staging import check_replaceable

    trace_path = args.trace if args.trace is not None else defaults.default_trace()
    trace, config, provenance = resolve_config(
        trace_path, preset=args.preset, overrides=args.overrides,
        file_config=defaults.hardware, network_csv=args.network_csv)
    _check_manifest_agreement(trace, config)
    touched = set(provenance.changed) | {text.split("=", 1)[0].strip() for text in args.overrides}
    _say(args, provenance.warning(), effect_note(config, "cost", touched),
         *(f"note: {n}" for n in provenance.notes))
    if args.sweep:
        return _run_sweep(args, trace, trace_path, config, defaults)
    out = _out_folder(args, trace, defaults)
    check_replaceable(out, RESULTS_KIND, what="out")  # refuse before the work
    updated = load_trace(args.updated_trace) if args.updated_trace else None
    report = estimate(trace, config, provenance=provenance, updated_trace=updated,
                      activity=args.activity)
    folder, notes = write_results(report, out, plot=not args.no_plot)
    if args.json:
        sys.stdout.write(summary_json(report))
    elif not args.quiet:
        sys.stdout.write(format_summary(report))
        print(f"results written to {folder}/")
    _say(args, *(f"note: {note}" for note in notes))
    return 0


def main(argv: Sequence[str] | None = None,
         user_config: str | Path | None = CONFIG_FILE) -> int:
    """Run step 2. ``user_config``: the inferenceConfig.py to read (Chip.py passes the one
    beside it; the console script reads ./inferenceConfig.py if there is one)."""
    exit_cleanly_on_sigterm()
    args = parse(_parser(), argv)
    if args is None:
        return BAD_INPUT
    if args.jobs != 1 and not args.sweep:
        print(f"error: --jobs {args.jobs} applies only to --sweep", file=sys.stderr)
        return BAD_INPUT

    def work() -> int:
        from contracts.user_defaults import load_user_defaults
        with warnings.catch_warnings():
            # Python warnings (a NeuroSim table that disagrees with its files, ...) as one
            # line each, like every other warning of this command
            warnings.showwarning = lambda message, *rest, **kw: _say(args, f"warning: {message}")
            return _estimate(args, load_user_defaults(user_config))
    # PhysicsUnavailable (a RuntimeError): an installation problem
    return run(work, "no results written", installation=(RuntimeError,))


if __name__ == "__main__":   # pragma: no cover
    raise SystemExit(main())
