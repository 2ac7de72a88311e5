"""1-bit latch sense amplifier and SRAM bit-line precharger / write driver (tables §4.6, §5.8)."""
from __future__ import annotations

import math

from chip.components.base import Component, require_int, tile_units
from chip.technology import MIN_SENSE_VOLTAGE_V

# tables §3.3: W_SENSE_P / N / ISO / EN in F (x2 at <= 14 nm).
W_SENSE_P, W_SENSE_N, W_SENSE_ISO, W_SENSE_EN = 7.5, 3.75, 12.5, 5.0


class SenseAmp(Component):
    """``num_cols`` 1-bit voltage latch sense amplifiers.

    SenseAmp(ctx, config, num_cols, load_cap_F, width_m=None). Activity: ``num_reads``
    sensing events of all columns (energy); latency of one sensing.
    """

    name = "sense_amp"
    category = "adc"

    def __init__(self, ctx, config, num_cols: int, load_cap_F: float,
                 width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_cols = require_int("num_cols", num_cols)
        wp, wn = ctx.width_F(W_SENSE_P), ctx.width_F(W_SENSE_N)
        wiso, wen = ctx.width_F(W_SENSE_ISO), ctx.width_F(W_SENSE_EN)
        per = (2 * ctx.gate("inv", 1, 0.0, wp).area_m2 + 2 * ctx.gate("inv", 1, wn, 0.0).area_m2
               + ctx.gate("inv", 1, 0.0, wiso).area_m2 + ctx.gate("inv", 1, wen, 0.0).area_m2)
        self._place(per * self.num_cols, width_m=width_m)
        # tables §4.6: leakage = EN device INV leakage x Vdd per column
        self.leakage_W = ctx.gate("inv", 1, wen, 0.0).leakage_W * self.num_cols
        tau = load_cap_F / (ctx.gm(wn, "n") + ctx.gm(wp, "p"))
        self.sense_latency_s = tau * math.log(ctx.vdd_V / MIN_SENSE_VOLTAGE_V)  # tables §4.6
        self.sense_energy_J = load_cap_F * ctx.vdd_V ** 2                     # per column

    def latency_s(self, *, num_reads: float = 1.0) -> float:
        return num_reads * self.sense_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0) -> float:
        return num_reads * self.num_cols * self.sense_energy_J


class Precharger(Component):
    """SRAM bit-line precharge: per column 2 PMOS of 6 F and an equaliser PMOS of W_min,
    both enlarged to the cell height (tables §5.8, Precharger.cpp).

    Precharger(ctx, config, num_cols, bitline_cap_F, bitline_resistance_ohm, width_m=None,
    count_energy=True). Against a pinned width the per-column units (the three devices
    stacked) are tiled in rows. Activity: ``num_reads`` precharges of ``num_cols`` columns
    (energy: ``count_energy``).
    """

    name = "precharger"
    category = "adc"      # NeuroSim books SRAM S/As and prechargers as "ADC"

    def __init__(self, ctx, config, num_cols: int, bitline_cap_F: float,
                 bitline_resistance_ohm: float, width_m: float | None = None,
                 count_energy: bool = True):
        super().__init__()
        self.ctx = ctx
        self.num_cols = require_int("num_cols", num_cols)
        self.count_energy = count_energy
        w6 = ctx.width_F(6.0)
        pre = ctx.gate("inv", 1, 0.0, w6, enlarge=True)                      # tables §5.8
        eq = ctx.gate("inv", 1, 0.0, ctx.w_min_m, enlarge=True)
        # Precharger.cpp: a unit = 2 precharge PMOS + the equaliser stacked; units in rows
        unit_w = max(pre.width_m, eq.width_m)
        unit_h = 2 * pre.height_m + eq.height_m
        self.width_m, self.height_m = tile_units(unit_w, unit_h, self.num_cols, width_m)
        self.area_m2 = self.width_m * self.height_m
        self.leakage_W = self.num_cols * 2 * pre.leakage_W                   # tables §5.8
        t, _ = ctx.horowitz(ctx.r_on(pre.width_p_m, "p") * (bitline_cap_F + pre.cap_out_F))
        self.precharge_latency_s = t + bitline_resistance_ohm * bitline_cap_F / 2
        self.precharge_energy_J = bitline_cap_F * ctx.vdd_V ** 2

    def latency_s(self) -> float:
        return self.precharge_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0) -> float:
        if not self.count_energy:
            return 0.0
        return num_reads * self.num_cols * self.precharge_energy_J


class SRAMWriteDriver(Component):
    """SRAM column write drivers: 3 INV per column (2 drive BL, 1 BL-bar), enlarged to the
    cell height (tables §5.8, SRAMWriteDriver.cpp). Booked as "other" as NeuroSim does.

    SRAMWriteDriver(ctx, config, num_cols, width_m=None). Inference does not write: no read
    energy; leakage 3 INV per column.
    """

    name = "write_driver"
    category = "other"

    def __init__(self, ctx, config, num_cols: int, width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_cols = require_int("num_cols", num_cols)
        inv = ctx.inv(enlarge=True)
        self.width_m, self.height_m = tile_units(inv.width_m, 3 * inv.height_m,
                                                 self.num_cols, width_m)
        self.area_m2 = self.width_m * self.height_m
        self.leakage_W = self.num_cols * 3 * inv.leakage_W
        self.write_energy_J = (inv.cap_in_F + inv.cap_out_F) * ctx.vdd_V ** 2   # per column
