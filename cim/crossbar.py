"""One compute layer on resistive crossbars: the hardware-in-the-loop matrix product.

Given the layer's integer weight matrix (R rows x N outputs) and integer input vectors
(M x R), :class:`Crossbar` returns what the CIM periphery would output, in units of integer
products (``sum_r x_r w_r`` when everything is ideal).

Organisation (DNN+NeuroSim conventional mapping; reference/neurosim-v1.4.md §6-7):

* rows are cut into subarrays of ``subarray_rows``; inside a subarray, conventional parallel
  mode reads ``rows_in_parallel`` rows at once, so the layer's rows fall into *row groups*
  (cim.read_groups); every group's column currents go through the ADC and the digital
  periphery adds the groups and shift-adds input planes and cell slices (cim.parallel_read);
* columns are independent for accuracy (an ADC shared by ``cols_per_adc`` columns through a mux
  converts them one after the other), so ``subarray_cols`` and the mux only change cost (and
  the IR drop, whose word lines span one subarray);
* sequential mode reads one row per cycle through sense amplifiers (cim.sequential_read).

One job per module:

* this one: programming (cim.cells: the single place where levels become conductances and
  programming-time device effects apply), which read path, the ADC range (full scale, or
  calibrated on observed read currents), read counts and statistics;
* cim.read_groups: row groups and the conductances a group's inputs see (IR drop, with the
  group's position in its subarray and each read's input activity);
* cim.parallel_read: the parallel read (integer engine for ideal cells, float engine
  otherwise; fresh read noise per read; ADC);
* cim.sequential_read: the sense-amplifier read (read noise per read, sampled exactly);
* cim.reference: the offset code's bias, scaled by the array gain measured once per array
  on an offset reference column (parallel mode, any device, IR-drop or ADC effect on).
  Ideal array and ADC: the bias is the exact digital constant (the ideal path, bit for bit).

Device non-idealities (cim.devices; all off by default, and then nothing here changes) enter
at programming (faults, write error, d2d variation, relaxation, drift), at the read (read
noise, drift compensation, IR drop) and at the ADC (offset, gain, INL/DNL, noise; parallel
mode). Sequential mode does not model IR drop or the ADC effects (it has no ADC; ours).

Randomness: each crossbar draws ONE seed from the run's generator and derives a child stream
per use (programming, reads, ADC noise, ADC curve, reference; cim.devices._common), so
switching one effect never moves another's random numbers and a seed reproduces every draw.
Reads draw per chunk of input vectors from streams derived from it (cim.parallel_read,
cim.sequential_read), so the worker threads that share the chunks (cim.workers) do not
change any draw.
"""
from __future__ import annotations

import dataclasses

import torch

from . import cells, devices
from .adc import ADC, CALIBRATION_QUANTILE, HIST_BINS, adc_step, full_scale_range
from .bitslice import WeightMapping, plane_weights, slice_weights
from .devices._common import child_generator
from .parallel_read import ELEMENT_BUDGET, parallel_read
from .read_groups import GroupConductances, row_groups
from .reference import OffsetReference
from .sequential_read import SequentialRead
from .workers import one_op_thread

__all__ = ["Crossbar", "row_groups", "ELEMENT_BUDGET"]


