"""WL / BL / SL drivers: switch matrices of transmission gates (NeuroSim V1.4 tables §5.7)."""
from __future__ import annotations

import math

from chip.components.base import Component, require_int, require_positive
from chip.components.dff import DFF
from chip.components.mux import tg_area_m2, tg_width_m
from chip.technology import LINEAR_REGION_RATIO


def _tg_columns(sm, ctx, config, wn: float, wp: float, tg_per_line: int,
                height_m: float) -> None:
    """SwitchMatrix.cpp / NewSwitchMatrix.cpp row mode along the array height: the lines are
    split into the fewest columns of standard-cell-high slots, each TG re-folded into its
    slot's height (one slot per line), beside the scan-DFF columns."""
    h_cell = ctx.std_cell_height_m
    per = max(1, int(height_m / h_cell + 1e-9))
    cols = math.ceil(sm.num_lines / per)
    per = math.ceil(sm.num_lines / cols)
    try:
        tg = ctx.gate("inv", 1, wn, wp, height_m=height_m / per)
    except ValueError:
        # FinFET/GAA: a slot a little taller than a standard cell but too short for the
        # special layout's fin budget holds a standard-height cell (ours; NeuroSim rescales
        # the slot height by the node's cell-height ratio a second time)
        tg = ctx.gate("inv", 1, wn, wp)
    sm.c_drain = tg.cap_out_F          # the drains of the TG as folded into its slot
    dff = DFF(ctx, config, sm.num_lines, apply_gamma=False, height_m=height_m)
    sm.width_m = tg_per_line * tg.width_m * cols + dff.width_m
    sm.height_m = height_m
    sm.area_m2 = sm.width_m * sm.height_m


def _tg_rows(sm, ctx, config, wn: float, wp: float, width_m: float) -> None:
    """SwitchMatrix.cpp column mode across the array width: TG pairs in the fewest rows of
    min-width cells, each folded into its share of the row, above the scan-DFF rows."""
    min_w = 2 * ctx.tech.cpp_F * ctx.feature_size_m
    per = max(1, int(width_m / (2 * min_w) + 1e-9))
    rows = math.ceil(sm.num_lines / per)
    per = math.ceil(sm.num_lines / rows)
    folds = max(1, int((width_m / per / 2) / (0.5 * min_w) + 1e-9) - 1)
    pg = ctx.fb.pass_gate_area(ctx.tech, wn, wp, folds)
    sm.c_drain = ctx.gate("inv", 1, wn, wp, height_m=float(pg.height_m)).cap_out_F
    dff = DFF(ctx, config, sm.num_lines, apply_gamma=False, width_m=width_m)
    sm.width_m = width_m
    sm.height_m = float(pg.height_m) * rows + dff.height_m
    sm.area_m2 = sm.width_m * sm.height_m


