"""One compute layer on resistive crossbars: the hardware-in-the-loop matrix product.

Given the layer's integer weight matrix (R rows x N outputs) and integer input vectors
(M x R), :class:`Crossbar` returns what the CIM periphery would output, in units of integer
products (``sum_r x_r w_r`` when everything is ideal).

Organisation (DNN+NeuroSim conventional mapping; reference/neurosim-v1.4.md §6-7):

* rows are cut into subarrays of ``subarray_rows``; inside a subarray, conventional parallel
  mode reads ``rows_in_parallel`` rows at once (partial-parallel read of V1.4), so the layer's
  rows fall into *row groups*; every group's column currents go through the ADC and the
  digital periphery adds the groups (adder tree / accumulator) and shift-adds input planes and
  cell slices (two ShiftAdd stages);
* columns are independent for accuracy (an ADC shared by ``cols_per_adc`` columns through a mux
  converts them one after the other), so ``subarray_cols`` and the mux only change cost;
* sequential mode reads one row per cycle: a sense amplifier resolves each cell's level on its
  own, so the result is the exact integer product of the levels it reads (cim.cells.read_levels).

Vectorization: per row group, the partial sums of all input planes, input vectors and columns
come from one matrix product ``(P*M, rows) @ (rows, columns)``; the ADC is applied to that
whole tensor in place; planes and groups are shift-added by one matrix-vector product and
cell slices / reference columns by ``WeightMapping.combine``. Loops
run over row groups (the subarray level of the hierarchy) and over chunks of input vectors
that bound memory - never over bits, slices, rows or single vectors.

Two exact-equivalent engines compute the products:

* integer (ideal cells): while cim.cells returns the nominal conductances, the current of a
  read is ``(gmin * sum_r x_r + delta * sum_r x_r d_r) / norm`` (cim.cells), and
  ``sum_r x_r d_r`` is an int8 x int8 -> int32 product (torch._int_mm), exact and ~10x faster
  than float32 on CPUs with VNNI;
* float (any conductances): ``sum_r x_r g_r`` in float32 with the conductances cim.cells gives,
  so device effects inserted there are read faithfully.

Device non-idealities (cim.devices; all off by default, and then nothing here changes):

* programming (faults, write error, d2d variation, relaxation, drift): once, in
  cim.cells.program_cells, when the crossbar is built;
* read noise and drift compensation: cim.cells.read_cells, a fresh draw for every call of
  :meth:`Crossbar.matmul` (one batch of input vectors shares one draw - ours: a draw per
  vector would cost a conductance tensor per vector);
* IR drop: ``ir_drop_conductances_from_config`` on each read group's conductances (in
  siemens, G = g / R_on) with ``IR_DROP_ACTIVITY`` as the mean driven input (ours: that
  function's default, not fitted to the network's input planes); parallel mode only;
* ADC offset / gain / INL / DNL / noise: ``adc_convert`` at the ADC line, one fixed transfer
  curve per layer's ADC, fresh thermal noise per conversion; parallel mode only.

Sequential mode reads one row at a time through sense amplifiers (cim.cells.read_levels):
programming effects and read noise reach it through the levels the amplifiers resolve; IR
drop along one driven row and the ADC effects are not applied there (ours).

Randomness: each crossbar draws ONE seed from the run's generator and derives a child stream
per use (programming, reads, ADC noise, ADC curve; cim.devices._common.child_generator), so
switching one effect never moves another's random numbers and a seed reproduces every draw.
"""
from __future__ import annotations

import torch

from . import cells, devices
from .devices._common import child_generator
from .adc import ADC, CALIBRATION_QUANTILE, HIST_BINS, TIE_BIAS, adc_step, full_scale_range
from .bitslice import WeightMapping, plane_weights, slice_weights

__all__ = ["Crossbar", "row_groups", "ELEMENT_BUDGET"]

#: largest partial-sum tensor (elements) formed at once; a 1 MiB block of partial sums stays in cache
ELEMENT_BUDGET = 1 << 18
#: mean driven input (fraction of the read voltage) assumed by the IR-drop model (ours)
IR_DROP_ACTIVITY = 0.5


