"""Adder tree summing partial sums of subarrays, PEs or tiles (NeuroSim V1.4 tables §5.3)."""
from __future__ import annotations

import math

from chip.components.adder import Adder
from chip.components.base import Component, cycles, require_int

NEUROSIM_DIFFERENCES = {
    "adder_tree_halving": "tables §7.22: an odd operand count passes one operand to the next "
                          "stage (ceil halving); NeuroSim halves with integer division and "
                          "loses an adder per odd stage",
    "adder_tree_latency": "tables §7.7: every stage is timed at its real width "
                          "(num_bits + k); NeuroSim times stages after the first as 2-bit adders",
}


class AdderTree(Component):
    """``num_units`` adder trees, each reducing ``num_inputs`` operands of ``num_bits`` bits.

    AdderTree(ctx, config, num_inputs, num_bits, num_units=1, width_m=None).
    Stage k has floor(j/2) adders of (num_bits + k) bits. Activity: ``num_reads`` (tree
    evaluations per unit), ``num_units_used`` (default all), ``clock_period_s``.
    """

    name = "adder_tree"
    category = "accumulation"

    def __init__(self, ctx, config, num_inputs: int, num_bits: int, num_units: int = 1,
                 width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_inputs = require_int("num_inputs", num_inputs)
        self.num_bits = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        self.stages: list[tuple[int, Adder]] = []       # (adders in the stage, adder model)
        j, k = self.num_inputs, 0
        while j > 1:
            adders = j // 2
            self.stages.append((adders, Adder(ctx, config, self.num_bits + k, 1)))
            j = j // 2 if ctx.quirk("adder_tree_odd_halving") else (j + 1) // 2
            k += 1
        area = sum(n * a.area_m2 for n, a in self.stages) * self.num_units
        self._place(area, width_m=width_m)
        self.leakage_W = sum(n * a.leakage_W for n, a in self.stages) * self.num_units
        if self.stages:
            if ctx.quirk("adder_tree_two_bit_latency"):
                two_bit = Adder(ctx, config, 2, 1)
                lat = self.stages[0][1].add_latency_s + (len(self.stages) - 1) * two_bit.add_latency_s
            else:
                lat = sum(a.add_latency_s for _, a in self.stages)
        else:
            lat = 0.0
        self.tree_latency_s = lat
        self.tree_energy_J = sum(n * a.add_energy_J for n, a in self.stages) * ctx.delta
        self.output_bits = self.num_bits + len(self.stages)

    def latency_s(self, num_reads: float = 1.0, clock_period_s: float | None = None,
                  **_) -> float:
        # tables §5.3: synchronous -> ceil(t f_clk) cycles per evaluation.
        return num_reads * cycles(self.tree_latency_s, clock_period_s)

    def dynamic_energy_J(self, num_reads: float = 0.0, num_units_used: float | None = None,
                         **_) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self.tree_energy_J
