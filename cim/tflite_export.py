"""Write a small torch network as a fully int8-quantized ``.tflite`` flatbuffer, without
TensorFlow (the ``tflite`` package's generated builders + ``flatbuffers``).

Used by ``make_examples.py`` (the shipped example) and by the tests, which compare our
import of the file with the official LiteRT interpreter. Post-training quantization, ours,
following TFLite's int8 conventions (TensorFlow Lite 8-bit quantization specification):

* weights: symmetric int8 in [-127, 127], one scale per output channel for convolutions
  (``max|w_c| / 127``), one per tensor for fully connected layers; zero point 0;
* bias: int32 with scale ``s_input * s_weight[c]``;
* activations: asymmetric int8, ``scale = (max - min) / 255`` over calibration inputs (range
  widened to include 0), ``zero_point = round(-128 - min / scale)``; the input is the image
  grid ``1/255``, zero point -128 (pixels k/255 exactly);
* pools and reshapes keep their input's grid; softmax outputs ``1/256``, zero point -128.

Supported torch layers (traced with torch.fx): Conv2d (groups 1, or depthwise; a BatchNorm2d
right after it is folded into its weights and bias), Linear,
ReLU / ReLU6 / Hardtanh(-1, 1) fused into the layer or add before them, ZeroPad2d folded into
the next convolution's SAME padding, MaxPool2d, AvgPool2d, Flatten, ``+``, Softmax.
"""
from __future__ import annotations

import importlib
import operator

import numpy as np
import torch
from torch import fx, nn

__all__ = ["export_int8_tflite", "TFLiteWriter"]

_INT8, _INT32 = 9, 2
_OPS = {"ADD": (0, 2), "AVERAGE_POOL_2D": (1, 2), "CONV_2D": (3, 3),
        "DEPTHWISE_CONV_2D": (4, 3), "FULLY_CONNECTED": (9, 4), "MAX_POOL_2D": (17, 2),
        "RESHAPE": (22, 1), "SOFTMAX": (25, 2)}
_FUSED = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def _fb(name: str):
    """A generated module of the tflite package (its builder functions)."""
    return importlib.import_module(f"tflite.{name}")