class SwitchMatrix(Component):
    """``num_lines`` TG switches driving rows (mode="row") or columns (mode="col").

    SwitchMatrix(ctx, config, num_lines, load_resistance_ohm, line_cap_F, line_resistance_ohm,
    num_segments, mode="row", drive_voltage_V=None, size_ratio=None, pitch_m=None).
    TG sized to load_resistance x switchmatrixsizeratio; one scan DFF per line.
    ``edge_m``: the array edge it is laid out against (row mode: the array height, col
    mode: the array width), floorplanned as SwitchMatrix.cpp does.
    ``line_cap_F``/``line_resistance_ohm``: the whole driven wire (distributed over
    ``num_segments`` cells). Activity: ``num_reads`` read cycles, ``active_lines`` lines
    driven per cycle.
    """

    name = "switch_matrix"
    category = "other"

    def __init__(self, ctx, config, num_lines: int, load_resistance_ohm: float,
                 line_cap_F: float, line_resistance_ohm: float, num_segments: int,
                 mode: str = "row", drive_voltage_V: float | None = None,
                 size_ratio: float | None = None, pitch_m: float | None = None,
                 edge_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_lines = require_int("num_lines", num_lines)
        require_positive("load_resistance_ohm", load_resistance_ohm)
        if mode not in ("row", "col"):
            raise ValueError(f"mode={mode!r} must be 'row' or 'col'")
        self.mode = mode
        ratio = ctx.node.switch_matrix_size_ratio if size_ratio is None else size_ratio
        # tables §5.7: target R = R_load x ratio; width with the linear-region factor 0.2.
        wn = tg_width_m(ctx, load_resistance_ohm * ratio, LINEAR_REGION_RATIO)
        wp = ctx.pn * wn
        self.r_tg_ohm = 1.0 / (1.0 / ctx.r_on(wn, "n") + 1.0 / ctx.r_on(wp, "p"))
        self.cg_n, self.cg_p = ctx.gate_cap(wn), ctx.gate_cap(wp)
        self.c_drain = ctx.drain_cap(wn, "n") + ctx.drain_cap(wp, "p")
        self.dff = DFF(ctx, config, self.num_lines, apply_gamma=False)
        if edge_m and mode == "row":
            _tg_columns(self, ctx, config, wn, wp, 2, edge_m)
        elif edge_m:
            _tg_rows(self, ctx, config, wn, wp, edge_m)
        else:
            area = self.num_lines * tg_area_m2(ctx, wn, wp) + self.dff.area_m2
            self._place(area, height_m=pitch_m * self.num_lines if pitch_m else None)
        self.leakage_W = self.dff.leakage_W
        # tables §5.7 WL delay: 0.69 R_TG C_out + C_u N (0.69 R_TG + 0.38 R_u N)
        n = max(int(num_segments) // (int(ctx.node.buffer_number) + 1), 1)
        c_u = line_cap_F / max(num_segments, 1)
        r_u = line_resistance_ohm / max(num_segments, 1)
        c_out = 2 * self.c_drain + 0.5 * (self.cg_n + self.cg_p)
        self.drive_latency_s = (0.69 * self.r_tg_ohm * c_out
                                + c_u * n * (0.69 * self.r_tg_ohm + 0.38 * r_u * n))
        v = ctx.read_voltage_V if drive_voltage_V is None else drive_voltage_V
        if ctx.quirk("wl_switch_matrix_read_voltage"):
            v = ctx.read_voltage_V      # SwitchMatrix.cpp: drains charged at V_read always
        # tables §5.7: per driven line 3 C_TGdrain V^2 + (C_g,N + C_g,P) Vdd^2
        self.line_energy_J = 3 * self.c_drain * v ** 2 + (self.cg_n + self.cg_p) * ctx.vdd_V ** 2

    def latency_s(self) -> float:
        return self.drive_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0, active_lines: float = 0.0) -> float:
        return (num_reads * active_lines * self.line_energy_J
                + self.dff.dynamic_energy_J(num_reads=num_reads))


class NewSwitchMatrix(Component):
    """WL driver of 1T1R arrays read in parallel: 4 TGs per row (tables §5.7).

    NewSwitchMatrix(ctx, config, num_lines, load_resistance_ohm, load_cap_F, pitch_m=None,
    edge_m=None) (``edge_m``: the array height it is laid out along).
    Activity: ``num_reads`` read cycles, ``active_lines`` rows driven per cycle.
    """

    name = "wl_switch_matrix"
    category = "other"

    def __init__(self, ctx, config, num_lines: int, load_resistance_ohm: float,
                 load_cap_F: float, pitch_m: float | None = None,
                 edge_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_lines = require_int("num_lines", num_lines)
        ratio = ctx.node.new_switch_matrix_size_ratio
        wn = ratio * ctx.w_min_m                                 # tables §5.7
        wp = ctx.pn * wn
        if ctx.quirk("new_switch_matrix_pmos_table"):
            # tables §7.13: NeuroSim times the PMOS half with the NMOS current table.
            r_p = ctx.r_on(wp, "n")
        else:
            r_p = ctx.r_on(wp, "p")
        self.r_tg_ohm = 1.0 / (1.0 / ctx.r_on(wn, "n") + 1.0 / r_p)
        self.cg_n, self.cg_p = ctx.gate_cap(wn), ctx.gate_cap(wp)
        self.c_drain = ctx.drain_cap(wn, "n") + ctx.drain_cap(wp, "p")
        self.dff = DFF(ctx, config, self.num_lines, apply_gamma=False)
        if edge_m:
            _tg_columns(self, ctx, config, wn, wp, 4, edge_m)    # NewSwitchMatrix.cpp
        else:
            area = 4 * self.num_lines * tg_area_m2(ctx, wn, wp) + self.dff.area_m2
            self._place(area, height_m=pitch_m * self.num_lines if pitch_m else None)
        self.leakage_W = self.dff.leakage_W
        c_out = 2 * self.c_drain + 0.5 * (self.cg_n + self.cg_p)
        t, _ = ctx.horowitz(self.r_tg_ohm * (c_out + load_cap_F))
        self.drive_latency_s = t + load_resistance_ohm * load_cap_F / 2   # tables §5.7
        v_acc, v_r, vdd = config.access_voltage_V, ctx.read_voltage_V, ctx.vdd_V
        self.line_energy_J = (2 * self.c_drain * v_acc ** 2 + 3 * self.c_drain * v_r ** 2
                              + 3 * (self.cg_n + self.cg_p) * vdd ** 2)

    def latency_s(self) -> float:
        return self.drive_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0, active_lines: float = 0.0) -> float:
        return (num_reads * active_lines * self.line_energy_J
                + self.dff.dynamic_energy_J(num_reads=num_reads))
