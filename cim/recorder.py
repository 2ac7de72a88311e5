"""Trace recording: per compute layer, its geometry, integer weight codes and the integer input
codes of the traced images, as cim.trace.LayerTrace (DESIGN.md §3).

The input codes are those the hardware-in-the-loop pass applied to the array (so step 2 prices
the activity the hardware actually saw), stored as feature maps (N x C x H x W, unpadded) or
vectors (N x F) - never an im2col expansion; padding is in the geometry.
"""
from __future__ import annotations

import operator
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from .convert import COMPUTE, NetworkAnalysis, _module_step, _transparent
from .layers import CIMLayer
from .trace import LayerGeometry, LayerTrace

__all__ = ["start_recording", "stop_recording", "layer_geometry", "collect", "followed_by",
           "pool_step"]

_POOL_FUNCTIONS = {F.max_pool2d: "maxpool", F.avg_pool2d: "avgpool"}
_ADD = {operator.add, operator.iadd, torch.add}
_LONGEST_CHAIN = 8


def start_recording(layers: Sequence[CIMLayer], images: int) -> None:
    for layer in layers:
        layer.recorded = []
        layer.record_limit = int(images)


def stop_recording(layers: Sequence[CIMLayer]) -> None:
    for layer in layers:
        layer.record_limit = 0


def pool_step(kind: str, kernel) -> str:
    """Name of a pooling step, the same for nn.MaxPool2d and F.max_pool2d: ``maxpool2x2``."""
    k = (int(kernel), int(kernel)) if isinstance(kernel, int) else tuple(int(v) for v in kernel)
    return f"{kind}{k[0]}x{k[1]}"


def _function_step(node: fx.Node) -> str | None | bool:
    """Step of a functional call (False: the chain ends here)."""
    target = node.target
    if target in _POOL_FUNCTIONS:
        kernel = node.kwargs.get("kernel_size", node.args[1] if len(node.args) > 1 else None)
        return pool_step(_POOL_FUNCTIONS[target], kernel) if kernel is not None else False
    if target is F.adaptive_avg_pool2d:
        size = node.kwargs.get("output_size", node.args[1] if len(node.args) > 1 else None)
        # like nn.AdaptiveAvgPool2d in cim.convert: one output position is a global pool
        return "globalavgpool" if size in (1, (1, 1), [1, 1]) else False
    if target in _ADD:
        return "add"
    if target in (F.relu, torch.relu):
        return "relu"
    return False


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
            found[node.target] = _chain(node, modules)
    return found


def _chain(node: fx.Node, modules: dict) -> tuple[str, ...]:
    steps: list[str] = []
    current = node
    while len(current.users) == 1 and len(steps) < _LONGEST_CHAIN:
        nxt = next(iter(current.users))
        if nxt.op == "call_module":
            module = modules[nxt.target]
            if isinstance(module, COMPUTE):
                break
            step = _module_step(module)
        elif nxt.op == "call_function" and not _transparent(nxt, modules):
            step = _function_step(nxt)
            if step is False:
                break
        elif nxt.op == "call_method" and nxt.target in ("add", "add_", "relu", "relu_"):
            step = nxt.target.rstrip("_")
        elif _transparent(nxt, modules):
            step = None
        else:
            break
        if step:
            steps.append(step)
        current = nxt
    return tuple(steps)


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
