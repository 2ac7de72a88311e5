"""Digital units for the nonlinear functions a layer's outputs may go through: GELU, SiLU,
Hardswish, sigmoid, tanh (element-wise) and softmax (over an output vector), built from the
engine's gates: SRAM look-up tables, ripple-carry adders, array multipliers, a restoring
divider and DFF registers (chip.components.lut / adder / multiplier / dff). Ours: NeuroSim
V1.4 prices ReLU and a sigmoid table only (tables §5.3, §5.8).

Every unit is sized for ``num_bits`` (the activation precision) and works on integer codes:

- sigmoid, tanh: one table of 2^B words of B bits (at most 4096 words), addressed by the code;
- SiLU x sigma(x), GELU x sigma(1.702 x) (the sigmoid form of GELU, Hendrycks & Gimpel 2016,
  its 1.702 folded into the table's contents): the table, then a B x B multiplication;
- Hardswish x relu6(x + 3) / 6: an addition (x + 3), two comparisons in parallel (clamp to
  [0, 6], a subtractor each), a multiplication by x and one by the constant 1/6 (B bits);
- softmax over a vector of N codes: N exponentials from a 2^B-word table, their sum in an
  accumulator of B + ceil(log2 N) bits (adder + register), one reciprocal of the sum by a
  restoring divider of that width, and N multiplications of each exponential by it;
- LayerNorm over a vector of N codes, (x - mean) / sqrt(var) * gamma + beta, var = E[x^2] -
  mean^2 in two passes: per element, pass 1 adds x into a sum (B + ceil(log2 N) bits),
  squares it (one B x B multiplication) and adds the square into a sum of squares (2B +
  ceil(log2 N) bits), both sums in registers; pass 2 subtracts the mean, multiplies by
  1/sqrt(var) and by gamma and adds beta (two B-bit additions, two multiplications). Per
  vector, between the passes: mean and E[x^2] by multiplications with the constant 1/N, the
  mean squared, one subtraction, and 1/sqrt(var) from a 2^B-word table (operands rounded to
  B bits). So 4 additions and 3 multiplications per element, 3 multiplications, one
  addition and one look-up per vector.
"""
from __future__ import annotations

import math

from chip.components.adder import Adder
from chip.components.base import Component, cycles, require_int
from chip.components.dff import DFF
from chip.components.lut import LookupTable
from chip.components.multiplier import Divider, Multiplier

__all__ = ["ELEMENTWISE_OPS", "LayerNorm", "NonlinearUnit", "PerOperationUnit", "Softmax"]

#: element-wise functions and the blocks of one lane, in the order the data passes them:
#: (table?, additions on the critical path, additions in all, multiplications in a row)
ELEMENTWISE_OPS = {
    "sigmoid": (True, 0, 0, 0),
    "tanh": (True, 0, 0, 0),
    "silu": (True, 0, 0, 1),
    "gelu": (True, 0, 0, 1),
    "hardswish": (False, 2, 3, 2),
}

#: largest table: 2^12 words, as NeuroSim's sigmoid unit (chip.components.activation)
MAX_TABLE_BITS = 12


def _table(ctx, config, num_bits: int) -> LookupTable:
    return LookupTable(ctx, config, 2 ** min(num_bits, MAX_TABLE_BITS), num_bits)


class PerOperationUnit(Component):
    """A unit priced per operation (one value, or one vector): ``op_latency_s(clock)`` and
    ``op_energy_J`` of one operation on one of its ``num_units`` lanes or units."""

    num_units: int
    op_energy_J: float

    def op_latency_s(self, clock_period_s: float | None = None) -> float:
        raise NotImplementedError

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        return num_reads * self.op_latency_s(clock_period_s)

    def dynamic_energy_J(self, *, num_reads: float = 0.0,
                         num_units_used: float | None = None) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self.op_energy_J


class NonlinearUnit(PerOperationUnit):
    """``num_units`` lanes computing the element-wise function ``op`` (module docstring).

    NonlinearUnit(ctx, config, op, num_bits, num_units=1). Activity: ``num_reads`` values per
    lane in a row (latency, ``clock_period_s``: each block's delay rounded up to whole
    cycles); ``num_units_used`` lanes working (default all).
    """

    category = "other"

    def __init__(self, ctx, config, op: str, num_bits: int, num_units: int = 1):
        super().__init__()
        if op not in ELEMENTWISE_OPS:
            raise ValueError(f"op={op!r} must be one of {', '.join(ELEMENTWISE_OPS)}")
        self.ctx, self.op, self.name = ctx, op, op
        self.num_bits = b = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        table, self.adds_in_row, adds, self.muls = ELEMENTWISE_OPS[op]
        self.table = _table(ctx, config, b) if table else None
        self.adder = Adder(ctx, config, b, num_adders=adds) if adds else None
        self.multiplier = Multiplier(ctx, config, b, num_units=self.muls) if self.muls else None
        blocks = [blk for blk in (self.table, self.adder, self.multiplier) if blk is not None]
        self._place(self.num_units * sum(blk.area_m2 for blk in blocks))
        self.leakage_W = self.num_units * sum(blk.leakage_W for blk in blocks)
        self.op_energy_J = (
            (self.table.op_energy_J if self.table else 0.0)
            + (self.adder.dynamic_energy_J(num_ops=adds) if adds else 0.0)
            + (self.multiplier.dynamic_energy_J(num_ops=self.muls) if self.muls else 0.0))

    def op_latency_s(self, clock_period_s: float | None = None) -> float:
        """One value through the lane: table, additions in a row, multiplications in a row."""
        t = self.table.latency_s(clock_period_s=clock_period_s) if self.table else 0.0
        if self.adder is not None:
            t += self.adds_in_row * cycles(self.adder.add_latency_s, clock_period_s)
        if self.multiplier is not None:
            t += self.multiplier.latency_s(num_reads=self.muls, clock_period_s=clock_period_s)
        return t



