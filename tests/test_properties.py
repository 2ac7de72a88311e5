"""Property-based tests over the hardware config space (issue 17).

Hypothesis draws random *valid* configs across the whole space (nodes 130 -> 1 nm, SRAM /
RRAM / FeFET, 1T1R / 0T1R, sub-array sizes, sequential / parallel reads, flash / SAR ADCs
and their bits, mux ratios, buffers, interconnects, clocking, compat) and checks that every
figure is finite and positive and that the physical monotonicities hold; each property says
why it must. A failing config is shrunk to a minimal one.

Each example is cheap: chip estimates run on tiny seeded synthetic traces (chip.synthetic),
component properties on `chip.components` directly.

Profiles (environment variable HYPOTHESIS_PROFILE):
- ``ci`` (default): few examples per property, derandomized (the same examples every run)
  and no example database, so CI is deterministic and adds ~10-20 s;
- ``long``: many more random examples (new ones each run), for a nightly or manual run:
      HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py   # ~10-20 min
"""
from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from contracts.config import PLANAR_NODES_NM, SUPPORTED_NODES_NM, HardwareConfig
from chip.estimator import SUMMARY_KEYS, estimate
from chip.synthetic import _conv, _linear, synthetic_layers
from chip.technology import TechContext
from chip.components.subarray import SubArray
from contracts.trace import Trace

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=10, derandomize=True, database=None,
                          deadline=None, print_blob=True, suppress_health_check=_SLOW)
