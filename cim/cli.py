"""Command line of step 1 (``python inference_sim.py``): parse, call cim.run, print.

Bad input (unknown network, data set or config key, a data root without the expected files, a
checkpoint that does not fit, values out of range, an output folder holding files this tool
did not write) prints ONE line on stderr and exits with code 2; nothing is written because
cim.run checks everything before it writes, and the trace is written atomically.

Warnings are one line each on stderr (Python warnings included, each once); ``--quiet``
prints nothing but errors; ``--json`` prints only the JSON result on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import warnings
from pathlib import Path

from contracts.user_defaults import CONFIG_FILE

__all__ = ["main", "build_parser", "parse_duration", "parse_durations"]

EXIT_BAD_INPUT = 2

#: seconds per unit of --sweep-drift; a year is the Julian year of 365.25 days (ours)
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "y": 365.25 * 86400.0}
_DURATION = re.compile(r"^((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([smhdy])$")


def parse_duration(text: str) -> float:
    """Seconds of a duration ``<number><unit>``, unit s, m, h, d or y (e.g. 1s, 1.5h, 1y)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"--sweep-drift: {text!r} is not a duration; use a non-negative "
                         f"number with a unit s, m, h, d or y (e.g. 1s,1h,1d,1y)")
    value = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if not math.isfinite(value):
        raise ValueError(f"--sweep-drift: {text!r} is too large")
    return value


def parse_durations(text: str) -> list[tuple[str, float]]:
    """(label, seconds) for a comma-separated list of durations."""
    parts = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in parts):
        raise ValueError(f"--sweep-drift: {text!r} has an empty entry; give a comma-separated "
                         f"list such as 1s,1h,1d,1y")
    return [(t, parse_duration(t)) for t in parts]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise _UsageError(message)


class _UsageError(ValueError):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="inference_sim.py",
                description="Step 1 of NeuroPySim: run a network on real data with the CIM "
                            "hardware in the loop, report float / quantized / hardware "
                            "accuracy and write the per-layer trace for Chip.py.",
                epilog="Accuracy is scored on the test split; the activation clip values "
                       "and ADC ranges are calibrated on the first 64 images of the TRAIN "
                       "split (ADC: the first 16 of them), never on scored images "
                       "(mnist/cifar10: --data-root must hold the train files too). Output "
                       "folders are replaced only when empty or written by this tool.")
    p.add_argument("--model", "--network", dest="network", metavar="MODEL",
                   help="a registered network (case-insensitive), path/to/file.py:factory, "
                        "model.onnx or model.tflite (default: inferenceConfig.MODEL; "
                        "docs/models.md)")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape of a file model "
                   "without one, e.g. 3,224,224 (C,L for Conv1d, F for an MLP)")
    p.add_argument("--dataset", help="mnist5k, mnist, cifar10, synthetic (cost-only), a "
                   "folder of labelled images or an .npz file with x/y (default: "
                   "inferenceConfig.DATASET for the default network, else the network's own)")
    p.add_argument("--data-root", help="folder with MNIST IDX or CIFAR-10 python files")
    p.add_argument("--checkpoint", help="weights to load (default: the shipped checkpoint)")
    p.add_argument("--images", type=int, help="images traced for step 2 (default 1)")
    p.add_argument("--no-accuracy", action="store_true", help="cost only: measure no "
                   "accuracy, write the trace from one quantized pass over the traced images "
                   "(always so with --dataset synthetic)")
    p.add_argument("--eval-images", type=int, help="test images scored (default: all of the "
                   "test split; calibration uses train images, see below)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hardware config field (repeatable)")
    p.add_argument("--preset", help="start from a named hardware preset instead of "
                   "inferenceConfig.HARDWARE; realistic-device presets (rram-write-verify, "
                   "rram-no-verify, rram-faults-chen2015) alone or composed after one: "
                   "table7-rram-22nm-par32+rram-no-verify (contracts.presets)")
    p.add_argument("--seed", type=int, help="seed of init, synthetic data, device effects")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (results "
                   "are in the trace and results/<net>/accuracy.json)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--train", action="store_true", help="train the network with quantization-"
                   "aware training first and save the checkpoint")
    p.add_argument("--epochs", type=int, help="training epochs (with --train)")
    p.add_argument("--trace-dir", help="trace folder (default layer_record_<NET>); an existing "
                   "folder is replaced only if empty or a trace of ours")
    p.add_argument("--results-dir", metavar="DIR", help="folder of the accuracy report "
                   "accuracy.json (default: inferenceConfig.RESULTS_DIR/<net>, where Chip.py "
                   "writes its results)")
    p.add_argument("--monte-carlo", type=int, metavar="N",
                   help="repeat the hardware evaluation with N seeds (--seed, --seed+1, ...) and "
                        "report the accuracy mean, std, min and max (no trace is written)")
    p.add_argument("--sweep-drift", metavar="TIMES",
                   help="accuracy against time after programming, e.g. 1s,1h,1d,1y (units s, "
                        "m, h, d, y); uses the configured drift_model, 'power_law' if none "
                        "('relative': spread k*(1 + drift_relative_log_slope*ln(t/t_ref))) "
                        "(no trace is written)")
    p.add_argument("--calibrate", metavar="STAGES",
                   help="recover accuracy on the programmed chip: 'all' or a comma-separated "
                        "list of targets,bias,scaling,finetune (docs/calibration.md); runs on "
                        "train images only, prints each stage's accuracy and saves the "
                        "calibrated network as a checkpoint (its trace is the one written)")
    p.add_argument("--calibration-images", type=int, metavar="N",
                   help="train images the calibration stages use (default 2048)")
    p.add_argument("--finetune-steps", type=int, metavar="N",
                   help="steps of the 'finetune' stage (default 300)")
    p.add_argument("--neurosim-export", nargs="?", const="", metavar="DIR",
                   help="also write NeuroSim-format layer records + NetWork.csv "
                        "(default DIR: <trace-dir>_neurosim)")
    return p


