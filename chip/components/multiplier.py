"""Array multiplier and restoring divider built from the engine's gates and ripple-carry adders
(digital periphery of the nonlinear units, chip.components.nonlinear)."""
from __future__ import annotations

from chip.components.adder import Adder
from chip.components.base import Component, cycles, require_int, require_positive
from chip.components.dff import DFF


class Multiplier(Component):
    """``num_units`` unsigned array multipliers of ``num_bits`` x ``num_bits`` bits.

    Multiplier(ctx, config, num_bits, num_units=1). Per multiplier: num_bits^2 partial-product
    AND gates (NAND2 + INV) and num_bits - 1 ripple-carry adders of num_bits bits that add
    the partial products row by row (the textbook array multiplier, e.g. Weste & Harris,
    CMOS VLSI Design, 4th ed., §11.9). Activity: ``num_ops`` multiplications (energy);
    ``num_reads`` multiplications in a row (latency), ``clock_period_s``.
    """

    name = "multiplier"
    category = "other"

    def __init__(self, ctx, config, num_bits: int, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.num_bits = b = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        w = ctx.w_min_m
        self.nand = ctx.gate("nand", 2, 2 * w, ctx.pn * w, enlarge=True)
        self.inv = ctx.inv(enlarge=True)
        self.rows = max(1, b - 1)                 # partial-product rows added one by one
        self.adder = Adder(ctx, config, b, num_adders=self.rows)
        ands = b * b
        self._place(self.num_units * (ands * (self.nand.area_m2 + self.inv.area_m2)
                                      + self.adder.area_m2))
        self.leakage_W = self.num_units * (ands * (self.nand.leakage_W + self.inv.leakage_W)
                                           + self.adder.leakage_W)
        # ours: the AND plane, then the carries ripple through the adder rows diagonally, a
        # critical path of about 2 num_bits full-adder cells: two adder latencies
        t_and, ramp = ctx.horowitz(2 * ctx.r_on(self.nand.width_n_m)
                                   * (self.nand.cap_out_F + self.inv.cap_in_F))
        t_inv, _ = ctx.horowitz(ctx.r_on(self.inv.width_n_m)
                                * (self.inv.cap_out_F + self.adder.nand.cap_in_F), ramp)
        self.op_latency_s = t_and + t_inv + 2 * self.adder.add_latency_s
        # ours: each AND charges its gate and output nodes, scaled by the adders' switching
        # activity delta (tables §2.1); the adder rows as NeuroSim prices an addition
        e_and = (self.nand.cap_in_F + self.nand.cap_out_F + self.inv.cap_in_F
                 + self.inv.cap_out_F) * ctx.vdd_V ** 2 * ctx.delta
        self.op_energy_J = ands * e_and + self.adder.dynamic_energy_J(num_ops=self.rows)

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        return num_reads * cycles(self.op_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_ops: float = 0.0) -> float:
        require_positive("num_ops", num_ops, allow_zero=True)
        return num_ops * self.op_energy_J


class Divider(Component):
    """``num_units`` restoring dividers of ``num_bits`` bits.

    Divider(ctx, config, num_bits, num_units=1). Per divider: one ripple-carry subtractor of
    num_bits bits and 2 num_bits DFFs (remainder and quotient shift registers); a division
    is num_bits subtract-and-shift steps, each one subtraction and one register load
    (restoring division, e.g. Hennessy & Patterson, Computer Architecture, App. J.2).
    Activity: ``num_ops`` divisions (energy); ``num_reads`` divisions in a row (latency),
    ``clock_period_s``.
    """

    name = "divider"
    category = "other"

    def __init__(self, ctx, config, num_bits: int, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.num_bits = b = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        self.adder = Adder(ctx, config, b)
        self.register = DFF(ctx, config, 2 * b)
        self._place(self.num_units * (self.adder.area_m2 + self.register.area_m2))
        self.leakage_W = self.num_units * (self.adder.leakage_W + self.register.leakage_W)
        self.step_latency_s = self.adder.add_latency_s
        self.op_energy_J = b * (self.adder.dynamic_energy_J(num_ops=1)
                                + self.register.dynamic_energy_J(num_reads=1))

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        """num_bits steps per division, each a subtraction (a whole cycle when clocked)."""
        step = cycles(self.step_latency_s, clock_period_s)
        return num_reads * self.num_bits * step

    def dynamic_energy_J(self, *, num_ops: float = 0.0) -> float:
        require_positive("num_ops", num_ops, allow_zero=True)
        return num_ops * self.op_energy_J
