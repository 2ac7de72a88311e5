"""Stage ``scaling`` of the calibration pipeline (cim.calibration): activation-aware per-layer
weight and ADC scaling.

For each compute layer in order, a small grid of settings is tried on the layer's own
hardware inputs (the calibration images through the already calibrated layers before it)
and the one whose pre-activation reading, after the corrections of the stages in use
(cim.calibration_fit.closed_form), is closest to the float targets is kept:

* weight clip (``CIMLayer.weight_clip``): the weight codes saturate at a fraction of max|w|,
  so most weights use more of the codes. A larger code scale fills the columns' partial
  sums, and the ADC's rounding error, the device errors and stuck cells - none of which
  grow with the weights - become smaller next to the signal; the few weights beyond the clip
  are cut (ours: a grid, the error decides);
* ADC range factor (``CIMLayer.adc_scale``, parallel mode with a calibrated range): the
  calibrated per-plane ranges (99.9 % of the calibration reads) times a factor below 1 give a
  finer step at the cost of clipping the rarest partial sums;
* off-state removal (``CIMLayer.off_state``, parallel mode, offset code): the level-0
  reference column converted at every read, or the digital subtraction of a fitted off-state
  current (cim.crossbar.Crossbar.set_off_state): the first is exact while the ADC resolves
  single levels, the second avoids multiplying a coarse ADC's rounding of that column by
  ``2^b - 1``.

Every candidate programs the layer again onto the same chip (cim.passes.program_layer: the
same faults and device draws) and calibrates its ADC as step 1 does. The error is measured
on the calibration split only.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import torch
from torch import nn

from contracts.config import HardwareConfig

from .adc import ADC_CALIBRATION_IMAGES
from .calibration_fit import capture, relative_error
from .layers import CIMLayer
from .passes import program_layer

__all__ = ["WEIGHT_CLIPS", "ADC_SCALES", "OFF_STATES", "candidates", "scale_layers"]

#: fractions of max|w| tried as the weight codes' saturation point
WEIGHT_CLIPS = (1.0, 0.7, 0.5, 0.35, 0.25)
#: factors tried on the calibrated ADC ranges
ADC_SCALES = (1.0, 0.7, 0.5)
#: ways to remove the offset code's off-state current
OFF_STATES = ("column", "digital")


def candidates(layer: CIMLayer, cfg: HardwareConfig) -> list[tuple[float, float, str]]:
    """(weight clip, ADC range factor, off-state removal) settings that apply to ``layer``."""
    clips = (1.0,) if layer.fixed is not None else WEIGHT_CLIPS     # imported codes stay
    parallel = cfg.operation_mode == "parallel"
    scales = ADC_SCALES if parallel and cfg.adc_range == "calibrated" else (1.0,)
    offs = OFF_STATES if parallel and cfg.weight_encoding == "offset" else ("column",)
    return list(itertools.product(clips, scales, offs))


def _read(layer: CIMLayer, inputs: torch.Tensor, batch: int) -> torch.Tensor:
    """The layer's raw hardware reading (no correction) of ``inputs``, in batches."""
    layer.mode = "hw"
    with torch.no_grad():
        return torch.cat([layer(inputs[i:i + batch]) for i in range(0, len(inputs), batch)])


def _set(layer: CIMLayer, setting: tuple[float, float, str]) -> None:
    layer.weight_clip, layer.adc_scale, layer.off_state = setting


def scale_layers(model: nn.Module, layers: list[CIMLayer], cfg: HardwareConfig,
                 images: torch.Tensor, targets: dict[str, torch.Tensor],
                 adc_images: torch.Tensor, batch: int, gain: bool, bias: bool,
                 log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Choose each layer's setting (module docstring); returns one record per layer. The
    layers' corrections are removed (the caller fits them again)."""
    for layer in layers:
        layer.hw_gain = layer.hw_bias = None
    chosen = []
    for layer in layers:
        x = capture(model, [layer], "hw", images, batch, inputs=True)[layer.name]
        adc_x = capture(model, [layer], "hw", adc_images[:ADC_CALIBRATION_IMAGES], batch,
                        inputs=True, adc_pass=True)[layer.name]
        linear, target = layer.kind == "linear", targets[layer.name]
        errors = {}
        for setting in candidates(layer, cfg):
            _set(layer, setting)
            program_layer(layer, cfg, adc_x)
            errors[setting] = relative_error(_read(layer, x, batch), target, linear, gain, bias)
        first = (1.0, 1.0, "column")
        best = min(errors, key=errors.get)
        _set(layer, best)
        program_layer(layer, cfg, adc_x)
        chosen.append({"layer": layer.name, "weight_clip": best[0], "adc_scale": best[1],
                       "off_state": best[2], "error_before": errors[first],
                       "error_after": errors[best]})
        if log:
            log(f"  {layer.name}: weight clip {best[0]:g}, ADC range x{best[1]:g}, off state "
                f"{best[2]}: pre-activation error {errors[first]:.3f} -> {errors[best]:.3f}")
    return chosen
