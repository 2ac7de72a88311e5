"""Max pooling from comparator trees (NeuroSim V1.4 tables §5.4)."""
from __future__ import annotations

import math

from chip.components.base import Component, cycles, require_int


class MaxPool(Component):
    """``num_units`` max-pooling units over ``window`` inputs of ``num_bits`` bits.

    MaxPool(ctx, config, num_bits, window=4, num_units=1). Activity: ``num_reads``
    pooling operations per unit (sequential), ``clock_period_s``.
    """

    name = "max_pool"
    category = "other"

    def __init__(self, ctx, config, num_bits: int, window: int = 4, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.num_bits = b = require_int("num_bits", num_bits)
        self.window = require_int("window", window, 2)
        self.num_units = require_int("num_units", num_units)
        w, pn = ctx.w_min_m, ctx.pn
        inv = ctx.inv(enlarge=True)
        nand2 = ctx.gate("nand", 2, 2 * w, pn * w, enlarge=True)
        nand3 = ctx.gate("nand", 3, 3 * w, pn * w, enlarge=True)
        nor2 = ctx.gate("nor", 2, 4 * w, 2 * pn * w, enlarge=True)
        norb = ctx.gate("nor", b, 2 * b * w, b * pn * w, enlarge=True) if b > 1 else nor2
        comps = self.window - 1                              # comparators per unit
        # tables §5.4: per bit 4 INV + 4 NAND2 + 3 NAND3; per bit 5 INV; per comparator
        # 6 INV + AND (NAND2 + INV) + NOR2 + NOR(num_bits)
        per_cmp_area = b * (4 * inv.area_m2 + 4 * nand2.area_m2 + 3 * nand3.area_m2) + (
            7 * inv.area_m2 + nand2.area_m2 + nor2.area_m2 + norb.area_m2)
        area = self.num_units * (comps * per_cmp_area + 5 * b * inv.area_m2)
        self._place(area)
        self.leakage_W = self.num_units * comps * inv.leakage_W     # tables §5.4 (only)
        # comparator delay: NAND2 (2 R_on,N) -> NAND3 (R_on,P), per bit (tables §5.4)
        d, ramp = 0.0, 1e20
        for _ in range(b):
            t, ramp = ctx.horowitz(2 * ctx.r_on(nand2.width_n_m) * (nand2.cap_out_F
                                                                    + nand3.cap_in_F), ramp)
            d += t
            t, ramp = ctx.horowitz(ctx.r_on(nand3.width_p_m, "p") * (nand3.cap_out_F
                                                                     + nand2.cap_in_F), ramp)
            d += t
        stages = math.ceil(math.log2(self.window))
        if ctx.quirk("maxpool_extra_stage"):
            stages += 1          # NeuroSim's stage counter gives one more (tables §7.15)
        half = b / 2                                        # stops half-way on average
        self.op_latency_s = d * stages * half / b
        vdd2 = ctx.vdd_V ** 2
        e_bit = (4 * (inv.cap_in_F + inv.cap_out_F) + 4 * (nand2.cap_in_F + nand2.cap_out_F)
                 + 3 * (nand3.cap_in_F + nand3.cap_out_F)) * vdd2
        e_extra = ((nand2.cap_in_F + inv.cap_out_F) + (nor2.cap_in_F + inv.cap_out_F)
                   + 2 * (inv.cap_in_F + inv.cap_out_F) + (norb.cap_in_F + inv.cap_out_F)) * vdd2
        self.op_energy_J = comps * (e_bit * half + e_extra) * ctx.epsilon

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        return num_reads * cycles(self.op_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_reads: float = 0.0,
                         num_units_used: float | None = None) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self.op_energy_J
