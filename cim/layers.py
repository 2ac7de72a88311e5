"""CIM versions of Conv2d and Linear: one module, four ways to compute.

:class:`CIMLayer` wraps a user's ``nn.Conv2d`` or ``nn.Linear`` (sharing its parameters) and
computes it as

* ``float``: the wrapped layer unchanged (software baseline);
* ``calibrate``: float, while recording the range of its input (activation clip value);
* ``quant``: inputs and weights quantized to integer codes (cim.quantize), product in float -
  the quantized software result;
* ``hw``: the same codes through the crossbar model (cim.crossbar): bit slicing, cells,
  sequential or parallel read with the ADC;
* ``qat``: fake-quantized inputs and weights with straight-through gradients (training).

Bias, if any, is added digitally in full precision after the array (the periphery's adder);
BatchNorm and everything else between compute layers stays in float (digital periphery).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .crossbar import Crossbar
from .workers import one_op_thread
from .quantize import QuantSpec, activation_scale, fake_quant, quantize, quantize_weight, \
    weight_scale

__all__ = ["CIMLayer", "MODES", "unfold_codes"]

MODES = ("float", "calibrate", "quant", "hw", "qat")

#: momentum of the running clip value during quantization-aware training (ours)
QAT_MOMENTUM = 0.9


class CIMLayer(nn.Module):
    """A Conv2d/Linear computed the way a CIM macro would (see module docstring)."""

    def __init__(self, inner: nn.Module, name: str):
        super().__init__()
        if not isinstance(inner, (nn.Conv2d, nn.Linear)):
            raise TypeError(f"CIMLayer wraps nn.Conv2d or nn.Linear, not {type(inner).__name__}")
        self.inner = inner
        self.name = name
        self.kind = "conv2d" if isinstance(inner, nn.Conv2d) else "linear"
        self.mode = "float"
        self.config = None
        self.is_image_input = False       # inputs are the data set's images in [0, 1]
        self.amax = 0.0                   # activation clip value (calibrated or trained)
        self.amin = 0.0                   # smallest input seen (decides signedness)
        self.signed: bool | None = None
        self.crossbar: Crossbar | None = None
        self.calibrate_adc = False        # hw forwards observe read currents (ADC calibration)
        self.record_limit = 0             # images whose input codes are kept for the trace
        self.recorded: list[torch.Tensor] = []
        self.input_hw: tuple[int, int] = (1, 1)
        self.output_hw: tuple[int, int] = (1, 1)
        self.calls = 0

    # -- set-up -----------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        return self.inner.weight

    def input_signed(self) -> bool:
        if self.signed is not None:
            return self.signed
        return (not self.is_image_input) and self.amin < 0

    def act_spec(self) -> QuantSpec:
        bits, signed = self.config.activation_bits, self.input_signed()
        amax = 1.0 if self.is_image_input else max(self.amax, -self.amin)
        return QuantSpec(bits, signed, activation_scale(amax, bits, signed))

    def weight_codes(self) -> tuple[torch.Tensor, float]:
        return quantize_weight(self.weight, self.config.weight_bits)

    def weight_matrix(self, codes: torch.Tensor) -> torch.Tensor:
        """Unrolled R x N matrix; row index c*K*K + kh*K + kw (F.unfold order, as NeuroSim)."""
        return codes.reshape(codes.shape[0], -1).t()

    def program(self, config, generator: torch.Generator | None = None) -> None:
        """Quantize the weights and program them into a crossbar for ``config``."""
        self.config = config
        codes, _ = self.weight_codes()
        self.crossbar = Crossbar(self.weight_matrix(codes), config, generator)
        if config.operation_mode == "parallel":
            self.crossbar.set_adc(config.activation_bits, self.input_signed())

    # -- forward ------------------------------------------------------------------------------
    def _linear_op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        inner = self.inner
        if self.kind == "linear":
            return F.linear(x, w)
        return F.conv2d(x, w, None, inner.stride, inner.padding, inner.dilation, inner.groups)

    def _add_bias(self, y: torch.Tensor) -> torch.Tensor:
        b = self.inner.bias
        if b is None:
            return y
        return y + (b.view(1, -1, 1, 1) if self.kind == "conv2d" else b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.kind == "conv2d":
            self.input_hw = (int(x.shape[-2]), int(x.shape[-1]))
        if self.mode == "float":
            y = self.inner(x)
        elif self.mode == "calibrate":
            self.amax = max(self.amax, float(x.detach().max()))
            self.amin = min(self.amin, float(x.detach().min()))
            y = self.inner(x)
        elif self.mode == "qat":
            y = self._qat(x)
        else:
            spec = self.act_spec()
            codes = quantize(x, spec)
            if self.record_limit and sum(int(t.shape[0]) for t in self.recorded) < \
                    self.record_limit:
                have = sum(int(t.shape[0]) for t in self.recorded)
                self.recorded.append(codes[: self.record_limit - have].clone())
            wcodes, wscale = self.weight_codes()
            if self.mode == "quant":
                y = self._linear_op(codes.to(x.dtype) * spec.scale, wcodes.to(x.dtype) * wscale)
            elif self.mode == "hw":
                y = self._hardware(codes, spec) * (spec.scale * wscale)
                y = y.to(x.dtype)
            else:
                raise ValueError(f"mode={self.mode!r} is not one of {', '.join(MODES)}")
            y = self._add_bias(y)
        if self.kind == "conv2d":
            self.output_hw = (int(y.shape[-2]), int(y.shape[-1]))
        return y

    def _qat(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if self.training and not self.is_image_input:
            # running clip value: exponential average of the batch maximum (ours)
            batch_max = float(x.detach().abs().max())
            self.amax = batch_max if self.amax == 0 else \
                QAT_MOMENTUM * self.amax + (1 - QAT_MOMENTUM) * batch_max
            self.amin = min(self.amin, float(x.detach().min()))
        xq = fake_quant(x, self.act_spec())
        wscale = weight_scale(self.weight, cfg.weight_bits)
        wq = fake_quant(self.weight, QuantSpec(cfg.weight_bits, True, wscale))
        return self._add_bias(self._linear_op(xq, wq))

    def _hardware(self, codes: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
        """Integer-product outputs (float64) of the crossbar for input codes."""
        xb = self.crossbar
        inner = self.inner
        if not xb.parallel and not xb.read_noise_per_read:
            # sequential read: exact product of the fixed levels the sense amplifiers read
            w = xb.effective_codes.t().reshape(inner.weight.shape)
            return self._linear_op(codes.to(torch.float64), w)
        with one_op_thread():              # many small operations (cim.workers)
            return self._read(codes, spec)

    def _read(self, codes: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
        """The reads of :meth:`_hardware` that go through the crossbar model."""
        xb = self.crossbar
        inner = self.inner
        if self.kind == "linear":
            rows = codes.reshape(-1, codes.shape[-1])
        else:
            n = codes.shape[0]
            rows = unfold_codes(codes, inner.kernel_size, inner.dilation, inner.padding,
                                inner.stride)
        if not xb.parallel:
            # sequential read with read noise: every read of every input vector differs
            out = xb.sense(rows, self.config.activation_bits, spec.signed)
        elif self.calibrate_adc:
            # calibration pass: record the largest read current, pass on the exact product
            xb.matmul(rows, self.config.activation_bits, spec.signed, observe=True)
            out = rows.to(torch.float64) @ xb.mapping.decode()
        else:
            out = xb.matmul(rows, self.config.activation_bits, spec.signed)
        if self.kind == "linear":
            return out.reshape(*codes.shape[:-1], -1)
        h, w = self._out_hw(codes.shape[-2:])
        return out.view(n, h * w, -1).transpose(1, 2).reshape(n, -1, h, w)

    def _out_hw(self, hw) -> tuple[int, int]:
        inner = self.inner
        return tuple(
            math.floor((hw[i] + 2 * inner.padding[i] - inner.dilation[i] *
                        (inner.kernel_size[i] - 1) - 1) / inner.stride[i] + 1) for i in range(2))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, kind={self.kind}, mode={self.mode}"


def unfold_codes(codes: torch.Tensor, kernel_size, dilation, padding, stride) -> torch.Tensor:
    """Integer im2col: input codes (n x C x H x W) -> one row per output position (n*L x R,
    positions row-major), R = C*kh*kw in F.unfold's order (c*kh*kw + i*kw + j), zero padded;
    the codes' own dtype, one copy (F.unfold needs floats and is slow with several threads)."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel_size, dilation, padding, stride
    x = F.pad(codes, (pw, pw, ph, ph)) if ph or pw else codes
    n, c, h, w = (int(v) for v in x.shape)
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    sn, sc, sy, sx = x.stride()
    view = x.as_strided((n, oh, ow, c, kh, kw), (sn, sy * sh, sx * sw, sc, sy * dh, sx * dw))
    return view.reshape(n * oh * ow, c * kh * kw)
