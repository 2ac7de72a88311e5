"""Quantization that comes with an imported integer model (.tflite), used as it is.

A fully int8-quantized TFLite layer brings its integer weight codes, one weight scale per
output channel (zero point 0: TFLite's int8 weights are symmetric) and its input's grid
``x = (q - z) * s`` with an activation zero point ``z``. cim.layers then uses these instead
of its own quantizers: no weight is re-quantized.

Zero point, exactly (ours; the usual integer-inference identity): the array stores the codes
``w`` and is driven with the input codes ``q`` as they are, so it returns ``sum q w``. The
layer needs ``sum (q - z) w = sum q w - z * sum w``, where both sums run over the receptive
field positions that lie inside the input (padding contributes nothing on either side). The
correction ``z * sum w`` is a constant per output channel (per channel and output position
at the borders of a padded convolution) that the digital periphery subtracts like a bias:
:func:`zero_point_term` computes it once per input size.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["FixedQuantization", "zero_point_term", "per_output"]


@dataclass
class FixedQuantization:
    """Codes and grids of one imported layer (attached to the wrapped module as
    ``cim_quantization``).

    Attributes:
        weight_codes: signed integer codes with the module's weight shape.
        weight_scale: per output channel (tensor of Cout) or per tensor (float).
        input_scale, input_zero_point: the input grid ``x = (q - z) * s``.
        input_bits: bits of the input codes (8 for int8).
    """

    weight_codes: torch.Tensor
    weight_scale: torch.Tensor | float
    input_scale: float
    input_zero_point: int
    input_bits: int = 8

    @property
    def weight_bits(self) -> int:
        """Bits the codes need (signed): 8 for int8 weights."""
        peak = int(self.weight_codes.abs().max()) if self.weight_codes.numel() else 0
        return max(2, int(peak).bit_length() + 1)

    def check(self, config, layer: str) -> None:
        """The configured precisions must hold the imported codes as they are."""
        for field, need in (("weight_bits", self.weight_bits),
                            ("activation_bits", self.input_bits)):
            have = getattr(config, field)
            if have < need:
                raise ValueError(f"{field}={have} cannot hold layer {layer!r}'s imported "
                                 f"{need}-bit codes as they are (an imported integer model is "
                                 f"never re-quantized); use {field} >= {need}")


def per_output(scale, ndim: int, channel_dim: int = 1):
    """A per-output-channel scale shaped to broadcast over a tensor of ``ndim`` dimensions
    whose channels are ``channel_dim`` (a float passes through)."""
    if not isinstance(scale, torch.Tensor) or scale.dim() == 0:
        return scale
    shape = [1] * ndim
    shape[channel_dim] = -1
    return scale.reshape(shape)


def zero_point_term(layer, zero_point: int, input_hw: tuple[int, int]) -> torch.Tensor | float:
    """``z * sum w`` over the in-bounds receptive field, float64, shaped like the layer's
    output for one image (module docstring); cached per input size."""
    if not zero_point:
        return 0.0
    key = (zero_point, tuple(input_hw))
    cache = layer.__dict__.setdefault("_zero_point_cache", {})
    if key not in cache:
        codes = layer.weight_codes()[0].to(torch.float64)
        inner = layer.inner
        if layer.kind == "linear":
            term = codes.sum(1)
        else:
            conv = F.conv1d if layer.kind == "conv1d" else F.conv2d
            size = input_hw[1:] if layer.kind == "conv1d" else input_hw
            ones = torch.ones(1, inner.in_channels, *size, dtype=torch.float64)
            term = conv(ones, codes, None, inner.stride, inner.padding, inner.dilation,
                        inner.groups)
        cache[key] = zero_point * term
    return cache[key]
