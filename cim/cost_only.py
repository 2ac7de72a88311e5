"""Cost-only step 1: the trace for step 2 without any accuracy pass (synthetic inputs, or
``no_accuracy=True`` / ``--no-accuracy``).

Step 2 needs, per compute layer, the integer weight codes and the integer input codes of the
traced images; it does not need the hardware-in-the-loop pass (programming every crossbar:
cells, device draws, ADC ranges) nor any scored evaluation. So this pass only

1. calibrates the activation clip values (a float forward over the calibration images), and
2. runs the traced images once through the float network, batch by batch, each compute layer
   quantizing its input onto its own activation grid as it goes and keeping the codes
   (a forward pre-hook; the weights are quantized once, when the trace is collected). When
   the traced images are the first calibration images (synthetic data), the calibration
   forward keeps the float inputs and they are quantized after it: one forward in all.

No crossbar is ever built and no weight is quantized per forward, so the memory is the model
and one batch's activations. The input codes are those of the float network's activations on
each layer's grid (the hardware pass's codes differ from them by the quantization and hardware
errors of earlier layers, which step 2's activity statistics hardly see).
"""
from __future__ import annotations

import contextlib
import time
from typing import Any

import torch

from contracts.config import HardwareConfig

from . import recorder
from .convert import set_mode
from .passes import SOFTWARE_BATCH, calibrate_activations
from .quantize import quantize

__all__ = ["trace_pass"]


def _check_precisions(layers, cfg: HardwareConfig) -> None:
    """The same checks as the accuracy passes: signed inputs need 2 bits, imported codes must
    fit the configured precisions as they are."""
    from .run import _check_signed_inputs
    _check_signed_inputs(layers, cfg)
    for layer in layers:
        if layer.fixed is not None:
            layer.fixed.check(cfg, layer.name)
        layer.config = cfg


def _keep_input(layer, args) -> None:
    """Forward pre-hook: the layer's input (float, or codes on its grid once calibrated), up
    to its limit of images."""
    if layer.kind == "dynamic_matmul":              # both operands (cim.dynamic)
        layer.keep_operands(args[0], args[1])
        return
    have = sum(int(t.shape[0]) for t in layer.recorded)
    if have < layer.record_limit:
        x = args[0][:layer.record_limit - have]
        layer.recorded.append(x.clone() if layer.mode == "calibrate" else
                              quantize(x, layer.act_spec()))


@contextlib.contextmanager
def _keeping(layers, limit: int):
    """Within: every layer keeps its first ``limit`` inputs (:func:`_keep_input`)."""
    recorder.start_recording(layers, limit)
    hooks = [layer.register_forward_pre_hook(_keep_input) for layer in layers]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
        recorder.stop_recording(layers)


def trace_pass(cim_model, layers, calib: torch.Tensor, images: torch.Tensor,
               cfg: HardwareConfig, stored_clip: dict | None,
               timings: dict[str, float]) -> tuple[dict[str, None], dict[str, Any]]:
    """(accuracy: all None, statistics: empty) after recording ``images`` into ``layers``
    (module docstring); ``timings`` gets "calibrate" and "record".

    When the traced images are the first calibration images (synthetic data), one forward
    does both: each layer keeps its float inputs while the clip values are calibrated, and
    quantizes them on its final grid afterwards."""
    n = len(images)
    shared = n <= len(calib) and torch.equal(calib[:n], images)
    t = time.perf_counter()
    with _keeping(layers, n) if shared else contextlib.nullcontext(), torch.no_grad():
        calibrate_activations(cim_model, layers, calib, cfg, stored_clip)
    _check_precisions(layers, cfg)
    timings["calibrate"] = time.perf_counter() - t
    t = time.perf_counter()
    set_mode(cim_model, "float")
    if shared:
        for layer in layers:
            if layer.kind == "dynamic_matmul":
                layer.quantize_kept()
            else:
                layer.recorded = [quantize(torch.cat(layer.recorded), layer.act_spec())]
    else:
        with _keeping(layers, n), torch.no_grad():
            for start in range(0, n, SOFTWARE_BATCH):
                cim_model(images[start:start + SOFTWARE_BATCH])
    timings["record"] = time.perf_counter() - t
    accuracy = {"float": None, "quantized": None, "hardware": None}
    return accuracy, {}