def _config(args, defaults):
    from contracts.provenance import step1_config
    return step1_config(defaults.hardware, args.preset, args.set)


def _pct(v) -> str:
    return "   n/a" if v is None else f"{100 * v:6.2f}%"


def _describe(cfg) -> str:
    mode = (f"parallel ({cfg.parallel_rows} rows/read, {cfg.adc_bits}-bit ADC, "
            f"{cfg.adc_range} range)" if cfg.operation_mode == "parallel" else "sequential")
    cell = "SRAM" if cfg.memory_cell == "sram" else \
        f"{cfg.memory_cell.upper()} on/off {cfg.on_off_ratio:.3g}"
    return (f"{cell}, {cfg.cell_bits}-bit cells, {cfg.weight_bits}-bit weights "
            f"({cfg.weight_encoding}), {cfg.activation_bits}-bit inputs "
            f"({cfg.input_encoding}), {mode}")


def _print_statistics(stats: dict) -> None:
    if not stats:
        return
    if stats.get("operation_mode") == "parallel":
        reads = (f"{stats['reads']} array reads (one row group, one input bit), "
                 f"{stats['adc_conversions']} ADC conversions")
    else:                       # one row per read through sense amplifiers: no ADC
        reads = (f"{stats['reads']} single-row reads, {stats['sense_amp_reads']} "
                 f"sense-amplifier reads (no ADC in sequential mode)")
    print(f"statistics: {stats['cells_used']} cells written in {stats['subarrays']} subarrays "
          f"(utilization {stats['utilization']:.3f}), {reads}, {stats['faults']} faults "
          f"injected ({stats['stuck_hrs']} stuck at HRS, {stats['stuck_lrs']} at LRS)")


def _summary_text(s: dict) -> str:
    if s["n"] == 1:
        return f"{_pct(s['mean'])}"
    return (f"mean {_pct(s['mean'])}  std {100 * s['std']:5.2f}%  min {_pct(s['min'])}  "
            f"max {_pct(s['max'])}")


