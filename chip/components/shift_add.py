"""Shift-and-add: weights sliced over cells, inputs sliced over bits (tables §5.3)."""
from __future__ import annotations

import math

from chip.components.adder import Adder
from chip.components.base import Component, require_int
from chip.components.dff import DFF


class ShiftAdd(Component):
    """``num_units`` shift-add units combining ``num_shifts`` partial results.

    ShiftAdd(ctx, config, num_units, num_adder_bits, num_shifts, width_m=None).
    Each unit: an ``num_adder_bits`` adder and (num_adder_bits + num_shifts) DFFs.
    Activity: ``num_reads`` shift-add steps of all units; ``clock_period_s``.
    """

    name = "shift_add"
    category = "accumulation"

    def __init__(self, ctx, config, num_units: int, num_adder_bits: int, num_shifts: int,
                 width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_units = require_int("num_units", num_units)
        self.num_adder_bits = require_int("num_adder_bits", num_adder_bits)
        self.num_shifts = require_int("num_shifts", num_shifts)
        self.adder = Adder(ctx, config, self.num_adder_bits, self.num_units)
        # tables §5.3: (numAdderBit + 1 + numReadPulse - 1) DFFs per unit.
        dff_per_unit = self.num_adder_bits + self.num_shifts
        # DFFs tiled in rows across the pinned width (ShiftAdd.cpp -> DFF.cpp)
        self.dff = DFF(ctx, config, dff_per_unit * self.num_units, apply_gamma=True,
                       width_m=width_m)
        # tables §5.3: 3 (DFF per unit - 1) NAND2 + 1 INV per unit of shift control.
        nand = ctx.gate("nand", 2, 2 * ctx.w_min_m, ctx.pn * ctx.w_min_m, enlarge=True)
        inv = ctx.inv()
        ctrl = self.num_units * (3 * (dff_per_unit - 1) * nand.area_m2 + inv.area_m2)
        self.control_leakage_W = self.num_units * (3 * (dff_per_unit - 1) * nand.leakage_W
                                                   + inv.leakage_W)
        if ctx.quirk("shift_add_control_ignored") and width_m:
            # ShiftAdd.cpp: the INV/NAND control is ignored, booked as one standard-cell
            # row across the given width, with no leakage (tables §5.3)
            ctrl = inv.height_m * width_m
            self.control_leakage_W = 0.0
        area = self.adder.area_m2 + self.dff.area_m2 + ctrl
        # ShiftAdd.cpp against a width: a strip of the adders (their summed area), the
        # control row and the DFF rows
        self._place(area, width_m=width_m)
        self.leakage_W = self.adder.leakage_W + self.dff.leakage_W + self.control_leakage_W

    def step_latency_s(self) -> float:
        """Adder then register: one shift-add step, unclocked."""
        return self.adder.add_latency_s + 0.0

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        # tables §5.3: synchronous = one cycle per step.
        if clock_period_s:
            return num_reads * clock_period_s * max(1, math.ceil(
                self.adder.add_latency_s / clock_period_s - 1e-9))
        return num_reads * self.step_latency_s()

    def dynamic_energy_J(self, *, num_reads: float = 0.0) -> float:
        return (self.adder.dynamic_energy_J(num_ops=num_reads * self.num_units)
                + self.dff.dynamic_energy_J(num_reads=num_reads))
