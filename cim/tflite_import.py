"""A fully int8-quantized ``.tflite`` model -> torch module that keeps the file's integers.

Compute operators become nn.Conv2d / nn.Linear carrying the file's int8 weight codes, per-
output-channel scales and input grid (cim.fixed_quant.FixedQuantization), so cim.layers
programs those codes into the crossbars as they are - never re-quantized. Every operator's
output grid and fused activation is a cim.tflite_ops module, so in ``quant`` mode the network
computes what the TFLite interpreter computes (within one output LSB; tests compare with
LiteRT), and in ``hw`` mode the same with the array in the loop.

Layout: TFLite tensors are NHWC; the imported module takes and keeps NCHW (like our data
sets), and reshapes in NHWC element order (cim.tflite_ops.Reshape). An int8 input of shape
[1, H, W, C] becomes input_shape (C, H, W).

Operators: CONV_2D (groups from the channel counts), DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SOFTMAX, QUANTIZE, DEQUANTIZE; fused NONE, RELU, RELU6,
RELU_N1_TO_1; SAME and VALID padding (SAME with more padding after than before: an explicit
zero pad before the convolution). Everything else is listed, all at once, in one
UnsupportedLayerError naming each operator and its index.

Reads the flatbuffer with the ``tflite`` package (``pip install neuropysim[tflite]``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import fx, nn

from .convert import UnsupportedLayerError
from .fixed_quant import FixedQuantization
from .tflite_ops import Add, Pool, Requantize, Reshape, Softmax

__all__ = ["load_tflite", "SUPPORTED_OPS"]

SUPPORTED_OPS = ("ADD", "AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "DEQUANTIZE",
                 "FULLY_CONNECTED", "MAX_POOL_2D", "QUANTIZE", "RESHAPE", "SOFTMAX")
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
_ACT = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


class _Skip(Exception):
    """An operator or attribute this importer cannot express (detail for the error list)."""


class _Model:
    """Read access to one subgraph: tensors, constant data, quantization, operators."""

    def __init__(self, buf: bytes):
        import tflite
        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() != 1:
            raise _Skip(f"{self.model.SubgraphsLength()} subgraphs")
        self.sub = self.model.Subgraphs(0)

    def tensor(self, i: int):
        return self.sub.Tensors(int(i))

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self.tensor(i).ShapeAsNumpy())

    def data(self, i: int) -> np.ndarray | None:
        t = self.tensor(i)
        raw = self.model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(raw, int) or raw.size == 0:
            return None
        dtype = _DTYPES.get(t.Type())
        if dtype is None:
            raise _Skip(f"tensor {t.Name().decode()!r} of type {t.Type()}")
        return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(self.shape(i)).copy()

    def is_const(self, i: int) -> bool:
        return self.model.Buffers(self.tensor(i).Buffer()).DataLength() > 0

    def quant(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(scales, zero points, quantized dimension); empty arrays when not quantized."""
        q = self.tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64), 0
        return (q.ScaleAsNumpy().astype(np.float64), q.ZeroPointAsNumpy().astype(np.int64),
                int(q.QuantizedDimension()))

    def grid(self, i: int) -> tuple[float, int]:
        """(scale, zero point) of an int8 activation tensor."""
        t = self.tensor(i)
        scales, zeros, _ = self.quant(i)
        if t.Type() != 9 or scales.size != 1:
            raise _Skip(f"tensor {t.Name().decode()!r} that is not a per-tensor int8 "
                        f"activation (only fully int8-quantized models)")
        return float(scales[0]), int(zeros[0])

    def op_name(self, op) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        return self.tfl.BUILTIN_OPCODE2NAME.get(builtin, f"BUILTIN_{builtin}")

    def options(self, op, cls):
        table = op.BuiltinOptions()
        opts = cls()
        if table is not None:
            opts.Init(table.Bytes, table.Pos)
        return opts


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite SAME padding (before, after) of one dimension (more after when odd)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class _Builder:
    """Emits torch.fx nodes for operators, running a batch-1 example to know shapes."""

    def __init__(self, m: _Model):
        self.m = m
        self.graph = fx.Graph()
        self.root = nn.Module()
        self.values: dict[int, tuple[fx.Node, torch.Tensor]] = {}
        self.count = 0

    def module(self, kind: str, module: nn.Module, *inputs):
        self.count += 1
        name = f"{kind}_{self.count}"
        self.root.add_module(name, module.eval())
        node = self.graph.call_module(name, tuple(v[0] for v in inputs))
        with torch.no_grad():
            return node, module(*(v[1] for v in inputs))

    def output_grid(self, op, value, activation: str = "NONE", accumulator_scale=None,
                    rounding: str = "double"):
        scale, zero = self.m.grid(op.OutputsAsNumpy()[0])
        return self.module("requant", Requantize(scale, zero, activation, accumulator_scale,
                                                 rounding), value)

    def activation(self, opts) -> str:
        code = opts.FusedActivationFunction()
        if code not in _ACT:
            raise _Skip(f"fused activation {code} (only NONE, RELU, RELU6, RELU_N1_TO_1)")
        return _ACT[code]


