"""The offset code's bias, removed with the array gain measured once per array.

The offset code stores ``u = w + 2^(b-1)`` (cim.bitslice), so every output carries the bias
``2^(b-1) * X``, ``X = sum_r x_r``, which the periphery subtracts digitally. If the array
has a common-mode gain ``f`` (power-law drift, IR drop, ADC gain error), the columns read
``f * (x.w + 2^(b-1) X)`` and a bias subtracted at the nominal gain leaves
``(1 - f) 2^(b-1) X`` - for 8-bit weights far larger than the signal. So the bias is scaled
by the array gain ``g_hat``: ``y = columns - 2^(b-1) * g_hat * X``.

``g_hat`` is measured on an **offset reference column**: ``rows`` cells of the same array
programmed to the top slice's digit of the bias, ``d_ref = 2^(b-1) >> (c (S-1))`` (1 for
1-bit cells; always a legal level), through the same device models with their own random
draws (child stream ``program_ref``; the data cells' draws do not move). It sits at the last
bit line of the array (the IR-drop model sees it there).

Calibration (ours), once per array when its ADC is set (``Crossbar.set_adc``: at programming
and again after the ADC range calibration), never from the data: ``CALIBRATION_READS`` reads
per row group and input plane with seeded random input planes (child stream ``ref_cal``; each
read's density spread over (0, 1] and capped so the nominal current stays inside the data
columns' ADC range of that plane), through the same read path as the data - conductances with
IR drop, fresh read noise (stream ``ref_cal_read``), the same ADC with its steps, transfer
curve, offset, gain and noise (stream ``ref_cal_adc``). Each read gives the reading
``r = A_ref - A_0`` (offset reference minus the level-0 reference column, level units). The
periphery compares it with the reading the nominal array would give through an ideal ADC with
the same steps, ``r_nom`` (a digital table: it knows the calibration inputs), and fits

    g_hat = sum r * r_nom / sum r_nom^2        (reads where no code clipped at the top)

Why against ``r_nom`` and not ``d_ref * X``: the ADC quantizes each reading; comparing with
what an ideal array gives through the same quantization makes ``g_hat`` exactly 1 while the
array reads like the nominal one, so the result is continuous in every effect's size (a
tiny effect changes almost no code and leaves ``g_hat`` = 1, the ideal path's digital
constant), and the quantization error of single readings - which the top slice's place
value (128 for 1-bit cells) would multiply - averages out over the reads.
Why once per array: the output of an image must not depend on which other images share its
batch (a fit over each batch did). Reads whose codes clip at the top of the ADC are left out of
the fit (counted in ``reads_clipped``).
"""
from __future__ import annotations

import torch

from . import cells
from .adc import TIE_BIAS, convert_codes
from .bitslice import WeightMapping, plane_weights
from .devices._common import child_generator
from .parallel_read import read_current
from .read_groups import GroupConductances

__all__ = ["OffsetReference", "CALIBRATION_READS"]

#: calibration reads per row group and input plane
CALIBRATION_READS = 64


