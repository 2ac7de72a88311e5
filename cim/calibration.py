"""The calibration pipeline: winning back the accuracy the hardware loses (step 1).

Four stages, each a switch (``cim.run.run(calibrate=...)``, ``--calibrate all`` or a
comma-separated list on the command line), run in this order on the programmed chip, on the
**calibration split** only (the first ``calibration_images`` images of the data set's train
split; never a scored image):

1. ``targets`` - pre-activation targets: the float network's output of every compute layer
   before its activation, and a per-output-channel gain that makes the hardware's reading
   match them (cim.calibration_fit);
2. ``bias`` - BatchNorm folded into the weights, then a least-squares re-fit of each output
   channel's bias against the hardware's actual outputs (cim.calibration_fit);
3. ``scaling`` - activation-aware per-layer weight and ADC scaling: weight clip, ADC range
   factor and the offset code's off-state removal, chosen per layer on the calibration
   images (cim.calibration_scaling);
4. ``finetune`` - hardware-aware fine-tuning: device effects, ADC and faults in the forward
   pass, straight-through gradients (cim.finetune).

Each stage leaves the chip programmed with the model as it stands; a stage that changes the
arrays (``bias`` folding, ``scaling``) fits the corrections of the stages in use again. The
calibration is that of one chip: the seed fixes the faults and device draws, and the weights
are programmed again onto the same cells. :func:`calibration_meta` records the per-layer
results in the checkpoint written afterwards (the network's own layout, so ``--checkpoint``
and ``run(checkpoint=...)`` load it), and :func:`apply_calibration` puts them back when a
later run loads it.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from contracts.config import HardwareConfig

from .calibration_fit import batchnorm_pairs, capture, fit_corrections, fold_batchnorm
from .calibration_scaling import scale_layers
from .finetune import FineTuneSettings, finetune
from .layers import CIMLayer
from .passes import program

__all__ = ["STAGES", "STAGE_TITLES", "CALIBRATION_SPLIT", "FIT_IMAGES", "parse_stages",
           "Calibration", "calibrate", "calibration_meta", "apply_calibration",
           "calibrated_checkpoint_path", "META_KEY"]

STAGES = ("targets", "bias", "scaling", "finetune")
STAGE_TITLES = {
    "programmed": "programmed, no calibration",
    "targets": "pre-activation targets, per-channel gain",
    "bias": "BatchNorm folded, least-squares bias",
    "scaling": "per-layer weight / ADC scaling",
    "finetune": "hardware-aware fine-tuning",
}
#: train images in the calibration split (fewer when the train split is smaller)
CALIBRATION_SPLIT = 2048
#: calibration images the least-squares fits and the scaling stage read
FIT_IMAGES = 256
#: checkpoint meta key of the calibration results
META_KEY = "cim_calibration"


def parse_stages(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Stages asked for, in pipeline order: None or "" -> none; "all" -> every stage; a
    comma-separated string or a list of names."""
    if value is None:
        return ()
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    if names == ["all"]:
        return STAGES
    unknown = [n for n in names if n not in STAGES]
    allowed = f"choose 'all' or a comma-separated list of: {', '.join(STAGES)}"
    if unknown:
        raise ValueError(f"calibrate={value!r}: unknown stage {unknown[0]!r}; {allowed}")
    if not names and isinstance(value, str) and value.strip():
        raise ValueError(f"calibrate={value!r} names no stage; {allowed}")
    return tuple(s for s in STAGES if s in names)


@dataclass
class Calibration:
    """A converted model on its programmed chip, and the calibration split."""

    model: nn.Module
    layers: list[CIMLayer]
    config: HardwareConfig
    seed: int
    adc_images: torch.Tensor          # step 1's calibration images (ADC and clip ranges)
    images: torch.Tensor              # the calibration split (train images)
    labels: torch.Tensor | None
    batch: int                        # images per hardware batch
    log: Callable[[str], None] = lambda text: None
    targets: dict[str, torch.Tensor] = field(default_factory=dict)
    folded: list[str] = field(default_factory=list)
    scaling: list[dict[str, Any]] = field(default_factory=list)
    finetune: dict[str, Any] = field(default_factory=dict)

    @property
    def fit_images(self) -> torch.Tensor:
        return self.images[:FIT_IMAGES]

    def reprogram(self) -> None:
        """Program the model as it stands onto the same chip (cim.passes.program)."""
        program(self.model, self.layers, self.config, self.seed, self.adc_images, self.batch)

    def capture_targets(self) -> None:
        self.targets = capture(self.model, self.layers, "float", self.fit_images, self.batch)

    def fit(self, stages: Sequence[str]) -> None:
        """Fit the corrections of the stages in use (none: remove them)."""
        gain, bias = "targets" in stages, "bias" in stages
        if not (gain or bias):
            for layer in self.layers:
                layer.hw_gain = layer.hw_bias = None
            return
        fit_corrections(self.model, self.layers, self.fit_images, self.targets, self.batch,
                        gain, bias, self.log)


def _stage_targets(cal: Calibration, stages: Sequence[str]) -> str:
    cal.fit(stages[:stages.index("targets") + 1])
    return "per-channel gain fitted against the float pre-activations"


def _stage_bias(cal: Calibration, stages: Sequence[str]) -> str:
    pairs = batchnorm_pairs(cal.model, [layer.name for layer in cal.layers])
    cal.folded = fold_batchnorm(cal.model, pairs)
    if cal.folded:
        cal.reprogram()
        cal.capture_targets()            # the same function, the folded layers' outputs
    cal.fit(stages[:stages.index("bias") + 1])
    return (f"{len(cal.folded)} BatchNorm folded; " if cal.folded else "no BatchNorm to fold; ") \
        + "per-channel bias re-fitted on the hardware outputs"


