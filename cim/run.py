"""Step 1 as a function: ``run(config) -> InferenceResult``.

Runs a network over real data three ways - float software, quantized software (integer codes,
exact products) and hardware in the loop (cim.crossbar) - and records the trace of the first
``images`` images for step 2 (contracts.trace, DESIGN.md §3).

Order of work, so that bad input fails before anything is computed or written:
config -> network -> data -> checkpoint -> layer check -> evaluation -> trace (atomic).

Calibration images: the first ``CALIBRATION_IMAGES`` (64) images of the data set's TRAIN split,
never the scored test images, so the accuracy is not measured on calibration data (mnist5k:
its 4,000-image train split; mnist / cifar10: the train files must be in ``data_root``). The ADC
ranges use the first ``ADC_CALIBRATION_IMAGES`` (16) of them. A synthetic (cost-only) run
scores nothing and calibrates on its own first images.

Activation clip values: the first layer reads images in [0, 1] (clip 1, codes round(x (2^a-1)));
the other layers use the clip values stored in the checkpoint by quantization-aware training
(``meta["activation_clip"]``) or, failing that, the largest input seen on the calibration
images.

Effects a read mode does not model (IR drop and ADC non-idealities in sequential mode, where
sense amplifiers read one row at a time and no ADC converts a multi-row sum) are reported in
one warning line naming the fields (:func:`unmodelled_effects`).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from contracts.config import HardwareConfig

from . import recorder
from .adc import ADC_CALIBRATION_IMAGES, CALIBRATION_IMAGES
from contracts.staging import (ACCURACY_FILE, ACCURACY_FORMAT, check_replaceable,
                      results_folder_is_ours, write_text_atomic)
from .convert import NetworkAnalysis, analyse, convert, set_mode
from .layers import CIMLayer

__all__ = ["InferenceResult", "run", "defaults", "evaluate", "statistics", "monte_carlo",
           "sweep", "accuracy_summary", "unmodelled_effects", "write_accuracy_report",
           "results_folder"]

#: images per batch in the float and quantized passes
SOFTWARE_BATCH = 256
#: im2col elements per hardware batch (bounds memory; the crossbar chunks further)
HARDWARE_BATCH_ELEMENTS = 1 << 22
#: schema of results/<NET>/accuracy.json
ACCURACY_SCHEMA_VERSION = 1
#: fields that only the parallel read models (cim.crossbar): IR drop along the driven rows
#: and the multi-row ADC's non-idealities; sequential mode reads one row through sense amps
PARALLEL_ONLY_EFFECTS = ("wire_resistance_ohm", "adc_offset_lsb", "adc_gain_error",
                         "adc_inl_lsb", "adc_dnl_lsb", "adc_noise_lsb")


def defaults() -> dict[str, Any]:
    """The user defaults of inferenceConfig.py (network, data set, hardware, ...)."""
    try:
        import inferenceConfig as ic
    except ImportError:  # running from a wheel without the file: built-in defaults
        return dict(network="lenet5", dataset="mnist5k", data_root=None, images=1, seed=0,
                    hardware=HardwareConfig(), trace_dir=lambda n: f"layer_record_{n.upper()}",
                    results_root="results")
    model = getattr(ic, "MODEL", None) or ic.NETWORK        # NETWORK: the older name
    return dict(network=model, dataset=ic.DATASET, data_root=ic.DATA_ROOT,
                images=ic.TRACE_IMAGES, seed=ic.SEED, hardware=ic.HARDWARE,
                trace_dir=ic.trace_dir, results_root=getattr(ic, "RESULTS_DIR", "results"))


def results_folder(network: str, root: str | Path | None = None) -> Path:
    """results/<net>/: where step 1's accuracy.json and step 2's reports go (Chip.py names
    the folder after the trace manifest's network, the same name)."""
    return Path(defaults()["results_root"] if root is None else root) / network


def unmodelled_effects(cfg: HardwareConfig) -> list[str]:
    """``name=value`` of the enabled effects that cfg.operation_mode does not model."""
    if cfg.operation_mode == "parallel":
        return []
    return [f"{name}={getattr(cfg, name):g}" for name in PARALLEL_ONLY_EFFECTS
            if getattr(cfg, name) != 0]


@dataclass
class InferenceResult:
    """What step 1 produced. ``accuracy`` values are fractions in [0, 1] (None: cost-only)."""

    network: str
    dataset: str
    dataset_description: str
    is_synthetic: bool
    config: HardwareConfig
    config_hash: str
    accuracy: dict[str, float | None]
    eval_images: int
    traced_images: int
    trace_dir: Path | None
    trace_bytes: int
    checkpoint: str | None
    layers: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    neurosim_dir: Path | None = None
    #: hardware counts of the run (see :func:`statistics`)
    statistics: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    #: where the ADC / activation ranges were calibrated: split and image count
    calibration: dict[str, Any] = field(default_factory=dict)
    accuracy_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network, "dataset": self.dataset,
            "dataset_description": self.dataset_description, "is_synthetic": self.is_synthetic,
            "cost_only": self.is_synthetic, "accuracy": dict(self.accuracy),
            "eval_images": self.eval_images, "traced_images": self.traced_images,
            "trace_dir": str(self.trace_dir) if self.trace_dir else None,
            "trace_bytes": self.trace_bytes, "checkpoint": self.checkpoint,
            "config": self.config.to_dict(), "config_hash": self.config_hash,
            "layers": self.layers, "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "neurosim_dir": str(self.neurosim_dir) if self.neurosim_dir else None,
            "statistics": self.statistics, "seed": self.seed,
            "calibration": dict(self.calibration),
            "accuracy_file": str(self.accuracy_file) if self.accuracy_file else None,
        }


