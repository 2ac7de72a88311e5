"""Conventional parallel read of one crossbar: row groups, input planes, ADC, shift-add.

Per row group (cim.read_groups), the partial sums of all input planes, input vectors and
columns come from one matrix product ``(P*M, rows) @ (rows, columns)``; the ADC converts that
whole tensor in place (cim.adc.convert_codes); planes and groups are shift-added by one
matrix-vector product and cell slices / reference columns by ``WeightMapping.combine``.
Loops run over row groups (the subarray level of the hierarchy) and over chunks of input
vectors that bound memory - never over bits, slices, rows or single vectors.

Two exact-equivalent engines compute the products:

* integer (ideal cells): the current of a read is
  ``(gmin * sum_r x_r + delta * sum_r x_r d_r) / norm`` (cim.cells), and ``sum_r x_r d_r`` is
  an int8 x int8 -> int32 product (torch._int_mm), exact and ~10x faster than float32 on CPUs
  with VNNI;
* float (any conductances): ``sum_r x_r g_r`` in float32 with the conductances of
  cim.read_groups.GroupConductances (device effects, drift compensation, IR drop).

Read noise (``read_noise_sigma``) is drawn fresh for every read (input vector, input plane,
row group and column) in the current domain: the cells' independent multiplicative noise
``G_r (1 + s z_r)`` sums to ``I + s * sqrt(sum_r x_r^2 G_r^2) * z`` - the same Gaussian as a
per-cell draw, for one extra matrix product per read group instead of a conductance tensor
per read (ours; unlike the per-cell model it does not clip a cell at 0 S, which matters only
for s >~ 0.3).

Every read is independent of the other vectors of the batch: the output of an input vector
does not depend on which vectors share its call (the offset code's array gain is calibrated
once per array, cim.reference). Only the random draws of read and ADC noise come from one
stream per array, consumed in batch order.
"""
from __future__ import annotations

import torch

from . import cells
from .adc import TIE_BIAS, convert_codes
from .bitslice import plane_weights

__all__ = ["ELEMENT_BUDGET", "plane_levels", "read_current", "parallel_read"]

#: largest partial-sum tensor (elements) formed at once; a 1 MiB block of partial sums stays in cache
ELEMENT_BUDGET = 1 << 18


def plane_levels(part: torch.Tensor, input_bits: int, signed: bool, encoding: str
                 ) -> torch.Tensor:
    """Integer plane levels (groups x P x mc x rows, int32) of grouped input codes
    (mc x groups x rows)."""
    part = part.permute(1, 0, 2)                                         # groups x mc x rows
    if encoding == "bit_serial":
        u = part % (2 ** input_bits) if signed else part
        shifts = torch.arange(input_bits, dtype=torch.int32).view(1, -1, 1, 1)
        return (u.unsqueeze(1) >> shifts) & 1
    if signed:
        return torch.stack([part.clamp(min=0), (-part).clamp(min=0)], dim=1)
    return part.unsqueeze(1)


def read_current(conductances, planes: torch.Tensor, group: int, sigma: float,
                 generator: torch.Generator | None) -> torch.Tensor:
    """Column currents (reads x columns, float32) of one group's input planes, with fresh
    current-domain read noise of relative spread ``sigma`` (module docstring)."""
    current = conductances.current(planes, group)
    if sigma > 0:
        sd = (planes * planes) @ conductances.square[group]
        current += sd.sqrt_().mul_(sigma).mul_(torch.randn(current.shape, generator=generator))
    return current