def _weights(b: _Builder, op):
    """(codes, per-channel scale tensor, float bias or None, input scale, input zero)."""
    m = b.m
    ins = op.InputsAsNumpy()
    codes = m.data(ins[1])
    if codes is None or m.tensor(ins[1]).Type() != 9:
        raise _Skip("weights that are not constant int8 (only fully int8-quantized models)")
    scales, zeros, _ = m.quant(ins[1])
    if zeros.size and np.any(zeros != 0):
        raise _Skip("asymmetric weights (non-zero weight zero points)")
    x_scale, x_zero = m.grid(ins[0])
    bias = None
    if len(ins) > 2 and ins[2] >= 0:
        bias_q = m.data(ins[2])
        if bias_q is None or m.tensor(ins[2]).Type() != 2:
            raise _Skip("a bias that is not constant int32")
        b_scales = m.quant(ins[2])[0]
        b_scales = b_scales if b_scales.size else x_scale * scales
        bias = torch.from_numpy((bias_q.astype(np.float64) * b_scales).astype(np.float32))
    return codes, scales, bias, x_scale, x_zero


def _attach(layer: nn.Module, codes_oihw: np.ndarray, scales: np.ndarray, bias,
            x_scale: float, x_zero: int) -> nn.Module:
    out = codes_oihw.shape[0]
    scale = torch.from_numpy(np.broadcast_to(scales, (out,)).copy())
    codes = torch.from_numpy(codes_oihw.astype(np.int32))
    shape = (-1,) + (1,) * (codes.dim() - 1)
    layer.weight.data.copy_((codes.double() * scale.view(shape)).float())
    if bias is not None:
        layer.bias.data.copy_(bias)
    layer.cim_quantization = FixedQuantization(codes, scale if scales.size > 1 else
                                               float(scales[0]), x_scale, x_zero)
    return layer


def _conv(b: _Builder, op, depthwise: bool):
    tfl = b.m.tfl
    opts = b.m.options(op, tfl.DepthwiseConv2DOptions if depthwise else tfl.Conv2DOptions)
    act = b.activation(opts)
    codes, scales, bias, xs, xz = _weights(b, op)
    x = b.values[int(op.InputsAsNumpy()[0])]
    cin, h, w = x[1].shape[1:]
    if depthwise:
        oihw = codes[0].transpose(2, 0, 1)[:, None]            # [1,KH,KW,O] -> [O,1,KH,KW]
        groups = cin
    else:
        oihw = codes.transpose(0, 3, 1, 2)                     # [O,KH,KW,I] -> [O,I,KH,KW]
        if cin % oihw.shape[1]:
            raise _Skip(f"{cin} input channels for filters of depth {oihw.shape[1]}")
        groups = cin // oihw.shape[1]
    kh, kw = oihw.shape[2:]
    stride = (opts.StrideH(), opts.StrideW())
    dilation = (opts.DilationHFactor() or 1, opts.DilationWFactor() or 1)
    padding = (0, 0)
    if opts.Padding() == tfl.Padding.SAME:
        (t, bt), (l, r) = (_same_pads(h, kh, stride[0], dilation[0]),
                           _same_pads(w, kw, stride[1], dilation[1]))
        if (t, l) == (bt, r):
            padding = (t, l)
        else:                       # more padding after: pad explicitly with real zeros
            x = b.module("pad", nn.ZeroPad2d((l, r, t, bt)), x)
    conv = nn.Conv2d(cin, oihw.shape[0], (kh, kw), stride, padding, dilation, groups,
                     bias=bias is not None)
    y = b.module("dwconv" if depthwise else "conv", _attach(conv, oihw, scales, bias, xs, xz), x)
    return b.output_grid(op, y, act, xs * scales)


