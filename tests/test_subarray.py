"""SubArray: hand-checked figures, invariants over geometry and activity, SRAM and eNVM."""
from __future__ import annotations

import numpy as np
import pytest

from chip.activity import SubArrayActivity, layer_activity
from contracts.config import HardwareConfig
from contracts.presets import preset
from chip.technology import TechContext
from chip.components.subarray import SubArray
from contracts.trace import LayerGeometry, LayerTrace


def _sa(cfg=None, **kw):
    cfg = cfg or preset("neurosim-1.4-default")
    if kw:
        cfg = cfg.replace(**kw)
    return SubArray(TechContext(cfg), cfg), cfg


def _activity(active=0.3, subarrays=4, bv=100, rows=128, rpr=128, g=1e-5):
    n_add = -(-rows // rpr)
    return SubArrayActivity(subarrays=subarrays, bit_vectors_per_subarray=bv,
                            reads_per_subarray=bv * n_add, active_row_fraction=active,
                            column_conductance_S=np.array([0.0, g, 4 * g]),
                            column_conductance_count=np.array([10.0, 100.0, 50.0]) * subarrays,
                            adc_code_mean=3.0, used_rows=rows, used_cols=128)


def test_default_point_figures():
    sa, cfg = _sa()
    ctx = sa.ctx
    # array area = rows x cols x cell area (SRAM 10 F x 28 F at 22 nm)
    cell = 10 * 28 * (22e-9) ** 2
    assert sa.array.area_m2 == pytest.approx(128 * 128 * cell, rel=1e-9)
    assert sa.num_adc == 16
    assert sa.components["adc"].comparator_latency_s == pytest.approx(0.938e-9, rel=5e-3)
    # NeuroSim's clock at this point is 1.6974 ns (beta-scaled sensing cycle); ours within 10 %
    assert sa.read_cycle_s == pytest.approx(1.6974e-9, rel=0.10)
    assert sum(sa.area_by_category.values()) + sa.whitespace_m2 == pytest.approx(sa.area_m2,
                                                                                rel=1e-9)
    assert sa.area_m2 >= sa.array.area_m2
    assert sa.output_bits == 5 + 0 + 7 + 8 + 1
    assert sa.leakage_W > 0
    assert ctx.beta == 1.4


def test_cost_tree_categories_and_counts():
    sa, _ = _sa()
    cost = sa.cost(_activity(), 1.7e-9)
    assert cost.count == 4
    cats = {ch.name: ch.category for ch in cost.children}
    assert cats["adc"] == "adc" and cats["array"] == "array"
    assert cats["shift_add_input"] == "accumulation" and cats["mux"] == "other"
    assert cost.total_area_m2 == pytest.approx(4 * sa.area_m2, rel=1e-9)
    # ADC cycles: bit vectors x cols_per_adc x numAdd clock periods
    assert cost.adc_latency_s == pytest.approx(100 * 8 * 1 * 1.7e-9)


def test_doubling_rows_never_lowers_array_area_and_non_square():
    a, _ = _sa(subarray_rows=64, rows_in_parallel=64)
    b, _ = _sa(subarray_rows=128, rows_in_parallel=128)
    assert b.array.area_m2 >= a.array.area_m2 and b.area_m2 >= a.area_m2
    tall, _ = _sa(subarray_rows=256, subarray_cols=64, rows_in_parallel=128, cols_per_adc=8)
    wide, _ = _sa(subarray_rows=64, subarray_cols=256, rows_in_parallel=64, cols_per_adc=8)
    assert tall.rows == 256 and tall.cols == 64 and tall.num_add == 2
    assert wide.num_adc == 32 and wide.num_add == 1
    assert tall.array.height_m > tall.array.width_m


def test_more_rows_in_parallel_lower_latency_per_vector():
    lat = []
    for rpr in (16, 32, 64, 128):
        sa, _ = _sa(rows_in_parallel=rpr)
        lat.append(sa.cost(_activity(rpr=rpr), 1.7e-9).latency_s)
    assert lat == sorted(lat, reverse=True) and lat[0] > lat[-1]


def test_energy_scales_with_activity():
    sa, _ = _sa()
    low = sa.cost(_activity(active=0.1), 1.7e-9).total_dynamic_energy_J
    high = sa.cost(_activity(active=0.6), 1.7e-9).total_dynamic_energy_J
    assert high > low > 0


def _layer(density, seed=0):
    rng = np.random.default_rng(seed)
    g = LayerGeometry("conv", "conv2d", 16, 16, (3, 3), (1, 1), (1, 1), input_hw=(6, 6),
                      output_hw=(6, 6))
    w = rng.integers(-128, 128, size=g.weight_shape).astype(np.int8)
    x = rng.integers(1, 256, size=g.input_shape(1))
    x[rng.random(x.shape) > density] = 0
    return LayerTrace(g, w, 1 / 128, x.astype(np.uint8), 1 / 255)


@pytest.mark.parametrize("name", ["neurosim-1.4-default", "table7-rram-22nm-par32",
                                  "default"])
def test_trace_energy_scales_with_input_ones(name):
    cfg = preset(name)
    sa = SubArray(TechContext(cfg), cfg)
    e = [sa.cost(layer_activity(_layer(d), cfg), sa.read_cycle_s).total_dynamic_energy_J
         for d in (0.1, 0.5, 0.9)]
    assert e[0] < e[1] < e[2]


@pytest.mark.parametrize("changes", [
    dict(memory_cell="rram"), dict(memory_cell="rram", access_device="0t1r"),
    dict(adc_type="sar"), dict(operation_mode="sequential"),
    dict(memory_cell="rram", operation_mode="sequential", cell_bits=2),
    dict(compat="neurosim-1.4"), dict(calibration_factors=False),
    dict(technology_node_nm=7), dict(technology_node_nm=1),
])
def test_variants_build_and_cost(changes):
    sa, cfg = _sa(**changes)
    cost = sa.cost(_activity(), sa.read_cycle_s)
    assert sa.area_m2 > 0 and sa.read_cycle_s > 0
    assert cost.total_dynamic_energy_J > 0 and cost.latency_s > 0


def test_node_shrink_smaller_subarray():
    big, _ = _sa()
    small, _ = _sa(technology_node_nm=5)
    assert small.area_m2 < big.area_m2


def test_larger_subarray_fewer_arrays():
    layer = _layer(0.5)
    cfg = preset("neurosim-1.4-default")
    small = layer_activity(layer, cfg.replace(subarray_rows=64, subarray_cols=64,
                                              rows_in_parallel=64))
    large = layer_activity(layer, cfg)
    assert large.subarrays < small.subarrays


def test_bad_geometry_raises():
    cfg = preset("neurosim-1.4-default")
    ctx = TechContext(cfg)
    for rows, cols in ((0, 128), (128, -4), (2.5, 128)):
        with pytest.raises(ValueError):
            SubArray(ctx, cfg, rows=rows, cols=cols)


def test_neurosim_floorplan_default_point():
    """SubArray.cpp's floorplan at NeuroSim's default point. NeuroSim's VGG-8 output books
    15.3844 mm² ADC and 3.7723 mm² outside its breakdown rows over 9472 sub-arrays
    (21.0312 mm² of arrays / 2220.36 um² each): 1624.2 and 398.2 um² per sub-array."""
    sa, _ = _sa(preset("neurosim-1.4-default").replace(compat="neurosim-1.4"))
    um2 = 1e12
    assert sa.area_by_category["adc"] * um2 == pytest.approx(15.3844e6 / 9472, rel=1e-3)
    assert sa.whitespace_m2 * um2 == pytest.approx(3.7723e6 / 9472, rel=2e-3)
    assert sa.area_m2 * um2 == pytest.approx(6290.85, rel=1e-3)
    comps = sa.components
    # the mux strip is as tall as the mux decoder in the corner beside it
    assert comps["mux"].height_m == pytest.approx(comps["mux_decoder"].height_m)
    assert sa.width_m == pytest.approx(sa.array.width_m + max(comps["wl_driver"].width_m,
                                                              comps["mux_decoder"].width_m))
    # strips below the array at its width, whole DFF rows in the shift-adders
    assert comps["write_driver"].category == "other" and comps["precharger"].category == "adc"
    below = ("precharger", "write_driver", "mux", "adc", "shift_add_weight", "shift_add_input")
    assert sa.height_m == pytest.approx(sa.array.height_m + sum(comps[n].height_m
                                                               for n in below))


def test_envm_floorplan_level_shifters():
    sa, _ = _sa(memory_cell="rram")
    comps = sa.components
    # write level shifters on WL and BL beside the array, on SL below it (SubArray.cpp)
    assert {"level_shifter", "bl_level_shifter", "sl_level_shifter"} <= set(comps)
    assert comps["sl_level_shifter"].width_m == pytest.approx(sa.array.width_m)
    assert comps["bl_level_shifter"].height_m == pytest.approx(sa.array.height_m)
    assert sa.whitespace_m2 > 0


def test_envm_bit_line_charged_once_and_sl_driver_off_read_path():
    """The flash ADC's comparators charge the bit line they sense (MultilevelSenseAmp.cpp):
    the array adds no second bit-line charge; a SAR read keeps it. The BL/SL switch matrix
    drives writes only: it is on no read path (SubArray.cpp CalculateLatency)."""
    cfg = preset("table7-rram-22nm-par32")
    flash, _ = _sa(cfg)
    sar, _ = _sa(cfg, adc_type="sar")
    act = _activity(rpr=32)
    e = lambda sa: {c.name: c.dynamic_energy_J for c in sa.cost(act, 2e-9).children}  # noqa
    rows = 0.3 * 128 * 100 * 8 * 4                      # row activations x M, 4 subarrays
    wl_only = flash.array.row_cap_F * flash.array.wl_voltage_V ** 2 * rows
    assert e(flash)["array"] == pytest.approx(wl_only, rel=1e-9)
    assert e(sar)["array"] > e(flash)["array"]
    assert flash.components["bl_driver"].latency_s() > 0
    t_mux = flash.components["mux"].latency_s() + flash.components["mux_decoder"].latency_s()
    t_row = flash.components["wl_driver"].latency_s() + \
        flash.components["level_shifter"].latency_s()
    t_adc = flash.components["adc"].latency_s(num_conversions=1)
    assert flash.read_cycle_s == pytest.approx(flash.ctx.beta * (max(t_row, t_mux) + t_adc))


def test_subarray_is_a_component():
    from chip.components.base import Component
    sa, _ = _sa()
    assert isinstance(sa, Component)
    assert (sa.name, sa.category) == ("subarray", "other")
    act = _activity()
    cost = sa.cost(act, 1.7e-9)
    assert (cost.name, cost.category) == (sa.name, sa.category)
    assert sa.latency_s(act, 1.7e-9) == cost.latency_s
    assert sa.dynamic_energy_J(act, clock_period_s=1.7e-9) == cost.total_dynamic_energy_J
    # a misspelt argument is an error, not a default
    with pytest.raises(TypeError):
        sa.cost(act, clock_period=1.7e-9)
    with pytest.raises(TypeError):
        sa.latency_s(activity=act, clock=1.7e-9)
