"""Walk a user's nn.Module: check every layer is supported, find what follows each compute
layer, and swap Conv2d/Conv1d/Linear (grouped and depthwise convolutions included) for
:class:`cim.layers.CIMLayer`.

The walk uses torch.fx (symbolic tracing) to see the data flow: which compute layer reads the
network input, and what follows each one (BatchNorm, ReLU, pooling, residual add). Modules
whose forward cannot be traced symbolically (data-dependent control flow) are still accepted
if all their leaf modules are supported; ``followed_by`` is then taken from the order of the
leaf modules (a warning says so).

Unsupported layer types are never skipped: :class:`UnsupportedLayerError` lists every one of
them by type and name in a single message.

Digital periphery defined elsewhere (the integer operators of an imported .tflite model,
cim.tflite_ops) subclasses :class:`DigitalStep`: it is accepted, named in ``followed_by`` by
its ``step`` (None: transparent, like a reshape) and switched with the compute layers by
:func:`set_mode` (float and calibrate: float; quant and hw: its integer semantics).
"""
from __future__ import annotations

import copy
import operator
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn

from .layers import CIMLayer

__all__ = ["UnsupportedLayerError", "NetworkAnalysis", "DigitalStep", "analyse", "convert",
           "cim_layers", "set_mode", "SUPPORTED_MODULES"]


class DigitalStep(nn.Module):
    """Base of digital periphery modules defined outside torch.nn (module docstring)."""

    #: name in ``followed_by`` (None: transparent, e.g. a reshape or a requantization)
    step: str | None = None
    mode: str = "float"


COMPUTE = (nn.Conv2d, nn.Conv1d, nn.Linear)
#: digital activation units, by the step name they get in ``followed_by`` (step 1 computes
#: them in float; step 2 prices each with its own unit, chip.components.nonlinear)
_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Softmax: "softmax", nn.GELU: "gelu",
                nn.SiLU: "silu", nn.Hardswish: "hardswish", nn.Sigmoid: "sigmoid",
                nn.Tanh: "tanh"}
# digital periphery the chip model knows (activation, pooling, normalisation, reshaping)
SUPPORTED_MODULES = (nn.Conv2d, nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
                     *_ACTIVATIONS, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                     nn.Flatten, nn.Dropout, nn.Identity, nn.ZeroPad2d, DigitalStep)
_PASS_FUNCTIONS = {torch.flatten, torch.reshape, F.dropout}
_PASS_METHODS = {"view", "reshape", "flatten", "contiguous", "size", "dim"}
#: functional forms of the activations, by their step name
_FUNCTION_STEPS = {F.relu6: "relu6", F.softmax: "softmax", torch.softmax: "softmax",
                   F.gelu: "gelu", F.silu: "silu", F.hardswish: "hardswish",
                   torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh",
                   F.tanh: "tanh"}
_SUPPORTED_FUNCTIONS = _PASS_FUNCTIONS | set(_FUNCTION_STEPS) | {
    operator.add, operator.iadd, torch.add, F.relu, torch.relu, F.max_pool2d, F.avg_pool2d,
    F.adaptive_avg_pool2d, getattr, operator.getitem, torch.cat}
#: tensor methods that are activations, by their step name
_METHOD_STEPS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
                 "tanh": "tanh", "tanh_": "tanh", "softmax": "softmax"}
_SUPPORTED_METHODS = _PASS_METHODS | set(_METHOD_STEPS) | {"add", "add_", "mean"}


class UnsupportedLayerError(ValueError):
    """The network holds layers the CIM model cannot compute; the message lists them all."""


@dataclass
class NetworkAnalysis:
    """What the walk found: compute layer names in execution order and their context."""

    compute: list[str]
    followed_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    image_inputs: set[str] = field(default_factory=set)
    traced: bool = True


def _module_step(module: nn.Module) -> str | None:
    """Name of a periphery step in ``followed_by`` (None: transparent)."""
    if isinstance(module, DigitalStep):
        return module.step
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "batchnorm"
    if type(module) in _ACTIVATIONS:
        return _ACTIVATIONS[type(module)]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "maxpool" if isinstance(module, nn.MaxPool2d) else "avgpool"
        return pool_step(kind, module.kernel_size, module.stride)
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "globalavgpool"
    return None


