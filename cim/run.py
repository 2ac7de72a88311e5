"""Step 1 as a function: ``run(config) -> InferenceResult``.

The config: ``config`` (a HardwareConfig or a dict; None: the built-in defaults - only the
command line reads inferenceConfig.py), replaced by ``preset``, then ``overrides``
(contracts.provenance). The trace records the config and these sources, so step 2 prices the
same hardware.

Runs a network over real data three ways - float software, quantized software (integer codes,
exact products) and hardware in the loop (cim.crossbar) - and records the trace of the first
``images`` images for step 2 (contracts.trace, DESIGN.md §3). A cost-only run (synthetic
inputs, or ``no_accuracy=True``) skips all three and records the trace from one quantized
forward of the traced images, no crossbar built (cim.cost_only).

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

Settings with no effect on the accuracy at this config (an ADC resolution, IR drop or ADC
non-idealities in sequential mode, where sense amplifiers read one row at a time and no ADC
converts a multi-row sum; drift parameters of another drift model) are named in one warning
line (:func:`ineffective_settings`, contracts.effects).
"""
from __future__ import annotations

import datetime as _dt
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from contracts.config import HardwareConfig
from contracts.effects import effect_note
from contracts.provenance import step1_config, step1_record
from contracts.results import ACCURACY_FILE, ACCURACY_FORMAT, RESULTS_KIND, results_to_keep
from contracts.staging import check_replaceable, staged_folder
from contracts.user_defaults import default_trace_dir

from . import recorder
from .adc import ADC_CALIBRATION_IMAGES, CALIBRATION_IMAGES
from .convert import analyse, convert, set_mode
from .layers import CIMLayer
from .memory import check_run_memory
from .calibration import (CALIBRATION_SPLIT, META_KEY, STAGE_TITLES, STAGES, Calibration,
                          apply_calibration, calibrate, calibrated_checkpoint_path,
                          calibration_meta, parse_stages)
from .finetune import FineTuneSettings
from .passes import (SOFTWARE_BATCH, calibrate_activations, count_sequential_reads, evaluate,
                     hardware_batch, layer_statistics, ordered_layers, per_image_counts,
                     program, read_counts)

__all__ = ["InferenceResult", "run", "programmed_statistics", "statistics",
           "ineffective_settings", "write_accuracy_report", "export_neurosim",
           "DEFAULT_NETWORK"]

#: the network of run() when none is named (the command line's default is inferenceConfig.py's)
DEFAULT_NETWORK = "lenet5"
#: schema of results/<NET>/accuracy.json
ACCURACY_SCHEMA_VERSION = 1
def ineffective_settings(cfg: HardwareConfig) -> str | None:
    """One warning line for the fields set away from the defaults that have no effect on the
    hardware accuracy at ``cfg`` (contracts.effects), or None."""
    default = HardwareConfig()
    changed = [name for name in cfg.to_dict() if getattr(cfg, name) != getattr(default, name)]
    return effect_note(cfg, "accuracy", changed)


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
    #: hardware counts of the run (see :func:`cim.passes.layer_statistics`)
    statistics: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    #: where the ADC / activation ranges were calibrated: split and image count
    calibration: dict[str, Any] = field(default_factory=dict)
    accuracy_file: Path | None = None
    #: where the config came from (contracts.provenance.step1_record)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: the calibration pipeline's stages, their accuracy table and checkpoint (cim.calibration;
    #: empty when no stage ran)
    calibration_pipeline: dict[str, Any] = field(default_factory=dict)
    #: no accuracy measured: synthetic inputs or no_accuracy (the trace is the quantized
    #: software's, cim.cost_only)
    cost_only: bool = False

    @property
    def preset(self) -> str | None:
        return self.provenance.get("preset")

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network, "dataset": self.dataset,
            "dataset_description": self.dataset_description, "is_synthetic": self.is_synthetic,
            "cost_only": self.cost_only, "accuracy": dict(self.accuracy),
            "eval_images": self.eval_images, "traced_images": self.traced_images,
            "trace_dir": str(self.trace_dir) if self.trace_dir else None,
            "trace_bytes": self.trace_bytes, "checkpoint": self.checkpoint,
            "config": self.config.to_dict(), "config_hash": self.config_hash,
            "preset": self.preset, "provenance": dict(self.provenance),
            "layers": self.layers, "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "neurosim_dir": str(self.neurosim_dir) if self.neurosim_dir else None,
            "statistics": self.statistics, "seed": self.seed,
            "calibration": dict(self.calibration),
            "accuracy_file": str(self.accuracy_file) if self.accuracy_file else None,
            "calibration_pipeline": dict(self.calibration_pipeline),
        }


