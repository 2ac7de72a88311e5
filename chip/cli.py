"""`python Chip.py`: estimate a chip for a trace folder and write results/<NET>/.

Config precedence: inferenceConfig.HARDWARE (or --preset NAME) for every field, then the trace
manifest's accuracy fields (what step 1 ran with), then the fields named by --preset and
--set (explicit choices win; when one of them changes an accuracy field away from the
manifest, one warning line says the recorded accuracy no longer matches).

Every bad input prints one line on stderr and exits with 2, writing no result files.
Never imports torch.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main", "build_config"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # one line, exit 2 (argparse's own code)
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="Chip.py", description="NeuroPySim step 2: area, latency and energy of a "
                "compute-in-memory chip for a trace folder.")
    p.add_argument("--trace", metavar="DIR", help="trace folder (default: inferenceConfig.TRACE_DIR)")
    p.add_argument("--network-csv", metavar="CSV", dest="network_csv",
                   help="NetWork_<model>.csv of a DNN+NeuroSim layer_record folder/archive "
                        "given as --trace (default: found inside or next to it)")
    p.add_argument("--preset", metavar="NAME", help="named hardware config (contracts.presets)")
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
    return p


def build_config(manifest_config: dict, preset_name: str | None, overrides: Sequence[str]):
    """(config, warning or None) following the precedence in the module docstring."""
    import dataclasses

    from contracts.config import HardwareConfig, parse_override
    from contracts.presets import PRESETS, preset

    if preset_name is not None:
        base = preset(preset_name)
        explicit = dict(PRESETS[preset_name])
    else:
        import inferenceConfig
        base = inferenceConfig.HARDWARE
        explicit = {}
    explicit.update(dict(parse_override(text) for text in overrides))
    known = {f.name for f in dataclasses.fields(HardwareConfig)}
    accuracy = set(HardwareConfig.accuracy_fields())
    recorded = {k: v for k, v in (manifest_config or {}).items() if k in accuracy and k in known}
    merged = {**base.to_dict(), **recorded, **explicit}
    config = HardwareConfig.from_dict(merged)
    differ = sorted(k for k in explicit if k in recorded and recorded[k] != getattr(config, k))
    warning = None
    if differ:
        warning = ("warning: " + ", ".join(f"{k}={getattr(config, k)!r} (trace: {recorded[k]!r})"
                                           for k in differ)
                   + " differ from the trace manifest; the recorded accuracy no longer matches")
    return config, warning


def _check_manifest_agreement(trace, config) -> None:
    """Shapes of the trace vs the config: precisions must be representable."""
    from contracts.trace import TraceError
    for layer in trace.layers:
        g = layer.geometry
        if g.weight_bits > config.weight_bits or g.input_bits > config.activation_bits:
            raise TraceError(f"layer {g.name!r}: trace precision {g.weight_bits}-bit weights / "
                             f"{g.input_bits}-bit inputs exceeds the config's weight_bits="
                             f"{config.weight_bits} / activation_bits={config.activation_bits}")


def _out_folder(args, trace, suffix: str = "") -> Path:
    """--out, else results/<net><suffix> (inferenceConfig.RESULTS_DIR)."""
    if args.out is not None:
        return Path(args.out)
    import inferenceConfig
    return Path(inferenceConfig.RESULTS_DIR) / f"{trace.network}{suffix}"


def _run_sweep(args, trace, base_config) -> int:
    """--sweep: validate every point first, estimate them, write results/<NET>-sweep/."""
    from contracts.config import ConfigError, HardwareConfig
    from chip.sweep import (parse_axis, run_sweep, sweep_folder_is_ours, sweep_points,
                            write_sweep)
    from contracts.staging import check_replaceable

    if args.updated_trace:
        raise ConfigError("--updated-trace cannot be combined with --sweep")
    axes = [parse_axis(text) for text in args.sweep]
    points = sweep_points(base_config, axes)
    swept_accuracy = [a.key for a in axes if a.key in HardwareConfig.accuracy_fields()]
    if swept_accuracy and not args.quiet:
        print(f"warning: sweeping {', '.join(swept_accuracy)}: the trace's recorded accuracy "
              f"holds only at its own values; run step 1 per point for accuracy",
              file=sys.stderr)
    out = _out_folder(args, trace, suffix="-sweep")
    check_replaceable(out, sweep_folder_is_ours, what="out")      # refuse before the work
    source = trace if args.jobs == 1 else args.trace
    table = run_sweep(source, points, jobs=args.jobs, network_csv=args.network_csv,
                      progress=not args.quiet)
    folder, notes = write_sweep(table, [a.key for a in axes], out, plot=not args.no_plot)
    if args.json:
        sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
    elif not args.quiet:
        shown = [a.key for a in axes] + ["area_mm2", "latency_per_image_ns",
                                         "dynamic_energy_per_image_pJ", "tops_per_w", "tops"]
        print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"{len(table)} points written to {folder}/sweep.csv")
    if not args.quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from contracts.config import ConfigError
    from contracts.trace import TraceError

    try:
        args = _parser().parse_args(argv)
    except _UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.jobs != 1 and not args.sweep:
        print(f"error: --jobs {args.jobs} applies only to --sweep", file=sys.stderr)
        return 2
    try:
        from chip.estimator import estimate, load_trace
        from chip.report import format_summary, summary_json, write_results
        from contracts.staging import check_replaceable, results_folder_is_ours

        if args.trace is None:
            import inferenceConfig
            args.trace = inferenceConfig.TRACE_DIR
        trace = load_trace(args.trace, network_csv=args.network_csv)
        config, warning = build_config(trace.config, args.preset, args.overrides)
        _check_manifest_agreement(trace, config)
        if warning and not args.quiet:
            print(warning, file=sys.stderr)
        if args.sweep:
            return _run_sweep(args, trace, config)
        out = _out_folder(args, trace)
        check_replaceable(out, results_folder_is_ours, what="out")  # refuse before the work
        updated = load_trace(args.updated_trace) if args.updated_trace else None
        report = estimate(trace, config, updated_trace=updated)
        folder, notes = write_results(report, out, plot=not args.no_plot)
    except (ConfigError, TraceError, ValueError) as err:
        print(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
              file=sys.stderr)
        return 2
    except (OSError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:          # PhysicsUnavailable: an installation problem
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(summary_json(report))
    elif not args.quiet:
        sys.stdout.write(format_summary(report))
        print(f"results written to {folder}/")
    if not args.quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":   # pragma: no cover
    raise SystemExit(main())