def _positive_int(name: str, value, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is invalid; use a positive integer")
    return value


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, unit="batch", file=sys.stderr, leave=False)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None,
             batch: int, desc: str = "", progress: bool = False) -> float | None:
    """Top-1 accuracy (fraction) of ``model`` over ``images`` in batches (None without labels)."""
    correct = 0
    steps = math.ceil(len(images) / batch)
    with torch.no_grad():
        for i in _progress(range(steps), steps, desc, progress):
            out = model(images[i * batch:(i + 1) * batch])
            if labels is not None:
                correct += int((out.argmax(1) == labels[i * batch:(i + 1) * batch]).sum())
    return None if labels is None else correct / len(images)


def _resolve_config(config) -> HardwareConfig:
    if config is None:
        return defaults()["hardware"]
    if isinstance(config, HardwareConfig):
        return config
    if isinstance(config, dict):
        return HardwareConfig.from_dict(config)
    raise ValueError(f"config={type(config).__name__} is invalid; pass a HardwareConfig, a dict "
                     f"of its fields, or None for inferenceConfig.HARDWARE")


def _load_data(dataset: str, data_root, spec_shape, count: int | None, seed: int):
    from models import datasets
    if dataset == "synthetic":
        if spec_shape is None:
            raise ValueError("dataset='synthetic' with a user network needs input_shape=(C, H, W)")
        return datasets.load_dataset("synthetic", "test", synthetic_shape=tuple(spec_shape),
                                     synthetic_count=count, seed=seed)
    return datasets.load_dataset(dataset, "test", root=data_root)


