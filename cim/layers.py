"""CIM versions of Conv2d, Conv1d and Linear: one module, four ways to compute.

:class:`CIMLayer` wraps a user's ``nn.Conv2d``, ``nn.Conv1d`` or ``nn.Linear`` (sharing its
parameters; grouped and depthwise convolutions too: each group its own crossbar, cim.grouped)
and computes it as

* ``float``: the wrapped layer unchanged (software baseline);
* ``calibrate``: float, while recording the range of its input (activation clip value);
* ``quant``: inputs and weights quantized to integer codes (cim.quantize), product in float -
  the quantized software result;
* ``hw``: the same codes through the crossbar model (cim.crossbar): bit slicing, cells,
  sequential or parallel read with the ADC;
* ``qat``: fake-quantized inputs and weights with straight-through gradients (training);
* ``hw_train``: the ``hw`` value with the ``qat`` gradient (hardware-aware fine-tuning,
  cim.calibration: device effects, ADC and faults in the forward pass, straight-through
  gradients).

Bias, if any, is added digitally in full precision after the array (the periphery's adder);
BatchNorm and everything else between compute layers stays in float (digital periphery).
A Conv1d is computed as a conv2d of height 1 (kernel 1 x K), which is what the array sees.

Imported integer models (.tflite) attach their own codes and grids to the wrapped module
(``cim_quantization``, cim.fixed_quant): per-output-channel weight scales are applied
digitally after the read, the input zero point is corrected by a digital bias term.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .crossbar import Crossbar
from .fixed_quant import FixedQuantization, per_output, zero_point_term
from .grouped import make_crossbar
from .workers import one_op_thread
from .quantize import QuantSpec, activation_scale, fake_quant, quantize, quantize_weight, \
    weight_scale

__all__ = ["CIMLayer", "MODES", "unfold_codes"]

MODES = ("float", "calibrate", "quant", "hw", "qat", "hw_train")

#: momentum of the running clip value during quantization-aware training (ours)
QAT_MOMENTUM = 0.9


class CIMLayer(nn.Module):
    """A Conv2d/Linear computed the way a CIM macro would (see module docstring)."""

    def __init__(self, inner: nn.Module, name: str):
        super().__init__()
        if not isinstance(inner, (nn.Conv2d, nn.Conv1d, nn.Linear)):
            raise TypeError(f"CIMLayer wraps nn.Conv2d, nn.Conv1d or nn.Linear, not "
                            f"{type(inner).__name__}")
        self.inner = inner
        self.name = name
        self.kind = ("conv2d" if isinstance(inner, nn.Conv2d) else
                     "conv1d" if isinstance(inner, nn.Conv1d) else "linear")
        #: codes and grids of an imported integer model, used as they are (cim.fixed_quant)
        self.fixed: FixedQuantization | None = getattr(inner, "cim_quantization", None)
        self.mode = "float"
        self.config = None
        self.is_image_input = False       # inputs are the data set's images in [0, 1]
        self.amax = 0.0                   # activation clip value (calibrated or trained)
        self.amin = 0.0                   # smallest input seen (decides signedness)
        self.signed: bool | None = None
        self.crossbar: Crossbar | None = None
        self.calibrate_adc = False        # hw forwards observe read currents (ADC calibration)
        self.program_state: torch.Tensor | None = None   # generator state (cim.passes.program)
        self.record_limit = 0             # images whose input codes are kept for the trace
        self.recorded: list[torch.Tensor] = []
        #: digital output correction of the hardware read, per output channel: (gain, bias)
        #: fitted by calibration (cim.calibration); applied in ``hw`` mode only
        self.hw_gain: torch.Tensor | None = None
        self.hw_bias: torch.Tensor | None = None
        #: fraction of max|w| where the weight codes saturate (calibration's weight scaling)
        self.weight_clip = 1.0
        #: factor on the calibrated ADC range (calibration's ADC scaling; parallel mode)
        self.adc_scale = 1.0
        #: how the offset code's off-state current is removed (Crossbar.set_off_state)
        self.off_state = "column"
        self.input_hw: tuple[int, int] = (1, 1)     # a Linear over T tokens: (T, 1)
        self.output_hw: tuple[int, int] = (1, 1)
        self.calls = 0

    # -- set-up -----------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        return self.inner.weight

    def input_signed(self) -> bool:
        if self.fixed is not None:
            return True                                    # int8 codes as they are
        if self.signed is not None:
            return self.signed
        return (not self.is_image_input) and self.amin < 0

    def act_spec(self) -> QuantSpec:
        if self.fixed is not None:
            return QuantSpec(self.config.activation_bits, True, self.fixed.input_scale,
                             self.fixed.input_zero_point)
        bits, signed = self.config.activation_bits, self.input_signed()
        amax = 1.0 if self.is_image_input else max(self.amax, -self.amin)
        return QuantSpec(bits, signed, activation_scale(amax, bits, signed))

    def weight_codes(self) -> tuple[torch.Tensor, float | torch.Tensor]:
        """(codes, scale): the scale is a float, or one per output channel (imported)."""
        if self.fixed is not None:
            return self.fixed.weight_codes, self.fixed.weight_scale
        return quantize_weight(self.weight, self.config.weight_bits, self.weight_clip)

    def weight_matrix(self, codes: torch.Tensor) -> torch.Tensor:
        """Unrolled R x N matrix; row index c*K*K + kh*K + kw (F.unfold order, as NeuroSim)."""
        return codes.reshape(codes.shape[0], -1).t()

    def program(self, config, generator: torch.Generator | None = None) -> None:
        """Quantize the weights and program them into a crossbar for ``config``."""
        self.config = config
        if self.fixed is not None:
            self.fixed.check(config, self.name)
        codes, _ = self.weight_codes()
        groups = getattr(self.inner, "groups", 1)
        self.crossbar: Crossbar = make_crossbar(self.weight_matrix(codes), groups, config,
                                                generator)
        if self.off_state != "column":
            self.crossbar.set_off_state(self.off_state)
        if config.operation_mode == "parallel":
            self.crossbar.set_adc(config.activation_bits, self.input_signed())

    # -- forward ------------------------------------------------------------------------------
    def _linear_op(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        inner = self.inner
        if self.kind == "linear":
            return F.linear(x, w)
        conv = F.conv2d if self.kind == "conv2d" else F.conv1d
        return conv(x, w, None, inner.stride, inner.padding, inner.dilation, inner.groups)

    def _add_bias(self, y: torch.Tensor) -> torch.Tensor:
        b = self.inner.bias
        if b is None:
            return y
        return y + (b if self.kind == "linear" else per_output(b, y.dim()))

    def _channel_scale(self, scale, ndim: int):
        """A weight scale broadcast over outputs (channels: dim 1; linear: the last dim)."""
        return per_output(scale, ndim, ndim - 1 if self.kind == "linear" else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.kind != "linear":
            self.input_hw = (1 if x.dim() == 3 else int(x.shape[-2]), int(x.shape[-1]))
        else:                         # a Linear over T tokens, (N, T, Cin): T vectors per image
            self.input_hw = self.output_hw = (int(x.shape[1]) if x.dim() == 3 else 1, 1)
        if self.mode == "float":
            y = self.inner(x)
        elif self.mode == "calibrate":
            self.amax = max(self.amax, float(x.detach().max()))
            self.amin = min(self.amin, float(x.detach().min()))
            y = self.inner(x)
        elif self.mode == "qat":
            y = self._qat(x)
        elif self.mode == "hw_train":
            y = self._hw_train(x)
        elif self.mode in ("quant", "hw"):
            y = self._integer(x, self.mode)
        else:
            raise ValueError(f"mode={self.mode!r} is not one of {', '.join(MODES)}")
        if self.kind != "linear":
            self.output_hw = (1 if y.dim() == 3 else int(y.shape[-2]), int(y.shape[-1]))
        return y

    def _integer(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """``quant`` (integer codes, exact products) or ``hw`` (the codes through the
        crossbar, then the digital correction)."""
        spec = self.act_spec()
        codes = quantize(x, spec)
        if self.record_limit and sum(int(t.shape[0]) for t in self.recorded) < \
                self.record_limit:
            have = sum(int(t.shape[0]) for t in self.recorded)
            self.recorded.append(codes[: self.record_limit - have].clone())
        wcodes, wscale = self.weight_codes()
        if mode == "quant":
            w = (wcodes.to(x.dtype) * per_output(wscale, wcodes.dim(), 0)).to(x.dtype)
            return self._add_bias(self._linear_op((codes - spec.zero_point).to(x.dtype)
                                                  * spec.scale, w))
        y = self._hardware(codes, spec) - zero_point_term(self, spec.zero_point, self.input_hw)
        y = (y * (spec.scale * self._channel_scale(wscale, y.dim()))).to(x.dtype)
        return self.correct(self._add_bias(y))

    def _hw_train(self, x: torch.Tensor) -> torch.Tensor:
        """Hardware-aware training: the value of the hardware read (``hw``, with the crossbar
        as programmed) and the gradient of the fake-quantized layer (straight-through
        estimator over the hardware's error; the clip values stay as calibrated)."""
        with torch.no_grad():
            y_hw = self._integer(x.detach(), "hw")
        xq = fake_quant(x, self.act_spec())
        wscale = weight_scale(self.weight, self.config.weight_bits, self.weight_clip)
        wq = fake_quant(self.weight, QuantSpec(self.config.weight_bits, True, wscale))
        y = self.correct(self._add_bias(self._linear_op(xq, wq)))
        return y + (y_hw - y).detach()

    def correct(self, y: torch.Tensor) -> torch.Tensor:
        """The digital output correction ``gain * y + bias`` per output channel (identity
        until calibration fits one)."""
        if self.hw_gain is not None:
            y = y * self._channel_scale(self.hw_gain.to(y.dtype), y.dim())
        if self.hw_bias is not None:
            y = y + self._channel_scale(self.hw_bias.to(y.dtype), y.dim())
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
        wscale = weight_scale(self.weight, cfg.weight_bits, self.weight_clip)
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
        if self.kind == "linear":
            rows = codes.reshape(-1, codes.shape[-1])
        else:
            n = codes.shape[0]
            kernel, dilation, padding, stride = self.geometry_2d()
            planes = codes.unsqueeze(2) if self.kind == "conv1d" else codes
            rows = unfold_codes(planes, kernel, dilation, padding, stride)
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
        h, w = self._out_hw(planes.shape[-2:])
        out = out.view(n, h * w, -1).transpose(1, 2).reshape(n, -1, h, w)
        return out.squeeze(2) if self.kind == "conv1d" else out

    def geometry_2d(self):
        """(kernel, dilation, padding, stride) as 2-tuples; a Conv1d is a conv2d of height 1."""
        inner = self.inner
        if self.kind == "conv1d":
            return ((1, inner.kernel_size[0]), (1, inner.dilation[0]), (0, inner.padding[0]),
                    (1, inner.stride[0]))
        return inner.kernel_size, inner.dilation, inner.padding, inner.stride

    def _out_hw(self, hw) -> tuple[int, int]:
        kernel, dilation, padding, stride = self.geometry_2d()
        return tuple(
            math.floor((hw[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1)
                       / stride[i] + 1) for i in range(2))

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
