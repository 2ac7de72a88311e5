"""TFLite's fixed-point requantization, bit for bit (vectorized over tensors, int64).

A real multiplier ``M`` is stored as a 31-bit significand and a power-of-two shift
(``QuantizeMultiplier``); an int32 accumulator is multiplied by it with a rounding doubling
high multiply followed by a rounding right shift (``MultiplyByQuantizedMultiplier``, the
default double-rounding build). Facts from TensorFlow Lite's kernels/internal/common.h and
quantization_util.cc (gemmlowp's fixed-point arithmetic); the code is ours.
Which rounding each LiteRT kernel uses was measured against its reference kernels.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["quantize_multiplier", "multiply_by_quantized_multiplier"]


def quantize_multiplier(real) -> tuple[torch.Tensor, torch.Tensor]:
    """(significand in [2^30, 2^31), shift) per value of ``real`` (>= 0), as int64 tensors:
    ``real ~= significand * 2^(shift - 31)``."""
    real = np.atleast_1d(np.asarray(real, dtype=np.float64))
    mant, exp = np.frexp(real)
    q = np.floor(mant * (1 << 31) + 0.5).astype(np.int64)      # TfLiteRound: half away
    carry = q == (1 << 31)
    q[carry] //= 2
    exp = exp + carry
    small = exp < -31                                           # too small: multiplier 0
    q[small], exp[small] = 0, 0
    q[real == 0], exp[real == 0] = 0, 0
    return torch.from_numpy(q), torch.from_numpy(exp.astype(np.int64))


def _rounding_doubling_high_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """gemmlowp SaturatingRoundingDoublingHighMul for int32 values held in int64."""
    ab = a * b
    nudge = torch.where(ab >= 0, torch.full_like(ab, 1 << 30),
                        torch.full_like(ab, 1 - (1 << 30)))
    return torch.div(ab + nudge, 1 << 31, rounding_mode="trunc")


def _rounding_divide_by_pot(x: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero."""
    mask = torch.bitwise_left_shift(torch.ones_like(exponent), exponent) - 1
    remainder = torch.bitwise_and(x, mask)
    threshold = torch.bitwise_right_shift(mask, 1) + (x < 0).to(x.dtype)
    return torch.bitwise_right_shift(x, exponent) + (remainder > threshold).to(x.dtype)


def multiply_by_quantized_multiplier(x: torch.Tensor, significand: torch.Tensor,
                                     shift: torch.Tensor, rounding: str = "double"
                                     ) -> torch.Tensor:
    """``x * M`` rounded as TFLite does (x int64 holding int32 values; significand and shift
    broadcast against x). ``rounding="double"``: high multiply, then rounding shift (the
    default build; LiteRT's reference convolutions); ``"single"``: one rounding, half up
    (``TFLITE_SINGLE_ROUNDING``; what LiteRT 2.3's reference FULLY_CONNECTED computes, measured
    in tests/test_tflite_import.py)."""
    if rounding == "single":
        total = 31 - shift
        half = torch.bitwise_left_shift(torch.ones_like(total), total - 1)
        return torch.bitwise_right_shift(x * significand + half, total)
    left = shift.clamp(min=0)
    right = (-shift).clamp(min=0)
    scaled = x * torch.bitwise_left_shift(torch.ones_like(left), left)
    return _rounding_divide_by_pot(_rounding_doubling_high_mul(scaled, significand), right)
