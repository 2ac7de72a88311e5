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

from .attention import apply_attention_mask, rewrite_attention, \
    unsupported_attention
from .dynamic import DynamicMatmul
from .layers import CIMLayer

__all__ = ["UnsupportedLayerError", "NetworkAnalysis", "DigitalStep", "analyse", "convert",
           "cim_layers", "set_mode", "SUPPORTED_MODULES", "CIM_MODULES"]


class DigitalStep(nn.Module):
    """Base of digital periphery modules defined outside torch.nn (module docstring)."""

    #: name in ``followed_by`` (None: transparent, e.g. a reshape or a requantization)
    step: str | None = None
    mode: str = "float"


COMPUTE = (nn.Conv2d, nn.Conv1d, nn.Linear, DynamicMatmul)
#: the modules convert() puts in: static-weight layers and attention's dynamic products
CIM_MODULES = (CIMLayer, DynamicMatmul)
#: digital activation units, by the step name they get in ``followed_by`` (step 1 computes
#: them in float; step 2 prices each with its own unit, chip.components.nonlinear)
_ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Softmax: "softmax", nn.GELU: "gelu",
                nn.SiLU: "silu", nn.Hardswish: "hardswish", nn.Sigmoid: "sigmoid",
                nn.Tanh: "tanh"}
# digital periphery the chip model knows (activation, pooling, normalisation, reshaping)
SUPPORTED_MODULES = (nn.Conv2d, nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
                     *_ACTIVATIONS, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                     nn.Flatten, nn.Dropout, nn.Identity, nn.ZeroPad2d, DigitalStep,
                     nn.LayerNorm, nn.Embedding, nn.MultiheadAttention)
# reshaping, and the masks and 1/sqrt(d) scale that are part of the softmax step (the scale
# only when multiplied or divided by a number: _scalar_op)
_PASS_FUNCTIONS = {torch.flatten, torch.reshape, F.dropout, torch.transpose, torch.permute,
                   torch.unsqueeze, torch.squeeze, torch.split, torch.chunk,
                   apply_attention_mask}
_PASS_METHODS = {"view", "reshape", "flatten", "contiguous", "size", "dim", "transpose",
                 "permute", "unsqueeze", "squeeze", "expand", "split", "chunk", "masked_fill",
                 "type_as"}
#: products of two activations: dynamic-matmul layers (cim.dynamic)
_MATMUL_FUNCTIONS = {operator.matmul, torch.matmul, torch.bmm}
_MATMUL_METHODS = {"matmul", "bmm"}
_SCALAR_OPS = {operator.mul, operator.truediv, torch.mul, torch.div}
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
    #: names of the dynamic-matmul layers (products of two activations), in compute too
    dynamic: list[str] = field(default_factory=list)
    #: the fx graph with the dynamic layers as module calls (None without dynamic layers)
    graph: fx.Graph | None = None


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
    if isinstance(module, nn.LayerNorm):
        return "layernorm"
    return None


def _check_leaves(model: nn.Module) -> None:
    bad: dict[str, list[str]] = {}
    for name, module in model.named_modules():
        if list(module.children()) and not isinstance(module, nn.MultiheadAttention):
            continue                                                  # containers
        if isinstance(module, SUPPORTED_MODULES) and not _unsupported_detail(module):
            continue
        label = type(module).__name__ + _unsupported_detail(module)
        bad.setdefault(label, []).append(name or "<root>")
    if bad:
        _raise(bad)


def _unsupported_detail(module: nn.Module) -> str:
    if isinstance(module, nn.MultiheadAttention):
        return unsupported_attention(module)
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
        return isinstance(m, (DigitalStep, DynamicMatmul)) or super().is_leaf_module(m, qualname)


def trace_graph(model: nn.Module) -> fx.Graph:
    """The torch.fx graph of ``model`` (DigitalStep and torch.nn modules as leaves)."""
    return _Tracer().trace(model)