def _stage_scaling(cal: Calibration, stages: Sequence[str]) -> str:
    cal.scaling = scale_layers(cal.model, cal.layers, cal.config, cal.fit_images, cal.targets,
                               cal.adc_images, cal.batch, "targets" in stages,
                               "bias" in stages, cal.log)
    cal.reprogram()
    cal.fit(stages)
    return "; ".join(f"{c['layer']}: clip {c['weight_clip']:g}, ADC x{c['adc_scale']:g}, "
                     f"{c['off_state']}" for c in cal.scaling)


def _stage_finetune(cal: Calibration, stages: Sequence[str],
                    settings: FineTuneSettings) -> str:
    if cal.labels is None:
        raise ValueError("calibrate stage 'finetune' needs labelled calibration images")
    cal.finetune = finetune(cal.model, cal.layers, cal.images, cal.labels, cal.reprogram,
                            cal.batch, cal.seed, settings, cal.log)
    s = cal.finetune["settings"]
    return (f"{s['steps']} steps, Adam lr {s['lr']:g} cosine, batch {s['batch']}, loss "
            f"cross-entropy + {s['kd_weight']:g} x KD (T={s['temperature']:g}); kept step "
            f"{cal.finetune['kept_step']} (best of {len(cal.finetune['checks'])} held-out "
            f"checks on {cal.finetune['held_out_images']} calibration images)")


def calibrate(cal: Calibration, stages: Sequence[str],
              measure: Callable[[str], float | None],
              settings: FineTuneSettings = FineTuneSettings()) -> list[dict[str, Any]]:
    """Run ``stages`` (parse_stages order) on ``cal``; after each, ``measure(stage)`` gives
    the hardware accuracy to report (None: measured later by the caller). Returns one row
    per stage: stage, title, what it did, accuracy, seconds."""
    cal.capture_targets()
    rows = []
    for stage in stages:
        t = time.perf_counter()
        cal.log(f"calibration stage {stage}: {STAGE_TITLES[stage]}")
        if stage == "finetune":
            done = _stage_finetune(cal, stages, settings)
        else:
            done = {"targets": _stage_targets, "bias": _stage_bias,
                    "scaling": _stage_scaling}[stage](cal, stages)
        seconds = time.perf_counter() - t
        rows.append({"stage": stage, "title": STAGE_TITLES[stage], "done": done,
                     "hardware": measure(stage), "seconds": round(seconds, 1)})
    return rows


def calibration_meta(cal: Calibration, stages: Sequence[str], table: list[dict[str, Any]]
                     ) -> dict[str, Any]:
    """What a checkpoint records of the calibration (``meta[META_KEY]``)."""
    def values(t):
        return None if t is None else [float(v) for v in t.detach().reshape(-1)]
    return {"stages": list(stages), "config_hash": cal.config.config_hash(), "seed": cal.seed,
            "calibration_images": len(cal.images), "folded_batchnorm": list(cal.folded),
            "table": table, "finetune": cal.finetune,
            "layers": {layer.name: {"weight_clip": layer.weight_clip,
                                    "adc_scale": layer.adc_scale,
                                    "off_state": layer.off_state,
                                    "gain": values(layer.hw_gain),
                                    "bias": values(layer.hw_bias)} for layer in cal.layers}}


def apply_calibration(layers: list[CIMLayer], meta: dict[str, Any] | None,
                      config: HardwareConfig, seed: int,
                      warn: Callable[[str], None]) -> bool:
    """Put a loaded checkpoint's calibration results (``meta[META_KEY]``) back on the
    layers before they are programmed; warn when this run's chip is not the one calibrated.
    Returns whether there were any."""
    found = (meta or {}).get(META_KEY)
    if not found:
        return False
    by_name = {layer.name: layer for layer in layers}
    missing = sorted(set(found["layers"]) ^ set(by_name))
    if missing:
        raise ValueError(f"checkpoint calibration does not fit this network: layer "
                         f"{missing[0]!r} is in one and not the other")
    for name, entry in found["layers"].items():
        layer = by_name[name]
        layer.weight_clip, layer.adc_scale = float(entry["weight_clip"]), float(entry["adc_scale"])
        layer.off_state = entry["off_state"]
        layer.hw_gain = None if entry["gain"] is None else torch.tensor(entry["gain"])
        layer.hw_bias = None if entry["bias"] is None else torch.tensor(entry["bias"])
    if found.get("config_hash") != config.config_hash() or found.get("seed") != seed:
        warn(f"warning: the checkpoint was calibrated for config {found.get('config_hash')} "
             f"with seed {found.get('seed')} (one chip's faults and device draws); this run "
             f"is config {config.config_hash()} seed {seed}, so its corrections may not fit")
    return True


def calibrated_checkpoint_path(network: str, dataset: str, config: HardwareConfig,
                               seed: int, source=None) -> Path:
    """Where a calibration writes by default: the user's checkpoint folder (as training),
    ``<network>-<dataset>-calibrated-<config hash 8>-seed<seed>.pt``, with
    ``-from-<stem>`` when a checkpoint ``source`` was given (two sources, two files; never
    the source itself)."""
    from models.checkpoints import user_checkpoint_dir

    def token(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(text)).stem or str(text)).strip("_.")
    origin = f"-from-{token(source)}" if source is not None else ""
    return user_checkpoint_dir() / (f"{token(network)}-{token(dataset)}-calibrated-"
                                    f"{config.config_hash()[:8]}-seed{seed}{origin}.pt")