def _check_leaves(model: nn.Module) -> None:
    bad: dict[str, list[str]] = {}
    for name, module in model.named_modules():
        if list(module.children()):
            continue                                                  # containers
        if isinstance(module, SUPPORTED_MODULES) and not _unsupported_detail(module):
            continue
        label = type(module).__name__ + _unsupported_detail(module)
        bad.setdefault(label, []).append(name or "<root>")
    if bad:
        _raise(bad)


def _unsupported_detail(module: nn.Module) -> str:
    if isinstance(module, (nn.Conv2d, nn.Conv1d)):
        if module.padding_mode != "zeros":
            return f"(padding_mode={module.padding_mode!r})"
        if isinstance(module.padding, str):
            return f"(padding={module.padding!r})"
    return ""


def _raise(bad: dict[str, list[str]]) -> None:
    parts = [f"{kind} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
             for kind, names in sorted(bad.items())]
    supported = ", ".join(m.__name__ for m in SUPPORTED_MODULES)
    raise UnsupportedLayerError(f"unsupported layer types: {'; '.join(parts)}. The CIM model "
                                f"computes {supported}, residual adds and flatten")


class _Tracer(fx.Tracer):
    """torch.fx tracer that keeps DigitalStep modules whole (their forward branches on the
    mode and on shapes, which symbolic tracing cannot follow)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, DigitalStep) or super().is_leaf_module(m, qualname)


def trace_graph(model: nn.Module) -> fx.Graph:
    """The torch.fx graph of ``model`` (DigitalStep and torch.nn modules as leaves)."""
    return _Tracer().trace(model)


def analyse(model: nn.Module) -> NetworkAnalysis:
    """Check the model and describe its compute layers (see module docstring)."""
    _check_leaves(model)
    modules = dict(model.named_modules())
    try:
        graph = trace_graph(model)
    except Exception as err:  # data-dependent Python control flow: fall back to module order
        warnings.warn(f"torch.fx cannot trace {type(model).__name__} ({type(err).__name__}); "
                      f"what follows each layer is taken from the module order", stacklevel=2)
        return _analyse_by_order(model)
    bad: dict[str, list[str]] = {}
    compute: list[str] = []
    for node in graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], COMPUTE):
            compute.append(node.target)
        elif node.op == "call_function" and node.target not in _SUPPORTED_FUNCTIONS:
            bad.setdefault(getattr(node.target, "__name__", str(node.target)), []).append(
                node.name)
        elif node.op == "call_method" and node.target not in _SUPPORTED_METHODS:
            bad.setdefault(f"Tensor.{node.target}", []).append(node.name)
    if bad:
        _raise(bad)
    if len(set(compute)) != len(compute):
        dup = sorted({c for c in compute if compute.count(c) > 1})
        raise UnsupportedLayerError(f"compute layers called more than once per forward "
                                    f"(shared weights) are not supported: {', '.join(dup)}")
    analysis = NetworkAnalysis(compute=compute)
    for node in graph.nodes:
        if node.op != "call_module" or node.target not in compute:
            continue
        analysis.followed_by[node.target] = _follow(node, modules)
        if _reads_input(node, modules):
            analysis.image_inputs.add(node.target)
    return analysis


def _transparent(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module":
        module = modules[node.target]
        if isinstance(module, DigitalStep):
            return module.step is None
        return isinstance(module, (nn.Flatten, nn.Dropout, nn.Identity, nn.ZeroPad2d))
    if node.op == "call_function":
        return node.target in _PASS_FUNCTIONS
    if node.op == "call_method":
        return node.target in _PASS_METHODS
    return False


def _reads_input(node: fx.Node, modules: dict) -> bool:
    source = node.args[0] if node.args else None
    while isinstance(source, fx.Node) and _transparent(source, modules):
        source = source.args[0] if source.args else None
    return isinstance(source, fx.Node) and source.op == "placeholder"


_POOL_FUNCTIONS = {F.max_pool2d: "maxpool", F.avg_pool2d: "avgpool"}
_ADD = {operator.add, operator.iadd, torch.add}
_LONGEST_CHAIN = 8


def pool_step(kind: str, kernel, stride=None) -> str:
    """Name of a pooling step, the same for nn.MaxPool2d and F.max_pool2d: ``maxpool2x2``, or
    ``maxpool3x3s2x2`` when the stride is not the window (contracts.trace.pool_shape reads it)."""
    k = _pair(kernel)
    s = k if stride is None or stride == [] else _pair(stride)
    name = f"{kind}{k[0]}x{k[1]}"
    return name if s == k else f"{name}s{s[0]}x{s[1]}"


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)


def _function_step(node: fx.Node) -> str | None | bool:
    """Step of a functional call (False: the chain ends here)."""
    target = node.target
    if target in _POOL_FUNCTIONS:
        kernel = node.kwargs.get("kernel_size", node.args[1] if len(node.args) > 1 else None)
        stride = node.kwargs.get("stride", node.args[2] if len(node.args) > 2 else None)
        if kernel is None or not isinstance(stride, (int, tuple, list, type(None))):
            return False
        return pool_step(_POOL_FUNCTIONS[target], kernel, stride)
    if target is F.adaptive_avg_pool2d:
        size = node.kwargs.get("output_size", node.args[1] if len(node.args) > 1 else None)
        # like nn.AdaptiveAvgPool2d: one output position is a global pool
        return "globalavgpool" if size in (1, (1, 1), [1, 1]) else False
    if target in _ADD:
        return "add"
    if target in (F.relu, torch.relu):
        return "relu"
    return _FUNCTION_STEPS.get(target, False)


def _follow(node: fx.Node, modules: dict) -> tuple[str, ...]:
    """The periphery steps after a compute layer along its single-user data flow, functional
    calls named like their modules (``F.max_pool2d(x, 2)`` -> ``maxpool2x2``)."""
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
        elif nxt.op == "call_method" and nxt.target in ("add", "add_"):
            step = "add"
        elif nxt.op == "call_method" and nxt.target in _METHOD_STEPS:
            step = _METHOD_STEPS[nxt.target]
        elif _transparent(nxt, modules):
            step = None
        else:
            break
        if step:
            steps.append(step)
        current = nxt
    return tuple(steps)


def _analyse_by_order(model: nn.Module) -> NetworkAnalysis:
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    compute = [n for n, m in leaves if isinstance(m, COMPUTE)]
    analysis = NetworkAnalysis(compute=compute, traced=False)
    for i, (name, module) in enumerate(leaves):
        if not isinstance(module, COMPUTE):
            continue
        steps = []
        for _, nxt in leaves[i + 1:]:
            if isinstance(nxt, COMPUTE):
                break
            step = _module_step(nxt)
            if step:
                steps.append(step)
        analysis.followed_by[name] = tuple(steps)
    if compute:
        analysis.image_inputs.add(compute[0])
    return analysis


def convert(model: nn.Module, analysis: NetworkAnalysis | None = None,
            inplace: bool = False) -> tuple[nn.Module, NetworkAnalysis]:
    """A deep copy of ``model`` with every Conv2d/Linear replaced by a CIMLayer (``inplace``:
    ``model`` itself, for a model nobody else holds: no second copy of its weights)."""
    analysis = analysis or analyse(model)
    cim = (model if inplace else copy.deepcopy(model)).eval()
    for name in analysis.compute:
        parent_name, _, attr = name.rpartition(".")
        parent = cim.get_submodule(parent_name) if parent_name else cim
        layer = CIMLayer(getattr(parent, attr), name)
        layer.is_image_input = name in analysis.image_inputs
        setattr(parent, attr, layer)
    return cim, analysis


def cim_layers(model: nn.Module) -> list[CIMLayer]:
    """The CIMLayers of a converted model, in module order."""
    return [m for m in model.modules() if isinstance(m, CIMLayer)]


def set_mode(model: nn.Module, mode: str) -> None:
    """Switch every CIMLayer and DigitalStep of ``model`` to ``mode`` (cim.layers.MODES)."""
    for module in model.modules():
        if isinstance(module, (CIMLayer, DigitalStep)):
            module.mode = mode