class OffsetReference:
    """The offset reference column of one array and the gain it measures.

    Args:
        mapping: the array's (offset-coded) weight mapping.
        config: HardwareConfig.
        generator: the child stream that programs the reference cells.
    """

    def __init__(self, mapping: WeightMapping, config, generator: torch.Generator):
        self.mapping = mapping
        rows = int(mapping.levels.shape[0])
        self.digit = int(mapping.offset) >> (mapping.cell_bits * (mapping.slices - 1))
        self.levels = torch.full((rows, 1), self.digit, dtype=torch.int8)
        self.state, self.conductance = cells.program_cells(self.levels, config, generator)
        self.gain = 1.0                      # g_hat; 1.0 until calibrated
        #: the level-0 column's gain over the nominal Gmin, fitted on the same reads (for
        #: the digital off-state subtraction, Crossbar.set_off_state)
        self.off_gain = 1.0
        self.reads_used = 0
        self.reads_clipped = 0

    def is_nominal(self, config) -> bool:
        """True while the reference cells read as programmed, at their nominal conductance."""
        return cells.read_is_ideal(config, self.state) and torch.equal(
            self.conductance, cells.nominal_conductance(self.levels, config))

    def calibrate(self, xb, input_bits: int, signed: bool, seed: int) -> float:
        """Measure ``g_hat`` on crossbar ``xb`` (its ADC set) for inputs of ``input_bits``."""
        config = xb.config
        spec = plane_weights(input_bits, signed, config.input_encoding)
        top = float(xb.adc.top_code)
        norm = round(1.0 / spec.resolution)          # integer levels of a plane value
        ref0 = self.mapping.reference_column
        nominal = cells.nominal_conductance(
            torch.cat([self.mapping.levels[:, ref0:ref0 + 1], self.levels], dim=1), config)
        ideal = GroupConductances(nominal, xb.groups, config.replace(wire_resistance_ohm=0.0))
        measured = xb.reference_conductances
        g_ref = float(nominal[0, 1])                 # current of one reference cell at V
        inputs = child_generator(seed, "ref_cal")
        read_noise, adc_noise = (child_generator(seed, "ref_cal_read"),
                                 child_generator(seed, "ref_cal_adc"))
        k, planes_n, rpp = CALIBRATION_READS, spec.count, int(xb.groups.shape[1])
        steps = xb.plane_steps.repeat_interleave(k).view(-1, 1)           # per read
        density = (torch.arange(k, dtype=torch.float64) + 0.5) / k
        num = den = num0 = den0 = 0.0
        used = clipped = 0
        for g in range(int(xb.groups.shape[0])):                         # row groups
            # nominal reference current at density 1 and mean plane value (norm+1)/(2 norm);
            # each plane's densities are capped so that it fits that plane's ADC range
            full = float(ideal.rows_per_group[g]) * g_ref * (norm + 1) / (2 * norm)
            cap = (top * xb.plane_steps / full).clamp(max=1.0)
            on = torch.rand(planes_n * k, rpp, generator=inputs, dtype=torch.float64) < (
                cap[:, None] * density[None, :]).view(-1, 1)
            value = torch.randint(1, norm + 1, on.shape, generator=inputs)
            planes = (on * value).to(torch.float32) / norm            # P*k reads x rows
            codes = []
            for cond, sigma, adc_ideal in ((measured, config.read_noise_sigma, xb.adc_ideal),
                                           (ideal, 0.0, True)):
                current = read_current(cond, planes, g, sigma, read_noise).to(torch.float64)
                codes.append(convert_codes(current.div_(steps).add_(0.5 + TIE_BIAS), xb.adc,
                                           config, adc_ideal, adc_noise, xb.adc_curve))
            meas, nom = codes
            ok = (meas < top).all(1) & (nom < top).all(1)
            r = (meas[:, 1] - meas[:, 0]) * steps[:, 0]
            r_nom = (nom[:, 1] - nom[:, 0]) * steps[:, 0]
            num += float((r * r_nom)[ok].sum())
            den += float((r_nom * r_nom)[ok].sum())
            num0 += float((meas[:, 0] * nom[:, 0])[ok].sum())
            den0 += float((nom[:, 0] * nom[:, 0])[ok].sum())
            used += int(ok.sum())
            clipped += int((~ok).sum())
        self.gain = num / den if den > 0 else 1.0
        self.off_gain = num0 / den0 if den0 > 0 else 1.0
        self.reads_used, self.reads_clipped = used, clipped
        return self.gain

    def remove_bias(self, out: torch.Tensor, x_codes: torch.Tensor) -> torch.Tensor:
        """``out - 2^(b-1) * g_hat * sum_r x_r`` in place (level units)."""
        x_sum = x_codes.to(torch.float64).sum(1)
        return out.sub_((self.mapping.offset * self.gain) * x_sum.unsqueeze(1))
