"""SubArray -> PE -> Tile -> Chip (chip.pe, chip.tile, chip.global_blocks, chip.chip_model):
each level's area, leakage and work derived by hand from stand-in parts with round figures,
then the chip's clock, pipeline vs layer-by-layer timing, leakage, write and rewrite costs.

The stand-in parts (FakeParts) follow the component contract of chip.components (explicit
activity keywords, ``num_units``, ``bus_width``, ``toggle``), so these tests check the
bookkeeping of the hierarchy, not the circuit models (those are tests/test_components.py,
tests/test_subarray.py and the golden figures).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from chip.chip_model import Chip
from chip.cost import Cost
from chip.mapping import map_network
from chip.pe import PE, LayerLoad
from chip.programming import rewrite_cost, write_cost
from chip.synthetic import _linear, synthetic_layers, vgg8_cifar_geometries
from chip.tile import Tile, TileFlavour
from contracts.config import HardwareConfig


# ---------------------------------------------------------------- stand-in parts (tests only)
@dataclass
class FakeActivity:
    subarrays: int
    bit_vectors_per_subarray: float
    reads_per_subarray: float
    active_row_fraction: float


class FakeBlock:
    """Figures: area, leakage; 1 ns per access (read, write, transfer); energy per access."""

    def __init__(self, category, area, leak, e_access, num_units=1):
        self.category, self.area_m2, self.leakage_W = category, area, leak
        self.width_m = self.height_m = math.sqrt(area)
        self.e_access, self.num_units = e_access, num_units


class FakeTree(FakeBlock):
    def latency_s(self, *, num_reads, clock_period_s=None, num_inputs=None):
        return num_reads * 1e-9

    def dynamic_energy_J(self, *, num_reads, num_units_used=None, num_inputs=None):
        return num_reads * num_units_used * self.e_access


class FakeBuffer(FakeBlock):
    def latency_s(self, *, num_reads, num_writes=0.0, clock_period_s=None):
        return (num_reads + num_writes) * 1e-9

    def dynamic_energy_J(self, *, num_reads, num_writes=0.0):
        return (num_reads + num_writes) * self.e_access


class FakeBus(FakeBlock):
    toggle = 0.5

    def __init__(self, bus_width, **kw):
        super().__init__("interconnect", 1e-10 * bus_width, 1e-9 * bus_width, 5e-15)
        self.bus_width = bus_width

    def latency_s(self, *, num_transfers=1.0, clock_period_s=None, transfers_in=None,
                  transfers_out=None):
        if transfers_in is not None or transfers_out is not None:
            return ((transfers_in or 0) + (transfers_out or 0)) * 1e-9
        return num_transfers * 1e-9

    def dynamic_energy_J(self, *, num_bits=0.0, bits_in=None, bits_out=None):
        if bits_in is not None or bits_out is not None:
            return ((bits_in or 0) + (bits_out or 0)) * self.e_access
        return num_bits * self.e_access * self.toggle


class FakeUnit(FakeBlock):
    def latency_s(self, *, num_reads, clock_period_s=None):
        return num_reads * 1e-9

    def dynamic_energy_J(self, *, num_reads):
        return num_reads * self.num_units * self.e_access


class FakeSubArray:
    def __init__(self, config):
        self.config = config
        r, c = config.subarray_rows, config.subarray_cols
        f = config.technology_node_nm / 22.0
        self.area_by_category = {"array": r * c * 1e-13 * f * f, "adc": c / config.cols_per_adc
                                 * 2 ** config.adc_bits * 1e-12 * f * f,
                                 "accumulation": c * 2e-12 * f * f, "other": r * 3e-12 * f * f}
        self.area_m2 = sum(self.area_by_category.values())
        self.width_m = self.height_m = math.sqrt(self.area_m2)
        self.leakage_W = 1e-7 * r * c / 16384
        self.leakage_in_use_W = 0.8 * self.leakage_W
        self.read_cycle_s = 1.2e-9 + 0.05e-9 * config.adc_bits

    def cost(self, activity, clock_period_s):
        cfg = self.config
        cycles = activity.reads_per_subarray * cfg.cols_per_adc
        node = Cost("subarray", "other", latency_s=cycles * clock_period_s)
        e_read = 1e-15 * cfg.subarray_cols * (1 + 20 * activity.active_row_fraction)
        e_adc = 2e-15 * 2 ** cfg.adc_bits * cfg.subarray_cols / cfg.cols_per_adc
        n = activity.subarrays * activity.reads_per_subarray
        node.add(Cost("array", "array", dynamic_energy_J=e_read * n, count=activity.subarrays))
        node.add(Cost("adc", "adc", dynamic_energy_J=e_adc * n, count=activity.subarrays))
        return node


class FakeParts:
    """Stand-ins for chip.parts.Parts with round figures."""

    def __init__(self, config):
        self.config = config

    def subarray(self, rows, cols):
        return FakeSubArray(self.config)

    def activity(self, layer, row_groups):
        cfg = self.config
        g = layer.geometry
        bits = np.unpackbits(layer.input_codes.astype(np.uint8)[..., None], axis=-1)
        n_sa = sum(math.ceil(len(r) / cfg.subarray_rows) for r in row_groups) * math.ceil(
            g.out_channels * cfg.cells_per_weight / cfg.subarray_cols)
        bv = g.input_vectors * cfg.activation_bits
        reads = bv * math.ceil(cfg.subarray_rows / cfg.rows_per_read)
        return FakeActivity(n_sa, bv, reads, float(bits.mean()))

    def adder_tree(self, num_inputs, input_bits, lanes):
        return FakeTree("accumulation", 1e-9 * num_inputs * lanes, 1e-8 * lanes,
                        1e-14 * input_bits, num_units=lanes)

    def buffer(self, level, capacity_bits, interface_bits, width_m=None, height_m=None):
        return FakeBuffer("buffer", 1e-12 * capacity_bits, 1e-9 * capacity_bits / 1024, 1e-15)

    def bus(self, level, rows, cols, unit_height_m, unit_width_m, bus_width, output_width=None):
        return FakeBus(bus_width)

    def max_pool(self, bits, window, lanes):
        return FakeUnit("other", 1e-10 * lanes, 1e-9, 1e-15, num_units=lanes)

    def activation(self, bits, lanes):
        return FakeUnit("other", 1e-10 * lanes, 1e-9, 1e-15, num_units=lanes)

    def subarray_output_bits(self):
        return 16

    def write_energy_per_cell_J(self):
        return 1e-12

    def write_time_per_row_s(self):
        return 2 * self.config.write_pulse_width_s


# ------------------------------------------------------------------------ each level by hand
def approx(value):
    """Relative only: pytest's default absolute 1e-12 would pass any femtojoule."""
    return pytest.approx(value, rel=1e-9, abs=0)


