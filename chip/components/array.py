"""The cell array and its word/bit-line wires."""
from __future__ import annotations

from chip.components.base import Component, require_int, require_positive


class Array(Component):
    """rows x cols memory cells with their WL (Metal1) and BL (Metal0) wires.

    Array(ctx, config, rows, cols). Activity: ``row_activations`` (WL assertions: active
    rows summed over all reads, each mux cycle counted) and ``column_reads`` (bit-line
    charge events, eNVM only; the SRAM bit line is charged inside the sense-amp model).
    """

    name = "array"
    category = "array"

    def __init__(self, ctx, config, rows: int, cols: int):
        super().__init__()
        self.rows = require_int("rows", rows)
        self.cols = require_int("cols", cols)
        self.ctx = ctx
        # NeuroSim V1.4 tables §2.4: array lengths = cells x cell size.
        self.width_m = self.cols * ctx.cell_width_m
        self.height_m = self.rows * ctx.cell_height_m
        self.area_m2 = self.width_m * self.height_m
        # NeuroSim V1.4 tables §2.3: row wire Metal1, column wire Metal0, 0.2 fF/um.
        self.row_resistance_ohm = self.width_m * ctx.r_row_ohm_per_m
        self.col_resistance_ohm = self.height_m * ctx.r_col_ohm_per_m
        gate_per_col = 0.0
        drain_per_row = 0.0
        if ctx.access_width_m > 0:
            # one access gate per column on a WL (SRAM sequential reads load two: tables §5.8)
            n_gates = 2 if (ctx.is_sram and config.operation_mode == "sequential") else 1
            gate_per_col = n_gates * ctx.gate_cap(ctx.access_width_m)
            if ctx.finfet:
                # NeuroSim V1.4 tables §6: <= 14 nm column cap uses cap_draintotal per fin.
                fins = max(1.0, round(ctx.access_width_m / ctx.width_F(1.0)))
                drain_per_row = (ctx.tech.cap_draintotal_F_per_m * fins
                                 * ctx.tech.effective_width_m)
            else:
                drain_per_row = ctx.drain_cap(ctx.access_width_m, "n", ctx.cell_height_m)
        # NeuroSim V1.4 tables §5.8: C_row = wire + access gates; C_col = wire + access drains.
        self.row_cap_F = self.width_m * ctx.wire_cap_F_per_m + self.cols * gate_per_col
        self.col_cap_F = self.height_m * ctx.wire_cap_F_per_m + self.rows * drain_per_row
        if ctx.is_sram:
            self.wl_voltage_V = ctx.vdd_V
        elif ctx.crossbar:
            self.wl_voltage_V = ctx.read_voltage_V
        else:
            self.wl_voltage_V = config.access_voltage_V
            if ctx.quirk("envm_wl_energy_vdd"):
                self.wl_voltage_V = ctx.vdd_V       # SubArray.cpp: capRow2 * Vdd^2
        if ctx.is_sram:
            # NeuroSim V1.4 tables §5.8: SRAM cell leakage = 2 INV (W_N = W_P = 1 F) per cell.
            w = ctx.width_F(1.0)
            cell = ctx.gate("inv", 1, w, w)
            self.cell_leakage_W = 2 * cell.leakage_W
        else:
            self.cell_leakage_W = 0.0
        self.leakage_W = self.cell_leakage_W * self.rows * self.cols

    def dynamic_energy_J(self, *, row_activations: float = 0.0,
                         column_reads: float = 0.0) -> float:
        """``column_reads``: bit-line charges not already counted by the read circuit (the
        flash ADC's comparators charge their column themselves, MultilevelSenseAmp.cpp; the
        sub-array passes 0 then)."""
        require_positive("row_activations", row_activations, allow_zero=True)
        # NeuroSim V1.4 tables §5.8: C_row V^2 per WL activation (SRAM: Vdd).
        energy = self.row_cap_F * self.wl_voltage_V ** 2 * row_activations
        if not self.ctx.is_sram:
            # ours (NeuroSim SubArray eNVM read): C_col V_read^2 per bit-line read.
            energy += self.col_cap_F * self.ctx.read_voltage_V ** 2 * column_reads
        return energy