def _calibration_images(dataset: str, data_root, data) -> tuple[torch.Tensor, dict[str, Any]]:
    """The first CALIBRATION_IMAGES of the train split: disjoint from the scored test split.

    A synthetic run scores nothing, so it calibrates on its own first images."""
    if data.is_synthetic:
        images = data.images[:CALIBRATION_IMAGES]
        return images, {"split": data.split, "images": int(len(images)),
                        "note": "synthetic: no accuracy is scored"}
    from models import datasets
    from models.user_data import MissingSplitError
    try:
        train = datasets.load_dataset(dataset, "train", root=data_root,
                                      limit=CALIBRATION_IMAGES)
    except MissingSplitError:
        # a user's data set without a train split: calibrate on scored images, and say so
        images = data.images[:CALIBRATION_IMAGES]
        return images, {"split": data.split, "images": int(len(images)),
                        "adc_images": int(min(ADC_CALIBRATION_IMAGES, len(images))),
                        "warning": f"warning: dataset={dataset!r} has no train split; "
                                   f"activation and ADC ranges are calibrated on the first "
                                   f"{len(images)} scored test images (accuracy may be "
                                   f"optimistic)"}
    except ValueError as err:
        raise ValueError(f"dataset={dataset!r}: ADC and activation ranges are calibrated on "
                         f"the train split (kept apart from the scored test images), but "
                         f"{str(err).splitlines()[0]}") from None
    images = train.images
    return images, {"split": "train", "images": int(len(images)),
                    "adc_images": int(min(ADC_CALIBRATION_IMAGES, len(images)))}


def _check_signed_inputs(layers: list[CIMLayer], cfg: HardwareConfig) -> None:
    """1-bit two's complement holds only -1 and 0: a layer with signed inputs needs >= 2 bits."""
    if cfg.activation_bits >= 2:
        return
    signed = [layer.name for layer in layers if layer.input_signed()]
    if signed:
        raise ValueError(f"activation_bits={cfg.activation_bits} cannot represent the signed "
                         f"inputs of layer(s) {', '.join(signed)} (1-bit two's complement holds "
                         f"only -1 and 0); use activation_bits >= 2")


def _network_name(network) -> str:
    return network if isinstance(network, str) else type(network).__name__.lower()


def _network_source(network, dataset, input_shape, d: dict):
    """(registry spec or None, network name or module, short name, data set, input shape)
    of a model argument (cim.model_sources) or a module."""
    from .model_sources import ModelSource, parse_input_shape, resolve_model
    import models
    from contracts.model_spec import model_name
    if isinstance(network, str):
        network = resolve_model(network, input_shape)         # ValueError lists known names
    name = None
    # the configured model (inferenceConfig.MODEL) runs on the configured data set
    default = model_name(d["network"]) if isinstance(d["network"], str) else None
    if isinstance(network, ModelSource):
        name, source = network.name, network
        network = source.name if source.module is None else source.module
        if source.module is not None:
            input_shape = source.input_shape or input_shape
            if dataset is None:
                dataset = source.default_dataset or (d["dataset"] if name == default else None)
    if isinstance(network, str):
        spec = models.get_spec(network)
        if dataset is None:
            dataset = d["dataset"] if network == default else spec.default_dataset
        return spec, network, network, dataset, tuple(spec.input_shape)
    if not isinstance(network, nn.Module):
        raise ValueError(f"network={network!r} is invalid; pass a name from models.names(), a "
                         f"model file (file.py:factory, .onnx, .tflite) or an nn.Module")
    if dataset is None:
        raise ValueError("a user network needs dataset= (a data set name or file, or "
                         "'synthetic' with input_shape=)")
    return None, network, name or _network_name(network), dataset, parse_input_shape(input_shape)


