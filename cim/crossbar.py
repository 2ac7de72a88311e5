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
* read noise: parallel mode draws it fresh for every read (every input vector, input plane,
  row group and column) in the current domain: the cells' independent multiplicative noise
  ``G_r (1 + s z_r)`` sums to ``I + s * sqrt(sum_r x_r^2 G_r^2) * z`` - the same Gaussian
  distribution as a per-cell draw, for one extra matrix product per read group instead of a
  conductance tensor per read (ours; unlike the per-cell model it does not clip a cell at
  0 S, which matters only for s >~ 0.3). Sequential mode draws a conductance tensor per
  call of :meth:`Crossbar.matmul` (cim.cells.read_cells, shared by the batch);
* drift compensation: the factor of cim.devices.read_conductances, on every read;
* IR drop: ``ir_drop_conductances_from_config`` on each read group's conductances (in
  siemens, G = g / R_on), one subarray tile of ``subarray_cols`` bit lines at a time (a word
  line spans one subarray) with ``IR_DROP_ACTIVITY`` as the mean driven input (ours: that
  function's default, not fitted to the network's input planes); parallel mode only;
* ADC offset / gain / INL / DNL / noise: ``adc_convert`` at the ADC line, one fixed transfer
  curve per layer's ADC, fresh thermal noise per conversion; parallel mode only.