def analyse(model: nn.Module) -> NetworkAnalysis:
    """Check the model and describe its compute layers (see module docstring).

    A model holding nn.MultiheadAttention is analysed in its explicit form (cim.attention, on
    a copy: ``model`` is not changed); products of two activations become dynamic-matmul
    layers, named after the module whose forward computes them (``blocks.0.attn.matmul0``)."""
    _check_leaves(model)
    if any(isinstance(m, nn.MultiheadAttention) for m in model.modules()):
        model = rewrite_attention(copy.deepcopy(model))
    modules = dict(model.named_modules())
    try:
        graph = trace_graph(model)
    except Exception as err:  # data-dependent Python control flow: fall back to module order
        warnings.warn(f"torch.fx cannot trace {type(model).__name__} ({type(err).__name__}); "
                      f"what follows each layer is taken from the module order", stacklevel=2)
        return _analyse_by_order(model)
    live = _input_dependent(graph)
    _check_nodes(graph, modules, live)
    dynamic = _insert_dynamic(graph, modules, live)
    compute = [node.target for node in graph.nodes
               if node.op == "call_module" and isinstance(modules[node.target], COMPUTE)]
    if len(set(compute)) != len(compute):
        dup = sorted({c for c in compute if compute.count(c) > 1})
        raise UnsupportedLayerError(f"compute layers called more than once per forward "
                                    f"(shared weights) are not supported: {', '.join(dup)}")
    analysis = NetworkAnalysis(compute=compute, dynamic=dynamic,
                               graph=graph if dynamic else None)
    for node in graph.nodes:
        if node.op != "call_module" or node.target not in compute:
            continue
        analysis.followed_by[node.target] = _follow(node, modules)
        if _reads_input(node, modules):
            analysis.image_inputs.add(node.target)
    return analysis


def _input_dependent(graph: fx.Graph) -> set[fx.Node]:
    """Nodes whose value depends on the network's input (the others are constants: masks
    built from buffers or shapes, which no layer computes per input)."""
    live: set[fx.Node] = set()
    for node in graph.nodes:
        if node.op == "placeholder" or any(a in live for a in node.all_input_nodes):
            live.add(node)
    return live


def _check_nodes(graph: fx.Graph, modules: dict, live: set[fx.Node]) -> None:
    """Every operation on activations is one the chip model knows; else one error for all."""
    bad: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node not in live or node.op in ("placeholder", "output", "get_attr"):
            continue
        if node.op == "call_module":
            module = modules[node.target]
            if not isinstance(module, SUPPORTED_MODULES + (DynamicMatmul,)):
                bad.setdefault(type(module).__name__, []).append(node.target)
            continue
        label = _unsupported_call(node, live)
        if label:
            bad.setdefault(label, []).append(node.name)
    if bad:
        _raise(bad)


def _unsupported_call(node: fx.Node, live: set[fx.Node]) -> str:
    """The label of an unsupported function or method call on activations ("" when fine)."""
    target = node.target
    if node.op == "call_function":
        if target in _SUPPORTED_FUNCTIONS or target in _MATMUL_FUNCTIONS:
            return ""
        if target in _SCALAR_OPS and _scalar_op(node, live):
            return ""
        name = getattr(target, "__name__", str(target))
        if target in _SCALAR_OPS:
            return f"{name} of two activations"
        return name
    if node.op == "call_method" and target not in _SUPPORTED_METHODS | _MATMUL_METHODS:
        return f"Tensor.{target}"
    return ""


def _scalar_op(node: fx.Node, live: set[fx.Node]) -> bool:
    """A multiplication or division of one activation by a constant (the attention scale)."""
    args = list(node.args[:2])
    return len(args) == 2 and sum(isinstance(a, fx.Node) and a in live for a in args) == 1


def _owner(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack)) if stack else ""


