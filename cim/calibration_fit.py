"""Least-squares pieces of the calibration pipeline (cim.calibration): pre-activation targets,
the digital output correction of each layer, BatchNorm folding.

Targets are taken **before the activation**: the float network's output of each compute
layer (its pre-activation sums; with a BatchNorm after it, before the BatchNorm until it is
folded) on the calibration images. The crossbar produces signed pre-activation sums, so that
is what its reading is compared with; a ReLU output would hide every negative error (the
published ReRAM workflow measured 97.7 % -> 24 % when it calibrated on post-ReLU outputs).

The correction of a layer's hardware output ``y``, per output channel c, is
``gain_c * y + bias_c`` (cim.layers.CIMLayer.correct, digital periphery, hardware mode only),
fitted layer after layer on the calibration images, each layer reading the outputs of the
already corrected layers before it:

* gain (stage ``targets``): the least-squares gain of the target on the reading,
  ``gain_c = <y, t> / <y, y>``: it undoes a systematic scale (IR drop, drift, faults, ADC
  gain) and shrinks a channel whose reading is mostly error, which then passes less of it on
  (the minimum mean-square-error choice; ``1 / alpha`` with ``alpha = <y, t> / <t, t>``, the
  unbiased scale, multiplied the error of poorly read channels and lost accuracy on LeNet-5);
* bias (stage ``bias``): the least-squares affine fit - with the gain in use, gain and bias
  together (``gain_c = cov(y, t) / var(y)``, ``bias_c = mean(t) - gain_c mean(y)``), else the
  bias alone (``bias_c = mean(t - y)``).

BatchNorm folding (stage ``bias``): a BatchNorm that directly follows a compute layer is
folded into it - the layer's weights (and bias) scaled by ``s = gamma / sqrt(var + eps)`` per
output channel, the BatchNorm left as a pure per-channel shift (gamma 1, mean 0, var
1 - eps, beta - mean s) - so the crossbar stores the weights the network really applies and
the checkpoint keeps the network's own layout (the usual loaders read it).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import fx, nn

from .convert import DigitalStep, set_mode
from .layers import CIMLayer

__all__ = ["capture", "closed_form", "fit_corrections", "relative_error",
           "batchnorm_pairs", "fold_batchnorm"]

class _Tracer(fx.Tracer):
    """torch.fx tracer of a converted model: compute layers and digital steps are leaves."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (CIMLayer, DigitalStep)) or super().is_leaf_module(m, qualname)


class _Stop(Exception):
    """Raised by a capture hook once the last wanted layer has run (saves the rest)."""


def capture(model: nn.Module, layers: list[CIMLayer], mode: str, images: torch.Tensor,
            batch: int, inputs: bool = False, adc_pass: bool = False
            ) -> dict[str, torch.Tensor]:
    """Outputs (or ``inputs``) of ``layers`` over ``images`` with the model in ``mode``; the
    forward stops after the last of them. ``adc_pass``: the ADC range calibration pass of
    cim.passes.program (hardware mode, every layer passing on its exact product)."""
    wanted = {layer.name for layer in layers}
    last = max(layers, key=lambda layer: _position(model, layer))
    found: dict[str, list[torch.Tensor]] = {name: [] for name in wanted}

    def hook(module, args, output):
        found[module.name].append((args[0] if inputs else output).detach())
        if module is last:
            raise _Stop

    set_mode(model, "hw" if adc_pass else mode)
    every = [m for m in model.modules() if isinstance(m, CIMLayer)]
    for layer in every:
        layer.calibrate_adc = adc_pass
    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                try:
                    model(images[start:start + batch])
                except _Stop:
                    pass
    finally:
        for handle in handles:
            handle.remove()
        for layer in every:
            layer.calibrate_adc = False
    return {name: torch.cat(parts) for name, parts in found.items()}


def _position(model: nn.Module, layer: CIMLayer) -> int:
    return next(i for i, m in enumerate(model.modules()) if m is layer)


