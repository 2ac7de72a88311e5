"""Adder tree summing partial sums of subarrays, PEs or tiles (NeuroSim V1.4 tables §5.3)."""
from __future__ import annotations

from chip.components.adder import Adder
from chip.components.base import Component, cycles, require_int


class AdderTree(Component):
    """``num_units`` adder trees, each reducing ``num_inputs`` operands of ``num_bits`` bits.

    AdderTree(ctx, config, num_inputs, num_bits, num_units=1, width_m=None).
    Stage k has floor(j/2) adders of (num_bits + k) bits. Activity: ``num_reads`` (tree
    evaluations per unit), ``num_units_used`` (default all), ``num_inputs`` (operands fed,
    default all), ``clock_period_s``.
    """

    name = "adder_tree"
    category = "accumulation"

    def __init__(self, ctx, config, num_inputs: int, num_bits: int, num_units: int = 1,
                 width_m: float | None = None):
        super().__init__()
        self.ctx, self.config = ctx, config
        self.num_inputs = require_int("num_inputs", num_inputs)
        self.num_bits = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        self.stages = self._stages(self.num_inputs)   # (adders in the stage, adder model)
        area = sum(n * a.area_m2 for n, a in self.stages) * self.num_units
        self._place(area, width_m=width_m)
        self.leakage_W = sum(n * a.leakage_W for n, a in self.stages) * self.num_units
        self.tree_latency_s, self.tree_energy_J = self._evaluation(self.stages)
        self.output_bits = self.num_bits + len(self.stages)

    def _stages(self, inputs: int) -> list:
        """Stage k: floor(j/2) adders of (num_bits + k) bits over j operands (tables §5.3)."""
        stages, j, k = [], inputs, 0
        while j > 1:
            stages.append((j // 2, Adder(self.ctx, self.config, self.num_bits + k, 1)))
            # ours: an odd operand passes to the next stage (ceil halving); NeuroSim halves
            # with integer division and loses an adder per odd stage (tables §7.22)
            j = j // 2 if self.ctx.quirk("adder_tree_odd_halving") else (j + 1) // 2
            k += 1
        return stages

    def _evaluation(self, stages: list) -> tuple[float, float]:
        """(latency, energy) of one evaluation of one tree through ``stages``."""
        if stages:
            # ours: every stage timed at its real width (num_bits + k); NeuroSim times the
            # stages after the first as 2-bit adders (tables §7.7)
            if self.ctx.quirk("adder_tree_two_bit_latency"):
                two_bit = Adder(self.ctx, self.config, 2, 1)
                lat = stages[0][1].add_latency_s + (len(stages) - 1) * two_bit.add_latency_s
            else:
                lat = sum(a.add_latency_s for _, a in stages)
        else:
            lat = 0.0
        return lat, sum(n * a.add_energy_J for n, a in stages) * self.ctx.delta

    def _used(self, num_inputs: int | None) -> tuple[float, float]:
        """Latency and energy of an evaluation fed ``num_inputs`` operands: the adders of
        the unused inputs see no data and do not switch (AdderTree.cpp evaluates the tree for
        the operand count it is given, numUnitAdd)."""
        if num_inputs is None or num_inputs >= self.num_inputs:
            return self.tree_latency_s, self.tree_energy_J
        return self._evaluation(self._stages(max(1, int(num_inputs))))

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None,
                  num_inputs: int | None = None) -> float:
        # tables §5.3: synchronous -> ceil(t f_clk) cycles per evaluation.
        return num_reads * cycles(self._used(num_inputs)[0], clock_period_s)

    def dynamic_energy_J(self, *, num_reads: float = 0.0, num_units_used: float | None = None,
                         num_inputs: int | None = None) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self._used(num_inputs)[1]
