"""ONNX -> torch: our own walker of the ONNX graph (docs/models.md says why not onnx2torch).

Each ONNX node becomes the standard torch module or function that cim.convert already knows
(Conv -> nn.Conv2d / nn.Conv1d, Gemm and MatMul with a constant -> nn.Linear, Relu -> nn.ReLU,
pools, BatchNormalization, Flatten, Reshape, Add, Concat, Softmax, ...), wired into a
torch.fx GraphModule in the graph's order. The walk runs a batch-1 example through every new
node, so shapes are known (Reshape, padding) without ONNX shape inference.

Unsupported operators or attributes are collected over the whole graph and raised at once
(cim.convert.UnsupportedLayerError: name, node index and node name of every one).

Needs the ``onnx`` package (``pip install neuropysim[onnx]``); onnxruntime only for tests.
"""
from __future__ import annotations

import operator
import re
from pathlib import Path

import numpy as np
import torch
from torch import fx, nn

from .convert import UnsupportedLayerError

__all__ = ["load_onnx", "SUPPORTED_OPS"]


class _Skip(Exception):
    """A node this walker cannot express (the message is the detail for the error list)."""


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pairs(values, n: int, default: int) -> tuple[int, ...]:
    values = list(values) if values is not None else [default] * n
    return tuple(int(v) for v in values)


def _conv_padding(a: dict, n: int) -> tuple[int, ...]:
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise _Skip(f"auto_pad={a['auto_pad']!r}")
    pads = _pairs(a.get("pads"), 2 * n, 0)
    if pads[:n] != pads[n:]:
        raise _Skip(f"asymmetric pads {list(pads)}")
    return pads[:n]


class _Walker:
    """Builds the GraphModule node by node (see module docstring)."""

    def __init__(self, model):
        from onnx import numpy_helper
        self.graph = fx.Graph()
        self.root = nn.Module()
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.values: dict[str, tuple[fx.Node, torch.Tensor]] = {}
        self.problems: dict[str, list[str]] = {}
        self.names: set[str] = set()

    # -- helpers ------------------------------------------------------------------------
    def const(self, name: str) -> np.ndarray:
        if name not in self.consts:
            raise _Skip(f"input {name!r} is not a constant")
        return self.consts[name]

    def module_name(self, node, index: int) -> str:
        base = re.sub(r"\W+", "_", node.name.strip("/")) or f"{node.op_type}_{index}"
        base = base.strip("_") or f"{node.op_type}_{index}"
        if not base[0].isalpha():
            base = f"layer_{base}"
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def add_module(self, node, index, module: nn.Module, *inputs):
        name = self.module_name(node, index)
        self.root.add_module(name, module.eval())
        fx_node = self.graph.call_module(name, tuple(v[0] for v in inputs))
        with torch.no_grad():
            example = module(*(v[1] for v in inputs))
        return fx_node, example

    def add_function(self, fn, inputs, *extra):
        fx_node = self.graph.call_function(fn, tuple(v[0] for v in inputs) + extra)
        with torch.no_grad():
            example = fn(*(v[1] for v in inputs), *extra)
        return fx_node, example


def _conv(w: _Walker, node, i, ins):
    a = _attrs(node)
    weight = torch.from_numpy(w.const(node.input[1]).copy()).float()
    n = weight.dim() - 2
    if n not in (1, 2):
        raise _Skip(f"{n}-D convolution")
    cls = nn.Conv2d if n == 2 else nn.Conv1d
    groups = int(a.get("group", 1))
    conv = cls(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
               stride=_pairs(a.get("strides"), n, 1), padding=_conv_padding(a, n),
               dilation=_pairs(a.get("dilations"), n, 1), groups=groups,
               bias=len(node.input) > 2 and bool(node.input[2]))
    conv.weight.data.copy_(weight)
    if conv.bias is not None:
        conv.bias.data.copy_(torch.from_numpy(w.const(node.input[2]).copy()))
    return w.add_module(node, i, conv, ins[0])


def _linear(w: _Walker, node, i, ins):
    a = _attrs(node)
    if node.op_type == "Gemm":
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise _Skip("transA, alpha or beta other than the defaults")
        weight = w.const(node.input[1])
        weight = weight if a.get("transB", 0) else weight.T
    else:
        weight = w.const(node.input[1]).T
    if weight.ndim != 2 or ins[0][1].dim() != 2:
        raise _Skip("inputs that are not matrices")
    bias = w.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    linear.weight.data.copy_(torch.from_numpy(np.array(weight, dtype=np.float32)))
    if bias is not None:
        linear.bias.data.copy_(torch.from_numpy(bias.reshape(-1).copy()))
    return w.add_module(node, i, linear, ins[0])


