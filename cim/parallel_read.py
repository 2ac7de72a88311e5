"""Conventional parallel read of one crossbar: row groups, input planes, ADC, shift-add.

Per row group (cim.read_groups), the partial sums of all input planes, input vectors and
columns come from one matrix product ``(P*M, rows) @ (rows, columns)``; the ADC converts that
whole tensor in place (cim.adc.convert_codes); planes and groups are shift-added by one
matrix-vector product and cell slices / reference columns by ``WeightMapping.combine``.
Loops run over row groups (the subarray level of the hierarchy) and over chunks of input
vectors that bound memory - never over bits, slices, rows or single vectors. The chunks are
shared out to worker threads, each running its operations on one intra-op thread
(cim.workers: torch's per-operation threads cost more than they gain on chunks this small).

Two exact-equivalent engines compute the products:

* integer (ideal cells): the current of a read is
  ``(gmin * sum_r x_r + delta * sum_r x_r d_r) / norm`` (cim.cells), and ``sum_r x_r d_r`` is
  an int8 x int8 -> int32 product (torch._int_mm), exact and ~10x faster than float32 on CPUs
  with VNNI; bit-serial planes are cut from the input codes in uint8;
* float (any conductances): ``sum_r x_r g_r`` in float32 with the conductances of
  cim.read_groups.GroupConductances (device effects, drift compensation, IR drop).

Read noise (``read_noise_sigma``) is drawn fresh for every read (input vector, input plane,
row group and column) in the current domain: the cells' independent multiplicative noise
``G_r (1 + s z_r)`` sums to ``I + s * sqrt(sum_r x_r^2 G_r^2) * z`` - the same Gaussian as a
per-cell draw, for one extra matrix product per read group instead of a conductance tensor
per read (ours; unlike the per-cell model it does not clip a cell at 0 S, which matters only
for s >~ 0.3). ``I`` and ``s^2 sum_r x_r^2 G_r^2`` come from one product with the group's
conductances and their scaled squares side by side (cim.read_groups.GroupConductances.noisy).

Every read is independent of the other vectors of the batch: the output of an input vector
does not depend on which vectors share its call (the offset code's array gain is calibrated
once per array, cim.reference). Only the random draws of read and ADC noise depend on the
batch: each chunk of input vectors draws from its own stream, derived from the array's seed,
the number of the call and the chunk's index (so the draws do not depend on the threads).
"""
from __future__ import annotations

import torch

from . import cells
from .adc import TIE_BIAS, convert_codes
from .bitslice import plane_weights
from .devices._common import child_generator
from .workers import one_op_thread, run_chunks

__all__ = ["ELEMENT_BUDGET", "plane_levels", "read_current", "parallel_read"]

#: largest partial-sum tensor (elements) formed at once: a 2 MiB block (one core's L2 here);
#: on LeNet-5, 1 MiB blocks took ~15 % more CPU time, 4 MiB no less (docs/performance.md)
ELEMENT_BUDGET = 1 << 19


def plane_levels(part: torch.Tensor, input_bits: int, signed: bool, encoding: str
                 ) -> torch.Tensor:
    """Integer plane levels (groups x P x mc x rows) of grouped input codes (mc x groups x
    rows); bit-serial codes already reduced to ``input_bits`` unsigned bits (see
    :func:`input_codes`) give uint8 bits, DAC codes int32 levels."""
    part = part.permute(1, 0, 2)                                         # groups x mc x rows
    if encoding == "bit_serial":
        shifts = torch.arange(input_bits, dtype=part.dtype).view(1, -1, 1, 1)
        return (part.unsqueeze(1) >> shifts) & 1
    if signed:
        return torch.stack([part.clamp(min=0), (-part).clamp(min=0)], dim=1)
    return part.unsqueeze(1)


def input_codes(x_codes: torch.Tensor, input_bits: int, signed: bool, encoding: str
                ) -> torch.Tensor:
    """Input codes (M x R) with an all-zero column appended (the padding row of the row
    groups) in the type :func:`plane_levels` cuts: bit-serial codes as their ``input_bits``
    two's-complement bits (uint8 up to 8 bits, int32 above), DAC codes as int32."""
    x = x_codes.to(torch.int32)
    if encoding == "bit_serial":
        if signed:
            x = x % (2 ** input_bits)                                    # two's complement bits
        if input_bits <= 8:
            x = x.to(torch.uint8)
    return torch.cat([x, torch.zeros(int(x.shape[0]), 1, dtype=x.dtype)], 1)