def _print_human(result) -> None:
    kib = result.trace_bytes / 1024
    print(f"{result.network} on {result.dataset}: {result.dataset_description}")
    dynamic = sum(layer["kind"] == "dynamic_matmul" for layer in result.layers)
    products = (f"; {dynamic} attention products ({result.config.dynamic_matmul_policy})"
                if dynamic else "")
    print(f"hardware: {_describe(result.config)}{products} [config {result.config_hash}]")
    if result.cost_only:
        why = "synthetic inputs" if result.is_synthetic else "--no-accuracy"
        print(f"accuracy: not measured - {why}, cost-only run")
    else:
        a = result.accuracy
        print(f"accuracy on {result.eval_images} images:  float {_pct(a['float'])}   "
              f"quantized {_pct(a['quantized'])}   hardware {_pct(a['hardware'])}")
    if result.trace_dir is not None:
        print(f"trace: {result.trace_dir}/ ({len(result.layers)} layers, "
              f"{result.traced_images} image{'s' if result.traced_images != 1 else ''}, "
              f"{kib:.1f} KiB) in {result.timings_s.get('trace', 0):.2f} s; "
              f"next: python Chip.py --trace {result.trace_dir}")
    if result.neurosim_dir is not None:
        print(f"NeuroSim format: {result.neurosim_dir}")
    if result.accuracy_file is not None:
        print(f"accuracy report: {result.accuracy_file}")
    if result.calibration_pipeline:
        _print_calibration(result.calibration_pipeline)
    _print_statistics(result.statistics)
    print(f"time: {result.timings_s.get('total', 0):.1f} s")


def _warner(quiet: bool):
    """A function that prints each distinct warning line once on stderr (none when quiet)."""
    seen: set[str] = set()

    def warn(text: str) -> None:
        if quiet or text in seen:
            return
        seen.add(text)
        print(text, file=sys.stderr)
    return warn


