"""ADC non-idealities: offset, gain error, INL/DNL and thermal noise.

The ADC input ``x`` is expressed in LSB units of the ideal converter (the ideal output code
is ``round(x)`` clipped to the code range). The non-ideal converter computes

    x' = (1 + gain_error) * x + offset_lsb + sigma_n * z,      z ~ N(0, 1) fresh per call
    code = number of thresholds t_k (k = 1 .. 2^n - 1) with t_k <= x'   (clipped range)

with thresholds ``t_k = k - 1/2 + e_k`` (codes 0..2^n-1; a signed ADC shifts them by
-2^(n-1)). The fixed per-ADC perturbation ``e`` is drawn once from the seed (a "transfer
curve" the ADC keeps for its life) as

    e_k = A * sin(pi * k / 2^n) + u_k,   A = +-inl_lsb (random sign),
    u_k ~ U(-dnl_lsb / 2, +dnl_lsb / 2)  (independent comparator offsets, as in a flash ADC)

and then scaled down, if needed, so that max|INL| <= inl_lsb and max|DNL| <= dnl_lsb when the
bound is set (INL_k = e_k, DNL_k = e_{k+1} - e_k in LSB). A bound of 0 turns its component
off without constraining what the other implies (a bow alone has DNL <= pi*inl/2^n; jitter
alone has INL <= dnl/2). Thresholds are kept non-decreasing (missing codes are possible when
dnl_lsb >= 1).

Thermal noise: ``sigma_n = adc_noise_lsb * sqrt(T / 300 K)`` - the kT/C noise of the
sampling capacitor scales with sqrt(T) (Razavi, "Design of Analog CMOS Integrated Circuits",
kT/C noise; the configured value is the sigma at 300 K).

Sources: offset, gain, INL/DNL and noise definitions of IEEE Std 1241-2010 (ADC terminology
and test methods); yzlite's ReRAM wrapper applies Gaussian ADC noise and +-0.5 LSB DNL/INL;
CrossSim's ADC models perturb the thresholds in the same way. Config keys: ``adc_offset_lsb``,
``adc_gain_error``, ``adc_inl_lsb``, ``adc_dnl_lsb``, ``adc_noise_lsb``, ``temperature_K``.
With every key at 0 the converter is exactly ``clamp(round(x), lo, hi)`` (torch.round,
half to even).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._common import check_sigma

__all__ = ["AdcTransferCurve", "make_transfer_curve", "adc_is_ideal", "adc_convert",
           "code_range"]


def code_range(n_bits: int, signed: bool = False) -> tuple[int, int]:
    if isinstance(n_bits, bool) or not isinstance(n_bits, int) or not 1 <= n_bits <= 16:
        raise ValueError(f"adc_bits={n_bits!r} must be an integer between 1 and 16")
    if signed:
        return -(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1
    return 0, 2 ** n_bits - 1


@dataclass(frozen=True)
class AdcTransferCurve:
    """Thresholds of one non-ideal ADC (in LSB, input domain) and its realised INL/DNL."""

    n_bits: int
    signed: bool
    thresholds: torch.Tensor      # float64, 2^n - 1 values, non-decreasing
    inl_lsb: torch.Tensor         # e_k
    dnl_lsb: torch.Tensor         # e_{k+1} - e_k

    @property
    def max_inl(self) -> float:
        return float(self.inl_lsb.abs().max()) if self.inl_lsb.numel() else 0.0

    @property
    def max_dnl(self) -> float:
        return float(self.dnl_lsb.abs().max()) if self.dnl_lsb.numel() else 0.0


def make_transfer_curve(n_bits: int, inl_lsb: float, dnl_lsb: float,
                        generator: torch.Generator, signed: bool = False) -> AdcTransferCurve:
    """Draw one fixed transfer-curve perturbation (see module docstring)."""
    lo, _ = code_range(n_bits, signed)
    inl_lsb = check_sigma("adc_inl_lsb", inl_lsb)
    dnl_lsb = check_sigma("adc_dnl_lsb", dnl_lsb)
    m = 2 ** n_bits - 1
    k = torch.arange(1, m + 1, dtype=torch.float64)
    sign = 1.0 if float(torch.rand((), generator=generator, dtype=torch.float64)) < 0.5 else -1.0
    jitter = torch.rand((m,), generator=generator, dtype=torch.float64) - 0.5
    e = sign * inl_lsb * torch.sin(math.pi * k / 2 ** n_bits) + dnl_lsb * jitter
    if inl_lsb > 0 and e.numel() and float(e.abs().max()) > inl_lsb:
        e = e * (inl_lsb / float(e.abs().max()))
    diffs = e[1:] - e[:-1]
    if dnl_lsb > 0 and diffs.numel() and float(diffs.abs().max()) > dnl_lsb:
        e = e * (dnl_lsb / float(diffs.abs().max()))
    thresholds = torch.cummax(k - 0.5 + e + lo, dim=0).values
    return AdcTransferCurve(n_bits, signed, thresholds, e, e[1:] - e[:-1])


def adc_is_ideal(config) -> bool:
    return (config.adc_offset_lsb == 0 and config.adc_gain_error == 0 and config.adc_inl_lsb == 0
            and config.adc_dnl_lsb == 0 and config.adc_noise_lsb == 0)


def adc_convert(x_lsb: torch.Tensor, n_bits: int, config, generator: torch.Generator | None,
                curve: AdcTransferCurve | None = None, signed: bool = False) -> torch.Tensor:
    """Output codes (same dtype as ``x_lsb``) of the non-ideal ADC for inputs in LSB units.

    ``curve`` is the ADC's fixed transfer curve (make it once per ADC with
    ``make_transfer_curve``); it is required when ``adc_inl_lsb`` or ``adc_dnl_lsb`` > 0.
    ``generator`` supplies the fresh thermal noise (required when ``adc_noise_lsb`` > 0).
    """
    lo, hi = code_range(n_bits, signed)
    noise = check_sigma("adc_noise_lsb", config.adc_noise_lsb)
    if not config.adc_gain_error > -1:
        raise ValueError(f"adc_gain_error={config.adc_gain_error} must be > -1")
    if adc_is_ideal(config):
        return torch.clamp(torch.round(x_lsb), lo, hi)
    x = x_lsb
    if config.adc_gain_error != 0:
        x = x * (1.0 + config.adc_gain_error)
    if config.adc_offset_lsb != 0:
        x = x + config.adc_offset_lsb
    if noise > 0:
        if generator is None:
            raise ValueError("generator is required when adc_noise_lsb > 0")
        sigma = noise * math.sqrt(float(getattr(config, "temperature_K", 300.0)) / 300.0)
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=generator.device)
        x = x + sigma * z.to(x.device)
    if config.adc_inl_lsb == 0 and config.adc_dnl_lsb == 0:
        return torch.clamp(torch.round(x), lo, hi)
    if curve is None:
        raise ValueError("curve is required when adc_inl_lsb or adc_dnl_lsb > 0 "
                         "(make one per ADC with make_transfer_curve)")
    if curve.n_bits != n_bits or curve.signed != signed:
        raise ValueError(f"curve is for {curve.n_bits} bits (signed={curve.signed}), "
                         f"not adc_bits={n_bits} (signed={signed})")
    thresholds = curve.thresholds.to(device=x.device, dtype=torch.float64)
    codes = torch.bucketize(x.to(torch.float64), thresholds, right=True) + lo
    return codes.to(x_lsb.dtype)