def read_current(conductances, planes: torch.Tensor, group: int, sigma: float,
                 generator: torch.Generator | None, binary: bool = False) -> torch.Tensor:
    """Column currents (reads x columns, float32) of one group's input planes, with fresh
    current-domain read noise of relative spread ``sigma`` (module docstring). ``binary``:
    every plane value is 0 or 1 (bit-serial), so ``x^2 = x``."""
    if sigma == 0:
        return conductances.current(planes, group)
    current, variance = conductances.noisy(planes, group, sigma, binary)
    noise = torch.randn(current.shape, generator=generator)
    if current.is_contiguous():
        return current.addcmul_(variance.sqrt_(), noise)
    return torch.addcmul(current, variance.sqrt_(), noise)              # a contiguous copy


class _Plan:
    """What every chunk of one parallel read shares: the crossbar, input planes, ADC steps,
    shift-add weights and the streams' names (see :func:`parallel_read`)."""

    def __init__(self, xb, input_bits: int, signed: bool, observe: bool):
        config = xb.config
        self.xb, self.config, self.observe = xb, config, observe
        self.input_bits, self.signed = input_bits, signed
        spec = plane_weights(input_bits, signed, config.input_encoding)
        self.planes_n = spec.count
        self.norm = 1.0 / spec.resolution         # plane value = integer plane level / norm
        self.binary = config.input_encoding == "bit_serial"
        self.delta, self.g0 = cells.level_step(config), cells.gmin(config)
        self.sigma = config.read_noise_sigma
        self.groups, self.rpp = (int(n) for n in xb.groups.shape)
        self.cols = xb.mapping.columns
        # int8 operands: plane levels above 127 are shifted down by 128 (and added back)
        self.shift = 128 if round(self.norm) > 127 else 0
        self.chunk = max(1, ELEMENT_BUDGET // max(1, self.planes_n * self.cols))
        if observe:
            return
        self.top = float(xb.adc.top_code)
        self.step_ref = float(xb.plane_steps.min())
        self.inv_steps = (1.0 / xb.plane_steps).to(torch.float32)
        # exact float32 accumulation of codes x plane weights x groups, else float64
        bound = (min(self.top, self.rpp / self.step_ref + 1) * float(spec.weights.abs().sum())
                 * self.groups)
        self.acc_dtype = torch.float32 if bound < 2 ** 24 else torch.float64
        # shift-add weight of each plane, in units of the finest step (1.0 when all equal)
        self.plane_w = (spec.weights * (xb.plane_steps / self.step_ref)).to(self.acc_dtype)
        self.noisy_adc = config.adc_noise_lsb > 0 and not xb.adc_ideal
        if self.sigma > 0 and not xb.ideal:
            xb.conductances.noise_stack(self.sigma)                      # before the threads

    def levels(self, inputs: torch.Tensor):
        """(plane levels as the engine takes them, active inputs per read or None) of a
        chunk of padded input codes: groups x P*mc x rows."""
        xb = self.xb
        part = inputs.index_select(1, xb.groups.view(-1)).view(-1, self.groups, self.rpp)
        mc = int(part.shape[0])
        levels = plane_levels(part, self.input_bits, self.signed, self.config.input_encoding)
        levels = levels.reshape(self.groups, self.planes_n * mc, self.rpp)
        if not xb.ideal:
            planes = levels.to(torch.float32)
            return (planes if self.norm == 1.0 else planes / self.norm), None
        active = levels.sum(-1, keepdim=True, dtype=torch.int32).to(torch.float32)
        if levels.dtype == torch.uint8:
            return levels.view(torch.int8), active                       # bits: 0 or 1
        ops8 = (levels - self.shift).to(torch.int8) if self.shift else levels.to(torch.int8)
        return ops8, active

    def integer_sums(self, ops8: torch.Tensor, g: int) -> torch.Tensor:
        """sum_r x_r d_r of group ``g`` (reads x columns, int32)."""
        ps = torch._int_mm(ops8[g], self.xb.group_levels[g])
        if self.shift:
            ps += self.shift * self.xb.level_sums[g]
        return ps

    def observe_chunk(self, inputs: torch.Tensor) -> None:
        """Record the read currents of a chunk (ADC range calibration)."""
        xb, norm = self.xb, self.norm
        planes, active = self.levels(inputs)
        for g in range(self.groups):
            if xb.ideal:
                ps = self.integer_sums(planes, g)
                current = torch.add(active[g] * (self.g0 / norm), ps, alpha=self.delta / norm)
            else:
                current = read_current(xb.conductances, planes[g], g, self.sigma,
                                       xb.streams["read"], self.binary)
            xb.observe(current, self.planes_n)

    def read_chunk(self, inputs: torch.Tensor, streams: dict) -> torch.Tensor:
        """Shift-added ADC codes of a chunk, combined per output (mc x N, float64)."""
        xb, norm = self.xb, self.norm
        mc = int(inputs.shape[0])
        planes, active = self.levels(inputs)
        acc = torch.zeros(mc * self.cols, dtype=self.acc_dtype)
        row_scale = self.inv_steps.repeat_interleave(mc).view(-1, 1)     # 1/step per read
        if xb.ideal:
            ps_scale = row_scale * (self.delta / norm)
        for g in range(self.groups):                                     # subarray row groups
            if xb.ideal:
                # I / step + 1/2 + tie bias = (gmin*active + delta*ps)/(norm*step) + ...
                offset = (active[g] * (self.g0 / norm) * row_scale).add_(0.5 + TIE_BIAS)
                codes = self.integer_sums(planes, g).to(torch.float32).mul_(ps_scale)
                codes.add_(offset)
            else:
                current = read_current(xb.conductances, planes[g], g, self.sigma,
                                       streams.get("read"), self.binary)
                codes = current.mul_(row_scale).add_(0.5 + TIE_BIAS)
            codes = convert_codes(codes, xb.adc, self.config, xb.adc_ideal,
                                  streams.get("adc_noise"), xb.adc_curve)
            # shift-add over input planes and accumulate groups (one GEMV)
            acc += self.plane_w @ codes.reshape(self.planes_n, mc * self.cols).to(self.acc_dtype)
        acc = acc.view(mc, self.cols)
        if xb.digital_off_state:          # subtracted digitally (Crossbar.set_off_state)
            acc[:, xb.mapping.reference_column] = 0
        # shift-add cell slices, subtract the level-0 reference / negative columns
        return xb.mapping.combine(acc)

    def chunk_streams(self, call: int, index: int) -> dict:
        """The random streams of chunk ``index`` of read call ``call`` (only those in use)."""
        seed, streams = self.xb.seed, {}
        if self.sigma > 0:
            streams["read"] = child_generator(seed, f"read/{call}/{index}")
        if self.noisy_adc:
            streams["adc_noise"] = child_generator(seed, f"adc_noise/{call}/{index}")
        return streams


def parallel_read(xb, x_codes: torch.Tensor, input_bits: int, signed: bool,
                  observe: bool = False) -> torch.Tensor:
    """Shift-added ADC outputs (float64, M x N, level units) of crossbar ``xb`` for integer
    inputs (M x R), before the offset code's bias is removed (cim.crossbar.Crossbar.matmul).

    ``observe=True`` only records the read currents (ADC range calibration) and returns
    nothing meaningful.
    """
    m = int(x_codes.shape[0])
    plan = _Plan(xb, input_bits, signed, observe)
    xb.count_reads(m, input_bits, signed)
    inputs = input_codes(x_codes, input_bits, signed, xb.config.input_encoding)
    starts = range(0, m, plan.chunk)
    out = torch.empty(m, xb.outputs, dtype=torch.float64)
    with one_op_thread() as workers:
        if observe:
            for start in starts:                                         # one histogram
                plan.observe_chunk(inputs[start:start + plan.chunk])
            return out
        call = xb.read_calls
        xb.read_calls += 1

        def work(index: int) -> None:
            start = starts[index]
            part = inputs[start:start + plan.chunk]
            out[start:start + int(part.shape[0])] = plan.read_chunk(
                part, plan.chunk_streams(call, index))

        run_chunks(work, len(starts), workers)
    out.mul_(plan.step_ref / plan.delta)      # ADC codes back to level units (step / delta)
    return out
