"""Column multiplexer of transmission gates (NeuroSim V1.4 tables §5.5)."""
from __future__ import annotations

import math

from chip.components.base import Component, require_int, require_positive
from chip.technology import IR_DROP_TOLERANCE


def tg_width_m(ctx, target_resistance_ohm: float, ratio: float = 1.0) -> float:
    """Transmission-gate NMOS width giving the target resistance (tables §5.5/§5.7)."""
    F = ctx.feature_size_m
    r_unit = ctx.r_on(F, "n", multiplier=False) * F        # R_on,normal x width (ohm m)
    w = r_unit * ratio / (2 * target_resistance_ohm)
    if ctx.finfet:
        return max(2 * F, 2 * F * math.ceil(w / (2 * F)))   # whole fins (even F)
    return max(F, w)


def tg_area_m2(ctx, width_n_m: float, width_p_m: float, height_m: float | None = None) -> float:
    """Area of one transmission gate, folded to fit the standard-cell height (formula API)."""
    h = height_m or ctx.std_cell_height_m
    t = ctx.tech
    usable = max((t.cell_height_F - t.pn_gap_F - 2 * t.outer_height_region_F) / 2, 1.0) \
        * ctx.feature_size_m
    folds = max(1, math.ceil(max(width_n_m, width_p_m) / usable))
    return float(ctx.fb.pass_gate_area(ctx.tech, width_n_m, width_p_m, folds, h).area_m2)


class Mux(Component):
    """``num_outputs`` multiplexers, each selecting one of ``num_selections`` columns.

    Mux(ctx, config, num_outputs, num_selections, load_resistance_ohm, load_cap_F=0.0,
    width_m=None). TG sized to 0.25 x the load resistance. Activity: ``num_reads``
    selections (energy); latency of one selection.
    """

    name = "mux"
    category = "other"

    def __init__(self, ctx, config, num_outputs: int, num_selections: int,
                 load_resistance_ohm: float, load_cap_F: float = 0.0,
                 width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_outputs = require_int("num_outputs", num_outputs)
        self.num_selections = require_int("num_selections", num_selections)
        require_positive("load_resistance_ohm", load_resistance_ohm)
        wn = tg_width_m(ctx, load_resistance_ohm * IR_DROP_TOLERANCE)   # tables §5.5
        wp = ctx.pn * wn
        self.width_n_m, self.width_p_m = wn, wp
        n_tg = self.num_outputs * self.num_selections
        if width_m:
            # Mux.cpp (analog mux against the array width): as many TGs per row as min-width
            # cells fit, rows balanced, each TG folded into its share of the row
            min_w = 2 * ctx.tech.cpp_F * ctx.feature_size_m    # one pass gate's cell width
            per_row = max(1, int(width_m / min_w + 1e-9))
            rows = math.ceil(n_tg / per_row)
            per_row = math.ceil(n_tg / rows)
            folds = max(1, int((width_m / per_row) / (0.5 * min_w) + 1e-9) - 1)
            pg = ctx.fb.pass_gate_area(ctx.tech, wn, wp, folds)
            self.width_m, self.height_m = width_m, rows * float(pg.height_m)
            self.area_m2 = self.width_m * self.height_m
            self.tg_height_m = float(pg.height_m)
        else:
            self._place(n_tg * tg_area_m2(ctx, wn, wp))
        self.r_tg_ohm = 1.0 / (1.0 / ctx.r_on(wn, "n") + 1.0 / ctx.r_on(wp, "p"))
        self.cg_n, self.cg_p = ctx.gate_cap(wn), ctx.gate_cap(wp)
        self.c_drain = ctx.drain_cap(wn, "n") + ctx.drain_cap(wp, "p")
        if width_m:
            # the drains of a TG as folded into its slot of the mux row
            self.c_drain = ctx.gate("inv", 1, wn, wp, height_m=self.tg_height_m).cap_out_F
            if ctx.quirk("mux_drain_cap_unfolded"):
                # SubArray.cpp re-runs Mux::CalculateArea (OVERRIDE), which recomputes the
                # drain capacitance for an unfolded pass gate
                h = float(ctx.fb.pass_gate_area(ctx.tech, wn, wp, 1).height_m)
                self.c_drain = ctx.gate("inv", 1, wn, wp, height_m=h).cap_out_F
        # tables §5.5: t = 2.3 R_TG (C_TGdrain + C_g/2 + C_load)
        self.select_latency_s = 2.3 * self.r_tg_ohm * (self.c_drain + 0.5 * self.cg_n
                                                        + 0.5 * self.cg_p + load_cap_F)
        # tables §5.5: per selection, numInput (C_g,N Vdd^2 + 2 C_TGdrain V_read^2)
        self.select_energy_J = self.num_outputs * (self.cg_n * ctx.vdd_V ** 2
                                                   + 2 * self.c_drain * ctx.read_voltage_V ** 2)
        self.select_cap_F = self.num_outputs * (self.cg_n + self.cg_p)   # load on one select line
        self.leakage_W = 0.0

    def latency_s(self, *, num_reads: float = 1.0) -> float:
        return num_reads * self.select_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0) -> float:
        return num_reads * self.select_energy_J
