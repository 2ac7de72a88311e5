"""Quantizers: real weights and activations to the integer codes the hardware stores and applies.

Conventions (ours, chosen to match the trace contract of DESIGN.md §3):

* Weights: symmetric, per tensor, signed two's-complement codes.
  ``scale = max|w| / (2^(b-1) - 1)``, ``code = clamp(round(w / scale), -2^(b-1), 2^(b-1) - 1)``,
  ``w ~= code * scale``. The most negative code -2^(b-1) is legal (the trace allows it) but a
  symmetric scale never produces it from max|w|; clipping keeps us inside the range anyway.
* Activations (the inputs of a compute layer): a clip value ``amax`` per layer.
  Unsigned (after ReLU, or images in [0, 1]): ``scale = amax / (2^b - 1)``,
  ``code = clamp(round(x / scale), 0, 2^b - 1)``.
  Signed (inputs that can be negative): ``scale = amax / (2^(b-1) - 1)``,
  ``code = clamp(round(x / scale), -2^(b-1), 2^(b-1) - 1)``.
  Images in [0, 1] therefore get ``code = round(x * (2^b - 1))`` (amax = 1).

Imported integer models (.tflite) bring their own activation grids with a zero point:
``x ~= (code - zero_point) * scale`` (``QuantSpec.zero_point``; 0 everywhere else).

Rounding is round-half-to-even (``torch.round``); the codes of a value exactly between two
levels are therefore the even one, which the tests pin down by hand.

``fake_quant`` returns ``code * scale`` with a straight-through estimator (STE; Bengio et al.
2013, "Estimating or propagating gradients through stochastic neurons"): the forward pass sees
the quantized value, the backward pass passes the gradient unchanged inside the clip range and
blocks it outside (the clipped-STE of PACT / Choi et al. 2018).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "QuantSpec",
    "weight_range",
    "activation_range",
    "weight_scale",
    "activation_scale",
    "quantize",
    "quantize_weight",
    "quantize_activation",
    "fake_quant",
]


@dataclass(frozen=True)
class QuantSpec:
    """Integer grid of one tensor: ``value = (code - zero_point) * scale``, code in
    [qmin, qmax]."""

    bits: int
    signed: bool
    scale: float
    zero_point: int = 0

    @property
    def qmin(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2 ** self.bits - 1


def weight_range(bits: int) -> tuple[int, int]:
    """Signed code range of ``bits``-bit weights: [-2^(b-1), 2^(b-1) - 1]."""
    _check_bits(bits)
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def activation_range(bits: int, signed: bool) -> tuple[int, int]:
    """Code range of ``bits``-bit activations, unsigned [0, 2^b - 1] or signed two's complement."""
    _check_bits(bits)
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def _check_bits(bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise ValueError(f"bits={bits!r} must be an integer between 1 and 16")


def weight_scale(w: torch.Tensor, bits: int, clip: float = 1.0) -> float:
    """Symmetric per-tensor scale: clip * max|w| / (2^(b-1) - 1) (ours; 1-bit weights use
    max|w|). ``clip`` in (0, 1]: a fraction of max|w| where the codes saturate (weights
    beyond it are clipped; calibration's weight scaling, cim.calibration).

    An all-zero tensor gets scale 1.0 so every code is 0 and nothing divides by zero.
    """
    _check_bits(bits)
    if not 0.0 < clip <= 1.0:
        raise ValueError(f"weight clip={clip!r} must lie in (0, 1]")
    amax = clip * float(w.detach().abs().max()) if w.numel() else 0.0
    levels = max(2 ** (bits - 1) - 1, 1)
    return amax / levels if amax > 0 else 1.0


def activation_scale(amax: float, bits: int, signed: bool) -> float:
    """Scale of an activation grid with clip value ``amax`` (see module docstring)."""
    _check_bits(bits)
    levels = max(2 ** (bits - 1) - 1, 1) if signed else 2 ** bits - 1
    return float(amax) / levels if amax > 0 else 1.0


def quantize(x: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """Integer codes (int32 tensor) of ``x`` on ``spec``'s grid, rounded half-to-even, clipped."""
    codes = torch.round(x.detach() / spec.scale)
    if spec.zero_point:
        codes += spec.zero_point
    return codes.clamp_(spec.qmin, spec.qmax).to(torch.int32)


def quantize_weight(w: torch.Tensor, bits: int, clip: float = 1.0
                    ) -> tuple[torch.Tensor, float]:
    """(signed int32 codes, scale) of a weight tensor (``clip``: see :func:`weight_scale`)."""
    scale = weight_scale(w, bits, clip)
    return quantize(w, QuantSpec(bits, True, scale)), scale


def quantize_activation(x: torch.Tensor, bits: int, amax: float, signed: bool
                        ) -> tuple[torch.Tensor, float]:
    """(int32 codes, scale) of an activation tensor clipped at ``amax``."""
    scale = activation_scale(amax, bits, signed)
    return quantize(x, QuantSpec(bits, signed, scale)), scale


class _FakeQuantSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, qmin, qmax):
        q = torch.round(x / scale).clamp(qmin, qmax)
        # clipped STE: gradient flows only where the value was inside the representable range
        ctx.save_for_backward((x / scale >= qmin - 0.5) & (x / scale <= qmax + 0.5))
        return q * scale

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None


def fake_quant(x: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """``quantize(x) * scale`` in the forward pass, clipped straight-through gradient backward."""
    return _FakeQuantSTE.apply(x, spec.scale, spec.qmin, spec.qmax)