def run(config: HardwareConfig | dict | None = None, *, network: str | nn.Module | None = None,
        dataset: str | None = None, data_root: str | Path | None = None,
        checkpoint: str | Path | None = None, images: int | None = None,
        eval_images: int | None = None, seed: int | None = None,
        trace_dir: str | Path | None = None, write_trace: bool = True,
        input_shape: tuple[int, int, int] | None = None, progress: bool = False,
        neurosim_export: str | Path | None = None,
        warn: Callable[[str], None] | None = None,
        results_dir: str | Path | None = None) -> InferenceResult:
    """Step 1: accuracy three ways and the trace (see module docstring).

    Args:
        config: hardware (None: inferenceConfig.HARDWARE).
        network: a model argument (cim.model_sources: a registered name, case-insensitive;
            ``file.py:factory``; ``model.onnx``; ``model.tflite``), a resolved ModelSource,
            or any nn.Module built from supported layers (None: inferenceConfig.MODEL).
        dataset: data set name (None: inferenceConfig.DATASET for the default network, else
            the network's default data set); ``synthetic`` gives a cost-only run.
        data_root: folder of MNIST IDX / CIFAR-10 files.
        checkpoint: weights to load (None: the shipped checkpoint if there is one, else a
            seeded init with a warning).
        images: images traced (default inferenceConfig.TRACE_IMAGES).
        eval_images: images scored (default: the whole test split; synthetic: ``images``).
        seed: seed of initialisation, synthetic data and device randomness.
        trace_dir: where the trace goes (default layer_record_<NET>); ``write_trace=False``
            skips writing it.
        input_shape: (C, H, W) (or (C, L), (F,)) of a user network, for synthetic data.
        progress: tqdm bars on stderr.
        neurosim_export: also write NeuroSim-format files there (contracts.neurosim_writer).
        warn: called with each warning line (default: ignored; they are in the result).
        results_dir: also write the accuracy report ``accuracy.json`` into this folder
            (the command line passes results/<net>; default: not written).

    Existing output folders (trace_dir, neurosim_export, results_dir) are replaced only when
    empty or written by this tool; otherwise contracts.staging.FolderNotOursError (a ValueError)
    before any work.

    Raises:
        ValueError (and subclasses: ConfigError, UnsupportedLayerError, TraceError): bad input.
        FileNotFoundError: a checkpoint path that does not exist.
    """
    import models
    from models import checkpoints

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    warnings_out: list[str] = []

    def _warn(text: str) -> None:
        warnings_out.append(text)
        if warn:
            warn(text)

    d = defaults()
    cfg = _resolve_config(config)
    network = d["network"] if network is None else network
    seed = d["seed"] if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; use a non-negative integer")
    images = _positive_int("images", d["images"] if images is None else images)
    eval_images = _positive_int("eval_images", eval_images, allow_none=True)

    # -- network --------------------------------------------------------------------------------
    spec, network, name, dataset, shape = _network_source(network, dataset, input_shape, d)
    if data_root is None and dataset in ("mnist", "cifar10"):
        data_root = d["data_root"]
    # outputs first: a folder we may not replace fails before any work
    target = Path(trace_dir) if trace_dir is not None else Path(d["trace_dir"](name))
    if write_trace:
        from contracts.trace import trace_folder_is_ours
        check_replaceable(target, trace_folder_is_ours, "trace_dir")
        if neurosim_export is not None:
            from contracts.neurosim_reader import SIDECAR, SIDECAR_FORMAT
            check_replaceable(Path(neurosim_export), (SIDECAR, "format", SIDECAR_FORMAT),
                              "neurosim_export")
    if results_dir is not None:
        check_replaceable(Path(results_dir), results_folder_is_ours, "results_dir")
    skipped = unmodelled_effects(cfg)
    if skipped:
        _warn(f"warning: operation_mode='sequential' does not model {', '.join(skipped)} (IR "
              f"drop and ADC non-idealities act on the multi-row reads of "
              f"operation_mode='parallel' only); they do not change this run")

    # -- data -------------------------------------------------------------------------------------
    synthetic_count = max(images, eval_images or images)
    data = _load_data(dataset, data_root, shape, synthetic_count, seed)
    if shape is not None and tuple(data.images.shape[1:]) != tuple(shape):
        raise ValueError(f"dataset={dataset!r} has images {'x'.join(map(str, data.images.shape[1:]))}"
                         f" but network={name!r} expects {'x'.join(map(str, shape))}")
    total = len(data)
    n_eval = total if eval_images is None else eval_images
    if n_eval > total:
        raise ValueError(f"eval_images={n_eval} exceeds the {total} images of dataset="
                         f"{dataset!r} ({data.split} split)")
    if images > total:
        raise ValueError(f"images={images} exceeds the {total} images of dataset={dataset!r}")
    x_eval = data.images[:n_eval]
    y_eval = None if data.labels is None else data.labels[:n_eval]
    calib, calibration = _calibration_images(dataset, data_root, data)
    if "warning" in calibration:
        _warn(calibration["warning"])

    # -- model and weights --------------------------------------------------------------------
    meta: dict = {}
    ckpt_used: str | None = None
    if spec is not None:
        from models.user_data import is_user_data
        num_classes = data.num_classes or spec.num_classes
        if is_user_data(dataset) and num_classes <= spec.num_classes:
            num_classes = spec.num_classes     # user data with fewer classes: keep the outputs
        model = models.build(network, num_classes=num_classes, seed=seed)
        path = Path(checkpoint) if checkpoint is not None else None
        if path is None and not data.is_synthetic and not is_user_data(dataset):
            default_path = checkpoints.default_checkpoint_path(network, dataset)
            path = default_path if default_path.is_file() else None
        elif path is None:          # synthetic or the user's own data: the network's own
            default_path = checkpoints.default_checkpoint_path(network, spec.default_dataset)
            path = default_path if default_path.is_file() else None
        if path is not None:
            if not path.is_file():
                raise ValueError(f"checkpoint {str(path)!r} does not exist")
            meta = checkpoints.load_checkpoint(model, path)
            ckpt_used = str(path)
        elif data.is_synthetic:
            # cost only: random weights give realistic bit statistics, training cannot help
            _warn(f"note: no trained checkpoint for {network}; the cost-only run uses a seeded "
                  f"random init (seed {seed}) - pass --checkpoint for trained weights")
        else:
            _warn(f"warning: no trained checkpoint for {network} on {dataset}; using a seeded "
                  f"random init (seed {seed}) - accuracy is meaningless (train with --train or "
                  f"pass --checkpoint)")
    else:
        model = network
        if checkpoint is not None:
            if not Path(checkpoint).is_file():
                raise ValueError(f"checkpoint {str(checkpoint)!r} does not exist")
            meta = checkpoints.load_checkpoint(model, checkpoint)
            ckpt_used = str(checkpoint)
    model = model.eval()
    try:                                     # a user network that does not fit its inputs
        with torch.no_grad():
            outputs = model(data.images[:1]).shape[-1]
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        shape_text = "x".join(map(str, data.images.shape[1:]))
        raise ValueError(f"network={name!r} cannot run on dataset={dataset!r}'s inputs "
                         f"{shape_text}: {type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if y_eval is not None:
        if int(y_eval.max()) >= outputs:
            raise ValueError(f"network={name!r} has {outputs} outputs but dataset={dataset!r} "
                             f"has labels up to {int(y_eval.max())}")

    # -- CIM model --------------------------------------------------------------------------------
    with warnings.catch_warnings(record=True) as caught:     # one line each, not a traceback
        warnings.simplefilter("always")
        analysis = analyse(model)                            # UnsupportedLayerError
    for item in caught:
        _warn(f"warning: {item.message}")
    cim_model, analysis = convert(model, analysis)
    layers = _ordered_layers(cim_model, analysis)
    timings["setup"] = time.perf_counter() - t_start

    # clip values first: a precision that cannot hold a layer's inputs fails before the passes
    t = time.perf_counter()
    calibrate_activations(cim_model, layers, calib, cfg, meta.get("activation_clip"))
    _check_signed_inputs(layers, cfg)
    for layer in layers:             # imported codes fit the configured precisions as they are
        if layer.fixed is not None:
            layer.fixed.check(cfg, layer.name)
    timings["calibrate"] = time.perf_counter() - t

    t = time.perf_counter()
    set_mode(cim_model, "float")
    acc_float = evaluate(cim_model, x_eval, y_eval, SOFTWARE_BATCH, "float", progress)
    timings["float"] = time.perf_counter() - t

    t = time.perf_counter()
    hw_batch = hardware_batch(layers)
    program(cim_model, layers, cfg, seed, calib, hw_batch)
    timings["calibrate"] += time.perf_counter() - t

    t = time.perf_counter()
    set_mode(cim_model, "quant")
    acc_quant = evaluate(cim_model, x_eval, y_eval, SOFTWARE_BATCH, "quantized", progress)
    timings["quantized"] = time.perf_counter() - t

    t = time.perf_counter()
    set_mode(cim_model, "hw")
    counters = [layer.register_forward_hook(_count_sequential_reads) for layer in layers]
    record_now = images <= n_eval
    if record_now:
        recorder.start_recording(layers, images)
    acc_hw = evaluate(cim_model, x_eval, y_eval, hw_batch, "hardware", progress)
    timings["hardware"] = time.perf_counter() - t
    if not record_now:
        recorder.start_recording(layers, images)
        evaluate(cim_model, data.images[:images], None, hw_batch)
    recorder.stop_recording(layers)
    for handle in counters:
        handle.remove()
    stats = layer_statistics(layers)

    accuracy = {"float": acc_float, "quantized": acc_quant, "hardware": acc_hw}
    if data.is_synthetic:
        accuracy = {k: None for k in accuracy}
    traces = recorder.collect(layers, analysis)
    result = InferenceResult(
        network=name, dataset=dataset, dataset_description=data.description,
        is_synthetic=data.is_synthetic, config=cfg, config_hash=cfg.config_hash(),
        accuracy=accuracy, eval_images=n_eval, traced_images=images, trace_dir=None,
        trace_bytes=0, checkpoint=ckpt_used, warnings=warnings_out, timings_s=timings,
        layers=[dict(tr.geometry.to_json(), rows=tr.geometry.rows, macs=tr.geometry.macs)
                for tr in traces], statistics=stats, seed=seed, calibration=calibration)

    if write_trace:
        from contracts.trace import write_trace as _write
        t = time.perf_counter()
        manifest_accuracy = dict(accuracy, eval_images=n_eval, cost_only=data.is_synthetic,
                                 split=data.split)
        _write(target, name, traces, cfg.to_dict(), cfg.config_hash(),
               dataset={"name": dataset, "split": data.split, "description": data.description,
                        "is_synthetic": data.is_synthetic, "source": data.source},
               accuracy=manifest_accuracy,
               extra={"checkpoint": ckpt_used, "seed": seed, "calibration": calibration,
                      "accuracy_fields": {k: cfg.to_dict()[k] for k in cfg.accuracy_fields()}})
        timings["trace"] = time.perf_counter() - t
        result.trace_dir = target
        result.trace_bytes = sum(p.stat().st_size for p in target.iterdir() if p.is_file())
        if neurosim_export is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result.neurosim_dir = export_neurosim(target, neurosim_export)
            for item in caught:
                _warn(f"warning: {item.message}")
    timings["total"] = time.perf_counter() - t_start
    if results_dir is not None:
        result.accuracy_file = write_accuracy_report(result, results_dir)
    return result


def write_accuracy_report(result: InferenceResult, folder: str | Path) -> Path:
    """Write ``folder/accuracy.json`` atomically (DESIGN.md §1): network, data set, images,
    float / quantized / hardware accuracy (fractions; null for a cost-only run), config hash,
    timings. The folder must be missing, empty or a results folder of ours."""
    folder = Path(folder)
    check_replaceable(folder, results_folder_is_ours, "results_dir")
    report = {
        "format": ACCURACY_FORMAT,
        "schema_version": ACCURACY_SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "network": result.network,
        "dataset": {"name": result.dataset, "description": result.dataset_description,
                    "is_synthetic": result.is_synthetic},
        "cost_only": result.is_synthetic,
        "images": {"evaluated": result.eval_images, "traced": result.traced_images},
        "calibration": dict(result.calibration),
        "accuracy": dict(result.accuracy),
        "checkpoint": result.checkpoint,
        "seed": result.seed,
        "config_hash": result.config_hash,
        "accuracy_fields": {k: getattr(result.config, k)
                            for k in result.config.accuracy_fields()},
        "trace_dir": str(result.trace_dir) if result.trace_dir else None,
        "timings_s": {k: round(v, 4) for k, v in result.timings_s.items()},
        "warnings": list(result.warnings),
    }
    return write_text_atomic(folder / ACCURACY_FILE, json.dumps(report, indent=2) + "\n")


def _count_sequential_reads(layer: CIMLayer, inputs, output) -> None:
    """Forward hook: sequential-mode layers read the sense amplifiers' codes without calling
    Crossbar.matmul, so their reads are counted here (one input vector per output position)."""
    xb = layer.crossbar
    if layer.mode != "hw" or xb is None or xb.parallel:
        return
    xb.count_reads(int(output.numel()) // max(1, xb.outputs), layer.config.activation_bits,
                   bool(layer.input_signed()))


_COUNTS = ("cells_used", "cells_allocated", "subarrays", "writes", "reads", "adc_conversions",
           "faults", "stuck_hrs", "stuck_lrs")


def layer_statistics(layers: list[CIMLayer]) -> dict[str, Any]:
    """Totals and per-layer counts of the programmed crossbars (Crossbar.statistics).

    ``writes``: cell programming operations (one per cell used, weights are written once);
    ``reads``: array read operations (one row group - or one row in sequential mode - with
    one input plane), counted over every hardware pass of the run (ADC calibration,
    evaluation, trace); ``column_reads``: reads x columns; ``adc_conversions``: the column
    reads an ADC converts (parallel mode; 0 in sequential mode, where sense amplifiers read
    one row at a time: ``sense_amp_reads``); ``utilization``: cells used / cells of the
    subarrays allocated to the layers; ``faults``: stuck-at cells injected.
    """
    per_layer = []
    for layer in layers:
        if layer.crossbar is None:
            continue
        entry = dict(layer.crossbar.statistics(), layer=layer.name)
        entry["column_reads"] = entry["adc_conversions"]
        if not layer.crossbar.parallel:
            entry["adc_conversions"] = 0
        entry["sense_amp_reads"] = entry["column_reads"] - entry["adc_conversions"]
        per_layer.append(entry)
    total = {k: sum(entry[k] for entry in per_layer)
             for k in _COUNTS + ("column_reads", "sense_amp_reads")}
    total["operation_mode"] = (layers[0].config.operation_mode if layers and
                               layers[0].crossbar is not None else None)
    total["utilization"] = (total["cells_used"] / total["cells_allocated"]
                            if total["cells_allocated"] else 0.0)
    total["fault_rate"] = total["faults"] / total["cells_used"] if total["cells_used"] else 0.0
    total["layers"] = per_layer
    return total


def statistics(result: InferenceResult) -> dict[str, Any]:
    """The statistics call after a run: reads and writes, cells used and their utilization,
    faults injected (totals, plus ``layers`` per layer)."""
    return result.statistics


def accuracy_summary(values: list[float]) -> dict[str, Any]:
    """mean, std (sample standard deviation, n - 1; 0 for one value), min, max of accuracies."""
    n = len(values)
    if n == 0:
        raise ValueError("accuracy_summary needs at least one value")
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": std, "min": min(values), "max": max(values),
            "values": list(values)}


