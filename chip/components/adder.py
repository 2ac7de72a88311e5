"""Ripple-carry adder of NAND2 full adders (NeuroSim V1.4 tables §5.1)."""
from __future__ import annotations

from chip.components.base import Component, cycles, require_int, require_positive


class Adder(Component):
    """``num_adders`` ripple-carry adders of ``num_bits`` bits.

    Adder(ctx, config, num_bits, num_adders=1, load_cap_F=0.0, width_m=None).
    Activity: ``num_ops`` additions of one adder (energy); latency of one addition.
    """

    name = "adder"
    category = "accumulation"

    def __init__(self, ctx, config, num_bits: int, num_adders: int = 1,
                 load_cap_F: float = 0.0, width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_bits = require_int("num_bits", num_bits)
        self.num_adders = require_int("num_adders", num_adders)
        w = ctx.w_min_m
        # tables §5.1: NAND2 with N = 2 W_min, P = pn W_min, enlarged to the cell height.
        self.nand = nand = ctx.gate("nand", 2, 2 * w, ctx.pn * w, enlarge=True)
        count = 9 * self.num_bits * self.num_adders                 # 9 NAND2 per bit
        self._place(count * nand.area_m2, width_m=width_m,
                    natural_width_m=9 * self.num_bits * nand.width_m * self.num_adders,
                    natural_height_m=nand.height_m)
        self.leakage_W = count * nand.leakage_W
        # tables §5.1 critical path: 2 R_on,N pull-down / R_on,P pull-up stages.
        r_dn = 2 * ctx.r_on(nand.width_n_m, "n")
        r_up = ctx.r_on(nand.width_p_m, "p")
        if ctx.config.technology_node_nm <= 2:
            r_dn, r_up = 1.5 * r_dn, 1.5 * r_up                      # tables §5.12 GAA
        cin, cout = nand.cap_in_F, nand.cap_out_F
        loads = [cout + 3 * cin, cout + 2 * cin]
        loads += [cout + 3 * cin, cout + 2 * cin] * max(self.num_bits - 2, 0)
        loads += [cout + 3 * cin, cout + cin, cout + load_cap_F]
        delay, ramp = 0.0, 1e20
        for k, c in enumerate(loads):
            t, ramp = ctx.horowitz((r_dn if k % 2 == 0 else r_up) * c, ramp)
            delay += t
        self.add_latency_s = delay
        # tables §5.1: energy per add.
        self.add_energy_J = ctx.vdd_V ** 2 * ((14 * cin + 7 * cout)
                                              + (self.num_bits - 1) * (13 * cin + 7 * cout))

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        """``num_reads`` sequential additions; rounded to whole cycles if clocked."""
        return num_reads * cycles(self.add_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_ops: float = 0.0) -> float:
        require_positive("num_ops", num_ops, allow_zero=True)
        return num_ops * self.add_energy_J * self.ctx.delta          # x delta (tables §2.1)
