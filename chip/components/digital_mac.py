"""The digital multiply-accumulate unit of attention's dynamic products (dynamic_matmul layers
under ``dynamic_matmul_policy='digital'``; ours, docs/chip-internals.md "Dynamic products and
token layers").

``num_units`` lanes, each an array multiplier of max(weight_bits, input_bits) bits (chip.
components.multiplier: AND plane + ripple-carry adder rows) feeding an accumulator (a
ripple-carry adder and a register of ``acc_bits``). A lane is two stages with the product
register between them, so one MAC per lane per step: a step is the slower stage's delay,
rounded up to whole cycles of the chip clock when synchronous (one cycle whenever both
stages fit in the clock period).
"""
from __future__ import annotations

import math

from chip.components.adder import Adder
from chip.components.base import Component, cycles, require_int, require_positive
from chip.components.dff import DFF
from chip.components.multiplier import Multiplier

__all__ = ["DigitalMAC", "accumulator_bits"]


def accumulator_bits(weight_bits: int, input_bits: int, terms: int) -> int:
    """Width of a sum of ``terms`` products of weight_bits x input_bits bits."""
    return weight_bits + input_bits + (math.ceil(math.log2(terms)) if terms > 1 else 0)


class DigitalMAC(Component):
    """``num_units`` MAC lanes (module docstring).

    DigitalMAC(ctx, config, weight_bits, input_bits, acc_bits, num_units). Activity:
    ``num_macs`` multiply-accumulates (energy); ``num_reads`` steps in a row (latency),
    ``clock_period_s``.
    """

    name = "digital_mac"
    category = "other"

    def __init__(self, ctx, config, weight_bits: int, input_bits: int, acc_bits: int,
                 num_units: int):
        super().__init__()
        self.ctx = ctx
        bits = max(require_int("weight_bits", weight_bits), require_int("input_bits", input_bits))
        self.acc_bits = require_int("acc_bits", acc_bits)
        self.num_units = require_int("num_units", num_units)
        self.multiplier = Multiplier(ctx, config, bits)
        self.product_register = DFF(ctx, config, 2 * bits)
        self.adder = Adder(ctx, config, self.acc_bits)
        self.register = DFF(ctx, config, self.acc_bits)
        blocks = (self.multiplier, self.product_register, self.adder, self.register)
        self._place(self.num_units * sum(b.area_m2 for b in blocks))
        self.leakage_W = self.num_units * sum(b.leakage_W for b in blocks)
        # one MAC: a multiplication, the product and the sum latched, one addition
        self.mac_energy_J = (self.multiplier.dynamic_energy_J(num_ops=1)
                             + self.product_register.dynamic_energy_J(num_reads=1)
                             + self.adder.dynamic_energy_J(num_ops=1)
                             + self.register.dynamic_energy_J(num_reads=1))
        self.stage_latency_s = max(self.multiplier.op_latency_s, self.adder.add_latency_s)

    def step_s(self, clock_period_s: float | None = None) -> float:
        """One step of every lane: the slower stage, in whole clock cycles when clocked."""
        return cycles(self.stage_latency_s, clock_period_s)

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        return num_reads * self.step_s(clock_period_s)

    def dynamic_energy_J(self, *, num_macs: float = 0.0) -> float:
        require_positive("num_macs", num_macs, allow_zero=True)
        return num_macs * self.mac_energy_J
