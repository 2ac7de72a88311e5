"""The partial-sum ADC of conventional parallel mode, and the rule that sets its range.

An ``adc_bits`` ADC maps a read current ``I`` (units of Gmax, cim.cells) to one of
``2^adc_bits`` uniformly spaced levels ``k * step``, ``k = 0 .. 2^adc_bits - 1``, rounding to the
nearest (half up) and clipping at both ends:

    k = clamp(floor(I / step + 1/2), 0, 2^adc_bits - 1)            (uniform mid-tread; ours)

With a finite on/off ratio the off-state current ``gmin * (active rows)`` is often an exact
half step (e.g. on/off 17, 1-bit cells: gmin / step = 1/16), so a column and its reference
sit exactly on a threshold and float32 rounding noise would round them apart. The decision
therefore adds ``TIE_BIAS`` (1/256 LSB) before the floor: true ties round up in every column
alike (floor(x + 1/2) commutes with integer shifts), float noise far below 1/256 LSB cannot
flip them, and the thresholds move by 0.4 % of an LSB, well below any real ADC's
non-linearity (ours).

Range rule (config.adc_range):

* ``full_scale``: the largest current a read can produce, every row on at the highest input
  level with every cell at Gmax: ``range = rows read at once`` (units of Gmax). Never clips,
  but spends codes on currents that almost never occur.
* ``calibrated``: per input plane (bit-serial: per input bit; the ADC's reference levels are
  re-set for each bit's read cycles), the current below which ``CALIBRATION_QUANTILE``
  (99.9 %) of that plane's reads on the calibration images lie (the first
  ``ADC_CALIBRATION_IMAGES`` of the evaluated data; a histogram of ``HIST_BINS`` bins over the
  full scale). Low-order input bits see large currents, high-order bits of ReLU outputs
  small ones; one range for all would spend the codes of the bits that matter most on
  currents they never produce, and covering the rarest 0.1 % would coarsen every step
  (NeuroSim's Python wrapper likewise quantizes each input bit's partial sums over their own
  observed range). On the shipped LeNet-5 this beats one range per layer (5-bit ADC: 97 %
  vs 78 %) and an MSE-optimal range (95.5 %), measured while choosing the rule (ours).

In both cases ``step = max(range / (2^adc_bits - 1), min_step)``, where ``min_step`` is the
smallest current difference the array can produce (one cell level times one input level,
cim.cells.level_step x plane resolution). When the ADC has at least as many codes as the
array has distinct currents, the step equals ``min_step``, every partial sum is read exactly,
and shift-add reconstruction equals the integer matmul (tested). One ADC range serves a
whole layer (all its arrays and columns).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import devices

__all__ = ["ADC", "CALIBRATION_IMAGES", "ADC_CALIBRATION_IMAGES", "CALIBRATION_QUANTILE",
           "HIST_BINS", "adc_step", "full_scale_range", "convert_codes"]

#: fraction of the calibration reads (per input plane) the calibrated range covers
CALIBRATION_QUANTILE = 0.999
#: bins of the read-current histogram the quantile is taken from
HIST_BINS = 4096
#: images whose reads calibrate the ADC range (a subset of the calibration images)
ADC_CALIBRATION_IMAGES = 16

#: offset added before the floor, in LSB, so exact ties decide alike (see module docstring)
TIE_BIAS = 1.0 / 256

#: images of the evaluated data used to calibrate activation clip values and ADC ranges
CALIBRATION_IMAGES = 64


def full_scale_range(rows_per_read: int) -> float:
    """Largest possible read current: every row on with a Gmax cell (units of Gmax)."""
    return float(rows_per_read)


def adc_step(current_range: float, bits: int, min_step: float) -> float:
    """Step between ADC levels for a range (see module docstring)."""
    if not current_range > 0:
        return float(min_step)
    return max(float(current_range) / (2 ** bits - 1), float(min_step))


@dataclass
class ADC:
    """A uniform ADC: ``bits`` and ``step`` (current per code, units of Gmax)."""

    bits: int
    step: float

    @property
    def top_code(self) -> int:
        return 2 ** self.bits - 1

    def codes_(self, current: torch.Tensor) -> torch.Tensor:
        """Convert currents to integer-valued codes IN PLACE (float tensor) and return it."""
        current.mul_(1.0 / self.step).add_(0.5 + TIE_BIAS)
        return current.floor_().clamp_(0, self.top_code)

    def convert(self, current: torch.Tensor) -> torch.Tensor:
        """Quantized current (same units), out of place."""
        return self.codes_(current.clone()) * self.step


def convert_codes(x_half: torch.Tensor, adc: ADC, config, ideal: bool,
                  generator: torch.Generator | None = None, curve=None) -> torch.Tensor:
    """Codes of ADC inputs given as ``I / step + 1/2 + TIE_BIAS`` (float tensor, used in place).

    Ideal converter: ``floor`` and clip (the rule above). Otherwise cim.devices.adc_convert
    (offset, gain, INL/DNL, thermal noise from ``generator``, transfer ``curve``) on the input
    in LSB; it rounds, and the tie bias stays so exact ties decide as in the ideal ADC."""
    if ideal:
        return x_half.floor_().clamp_(0, adc.top_code)
    return devices.adc_convert(x_half.sub_(0.5), adc.bits, config, generator, curve)
