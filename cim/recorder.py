"""Trace recording: per compute layer, its geometry, integer weight codes and the integer input
codes of the traced images, as contracts.trace.LayerTrace (DESIGN.md §3).

The input codes are those the hardware-in-the-loop pass applied to the array (so step 2 prices
the activity the hardware actually saw), stored as feature maps (N x C x H x W, unpadded) or
vectors (N x F) - never an im2col expansion; padding is in the geometry.

Layer kinds as the array sees them: a grouped or depthwise convolution keeps its torch weight
shape (Cout, Cin/groups, K_h, K_w) - output channels [g*Cout/G, (g+1)*Cout/G) are group g's
own weight block, reading input channels [g*Cin/G, (g+1)*Cin/G); a Conv1d is recorded as a
conv2d of height 1 (kernel 1 x K, feature maps N x C x 1 x L). An imported integer model
records its per-output-channel weight scales (a vector) and its input zero point.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .convert import COMPUTE, NetworkAnalysis, _follow, pool_step, trace_graph
from .layers import CIMLayer
from contracts.trace import LayerGeometry, LayerTrace

__all__ = ["start_recording", "stop_recording", "layer_geometry", "collect", "followed_by",
           "pool_step"]

def start_recording(layers: Sequence[CIMLayer], images: int) -> None:
    for layer in layers:
        layer.recorded = []
        layer.record_limit = int(images)


def stop_recording(layers: Sequence[CIMLayer]) -> None:
    for layer in layers:
        layer.record_limit = 0


def followed_by(model: nn.Module) -> dict[str, tuple[str, ...]] | None:
    """What follows each compute layer (torch.fx data flow), functional pools included with
    their kernel like module pools (``F.max_pool2d(x, 2)`` -> ``maxpool2x2``, as
    ``nn.MaxPool2d(2)``). None when the model cannot be traced symbolically."""
    try:
        graph = trace_graph(model)
    except Exception:                       # cim.convert already reported it (module order)
        return None
    modules = dict(model.named_modules())
    found: dict[str, tuple[str, ...]] = {}
    for node in graph.nodes:
        if node.op == "call_module" and isinstance(modules.get(node.target), COMPUTE):
            found[node.target] = _follow(node, modules)
    return found


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def layer_geometry(layer: CIMLayer, followed_by: tuple[str, ...]) -> LayerGeometry:
    cfg = layer.config
    common = dict(name=layer.name, followed_by=tuple(followed_by), weight_bits=cfg.weight_bits,
                  input_bits=cfg.activation_bits, input_signed=bool(layer.input_signed()))
    if layer.kind == "dynamic_matmul":
        h = layer.heads
        return LayerGeometry(kind="dynamic_matmul", in_channels=h * layer.k,
                             out_channels=h * layer.n, groups=h, input_hw=(layer.m, 1),
                             output_hw=(layer.m, 1), **common)
    inner = layer.inner
    if layer.kind == "linear":
        return LayerGeometry(kind="linear", in_channels=inner.in_features,
                             out_channels=inner.out_features, input_hw=layer.input_hw,
                             output_hw=layer.output_hw, **common)
    kernel, dilation, padding, stride = (_pair(v) for v in layer.geometry_2d())
    return LayerGeometry(kind="conv2d", in_channels=inner.in_channels,
                         out_channels=inner.out_channels, kernel_size=kernel, stride=stride,
                         padding=padding, dilation=dilation, groups=inner.groups,
                         input_hw=layer.input_hw, output_hw=layer.output_hw, **common)


def _codes(t: torch.Tensor) -> np.ndarray:
    """Integer codes as a numpy array of the smallest of int8/int16/int32 that holds them
    (a large model's weight codes are not widened: int8 for 8-bit weights)."""
    a = t.numpy()
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    for dtype in (np.int8, np.int16):
        if np.iinfo(dtype).min <= lo and hi <= np.iinfo(dtype).max:
            return a.astype(dtype, copy=False)
    return a.astype(np.int32, copy=False)


def _dynamic_trace(layer, geometry: LayerGeometry) -> LayerTrace:
    """A dynamic product's trace: both operands' codes of the traced images."""
    inputs = torch.cat([t[0] for t in layer.recorded])
    weights = torch.cat([t[1] for t in layer.recorded])
    return LayerTrace(geometry=geometry, weight_codes=_codes(weights),
                      weight_scale=float(layer.weight_spec().scale), input_codes=_codes(inputs),
                      input_scale=float(layer.act_spec().scale))


def collect(layers: Sequence[CIMLayer], analysis: NetworkAnalysis) -> list[LayerTrace]:
    """LayerTraces of the recorded layers, in execution order."""
    traces = []
    for layer in layers:
        if not layer.recorded:
            raise RuntimeError(f"layer {layer.name!r} recorded no inputs (was it executed?)")
        geometry = layer_geometry(layer, analysis.followed_by.get(layer.name, ()))
        if layer.kind == "dynamic_matmul":
            traces.append(_dynamic_trace(layer, geometry))
            layer.recorded = []
            continue
        inputs = torch.cat(layer.recorded, dim=0)
        if layer.kind == "linear" and inputs.dim() not in (2, 3):
            raise ValueError(f"layer {layer.name!r}: Linear on inputs of shape "
                             f"{tuple(inputs.shape)} cannot be traced; a Linear takes "
                             f"(images, features) or (images, tokens, features)")
        wcodes, wscale = layer.weight_codes()
        spec = layer.act_spec()
        if layer.kind == "conv1d":                       # height 1: N x C x 1 x L
            wcodes, inputs = wcodes.unsqueeze(2), inputs.unsqueeze(2)
        scale = (wscale.detach().double().numpy().copy() if isinstance(wscale, torch.Tensor)
                 else float(wscale))
        traces.append(LayerTrace(geometry=geometry, weight_codes=_codes(wcodes),
                                 weight_scale=scale, input_codes=_codes(inputs),
                                 input_scale=float(spec.scale),
                                 input_zero_point=int(spec.zero_point)))
        layer.recorded = []
    return traces