def main(argv: list[str] | None = None, user_config: str | Path | None = CONFIG_FILE) -> int:
    """Run step 1. ``user_config``: the inferenceConfig.py to read (inference_sim.py passes the
    one beside it; the console script reads ./inferenceConfig.py if there is one)."""
    from contracts.exits import one_line, stop
    from contracts.staging import exit_cleanly_on_sigterm
    exit_cleanly_on_sigterm()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        warn = _warner(args.quiet)
        with warnings.catch_warnings():
            # Python warnings (torch, cim) as one line each, not file:line + source
            warnings.showwarning = lambda message, *rest, **kw: warn(f"warning: {message}")
            from contracts.user_defaults import load_user_defaults
            return _main(args, warn, load_user_defaults(user_config))
    except _UsageError as err:
        print(f"inference_sim.py: error: {err} (see --help)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeError as err:
        from models.datasets import DataUnavailableError
        if not isinstance(err, DataUnavailableError):
            raise
        return stop("inference_sim.py: ", ValueError(one_line(err)), "nothing written")
    except (Exception, KeyboardInterrupt) as err:
        code = stop("inference_sim.py: ", err, "nothing written")
        if code is None:
            raise
        return code


def _check_args(args) -> None:
    for name in ("images", "eval_images", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')}={value} must be a positive integer")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed={args.seed} must be a non-negative integer")
    if args.epochs is not None and not args.train:
        raise ValueError("--epochs applies only with --train")
    if args.monte_carlo is not None and args.monte_carlo < 1:
        raise ValueError(f"--monte-carlo={args.monte_carlo} must be a positive integer")
    if args.network is not None and not args.network.strip():
        raise ValueError("--network '' is empty; give a registered name (see models.names())")
    repeats = args.monte_carlo is not None or args.sweep_drift is not None
    if repeats and args.neurosim_export is not None:
        raise ValueError("--neurosim-export does not apply with --monte-carlo or --sweep-drift "
                         "(they write no trace)")
    for name in ("calibration_images", "finetune_steps"):
        value = getattr(args, name)
        if value is not None and args.calibrate is None:
            raise ValueError(f"--{name.replace('_', '-')} applies only with --calibrate")
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')}={value} must be a positive integer")
    if args.calibrate is not None and not args.calibrate.strip():
        raise ValueError("--calibrate '' names no stage; give 'all' or a comma-separated list "
                         "of targets,bias,scaling,finetune")
    if repeats and args.calibrate is not None:
        raise ValueError("--calibrate does not apply with --monte-carlo or --sweep-drift")
    if args.calibrate is not None and args.no_accuracy:
        raise ValueError("--calibrate does not apply with --no-accuracy (it measures accuracy)")
    if repeats and args.no_accuracy:
        raise ValueError("--no-accuracy does not apply with --monte-carlo or --sweep-drift "
                         "(they measure accuracy only)")
    if args.train and args.no_accuracy:
        raise ValueError("--no-accuracy does not apply with --train")
    if repeats and args.results_dir is not None:
        raise ValueError("--results-dir does not apply with --monte-carlo or --sweep-drift "
                         "(they write no accuracy report; use --json)")


def _train(args, cfg, network, defaults, progress) -> Path:
    import models

    from .train import DEFAULT_EPOCHS, train
    spec = models.get_spec(network)
    dataset = _dataset(args, network, defaults) or spec.default_dataset
    path, _ = train(network, dataset, cfg, epochs=args.epochs or DEFAULT_EPOCHS,
                    seed=args.seed if args.seed is not None else defaults.seed,
                    checkpoint=args.checkpoint, data_root=args.data_root or defaults.data_root,
                    progress=progress,
                    log=(lambda text: None) if args.quiet else
                    (lambda text: print(text, file=sys.stderr)))
    if not args.quiet:
        print(f"note: trained weights in {path}; this run uses them, later runs need "
              f"--checkpoint {path}", file=sys.stderr)
    return path


def _main(args, warn, defaults) -> int:
    from contracts.exits import imports_whole
    with imports_whole():
        import torch

        from .run import run
    _check_args(args)
    drift_times = parse_durations(args.sweep_drift) if args.sweep_drift is not None else None
    cfg = _config(args, defaults)
    progress = not args.quiet               # bars and notes on stderr, also with --json
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    from .model_sources import resolve_model
    source = resolve_model(args.network or defaults.model, args.input_shape)
    network = source.name
    checkpoint = args.checkpoint
    if args.train:
        if source.kind != "registered":
            raise ValueError(f"--train applies to registered networks, not {source.kind} "
                             f"model {source.text!r}")
        checkpoint = _train(args, cfg, network, defaults, progress)
    if args.monte_carlo is not None or drift_times:
        return _repeat(args, cfg, source, drift_times, warn, defaults, checkpoint)
    trace_dir = Path(args.trace_dir or defaults.trace_dir_of(network))
    neurosim = None
    if args.neurosim_export is not None:
        neurosim = Path(args.neurosim_export) if args.neurosim_export else \
            trace_dir.with_name(trace_dir.name + "_neurosim")
    results_dir = Path(args.results_dir) if args.results_dir else \
        defaults.results_folder(network)
    result = run(defaults.hardware, preset=args.preset, overrides=args.set, network=source,
                 dataset=_dataset(args, network, defaults),
                 data_root=args.data_root or defaults.data_root, checkpoint=checkpoint,
                 images=args.images or defaults.trace_images, eval_images=args.eval_images,
                 seed=args.seed if args.seed is not None else defaults.seed,
                 trace_dir=trace_dir, progress=progress, neurosim_export=neurosim, warn=warn,
                 results_dir=results_dir, no_accuracy=args.no_accuracy,
                 **_calibration_args(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    elif not args.quiet:
        _print_human(result)
    return 0


def _calibration_args(args) -> dict:
    """run()'s calibration arguments from --calibrate, --calibration-images, --finetune-steps
    (progress lines of the stages on stderr unless --quiet)."""
    if args.calibrate is None:
        return {}
    out = {"calibrate": args.calibrate, "calibration_images": args.calibration_images}
    if args.finetune_steps is not None:
        out["finetune"] = {"steps": args.finetune_steps}
    if not args.quiet:
        out["log"] = lambda text: print(text, file=sys.stderr)
    return out


def _print_calibration(pipeline: dict) -> None:
    """The accuracy table of the calibration stages, and where the checkpoint went."""
    print(f"calibration on {pipeline['calibration_images']} train images (stages: "
          f"{', '.join(pipeline['stages'])}):")
    for row in pipeline["table"]:
        print(f"  {row['stage']:<11}{_pct(row['hardware'])}  {row['title']}"
              + (f" ({row['seconds']:.0f} s)" if row["seconds"] else ""))
    print(f"calibrated checkpoint: {pipeline['checkpoint']} (load it with --checkpoint)")


def _dataset(args, network: str, defaults) -> str | None:
    """--dataset, else the file's DATASET for the file's model, else the model's own."""
    from contracts.model_spec import model_name
    return args.dataset or (defaults.dataset if network == model_name(defaults.model) else None)


def _repeat(args, cfg, network, drift_times, warn, defaults, checkpoint) -> int:
    """--monte-carlo and/or --sweep-drift: hardware accuracy over seeds and drift times
    (``network``: the resolved model source)."""
    from .repeat import monte_carlo
    runs = args.monte_carlo or 1
    common = dict(network=network, dataset=_dataset(args, network.name, defaults),
                  data_root=args.data_root or defaults.data_root, checkpoint=checkpoint,
                  images=1, eval_images=args.eval_images,
                  seed=args.seed if args.seed is not None else defaults.seed, warn=warn)
    out: dict = {"config": cfg.to_dict(), "config_hash": cfg.config_hash(),
                 "preset": args.preset}
    if drift_times:
        model = cfg.drift_model if cfg.drift_model != "none" else "power_law"
        if model == "relative" and cfg.drift_relative_log_slope == 0:
            warn("note: drift_relative_log_slope=0: the 'relative' spread is "
                 "drift_relative_k at any t > 0, so the sweep is flat after t = 0")
        points = []
        for label, seconds in drift_times:
            point = monte_carlo(cfg.replace(drift_model=model, drift_time_s=seconds), runs,
                                **common)
            points.append(dict(point, time=label, drift_time_s=seconds))
        out["sweep_drift"] = {"drift_model": model, "runs_per_point": runs, "points": points}
        head = points[0]
    else:
        head = out["monte_carlo"] = monte_carlo(cfg, runs, **common)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if args.quiet:
        return 0
    print(f"{head['network']} on {head['dataset']}, {head['eval_images']} images: float "
          f"{_pct(head['float'])}   quantized {_pct(head['quantized'])}")
    print(f"hardware: {_describe(cfg)} [config {cfg.config_hash()}]")
    if drift_times:
        sw = out["sweep_drift"]
        detail = (f"k={cfg.drift_relative_k:g} at t_ref={cfg.drift_relative_t_ref_s:g} s, "
                  f"log slope={cfg.drift_relative_log_slope:g}"
                  if sw["drift_model"] == "relative" else
                  f"nu={cfg.drift_nu:g}, t0={cfg.drift_t0_s:g} s")
        seeds = f", {runs} seeds per point" if runs > 1 else ""
        print(f"hardware accuracy against time after programming (drift_model "
              f"{sw['drift_model']}, {detail}{seeds}):")
        for p in sw["points"]:
            print(f"  {p['time']:>8}  ({p['drift_time_s']:.4g} s)  {_summary_text(p)}")
    else:
        mc = out["monte_carlo"]
        print(f"hardware accuracy over {mc['n']} seeds ({mc['seeds'][0]}..{mc['seeds'][-1]}): "
              f"{_summary_text(mc)}")
    return 0