def _pool(w: _Walker, node, i, ins):
    a = _attrs(node)
    kernel = tuple(a["kernel_shape"])
    if len(kernel) != 2:
        raise _Skip(f"{len(kernel)}-D pooling")
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise _Skip("dilated pooling")
    pad = _conv_padding(a, 2)
    stride = _pairs(a.get("strides"), 2, 1)
    ceil = bool(a.get("ceil_mode", 0))
    if node.op_type == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise _Skip("the Indices output")
        pool = nn.MaxPool2d(kernel, stride, pad, ceil_mode=ceil)
    else:
        pool = nn.AvgPool2d(kernel, stride, pad, ceil_mode=ceil,
                            count_include_pad=bool(a.get("count_include_pad", 0)))
    return w.add_module(node, i, pool, ins[0])


def _batchnorm(w: _Walker, node, i, ins):
    a = _attrs(node)
    scale, bias, mean, var = (torch.from_numpy(w.const(n).copy()).float() for n in node.input[1:5])
    dims = ins[0][1].dim()
    if dims not in (2, 3, 4):
        raise _Skip(f"a {dims}-D input")
    bn = (nn.BatchNorm2d if dims == 4 else nn.BatchNorm1d)(scale.numel(), eps=a.get("epsilon", 1e-5))
    for name, value in (("weight", scale), ("bias", bias), ("running_mean", mean),
                        ("running_var", var)):
        getattr(bn, name).data.copy_(value)
    return w.add_module(node, i, bn, ins[0])


def _clip(w: _Walker, node, i, ins):
    a = _attrs(node)
    lo = a.get("min", float(w.const(node.input[1])) if len(node.input) > 1 and node.input[1] else None)
    hi = a.get("max", float(w.const(node.input[2])) if len(node.input) > 2 and node.input[2] else None)
    if lo == 0 and hi is None:
        return w.add_module(node, i, nn.ReLU(), ins[0])
    if lo == 0 and hi == 6:
        return w.add_module(node, i, nn.ReLU6(), ins[0])
    raise _Skip(f"clip range [{lo}, {hi}] (only ReLU [0, inf) and ReLU6 [0, 6])")


def _reshape(w: _Walker, node, i, ins):
    x = ins[0][1]
    if node.op_type == "Flatten":
        axis = _attrs(node).get("axis", 1)
        if axis != 1:
            raise _Skip(f"axis={axis}")
        return w.add_module(node, i, nn.Flatten(), ins[0])
    shape = [int(v) for v in w.const(node.input[1])]
    if _attrs(node).get("allowzero", 0):
        raise _Skip("allowzero=1")
    shape = [x.shape[k] if v == 0 else v for k, v in enumerate(shape)]
    if not shape or shape[0] not in (-1, x.shape[0]):
        raise _Skip(f"a reshape across the batch dimension ({shape})")
    try:                          # the per-image shape, made concrete on the batch-1 example
        concrete = x.reshape(x.shape[0], *shape[1:]).shape[1:]
    except RuntimeError as err:
        raise _Skip(f"target shape {shape} ({err})") from None
    return w.add_function(torch.reshape, ins, (-1, *concrete))


def _add(w: _Walker, node, i, ins):
    consts = [n for n in node.input if n in w.consts]
    if not consts:
        return w.add_function(operator.add, ins)
    # MatMul + constant bias (what exporters emit for a Linear): fold into that layer
    source = ins[0][0]
    module = w.root.get_submodule(source.target) if source.op == "call_module" else None
    if len(consts) == 1 and isinstance(module, nn.Linear) and module.bias is None:
        bias = w.consts[consts[0]].reshape(-1)
        if bias.size == module.out_features:
            bias = torch.from_numpy(bias.astype(np.float32).copy())
            module.bias = nn.Parameter(bias)
            return source, ins[0][1] + bias
    raise _Skip("adding a constant tensor that is not a Linear layer's bias")


def _concat(w: _Walker, node, i, ins):
    axis = int(_attrs(node)["axis"])
    if axis in (0, -ins[0][1].dim()):
        raise _Skip("concatenation along the batch dimension")
    fx_node = w.graph.call_function(torch.cat, ([v[0] for v in ins],), {"dim": axis})
    return fx_node, torch.cat([v[1] for v in ins], dim=axis)


def _softmax(w: _Walker, node, i, ins):
    axis = int(_attrs(node).get("axis", -1))
    if axis not in (-1, ins[0][1].dim() - 1):
        raise _Skip(f"axis={axis} (only the last axis)")
    return w.add_module(node, i, nn.Softmax(dim=-1), ins[0])