def statistics(result: InferenceResult) -> dict[str, Any]:
    """The statistics call after a run: reads and writes, cells used and their utilization,
    faults injected (totals, plus ``layers`` per layer)."""
    return result.statistics


def _positive_int(name: str, value, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is invalid; use a positive integer")
    return value


def _resolve_config(config, preset: str | None, overrides) -> HardwareConfig:
    if isinstance(config, dict):
        config = HardwareConfig.from_dict(config)
    if config is not None and not isinstance(config, HardwareConfig):
        raise ValueError(f"config={type(config).__name__} is invalid; pass a HardwareConfig, a "
                         f"dict of its fields, or None for the built-in defaults")
    return step1_config(config, preset, overrides)


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


def _network_source(network, dataset, input_shape):
    """(registry spec or None, network name or module, short name, data set, input shape)
    of a model argument (cim.model_sources), a resolved ModelSource or a module."""
    import models

    from .model_sources import ModelSource, parse_input_shape, resolve_model
    if isinstance(network, str):
        network = resolve_model(network, input_shape)         # ValueError lists known names
    name = None
    if isinstance(network, ModelSource):
        name, source = network.name, network
        network = source.name if source.module is None else source.module
        if source.module is not None:
            input_shape = source.input_shape or input_shape
            dataset = dataset or source.default_dataset
    if isinstance(network, str):
        spec = models.get_spec(network)
        return spec, network, network, dataset or spec.default_dataset, \
            tuple(spec.input_shape)
    if not isinstance(network, nn.Module):
        raise ValueError(f"network={network!r} is invalid; pass a name from models.names(), a "
                         f"model file (file.py:factory, .onnx, .tflite) or an nn.Module")
    from .huggingface import from_huggingface, is_huggingface
    if is_huggingface(network):         # rebuilt in explicit form, its weights copied in
        name = name or _network_name(network)
        network, default_shape = from_huggingface(network)
        input_shape = input_shape or default_shape
    if dataset is None:
        raise ValueError("a user network needs dataset= (a data set name or file, or "
                         "'synthetic' with input_shape=)")
    return None, network, name or _network_name(network), dataset, parse_input_shape(input_shape)


@dataclass
class _Request:
    """run()'s arguments, checked and completed, before any work."""

    cfg: HardwareConfig
    provenance: dict[str, Any]
    network: str | nn.Module
    name: str
    spec: Any
    dataset: str
    data_root: Any
    shape: tuple | None
    seed: int
    images: int
    eval_images: int | None
    trace_dir: Path | None              # None: no trace written
    neurosim_export: Path | None
    results_dir: Path | None
    stages: tuple[str, ...] = ()        # calibration stages (cim.calibration)
    calibration_images: int = CALIBRATION_SPLIT
    finetune: FineTuneSettings = FineTuneSettings()
    calibrated_checkpoint: Path | None = None
    calibration_split: tuple | None = None     # (images, labels), loaded with the data


def _calibration_request(req: _Request, calibrate, calibration_images, finetune,
                         calibrated_checkpoint, source=None) -> _Request:
    """The calibration arguments of run(), checked (the checkpoint target before any work;
    ``source``: the checkpoint given to calibrate, never the one written)."""
    req.stages = parse_stages(calibrate)
    extra = {"calibration_images": calibration_images, "finetune": finetune,
             "calibrated_checkpoint": calibrated_checkpoint}
    if not req.stages:
        given = [k for k, v in extra.items() if v is not None]
        if given:
            raise ValueError(f"{given[0]}= applies only with calibrate= (stages: 'all' or "
                             f"{', '.join(STAGES)})")
        return req
    req.calibration_images = _positive_int("calibration_images", calibration_images or
                                           CALIBRATION_SPLIT)
    if isinstance(finetune, dict):
        finetune = FineTuneSettings(**finetune)
    if finetune is not None and not isinstance(finetune, FineTuneSettings):
        raise ValueError(f"finetune={finetune!r} is invalid; pass a dict of "
                         f"cim.finetune.FineTuneSettings fields")
    if finetune is not None and "finetune" not in req.stages:
        raise ValueError("finetune= applies only when the 'finetune' stage runs")
    req.finetune = finetune or FineTuneSettings()
    from models import checkpoints
    target = checkpoints.check_training_target(
        calibrated_checkpoint or calibrated_checkpoint_path(req.name, req.dataset, req.cfg,
                                                            req.seed, source))
    if source is not None and target.resolve() == Path(source).expanduser().resolve():
        raise ValueError(f"calibrated_checkpoint={str(target)!r} is the checkpoint being "
                         f"calibrated; the calibrated network must go to another file")
    req.calibrated_checkpoint = target
    return req


def _request(config, preset, overrides, network, dataset, data_root, images, eval_images, seed,
             trace_dir, write_trace, input_shape, neurosim_export, results_dir) -> _Request:
    """Check every argument and every output folder (a folder we may not replace fails here,
    before any work)."""
    cfg = _resolve_config(config, preset, overrides)
    network = DEFAULT_NETWORK if network is None else network
    seed = 0 if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; use a non-negative integer")
    images = _positive_int("images", 1 if images is None else images)
    eval_images = _positive_int("eval_images", eval_images, allow_none=True)
    spec, network, name, dataset, shape = _network_source(network, dataset, input_shape)
    target = None
    if write_trace:
        from contracts.neurosim_writer import NEUROSIM_EXPORT_KIND
        from contracts.trace import TRACE_KIND
        target = Path(trace_dir) if trace_dir is not None else Path(default_trace_dir(name))
        check_replaceable(target, TRACE_KIND, "trace_dir")
        if neurosim_export is not None:
            check_replaceable(Path(neurosim_export), NEUROSIM_EXPORT_KIND, "neurosim_export")
    if results_dir is not None:
        check_replaceable(Path(results_dir), RESULTS_KIND, "results_dir")
    return _Request(cfg, step1_record(config if not isinstance(config, dict) else
                                      HardwareConfig.from_dict(config), preset, overrides),
                    network, name, spec, dataset, data_root, shape, seed, images, eval_images,
                    target, Path(neurosim_export) if neurosim_export is not None else None,
                    Path(results_dir) if results_dir is not None else None)


def _data(req: _Request):
    """(data, scored images, their labels, calibration images, calibration record)."""
    synthetic_count = max(req.images, req.eval_images or req.images)
    data = _load_data(req.dataset, req.data_root, req.shape, synthetic_count, req.seed)
    if req.shape is not None and tuple(data.images.shape[1:]) != tuple(req.shape):
        raise ValueError(f"dataset={req.dataset!r} has images "
                         f"{'x'.join(map(str, data.images.shape[1:]))} but network={req.name!r} "
                         f"expects {'x'.join(map(str, req.shape))}")
    total = len(data)
    n_eval = total if req.eval_images is None else req.eval_images
    if n_eval > total:
        raise ValueError(f"eval_images={n_eval} exceeds the {total} images of dataset="
                         f"{req.dataset!r} ({data.split} split)")
    if req.images > total:
        raise ValueError(f"images={req.images} exceeds the {total} images of dataset="
                         f"{req.dataset!r}")
    y_eval = None if data.labels is None else data.labels[:n_eval]
    calib, calibration = _calibration_images(req.dataset, req.data_root, data)
    return data, data.images[:n_eval], y_eval, calib, calibration


def _load_weights(model: nn.Module, path: Path) -> dict:
    from models import checkpoints
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    return checkpoints.load_checkpoint(model, path)


def _model(req: _Request, data, checkpoint, warn) -> tuple[nn.Module, dict, str | None]:
    """(model in eval mode, checkpoint meta, checkpoint used): the given checkpoint, else the
    shipped one of the network on this data set, else a seeded init with a warning."""
    import models
    from models import checkpoints
    from models.user_data import is_user_data
    path = Path(checkpoint) if checkpoint is not None else None
    if req.spec is None:
        model = req.network
    else:
        own_data = is_user_data(req.dataset)
        num_classes = data.num_classes or req.spec.num_classes
        if own_data and num_classes <= req.spec.num_classes:
            num_classes = req.spec.num_classes     # user data with fewer classes: same outputs
        model = models.build(req.network, num_classes=num_classes, seed=req.seed)
        if path is None:
            # synthetic or the user's own data: the network's own shipped checkpoint
            data_name = req.spec.default_dataset if data.is_synthetic or own_data \
                else req.dataset
            shipped = checkpoints.default_checkpoint_path(req.network, data_name)
            path = shipped if shipped.is_file() else None
        if path is None and data.is_synthetic:
            # cost only: random weights give realistic bit statistics, training cannot help
            warn(f"note: no trained checkpoint for {req.network}; the cost-only run uses a "
                 f"seeded random init (seed {req.seed}) - pass --checkpoint for trained weights")
        elif path is None:
            warn(f"warning: no trained checkpoint for {req.network} on {req.dataset}; using a "
                 f"seeded random init (seed {req.seed}) - accuracy is meaningless (train with "
                 f"--train or pass --checkpoint)")
    meta = _load_weights(model, path) if path is not None else {}
    return model.eval(), meta, str(path) if path is not None else None


def _check_outputs(model: nn.Module, req: _Request, data, y_eval) -> None:
    """The network runs on the data's inputs and has an output for every label."""
    try:
        with torch.no_grad():
            outputs = model(data.images[:1]).shape[-1]
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        shape_text = "x".join(map(str, data.images.shape[1:]))
        raise ValueError(f"network={req.name!r} cannot run on dataset={req.dataset!r}'s inputs "
                         f"{shape_text}: {type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if y_eval is not None and int(y_eval.max()) >= outputs:
        raise ValueError(f"network={req.name!r} has {outputs} outputs but dataset="
                         f"{req.dataset!r} has labels up to {int(y_eval.max())}")


def _cim_layers(model: nn.Module, warn, inplace: bool = False):
    """(CIM model, its compute layers in order, analysis); unsupported layers raise.
    ``inplace``: convert ``model`` itself (one built here for this run)."""
    with warnings.catch_warnings(record=True) as caught:     # one line each, not a traceback
        warnings.simplefilter("always")
        analysis = analyse(model)                            # UnsupportedLayerError
    for item in caught:
        warn(f"warning: {item.message}")
    cim_model, analysis = convert(model, analysis, inplace=inplace)
    return cim_model, ordered_layers(cim_model, analysis), analysis


def _passes(req: _Request, cim_model, layers, data, x_eval, y_eval, calib, meta, progress,
            warn, log, timings):
    """Float, quantized and hardware accuracy, with the calibration stages asked for between
    programming and the hardware pass; the hardware pass records the trace images.
    Returns (accuracy, statistics, calibration or None, its table)."""
    announce = warn if progress else None
    t = time.perf_counter()
    calibrate_activations(cim_model, layers, calib, req.cfg, meta.get("activation_clip"))
    _check_signed_inputs(layers, req.cfg)     # a precision that cannot hold the inputs fails now
    for layer in layers:             # imported codes fit the configured precisions as they are
        if layer.fixed is not None:
            layer.fixed.check(req.cfg, layer.name)
    apply_calibration(layers, meta, req.cfg, req.seed, warn)   # a calibrated checkpoint
    timings["calibrate"] = time.perf_counter() - t
    acc_float = _timed(timings, "float", lambda: _accuracy(cim_model, "float", x_eval, y_eval,
                                                          SOFTWARE_BATCH, progress))
    t = time.perf_counter()
    check_run_memory(layers, req.cfg)
    hw_batch = hardware_batch(layers)
    program(cim_model, layers, req.cfg, req.seed, calib, hw_batch)
    timings["calibrate"] += time.perf_counter() - t
    acc_quant = _timed(timings, "quantized", lambda: _accuracy(
        cim_model, "quant", x_eval, y_eval, SOFTWARE_BATCH, progress))
    cal, table = None, []
    if req.stages:
        t = time.perf_counter()
        cal, table = _calibration_pipeline(req, cim_model, layers, x_eval, y_eval, calib,
                                           hw_batch, log)
        timings["calibration_pipeline"] = time.perf_counter() - t
        acc_float = _accuracy(cim_model, "float", x_eval, y_eval, SOFTWARE_BATCH)
        acc_quant = _accuracy(cim_model, "quant", x_eval, y_eval, SOFTWARE_BATCH)
    acc_hw, per_image = _hardware_pass(req, cim_model, layers, data, x_eval, y_eval, hw_batch,
                                       progress, announce, timings)
    if table:
        table[-1]["hardware"] = acc_hw               # the last stage's is the reported run
    accuracy = {"float": acc_float, "quantized": acc_quant, "hardware": acc_hw}
    if data.is_synthetic:
        accuracy = {k: None for k in accuracy}
    return accuracy, dict(layer_statistics(layers), per_image=per_image), cal, table


def _hardware_pass(req: _Request, cim_model, layers, data, x_eval, y_eval, hw_batch, progress,
                   announce, timings) -> tuple[float | None, dict[str, float]]:
    """The scored hardware pass (it records the trace images); returns its accuracy and the
    counts of one inference (cim.passes.per_image_counts: this pass's reads / images)."""
    t = time.perf_counter()
    set_mode(cim_model, "hw")
    counters = [layer.register_forward_hook(count_sequential_reads) for layer in layers]
    record_now = req.images <= len(x_eval)
    if record_now:
        recorder.start_recording(layers, req.images)
    before = read_counts(layers)
    acc_hw = evaluate(cim_model, x_eval, y_eval, hw_batch, "hardware", progress, announce)
    per_image = per_image_counts(before, read_counts(layers), len(x_eval))
    timings["hardware"] = time.perf_counter() - t
    if not record_now:
        recorder.start_recording(layers, req.images)
        evaluate(cim_model, data.images[:req.images], None, hw_batch)
    recorder.stop_recording(layers)
    for handle in counters:
        handle.remove()
    return acc_hw, per_image


def _timed(timings: dict, key: str, work: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    out = work()
    timings[key] = time.perf_counter() - t
    return out


def _accuracy(model, mode: str, x, y, batch: int, progress: bool = False) -> float | None:
    set_mode(model, mode)
    return evaluate(model, x, y, batch, {"quant": "quantized"}.get(mode, mode), progress)


def _calibration_split(req: _Request, data) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``calibration_images`` train images and labels (never a scored image)."""
    from models import datasets
    from models.user_data import MissingSplitError
    if data.is_synthetic or data.labels is None:
        raise ValueError(f"calibrate={','.join(req.stages)!r} needs labelled data; "
                         f"dataset={req.dataset!r} has none")
    try:
        train = datasets.load_dataset(req.dataset, "train", root=req.data_root,
                                      limit=req.calibration_images)
    except MissingSplitError:
        raise ValueError(f"calibrate: dataset={req.dataset!r} has no train split; the "
                         f"calibration pipeline runs on train images only, never on scored "
                         f"ones") from None
    if train.labels is None:
        raise ValueError(f"calibrate: the train split of dataset={req.dataset!r} has no labels")
    return train.images, train.labels


def _calibration_pipeline(req: _Request, cim_model, layers, x_eval, y_eval, calib, batch,
                          log) -> tuple[Calibration, list[dict[str, Any]]]:
    """Run the stages asked for; each one's hardware accuracy on the scored images is
    measured for the report only (the last one by the recorded hardware pass)."""
    images, labels = req.calibration_split
    cal = Calibration(cim_model, layers, req.cfg, req.seed, calib, images, labels, batch,
                      log=log or (lambda text: None))

    def measure(stage: str) -> float | None:
        if stage == req.stages[-1]:
            return None
        return _accuracy(cim_model, "hw", x_eval, y_eval, batch)

    start = {"stage": "programmed", "title": STAGE_TITLES["programmed"], "done": "",
             "hardware": _accuracy(cim_model, "hw", x_eval, y_eval, batch), "seconds": 0.0}
    return cal, [start] + calibrate(cal, req.stages, measure, req.finetune)


def _save_calibrated(req: _Request, model: nn.Module, cal: Calibration, table, meta: dict,
                     checkpoint: str | None) -> Path:
    """Write the calibrated network (its own layout, so the usual loaders read it) and the
    calibration results to the user's checkpoint folder (models.checkpoints)."""
    from models import checkpoints

    from .train import plain_state_dict
    path = checkpoints.check_training_target(
        req.calibrated_checkpoint or calibrated_checkpoint_path(req.name, req.dataset,
                                                                req.cfg, req.seed))
    model.load_state_dict(plain_state_dict(cal.model), strict=True)
    clips = {layer.name: [float(layer.amax), float(layer.amin)] for layer in cal.layers}
    new_meta = dict({k: v for k, v in meta.items() if k != META_KEY},
                    activation_clip=clips, calibrated_from=checkpoint,
                    **{META_KEY: calibration_meta(cal, req.stages, table)})
    checkpoints.save_checkpoint(model, path, new_meta)
    return path


def _write_trace(req: _Request, result: InferenceResult, traces, data, warn) -> None:
    from contracts.trace import write_trace
    t = time.perf_counter()
    cfg = req.cfg
    manifest_accuracy = dict(result.accuracy, eval_images=result.eval_images,
                             cost_only=result.cost_only, split=data.split)
    write_trace(req.trace_dir, req.name, traces, cfg.to_dict(), cfg.config_hash(),
                dataset={"name": req.dataset, "split": data.split,
                         "description": data.description, "is_synthetic": data.is_synthetic,
                         "source": data.source},
                accuracy=manifest_accuracy,
                extra={"checkpoint": result.checkpoint, "seed": req.seed,
                       "calibration": result.calibration, "provenance": req.provenance,
                       "accuracy_fields": {k: getattr(cfg, k) for k in cfg.accuracy_fields()}})
    result.timings_s["trace"] = time.perf_counter() - t
    result.trace_dir = req.trace_dir
    result.trace_bytes = sum(p.stat().st_size for p in req.trace_dir.iterdir() if p.is_file())
    if req.neurosim_export is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result.neurosim_dir = export_neurosim(req.trace_dir, req.neurosim_export)
        for item in caught:
            warn(f"warning: {item.message}")


def run(config: HardwareConfig | dict | None = None, *, preset: str | None = None,
        overrides: Sequence[str] | Mapping[str, Any] | None = None,
        network: str | nn.Module | None = None, dataset: str | None = None,
        data_root: str | Path | None = None, checkpoint: str | Path | None = None,
        images: int | None = None, eval_images: int | None = None, seed: int | None = None,
        trace_dir: str | Path | None = None, write_trace: bool = True,
        input_shape: tuple[int, int, int] | None = None, progress: bool = False,
        neurosim_export: str | Path | None = None,
        warn: Callable[[str], None] | None = None,
        results_dir: str | Path | None = None, no_accuracy: bool = False,
        calibrate: str | Sequence[str] | None = None, calibration_images: int | None = None,
        finetune: FineTuneSettings | dict | None = None,
        calibrated_checkpoint: str | Path | None = None,
        log: Callable[[str], None] | None = None) -> InferenceResult:
    """Step 1: accuracy three ways and the trace (see module docstring).

    Args:
        config: hardware (a HardwareConfig or a dict of its fields; None: built-in defaults).
        preset: a named config (contracts.presets) that replaces ``config``.
        overrides: field changes on top (``["adc_bits=4"]`` or ``{"adc_bits": 4}``).
        network: a model argument (cim.model_sources: a registered name, case-insensitive;
            ``file.py:factory``; ``model.onnx``; ``model.tflite``), a resolved ModelSource,
            or any nn.Module built from supported layers (None: DEFAULT_NETWORK).
        dataset: data set name (None: the network's default data set); ``synthetic`` gives a
            cost-only run.
        data_root: folder of MNIST IDX / CIFAR-10 files.
        checkpoint: weights to load (None: the shipped checkpoint if there is one, else a
            seeded init with a warning).
        images: images traced (default 1).
        eval_images: images scored (default: the whole test split; synthetic: ``images``).
        seed: seed of initialisation, synthetic data and device randomness (default 0).
        trace_dir: where the trace goes (default layer_record_<NET>); ``write_trace=False``
            skips writing it.
        input_shape: (C, H, W) (or (C, L), (F,)) of a user network, for synthetic data.
        progress: tqdm bars on stderr, and a note on the duration of a long hardware pass.
        neurosim_export: also write NeuroSim-format files there (contracts.neurosim_writer).
        warn: called with each warning or note line (default: ignored; they are in the result).
        results_dir: also write the accuracy report ``accuracy.json`` into this folder
            (the command line passes results/<net>; default: not written).
        no_accuracy: cost only: measure no accuracy, write the trace from one quantized
            forward of the traced images (cim.cost_only; always so for synthetic data).
        calibrate: calibration stages to run between programming and the hardware pass
            (cim.calibration: 'all', or a comma-separated string / list of 'targets', 'bias',
            'scaling', 'finetune'); the calibrated network is saved as a checkpoint
            (``calibrated_checkpoint``, default: the user's checkpoint folder) and its trace
            is the one written.
        calibration_images: train images in the calibration split (default 2048, fewer
            when the split is smaller).
        finetune: the fine-tuning recipe (cim.finetune.FineTuneSettings or a dict of its
            fields: steps, lr, batch, temperature, kd_weight, validation_images,
            validate_every).
        calibrated_checkpoint: where the calibrated checkpoint goes.
        log: called with each progress line of the calibration stages (default: silent).

    Existing output folders (trace_dir, neurosim_export, results_dir) are rewritten only when
    empty or written by this tool (the user's own files in them are kept); otherwise
    contracts.staging.FolderNotOursError (a ValueError) before any work.

    Raises:
        ValueError (and subclasses: ConfigError, UnsupportedLayerError, TraceError): bad input.
    """
    if no_accuracy and parse_stages(calibrate):
        raise ValueError("calibrate= does not apply with no_accuracy=True (the calibration "
                         "stages measure accuracy)")
    s = _start(config, preset, overrides, network, dataset, data_root, checkpoint, images,
               eval_images, seed, trace_dir, write_trace, input_shape, neurosim_export,
               results_dir, warn, (calibrate, calibration_images, finetune,
                                   calibrated_checkpoint))
    req, timings = s.req, s.timings
    cost_only = bool(no_accuracy) or s.data.is_synthetic
    cal, table = None, []
    if cost_only:
        from .cost_only import trace_pass
        accuracy, stats = trace_pass(s.cim_model, s.layers, s.calib,
                                     s.data.images[:req.images], req.cfg,
                                     s.meta.get("activation_clip"), timings)
    else:
        accuracy, stats, cal, table = _passes(req, s.cim_model, s.layers, s.data, s.x_eval,
                                              s.y_eval, s.calib, s.meta, progress, s.warn,
                                              log, timings)
    pipeline = {} if cal is None else _pipeline_record(req, s, cal, table)
    traces = recorder.collect(s.layers, s.analysis)
    result = _result(s, accuracy, stats, traces, cost_only, no_accuracy, pipeline)
    if req.trace_dir is not None:
        _write_trace(req, result, traces, s.data, s.warn)
    timings["total"] = time.perf_counter() - s.t_start
    if req.results_dir is not None:
        result.accuracy_file = write_accuracy_report(result, req.results_dir, s.warn)
    return result


def _pipeline_record(req: _Request, s, cal: Calibration, table) -> dict[str, Any]:
    """Save the calibrated checkpoint; what the result records of the calibration."""
    path = _save_calibrated(req, s.model, cal, table, s.meta, s.checkpoint)
    return {"stages": list(req.stages), "calibration_images": len(cal.images),
            "split": "train", "table": table, "checkpoint": str(path),
            "scaling": cal.scaling, "folded_batchnorm": cal.folded, "finetune": cal.finetune}


def _result(s, accuracy, stats, traces, cost_only: bool, no_accuracy: bool,
            pipeline: dict[str, Any]) -> InferenceResult:
    req = s.req
    return InferenceResult(
        network=req.name, dataset=req.dataset, dataset_description=s.data.description,
        is_synthetic=s.data.is_synthetic, config=req.cfg, config_hash=req.cfg.config_hash(),
        accuracy=accuracy, eval_images=len(s.x_eval) if not no_accuracy else 0,
        traced_images=req.images, trace_dir=None, cost_only=cost_only, trace_bytes=0,
        checkpoint=s.checkpoint, warnings=s.warnings, timings_s=s.timings,
        layers=[dict(tr.geometry.to_json(), rows=tr.geometry.rows, macs=tr.geometry.macs)
                for tr in traces], statistics=stats, seed=req.seed,
        calibration=s.calibration, provenance=req.provenance,
        calibration_pipeline=pipeline)


@dataclass
class _Session:
    """What run() has checked and loaded before the passes (shared with
    :func:`programmed_statistics`)."""

    req: _Request
    data: Any
    x_eval: torch.Tensor
    y_eval: torch.Tensor | None
    calib: torch.Tensor
    calibration: dict[str, Any]
    model: nn.Module
    meta: dict
    checkpoint: str | None
    cim_model: nn.Module
    layers: list[CIMLayer]
    analysis: Any
    warn: Callable[[str], None]
    warnings: list[str]
    timings: dict[str, float]
    t_start: float


def _start(config, preset, overrides, network, dataset, data_root, checkpoint, images,
           eval_images, seed, trace_dir, write_trace, input_shape, neurosim_export,
           results_dir, warn, calibration_args=(None, None, None, None)) -> _Session:
    """Check every argument, load data and network, convert it (the order of the module
    docstring)."""
    t_start = time.perf_counter()
    warnings_out: list[str] = []

    def _warn(text: str) -> None:
        warnings_out.append(text)
        if warn:
            warn(text)

    req = _request(config, preset, overrides, network, dataset, data_root, images, eval_images,
                   seed, trace_dir, write_trace, input_shape, neurosim_export, results_dir)
    req = _calibration_request(req, *calibration_args, source=checkpoint)
    note = ineffective_settings(req.cfg)
    if note:
        _warn(note)
    data, x_eval, y_eval, calib, calibration = _data(req)
    if "warning" in calibration:
        _warn(calibration["warning"])
    if req.stages:
        req.calibration_split = _calibration_split(req, data)
    model, meta, ckpt_used = _model(req, data, checkpoint, _warn)
    _check_outputs(model, req, data, y_eval)
    # a registered network is built afresh for this run: converted in place, no copy (a
    # calibration keeps the plain model: its checkpoint is written in that layout)
    cim_model, layers, analysis = _cim_layers(model, _warn,
                                              inplace=req.spec is not None and not req.stages)
    if req.stages and any(layer.kind == "dynamic_matmul" for layer in layers):
        raise ValueError("calibrate does not apply to a network with attention products "
                         "(dynamic_matmul layers) yet: its stages fit weight arrays only")
    if "finetune" in req.stages and any(layer.fixed is not None for layer in layers):
        raise ValueError("calibrate stage 'finetune' does not apply to an imported integer "
                         "model (.tflite): its weight codes are used as they are")
    return _Session(req, data, x_eval, y_eval, calib, calibration, model, meta, ckpt_used,
                    cim_model, layers, analysis, _warn, warnings_out,
                    {"setup": time.perf_counter() - t_start}, t_start)


def programmed_statistics(config: HardwareConfig | dict | None = None, *,
                          preset: str | None = None,
                          overrides: Sequence[str] | Mapping[str, Any] | None = None,
                          network: str | nn.Module | None = None, dataset: str | None = None,
                          data_root: str | Path | None = None,
                          checkpoint: str | Path | None = None, seed: int | None = None,
                          input_shape: tuple | None = None,
                          warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Program the chip as :func:`run` would (same arguments, same seed: the same faults and
    device draws) and return its counts (cells, subarrays, faults; cim.passes.layer_statistics)
    without scoring or tracing anything."""
    s = _start(config, preset, overrides, network, dataset, data_root, checkpoint, 1, 1, seed,
               None, False, input_shape, None, None, warn)
    calibrate_activations(s.cim_model, s.layers, s.calib, s.req.cfg,
                          s.meta.get("activation_clip"))
    apply_calibration(s.layers, s.meta, s.req.cfg, s.req.seed, s.warn)
    program(s.cim_model, s.layers, s.req.cfg, s.req.seed, s.calib, hardware_batch(s.layers))
    return layer_statistics(s.layers)


def write_accuracy_report(result: InferenceResult, folder: str | Path,
                          warn: Callable[[str], None] | None = None) -> Path:
    """Write ``folder/accuracy.json`` (DESIGN.md §1): network, data set, images, float /
    quantized / hardware accuracy (fractions; null for a cost-only run), config hash, preset,
    trace, timings. The folder is rewritten as a whole (contracts.results): step 2's results
    are kept only when they priced this same trace config; the user's own files are kept."""
    folder = Path(folder)
    report = {
        "format": ACCURACY_FORMAT,
        "schema_version": ACCURACY_SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "network": result.network,
        "dataset": {"name": result.dataset, "description": result.dataset_description,
                    "is_synthetic": result.is_synthetic},
        "cost_only": result.cost_only,
        "images": {"evaluated": result.eval_images, "traced": result.traced_images},
        "calibration": dict(result.calibration),
        "accuracy": dict(result.accuracy),
        "checkpoint": result.checkpoint,
        "seed": result.seed,
        "config_hash": result.config_hash,
        "preset": result.preset,
        "accuracy_fields": {k: getattr(result.config, k)
                            for k in result.config.accuracy_fields()},
        "trace_dir": str(result.trace_dir) if result.trace_dir else None,
        "timings_s": {k: round(v, 4) for k, v in result.timings_s.items()},
        "warnings": list(result.warnings),
    }
    if result.calibration_pipeline:
        report["calibration_pipeline"] = result.calibration_pipeline
    keep, dropped = results_to_keep(folder, 1, result.config_hash)
    if dropped and warn:
        warn(f"note: {dropped}")
    with staged_folder(folder, RESULTS_KIND, what="results_dir", keep=keep) as staging:
        (staging / ACCURACY_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return folder / ACCURACY_FILE


def export_neurosim(trace_dir: Path, out_dir) -> Path:
    """Write NeuroSim-format files for a trace (contracts.neurosim_writer)."""
    from contracts.neurosim_writer import export_neurosim as _export
    from contracts.trace import read_trace
    return Path(_export(read_trace(trace_dir), Path(out_dir)))
