"""Trace recording: per compute layer, its geometry, integer weight codes and the integer input
codes of the traced images, as contracts.trace.LayerTrace (DESIGN.md §3).

The input codes are those the hardware-in-the-loop pass applied to the array (so step 2 prices
the activity the hardware actually saw), stored as feature maps (N x C x H x W, unpadded) or
vectors (N x F) - never an im2col expansion; padding is in the geometry.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import fx, nn

from .convert import COMPUTE, NetworkAnalysis, _follow, pool_step
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
        graph = fx.symbolic_trace(model).graph
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
    inner = layer.inner
    common = dict(name=layer.name, followed_by=tuple(followed_by), weight_bits=cfg.weight_bits,
                  input_bits=cfg.activation_bits, input_signed=bool(layer.input_signed()))
    if layer.kind == "linear":
        return LayerGeometry(kind="linear", in_channels=inner.in_features,
                             out_channels=inner.out_features, **common)
    return LayerGeometry(kind="conv2d", in_channels=inner.in_channels,
                         out_channels=inner.out_channels, kernel_size=_pair(inner.kernel_size),
                         stride=_pair(inner.stride), padding=_pair(inner.padding),
                         dilation=_pair(inner.dilation), groups=inner.groups,
                         input_hw=layer.input_hw, output_hw=layer.output_hw, **common)


def collect(layers: Sequence[CIMLayer], analysis: NetworkAnalysis) -> list[LayerTrace]:
    """LayerTraces of the recorded layers, in execution order."""
    traces = []
    for layer in layers:
        if not layer.recorded:
            raise RuntimeError(f"layer {layer.name!r} recorded no inputs (was it executed?)")
        inputs = torch.cat(layer.recorded, dim=0)
        if layer.kind == "linear" and inputs.dim() != 2:
            raise ValueError(f"layer {layer.name!r}: Linear on inputs of shape "
                             f"{tuple(inputs.shape)} (more than one vector per image) cannot "
                             f"be traced")
        wcodes, wscale = layer.weight_codes()
        spec = layer.act_spec()
        geometry = layer_geometry(layer, analysis.followed_by.get(layer.name, ()))
        traces.append(LayerTrace(geometry=geometry,
                                 weight_codes=wcodes.numpy().astype(np.int32),
                                 weight_scale=float(wscale),
                                 input_codes=inputs.numpy().astype(np.int32),
                                 input_scale=float(spec.scale)))
        layer.recorded = []
    return traces