def _fold(w: _Walker, node) -> np.ndarray:
    """Shape arithmetic on constants (``x.view(x.size(0), -1)`` exports Shape, Gather,
    Unsqueeze, Concat): evaluated once on the batch-1 example, so the reshape gets a constant
    target whose batch entry (1) _reshape turns back into -1."""
    if node.op_type == "Shape":
        return np.array(w.values[node.input[0]][1].shape, dtype=np.int64)
    if any(n and n not in w.consts for n in node.input):
        raise _Skip("computed (not constant) inputs")
    a = _attrs(node)
    args = [w.consts[n] for n in node.input if n]
    if node.op_type == "Gather":
        return np.take(args[0], args[1], axis=a.get("axis", 0))
    if node.op_type in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", args[1].tolist() if len(args) > 1 else None)
        if node.op_type == "Squeeze":
            return np.squeeze(args[0], axis=None if axes is None else tuple(axes))
        out = args[0]
        for axis in sorted(axes):
            out = np.expand_dims(out, axis)
        return out
    if node.op_type == "Concat":
        return np.concatenate([np.atleast_1d(v) for v in args], axis=a["axis"])
    return args[0].astype(np.int64 if a.get("to") == 7 else args[0].dtype)      # Cast


_FOLDED = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Cast")
_SIMPLE = {"Relu": nn.ReLU, "GlobalAveragePool": lambda: nn.AdaptiveAvgPool2d(1)}
_HANDLERS = {"Conv": _conv, "Gemm": _linear, "MatMul": _linear, "MaxPool": _pool,
             "AveragePool": _pool, "BatchNormalization": _batchnorm, "Clip": _clip,
             "Flatten": _reshape, "Reshape": _reshape, "Add": _add, "Concat": _concat,
             "Softmax": _softmax}
_ALIASES = ("Identity", "Dropout")
#: ONNX operator types this walker converts
SUPPORTED_OPS = tuple(sorted(set(_HANDLERS) | set(_SIMPLE) | set(_ALIASES) | set(_FOLDED) |
                             {"Constant"}))


def _walk_node(w: _Walker, node, index: int) -> None:
    from onnx import numpy_helper
    if node.op_type == "Constant":
        w.consts[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
        return
    if node.op_type in _FOLDED or (node.op_type == "Concat" and
                                   all(n in w.consts for n in node.input if n)):
        w.consts[node.output[0]] = _fold(w, node)
        return
    ins = [w.values[n] for n in node.input if n and n not in w.consts]
    if not ins:
        raise _Skip("no computed input")
    if node.op_type in _ALIASES:
        w.values[node.output[0]] = ins[0]
        return
    if node.op_type in _SIMPLE:
        w.values[node.output[0]] = w.add_module(node, index, _SIMPLE[node.op_type](), ins[0])
        return
    w.values[node.output[0]] = _HANDLERS[node.op_type](w, node, index, ins)


def _input_shape(model, consts) -> tuple[int, ...]:
    inputs = [v for v in model.graph.input if v.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"ONNX graph has {len(inputs)} inputs; one is supported")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if len(shape) < 2 or any(v is None or v < 1 for v in shape[1:]):
        raise ValueError(f"ONNX input {inputs[0].name!r} has shape {shape}; all dimensions but "
                         f"the batch must be fixed")
    return tuple(int(v) for v in shape[1:])


def load_onnx(path: str | Path) -> tuple[fx.GraphModule, tuple[int, ...]]:
    """(torch module, input shape without batch) of an ONNX file (module docstring).

    Raises:
        ValueError: unreadable file, dynamic input shape.
        UnsupportedLayerError: every unsupported operator, by type, index and name, at once.
    """
    try:
        import onnx
    except ImportError:
        raise ValueError("reading .onnx models needs the onnx package "
                         "(pip install 'neuropysim[onnx]' or pip install onnx)") from None
    try:
        model = onnx.load(str(path))
    except Exception as err:
        raise ValueError(f"{Path(path).name} is not a readable ONNX file "
                         f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                         ) from None
    w = _Walker(model)
    shape = _input_shape(model, w.consts)
    name = next(v.name for v in model.graph.input if v.name not in w.consts)
    w.values[name] = (w.graph.placeholder("x"), torch.zeros(1, *shape))
    bad: list[str] = []
    for index, node in enumerate(model.graph.node):
        if node.op_type not in SUPPORTED_OPS:
            bad.append(f"{node.op_type} (node {index} {node.name!r})")
            continue
        if any(n and n not in w.values and n not in w.consts for n in node.input):
            continue                              # fed by an unsupported node: listed there
        try:
            _walk_node(w, node, index)
        except _Skip as why:
            bad.append(f"{node.op_type} with {why} (node {index} {node.name!r})")
    if bad:
        raise UnsupportedLayerError(f"{Path(path).name}: unsupported ONNX operators: "
                                    f"{'; '.join(bad)}. Supported: {', '.join(SUPPORTED_OPS)}")
    outputs = [o.name for o in model.graph.output]
    if len(outputs) != 1 or outputs[0] not in w.values:
        raise UnsupportedLayerError(f"{Path(path).name}: {len(outputs)} graph outputs; one "
                                    f"computed output is supported")
    w.graph.output(w.values[outputs[0]][0])
    return fx.GraphModule(w.root, w.graph, class_name="OnnxModel").eval(), shape