CFG = HardwareConfig()                  # 128 x 128 sub-arrays, 8 columns per ADC, 8-bit inputs


def _pe(cells=(256, 256), square=False):
    parts = FakeParts(CFG)
    return PE(parts, CFG, parts.subarray(128, 128), (128, 128), cells, 16, square), parts


def test_a_pe_of_2x2_subarrays_by_hand():
    pe, parts = _pe()
    sa = parts.subarray(128, 128)
    assert pe.grid == (2, 2) and pe.subarrays == pe.working == 4 and pe.stages == 1
    # tree: 2 operands (grid rows), one lane per ADC of a grid row: 2 x 128 / 8 = 32 lanes
    assert pe.tree.num_units == 32 and pe.tree.area_m2 == approx(1e-9 * 2 * 32)
    # registers: 8 input bits x 128 rows; 16 ADC lanes x (16 + 1 stage) bits
    assert (pe.input_bits, pe.output_bits) == (1024, 272)
    blocks = 1e-9 * 64 + 1e-12 * 1024 + 1e-12 * 272 + 1e-10 * 128        # tree, 2 regs, bus
    assert pe.area_m2 == approx(4 * sa.area_m2 + blocks)
    assert pe.leakage_W == approx(4 * sa.leakage_W + 1e-8 * 32 + 1e-9 + 1e-9 * 272 / 1024
                                         + 1e-9 * 128)


