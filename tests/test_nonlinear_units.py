"""Digital units of the nonlinear functions (chip.components.nonlinear, lut, multiplier): each
unit's area, leakage, energy and latency derived by hand from the engine's gates and the
blocks it is built of, their scaling with the precision, and bad input."""
from __future__ import annotations

import math

import pytest

from chip.components.activation import Activation
from chip.components.adder import Adder
from chip.components.dff import DFF
from chip.components.lut import LookupTable
from chip.components.multiplier import Divider, Multiplier
from chip.components.nonlinear import ELEMENTWISE_OPS, NonlinearUnit, Softmax
from chip.technology import TechContext
from contracts.presets import preset

T = 2e-9            # a clock period longer than any block's delay here


@pytest.fixture(scope="module")
def tech():
    c = preset("neurosim-1.4-default")
    return TechContext(c), c


def _and_gate(ctx):
    w = ctx.w_min_m
    return ctx.gate("nand", 2, 2 * w, ctx.pn * w, enlarge=True), ctx.inv(enlarge=True)


def test_multiplier_is_its_and_plane_and_adder_rows(tech):
    ctx, c = tech
    b = 8
    m = Multiplier(ctx, c, b, num_units=3)
    nand, inv = _and_gate(ctx)
    rows = Adder(ctx, c, b, num_adders=b - 1)
    # 64 AND gates and 7 ripple-carry adders of 8 bits per multiplier, 3 multipliers
    assert m.area_m2 == pytest.approx(3 * (64 * (nand.area_m2 + inv.area_m2) + rows.area_m2))
    assert m.leakage_W == pytest.approx(3 * (64 * (nand.leakage_W + inv.leakage_W)
                                             + rows.leakage_W))
    e_and = (nand.cap_in_F + nand.cap_out_F + inv.cap_in_F + inv.cap_out_F) * ctx.vdd_V ** 2
    e_add = ctx.vdd_V ** 2 * ((14 * nand.cap_in_F + 7 * nand.cap_out_F)
                              + 7 * (13 * nand.cap_in_F + 7 * nand.cap_out_F))  # tables §5.1
    assert m.op_energy_J == pytest.approx(ctx.delta * (64 * e_and + 7 * e_add))
    assert m.dynamic_energy_J(num_ops=5) == pytest.approx(5 * m.op_energy_J)
    # two adder delays plus the AND gate: longer than one addition, shorter than eight
    assert 2 * rows.add_latency_s < m.op_latency_s < 8 * rows.add_latency_s
    assert m.latency_s(num_reads=4, clock_period_s=T) == pytest.approx(4 * T)
    # the AND plane grows with b^2: a 16-bit multiplier holds 4x the AND gates
    m16 = Multiplier(ctx, c, 16)
    rows16 = Adder(ctx, c, 16, num_adders=15)
    assert m16.area_m2 - rows16.area_m2 == pytest.approx(
        4 * (Multiplier(ctx, c, 8).area_m2 - rows.area_m2))


def test_divider_is_num_bits_subtract_and_shift_steps(tech):
    ctx, c = tech
    d = Divider(ctx, c, 12)
    add, reg = Adder(ctx, c, 12), DFF(ctx, c, 24)
    assert d.area_m2 == pytest.approx(add.area_m2 + reg.area_m2)
    assert d.op_energy_J == pytest.approx(12 * (add.dynamic_energy_J(num_ops=1)
                                                + reg.dynamic_energy_J(num_reads=1)))
    assert d.latency_s(num_reads=2) == pytest.approx(2 * 12 * add.add_latency_s)
    assert d.latency_s(num_reads=1, clock_period_s=T) == pytest.approx(12 * T)


def test_lookup_table_is_the_sigmoid_unit_of_neurosim(tech):
    ctx, c = tech
    lut = LookupTable(ctx, c, 256, 8, num_units=4)
    sig = Activation(ctx, c, 8, 4, "sigmoid")
    assert (lut.area_m2, lut.leakage_W, lut.op_energy_J, lut.op_latency_s) == pytest.approx(
        (sig.area_m2, sig.leakage_W, sig.op_energy_J, sig.op_latency_s))
    # the cells: entries x width 6T cells of the node's SRAM cell size
    cell = ctx.node.sram_cell_height_F * ctx.node.sram_cell_width_F * ctx.feature_size_m ** 2
    big = LookupTable(ctx, c, 512, 8)
    small = LookupTable(ctx, c, 256, 8)
    assert big.area_m2 - small.area_m2 > 256 * 8 * cell
    assert lut.dynamic_energy_J(num_reads=3, num_units_used=2) == pytest.approx(
        6 * lut.op_energy_J)