def monte_carlo(config: HardwareConfig | dict | None, runs: int, *, seed: int | None = None,
                **run_kwargs) -> dict[str, Any]:
    """Repeat the hardware evaluation with ``runs`` seeds (seed, seed+1, ...): each seed draws
    new device effects (faults, variation, noise). Returns accuracy_summary of the hardware
    accuracy plus ``seeds`` and the shared float / quantized accuracies. No trace is written."""
    runs = _positive_int("monte_carlo", runs)
    seed = defaults()["seed"] if seed is None else seed
    run_kwargs = dict(run_kwargs, write_trace=False)
    seeds, hw, first = list(range(seed, seed + runs)), [], None
    for s in seeds:
        result = run(config, seed=s, **run_kwargs)
        first = first or result
        if result.accuracy["hardware"] is None:
            raise ValueError("--monte-carlo needs labelled data (not a synthetic, cost-only run)")
        hw.append(result.accuracy["hardware"])
    return dict(accuracy_summary(hw), seeds=seeds, float=first.accuracy["float"],
                quantized=first.accuracy["quantized"], eval_images=first.eval_images,
                network=first.network, dataset=first.dataset)


def sweep(config: HardwareConfig, field_name: str, values: list, *, runs: int = 1,
          seed: int | None = None, **run_kwargs) -> list[dict[str, Any]]:
    """Hardware accuracy with ``config.<field_name>`` set to each value (monte_carlo with
    ``runs`` seeds at each point)."""
    cfg = _resolve_config(config)
    return [dict(monte_carlo(cfg.replace(**{field_name: v}), runs, seed=seed, **run_kwargs),
                 value=v) for v in values]


