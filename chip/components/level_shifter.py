"""Level shifters for eNVM write voltages above 1.5 V (NeuroSim V1.4 tables §4.6)."""
from __future__ import annotations

from chip.components.base import Component, require_int


class LevelShifter(Component):
    """``num_lines`` level shifters (input stage, latch, high-voltage output).

    LevelShifter(ctx, config, num_lines, load_cap_F, height_m=None, width_m=None) (placed
    along a pinned edge, area the sum of the cells). Activity: ``num_reads`` cycles with
    ``active_lines`` toggling.
    """

    name = "level_shifter"
    category = "other"

    def __init__(self, ctx, config, num_lines: int, load_cap_F: float,
                 height_m: float | None = None, width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_lines = require_int("num_lines", num_lines)
        w, pn = ctx.w_min_m, ctx.pn
        scale = 2.0 if config.calibration_factors else 1.0      # validated: I/O devices
        # validated: the I/O devices are laid out in a cell 2.5x the standard height
        # (LevelShifter.cpp), so they fold less
        h = 2.5 * ctx.std_cell_height_m if config.calibration_factors else None
        low = ctx.gate("inv", 1, 15 * w * scale, 20 * pn * w * scale, height_m=h)
        latch = ctx.gate("inv", 1, 32 * w * scale, 10 * pn * w * scale, height_m=h)
        high = ctx.gate("inv", 1, 64 * w * scale, 82 * pn * w * scale, height_m=h)
        if config.calibration_factors:
            # tables §4.6: cell height x 2.5; width = w_low + 2.5 (2 w_latch + w_high); x alpha
            width = low.width_m + 2.5 * (2 * latch.width_m + high.width_m)
            area = width * low.height_m * ctx.alpha
        else:
            width = low.width_m + 2 * latch.width_m + high.width_m
            area = width * low.height_m
        self._place(area * self.num_lines, width_m=width_m, height_m=height_m)
        self.leakage_W = self.num_lines * (low.leakage_W + 2 * latch.leakage_W + high.leakage_W)
        if ctx.quirk("level_shifter_no_leakage"):
            self.leakage_W = 0.0            # LevelShifter.cpp reports no leakage
        t1, ramp = ctx.horowitz(ctx.r_on(low.width_p_m, "p") * (low.cap_out_F + 2 * latch.cap_in_F))
        t2, _ = ctx.horowitz(ctx.r_on(high.width_p_m, "p") * (load_cap_F + high.cap_out_F), ramp)
        self.shift_latency_s = t1 + t2
        self.read_energy_J = (low.cap_out_F + 2 * latch.cap_in_F) * ctx.vdd_V ** 2

    def latency_s(self) -> float:
        return self.shift_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0, active_lines: float = 0.0) -> float:
        if self.ctx.quirk("level_shifter_no_leakage"):
            return 0.0          # SubArray.cpp charges the level shifters on writes only
        return num_reads * active_lines * self.read_energy_J