Offset encoding with any effect on (parallel): the code's bias is read from an offset
reference column of the same array (:meth:`Crossbar._setup_offset_reference`); ideal, it stays
the exact digital constant.

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
                         for tag in ("program", "read", "adc_noise", "adc_curve",
                                     "program_ref", "read_ref")}
        # the single place where codes become conductances (device effects go in there)
        self.device_state, self.conductance = cells.program_cells(
            self.mapping.levels, config, self._streams["program"])
        self.read_ideal = cells.read_is_ideal(config, self.device_state)
        self.ir_drop = config.wire_resistance_ohm > 0
        self.ideal = (self.read_ideal and not self.ir_drop and torch.equal(
            self.conductance, cells.nominal_conductance(self.mapping.levels, config)))
        self.adc_ideal = devices.adc_is_ideal(config)
        self.parallel = config.operation_mode == "parallel"
        # parallel reads: read noise drawn per read in the current domain (see matmul)
        self.fresh_read_noise = self.parallel and config.read_noise_sigma > 0
        self._setup_offset_reference(config)
        self.adc_curve = None
        if not self.adc_ideal and (config.adc_inl_lsb > 0 or config.adc_dnl_lsb > 0):
            # one ADC per layer: its transfer curve is fixed for the crossbar's life
            self.adc_curve = devices.make_transfer_curve(
                config.adc_bits, config.adc_inl_lsb, config.adc_dnl_lsb,
                self._streams["adc_curve"])
        self.reads = 0               # array read operations (one row group, one input plane)
        self.conversions = 0         # ADC conversions (reads x columns)
        self.adc: ADC | None = None
        self.observed_max = 0.0
        self.observed_hist: torch.Tensor | None = None     # read-current histogram (ADC range)
        self.observed_ref_max: torch.Tensor | None = None  # offset reference: max per plane
        if self.parallel:
            groups = row_groups(self.rows, config.subarray_rows, config.rows_in_parallel)
            # a layer with fewer rows than a read group only drives the rows it has
            used = int((groups < self.rows).sum(1).max())
            self.groups = groups[:, :used].contiguous()
            cols = self.columns
            if self.ideal:
                lv = torch.cat([self.array_levels, torch.zeros(1, cols, dtype=torch.int8)])
                self.group_levels = lv[self.groups].contiguous()         # int8
                self.level_sums = self.group_levels.sum(1, dtype=torch.int32)   # groups x cols
            elif self.read_ideal:
                self.group_conductance = self._grouped(self._array_conductance())
        elif self.read_ideal:
            # a sense amplifier reads each cell alone: exact levels unless the cell is off grid
            self._effective_codes = self._sense(self.conductance)

    def _setup_offset_reference(self, config) -> None:
        """The offset code's reference, modelled as cells of the same array (parallel mode).

        The offset code stores ``u = w + 2^(b-1)`` and the periphery must remove the bias
        ``2^(b-1) * sum_r x_r`` together with the off-state current. Ideal array, ideal ADC:
        the bias is a digital constant (exact; the ideal path of step 1, unchanged). With any
        device, IR-drop or ADC effect on, the bias is instead *read*: an offset reference
        column of cells programmed to the top slice's digit of the bias,
        ``2^(b-1) >> (c*(S-1))`` (always within 0..2^c-1), sits next to the level-0
        reference column, is programmed through the same device models with its own random
        draws (child stream ``program_ref``; the main array's draws do not move), read with
        its own read noise (``read_ref``), through the same IR-drop model (as the last bit
        line of the array) and the same ADC (same transfer curve, offset, gain and noise; its
        reference levels are set for this column's range - the column carries up to
        ``rows * (gmin + digit*delta)``, all cells near the top level, which a range calibrated
        on the data columns would clip: full-scale range as for the data columns, or the
        largest current it drew in the calibration pass; ours). The top slice is then
        referenced to it and the
        lower slices to the level-0 column:
        ``y = sum_{s<S-1} 2^(cs) (A_s - A_ref0) + 2^(c(S-1)) (A_{S-1} - A_off)``, so a
        common-mode gain on the array (power-law drift, IR drop, ADC gain) scales the signal
        and its reference alike and cancels in the bias, as in offset-encoded arrays with a
        reference column (ours: the arrangement; the cancellation is the reason reference
        columns are used, e.g. NeuroSim's and ISAAC's biased weight codes subtract a constant
        that a reference column would track). Sequential mode keeps sense amplifiers with
        fixed thresholds (cim.cells.read_levels) and the digital constant.
        """
        m = self.mapping
        self.physical_reference = bool(
            self.parallel and m.encoding == "offset" and m.offset
            and not (self.ideal and self.adc_ideal))
        self.array_levels = m.levels
        self.ref_state = None
        if not self.physical_reference:
            return
        digit = int(m.offset) >> (m.cell_bits * (m.slices - 1))
        self.ref_levels = torch.full((self.rows, 1), digit, dtype=torch.int8)
        self.ref_state, self.ref_conductance = cells.program_cells(
            self.ref_levels, config, self._streams["program_ref"])
        self.array_levels = torch.cat([m.levels, self.ref_levels], dim=1)
        self.read_ideal = self.read_ideal and cells.read_is_ideal(config, self.ref_state)
        self.ideal = (self.ideal and self.read_ideal and torch.equal(
            self.ref_conductance, cells.nominal_conductance(self.ref_levels, config)))

    @property
    def columns(self) -> int:
        """Bit lines read and converted: the mapping's columns, plus the offset reference."""
        return self.mapping.columns + (1 if self.physical_reference else 0)

    def _array_conductance(self) -> torch.Tensor:
        if not self.physical_reference:
            return self.conductance
        return torch.cat([self.conductance, self.ref_conductance], dim=1)

    def _reference_reading(self, values: torch.Tensor) -> torch.Tensor:
        """Offset reference minus level-0 reference, per vector (converted units)."""
        ref0 = self.mapping.reference_column
        v = values.to(torch.float64)
        return v[:, -1] - v[:, ref0]

    def _estimate_reference_gain(self, reads: torch.Tensor, x_sum: torch.Tensor) -> float:
        """Least-squares gain of the offset reference over a batch of input vectors:
        ``g = sum_m R_m X_m / (digit * sum_m X_m^2)`` with ``R_m`` the reference reading
        (offset minus level-0 column, level units) and ``X_m = sum_r x_r``; 1.0 for an
        all-zero batch. Averaging over the batch removes the ADC quantization of single
        reference reads, which multiplied by the top slice's place value would swamp the
        signal (measured: LeNet-5 at 5-bit ADC fell to ~96 % with a per-read subtraction
        and no device effect at all); ours, a background calibration of the periphery."""
        digit = float(self.ref_levels[0, 0])
        den = digit * float((x_sum * x_sum).sum())
        return float((reads * x_sum).sum()) / den if den > 0 else 1.0

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
        g = torch.cat([g, torch.zeros(1, int(g.shape[1]), dtype=g.dtype)], dim=0)
        grouped = g[self.groups].contiguous()
        if self.ir_drop:
            g_max = 1.0 / self.config.r_on_ohm                   # units of Gmax -> siemens
            # word lines run across one subarray: each tile of subarray_cols bit lines is
            # its own array (column j of the layer sits at position j % subarray_cols)
            tiles = torch.split(grouped.to(torch.float64) * g_max, self.config.subarray_cols,
                                dim=-1)
            eff = torch.cat([devices.ir_drop_conductances_from_config(t, self.config,
                                                                      IR_DROP_ACTIVITY)
                             for t in tiles], dim=-1)
            grouped = (eff / g_max).to(torch.float32).contiguous()
        return grouped

    def _read_groups(self) -> torch.Tensor:
        if self.read_ideal:
            return self.group_conductance
        if self.fresh_read_noise:
            # noise-free part of the read, fixed for the crossbar's life (cached)
            if getattr(self, "_noise_base", None) is None:
                def base(state, g):
                    c = 1.0 if state is None else state.drift_compensation
                    return g if c == 1.0 else (g.to(torch.float64) * c).to(torch.float32)
                g = base(self.device_state, self.conductance)
                if self.physical_reference:
                    g = torch.cat([g, base(self.ref_state, self.ref_conductance)], dim=1)
                self._noise_base = self._grouped(g)
                self._noise_sq = self._noise_base * self._noise_base
            return self._noise_base
        g = cells.read_cells(self.device_state, self.conductance, self.config,
                             self._streams["read"])
        if self.physical_reference:
            ref = cells.read_cells(self.ref_state, self.ref_conductance, self.config,
                                   self._streams["read_ref"])
            g = torch.cat([g, ref], dim=1)
        return self._grouped(g)

    def count_reads(self, vectors: int, input_bits: int, signed: bool) -> None:
        """Count the reads of ``vectors`` input vectors: per vector, one read per input plane
        and row group (parallel) or per input plane and row (sequential: a row per cycle);
        every read converts all the columns."""
        planes_n = plane_weights(input_bits, signed, self.config.input_encoding).count
        per_vector = planes_n * (int(self.groups.shape[0]) if self.parallel else self.rows)
        self.reads += vectors * per_vector
        self.conversions += vectors * per_vector * self.columns

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
                "offset_reference_cells": self.rows if self.physical_reference else 0,
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
        calibrated = current_range is not None
        ranges = torch.as_tensor(current_range, dtype=torch.float64).reshape(-1).expand(
            spec.count)
        low = self.min_step(input_bits, signed)
        self.plane_steps = torch.tensor([adc_step(float(r), self.config.adc_bits, low)
                                         for r in ranges], dtype=torch.float64)
        self.ref_steps = self.plane_steps
        if self.physical_reference and calibrated and self.observed_ref_max is not None:
            # the offset reference column's conversions: range = its largest observed current
            self.ref_steps = torch.tensor(
                [adc_step(float(r), self.config.adc_bits, low)
                 for r in self.observed_ref_max.expand(spec.count)], dtype=torch.float64)
        self.adc = ADC(self.config.adc_bits, float(self.plane_steps.max()))
        return self.adc

    def _observe(self, current: torch.Tensor, planes_n: int) -> None:
        """Add reads (rows ordered plane-major: P x (vectors*cols)) to per-plane histograms.
        The offset reference column (physical reference) is kept apart: per-plane maxima."""
        if self.physical_reference:
            ref = current[:, -1].reshape(planes_n, -1).amax(1).to(torch.float64)
            self.observed_ref_max = ref if self.observed_ref_max is None else torch.maximum(
                self.observed_ref_max, ref)
            current = current[:, :-1]
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
        cols = self.columns
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
            acc_dtype = (torch.float32 if bound < 2 ** 24 and not self.physical_reference
                         else torch.float64)
            # shift-add weight of each plane, in units of the finest step (1.0 when all equal)
            plane_w = (spec.weights * (self.plane_steps / step_ref)).to(acc_dtype)
        self.count_reads(m, input_bits, signed)
        group_conductance = None if self.ideal else self._read_groups()
        adc_noise = self._streams["adc_noise"] if not self.adc_ideal else None
        chunk = max(1, ELEMENT_BUDGET // max(1, planes_n * cols))
        padded = torch.cat([x_codes.to(torch.int32), torch.zeros(m, 1, dtype=torch.int32)], 1)
        out = torch.empty(m, self.outputs, dtype=torch.float64)
        ref_reads = torch.zeros(m, dtype=torch.float64) if self.physical_reference else None
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
                if self.physical_reference:
                    # the reference column converts on its own range (its own step)
                    row_scale = row_scale.expand(-1, cols).clone()
                    row_scale[:, -1] = (1.0 / self.ref_steps).to(torch.float32
                                                                 ).repeat_interleave(mc)
                    ref_back = (self.ref_steps / self.plane_steps).repeat_interleave(mc)
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
                    offset = (active[g] * (g0 / norm) * row_scale).add_(0.5 + TIE_BIAS)
                    codes = torch.mul(ps, row_scale * (delta / norm)).add_(offset)
                else:
                    current = planes[g] @ group_conductance[g]         # P*mc x cols
                    if self.fresh_read_noise:
                        # fresh read noise per read (vector, input plane, group, column):
                        # sum_r x_r G_r (1 + s z_r) = I + s * sqrt(sum_r x_r^2 G_r^2) * z
                        sd = (planes[g] * planes[g]) @ self._noise_sq[g]
                        current += sd.sqrt_().mul_(self.config.read_noise_sigma).mul_(
                            torch.randn(current.shape, generator=self._streams["read"]))
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
                if self.physical_reference:
                    # reference codes back to the data columns' step of the same plane
                    codes = codes.to(acc_dtype)
                    codes[:, -1] *= ref_back.to(acc_dtype)
                # shift-add over input planes and accumulate groups (one GEMV)
                acc += plane_w @ codes.reshape(planes_n, mc * cols).to(acc_dtype)
            if observe:
                continue
            # shift-add cell slices, subtract reference / negative columns
            values = acc.view(mc, cols)
            out[start:start + mc] = self.mapping.combine(values[:, :self.mapping.columns])
            if self.physical_reference:
                ref_reads[start:start + mc] = self._reference_reading(values)
        if observe:
            return out
        # ADC codes back to level units (step / delta), then the digital offset of the code
        out.mul_(step_ref / delta)
        x_sum = x_codes.to(torch.float64).sum(1)
        if self.physical_reference:
            # the bias scaled by the array gain the offset reference column measured
            self.reference_gain = self._estimate_reference_gain(ref_reads * (step_ref / delta),
                                                                x_sum)
            out -= (self.mapping.offset * self.reference_gain) * x_sum.unsqueeze(1)
        elif self.mapping.offset:
            # ideal array and ADC: the bias of the offset code is a digital constant
            out -= self.mapping.offset * x_sum.unsqueeze(1)
        return out