class Softmax(PerOperationUnit):
    """``num_units`` softmax units over vectors of ``length`` codes (module docstring).

    Softmax(ctx, config, num_bits, length, num_units=1). Activity: ``num_reads`` vectors per
    unit in a row (latency, ``clock_period_s``); ``num_units_used`` units working.
    """

    name = "softmax"
    category = "other"

    def __init__(self, ctx, config, num_bits: int, length: int, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.num_bits = b = require_int("num_bits", num_bits)
        self.length = n = require_int("length", length)
        self.num_units = require_int("num_units", num_units)
        self.sum_bits = b + math.ceil(math.log2(n)) if n > 1 else b
        self.table = _table(ctx, config, b)
        self.accumulator = Adder(ctx, config, self.sum_bits)
        self.register = DFF(ctx, config, self.sum_bits)
        self.divider = Divider(ctx, config, self.sum_bits)
        self.multiplier = Multiplier(ctx, config, b)
        blocks = (self.table, self.accumulator, self.register, self.divider, self.multiplier)
        self._place(self.num_units * sum(blk.area_m2 for blk in blocks))
        self.leakage_W = self.num_units * sum(blk.leakage_W for blk in blocks)
        self.op_energy_J = (
            n * (self.table.op_energy_J + self.accumulator.dynamic_energy_J(num_ops=1)
                 + self.register.dynamic_energy_J(num_reads=1))
            + self.divider.dynamic_energy_J(num_ops=1)
            + self.multiplier.dynamic_energy_J(num_ops=n))

    def op_latency_s(self, clock_period_s: float | None = None) -> float:
        """One vector: N look-ups each added to the sum, one division, N multiplications."""
        per_value = (self.table.latency_s(clock_period_s=clock_period_s)
                     + cycles(self.accumulator.add_latency_s, clock_period_s))
        return (self.length * per_value + self.divider.latency_s(clock_period_s=clock_period_s)
                + self.multiplier.latency_s(num_reads=self.length,
                                            clock_period_s=clock_period_s))



class LayerNorm(PerOperationUnit):
    """``num_units`` LayerNorm units over vectors of ``length`` codes (module docstring).

    LayerNorm(ctx, config, num_bits, length, num_units=1). Activity: ``num_reads`` vectors per
    unit in a row (latency, ``clock_period_s``); ``num_units_used`` units working.
    """

    name = "layernorm"
    category = "other"

    #: per element: additions (sum, sum of squares, - mean, + beta), multiplications
    ELEMENT_ADDS, ELEMENT_MULS = 4, 3
    #: per vector: multiplications (two by 1/N, mean^2), additions, table look-ups
    VECTOR_MULS, VECTOR_ADDS, VECTOR_LOOKUPS = 3, 1, 1

    def __init__(self, ctx, config, num_bits: int, length: int, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.num_bits = b = require_int("num_bits", num_bits)
        self.length = n = require_int("length", length)
        self.num_units = require_int("num_units", num_units)
        grow = math.ceil(math.log2(n)) if n > 1 else 0
        self.table = _table(ctx, config, b)
        self.sum_adder = Adder(ctx, config, b + grow)
        self.square_adder = Adder(ctx, config, 2 * b + grow)
        self.adder = Adder(ctx, config, b)
        self.registers = DFF(ctx, config, 3 * b + 2 * grow)
        self.multiplier = Multiplier(ctx, config, b)
        blocks = (self.table, self.sum_adder, self.square_adder, self.adder, self.registers,
                  self.multiplier)
        self._place(self.num_units * sum(blk.area_m2 for blk in blocks))
        self.leakage_W = self.num_units * sum(blk.leakage_W for blk in blocks)
        element = (self.sum_adder.dynamic_energy_J(num_ops=1)
                   + self.square_adder.dynamic_energy_J(num_ops=1)
                   + self.adder.dynamic_energy_J(num_ops=self.ELEMENT_ADDS - 2)
                   + self.multiplier.dynamic_energy_J(num_ops=self.ELEMENT_MULS)
                   + self.registers.dynamic_energy_J(num_reads=1))
        vector = (self.multiplier.dynamic_energy_J(num_ops=self.VECTOR_MULS)
                  + self.adder.dynamic_energy_J(num_ops=self.VECTOR_ADDS)
                  + self.VECTOR_LOOKUPS * self.table.op_energy_J)
        self.op_energy_J = n * element + vector

    def op_latency_s(self, clock_period_s: float | None = None) -> float:
        """One vector: pass 1 (a square, then its addition; the sum's addition alongside),
        the per-vector steps, pass 2 (subtract, two multiplications, add) per element."""
        c = clock_period_s
        mul = self.multiplier.latency_s(num_reads=1, clock_period_s=c)
        pass1 = mul + cycles(self.square_adder.add_latency_s, c)
        pass2 = 2 * cycles(self.adder.add_latency_s, c) + 2 * mul
        per_vector = (self.VECTOR_MULS * mul + cycles(self.adder.add_latency_s, c)
                      + self.table.latency_s(clock_period_s=c))
        return self.length * (pass1 + pass2) + per_vector