@pytest.mark.parametrize("op", list(ELEMENTWISE_OPS))
def test_elementwise_units_are_the_sum_of_their_blocks(tech, op):
    ctx, c = tech
    b, lanes = 8, 5
    unit = NonlinearUnit(ctx, c, op, b, num_units=lanes)
    table = LookupTable(ctx, c, 2 ** b, b)
    mul, add = Multiplier(ctx, c, b), Adder(ctx, c, b)
    # by hand, per lane: (tables, additions in all, additions in a row, multiplications)
    tables, adds, in_row, muls = {"sigmoid": (1, 0, 0, 0), "tanh": (1, 0, 0, 0),
                                  "silu": (1, 0, 0, 1), "gelu": (1, 0, 0, 1),
                                  "hardswish": (0, 3, 2, 2)}[op]
    area = tables * table.area_m2 + adds * add.area_m2 + muls * mul.area_m2
    assert unit.area_m2 == pytest.approx(lanes * area)
    energy = tables * table.op_energy_J + adds * add.dynamic_energy_J(num_ops=1) + \
        muls * mul.op_energy_J
    assert unit.op_energy_J == pytest.approx(energy)
    assert unit.dynamic_energy_J(num_reads=10) == pytest.approx(10 * lanes * energy)
    latency = tables * table.op_latency_s + in_row * add.add_latency_s + muls * mul.op_latency_s
    assert unit.latency_s(num_reads=3) == pytest.approx(3 * latency)
    # clocked: every block a whole number of cycles
    assert unit.latency_s(num_reads=1, clock_period_s=T) == pytest.approx(
        (tables + in_row + muls) * T)


def test_units_grow_with_the_activation_precision(tech):
    ctx, c = tech
    for op in ELEMENTWISE_OPS:
        u4, u8 = NonlinearUnit(ctx, c, op, 4), NonlinearUnit(ctx, c, op, 8)
        assert u8.area_m2 > u4.area_m2 and u8.op_energy_J > u4.op_energy_J
    # a table of 16-bit codes is capped at 4096 words (NeuroSim's sigmoid unit)
    assert NonlinearUnit(ctx, c, "tanh", 16).table.entries == 4096


def test_softmax_is_exponentials_a_sum_one_division_and_scaling(tech):
    ctx, c = tech
    b, n = 8, 10
    sm = Softmax(ctx, c, b, length=n)
    w = b + math.ceil(math.log2(n))                      # 12-bit sum of ten 8-bit values
    assert sm.sum_bits == 12
    table, acc, reg = LookupTable(ctx, c, 256, 8), Adder(ctx, c, w), DFF(ctx, c, w)
    div, mul = Divider(ctx, c, w), Multiplier(ctx, c, b)
    assert sm.area_m2 == pytest.approx(sum(x.area_m2 for x in (table, acc, reg, div, mul)))
    energy = n * (table.op_energy_J + acc.dynamic_energy_J(num_ops=1)
                  + reg.dynamic_energy_J(num_reads=1)) + div.op_energy_J + n * mul.op_energy_J
    assert sm.op_energy_J == pytest.approx(energy)
    latency = n * (table.op_latency_s + acc.add_latency_s) + w * acc.add_latency_s + \
        n * mul.op_latency_s
    assert sm.latency_s(num_reads=2) == pytest.approx(2 * latency)
    # clocked: 10 x (look-up + add) + 12 division steps + 10 multiplications
    assert sm.latency_s(num_reads=1, clock_period_s=T) == pytest.approx((20 + 12 + 10) * T)
    # a longer vector costs more per vector
    assert Softmax(ctx, c, b, length=1000).op_energy_J > 50 * sm.op_energy_J


@pytest.mark.parametrize("make", [
    lambda ctx, c: NonlinearUnit(ctx, c, "swish", 8),
    lambda ctx, c: NonlinearUnit(ctx, c, "gelu", 0),
    lambda ctx, c: Softmax(ctx, c, 8, length=0),
    lambda ctx, c: Multiplier(ctx, c, 8, num_units=0),
    lambda ctx, c: Divider(ctx, c, 2.5),
    lambda ctx, c: LookupTable(ctx, c, 0, 8),
    lambda ctx, c: Multiplier(ctx, c, 8).dynamic_energy_J(num_ops=-1),
])
def test_bad_input_raises(tech, make):
    ctx, c = tech
    with pytest.raises(ValueError):
        make(ctx, c)