def parallel_read(xb, x_codes: torch.Tensor, input_bits: int, signed: bool,
                  observe: bool = False) -> torch.Tensor:
    """Shift-added ADC outputs (float64, M x N, level units) of crossbar ``xb`` for integer
    inputs (M x R), before the offset code's bias is removed (cim.crossbar.Crossbar.matmul).

    ``observe=True`` only records the read currents (ADC range calibration) and returns
    nothing meaningful.
    """
    m = int(x_codes.shape[0])
    groups, rpp = xb.groups.shape
    cols = xb.mapping.columns
    config = xb.config
    spec = plane_weights(input_bits, signed, config.input_encoding)
    planes_n = spec.count
    norm = 1.0 / spec.resolution              # plane value = integer plane level / norm
    delta, g0 = cells.level_step(config), cells.gmin(config)
    sigma = config.read_noise_sigma
    if not observe:
        top = float(xb.adc.top_code)
        step_ref = float(xb.plane_steps.min())
        inv_steps = (1.0 / xb.plane_steps).to(torch.float32)
        # exact float32 accumulation of codes x plane weights x groups, else float64
        bound = min(top, rpp / step_ref + 1) * float(spec.weights.abs().sum()) * groups
        acc_dtype = torch.float32 if bound < 2 ** 24 else torch.float64
        # shift-add weight of each plane, in units of the finest step (1.0 when all equal)
        plane_w = (spec.weights * (xb.plane_steps / step_ref)).to(acc_dtype)
    xb.count_reads(m, input_bits, signed)
    read_noise = xb.streams["read"]
    adc_noise = xb.streams["adc_noise"]
    chunk = max(1, ELEMENT_BUDGET // max(1, planes_n * cols))
    padded = torch.cat([x_codes.to(torch.int32), torch.zeros(m, 1, dtype=torch.int32)], 1)
    out = torch.empty(m, xb.outputs, dtype=torch.float64)
    for start in range(0, m, chunk):                                   # bounds memory only
        part = padded[start:start + chunk][:, xb.groups]                # mc x groups x rows
        mc = int(part.shape[0])
        levels = plane_levels(part, input_bits, signed, config.input_encoding)
        levels = levels.reshape(groups, planes_n * mc, rpp)
        if xb.ideal:
            # int8 operands: shift plane levels above 127 down by 128 and add it back
            shift = 128 if int(levels.max()) > 127 else 0
            ops8 = (levels - shift).to(torch.int8) if shift else levels.to(torch.int8)
            active = levels.sum(-1, keepdim=True, dtype=torch.int32).to(torch.float32)
        else:
            planes = levels.to(torch.float32) / norm
        acc = torch.zeros(mc * cols, dtype=torch.float64 if observe else acc_dtype)
        if not observe:
            row_scale = inv_steps.repeat_interleave(mc).view(-1, 1)       # 1/step per read
        for g in range(groups):                                        # subarray row groups
            if xb.ideal:
                ps = torch._int_mm(ops8[g], xb.group_levels[g])        # sum_r x_r d_r (int32)
                if shift:
                    ps += shift * xb.level_sums[g]
                # I / step + 1/2 + tie bias = (gmin*active + delta*ps)/(norm*step) + ...
                if observe:
                    xb.observe(torch.add(active[g] * (g0 / norm), ps, alpha=delta / norm),
                               planes_n)
                    continue
                offset = (active[g] * (g0 / norm) * row_scale).add_(0.5 + TIE_BIAS)
                codes = torch.mul(ps, row_scale * (delta / norm)).add_(offset)
            else:
                current = read_current(xb.conductances, planes[g], g, sigma, read_noise)
                if observe:
                    xb.observe(current, planes_n)
                    continue
                codes = current.mul_(row_scale).add_(0.5 + TIE_BIAS)
            codes = convert_codes(codes, xb.adc, config, xb.adc_ideal, adc_noise, xb.adc_curve)
            # shift-add over input planes and accumulate groups (one GEMV)
            acc += plane_w @ codes.reshape(planes_n, mc * cols).to(acc_dtype)
        if observe:
            continue
        # shift-add cell slices, subtract the level-0 reference / negative columns
        out[start:start + mc] = xb.mapping.combine(acc.view(mc, cols))
    if not observe:
        out.mul_(step_ref / delta)            # ADC codes back to level units (step / delta)
    return out