def _fully_connected(b: _Builder, op):
    opts = b.m.options(op, b.m.tfl.FullyConnectedOptions)
    act = b.activation(opts)
    if opts.WeightsFormat() != 0:
        raise _Skip("shuffled weights format")
    codes, scales, bias, xs, xz = _weights(b, op)
    x = b.values[int(op.InputsAsNumpy()[0])]
    if x[1].dim() != 2 or x[1].shape[1] != codes.shape[1]:
        if x[1][0].numel() != codes.shape[1]:
            raise _Skip(f"input of {x[1][0].numel()} values for {codes.shape[1]} weights")
        x = b.module("flatten", Reshape((codes.shape[1],)), x)
    fc = nn.Linear(codes.shape[1], codes.shape[0], bias=bias is not None)
    y = b.module("fc", _attach(fc, codes, scales, bias, xs, xz), x)
    # LiteRT's reference FULLY_CONNECTED requantizes with one rounding (tflite_fixed_point)
    return b.output_grid(op, y, act, xs * scales, rounding="single")


def _pool(b: _Builder, op, kind: str):
    tfl = b.m.tfl
    opts = b.m.options(op, tfl.Pool2DOptions)
    act = b.activation(opts)
    ins, outs = op.InputsAsNumpy(), op.OutputsAsNumpy()
    if b.m.grid(ins[0]) != b.m.grid(outs[0]):
        raise _Skip("different input and output grids")
    x = b.values[int(ins[0])]
    h, w = x[1].shape[2:]
    kernel, stride = (opts.FilterHeight(), opts.FilterWidth()), (opts.StrideH(), opts.StrideW())
    pads = (0, 0, 0, 0)
    if opts.Padding() == tfl.Padding.SAME:
        pads = _same_pads(h, kernel[0], stride[0]) + _same_pads(w, kernel[1], stride[1])
    scale, zero = b.m.grid(outs[0])
    return b.module("maxpool" if kind == "max" else "avgpool",
                    Pool(kind, kernel, stride, pads, scale, zero, act), x)


def _add(b: _Builder, op):
    opts = b.m.options(op, b.m.tfl.AddOptions)
    act = b.activation(opts)
    ins = [int(i) for i in op.InputsAsNumpy()]
    if any(i not in b.values for i in ins):
        raise _Skip("a constant operand")
    a, c = (b.values[i] for i in ins)
    if a[1].shape != c[1].shape:
        raise _Skip(f"broadcasting {tuple(a[1].shape)} + {tuple(c[1].shape)}")
    scale, zero = b.m.grid(op.OutputsAsNumpy()[0])
    return b.module("add", Add(b.m.grid(ins[0]), b.m.grid(ins[1]), scale, zero, act), a, c)


def _reshape(b: _Builder, op):
    out = b.m.shape(op.OutputsAsNumpy()[0])
    if len(out) not in (2, 4) or out[0] != 1:
        raise _Skip(f"output shape {list(out)} (2-D or 4-D with batch 1)")
    if b.m.grid(op.InputsAsNumpy()[0]) != b.m.grid(op.OutputsAsNumpy()[0]):
        raise _Skip("different input and output grids")
    return b.module("reshape", Reshape(out[1:]), b.values[int(op.InputsAsNumpy()[0])])


def _softmax(b: _Builder, op):
    beta = b.m.options(op, b.m.tfl.SoftmaxOptions).Beta()
    scale, zero = b.m.grid(op.OutputsAsNumpy()[0])
    return b.module("softmax", Softmax(beta, scale, zero), b.values[int(op.InputsAsNumpy()[0])])


