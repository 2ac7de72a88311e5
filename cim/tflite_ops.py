"""The digital operators of an imported int8 TFLite model, with TFLite's integer semantics.

Tensors between operators carry real values. In ``quant`` and ``hw`` modes every operator
output is put on its int8 grid ``x = (q - z) * s`` exactly as the TFLite reference kernels do
(round half away from zero, fused-activation clamp in the code domain); in ``float`` and
``calibrate`` modes the operators compute in float (the software baseline of an int8 model:
dequantized weights, float activations). Compute layers (conv, depthwise, fully connected)
are cim.layers.CIMLayer with the file's own codes (cim.fixed_quant); what follows them here.

Rounding: a compute layer's output is requantized from its integer accumulator with TFLite's
fixed-point multiplier (cim.tflite_fixed_point, bit for bit), ADD with TFLite's 20-bit
left-shift pipeline; average pooling rounds ``(sum +- n/2) / n``; the activation bounds come
from ``CalculateActivationRangeQuantized`` (TensorFlow Lite, kernels/kernel_util.cc).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .convert import DigitalStep, pool_step
from .fixed_quant import per_output
from .tflite_fixed_point import multiply_by_quantized_multiplier, quantize_multiplier

__all__ = ["ACTIVATIONS", "Requantize", "Add", "Pool", "Reshape", "Softmax", "round_half_away"]

#: fused activations TFLite may attach to an operator: (real lower, real upper) bounds
ACTIVATIONS = {"NONE": (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0),
               "RELU_N1_TO_1": (-1.0, 1.0)}
_STEP = {"NONE": None, "RELU": "relu", "RELU6": "relu6", "RELU_N1_TO_1": "relu_n1_to_1"}
_QUANTIZED = ("quant", "hw")


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """Round to the nearest integer, ties away from zero (TFLite's rounding)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


class _Grid:
    """An int8 grid with a fused activation: its code bounds and the float clamp."""

    def __init__(self, scale: float, zero_point: int, activation: str = "NONE"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"fused activation {activation!r} is not one of "
                             f"{', '.join(ACTIVATIONS)}")
        self.scale, self.zero_point, self.activation = float(scale), int(zero_point), activation
        lo, hi = ACTIVATIONS[activation]
        self.real_bounds = (lo, hi)
        # CalculateActivationRangeQuantized: bounds rounded onto the grid, inside int8
        self.qmin = -128 if lo is None else max(-128, zero_point + int(round_half_away(
            torch.tensor(lo / self.scale))))
        self.qmax = 127 if hi is None else min(127, zero_point + int(round_half_away(
            torch.tensor(hi / self.scale))))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of real values (float64), rounded and clamped like TFLite."""
        q = round_half_away(x.to(torch.float64) / self.scale) + self.zero_point
        return q.clamp_(self.qmin, self.qmax)

    def values(self, q: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return ((q - self.zero_point) * self.scale).to(like.dtype)

    def float_clamp(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.real_bounds
        return x if lo is None and hi is None else x.clamp(lo, hi)


class Requantize(DigitalStep):
    """An operator's output grid and fused activation (or a QUANTIZE operator).

    After a compute layer, ``accumulator_scale`` (``s_in * s_w``, per output channel) turns
    the layer's real output back into its integer accumulator, which TFLite's fixed-point
    multiplier ``accumulator_scale / scale`` puts on the output grid."""

    def __init__(self, scale: float, zero_point: int, activation: str = "NONE",
                 accumulator_scale=None, rounding: str = "double"):
        super().__init__()
        self.grid = _Grid(scale, zero_point, activation)
        self.step = _STEP[activation]
        self.rounding = rounding
        self.accumulator_scale = None
        if accumulator_scale is not None:
            acc = np.atleast_1d(np.asarray(accumulator_scale, dtype=np.float64))
            self.accumulator_scale = torch.from_numpy(acc)
            self.significand, self.shift = quantize_multiplier(acc / self.grid.scale)

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        if self.accumulator_scale is None:
            return self.grid.codes(x)
        nd = x.dim()
        acc = torch.round(x.to(torch.float64) / per_output(self.accumulator_scale, nd))
        q = multiply_by_quantized_multiplier(acc.to(torch.int64),
                                             per_output(self.significand, nd),
                                             per_output(self.shift, nd), self.rounding)
        return (q + self.grid.zero_point).clamp_(self.grid.qmin, self.grid.qmax)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode in _QUANTIZED:
            return self.grid.values(self._codes(x).to(torch.float64), x)
        return self.grid.float_clamp(x)

    def extra_repr(self) -> str:
        g = self.grid
        return f"scale={g.scale:.6g}, zero_point={g.zero_point}, activation={g.activation}"


class Add(DigitalStep):
    """ADD of two int8 tensors with TFLite's integer pipeline: both inputs shifted left by 20
    bits and scaled to twice the larger input scale, summed, scaled to the output grid."""

    step = "add"
    LEFT_SHIFT = 20

    def __init__(self, first: tuple[float, int], second: tuple[float, int], scale: float,
                 zero_point: int, activation: str = "NONE"):
        super().__init__()
        self.inputs = (first, second)
        self.grid = _Grid(scale, zero_point, activation)
        twice = 2 * max(first[0], second[0])
        real = [first[0] / twice, second[0] / twice,
                twice / ((1 << self.LEFT_SHIFT) * self.grid.scale)]
        self.significand, self.shift = quantize_multiplier(real)

    def _scaled(self, x: torch.Tensor, i: int) -> torch.Tensor:
        scale, zero = self.inputs[i]
        offset = torch.round(x.to(torch.float64) / scale).to(torch.int64)   # q - z, exact
        return multiply_by_quantized_multiplier(offset * (1 << self.LEFT_SHIFT),
                                                self.significand[i], self.shift[i])

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.mode not in _QUANTIZED:
            return self.grid.float_clamp(a + b)
        raw = self._scaled(a, 0) + self._scaled(b, 1)
        q = multiply_by_quantized_multiplier(raw, self.significand[2], self.shift[2])
        q = (q + self.grid.zero_point).clamp_(self.grid.qmin, self.grid.qmax)
        return self.grid.values(q.to(torch.float64), a)


class Pool(DigitalStep):
    """MAX_POOL_2D / AVERAGE_POOL_2D with explicit (top, bottom, left, right) padding: TFLite's
    SAME padding may put more on one side. Out-of-bounds positions never count (max: -inf;
    average: divided by the in-bounds count). Input and output share one grid (TFLite)."""

    def __init__(self, kind: str, kernel, stride, pads, scale: float, zero_point: int,
                 activation: str = "NONE"):
        super().__init__()
        self.kind, self.kernel, self.stride = kind, tuple(kernel), tuple(stride)
        self.pads = tuple(int(p) for p in pads)                   # top, bottom, left, right
        self.grid = _Grid(scale, zero_point, activation)
        self.step = pool_step("maxpool" if kind == "max" else "avgpool", self.kernel,
                              self.stride)

    def _padded(self, x: torch.Tensor, value: float) -> torch.Tensor:
        t, b, l, r = self.pads
        return F.pad(x, (l, r, t, b), value=value) if any(self.pads) else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        quant = self.mode in _QUANTIZED
        if self.kind == "max":
            y = F.max_pool2d(self._padded(x, float("-inf")), self.kernel, self.stride)
            return self.grid.values(self.grid.codes(y), x) if quant else self.grid.float_clamp(y)
        ones = torch.ones_like(x[:1, :1], dtype=torch.float64)
        count = F.avg_pool2d(self._padded(ones, 0.0), self.kernel, self.stride,
                             divisor_override=1)
        if not quant:
            total = F.avg_pool2d(self._padded(x.to(torch.float64), 0.0), self.kernel,
                                 self.stride, divisor_override=1)
            return self.grid.float_clamp((total / count).to(x.dtype))
        q = torch.round(x.to(torch.float64) / self.grid.scale) + self.grid.zero_point
        total = F.avg_pool2d(self._padded(q, 0.0), self.kernel, self.stride,
                             divisor_override=1)
        # reference kernel: (sum +- count/2) / count, integer division toward zero
        half = torch.floor(count / 2)
        avg = torch.sign(total) * torch.floor((total.abs() + half) / count)
        return self.grid.values(avg.clamp_(self.grid.qmin, self.grid.qmax), x)


class Reshape(DigitalStep):
    """RESHAPE (and the implicit flatten of FULLY_CONNECTED) in TFLite's NHWC element order:
    our feature maps are NCHW, so they are viewed as NHWC before reshaping (and a 4-D result
    is turned back to NCHW). Values are not changed."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(v) for v in shape)                 # without the batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        y = x.reshape(x.shape[0], *self.shape)
        return y.permute(0, 3, 1, 2) if y.dim() == 4 else y

    def extra_repr(self) -> str:
        return f"shape={self.shape} (NHWC order)"


class Softmax(DigitalStep):
    """SOFTMAX over the last axis with TFLite's ``beta``; output grid as the file says."""

    step = "softmax"

    def __init__(self, beta: float, scale: float, zero_point: int):
        super().__init__()
        self.beta = float(beta)
        self.grid = _Grid(scale, zero_point)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.softmax(x.to(torch.float64) * self.beta, dim=-1)
        if self.mode in _QUANTIZED:
            return self.grid.values(self.grid.codes(y), x)
        return y.to(x.dtype)
