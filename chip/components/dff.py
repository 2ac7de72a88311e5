"""D flip-flops: registers, accumulators, shift registers (NeuroSim V1.4 tables §5.2)."""
from __future__ import annotations

from chip.components.base import Component, require_int, require_positive, tile_units


class DFF(Component):
    """``num_dff`` master-slave D flip-flops.

    DFF(ctx, config, num_dff, apply_gamma=True, width_m=None, height_m=None).
    Activity: ``num_reads`` clock cycles, ``num_active`` flip-flops whose data toggles
    per cycle (default: all). ``apply_gamma``: NeuroSim applies its DFF activity factor
    gamma in accumulators, shift-adders and register-file buffers, not in bit shifters.
    """

    name = "dff"
    category = "accumulation"

    def __init__(self, ctx, config, num_dff: int, apply_gamma: bool = True,
                 width_m: float | None = None, height_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_dff = require_int("num_dff", num_dff, 0)
        self.apply_gamma = apply_gamma
        w = ctx.w_min_m
        inv = ctx.inv()                                       # tables §5.2: N W_min, P pn W_min
        self.inv = inv
        # tables §5.2: 12 minimum INV cells per DFF, one cell high. Against a pinned width
        # (height) whole DFFs are tiled in rows (columns); a part-filled last row still takes
        # a full row (DFF.cpp)
        self.unit_width_m, self.unit_height_m = 12 * inv.width_m, inv.height_m
        if self.num_dff and (width_m or height_m):
            self.width_m, self.height_m = tile_units(self.unit_width_m, self.unit_height_m,
                                                     self.num_dff, width_m, height_m)
            self.area_m2 = self.width_m * self.height_m
        else:
            self._place(12 * inv.area_m2 * self.num_dff,
                        natural_width_m=self.unit_width_m * max(self.num_dff, 1)
                        if self.num_dff else 0.0, natural_height_m=inv.height_m)
        self.leakage_W = 8 * inv.leakage_W * self.num_dff      # 8 INV leakages per DFF
        if ctx.config.technology_node_nm == 2:
            self.leakage_W *= 0.5                              # tables §5.12 GAA
        elif ctx.config.technology_node_nm == 1:
            self.leakage_W *= 10.5 / 16
        cg_tgn, cg_tgp = ctx.gate_cap(w), ctx.gate_cap(ctx.pn * w)
        c_tgd = ctx.drain_cap(w, "n") + ctx.drain_cap(ctx.pn * w, "p")
        vdd2 = ctx.vdd_V ** 2
        # tables §5.2: clock energy of every DFF, data energy of the toggling ones.
        self.clock_energy_J = (4 * (inv.cap_in_F + inv.cap_out_F) + 2 * cg_tgn
                               + 2 * cg_tgp) * vdd2
        self.data_energy_J = ((3 * c_tgd + inv.cap_in_F) + (c_tgd + inv.cap_out_F)
                              + (inv.cap_in_F + inv.cap_out_F)) * vdd2

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        # tables §5.2: one cycle per read when clocked; half a period otherwise.
        return num_reads * (clock_period_s or 0.0)

    def dynamic_energy_J(self, *, num_reads: float = 0.0,
                         num_active: float | None = None) -> float:
        require_positive("num_reads", num_reads, allow_zero=True)
        active = self.num_dff if num_active is None else min(num_active, self.num_dff)
        e = num_reads * (self.num_dff * self.clock_energy_J + active * self.data_energy_J)
        return e * (self.ctx.gamma if self.apply_gamma else 1.0)
