"""chip/compat.py: NeuroSim V1.4 conventions as named, individually switchable quirks."""
from __future__ import annotations

import numpy as np
import pytest

from chip.compat import QUIRKS, active_quirks, parse_quirks, quirk_on
from contracts.config import ConfigError, HardwareConfig, parse_override
from contracts.presets import preset
from chip.synthetic import _conv, _linear, synthetic_layers
from contracts.trace import Trace

SMALL = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 32, 3, 8, after=("relu", "maxpool2x2")),
         _linear("fc", 512, 10)]


def test_registry_entries_are_documented():
    assert len(QUIRKS) >= 20
    for name, q in QUIRKS.items():
        assert name.islower() and " " not in name
        assert q.description and q.ours and q.source and q.where and q.figures


def test_config_field_validated_against_registry():
    cfg = HardwareConfig(compat_quirks="ops_from_input_size, buffer_traffic_halved")
    assert active_quirks(cfg) == {"ops_from_input_size", "buffer_traffic_halved"}
    assert quirk_on(cfg, "ops_from_input_size") and not quirk_on(cfg, "pe_bus_untimed")
    # the torch-free config checks the form; step 2's registry checks the names
    with pytest.raises(ConfigError, match="not a quirk name"):
        HardwareConfig(compat_quirks="ops from input")
    with pytest.raises(ConfigError, match="unknown quirk 'nope'"):
        active_quirks(HardwareConfig(compat_quirks="nope"))
    assert parse_override("compat_quirks=pe_bus_untimed") == ("compat_quirks", "pe_bus_untimed")
    assert active_quirks(HardwareConfig()) == frozenset()
    assert active_quirks(HardwareConfig(compat="neurosim-1.4")) == frozenset(QUIRKS)
    with pytest.raises(KeyError):
        quirk_on(HardwareConfig(), "not_a_quirk")
    assert parse_quirks("") == ()


@pytest.fixture(scope="module")
def trace():
    layers = synthetic_layers(SMALL, seed=2, input_sparsity=0.5)
    return Trace(manifest={"network": "SMALL", "config": {}, "layers": []}, layers=layers)


def test_all_quirks_by_name_equal_compat_mode(trace):
    from chip import estimate
    base = preset("neurosim-1.4-default")
    full = estimate(trace, base.replace(compat="neurosim-1.4")).summary
    named = estimate(trace, base.replace(compat_quirks=",".join(QUIRKS))).summary
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
                "leakage_energy_per_image_pJ", "tops_per_w", "clock_period_ns"):
        assert named[key] == pytest.approx(full[key], rel=1e-12), key


def test_single_quirk_moves_only_its_figures(trace):
    from chip import estimate
    base = preset("neurosim-1.4-default")
    ours = estimate(trace, base).summary
    leak = estimate(trace, base.replace(compat_quirks="chip_blocks_no_leakage")).summary
    assert leak["leakage_energy_per_image_pJ"] < ours["leakage_energy_per_image_pJ"]
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ"):
        assert leak[key] == pytest.approx(ours[key], rel=1e-12), key


# --- quirks added with the variant review (docs/neurosim-differences.md) -------------------
def _energy(report, component):
    b = report.breakdown
    e = b[(b.metric == "dynamic_energy") & b.component.str.endswith(component)]
    return float(e.value.sum())


def test_unused_lanes_charged_only_moves_accumulation_energy(trace):
    """AdderTree.cpp / ShiftAdd.cpp charge every lane: the 10-output fc layer pays for all
    lanes of its trees and all shift-add units of its sub-arrays."""
    from chip import estimate
    base = preset("neurosim-1.4-default")
    ours = estimate(trace, base)
    ns = estimate(trace, base.replace(compat_quirks="unused_lanes_charged"))
    fc = lambda r: r.breakdown[r.breakdown.layer == "fc"]    # noqa: E731
    acc = lambda r: float(fc(r).query("metric == 'dynamic_energy' and "    # noqa: E731
                                      "category == 'accumulation'").value.sum())
    assert acc(ns) > acc(ours)
    for key in ("area_mm2", "latency_per_image_ns", "leakage_energy_per_image_pJ"):
        assert ns.summary[key] == pytest.approx(ours.summary[key], rel=1e-12), key