def test_a_square_grid_is_laid_out_for_neurosim():
    pe, _ = _pe(cells=(512, 128), square=True)      # 4 x 1 sub-arrays -> a 2 x 2 grid
    assert pe.working == 4 and pe.grid == (2, 2) and pe.subarrays == 4
    plain, _ = _pe(cells=(512, 128))
    assert plain.grid == (4, 1) and plain.stages == 2


def test_a_tile_of_4_pes_by_hand():
    pe, parts = _pe()
    flavour = TileFlavour(False, (256, 256), (512, 512), 4, (2, 2))
    tile = Tile(parts, CFG, pe, flavour, 16)
    assert tile.output_bits == 17                   # sub-array bits + the PE tree's stage
    # tree over a PE column (2 operands), one lane per ADC of both PE columns: 2 x 256 / 8
    assert tile.tree.num_units == 64
    # input buffer: 2 PEs (NeuroSim's numPE of a side) x 8 bits x 128 rows = 2048 bits,
    # above one 32 x 32 core -> two cores of 1024 bits, 32 bits wide
    assert tile.input_shape == (1024, 32, 2)
    # output buffer: 2 x 16 lanes x (17 + 1) bits = 576 bits, one core, 2 x 18 bits wide
    assert tile.output_shape == (576, 36, 1)
    assert tile.htree_width == 2 * 256
    area = 4 * pe.area_m2 + 1e-9 * 2 * 64 + 2 * 1e-12 * 1024 + 1e-12 * 576 + 1e-10 * 512
    assert tile.area_m2 == approx(area) and tile.side_m == approx(math.sqrt(area))
    statics = {c.name: c for c in tile.static(3)}
    assert statics["subarray_array"].count == 3 * 4 * 4
    assert statics["tile_input_buffer"].area_m2 == approx(3 * 2 * 1e-12 * 1024)
    assert sum(c.area_m2 for c in tile.static(3)) == approx(3 * tile.area_m2)


def test_pe_work_of_a_layer_by_hand():
    pe, _ = _pe()
    cfg = CFG
    m = map_network([_linear("fc", 256, 64)], cfg).layers[0]
    load = LayerLoad(mapping=m, rows_per_pe_copy=256, vectors=1, outputs=64, bit_vectors=8,
                     tree_reads=8, clock=1e-9)
    tree, inbuf, outbuf, bus = pe.cost(load)
    # two sub-array rows add up: 64 outputs once, over min(32 lanes, 64 ops) = 32 lanes
    assert tree.dynamic_energy_J == approx(math.ceil(64 / 32) * 32 * 1e-14 * 16)
    assert tree.latency_s == approx(8 * 1e-9)
    # input register: 8 bit-vectors x 256 rows, sent to both PE columns (64 weights of 8
    # one-bit cells = 512 columns) = 4096 bits, written once and read once in lines of
    # 1024 bits; latency: one PE's 256 rows x 8 bits / 1024 per line
    assert m.weight_cols == 512
    assert inbuf.dynamic_energy_J == approx(2 * 4096 / 1024 * 1e-15)
    assert inbuf.latency_s == approx(256 * 8 / 1024 * 1e-9)
    # output register: 64 partial sums of 16 bits; 256 columns / 8 cells x 16 bits per line
    assert outbuf.dynamic_energy_J == approx(2 * 64 * 16 / 272 * 1e-15)
    assert outbuf.latency_s == approx(256 / 8 * 16 / 272 * 1e-9)
    # bus: inputs (toggle 0.18) and 64 partial sums of 17 bits (toggle 0.5); timed per
    # direction: ceil(256 x 8 / 128) = 16 input, ceil(32 x 17 / 256) = 3 output transfers
    assert bus.dynamic_energy_J == approx((4096 * 0.18 + 64 * 17 * 0.5) * 5e-15)
    assert bus.latency_s == approx((16 + 3) * 1e-9)