def export_neurosim(trace_dir: Path, out_dir) -> Path:
    """Write NeuroSim-format files for a trace (contracts.neurosim_writer, imported on demand)."""
    try:
        from contracts.neurosim_writer import export_neurosim as _export
    except ImportError as err:
        raise ValueError(f"--neurosim-export needs contracts/neurosim_writer.py, which is not "
                         f"available ({err})") from None
    from contracts.trace import read_trace
    return Path(_export(read_trace(trace_dir), Path(out_dir)))


def _ordered_layers(model: nn.Module, analysis: NetworkAnalysis) -> list[CIMLayer]:
    by_name = {m.name: m for m in model.modules() if isinstance(m, CIMLayer)}
    return [by_name[n] for n in analysis.compute]


def calibrate_activations(model: nn.Module, layers: list[CIMLayer], calib: torch.Tensor,
                          cfg: HardwareConfig, stored: dict | None) -> None:
    """Set every layer's clip value: stored (trained) values first, else observed maxima."""
    for layer in layers:
        layer.config = cfg
        layer.amax, layer.amin, layer.signed = 0.0, 0.0, None
    set_mode(model, "calibrate")
    evaluate(model, calib, None, SOFTWARE_BATCH)
    for layer in layers:
        if stored and layer.name in stored:
            amax, amin = stored[layer.name]
            layer.amax, layer.amin = float(amax), float(amin)
        if layer.amax <= 0 and layer.amin >= 0:
            layer.amax = 1.0                                       # dead input: any grid works
        layer.signed = layer.input_signed()