def test_envm_average_cell_loads_size_mux_and_sl_driver():
    """SubArray.cpp (eNVM parallel): mux on R_avg / numRowParallel, SL switch matrix on
    R_avg x numRow / numRowParallel, R_avg = 2 / (1/(R_on + R_acc) + 1/(R_off + R_acc))."""
    from chip.components.mux import tg_width_m
    from chip.components.subarray import SubArray
    from chip.technology import IR_DROP_TOLERANCE, TechContext
    cfg = preset("table7-rram-22nm-par32")
    q = cfg.replace(compat_quirks="envm_average_cell_loads")
    ours, ns = SubArray(TechContext(cfg), cfg), SubArray(TechContext(q), q)
    ctx = ns.ctx
    r_avg = 2 / (1 / (cfg.r_on_ohm + ctx.access_resistance_ohm)
                 + 1 / (cfg.r_off_ohm + ctx.access_resistance_ohm))
    assert r_avg == pytest.approx(233.1e3, rel=1e-3)
    assert ns.components["mux"].width_n_m == pytest.approx(
        tg_width_m(ctx, r_avg / 32 * IR_DROP_TOLERANCE))
    assert ours.components["mux"].width_n_m == pytest.approx(
        tg_width_m(ctx, cfg.r_on_ohm / 16 * IR_DROP_TOLERANCE))
    # the SL driver sized on R_avg x 128 / 32 needs minimum TGs: a thinner strip
    assert ns.components["bl_driver"].area_m2 < ours.components["bl_driver"].area_m2
    # ... and neither is on the read path (write only): the clock is the same
    assert ns.read_cycle_s == pytest.approx(ours.read_cycle_s, rel=1e-3)


def test_envm_wl_energy_vdd():
    from chip.components.array import Array
    from chip.technology import TechContext
    cfg = preset("table7-rram-22nm-par32")
    q = cfg.replace(compat_quirks="envm_wl_energy_vdd")
    a, b = (Array(TechContext(c), c, 128, 128) for c in (cfg, q))
    assert a.wl_voltage_V == cfg.access_voltage_V
    assert b.wl_voltage_V == pytest.approx(b.ctx.vdd_V)
    assert b.dynamic_energy_J(row_activations=10) == pytest.approx(
        a.dynamic_energy_J(row_activations=10) * (b.ctx.vdd_V / cfg.access_voltage_V) ** 2)


def test_partial_read_quirks_scale_with_num_add():
    """SubArray.cpp: mux, mux decoder and WL scan DFFs switch numColMuxed times per bit
    vector; the partial-sum register numColMuxed (numAdd - 1) times."""
    import numpy as np
    from chip.activity import SubArrayActivity
    from chip.components.subarray import SubArray
    from chip.technology import TechContext
    cfg = preset("neurosim-1.4-default").replace(rows_in_parallel=32)      # numAdd = 4
    act = SubArrayActivity(subarrays=1, bit_vectors_per_subarray=100,
                           reads_per_subarray=400, active_row_fraction=0.3,
                           column_conductance_S=np.array([1e-5]),
                           column_conductance_count=np.array([100.0]), adc_code_mean=1.0,
                           used_rows=128, used_cols=128)
    energy = {}
    for quirks in ("", "mux_cycles_per_bit_vector", "accumulator_first_load_free"):
        c = cfg.replace(compat_quirks=quirks)
        cost = SubArray(TechContext(c), c).cost(act, 1.8e-9)
        energy[quirks] = {ch.name: ch.dynamic_energy_J for ch in cost.children}
    ours, mux, acc = energy[""], energy["mux_cycles_per_bit_vector"], \
        energy["accumulator_first_load_free"]
    assert mux["mux"] == pytest.approx(ours["mux"] / 4)
    assert mux["mux_decoder"] == pytest.approx(ours["mux_decoder"] / 4)
    assert mux["wl_driver"] < ours["wl_driver"]                # the scan DFFs clock 4x less
    assert acc["accumulator_dff"] == pytest.approx(ours["accumulator_dff"] * 3 / 4)
    assert acc["adc"] == ours["adc"] and mux["array"] == ours["array"]