# ------------------------------------------------------------------------ the whole chip
GEOMS = vgg8_cifar_geometries()
TRACES = synthetic_layers(GEOMS, seed=0, input_sparsity=0.5)


def _chip(**changes):
    cfg = HardwareConfig(**changes)
    m = map_network(GEOMS, cfg)
    return Chip(m, GEOMS, cfg, FakeParts(cfg)).cost(TRACES), m, cfg


def test_tree_totals_and_categories():
    r, m, _ = _chip()
    assert r.area_m2 == approx(r.tree.total_area_m2)
    assert r.area_m2 > 0 and r.dynamic_energy_J > 0 and r.leakage_energy_J > 0
    cats = r.tree.by_category("area_m2")
    assert cats["array"] > 0 and cats["adc"] > 0 and cats["buffer"] > 0
    assert len(r.layers) == 8
    assert sum(x.area_m2 for x in r.layers) < r.area_m2      # + the shared chip blocks


def test_pipelined_latency_is_max_layer_by_layer_is_sum():
    piped, _, _ = _chip(pipeline=True)
    lbl, _, _ = _chip(pipeline=False)
    assert piped.latency_s == approx(max(x.latency_s for x in piped.layers))
    assert lbl.latency_s == approx(sum(x.latency_s for x in lbl.layers))
    assert piped.latency_s <= lbl.latency_s


def test_clock_slowest_cycle_capped():
    r, _, cfg = _chip(adc_bits=5)
    assert r.clock_period_s == approx(max(1.45e-9, 1 / cfg.clock_freq_max_Hz))
    r, _, _ = _chip(clock_freq_max_Hz=1e8)
    assert r.clock_period_s == approx(1e-8)


def test_more_rows_in_parallel_lower_latency():
    slow, _, _ = _chip(operation_mode="parallel", rows_in_parallel=32)
    fast, _, _ = _chip(operation_mode="parallel", rows_in_parallel=128)
    assert fast.latency_s < slow.latency_s


def test_energy_scales_with_input_activity():
    cfg = HardwareConfig()
    m = map_network(GEOMS, cfg)
    chip = Chip(m, GEOMS, cfg, FakeParts(cfg))
    sparse = chip.cost(synthetic_layers(GEOMS, input_sparsity=0.9))
    dense = chip.cost(synthetic_layers(GEOMS, input_sparsity=0.1))
    assert dense.dynamic_energy_J > sparse.dynamic_energy_J


def test_leakage_energy_uses_final_image_time():
    r, _, _ = _chip(pipeline=True)
    T = r.latency_s
    for x in r.layers:
        assert x.leakage_in_use_W * T - 1e-30 <= x.leakage_energy_J <= x.leakage_W * T + 1e-30
    # the final image time, not a running maximum (NeuroSim's bug, reference §9): a layer
    # that runs before the slowest one still leaks for the whole image time
    for x in r.layers:
        expect = x.leakage_in_use_W * x.latency_s + x.leakage_W * (T - x.latency_s)
        assert x.leakage_energy_J == approx(expect)


def test_write_and_rewrite_cost():
    cfg = HardwareConfig()
    m = map_network(GEOMS, cfg)
    parts = FakeParts(cfg)
    e, t = write_cost(m, parts)
    assert e > 0 and t == approx(cfg.subarray_rows * 2 * cfg.write_pulse_width_s)
    same_e, same_t, n = rewrite_cost(m, TRACES, TRACES, cfg, parts)
    assert same_e == 0 and same_t == 0 and n == 0
    new = synthetic_layers(GEOMS, seed=0, input_sparsity=0.5)
    w = new[7].weight_codes.copy()
    w[0, :5] += 1                        # five weights of the last layer change
    new[7].weight_codes = np.clip(w, -128, 127).astype(np.int8)
    e2, t2, n2 = rewrite_cost(m, TRACES, new, cfg, parts)
    assert 0 < n2 and e2 == approx(n2 * 1e-12) and 0 < t2 <= t
    assert e2 < e