class TFLiteWriter:
    """Collects tensors, buffers and operators, then serializes one subgraph."""

    def __init__(self):
        self.tensors: list[dict] = []
        self.buffers: list[bytes] = [b""]                 # buffer 0: empty, by convention
        self.ops: list[tuple] = []
        self.codes: list[str] = []

    def tensor(self, name: str, shape, dtype: int, data: np.ndarray | None = None,
               scale=None, zero_point=None, qdim: int = 0) -> int:
        buffer = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data).tobytes())
            buffer = len(self.buffers) - 1
        self.tensors.append(dict(name=name, shape=[int(v) for v in shape], type=dtype,
                                 buffer=buffer, scale=scale, zero_point=zero_point, qdim=qdim))
        return len(self.tensors) - 1

    def op(self, kind: str, inputs, outputs, options: tuple[str, dict] | None = None) -> None:
        if kind not in self.codes:
            self.codes.append(kind)
        self.ops.append((self.codes.index(kind), list(inputs), list(outputs), options))

    # -- serialization ------------------------------------------------------------------
    @staticmethod
    def _vector(b, module: str, field: str, values, prepend: str) -> int:
        getattr(_fb(module), f"{module}Start{field}Vector")(b, len(values))
        for v in reversed(list(values)):
            getattr(b, prepend)(v)
        return b.EndVector()

    def _quantization(self, b, t: dict) -> int | None:
        if t["scale"] is None:
            return None
        q = "QuantizationParameters"
        scale = self._vector(b, q, "Scale", np.atleast_1d(t["scale"]).astype(float),
                             "PrependFloat32")
        zero = self._vector(b, q, "ZeroPoint", np.atleast_1d(t["zero_point"]).astype(int),
                            "PrependInt64")
        mod = _fb(q)
        mod.QuantizationParametersStart(b)
        mod.QuantizationParametersAddScale(b, scale)
        mod.QuantizationParametersAddZeroPoint(b, zero)
        mod.QuantizationParametersAddQuantizedDimension(b, t["qdim"])
        return mod.QuantizationParametersEnd(b)

    def _tensor(self, b, t: dict) -> int:
        name = b.CreateString(t["name"])
        shape = self._vector(b, "Tensor", "Shape", t["shape"], "PrependInt32")
        quant = self._quantization(b, t)
        mod = _fb("Tensor")
        mod.TensorStart(b)
        mod.TensorAddShape(b, shape)
        mod.TensorAddType(b, t["type"])
        mod.TensorAddBuffer(b, t["buffer"])
        mod.TensorAddName(b, name)
        if quant is not None:
            mod.TensorAddQuantization(b, quant)
        return mod.TensorEnd(b)

    @staticmethod
    def _options(b, kind: str, fields: dict) -> int:
        mod = _fb(kind)
        getattr(mod, f"{kind}Start")(b)
        for key, value in fields.items():
            getattr(mod, f"{kind}Add{key}")(b, value)
        return getattr(mod, f"{kind}End")(b)

    def _operator(self, b, op) -> int:
        code, inputs, outputs, options = op
        ins = self._vector(b, "Operator", "Inputs", inputs, "PrependInt32")
        outs = self._vector(b, "Operator", "Outputs", outputs, "PrependInt32")
        opts = self._options(b, options[0], options[1]) if options else None
        mod = _fb("Operator")
        mod.OperatorStart(b)
        mod.OperatorAddOpcodeIndex(b, code)
        mod.OperatorAddInputs(b, ins)
        mod.OperatorAddOutputs(b, outs)
        if options:
            mod.OperatorAddBuiltinOptionsType(b, getattr(_fb("BuiltinOptions").BuiltinOptions,
                                                         options[0]))
            mod.OperatorAddBuiltinOptions(b, opts)
        return mod.OperatorEnd(b)

    def _subgraph(self, b, inputs, outputs) -> int:
        tensors = [self._tensor(b, t) for t in self.tensors]
        ops = [self._operator(b, op) for op in self.ops]
        sg = "SubGraph"
        t_vec = self._vector(b, sg, "Tensors", tensors, "PrependUOffsetTRelative")
        o_vec = self._vector(b, sg, "Operators", ops, "PrependUOffsetTRelative")
        i_vec = self._vector(b, sg, "Inputs", inputs, "PrependInt32")
        out_vec = self._vector(b, sg, "Outputs", outputs, "PrependInt32")
        mod = _fb(sg)
        mod.SubGraphStart(b)
        mod.SubGraphAddTensors(b, t_vec)
        mod.SubGraphAddInputs(b, i_vec)
        mod.SubGraphAddOutputs(b, out_vec)
        mod.SubGraphAddOperators(b, o_vec)
        return mod.SubGraphEnd(b)

    def _opcode(self, b, kind: str) -> int:
        if kind in _OPS:
            code, version = _OPS[kind]
        else:                                   # any other builtin (tests of refusals)
            code, version = getattr(_fb("BuiltinOperator").BuiltinOperator, kind), 1
        mod = _fb("OperatorCode")
        mod.OperatorCodeStart(b)
        mod.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        mod.OperatorCodeAddBuiltinCode(b, code)
        mod.OperatorCodeAddVersion(b, version)
        return mod.OperatorCodeEnd(b)

    def _buffer(self, b, data: bytes) -> int:
        vec = b.CreateNumpyVector(np.frombuffer(data, dtype=np.uint8)) if data else None
        mod = _fb("Buffer")
        mod.BufferStart(b)
        if vec is not None:
            mod.BufferAddData(b, vec)
        return mod.BufferEnd(b)

    def to_bytes(self, inputs, outputs, description: str = "NeuroPySim export") -> bytes:
        import flatbuffers
        b = flatbuffers.Builder(1024)
        subgraph = self._subgraph(b, inputs, outputs)
        codes = [self._opcode(b, k) for k in self.codes]
        buffers = [self._buffer(b, data) for data in self.buffers]
        desc = b.CreateString(description)
        m = "Model"
        sg_vec = self._vector(b, m, "Subgraphs", [subgraph], "PrependUOffsetTRelative")
        code_vec = self._vector(b, m, "OperatorCodes", codes, "PrependUOffsetTRelative")
        buf_vec = self._vector(b, m, "Buffers", buffers, "PrependUOffsetTRelative")
        mod = _fb(m)
        mod.ModelStart(b)
        mod.ModelAddVersion(b, 3)
        mod.ModelAddOperatorCodes(b, code_vec)
        mod.ModelAddSubgraphs(b, sg_vec)
        mod.ModelAddDescription(b, desc)
        mod.ModelAddBuffers(b, buf_vec)
        b.Finish(mod.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


# --------------------------------------------------------------------------- exporter

def _grid(lo: float, hi: float) -> tuple[float, int]:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0 / 255.0
    return scale, int(np.clip(np.round(-128 - lo / scale), -128, 127))


def _ranges(gm: fx.GraphModule, images: torch.Tensor) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                found[n.name] = (float(out.min()), float(out.max()))
            return out
    with torch.no_grad():
        Recorder(gm).run(images)
    return found


_ACT_MODULES = ((nn.ReLU6, "RELU6"), (nn.ReLU, "RELU"))


def _activation_of(module) -> str | None:
    for cls, name in _ACT_MODULES:
        if isinstance(module, cls):
            return name
    if isinstance(module, nn.Hardtanh) and (module.min_val, module.max_val) == (-1.0, 1.0):
        return "RELU_N1_TO_1"
    return None


def _padding(size, kernel, stride, pads) -> str:
    """TFLite padding that equals explicit (before, after) pads per dimension."""
    from .tflite_import import _same_pads
    if all(p == (0, 0) for p in pads):
        return "VALID"
    if all(_same_pads(s, k, st) == p for s, k, st, p in zip(size, kernel, stride, pads)):
        return "SAME"
    raise ValueError(f"padding {pads} is neither VALID nor TFLite SAME for input {size}")


class _Exporter:
    def __init__(self, gm: fx.GraphModule, images: torch.Tensor):
        self.gm, self.w = gm, TFLiteWriter()
        self.modules = dict(gm.named_modules())
        self.ranges = _ranges(gm, images)
        self.shapes: dict[str, tuple] = {}
        self.tensor: dict[str, int] = {}           # fx node name -> tensor index
        self.grids: dict[str, tuple[float, int]] = {}
        self.pads: dict[str, tuple] = {}           # ZeroPad2d node -> (t, b, l, r)
        self.consumed: set[str] = set()            # nodes folded or fused into an operator
        with torch.no_grad():
            shapes = self.shapes

            class Shapes(fx.Interpreter):
                def run_node(self, n):
                    out = super().run_node(n)
                    if isinstance(out, torch.Tensor):
                        shapes[n.name] = tuple(out.shape[1:])
                    return out
            Shapes(gm).run(images[:1])

    def act_tensor(self, node: fx.Node, grid=None) -> int:
        shape = self.shapes[node.name]
        tfl_shape = [1, shape[1], shape[2], shape[0]] if len(shape) == 3 else [1, *shape]
        grid = grid or _grid(*self.ranges[node.name])
        self.grids[node.name] = grid
        idx = self.w.tensor(node.name, tfl_shape, _INT8, scale=grid[0], zero_point=grid[1])
        self.tensor[node.name] = idx
        return idx

    def fused(self, node: fx.Node) -> tuple[fx.Node, str]:
        """(the node whose output is the op's output, fused activation)."""
        if len(node.users) == 1:
            user = next(iter(node.users))
            act = _activation_of(self.modules.get(user.target)) if user.op == "call_module" \
                else None
            if act:
                self.consumed.add(user.name)
                return user, act
        return node, "NONE"

    def source(self, node: fx.Node) -> fx.Node:
        """The producing node, looking through a ZeroPad2d (folded into the convolution)."""
        return node.args[0] if node.name in self.pads else node

    def fold_batchnorm(self, node: fx.Node, w: np.ndarray, bias: np.ndarray):
        """A BatchNorm2d right after a convolution folded into its weights and bias:
        ``w' = w g / sqrt(v + eps)``, ``b' = (b - m) g / sqrt(v + eps) + beta``."""
        if len(node.users) != 1:
            return node, w, bias
        user = next(iter(node.users))
        bn = self.modules.get(user.target) if user.op == "call_module" else None
        if not isinstance(bn, nn.BatchNorm2d):
            return node, w, bias
        factor = (bn.weight.detach().double() /
                  torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
        w = w * factor.reshape(-1, 1, 1, 1)
        bias = (bias - bn.running_mean.double().numpy()) * factor + \
            bn.bias.detach().double().numpy()
        self.consumed.add(user.name)
        return user, w, bias

    # -- operators ------------------------------------------------------------------------
    def conv(self, node: fx.Node, conv: nn.Conv2d) -> fx.Node:
        arg = node.args[0]
        t, bt, l, r = self.pads.get(arg.name, (0, 0, 0, 0))
        src = self.source(arg)
        size = self.shapes[src.name][1:]
        pads = ((t + conv.padding[0], bt + conv.padding[0]),
                (l + conv.padding[1], r + conv.padding[1]))
        padding = _padding(size, conv.kernel_size, conv.stride, pads)
        w = conv.weight.detach().double().numpy()
        bias = conv.bias.detach().double().numpy() if conv.bias is not None else \
            np.zeros(w.shape[0])
        node, w, bias = self.fold_batchnorm(node, w, bias)
        depthwise = conv.groups > 1
        if depthwise and conv.groups != conv.in_channels:
            raise ValueError(f"{node.name}: groups={conv.groups} (only 1 or depthwise)")
        s_w = np.abs(w).reshape(w.shape[0], -1).max(1) / 127.0
        s_w[s_w == 0] = 1.0
        codes = np.clip(np.round(w / s_w[:, None, None, None]), -127, 127).astype(np.int8)
        s_in = self.grids[src.name][0]
        out, act = self.fused(node)
        if depthwise:
            filt, qdim = codes[:, 0].transpose(1, 2, 0)[None], 3      # [1, KH, KW, O]
        else:
            filt, qdim = codes.transpose(0, 2, 3, 1), 0                # [O, KH, KW, I]
        f_idx = self.w.tensor(f"{node.name}/filter", filt.shape, _INT8, filt, s_w,
                              np.zeros(len(s_w), dtype=int), qdim)
        b_idx = self.w.tensor(f"{node.name}/bias", [len(bias)], _INT32,
                              np.round(bias / (s_in * s_w)).astype(np.int32), s_in * s_w,
                              np.zeros(len(s_w), dtype=int))
        o_idx = self.act_tensor(out)
        fields = dict(Padding=0 if padding == "SAME" else 1, StrideW=conv.stride[1],
                      StrideH=conv.stride[0], FusedActivationFunction=_FUSED[act],
                      DilationWFactor=conv.dilation[1], DilationHFactor=conv.dilation[0])
        if depthwise:
            fields["DepthMultiplier"] = conv.out_channels // conv.in_channels
        kind = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        self.w.op(kind, [self.tensor[src.name], f_idx, b_idx], [o_idx],
                  ("DepthwiseConv2DOptions" if depthwise else "Conv2DOptions", fields))
        return out

    def linear(self, node: fx.Node, fc: nn.Linear) -> fx.Node:
        src = node.args[0]
        w = fc.weight.detach().double().numpy()
        feeding = src.args[0] if isinstance(self.modules.get(src.target), nn.Flatten) else None
        if feeding is not None and len(self.shapes[feeding.name]) == 3:
            c, h, wd = self.shapes[feeding.name]        # torch flattens CHW, TFLite HWC
            w = w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        s_w = max(float(np.abs(w).max()) / 127.0, 1e-12)
        codes = np.clip(np.round(w / s_w), -127, 127).astype(np.int8)
        s_in = self.grids[src.name][0]
        bias = fc.bias.detach().double().numpy() if fc.bias is not None else np.zeros(len(w))
        out, act = self.fused(node)
        f_idx = self.w.tensor(f"{node.name}/weights", codes.shape, _INT8, codes, s_w, 0)
        b_idx = self.w.tensor(f"{node.name}/bias", [len(bias)], _INT32,
                              np.round(bias / (s_in * s_w)).astype(np.int32), s_in * s_w, 0)
        o_idx = self.act_tensor(out)
        self.w.op("FULLY_CONNECTED", [self.tensor[src.name], f_idx, b_idx], [o_idx],
                  ("FullyConnectedOptions", dict(FusedActivationFunction=_FUSED[act])))
        return out

    def same_grid(self, node: fx.Node, kind: str, options=None) -> fx.Node:
        src = node.args[0]
        out, act = self.fused(node) if options else (node, "NONE")
        o_idx = self.act_tensor(out, self.grids[src.name])
        if options:
            options[1]["FusedActivationFunction"] = _FUSED[act]
        self.w.op(kind, [self.tensor[src.name]], [o_idx], options)
        return out

    def pool(self, node: fx.Node, pool) -> fx.Node:
        k = pool.kernel_size if isinstance(pool.kernel_size, tuple) else (pool.kernel_size,) * 2
        s = pool.stride if isinstance(pool.stride, tuple) else (pool.stride,) * 2
        if pool.padding not in (0, (0, 0)) or pool.ceil_mode:
            raise ValueError(f"{node.name}: only unpadded pooling is exported")
        kind = "MAX_POOL_2D" if isinstance(pool, nn.MaxPool2d) else "AVERAGE_POOL_2D"
        return self.same_grid(node, kind, ("Pool2DOptions", dict(
            Padding=1, StrideW=s[1], StrideH=s[0], FilterWidth=k[1], FilterHeight=k[0])))

    def add(self, node: fx.Node) -> fx.Node:
        a, c = node.args
        out, act = self.fused(node)
        o_idx = self.act_tensor(out)
        self.w.op("ADD", [self.tensor[a.name], self.tensor[c.name]], [o_idx],
                  ("AddOptions", dict(FusedActivationFunction=_FUSED[act])))
        return out

    def softmax(self, node: fx.Node) -> fx.Node:
        o_idx = self.act_tensor(node, (1.0 / 256.0, -128))
        self.w.op("SOFTMAX", [self.tensor[node.args[0].name]], [o_idx],
                  ("SoftmaxOptions", dict(Beta=1.0)))
        return node

    def node(self, node: fx.Node) -> fx.Node:
        module = self.modules.get(node.target) if node.op == "call_module" else None
        if isinstance(module, nn.ZeroPad2d):
            l, r, t, b = module.padding
            self.pads[node.name] = (t, b, l, r)
            return node
        if isinstance(module, nn.Conv2d):
            return self.conv(node, module)
        if isinstance(module, nn.Linear):
            return self.linear(node, module)
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            return self.pool(node, module)
        if isinstance(module, nn.Flatten):
            shape = [1, *self.shapes[node.name]]
            o_idx = self.act_tensor(node, self.grids[node.args[0].name])
            s_idx = self.w.tensor(f"{node.name}/shape", [len(shape)], _INT32,
                                  np.array(shape, dtype=np.int32))
            self.w.op("RESHAPE", [self.tensor[node.args[0].name], s_idx], [o_idx])
            return node
        if isinstance(module, nn.Softmax):
            return self.softmax(node)
        if node.op == "call_function" and node.target in (operator.add, torch.add):
            return self.add(node)
        raise ValueError(f"{node.name}: {module or node.target} is not exported")


def export_int8_tflite(model: nn.Module, images: torch.Tensor) -> bytes:
    """The flatbuffer of ``model`` quantized to int8 on calibration ``images`` (N x C x H x W
    in [0, 1]); see the module docstring for the rules."""
    gm = fx.symbolic_trace(model.eval())
    ex = _Exporter(gm, images)
    out_node = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            ex.act_tensor(node, (1.0 / 255.0, -128))
        elif node.op == "output":
            out_node = node.args[0]
        elif node.name not in ex.consumed:
            ex.node(node)
    return ex.w.to_bytes([0], [ex.tensor[out_node.name]])
