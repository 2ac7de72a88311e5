"""chip.hierarchy: PE/Tile/Chip composition, clock, pipeline vs layer-by-layer, leakage,
write and rewrite costs.

The composition is tested with a small stand-in physics (FakePhysics: simple analytical
blocks whose figures are easy to reason about), so these tests check the bookkeeping of
the hierarchy, not the circuit models; tests that need the real circuit models
(chip.components) live in test_estimate.py / test_table7.py and skip when those are absent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from contracts.config import HardwareConfig
from chip.cost import Cost
from chip.hierarchy import compose_chip, rewrite_cost, write_cost
from chip.mapping import map_network
from chip.synthetic import synthetic_layers, vgg8_cifar_geometries


# ---------------------------------------------------------------- stand-in physics (tests only)
@dataclass
class FakeActivity:
    subarrays: int
    bit_vectors_per_subarray: float
    reads_per_subarray: float
    active_row_fraction: float


class FakeBlock:
    def __init__(self, name, category, area, leak, t_op, e_op, lanes=1):
        self.name, self.category = name, category
        self.area_m2, self.leakage_W = area, leak
        self.width_m = self.height_m = math.sqrt(area)
        self.t_op, self.e_op, self.lanes = t_op, e_op, lanes

    def cost(self, num_ops=0, num_bits=0, clock_period_s=None, parallel=1, transfers=None, **_):
        work = num_ops + num_bits
        lat = self.t_op * math.ceil(work / self.lanes / max(1, parallel))
        return Cost(self.name, self.category, area_m2=self.area_m2, latency_s=lat,
                    dynamic_energy_J=self.e_op * work, leakage_W=self.leakage_W)


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


class FakePhysics:
    def __init__(self, config):
        self.config = config

    def subarray(self, rows, cols):
        return FakeSubArray(self.config)

    def activity(self, layer, row_groups):
        cfg = self.config
        g = layer.geometry
        x = layer.input_codes
        bits = np.unpackbits(x.astype(np.uint8)[..., None], axis=-1)
        density = float(bits.mean())
        n_sa = sum(math.ceil(len(r) / cfg.subarray_rows) for r in row_groups) * math.ceil(
            g.out_channels * cfg.cells_per_weight / cfg.subarray_cols)
        bv = g.input_vectors * cfg.activation_bits
        reads = bv * math.ceil(cfg.subarray_rows / cfg.rows_per_read)
        return FakeActivity(n_sa, bv, reads, density)

    def adder_tree(self, num_inputs, input_bits, lanes):
        return FakeBlock("adder_tree", "accumulation", 1e-9 * num_inputs * lanes, 1e-8 * lanes,
                         1e-9, 1e-14 * input_bits, lanes)

    def buffer(self, level, capacity_bits, interface_bits, width_m=None, height_m=None):
        return FakeBlock(f"{level}_buffer", "buffer", 1e-12 * capacity_bits, 1e-9 * capacity_bits
                         / 1024, 1e-9, 1e-15, interface_bits)

    def bus(self, level, rows, cols, unit_height_m, unit_width_m, bus_width, output_width=None):
        return FakeBlock(f"{level}_bus", "interconnect", 1e-10 * bus_width, 1e-9 * bus_width,
                         1e-9, 5e-15, bus_width)

    def max_pool(self, bits, window, lanes):
        return FakeBlock("max_pool", "other", 1e-10 * lanes, 1e-9, 1e-9, 1e-15, lanes)

    def activation(self, bits, lanes):
        return FakeBlock("activation", "other", 1e-10 * lanes, 1e-9, 1e-9, 1e-15, lanes)

    def subarray_output_bits(self):
        return 16

    def write_energy_per_cell_J(self):
        return 1e-12

    def write_time_per_row_s(self):
        return 2 * self.config.write_pulse_width_s


# ----------------------------------------------------------------------------------------------
GEOMS = vgg8_cifar_geometries()
TRACES = synthetic_layers(GEOMS, seed=0, input_sparsity=0.5)


def _compose(**changes):
    cfg = HardwareConfig(**changes)
    m = map_network(GEOMS, cfg)
    return compose_chip(m, TRACES, cfg, FakePhysics(cfg)), m, cfg


def test_tree_totals_and_categories():
    r, m, _ = _compose()
    assert r.area_m2 == pytest.approx(r.tree.total_area_m2)
    assert r.area_m2 > 0 and r.dynamic_energy_J > 0 and r.leakage_energy_J > 0
    cats = r.tree.by_category("area_m2")
    assert cats["array"] > 0 and cats["adc"] > 0 and cats["buffer"] > 0
    assert len(r.layers) == 8
    # area: every allocated tile once
    assert sum(x.area_m2 for x in r.layers) < r.area_m2


def test_pipelined_latency_is_max_layer_by_layer_is_sum():
    piped, _, _ = _compose(pipeline=True)
    lbl, _, _ = _compose(pipeline=False)
    assert piped.latency_s == pytest.approx(max(x.latency_s for x in piped.layers))
    assert lbl.latency_s == pytest.approx(sum(x.latency_s for x in lbl.layers))
    assert piped.latency_s <= lbl.latency_s


def test_clock_slowest_cycle_capped():
    r, _, cfg = _compose(adc_bits=5)
    assert r.clock_period_s == pytest.approx(max(1.45e-9, 1 / cfg.clock_freq_max_Hz))
    r, _, _ = _compose(clock_freq_max_Hz=1e8)
    assert r.clock_period_s == pytest.approx(1e-8)


def test_more_rows_in_parallel_lower_latency():
    slow, _, _ = _compose(operation_mode="parallel", rows_in_parallel=32)
    fast, _, _ = _compose(operation_mode="parallel", rows_in_parallel=128)
    assert fast.latency_s < slow.latency_s


def test_energy_scales_with_input_activity():
    cfg = HardwareConfig()
    m = map_network(GEOMS, cfg)
    sparse = compose_chip(m, synthetic_layers(GEOMS, input_sparsity=0.9), cfg, FakePhysics(cfg))
    dense = compose_chip(m, synthetic_layers(GEOMS, input_sparsity=0.1), cfg, FakePhysics(cfg))
    assert dense.dynamic_energy_J > sparse.dynamic_energy_J


def test_leakage_energy_uses_final_image_time():
    r, _, _ = _compose(pipeline=True)
    T = r.latency_s
    # every layer's tiles leak for the whole image time: between in-use and idle rates
    for x in r.layers:
        assert x.leakage_in_use_W * T - 1e-30 <= x.leakage_energy_J <= x.leakage_W * T + 1e-30
    # the final image time, not a running maximum (NeuroSim's bug, reference §9): a layer
    # that runs before the slowest one still leaks for the whole image time
    for x in r.layers:
        expect = x.leakage_in_use_W * x.latency_s + x.leakage_W * (T - x.latency_s)
        assert x.leakage_energy_J == pytest.approx(expect)


def test_write_and_rewrite_cost():
    cfg = HardwareConfig()
    m = map_network(GEOMS, cfg)
    phys = FakePhysics(cfg)
    e, t = write_cost(m, phys)
    assert e > 0 and t == pytest.approx(cfg.subarray_rows * 2 * cfg.write_pulse_width_s)
    same_e, same_t, n = rewrite_cost(m, TRACES, TRACES, cfg, phys)
    assert same_e == 0 and same_t == 0 and n == 0
    new = synthetic_layers(GEOMS, seed=0, input_sparsity=0.5)
    w = new[7].weight_codes.copy()
    w[0, :5] += 1                        # five weights of the last layer change
    new[7].weight_codes = np.clip(w, -128, 127).astype(np.int8)
    e2, t2, n2 = rewrite_cost(m, TRACES, new, cfg, phys)
    assert 0 < n2 and e2 == pytest.approx(n2 * 1e-12) and 0 < t2 <= t
    assert e2 < e