def row_groups(rows: int, subarray_rows: int, rows_in_parallel: int) -> torch.Tensor:
    """Index of the rows read together: (groups x rows_in_parallel), padded with ``rows``.

    Row r sits in subarray ``r // subarray_rows``; inside it, group ``(r % subarray_rows) //
    rows_in_parallel``. Groups never straddle subarrays; the last group of a subarray (and of
    the layer) may be short, its padding points at an extra all-zero row.
    """
    r = torch.arange(rows)
    per_sub = -(-subarray_rows // rows_in_parallel)
    group = (r // subarray_rows) * per_sub + (r % subarray_rows) // rows_in_parallel
    slot = (r % subarray_rows) % rows_in_parallel
    used, group = torch.unique(group, return_inverse=True)             # drop empty groups
    index = torch.full((int(used.numel()), rows_in_parallel), rows, dtype=torch.int64)
    index[group, slot] = r
    return index


class Crossbar:
    """A layer's weights programmed into cells, read the way ``config`` says.

    Args:
        weight_codes: signed integer weights, R x N (R = unrolled input rows).
        config: a chip.config.HardwareConfig (its accuracy fields are used).
        generator: seeded generator handed to cim.cells (device effects).
    """

    def __init__(self, weight_codes: torch.Tensor, config, generator: torch.Generator | None = None):
        self.config = config
        self.rows, self.outputs = int(weight_codes.shape[0]), int(weight_codes.shape[1])
        self.mapping: WeightMapping = slice_weights(weight_codes, config.weight_bits,
                                                    config.cell_bits, config.weight_encoding)
        # one draw per crossbar; every random use gets its own child stream (module docstring)
        seed = 0 if generator is None else int(torch.randint(0, 2 ** 62, (1,),
                                                             generator=generator))
        self._streams = {tag: child_generator(seed, tag)
                         for tag in ("program", "read", "adc_noise", "adc_curve")}
        # the single place where codes become conductances (device effects go in there)
        self.device_state, self.conductance = cells.program_cells(
            self.mapping.levels, config, self._streams["program"])
        self.read_ideal = cells.read_is_ideal(config, self.device_state)
        self.ir_drop = config.wire_resistance_ohm > 0
        self.ideal = (self.read_ideal and not self.ir_drop and torch.equal(
            self.conductance, cells.nominal_conductance(self.mapping.levels, config)))
        self.adc_ideal = devices.adc_is_ideal(config)
        self.adc_curve = None
        if not self.adc_ideal and (config.adc_inl_lsb > 0 or config.adc_dnl_lsb > 0):
            # one ADC per layer: its transfer curve is fixed for the crossbar's life
            self.adc_curve = devices.make_transfer_curve(
                config.adc_bits, config.adc_inl_lsb, config.adc_dnl_lsb,
                self._streams["adc_curve"])
        self.reads = 0               # array read operations (one row group, one input plane)
        self.conversions = 0         # ADC conversions (reads x columns)
        self.parallel = config.operation_mode == "parallel"
        self.adc: ADC | None = None
        self.observed_max = 0.0
        self.observed_hist: torch.Tensor | None = None     # read-current histogram (ADC range)
        if self.parallel:
            groups = row_groups(self.rows, config.subarray_rows, config.rows_in_parallel)
            # a layer with fewer rows than a read group only drives the rows it has
            used = int((groups < self.rows).sum(1).max())
            self.groups = groups[:, :used].contiguous()
            cols = self.mapping.columns
            if self.ideal:
                lv = torch.cat([self.mapping.levels, torch.zeros(1, cols, dtype=torch.int8)])
                self.group_levels = lv[self.groups].contiguous()         # int8
                self.level_sums = self.group_levels.sum(1, dtype=torch.int32)   # groups x cols
            elif self.read_ideal:
                self.group_conductance = self._grouped(self.conductance)
        elif self.read_ideal:
            # a sense amplifier reads each cell alone: exact levels unless the cell is off grid
            self._effective_codes = self._sense(self.conductance)

    def _sense(self, g: torch.Tensor) -> torch.Tensor:
        return self.mapping.decode(cells.read_levels(g, self.config))   # float64 R x N

    @property
    def effective_codes(self) -> torch.Tensor:
        """Sequential mode: the weight codes the sense amplifiers read (a fresh read-noise
        draw on every access when read noise is on)."""
        if self.read_ideal:
            return self._effective_codes
        return self._sense(cells.read_cells(self.device_state, self.conductance, self.config,
                                            self._streams["read"]))

    def _grouped(self, g: torch.Tensor) -> torch.Tensor:
        """Conductances of each read group (groups x rows x cols), with IR drop if on."""
        g = torch.cat([g, torch.zeros(1, self.mapping.columns, dtype=g.dtype)], dim=0)
        grouped = g[self.groups].contiguous()
        if self.ir_drop:
            g_max = 1.0 / self.config.r_on_ohm                   # units of Gmax -> siemens
            eff = devices.ir_drop_conductances_from_config(grouped.to(torch.float64) * g_max,
                                                           self.config, IR_DROP_ACTIVITY)
            grouped = (eff / g_max).to(torch.float32).contiguous()
        return grouped

    def _read_groups(self) -> torch.Tensor:
        if self.read_ideal:
            return self.group_conductance
        return self._grouped(cells.read_cells(self.device_state, self.conductance, self.config,
                                              self._streams["read"]))

    def count_reads(self, vectors: int, input_bits: int, signed: bool) -> None:
        """Count the reads of ``vectors`` input vectors: per vector, one read per input plane
        and row group (parallel) or per input plane and row (sequential: a row per cycle);
        every read converts all the columns."""
        planes_n = plane_weights(input_bits, signed, self.config.input_encoding).count
        per_vector = planes_n * (int(self.groups.shape[0]) if self.parallel else self.rows)
        self.reads += vectors * per_vector
        self.conversions += vectors * per_vector * self.mapping.columns

    def statistics(self) -> dict:
        """Counts of this array: cells written, reads, conversions, utilization, faults."""
        cfg = self.config
        cells_used = int(self.mapping.levels.numel())
        tiles_r = -(-self.rows // cfg.subarray_rows)
        tiles_c = -(-self.mapping.columns // cfg.subarray_cols)
        allocated = tiles_r * tiles_c * cfg.subarray_rows * cfg.subarray_cols
        state = self.device_state
        return {"cells_used": cells_used, "cells_allocated": allocated,
                "subarrays": tiles_r * tiles_c,
                "utilization": cells_used / allocated if allocated else 0.0,
                "writes": cells_used, "reads": self.reads, "adc_conversions": self.conversions,
                "faults": 0 if state is None else state.n_faults,
                "stuck_hrs": 0 if state is None else state.n_stuck_hrs,
                "stuck_lrs": 0 if state is None else state.n_stuck_lrs}

    # -- ADC range ------------------------------------------------------------------------
    def min_step(self, input_bits: int, signed: bool) -> float:
        planes = plane_weights(input_bits, signed, self.config.input_encoding)
        return cells.level_step(self.config) * planes.resolution

    def set_adc(self, input_bits: int, signed: bool, current_range=None) -> ADC:
        """Fix the ADC: full-scale range, or ``current_range`` (calibrated; one value, or one
        per input plane - the reference levels are re-set for each input bit's cycles)."""
        spec = plane_weights(input_bits, signed, self.config.input_encoding)
        if current_range is None:
            current_range = full_scale_range(self.config.rows_in_parallel)
        ranges = torch.as_tensor(current_range, dtype=torch.float64).reshape(-1).expand(
            spec.count)
        low = self.min_step(input_bits, signed)
        self.plane_steps = torch.tensor([adc_step(float(r), self.config.adc_bits, low)
                                         for r in ranges], dtype=torch.float64)
        self.adc = ADC(self.config.adc_bits, float(self.plane_steps.max()))
        return self.adc

    def _observe(self, current: torch.Tensor, planes_n: int) -> None:
        """Add reads (rows ordered plane-major: P x (vectors*cols)) to per-plane histograms."""
        self.observed_max = max(self.observed_max, float(current.max()))
        width = full_scale_range(self.config.rows_in_parallel) / HIST_BINS
        bins = (current.reshape(planes_n, -1) * (1.0 / width)).long().clamp_(0, HIST_BINS - 1)
        bins += torch.arange(planes_n).view(-1, 1) * HIST_BINS
        hist = torch.bincount(bins.view(-1), minlength=planes_n * HIST_BINS).view(planes_n, -1)
        self.observed_hist = hist if self.observed_hist is None else self.observed_hist + hist

    def calibrated_range(self, input_bits: int, signed: bool) -> torch.Tensor:
        """Per input plane, the current below which ``CALIBRATION_QUANTILE`` of the observed
        reads lie (cim.adc range rule)."""
        if self.observed_hist is None:
            return torch.tensor([self.observed_max], dtype=torch.float64)
        hist = self.observed_hist.double()                               # P x bins
        cdf = torch.cumsum(hist, 1) / hist.sum(1, keepdim=True).clamp(min=1)
        index = torch.searchsorted(cdf, torch.full((hist.shape[0], 1), CALIBRATION_QUANTILE,
                                                   dtype=torch.float64)).view(-1)
        width = full_scale_range(self.config.rows_in_parallel) / HIST_BINS
        return ((index + 1).double() * width).clamp(max=self.observed_max)

    # -- reads ----------------------------------------------------------------------------
    def _plane_codes(self, part: torch.Tensor, input_bits: int, signed: bool) -> torch.Tensor:
        """Integer plane levels (groups x P x mc x rows, int32) of grouped input codes."""
        part = part.permute(1, 0, 2)                                     # groups x mc x rows
        if self.config.input_encoding == "bit_serial":
            u = part % (2 ** input_bits) if signed else part
            shifts = torch.arange(input_bits, dtype=torch.int32).view(1, -1, 1, 1)
            return (u.unsqueeze(1) >> shifts) & 1
        if signed:
            return torch.stack([part.clamp(min=0), (-part).clamp(min=0)], dim=1)
        return part.unsqueeze(1)

    def matmul(self, x_codes: torch.Tensor, input_bits: int, signed: bool,
               observe: bool = False) -> torch.Tensor:
        """Outputs (float64, M x N) for integer inputs ``x_codes`` (M x R).

        ``observe=True`` only records the largest read current (for the calibrated ADC range)
        in ``observed_max``; its return value is meaningless.
        """
        if not self.parallel:
            self.count_reads(int(x_codes.shape[0]), input_bits, signed)
            return x_codes.to(torch.float64) @ self.effective_codes
        if self.adc is None and not observe:
            raise RuntimeError("Crossbar.set_adc must be called before a parallel read")
        m = int(x_codes.shape[0])
        groups, rpp = self.groups.shape
        cols = self.mapping.columns
        spec = plane_weights(input_bits, signed, self.config.input_encoding)
        planes_n = spec.count
        norm = 1.0 / spec.resolution              # plane value = integer plane level / norm
        delta, g0 = cells.level_step(self.config), cells.gmin(self.config)
        if not observe:
            top = float(self.adc.top_code)
            step_ref = float(self.plane_steps.min())
            inv_steps = (1.0 / self.plane_steps).to(torch.float32)
            # exact float32 accumulation of codes x plane weights x groups, else float64
            bound = min(top, rpp / step_ref + 1) * float(spec.weights.abs().sum()) * groups
            acc_dtype = torch.float32 if bound < 2 ** 24 else torch.float64
            # shift-add weight of each plane, in units of the finest step (1.0 when all equal)
            plane_w = (spec.weights * (self.plane_steps / step_ref)).to(acc_dtype)
        self.count_reads(m, input_bits, signed)
        group_conductance = None if self.ideal else self._read_groups()
        adc_noise = self._streams["adc_noise"] if not self.adc_ideal else None
        chunk = max(1, ELEMENT_BUDGET // max(1, planes_n * cols))
        padded = torch.cat([x_codes.to(torch.int32), torch.zeros(m, 1, dtype=torch.int32)], 1)
        out = torch.empty(m, self.outputs, dtype=torch.float64)
        for start in range(0, m, chunk):                               # bounds memory only
            part = padded[start:start + chunk][:, self.groups]          # mc x groups x rows
            mc = int(part.shape[0])
            levels = self._plane_codes(part, input_bits, signed)       # groups x P x mc x rows
            levels = levels.reshape(groups, planes_n * mc, rpp)
            if self.ideal:
                # int8 operands: shift plane levels above 127 down by 128 and add it back
                shift = 128 if int(levels.max()) > 127 else 0
                ops8 = (levels - shift).to(torch.int8) if shift else levels.to(torch.int8)
                active = levels.sum(-1, keepdim=True, dtype=torch.int32).to(torch.float32)
            else:
                planes = levels.to(torch.float32) / norm
            acc = torch.zeros(mc * cols, dtype=torch.float64 if observe else acc_dtype)
            if not observe:
                row_scale = inv_steps.repeat_interleave(mc).view(-1, 1)   # 1/step per read
            for g in range(groups):                                    # subarray row groups
                if self.ideal:
                    ps = torch._int_mm(ops8[g], self.group_levels[g])  # sum_r x_r d_r (int32)
                    if shift:
                        ps += shift * self.level_sums[g]
                    # I / step + 1/2 + tie bias = (gmin*active + delta*ps)/(norm*step) + ...
                    if observe:
                        current = torch.add(active[g] * (g0 / norm), ps, alpha=delta / norm)
                        self._observe(current, planes_n)
                        continue
                    offset = (active[g] * (g0 / norm)).mul_(row_scale).add_(0.5 + TIE_BIAS)
                    codes = torch.mul(ps, row_scale * (delta / norm)).add_(offset)
                else:
                    current = planes[g] @ group_conductance[g]         # P*mc x cols
                    if observe:
                        self._observe(current, planes_n)
                        continue
                    codes = current.mul_(row_scale).add_(0.5 + TIE_BIAS)
                if self.adc_ideal:
                    codes.floor_().clamp_(0, top)                       # the ADC
                else:
                    # the non-ideal ADC (cim.devices.adc_convert) takes the input in LSB and
                    # rounds; the tie bias stays so exact ties decide as in the ideal ADC
                    codes = devices.adc_convert(codes.sub_(0.5), self.adc.bits, self.config,
                                                adc_noise, self.adc_curve)
                # shift-add over input planes and accumulate groups (one GEMV)
                acc += plane_w @ codes.view(planes_n, mc * cols).to(acc_dtype)
            if observe:
                continue
            # shift-add cell slices, subtract reference / negative columns
            out[start:start + mc] = self.mapping.combine(acc.view(mc, cols))
        if observe:
            return out
        # ADC codes back to level units (step / delta), then the digital offset of the code
        out.mul_(step_ref / delta)
        if self.mapping.offset:
            out -= self.mapping.offset * x_codes.to(torch.float64).sum(1, keepdim=True)
        return out