def hardware_batch(layers: list[CIMLayer]) -> int:
    """Images per hardware batch so one layer's im2col stays under HARDWARE_BATCH_ELEMENTS."""
    worst = 1
    for layer in layers:
        inner = layer.inner
        if layer.kind != "linear":
            kernel = layer.geometry_2d()[0]
            rows = inner.in_channels * kernel[0] * kernel[1]
            worst = max(worst, rows * layer.output_hw[0] * layer.output_hw[1])
        else:
            worst = max(worst, inner.in_features)
    return int(max(1, min(SOFTWARE_BATCH, HARDWARE_BATCH_ELEMENTS // worst)))


def program(model: nn.Module, layers: list[CIMLayer], cfg: HardwareConfig, seed: int,
            calib: torch.Tensor, batch: int) -> None:
    """Program the crossbars; calibrate the ADC ranges when the config asks for it."""
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        layer.program(cfg, generator)
    if cfg.operation_mode == "parallel" and cfg.adc_range == "calibrated":
        set_mode(model, "hw")
        for layer in layers:
            layer.crossbar.observed_max = 0.0
            layer.crossbar.observed_hist = None
            layer.calibrate_adc = True
        evaluate(model, calib[:ADC_CALIBRATION_IMAGES], None, batch)
        for layer in layers:
            layer.calibrate_adc = False
            layer.crossbar.set_adc(cfg.activation_bits, layer.input_signed(),
                                   layer.crossbar.calibrated_range(cfg.activation_bits,
                                                                   layer.input_signed()))