def test_novel_mapping_row_blocks():
    from chip.mapping import row_groups
    g = _conv("c", 4, 8, 3, 6)
    ours = row_groups(g, novel=True)
    ns = row_groups(g, novel=True, neurosim_order=True)
    assert ours[1].tolist() == [1, 10, 19, 28]               # kernel position 1 of each channel
    assert ns[1].tolist() == [4, 5, 6, 7]                    # Chip.cpp ReshapeArray: k*Cin + i
    assert sorted(np.concatenate(ns).tolist()) == list(range(36))


def test_global_accumulation_sizing_neurosim_rule():
    """Chip.cpp ChipInitialize: inputs = most tile rows of a layer (duplicates included),
    width = sub-array output bits + ceil(log2 maxAddFromSubArray)."""
    from chip import estimate
    from chip.components.adder_tree import AdderTree
    from chip.synthetic import vgg8_cifar_geometries
    from chip.technology import TechContext
    layers = synthetic_layers(vgg8_cifar_geometries(), seed=1, input_sparsity=0.5)
    vgg = Trace(manifest={"network": "VGG8", "config": {}, "layers": []}, layers=layers)
    cfg = preset("neurosim-1.4-default").replace(pipeline=False,
                                                 compat_quirks="global_accumulation_sizing")
    r = estimate(vgg, cfg)
    node = next(n for _, n in r.tree.walk() if n.name == "global_accumulation"
                and n.area_m2 > 0)
    # layer by layer: PE 512 / 128 = 4 sub-array rows x max(1024/512, sqrt 9) = 12 -> 4 bits
    # over the 21-bit sub-array output; fc1 spans 8 tile rows; 1024 / 8 = 128 lanes
    want = AdderTree(TechContext(cfg), cfg, num_inputs=8, num_bits=21 + 4, num_units=128)
    assert node.area_m2 == pytest.approx(want.area_m2, rel=1e-9)


def test_square_pe_grid_for_command_line_subarray():
    """Tile.cpp: with numColSubArray left at 128 and 64 rows, a 256-cell PE holds
    ceil(256/64) x ceil(256/128) = 8 working sub-arrays but is laid out as a 3 x 3 grid."""
    from chip import estimate
    from chip.synthetic import vgg8_cifar_geometries
    layers = synthetic_layers(vgg8_cifar_geometries(), seed=1, input_sparsity=0.5)
    vgg = Trace(manifest={"network": "VGG8", "config": {}, "layers": []}, layers=layers)
    cfg = preset("neurosim-1.4-default").replace(subarray_rows=64, rows_in_parallel=64)
    for quirks, per_pe in (("square_subarray_sizing", 9), ("", None)):
        r = estimate(vgg, cfg.replace(compat_quirks=quirks))
        if per_pe is None:            # ours: PEs are whole grids of 64 x 128 sub-arrays
            per_pe = r.mapping.layers[0].subarrays_per_pe[0] * \
                r.mapping.layers[0].subarrays_per_pe[1]
        layer = next(c for c in next(c for c in r.tree.children if c.name == "layers").children)
        hw = next(c for c in layer.children if c.name == "tile_hardware")
        arrays = next(c for c in hw.children if c.name == "subarray_array")
        pes = next(c for c in hw.children if c.name == "pe_adder_tree")
        assert arrays.count == per_pe * pes.count, quirks