class Crossbar:
    """A layer's weights programmed into cells, read the way ``config`` says.

    Args:
        weight_codes: signed integer weights, R x N (R = unrolled input rows).
        config: a contracts.config.HardwareConfig (its accuracy fields are used).
        generator: seeded generator handed to cim.cells (device effects).
    """

    def __init__(self, weight_codes: torch.Tensor, config, generator: torch.Generator | None = None):
        with one_op_thread():                # many small operations (cim.workers)
            self._program(weight_codes, config, generator)

    def _program(self, weight_codes: torch.Tensor, config, generator) -> None:
        self.config = config
        self.rows, self.outputs = int(weight_codes.shape[0]), int(weight_codes.shape[1])
        self.mapping: WeightMapping = slice_weights(weight_codes, config.weight_bits,
                                                    config.cell_bits, config.weight_encoding)
        # one draw per crossbar; every random use gets its own child stream (module docstring)
        self.seed = 0 if generator is None else int(torch.randint(0, 2 ** 62, (1,),
                                                                  generator=generator))
        self.streams = {tag: child_generator(self.seed, tag)
                        for tag in ("program", "read", "adc_noise", "adc_curve", "program_ref")}
        self.device_state, self.conductance = cells.program_cells(
            self.mapping.levels, config, self.streams["program"])
        self.parallel = config.operation_mode == "parallel"
        if not self.parallel and self.mapping.reference_column is not None:
            self.device_state, self.conductance = _without_reference(
                self.device_state, self.conductance, self.mapping.reference_column)
        self.adc_ideal = devices.adc_is_ideal(config)
        ideal = (cells.read_is_ideal(config, self.device_state)
                 and config.wire_resistance_ohm == 0
                 and torch.equal(self.conductance,
                                 cells.nominal_conductance(self.mapping.levels, config)))
        self.reference: OffsetReference | None = None
        if (self.parallel and self.mapping.encoding == "offset" and self.mapping.offset
                and not (ideal and self.adc_ideal)):
            self.reference = OffsetReference(self.mapping, config, self.streams["program_ref"])
            ideal = ideal and self.reference.is_nominal(config)
        self.ideal = ideal
        self.adc_curve = None
        if not self.adc_ideal and (config.adc_inl_lsb > 0 or config.adc_dnl_lsb > 0):
            # one ADC per layer: its transfer curve is fixed for the crossbar's life
            self.adc_curve = devices.make_transfer_curve(
                config.adc_bits, config.adc_inl_lsb, config.adc_dnl_lsb,
                self.streams["adc_curve"])
        #: offset code, parallel read: the off-state current subtracted digitally (a
        #: per-array constant fitted at calibration) instead of converting the level-0
        #: reference column at every read (see :meth:`set_off_state`)
        self.digital_off_state = False
        self.read_calls = 0          # parallel reads so far (names their noise streams)
        self.reads = 0               # array read operations (one row group, one input plane)
        self.conversions = 0         # ADC conversions (reads x columns)
        self.adc: ADC | None = None
        self.observed_max = 0.0
        self.observed_hist: torch.Tensor | None = None     # read-current histogram (ADC range)
        if self.parallel:
            self._setup_parallel(config)
        else:
            self.sequential = SequentialRead(self.mapping, self.conductance, self.device_state,
                                             config)

    def _setup_parallel(self, config) -> None:
        groups = row_groups(self.rows, config.subarray_rows, config.parallel_rows)
        # a layer with fewer rows than a read group only drives the rows it has
        used = int((groups < self.rows).sum(1).max())
        self.groups = groups[:, :used].contiguous()
        cols = self.mapping.columns
        g = _as_read(self.device_state, self.conductance)
        if self.reference is not None:
            # the offset reference column is the array's last bit line
            g = torch.cat([g, _as_read(self.reference.state, self.reference.conductance)], 1)
        ref_cols = [self.mapping.reference_column, cols]
        if self.ideal:
            lv = torch.cat([self.mapping.levels, torch.zeros(1, cols, dtype=torch.int8)])
            self.group_levels = lv[self.groups].contiguous()             # int8
            self.level_sums = self.group_levels.sum(1, dtype=torch.int32)   # groups x cols
            if self.reference is not None:
                self.reference_conductances = GroupConductances(g[:, ref_cols], self.groups,
                                                                config)
            return
        full = GroupConductances(g, self.groups, config)
        self.conductances = full.columns(slice(0, cols))
        if self.reference is not None:
            self.reference_conductances = full.columns(ref_cols)

    # -- views ----------------------------------------------------------------------------
    @property
    def physical_reference(self) -> bool:
        """True when the offset code's bias is scaled by a measured array gain."""
        return self.reference is not None

    @property
    def reference_gain(self) -> float:
        """The array gain g_hat of cim.reference (1.0 without an offset reference)."""
        return 1.0 if self.reference is None else self.reference.gain

    @property
    def effective_codes(self) -> torch.Tensor:
        """Sequential mode: the weight codes the sense amplifiers read without read noise."""
        return self.sequential.codes

    @property
    def read_noise_per_read(self) -> bool:
        """Sequential mode with read noise: reads must go through :meth:`sense`."""
        return not self.parallel and self.sequential.sigma > 0

    def set_off_state(self, mode: str) -> None:
        """How the offset code's off-state current ``Gmin * sum_r x_r`` is removed in a
        parallel read: ``"column"`` (default) converts the level-0 reference column at every
        read and subtracts it once per slice (``2^b - 1`` times its reading); ``"digital"``
        subtracts ``(2^b - 1) * Gmin_hat / delta * sum_r x_r`` in the periphery, with
        ``Gmin_hat`` the array's off-state conductance fitted on the calibration reads
        (cim.reference; the nominal Gmin for a nominal array). Why both (ours): the column
        reading cancels the off-state current that every data column carries exactly while
        the ADC resolves single levels, but through a coarse ADC its rounding error, times
        255, dominates the output (LeNet-5, 4-bit ADC: 37 % with the column, 85 % digital);
        calibration chooses per layer (cim.calibration)."""
        if mode not in ("column", "digital"):
            raise ValueError(f"off-state mode={mode!r} is not allowed; choose from: 'column', "
                             f"'digital'")
        digital = mode == "digital"
        if digital and not (self.parallel and self.mapping.encoding == "offset"):
            raise ValueError("off-state mode='digital' applies to the offset weight encoding "
                             "read in parallel mode (the level-0 reference column)")
        self.digital_off_state = digital

    def off_state_levels(self) -> float:
        """``(2^b - 1) * Gmin_hat / delta``: the digital off-state subtraction per unit of
        input code (level units)."""
        cfg = self.config
        gain = 1.0 if self.reference is None else self.reference.off_gain
        return (float(self.mapping.place.sum()) * cells.gmin(cfg) * gain
                / cells.level_step(cfg))

    @property
    def array_columns(self) -> int:
        """Columns in the array: the mapping's, less the offset reference column in
        sequential mode (a sequential read subtracts the offset digitally; no cell holds it)."""
        dropped = not self.parallel and self.mapping.reference_column is not None
        return self.mapping.columns - int(dropped)

    @property
    def converted_columns(self) -> int:
        """Columns an ADC converts at every read (the digital off state skips one)."""
        return self.array_columns - int(self.digital_off_state)

    def count_reads(self, vectors: int, input_bits: int, signed: bool) -> None:
        """Count the reads of ``vectors`` input vectors: per vector, one read per input plane
        and row group (parallel) or per input plane and row (sequential: a row per cycle);
        every read converts all the data columns."""
        planes_n = plane_weights(input_bits, signed, self.config.input_encoding).count
        per_vector = planes_n * (int(self.groups.shape[0]) if self.parallel else self.rows)
        self.reads += vectors * per_vector
        self.conversions += vectors * per_vector * self.converted_columns

    def statistics(self) -> dict:
        """Counts of this array: cells written, reads, conversions, utilization, faults."""
        cfg = self.config
        cells_used = self.rows * self.array_columns
        tiles_r = -(-self.rows // cfg.subarray_rows)
        tiles_c = -(-self.array_columns // cfg.subarray_cols)
        allocated = tiles_r * tiles_c * cfg.subarray_rows * cfg.subarray_cols
        state = self.device_state
        return {"cells_used": cells_used, "cells_allocated": allocated,
                "subarrays": tiles_r * tiles_c,
                "utilization": cells_used / allocated if allocated else 0.0,
                "writes": cells_used, "reads": self.reads, "adc_conversions": self.conversions,
                "offset_reference_cells": self.rows if self.reference is not None else 0,
                "faults": 0 if state is None else state.n_faults,
                "stuck_hrs": 0 if state is None else state.n_stuck_hrs,
                "stuck_lrs": 0 if state is None else state.n_stuck_lrs}

    # -- ADC range ------------------------------------------------------------------------
    def min_step(self, input_bits: int, signed: bool) -> float:
        planes = plane_weights(input_bits, signed, self.config.input_encoding)
        return cells.level_step(self.config) * planes.resolution

    def set_adc(self, input_bits: int, signed: bool, current_range=None) -> ADC:
        """Fix the ADC: full-scale range, or ``current_range`` (calibrated; one value, or one
        per input plane - the reference levels are re-set for each input bit's cycles).
        With an offset reference, its array gain is then calibrated (cim.reference)."""
        with one_op_thread():                # many small operations (cim.workers)
            return self._set_adc(input_bits, signed, current_range)

    def _set_adc(self, input_bits: int, signed: bool, current_range) -> ADC:
        spec = plane_weights(input_bits, signed, self.config.input_encoding)
        if current_range is None:
            current_range = full_scale_range(self.config.parallel_rows)
        ranges = torch.as_tensor(current_range, dtype=torch.float64).reshape(-1).expand(
            spec.count)
        low = self.min_step(input_bits, signed)
        self.plane_steps = torch.tensor([adc_step(float(r), self.config.adc_bits, low)
                                         for r in ranges], dtype=torch.float64)
        self.adc = ADC(self.config.adc_bits, float(self.plane_steps.max()))
        if self.reference is not None:
            self.reference.calibrate(self, input_bits, signed, self.seed)
        return self.adc

    def observe(self, current: torch.Tensor, planes_n: int) -> None:
        """Add reads (rows ordered plane-major: P x (vectors*cols)) to per-plane histograms."""
        self.observed_max = max(self.observed_max, float(current.max()))
        width = full_scale_range(self.config.parallel_rows) / HIST_BINS
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
        width = full_scale_range(self.config.parallel_rows) / HIST_BINS
        return ((index + 1).double() * width).clamp(max=self.observed_max)

    # -- reads ----------------------------------------------------------------------------
    def sense(self, x_codes: torch.Tensor, input_bits: int, signed: bool) -> torch.Tensor:
        """Sequential mode: outputs (float64, M x N) of integer inputs (M x R), read noise
        drawn per read; reads are not counted (cim.run counts them per layer call)."""
        return self.sequential.products(x_codes, input_bits, signed, self.streams["read"])

    def matmul(self, x_codes: torch.Tensor, input_bits: int, signed: bool,
               observe: bool = False) -> torch.Tensor:
        """Outputs (float64, M x N) for integer inputs ``x_codes`` (M x R).

        ``observe=True`` only records the read currents (for the calibrated ADC range) in
        ``observed_max`` / ``observed_hist``; its return value is meaningless.
        """
        if not self.parallel:
            self.count_reads(int(x_codes.shape[0]), input_bits, signed)
            return self.sense(x_codes, input_bits, signed)
        if self.adc is None and not observe:
            raise RuntimeError("Crossbar.set_adc must be called before a parallel read")
        out = parallel_read(self, x_codes, input_bits, signed, observe)    # cim.workers
        if observe:
            return out
        if self.digital_off_state:
            out -= self.off_state_levels() * x_codes.to(torch.float64).sum(1).unsqueeze(1)
        if self.reference is not None:
            return self.reference.remove_bias(out, x_codes)
        if self.mapping.offset:
            # ideal array and ADC: the bias of the offset code is a digital constant
            out -= self.mapping.offset * x_codes.to(torch.float64).sum(1).unsqueeze(1)
        return out


def _without_reference(state, g: torch.Tensor, column: int):
    """Sequential mode: the offset code's level-0 reference column is not part of the array
    (a sense amplifier resolves each cell against fixed thresholds; the offset's bias is a
    digital constant), so no fault or device effect may reach it. The cells are programmed
    as before - the data cells keep their random draws - and the column is then set back to
    level 0 at the nominal Gmin, fault-free."""
    if state is None:
        return state, g
    mask = state.fault_mask.clone()
    mask[:, column] = devices.OK
    g_state = state.g.clone()
    g_state[:, column] = state.g_target[:, column]
    g = g.clone()
    g[:, column] = state.g_target[:, column].to(g.dtype)
    return dataclasses.replace(state, g=g_state, fault_mask=mask), g


def _as_read(state, g: torch.Tensor) -> torch.Tensor:
    """Conductances a read sees without noise: times the global drift-compensation factor."""
    c = 1.0 if state is None else state.drift_compensation
    return g if c == 1.0 else (g.to(torch.float64) * c).to(torch.float32)