settings.register_profile("long", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(ci: int) -> settings:
    """``ci`` examples in the CI profile, 30x as many in the long one."""
    return settings(max_examples=ci if PROFILE == "ci" else 30 * ci)


# ------------------------------------------------------------------------------ strategies
SIZES = (32, 64, 96, 128, 200, 256, 512)          # rows / cols per sub-array (not only 2^k)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def configs(draw, **fixed) -> HardwareConfig:
    """A random valid HardwareConfig; ``fixed`` pins fields (strategies or values)."""
    def pick(name, strategy):
        value = fixed.get(name, strategy)
        return draw(value) if isinstance(value, st.SearchStrategy) else value

    cell = pick("memory_cell", st.sampled_from(("rram", "sram")))
    nodes = SUPPORTED_NODES_NM if cell == "sram" else PLANAR_NODES_NM
    node = pick("technology_node_nm", st.sampled_from(nodes))
    rows = pick("subarray_rows", st.sampled_from(SIZES))
    cols = pick("subarray_cols", st.sampled_from(SIZES))
    weight_bits = pick("weight_bits", st.integers(2, 8))
    cell_bits = 1 if cell == "sram" else pick("cell_bits", st.integers(1, min(4, weight_bits)))
    r_on = pick("r_on_ohm", st.sampled_from((20e3, 50e3, 100e3, 300e3, 1e6)))
    return HardwareConfig(
        memory_cell=cell,
        access_device="1t1r" if cell == "sram" else pick("access_device",
                                                         st.sampled_from(("1t1r", "0t1r"))),
        technology_node_nm=node,
        roadmap=pick("roadmap", st.sampled_from(("lstp", "hp") if node in PLANAR_NODES_NM
                                                else ("lstp",))),
        temperature_K=pick("temperature_K", st.sampled_from((300.0, 350.0, 400.0))
                           if node in PLANAR_NODES_NM else 300.0),
        subarray_rows=rows, subarray_cols=cols,
        operation_mode=pick("operation_mode", st.sampled_from(("sequential", "parallel"))),
        rows_in_parallel=pick("rows_in_parallel", st.sampled_from(divisors(rows))),
        cell_bits=cell_bits, weight_bits=weight_bits,
        activation_bits=pick("activation_bits", st.integers(1, 8)),
        weight_encoding=pick("weight_encoding", st.sampled_from(("offset", "differential"))),
        input_encoding="bit_serial",       # step 2 refuses 'dac' (contracts.effects)
        r_on_ohm=r_on, r_off_ohm=r_on * pick("on_off_ratio", st.sampled_from((10.0, 17.0, 100.0))),
        adc_type=pick("adc_type", st.sampled_from(("flash", "sar"))),
        adc_bits=pick("adc_bits", st.integers(1, 8)),
        cols_per_adc=pick("cols_per_adc", st.sampled_from(divisors(cols))),
        mapping=pick("mapping", st.sampled_from(("conventional", "novel"))),
        pipeline=pick("pipeline", st.booleans()),
        speedup_degree=pick("speedup_degree", st.sampled_from((1, 2, 8, 16))),
        global_interconnect=pick("global_interconnect", st.sampled_from(("htree", "xybus"))),
        global_buffer=pick("global_buffer", st.sampled_from(("register", "sram"))),
        tile_buffer=pick("tile_buffer", st.sampled_from(("register", "sram"))),
        pe_buffer=pick("pe_buffer", st.sampled_from(("register", "sram"))),
        clock=pick("clock", st.sampled_from(("synchronous", "asynchronous"))),
        clock_freq_max_Hz=pick("clock_freq_max_Hz", st.sampled_from((2e8, 1e9, 5e9))),
        activation_function=pick("activation_function", st.sampled_from(("relu", "sigmoid"))),
        input_toggle_rate=pick("input_toggle_rate", st.sampled_from((0.1, 0.18, 0.5))),
        output_toggle_rate=pick("output_toggle_rate", st.sampled_from((0.25, 0.5, 1.0))),
        calibration_factors=pick("calibration_factors", st.booleans()),
        compat=pick("compat", st.sampled_from(("none", "neurosim-1.4"))),
    )


# tiny networks: a conv pair with pooling (rows 27 and 144, the second spans two 128-row
# sub-arrays), and a two-layer perceptron with a 300-row layer
NETWORKS = ("cnn", "mlp")


@lru_cache(maxsize=None)
def tiny_trace(network: str, weight_bits: int, input_bits: int) -> Trace:
    b = dict(wbits=weight_bits, xbits=input_bits)
    if network == "cnn":
        geoms = [_conv("c1", 3, 16, 3, 6, **b),
                 _conv("c2", 16, 24, 3, 6, after=("relu", "maxpool2x2"), **b),
                 _linear("fc", 24 * 3 * 3, 10, **b)]
    else:
        geoms = [_linear("fc1", 300, 40, after=("relu",), **b), _linear("fc2", 40, 10, **b)]
    layers = synthetic_layers(geoms, input_sparsity=0.5, seed=7)
    return Trace(manifest={"network": network.upper(), "config": {}, "layers": []},
                 layers=layers)


def zero_some_inputs(trace: Trace, seed: int = 11) -> Trace:
    """The trace with about half of its input codes set to 0 (the others kept)."""
    rng = np.random.default_rng(seed)
    layers = []
    for layer in trace.layers:
        x = layer.input_codes.copy()
        x[rng.random(x.shape) < 0.5] = 0
        layers.append(type(layer)(layer.geometry, layer.weight_codes, layer.weight_scale, x,
                                  layer.input_scale))
    return Trace(manifest=trace.manifest, layers=layers)


def summary(config: HardwareConfig, network: str) -> dict:
    trace = tiny_trace(network, config.weight_bits, config.activation_bits)
    return estimate(trace, config).summary


def subarray(config: HardwareConfig) -> SubArray:
    return SubArray(TechContext(config), config)


# ---------------------------------------------------------------- every figure is sane
@examples(40)
@given(configs(), st.sampled_from(NETWORKS))
def test_every_figure_finite_and_positive(config, network):
    """Every summary figure of any valid design is a finite positive number, the area rows
    add up to the chip area, and the per-image figures are consistent (a figure that is 0,
    negative, NaN or inf is a formula evaluated outside its domain)."""
    s = summary(config, network)
    bad = {k: s[k] for k in SUMMARY_KEYS if not (math.isfinite(s[k]) and s[k] > 0)}
    assert not bad, bad
    parts = s["area_breakdown_mm2"]
    assert all(math.isfinite(v) and v >= 0 for v in parts.values()), parts
    assert sum(parts.values()) == pytest.approx(s["area_mm2"], rel=1e-9)
    energy = s["energy_breakdown_pJ"]
    assert all(math.isfinite(v) and v >= 0 for v in energy.values()), energy
    assert sum(energy.values()) == pytest.approx(s["dynamic_energy_per_image_pJ"], rel=1e-9)
    # a whole image takes at least one clock cycle; the clock respects its cap
    assert s["latency_per_image_ns"] >= s["clock_period_ns"] * (1 - 1e-12)
    if config.clock == "synchronous":
        assert s["clock_period_ns"] >= 1e9 / config.clock_freq_max_Hz * (1 - 1e-12)


@examples(40)
@given(configs())
def test_subarray_figures_finite_and_positive(config):
    """A sub-array of any valid geometry has a positive finite area, leakage and read cycle,
    and its floorplan holds every component (bounding box >= the sum of their areas)."""
    sa = subarray(config)
    for name in ("area_m2", "leakage_W", "read_cycle_s", "width_m", "height_m"):
        value = getattr(sa, name)
        assert math.isfinite(value) and value > 0, (name, value)
    for name, comp in sa.components.items():
        assert math.isfinite(comp.area_m2) and comp.area_m2 >= 0, name
        assert math.isfinite(comp.leakage_W) and comp.leakage_W >= 0, name
    assert sa.area_m2 >= sum(c.area_m2 for c in sa.components.values()) * (1 - 1e-9)


# ------------------------------------------------------------- sub-array monotonicities
@examples(25)
@given(configs(), st.data())
def test_more_columns_per_adc_never_faster_nor_more_adcs(config, data):
    """More columns per ADC: the ADC converts the columns one after another and the mux
    that selects among more of them is no faster (a wider decoder, the same transmission
    gates on the column), so the time to read all outputs of a sub-array (cols_per_adc x
    partial reads x read cycle) never shortens; and fewer ADCs serve the same columns."""
    larger = [d for d in divisors(config.subarray_cols) if d > config.cols_per_adc]
    assume(larger)
    more = config.replace(cols_per_adc=data.draw(st.sampled_from(larger)))
    a, b = subarray(config), subarray(more)
    t_a = a.cols_per_adc * a.num_add * a.read_cycle_s
    t_b = b.cols_per_adc * b.num_add * b.read_cycle_s
    assert t_b >= t_a * (1 - 1e-9), (t_a, t_b)
    assert b.num_adc <= a.num_adc


@examples(25)
@given(configs(operation_mode="parallel", adc_bits=st.integers(1, 7)))
def test_more_adc_bits_never_cost_less_adc_area_or_energy(config):
    """One more ADC bit resolves twice the levels: a flash ADC needs 2^b - 1 comparators
    (and reference columns), a SAR one more conversion step and a twice larger capacitor
    DAC, so ADC area and conversion energy never fall."""
    more = config.replace(adc_bits=config.adc_bits + 1)
    a, b = subarray(config), subarray(more)
    assert b.components["adc"].area_m2 >= a.components["adc"].area_m2 * (1 - 1e-9)
    network = "mlp"
    ea = summary(config, network)["energy_breakdown_pJ"]["adc"]
    eb = summary(more, network)["energy_breakdown_pJ"]["adc"]
    assert eb >= ea * (1 - 1e-9), (ea, eb)


def circuits_m2(sa: SubArray) -> float:
    """Summed area of a sub-array's cells and circuits (its bounding box less the corner
    that NeuroSim's floorplan leaves empty)."""
    return sum(c.area_m2 for c in sa.components.values())


@examples(25)
@given(configs(), st.data())
def test_more_rows_or_columns_never_shrink_the_subarray(config, data):
    """A sub-array with more rows (or columns) holds every cell of the smaller one plus
    more, and at least as many drivers, decoder outputs, mux inputs, ADCs and adders: its
    cell array grows and the summed area of its cells and circuits never shrinks.

    Its bounding box may shrink, and is not checked: NeuroSim's pitch-matched floorplan,
    kept in both modes (docs/validation.md, "Unused layout area"), puts the drivers beside
    the array at its height and the strips below it at its width, and the corner between
    them stays empty; a wider array makes the strips shorter (found here: 0T1R, 130 nm,
    32x64 -> 32x96, box -13 %), and a taller one can fit the decoder's NOR gates in fewer
    columns (1T1R, 130 nm, 96 -> 128 rows, box -0.4 %)."""
    axis = data.draw(st.sampled_from(("subarray_rows", "subarray_cols")))
    bigger = [n for n in SIZES if n > getattr(config, axis)
              and (axis == "subarray_rows" or n % config.cols_per_adc == 0)]
    assume(bigger)
    more = config.replace(**{axis: data.draw(st.sampled_from(bigger))})
    a, b = subarray(config), subarray(more)
    assert b.array.area_m2 > a.array.area_m2
    assert circuits_m2(b) >= circuits_m2(a) * (1 - 1e-9), (circuits_m2(a), circuits_m2(b))


# -------------------------------------------------------------------- chip monotonicities
def cell_m2(config: HardwareConfig) -> float:
    ctx = TechContext(config)
    return ctx.cell_height_m * ctx.cell_width_m


def _larger_nodes(config: HardwareConfig) -> list[int]:
    nodes = SUPPORTED_NODES_NM if config.memory_cell == "sram" else PLANAR_NODES_NM
    ok = [n for n in nodes if n > config.technology_node_nm]
    if config.roadmap == "hp":
        ok = [n for n in ok if n in PLANAR_NODES_NM]
    return ok


@examples(25)
@given(configs(), st.sampled_from(NETWORKS), st.data())
def test_larger_node_never_smaller_nor_more_efficient(config, network, data):
    """The same design at a larger node: every transistor, cell and wire pitch is larger, so
    the chip is never smaller; gate and wire capacitances are larger and the supply is not
    lower, so the dynamic energy per image (same operations) is never lower. Checked where
    the node tables give the larger node a cell at least as large (see below)."""
    larger = _larger_nodes(config)
    assume(larger)
    big = config.replace(technology_node_nm=data.draw(st.sampled_from(larger)))
    # the premise: the larger node's cell is not smaller. NeuroSim's per-node SRAM cells
    # (tables §2.2) break it once: 2 nm, 42 x 120 F = 0.0202 um2, is larger than 3 nm,
    # 30 x 68.3 F = 0.0184 um2, so a 3 nm SRAM chip is smaller than a 2 nm one
    assume(cell_m2(big) >= cell_m2(config))
    a, b = summary(config, network), summary(big, network)
    assert b["area_mm2"] >= a["area_mm2"] * (1 - 1e-9), (a["area_mm2"], b["area_mm2"])
    assert b["dynamic_energy_per_image_pJ"] >= a["dynamic_energy_per_image_pJ"] * (1 - 1e-9), \
        (a["dynamic_energy_per_image_pJ"], b["dynamic_energy_per_image_pJ"])


@examples(20)
@given(configs(pipeline=True), st.sampled_from(NETWORKS))
def test_pipelined_latency_never_exceeds_layer_by_layer(config, network):
    """Pipelined, a new image enters every slowest-stage time and the layers work on
    different images at once (with extra weight copies on fast layers), so the time per
    image is never longer than running the layers one after another."""
    a = summary(config, network)
    b = summary(config.replace(pipeline=False), network)
    assert a["latency_per_image_ns"] <= b["latency_per_image_ns"] * (1 + 1e-9), \
        (a["latency_per_image_ns"], b["latency_per_image_ns"])


@examples(20)
@given(configs(clock="synchronous"), st.sampled_from(NETWORKS), st.sampled_from((2, 3)))
def test_stretched_clock_never_faster(config, network, factor):
    """Capping the clock so that every cycle is ``factor`` times longer can only stretch the
    chip: a block that needed n cycles needs at least n / factor of the longer ones, which
    take at least as long. (A cap that is not a whole multiple of the cycle can make a
    synchronous design faster: a 4.3 ns buffer access takes two 4.19 ns cycles, 8.4 ns, but
    one 5 ns cycle; that is how synchronous logic behaves, not a defect.)"""
    a = summary(config, network)
    slower = config.replace(clock_freq_max_Hz=1e9 / (factor * a["clock_period_ns"]))
    b = summary(slower, network)
    assert b["clock_period_ns"] == pytest.approx(factor * a["clock_period_ns"], rel=1e-9)
    assert b["latency_per_image_ns"] >= a["latency_per_image_ns"] * (1 - 1e-9), \
        (a["latency_per_image_ns"], b["latency_per_image_ns"])


@examples(20)
@given(configs(clock="synchronous"), st.sampled_from(NETWORKS))
@example(HardwareConfig(memory_cell="sram", technology_node_nm=5, subarray_rows=32,
                        rows_in_parallel=1, subarray_cols=32, weight_bits=2, activation_bits=2,
                        weight_encoding="differential", adc_bits=1, cols_per_adc=1,
                        pipeline=False, speedup_degree=1, global_interconnect="htree",
                        clock_freq_max_Hz=5e9, calibration_factors=False), "cnn")
def test_asynchronous_never_slower_than_synchronous(config, network):
    """Asynchronous, every block runs at its own speed; synchronous, every block's work is
    rounded up to whole cycles of the slowest sensing cycle: the asynchronous chip is never
    slower. (Found here: the sub-array rounded its partial-sum adds and shift-adds up to
    whole read cycles also when asynchronous; at this example 948 ns against 907 ns
    synchronous, now 691 ns.)"""
    a = summary(config.replace(clock="asynchronous"), network)
    b = summary(config, network)
    assert a["latency_per_image_ns"] <= b["latency_per_image_ns"] * (1 + 1e-9), \
        (a["latency_per_image_ns"], b["latency_per_image_ns"])


def subarray_read_ns(config: HardwareConfig, network: str) -> float:
    """Sub-array (ADC-limited read) time of all layers per image, from the breakdown."""
    r = estimate(tiny_trace(network, config.weight_bits, config.activation_bits), config)
    rows = r.breakdown.query("metric == 'latency'")
    return float(rows[rows["component"].str.endswith("subarrays/adc")]["value"].sum()) * 1e9


@examples(20)
@given(configs(activation_bits=st.integers(1, 7)),
       st.sampled_from(NETWORKS))
def test_more_input_bits_never_shorten_the_reads(config, network):
    """Bit-serial inputs take one read of every sub-array per input bit: one more
    activation bit never shortens the sub-arrays' read time per image. (The chip's latency
    can fall: buffers are built of whole 32x32-bit cores, one per 1024 bits held, and read
    in parallel, so more bits can mean more cores and more bandwidth; found here: tile input
    buffer 3983 -> 2987 ns going from 2 to 3 bits.)"""
    a = subarray_read_ns(config, network)
    b = subarray_read_ns(config.replace(activation_bits=config.activation_bits + 1), network)
    assert b >= a * (1 - 1e-9), (a, b)


@examples(20)
@given(configs(temperature_K=300.0), st.sampled_from(NETWORKS))
def test_hotter_chip_never_leaks_less(config, network):
    """Sub-threshold leakage grows with temperature (thermal voltage kT/q, lower V_th):
    the chip's leakage power never falls when it runs hotter."""
    assume(config.technology_node_nm in PLANAR_NODES_NM)      # <= 14 nm: 300 K tables only
    a = summary(config, network)
    b = summary(config.replace(temperature_K=400.0), network)
    assert b["leakage_power_uW"] >= a["leakage_power_uW"] * (1 - 1e-9)


@examples(20)
@given(configs(input_toggle_rate=0.1, output_toggle_rate=0.25), st.sampled_from(NETWORKS))
def test_more_bus_toggles_never_cost_less_energy(config, network):
    """Bus energy is charge moved per toggling bit: more toggles never cost less
    interconnect energy, and nothing else changes."""
    a = summary(config, network)
    b = summary(config.replace(input_toggle_rate=0.5, output_toggle_rate=1.0), network)
    ia, ib = a["energy_breakdown_pJ"]["interconnect"], b["energy_breakdown_pJ"]["interconnect"]
    assert ib >= ia * (1 - 1e-9), (ia, ib)
    assert b["area_mm2"] == pytest.approx(a["area_mm2"], rel=1e-12)
    assert b["latency_per_image_ns"] == pytest.approx(a["latency_per_image_ns"], rel=1e-12)


@examples(20)
@given(configs(compat="none"), st.sampled_from(NETWORKS))
def test_fewer_active_inputs_never_cost_more_energy(config, network):
    """Zeroing some inputs of the trace (a subset of the bits that drive rows) never makes
    an array, driver, ADC or adder switch more: dynamic energy never rises. (Our model;
    NeuroSim converts all-zero reads too, see the next test.)"""
    trace = tiny_trace(network, config.weight_bits, config.activation_bits)
    sparse = zero_some_inputs(trace)
    dense_e = estimate(trace, config).summary["dynamic_energy_per_image_pJ"]
    sparse_e = estimate(sparse, config).summary["dynamic_energy_per_image_pJ"]
    assert sparse_e <= dense_e * (1 + 1e-9), (sparse_e, dense_e)


def test_neurosim_converts_all_zero_reads():
    """The exception to the previous property, found by it: NeuroSim converts every
    all-zero read as a column at R = inf (quirk activity_counting, on in compat mode), and
    its sense amplifiers spend more on such a read than on a conducting one, so zeroing
    inputs can raise the ADC energy there (this point: +24.6 pJ with the quirk); our model
    skips those reads, whose result is known."""
    config = HardwareConfig(memory_cell="rram", access_device="0t1r", technology_node_nm=130,
                            subarray_rows=32, subarray_cols=32, rows_in_parallel=1,
                            weight_bits=2, activation_bits=1, r_on_ohm=20e3, r_off_ohm=200e3,
                            adc_bits=1, cols_per_adc=1, pipeline=False)
    trace = tiny_trace("cnn", 2, 1)
    sparse = zero_some_inputs(trace)

    def adc_pJ(t, quirks):
        cfg = config.replace(compat_quirks=quirks)
        return estimate(t, cfg).summary["energy_breakdown_pJ"]["adc"]
    assert adc_pJ(sparse, "") < adc_pJ(trace, "")
    assert adc_pJ(sparse, "activity_counting") > adc_pJ(trace, "activity_counting")


def test_config_refuses_other_temperatures_at_finfet_nodes():
    """Found by these properties: a config at <= 14 nm with temperature_K != 300 passed
    validation and failed only inside the estimate (the FinFET/GAA tables are 300 K only)."""
    from contracts.config import ConfigError
    with pytest.raises(ConfigError, match="temperature_K=350.0 is not available at "
                                          "technology_node_nm=14"):
        HardwareConfig(memory_cell="sram", technology_node_nm=14, temperature_K=350.0)
    assert HardwareConfig(technology_node_nm=22, temperature_K=350.0).temperature_K == 350.0


def test_larger_max_pool_window_never_costs_less():
    """The max-pool unit is sized for the largest window the layers pool over: a 3x3 window
    (stride 2, ResNet's stem) has a 9-input comparator tree, so it costs more area, leakage
    and energy per output than a 2x2 one and is never faster, while both emit the same number
    of outputs (stride 2x2)."""
    from contracts.trace import pool_shape
    assert pool_shape("maxpool3x3s2") == ("max", (3, 3), (2, 2))
    assert pool_shape("maxpool3x3s2x1") == ("max", (3, 3), (2, 1))
    assert pool_shape("maxpool2x2") == ("max", (2, 2), (2, 2))
    assert pool_shape("relu") is None

    def pool_cost(step: str) -> dict[tuple[str, str], float]:
        geoms = [_conv("c1", 3, 16, 3, 8, after=("relu", step)), _linear("fc", 16 * 16, 10)]
        trace = Trace(manifest={"network": "POOL", "config": {}, "layers": []},
                      layers=synthetic_layers(geoms, input_sparsity=0.5, seed=7))
        frame = estimate(trace, HardwareConfig()).breakdown
        pool = frame[frame.component == "max_pool"]
        return {(row.layer, row.metric): row.value for row in pool.itertuples()}
    small, large = pool_cost("maxpool2x2"), pool_cost("maxpool3x3s2x2")
    assert small.keys() == large.keys() and small
    assert all(large[key] >= small[key] for key in small), (small, large)
    assert all(large[key] > small[key] for key in small if key[1] != "latency"), (small, large)
