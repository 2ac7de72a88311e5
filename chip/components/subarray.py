"""SubArray: the compute-in-memory macro — cell array plus its read periphery.

Composes the leaf components for SRAM, RRAM 1T1R and 0T1R crossbar arrays, read
conventionally sequential (one row per read) or parallel (``rows_per_read`` rows at once,
``ceil(rows / rows_per_read)`` partial reads accumulated by adders and DFFs), with the
columns multiplexed ``cols_per_adc`` to one ADC and shift-add over cell slices and input
bits. Follows NeuroSim V1.4's SubArray (reference/neurosim-v1.4.md §2, tables §5.10, §6).

Floorplan (NeuroSim's, SubArray.cpp): drivers and decoders stacked beside the array at its
height; precharger, write drivers, mux, ADC, accumulator and shift-adders in strips below it
at its width (gates tiled in whole rows); the mux decoder in the corner. The bounding box is
the sub-array's area; the unused corner ("whitespace") belongs to no component.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chip.components.adc import FlashADC, SarADC
from chip.components.adder import Adder
from chip.components.array import Array
from chip.components.base import Component, require_int
from chip.components.decoder import RowDecoder
from chip.components.dff import DFF
from chip.components.level_shifter import LevelShifter
from chip.components.mux import Mux
from chip.components.sense_amp import Precharger, SenseAmp, SRAMWriteDriver
from chip.components.shift_add import ShiftAdd
from chip.components.switch_matrix import NewSwitchMatrix, SwitchMatrix
from chip.cost import CATEGORIES, Cost
from chip.technology import WRITE_LEVEL_SHIFT_V


@dataclass(frozen=True)
class _Reads:
    """The counts one `SubArray.cost` call prices, derived once from its activity."""

    S: int                 # sub-arrays (the node's count)
    bv: float              # input bit vectors per sub-array
    M: int                 # columns per ADC (read in turn)
    num_add: float         # partial reads per bit vector
    reads: float           # partial reads per sub-array
    used_cols: float       # mapped columns per sub-array
    col_frac: float        # share of the column lanes that carry data
    active_rows: float     # WL activations per sub-array (one per column group: x M)
    per_vector: bool       # quirk mux_cycles_per_bit_vector
    synchronous: bool      # a clock period is given and the chip is synchronous
    T: float               # the read cycle: the clock period, else the sensing cycle


class SubArray(Component):
    """One subarray geometry and its periphery: a `Component` whose activity is a whole
    `chip.activity.SubArrayActivity`.

    SubArray(ctx, config, rows=None, cols=None) (defaults: config.subarray_rows/cols).
    Attributes: ``area_m2``, ``width_m``, ``height_m``, ``leakage_W``, ``area_by_category``,
    ``whitespace_m2``, ``leakage_in_use_W``, ``read_cycle_s`` (beta-scaled sensing cycle,
    the clock-period candidate), ``components`` (name -> component), ``num_adc``,
    ``num_add``, ``reads_per_bit_vector``, ``output_bits``, ``psum_bits``.
    ``cost(activity, clock_period_s)`` -> Cost of processing `activity`: node count =
    activity.subarrays, energy for all of them, latency of one subarray (they work in
    parallel); ``latency_s`` / ``dynamic_energy_J`` take the same two arguments.
    """

    name = "subarray"
    category = "other"

    def __init__(self, ctx, config, rows: int | None = None, cols: int | None = None):
        super().__init__()
        self.ctx, self.config = ctx, config
        # rows and columns are independent (as NeuroSim's SubArray::Initialize); NeuroSim's
        # tiles and PEs are sized in numRow units (quirk square_subarray_sizing)
        self.rows = require_int("rows", config.subarray_rows if rows is None else rows)
        self.cols = require_int("cols", config.subarray_cols if cols is None else cols)
        c = config
        self.parallel = c.operation_mode == "parallel"
        self.rows_per_read = min(c.rows_per_read, self.rows)
        self.num_add = math.ceil(self.rows / self.rows_per_read)
        self.cols_per_adc = min(c.cols_per_adc, self.cols)
        self.num_adc = math.ceil(self.cols / self.cols_per_adc)
        self.cells_per_weight = c.cells_per_weight
        self.components: dict[str, Component] = {}
        self._side: list[str] = []       # placed beside the array (height pinned)
        self._below: list[str] = []      # placed below the array (width pinned)
        self._corner: list[str] = []     # in the corner beside the strips below the array
        self.array = self._part("array", Array(ctx, c, self.rows, self.cols))
        r_mux_load, r_sl_load = self._read_loads()
        self._row_periphery()
        self._column_drivers(r_sl_load)
        self._column_mux(r_mux_load)
        out_bits_read = self._sensing()
        self._accumulation(out_bits_read)
        self._shift_adders(out_bits_read)
        self._floorplan()
        self._timing()

    # --- periphery builders (SubArray.cpp's Initialize, one group each) --------------------
    def _part(self, name: str, comp: Component, placement: list[str] | None = None):
        """Register ``comp`` as ``name``; ``placement``: the floorplan strip it goes in."""
        self.components[name] = comp
        if placement is not None:
            placement.append(name)
        return comp

    def _read_loads(self) -> tuple[float, float]:
        """Load resistances (ohm) of the eNVM column mux and of the SL switch matrix."""
        ctx, c = self.ctx, self.config
        r_cell = ctx.access_resistance_ohm if ctx.is_sram else c.r_on_ohm
        # ours, a column with half (mux) or all (SL driver) of the rows read at once on at
        # R_on; NeuroSim sizes both on the average cell, and the SL one x numRow (quirk
        # envm_average_cell_loads)
        r_mux_load = r_cell / max(self.rows_per_read / 2, 1)            # tables §5.5
        r_sl_load = r_cell / self.rows_per_read
        if not ctx.is_sram and ctx.quirk("envm_average_cell_loads"):
            r_acc = ctx.access_resistance_ohm
            if self.parallel:
                # SubArray.cpp: resMemCellAvg = 2 / (1/(R_on + R_acc) + 1/(R_off + R_acc));
                # resTg = resMemCellAvg / numRowParallel; mux on resTg, SL on resTg x numRow
                r_avg = 2.0 / (1.0 / (c.r_on_ohm + r_acc) + 1.0 / (c.r_off_ohm + r_acc))
                r_mux_load = r_avg / self.rows_per_read
                r_sl_load = r_mux_load * self.rows
            else:
                # SubArray.cpp (sequential): both on resMemCellOn = R_on + R_acc
                r_mux_load = r_sl_load = c.r_on_ohm + r_acc
        return r_mux_load, r_sl_load

    def _row_periphery(self) -> None:
        """WL drivers beside the array: a switch matrix when rows are read in parallel (1T1R:
        the 4-TG NewSwitchMatrix), a row decoder when one row is read at a time."""
        ctx, c, arr = self.ctx, self.config, self.array
        sram = ctx.is_sram
        if not self.parallel:
            self._part("wl_decoder", RowDecoder(ctx, c, self.rows, arr.row_cap_F,
                                                height_m=arr.height_m), self._side)
        elif sram or ctx.crossbar:
            r_cell = ctx.access_resistance_ohm if sram else c.r_on_ohm
            self._part("wl_driver", SwitchMatrix(
                ctx, c, self.rows, arr.row_resistance_ohm if sram else r_cell / self.cols,
                arr.row_cap_F, arr.row_resistance_ohm, self.cols, mode="row",
                drive_voltage_V=ctx.vdd_V if sram else ctx.read_voltage_V,
                edge_m=arr.height_m), self._side)
        else:
            self._part("wl_driver", NewSwitchMatrix(ctx, c, self.rows, arr.row_resistance_ohm,
                                                    arr.row_cap_F, edge_m=arr.height_m),
                       self._side)

    def _column_drivers(self, r_sl_load: float) -> None:
        """eNVM: the BL/SL switch matrix (and write level shifters); SRAM: the bit-line
        precharger and write drivers. Write paths: area and leakage only on reads."""
        ctx, c, arr = self.ctx, self.config, self.array
        W, H = arr.width_m, arr.height_m
        if ctx.is_sram:
            self._part("precharger", Precharger(ctx, c, self.cols, arr.col_cap_F,
                                                arr.col_resistance_ohm, width_m=W,
                                                count_energy=False), self._below)
            self._part("write_driver", SRAMWriteDriver(ctx, c, self.cols, width_m=W),
                       self._below)
            return
        # BL/SL switch matrix: drives the columns for writes; not on the read path (its
        # read energy is 0, see cost(); SubArray.cpp leaves it out of the read cycle).
        self._part("bl_driver", SwitchMatrix(ctx, c, self.cols, r_sl_load, arr.col_cap_F,
                                             arr.col_resistance_ohm, self.rows, mode="col",
                                             drive_voltage_V=ctx.read_voltage_V, edge_m=W),
                   self._below)
        if c.write_voltage_V > WRITE_LEVEL_SHIFT_V:
            # SubArray.cpp: write level shifters on the WL and BL (beside the array, one
            # per row) and on the SL (below it, one per column); only the WL one is on
            # the read path (ours; NeuroSim charges none of them on reads)
            self._part("level_shifter", LevelShifter(ctx, c, self.rows, arr.row_cap_F,
                                                     height_m=H), self._side)
            self._part("bl_level_shifter", LevelShifter(ctx, c, self.rows, arr.row_cap_F,
                                                        height_m=H), self._side)
            self._part("sl_level_shifter", LevelShifter(ctx, c, self.cols, arr.col_cap_F,
                                                        width_m=W), self._below)

    def _column_mux(self, r_mux_load: float) -> None:
        """``cols_per_adc`` columns multiplexed to each ADC, with the mux decoder."""
        M = self.cols_per_adc
        if M <= 1:
            return
        ctx, c, W = self.ctx, self.config, self.array.width_m
        mux = self._part("mux", Mux(ctx, c, self.num_adc, M, r_mux_load, width_m=W),
                         self._below)
        dec = self._part("mux_decoder", RowDecoder(ctx, c, M, mux.select_cap_F,
                                                   mux_decoder=True), self._corner)
        # SubArray.cpp: the mux decoder sits in the corner beside the mux strip, and the
        # strip is made as tall as the decoder that drives its select lines
        mux.override_layout(max(mux.height_m, dec.height_m), W)

    def _sensing(self) -> int:
        """The ADC (parallel: flash or SAR of adc_bits; sequential: a 1-bit sense amp for
        binary SRAM, else a flash over the cell levels). Returns its output bits."""
        ctx, c, arr = self.ctx, self.config, self.array
        W, H, M = arr.width_m, arr.height_m, self.cols_per_adc
        if self.parallel:
            self.levels = 2 ** c.adc_bits
            if c.adc_type == "sar":
                adc = SarADC(ctx, c, self.cols, M, c.adc_bits, W)
            else:
                e_peri = (arr.row_cap_F / self.cols) * ctx.vdd_V ** 2 * self.rows \
                    if ctx.is_sram else 0.0
                adc = FlashADC(ctx, c, self.cols, M, self.levels, arr.col_cap_F, H, W,
                               "parallel", self.rows_per_read, e_peri)
            out_bits_read = c.adc_bits
        else:
            self.levels = 2 ** c.cell_bits
            if self.levels == 2 and ctx.is_sram:
                adc = SenseAmp(ctx, c, self.num_adc, arr.col_cap_F, width_m=W)
            else:
                adc = FlashADC(ctx, c, self.cols, M, self.levels, arr.col_cap_F, H, W,
                               "sequential", 1)
            out_bits_read = c.cell_bits
        self._part("adc", adc, self._below)
        return out_bits_read

    def _accumulation(self, out_bits_read: int) -> None:
        """Partial-sum accumulation over the numAdd partial reads (tables §5.10)."""
        ctx, c, W = self.ctx, self.config, self.array.width_m
        self.psum_bits = out_bits_read + math.ceil(math.log2(self.num_add)) \
            if self.num_add > 1 else out_bits_read
        if self.num_add > 1:
            self._part("accumulator_adder", Adder(ctx, c, max(self.psum_bits - 1, 1),
                                                  self.num_adc, width_m=W), self._below)
            self._part("accumulator_dff", DFF(ctx, c, self.psum_bits * self.num_adc,
                                              width_m=W), self._below)

    def _shift_adders(self, out_bits_read: int) -> None:
        """Shift-add over cell slices (weight) and input bits (input); the output width."""
        ctx, c, W = self.ctx, self.config, self.array.width_m
        weights_per_row = max(1, math.ceil(self.cols / self.cells_per_weight))
        # combining k slices of p-bit partial sums, sum_i psum_i 2^(i cell_bits), needs
        # p + (k - 1) cell_bits + 1 bits (tables §5.10 output width; SubArray.cpp sizes the
        # input shift-adder adderBit + numColPerSynapse)
        slice_bits = (self.cells_per_weight - 1) * c.cell_bits + 1 \
            if self.cells_per_weight > 1 else 0
        self.weight_bits_out = self.psum_bits + slice_bits
        sa_bits = self.psum_bits
        if not ctx.is_sram and self.parallel and ctx.quirk("envm_shift_add_adc_width"):
            # SubArray.cpp (eNVM parallel): the shift-adders are sized on the ADC output
            # alone, without the partial-sum accumulation bits
            sa_bits = out_bits_read
        self._shift_add_bits = (sa_bits, sa_bits + slice_bits)
        if self.cells_per_weight > 1:
            # serial shift-add (tables §5.3): each step adds one slice's partial sum (psum_bits
            # wide) at the top of a register that shifts the finished low bits out, so the
            # adder is as wide as the incoming operand, not as the combined weight result
            self._part("shift_add_weight", ShiftAdd(ctx, c, weights_per_row,
                                                    self._shift_add_bits[0],
                                                    self.cells_per_weight, width_m=W),
                       self._below)
        self._part("shift_add_input", ShiftAdd(ctx, c, weights_per_row,
                                               self._shift_add_bits[1], c.activation_bits,
                                               width_m=W), self._below)
        # tables §5.10: sub-array output width (the input shift-add over B bits adds B bits;
        # with one cell per weight the +1 of the weight combination is still counted there)
        self.output_bits = self.weight_bits_out + c.activation_bits + (
            0 if self.cells_per_weight > 1 else 1)

    # --- geometry ---------------------------------------------------------------------------
    def _floorplan(self) -> None:
        """SubArray.cpp's floorplan (tables §5.10): the drivers beside the array at its
        height, the strips below it at its width, the mux decoder in the corner under the
        drivers; the bounding box is the sub-array. The unused corner ("whitespace") is part
        of the area but of no component (NeuroSim's emptyArea, in no breakdown row)."""
        arr = self.array
        side_w = sum(self.components[n].area_m2 / arr.height_m for n in self._side)
        corner_w = max((self.components[n].width_m for n in self._corner), default=0.0)
        below_h = sum(self.components[n].area_m2 / arr.width_m for n in self._below)
        self.width_m = arr.width_m + max(side_w, corner_w)
        self.height_m = arr.height_m + below_h
        self.area_m2 = self.width_m * self.height_m
        used = sum(comp.area_m2 for comp in self.components.values())
        self.whitespace_m2 = max(self.area_m2 - used, 0.0)
        cats = dict.fromkeys(CATEGORIES, 0.0)
        for comp in self.components.values():
            cats[comp.category] += comp.area_m2
        self.area_by_category = cats        # components only; whitespace_m2 apart
        self.leakage_W = sum(comp.leakage_W for comp in self.components.values())
        # tables §5.8: SRAM cells still leaking while the subarray computes ("SRAM in use"):
        # parallel = all but the rows read at once x ADC lanes, sequential = all but one row
        cell = getattr(self.array, "cell_leakage_W", 0.0)
        if self.parallel:
            idle_cells = self.rows * self.cols - self.rows_per_read * self.num_adc
        else:
            idle_cells = (self.rows - 1) * self.cols
        self.array_leakage_in_use_W = cell * max(0, idle_cells)
        # ours: while busy the peripherals leak as before, the array at its in-use rate
        self.leakage_in_use_W = self.leakage_W - self.array.leakage_W + \
            self.array_leakage_in_use_W

    def _timing(self) -> None:
        comps, ctx = self.components, self.ctx
        t_row = 0.0
        # the row path: decoder/driver, and (ours) the WL level shifter, the 1T1R word line
        # swinging to the access voltage; SubArray.cpp times the WL switch matrix alone
        # (quirk level_shifter_no_leakage). The column (BL/SL) switch matrix drives writes
        # only and is on no read path (SubArray.cpp, CalculateLatency).
        row_path = ["wl_decoder", "wl_driver"]
        if not ctx.quirk("level_shifter_no_leakage"):
            row_path.append("level_shifter")
        for name in row_path:
            if name in comps:
                t_row += comps[name].latency_s()
        t_mux = 0.0
        if "mux" in comps:
            t_mux = comps["mux"].latency_s() + comps["mux_decoder"].latency_s()
        t_pre = comps["precharger"].latency_s() if "precharger" in comps else 0.0
        adc = comps["adc"]
        t_adc = adc.latency_s(num_conversions=1) if not isinstance(adc, SenseAmp) \
            else adc.latency_s(num_reads=1)
        # tables §6.1: cycle = beta [max(t_WL, t_mux + t_muxdec) + t_precharge + t_ADC + t_enc]
        self.sensing_latency_s = max(t_row, t_mux) + t_pre + t_adc
        self.read_cycle_s = ctx.beta * self.sensing_latency_s
        self.reads_per_bit_vector = self.cols_per_adc * self.num_add

    # --- cost -------------------------------------------------------------------------------
    def latency_s(self, activity: Any, clock_period_s: float | None = None) -> float:
        """Latency of one sub-array processing ``activity`` (see `cost`)."""
        return self.cost(activity, clock_period_s).latency_s

    def dynamic_energy_J(self, activity: Any, clock_period_s: float | None = None) -> float:
        """Dynamic energy of all ``activity.subarrays`` sub-arrays (see `cost`)."""
        return self.cost(activity, clock_period_s).total_dynamic_energy_J

    def cost(self, activity: Any, clock_period_s: float | None = None) -> Cost:
        """Latency and energy of processing ``activity`` (see class docstring)."""
        n = self._read_counts(activity, clock_period_s)
        children: list[Cost] = []
        self._row_costs(n, children)
        self._column_costs(n, children)
        # ADC-limited read cycles: M x numAdd per bit vector (tables §6.1)
        adc_latency = n.bv * n.M * n.num_add * n.T
        self._adc_cost(activity, n, adc_latency, children)
        acc_latency = self._accumulation_cost(n, children)
        acc_latency = self._shift_add_cost(n, children, acc_latency)
        if self.whitespace_m2:
            children.append(Cost("whitespace", "other", area_m2=self.whitespace_m2 * n.S,
                                 count=n.S))
        node = Cost("subarray", "other", latency_s=adc_latency + acc_latency, count=n.S,
                    children=children)
        node.adc_latency_s = adc_latency            # breakdown helpers for the hierarchy
        node.accumulation_latency_s = acc_latency
        return node

    def _read_counts(self, activity: Any, clock_period_s: float | None) -> _Reads:
        S = int(activity.subarrays)
        if S < 0:
            raise ValueError(f"activity.subarrays={S} must be >= 0")
        bv = float(activity.bit_vectors_per_subarray)
        num_add = float(activity.reads_per_subarray) / bv if bv else 0.0
        used_cols = float(getattr(activity, "used_cols", self.cols))
        col_frac = min(used_cols / self.cols, 1.0) if self.cols else 0.0
        if self.ctx.quirk("unused_lanes_charged"):
            # ShiftAdd.cpp / Adder.cpp: CalculatePower charges every unit (numAdder), mapped
            # or not
            col_frac = 1.0
        synchronous = bool(self.config.clock == "synchronous" and clock_period_s)
        return _Reads(S=S, bv=bv, M=self.cols_per_adc, num_add=num_add,
                      reads=bv * num_add,                 # partial reads per subarray
                      used_cols=used_cols, col_frac=col_frac,
                      active_rows=float(activity.active_row_fraction) * self.rows * bv,
                      per_vector=self.ctx.quirk("mux_cycles_per_bit_vector"),
                      synchronous=synchronous,
                      T=clock_period_s if synchronous else self.read_cycle_s)

    def _child(self, name: str, energy: float, n: _Reads, latency: float = 0.0) -> Cost:
        """The node of component ``name``: its area and leakage x S, ``energy`` per sub-array
        x S."""
        comp = self.components[name]
        return Cost(name, comp.category, area_m2=comp.area_m2 * n.S, latency_s=latency,
                    dynamic_energy_J=energy * n.S, leakage_W=comp.leakage_W * n.S,
                    count=n.S)

    def _row_costs(self, n: _Reads, children: list[Cost]) -> None:
        """The array's word and bit lines and the row drivers."""
        comps, M = self.components, n.M
        # the flash ADC's comparators charge the bit line they sense (MultilevelSenseAmp.cpp,
        # column switching term; SubArray.cpp: "already considered in multilevelsenseamp"),
        # so the array adds the bit-line charge only for the other read circuits
        bl_reads = 0.0 if isinstance(comps["adc"], FlashADC) else n.reads * n.used_cols
        children.append(self._child("array", comps["array"].dynamic_energy_J(
            row_activations=n.active_rows * M, column_reads=bl_reads), n))
        # the rows are driven again for each of the M column groups the ADC reads in turn
        # (as the array's row activations above; NeuroSim: the WL switch matrix is evaluated
        # numColMuxed times per read)
        if "wl_driver" in comps:
            # ours: the scan DFFs clock once per column group of every partial read;
            # SubArray.cpp evaluates the switch matrix numColMuxed times per input bit vector
            # whatever numAdd (quirk mux_cycles_per_bit_vector); the rows driven are the same
            cycles = n.bv * M if n.per_vector else n.reads * M
            children.append(self._child("wl_driver", comps["wl_driver"].dynamic_energy_J(
                num_reads=cycles, active_lines=n.active_rows * M / max(cycles, 1)), n))
        if "level_shifter" in comps:       # ours: switches once per partial read
            children.append(self._child("level_shifter", comps["level_shifter"]
                                        .dynamic_energy_J(num_reads=n.reads,
                                                          active_lines=n.active_rows
                                                          / max(n.reads, 1)), n))
        if "wl_decoder" in comps:
            children.append(self._child("wl_decoder", comps["wl_decoder"].dynamic_energy_J(
                num_reads=n.reads * M), n))

    def _column_costs(self, n: _Reads, children: list[Cost]) -> None:
        """Column drivers, write paths, precharger and column mux."""
        comps, M = self.components, n.M
        if "bl_driver" in comps:
            # the column (BL/SL) switch matrix switches for writes only: during a read the
            # read voltage is already charged by the row-side driver (parallel) or by the
            # array's bit-line charge (sequential), so charging it here counted it twice
            # (NeuroSim V1.4 likewise evaluates its SL switch matrix with 0 reads)
            children.append(self._child("bl_driver", 0.0, n))
        if "precharger" in comps:
            children.append(self._child("precharger", comps["precharger"].dynamic_energy_J(
                num_reads=n.reads * M), n))
        for name in ("write_driver", "bl_level_shifter", "sl_level_shifter"):
            if name in comps:
                children.append(self._child(name, 0.0, n))   # write paths: area and leakage
        if "mux" in comps:
            # ours: the mux steps through its M columns on every partial read; SubArray.cpp:
            # numColMuxed selections per bit vector (quirk mux_cycles_per_bit_vector)
            sel = n.bv * M if n.per_vector else n.reads * M
            children.append(self._child("mux", comps["mux"].dynamic_energy_J(num_reads=sel),
                                        n))
            children.append(self._child("mux_decoder", comps["mux_decoder"].dynamic_energy_J(
                num_reads=sel), n))

    def _adc_cost(self, activity: Any, n: _Reads, adc_latency: float,
                  children: list[Cost]) -> None:
        adc = self.components["adc"]
        if isinstance(adc, SenseAmp):
            adc_energy = adc.dynamic_energy_J(num_reads=n.reads * n.M) * n.col_frac
        else:
            # histogram over every conversion of every subarray: already the layer total
            adc_energy = adc.dynamic_energy_J(conductance_S=activity.column_conductance_S,
                                              counts=activity.column_conductance_count)
        children.append(Cost("adc", adc.category, area_m2=adc.area_m2 * n.S,
                              latency_s=adc_latency, dynamic_energy_J=adc_energy,
                              leakage_W=adc.leakage_W * n.S, count=n.S))

    def _accumulation_cost(self, n: _Reads, children: list[Cost]) -> float:
        """Partial-sum adder and register; returns the latency they add."""
        comps = self.components
        if "accumulator_adder" not in comps:
            return 0.0
        adder, dff = comps["accumulator_adder"], comps["accumulator_dff"]
        bv, M, T = n.bv, n.M, n.T
        ops = bv * M * max(n.num_add - 1, 0) * self.num_adc * n.col_frac
        children.append(self._child("accumulator_adder", adder.dynamic_energy_J(num_ops=ops),
                                    n))
        active_bits = (self.psum_bits - math.ceil(math.log2(self.num_add)) / 2) \
            * self.num_adc * n.col_frac
        # ours: the register is clocked for every partial sum, the first one's load
        # included; SubArray.cpp clocks it numColMuxed (numAdd - 1) times per bit vector
        # (quirk accumulator_first_load_free)
        loads = n.num_add - 1 if self.ctx.quirk("accumulator_first_load_free") else n.num_add
        children.append(self._child("accumulator_dff", dff.dynamic_energy_J(
            num_reads=bv * M * max(loads, 0), num_active=active_bits), n))
        if n.synchronous:
            # tables §5.10: M (numAdd - 1) (ceil(t_adder f) - 1) extra cycles when clocked
            extra = max(math.ceil(adder.add_latency_s / T - 1e-9) - 1, 0)
            return bv * M * max(n.num_add - 1, 0) * extra * T
        # ours, asynchronous: each add overlaps the next conversion and shows only by what
        # it exceeds the read cycle (rounding it up to whole read cycles made the
        # asynchronous chip slower than the synchronous one; issue 17)
        return bv * M * max(n.num_add - 1, 0) * max(adder.add_latency_s - T, 0.0)

    def _shift_add_cost(self, n: _Reads, children: list[Cost], acc_latency: float) -> float:
        """Weight and input shift-adders; returns ``acc_latency`` plus the steps they add."""
        comps = self.components
        # combining k cell slices of a weight takes k - 1 additions (the first slice is
        # loaded); NeuroSim V1.4: (numCellPerSynapse - 1) x ceil(M / numCellPerSynapse) per lane
        for name, steps in (("shift_add_weight", self.cells_per_weight - 1),
                            ("shift_add_input", 1)):
            if name in comps:
                children.append(self._child(name, comps[name].dynamic_energy_J(
                    num_reads=n.bv * steps) * n.col_frac, n))
                # ours: the last steps, after the final ADC cycle, cost one adder delay
                # each; NeuroSim hides them completely (quirk shift_add_latency_hidden)
                if not self.ctx.quirk("shift_add_latency_hidden") and n.bv:
                    acc_latency += comps[name].latency_s(
                        num_reads=1, clock_period_s=n.T if n.synchronous else None)
        return acc_latency

    def __repr__(self) -> str:
        return (f"SubArray({self.rows}x{self.cols}, area={self.area_m2 * 1e12:.4g} um2, "
                f"cycle={self.read_cycle_s * 1e9:.4g} ns)")