def _quantize(b: _Builder, op):
    scale, zero = b.m.grid(op.OutputsAsNumpy()[0])
    return b.module("quantize", Requantize(scale, zero), b.values[int(op.InputsAsNumpy()[0])])


_HANDLERS = {"CONV_2D": lambda b, op: _conv(b, op, False),
             "DEPTHWISE_CONV_2D": lambda b, op: _conv(b, op, True),
             "FULLY_CONNECTED": _fully_connected, "ADD": _add,
             "MAX_POOL_2D": lambda b, op: _pool(b, op, "max"),
             "AVERAGE_POOL_2D": lambda b, op: _pool(b, op, "avg"),
             "RESHAPE": _reshape, "SOFTMAX": _softmax, "QUANTIZE": _quantize,
             "DEQUANTIZE": lambda b, op: b.values[int(op.InputsAsNumpy()[0])]}


def _input(b: _Builder) -> tuple[int, ...]:
    m = b.m
    if m.sub.InputsLength() != 1 or m.sub.OutputsLength() != 1:
        raise UnsupportedLayerError(f"{m.sub.InputsLength()} inputs and "
                                    f"{m.sub.OutputsLength()} outputs; one of each is supported")
    index = int(m.sub.InputsAsNumpy()[0])
    shape = m.shape(index)
    if len(shape) not in (2, 4) or shape[0] != 1:
        raise UnsupportedLayerError(f"input shape {list(shape)}; [1, H, W, C] or [1, F] is "
                                    f"supported")
    ours = (shape[3], shape[1], shape[2]) if len(shape) == 4 else (shape[1],)
    x = (b.graph.placeholder("x"), torch.zeros(1, *ours))
    if m.tensor(index).Type() == 9:      # int8 input: the data set's values go onto its grid
        scale, zero = m.grid(index)
        x = b.module("quantize", Requantize(scale, zero), x)
    b.values[index] = x
    return ours


def load_tflite(path: str | Path) -> tuple[fx.GraphModule, tuple[int, ...]]:
    """(torch module, input shape without batch, NCHW) of an int8 ``.tflite`` file.

    Raises:
        ValueError: unreadable file.
        UnsupportedLayerError: every unsupported operator or attribute, by name and index.
    """
    try:
        import tflite  # noqa: F401
    except ImportError:
        raise ValueError("reading .tflite models needs the tflite package "
                         "(pip install 'neuropysim[tflite]' or pip install tflite)") from None
    name = Path(path).name
    buf = Path(path).read_bytes()
    if buf[4:8] != b"TFL3":
        raise ValueError(f"{name} is not a readable TFLite flatbuffer (no TFL3 identifier)")
    try:
        m = _Model(buf)
        m.sub.OperatorsLength()
    except _Skip as why:
        raise UnsupportedLayerError(f"{name}: {why} (one is supported)") from None
    except Exception as err:
        raise ValueError(f"{name} is not a readable TFLite flatbuffer ({type(err).__name__})") \
            from None
    b = _Builder(m)
    shape = _input(b)
    bad: list[str] = []
    for index in range(m.sub.OperatorsLength()):
        op = m.sub.Operators(index)
        kind = m.op_name(op)
        if kind not in _HANDLERS:
            bad.append(f"{kind} (operator {index})")
            continue
        if any(int(i) not in b.values and not m.is_const(i) for i in op.InputsAsNumpy()
               if i >= 0):
            continue                              # fed by an unsupported operator: listed there
        try:
            b.values[int(op.OutputsAsNumpy()[0])] = _HANDLERS[kind](b, op)
        except _Skip as why:
            bad.append(f"{kind} with {why} (operator {index})")
    if bad:
        raise UnsupportedLayerError(f"{name}: unsupported TFLite operators: {'; '.join(bad)}. "
                                    f"Supported: {', '.join(SUPPORTED_OPS)} with fused NONE, "
                                    f"RELU, RELU6, RELU_N1_TO_1")
    out = int(m.sub.OutputsAsNumpy()[0])
    if out not in b.values:
        raise UnsupportedLayerError(f"{name}: the graph output is not computed")
    b.graph.output(b.values[out][0])
    return fx.GraphModule(b.root, b.graph, class_name="TFLiteModel").eval(), shape