def _per_channel(t: torch.Tensor, linear: bool) -> torch.Tensor:
    """(channels, samples) float64 view of a layer output (channels last for linear)."""
    t = t.to(torch.float64)
    if linear:
        return t.reshape(-1, t.shape[-1]).t()
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def closed_form(y: torch.Tensor, t: torch.Tensor, linear: bool, gain: bool, bias: bool
                ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Per-channel (gain, bias) of the module docstring for readings ``y`` and targets ``t``
    (None for a correction not asked for)."""
    yc, tc = _per_channel(y, linear), _per_channel(t, linear)
    g = b = None
    if gain:
        ym = yc.mean(1, keepdim=True) if bias else torch.zeros_like(yc[:, :1])
        tm = tc.mean(1, keepdim=True) if bias else torch.zeros_like(tc[:, :1])
        var = ((yc - ym) ** 2).sum(1)
        g = torch.where(var > 0, ((yc - ym) * (tc - tm)).sum(1) / var.clamp(min=1e-300),
                        torch.ones_like(var))
    if bias:
        b = (tc - (yc if g is None else g[:, None] * yc)).mean(1)
    return (None if g is None else g.float()), (None if b is None else b.float())


def _apply(y: torch.Tensor, g, b, linear: bool) -> torch.Tensor:
    shape = [1] * y.dim()
    shape[-1 if linear else 1] = -1
    if g is not None:
        y = y * g.to(y.dtype).reshape(shape)
    if b is not None:
        y = y + b.to(y.dtype).reshape(shape)
    return y


def relative_error(y: torch.Tensor, t: torch.Tensor, linear: bool, gain: bool, bias: bool
                   ) -> float:
    """Relative RMS error of readings ``y`` against targets ``t`` after the closed-form
    corrections asked for (the scaling stage's objective)."""
    g, b = closed_form(y, t, linear, gain, bias)
    y = _apply(y.to(torch.float64), g, b, linear)
    t = t.to(torch.float64)
    return float(((y - t).pow(2).sum() / t.pow(2).sum().clamp(min=1e-300)).sqrt())


def fit_corrections(model: nn.Module, layers: list[CIMLayer], images: torch.Tensor,
                    targets: dict[str, torch.Tensor], batch: int, gain: bool, bias: bool,
                    log: Callable[[str], None] | None = None) -> None:
    """Fit every layer's correction in order (module docstring); corrections not asked
    for are removed."""
    for layer in layers:
        layer.hw_gain = layer.hw_bias = None
    for layer in layers:
        y = capture(model, [layer], "hw", images, batch)[layer.name]
        linear = layer.kind == "linear"
        layer.hw_gain, layer.hw_bias = closed_form(y, targets[layer.name], linear, gain, bias)
        if log:
            log(f"  {layer.name}: pre-activation error "
                f"{relative_error(y, targets[layer.name], linear, False, False):.3f} -> "
                f"{relative_error(y, targets[layer.name], linear, gain, bias):.3f}")


def batchnorm_pairs(model: nn.Module, layer_names: list[str]) -> dict[str, str]:
    """Compute layer -> the BatchNorm module that alone reads its output, from the converted
    model's torch.fx graph ({} when the model cannot be traced symbolically)."""
    try:
        graph = _Tracer().trace(model)
    except Exception:  # noqa: BLE001 - data-dependent control flow: nothing folded
        return {}
    modules = dict(model.named_modules())
    pairs = {}
    for node in graph.nodes:
        if node.op != "call_module" or node.target not in layer_names:
            continue
        users = list(node.users)
        if len(users) == 1 and users[0].op == "call_module" and isinstance(
                modules.get(users[0].target), (nn.BatchNorm1d, nn.BatchNorm2d)):
            pairs[node.target] = users[0].target
    return pairs


def fold_batchnorm(model: nn.Module, pairs: dict[str, str]) -> list[str]:
    """Fold each paired BatchNorm into its compute layer (module docstring); returns the
    layers folded. A BatchNorm without affine parameters or running statistics is left."""
    modules = dict(model.named_modules())
    folded = []
    with torch.no_grad():
        for layer_name, bn_name in pairs.items():
            layer, bn = modules[layer_name], modules[bn_name]
            inner = layer.inner if isinstance(layer, CIMLayer) else layer
            if not bn.affine or bn.running_mean is None:
                continue
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            inner.weight.mul_(s.reshape(-1, *([1] * (inner.weight.dim() - 1))))
            if inner.bias is not None:
                inner.bias.mul_(s)
            bn.bias.sub_(bn.running_mean * s)
            bn.weight.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            folded.append(layer_name)
    return folded