def _insert_dynamic(graph: fx.Graph, modules: dict, live: set[fx.Node]) -> list[str]:
    """Replace every product of two activations by a call of a DynamicMatmul (added to
    ``modules`` under its name); a product with a constant operand is refused."""
    names: list[str] = []
    per_owner: dict[str, int] = {}
    for node in list(graph.nodes):
        is_product = (node.op == "call_function" and node.target in _MATMUL_FUNCTIONS) or \
            (node.op == "call_method" and node.target in _MATMUL_METHODS)
        if not is_product or node not in live:
            continue
        a, b = node.args[0], node.args[1]
        if not all(isinstance(t, fx.Node) and t in live for t in (a, b)):
            raise UnsupportedLayerError(
                f"matmul {node.name!r} multiplies an activation by a constant tensor; write "
                f"static weights as nn.Linear (a crossbar layer)")
        owner = _owner(node)
        index = per_owner.get(owner, 0)
        per_owner[owner] = index + 1
        name = f"{owner}.matmul{index}" if owner else f"matmul{index}"
        modules[name] = DynamicMatmul(name)
        with graph.inserting_after(node):
            call = graph.call_module(name, (a, b))
        call.meta.update(node.meta)
        node.replace_all_uses_with(call)
        graph.erase_node(node)
        live.add(call)
        names.append(name)
    return names


def _transparent(node: fx.Node, modules: dict) -> bool:
    if node.op == "call_module":
        module = modules[node.target]
        if isinstance(module, DigitalStep):
            return module.step is None
        return isinstance(module, (nn.Flatten, nn.Dropout, nn.Identity, nn.ZeroPad2d))
    if node.op == "call_function":
        return node.target in _PASS_FUNCTIONS or (
            node.target in _SCALAR_OPS and
            sum(isinstance(a, fx.Node) for a in node.args[:2]) == 1)
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
    if len(current.users) > 1 and len(steps) < _LONGEST_CHAIN and _normalises(current, modules):
        steps.append("layernorm")     # a residual sum that a pre-LN block normalises
    return tuple(steps)


def _normalises(node: fx.Node, modules: dict) -> bool:
    """One of several readers of ``node`` is a LayerNorm."""
    return any(user.op == "call_module" and isinstance(modules.get(user.target), nn.LayerNorm)
               for user in node.users)


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
    ``model`` itself, for a model nobody else holds: no second copy of its weights).

    With dynamic products (attention), the result is a torch.fx GraphModule of the model's
    explicit form (cim.attention) that calls a DynamicMatmul for each product; its modules
    keep the model's names."""
    analysis = analysis or analyse(model)
    cim = (model if inplace else copy.deepcopy(model)).eval()
    if analysis.dynamic:
        cim = _with_dynamic(rewrite_attention(cim), analysis)
    for name in analysis.compute:
        if name in analysis.dynamic:
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = cim.get_submodule(parent_name) if parent_name else cim
        layer = CIMLayer(getattr(parent, attr), name)
        layer.is_image_input = name in analysis.image_inputs
        setattr(parent, attr, layer)
    return cim, analysis


def _with_dynamic(model: nn.Module, analysis: NetworkAnalysis) -> fx.GraphModule:
    """``model`` with a DynamicMatmul module per dynamic product, run by the analysis graph."""
    for name in analysis.dynamic:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        parent.add_module(attr, DynamicMatmul(name))
    graph = fx.Graph()
    graph.output(graph.graph_copy(analysis.graph, {}))
    return fx.GraphModule(model, graph, class_name=type(model).__name__).eval()


def cim_layers(model: nn.Module) -> list[CIMLayer]:
    """The CIMLayers of a converted model, in module order."""
    return [m for m in model.modules() if isinstance(m, CIMLayer)]


def set_mode(model: nn.Module, mode: str) -> None:
    """Switch every CIMLayer, DynamicMatmul and DigitalStep of ``model`` to ``mode``
    (cim.layers.MODES)."""
    for module in model.modules():
        if isinstance(module, (CIMLayer, DynamicMatmul, DigitalStep)):
            module.mode = mode
