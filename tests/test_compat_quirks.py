"""chip/compat.py: NeuroSim V1.4 conventions as named, individually switchable quirks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from chip.compat import ENGINE_QUIRKS, FIGURES, QUIRKS, active_quirks, parse_quirks, quirk_on
from contracts.config import ConfigError, HardwareConfig, parse_override
from contracts.presets import preset
from chip.synthetic import _conv, _linear, lenet5_mnist_geometries, synthetic_layers
from contracts.trace import Trace

SMALL = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 32, 3, 8, after=("relu", "maxpool2x2")),
         _linear("fc", 512, 10)]


def test_registry_entries_are_documented():
    assert len(QUIRKS) >= 20
    for name, q in QUIRKS.items():
        assert name.islower() and " " not in name
        assert q.description and q.ours and q.source and q.where and q.figures
        assert set(q.figures) <= set(FIGURES), (name, q.figures)
        assert len(set(q.figures)) == len(q.figures), name


def test_engine_quirks_are_registry_quirks_passed_to_the_engine():
    """The C++ engine's NeuroSim conventions are registry quirks; TechContext hands the
    active ones to its Technology and WireTechnology (chip/technology.py)."""
    from chip.technology import TechContext, bindings
    fb = bindings()
    assert list(ENGINE_QUIRKS) == fb.EngineQuirks.names()
    assert set(ENGINE_QUIRKS) <= set(QUIRKS)
    ctx = TechContext(HardwareConfig())
    assert ctx.tech.quirks == fb.EngineQuirks() and ctx.wire.quirks == fb.EngineQuirks()
    ctx = TechContext(HardwareConfig(compat="neurosim-1.4"))
    assert ctx.tech.quirks.on() == list(ENGINE_QUIRKS) == ctx.wire.quirks.on()
    for name in ENGINE_QUIRKS:
        ctx = TechContext(HardwareConfig(compat_quirks=f"{name},pe_bus_untimed"))
        assert ctx.tech.quirks.on() == [name] == ctx.wire.quirks.on()


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


# --- every quirk alone moves some figure, and only the figures it declares ---------------
# Summary entry -> the declared figures (chip.compat.FIGURES) any of which may move it: its
# own figure, or one it is computed from (chip/compat.py FIGURES). Entries that are not
# figures are listed in NOT_FIGURES; a new summary entry must be classified here.
_AREA = {"area"}
_TIME = {"latency", "clock", "area"}          # area: wire lengths of the buses
SUMMARY_FIGURES = {
    "area_mm2": _AREA, "array_area_mm2": _AREA, "adc_area_mm2": _AREA,
    "accumulation_area_mm2": _AREA, "interconnect_area_mm2": _AREA, "buffer_area_mm2": _AREA,
    "other_area_mm2": _AREA, "unused_area_mm2": _AREA, "area_breakdown_mm2": _AREA,
    "clock_period_ns": {"clock"},
    "latency_per_image_ns": _TIME, "fps": _TIME,
    "dynamic_energy_per_image_pJ": {"dynamic_energy"},      # + area: see _allowed
    "energy_breakdown_pJ": {"dynamic_energy"},
    "energy_breakdown_pJ.interconnect": {"dynamic_energy", "area"},
    # leakage power is averaged over the image time (busy and idle tiles leak differently)
    "leakage_power_uW": {"leakage"} | _TIME,
    "leakage_energy_per_image_pJ": {"leakage"} | _TIME,
    "ops_per_image": {"tops"}, "tops": {"tops"} | _TIME,
    "tops_per_mm2": {"tops"} | _TIME,
    "tops_per_w": {"tops_per_w", "tops", "dynamic_energy", "leakage"} | _TIME,
    "tops_per_w_without_zeta": {"tops_per_w", "tops", "dynamic_energy", "leakage"} | _TIME,
    "memory_utilization": {"utilization"}, "num_tiles": {"utilization", "area"},
    # SRAM cells are written one row per read cycle
    "write_energy_pJ": {"write"}, "write_latency_ns": {"write", "clock"},
}
NOT_FIGURES = {"format", "network", "config_hash", "preset", "trace", "trace_config_hash",
               "trace_accuracy", "changed_from_trace", "notes", "pipeline", "compat",
               "calibration_factors", "images_traced", "floorplan", "config", "activity_model"}
#: a declared figure is seen when one of its own entries moves
OWN_ENTRY = {"area": tuple(k for k, v in SUMMARY_FIGURES.items() if v == _AREA),
             "clock": ("clock_period_ns",),
             "latency": ("latency_per_image_ns",),
             "dynamic_energy": ("dynamic_energy_per_image_pJ",),
             "leakage": ("leakage_power_uW", "leakage_energy_per_image_pJ"),
             "utilization": ("memory_utilization",), "tops": ("ops_per_image",),
             "tops_per_w": ("tops_per_w",), "write": ("write_energy_pJ", "write_latency_ns")}


def _allowed(key: str, moved: list[str], declared: set[str]) -> bool:
    figures = SUMMARY_FIGURES.get(key, SUMMARY_FIGURES[key.split(".")[0]])
    if key == "dynamic_energy_per_image_pJ" and "area" in declared:
        # a floorplan change moves the bus energy: allowed if that is all that moved
        shares = [k for k in moved if k.startswith("energy_breakdown_pJ.")]
        return bool(figures & declared) or shares == ["energy_breakdown_pJ.interconnect"]
    return bool(figures & declared)


def _small_vgg():
    # stride 2 (padding and vector-count quirks), max pooling, an fc layer of 3 x 384 rows;
    # c2's input (24) is not c1's output (32): IFMs 32/24/12/6 give speed-ups 21/12/3/1,
    # so layers replicate into several tile rows and duplication is not a power of two
    return [_conv("c1", 3, 16, 3, 32), _conv("c2", 16, 32, 3, 24, stride=2),
            _conv("c3", 32, 32, 3, 12, after=("relu", "maxpool2x2")),
            _conv("c4", 32, 128, 3, 6, stride=2), _linear("fc", 1152, 10)]


def _dense_table():
    """DenseNet-style: the NetWork csv gives the 3x3 convs Cout = channels after the
    concatenation (NeuroSim's DenseNet40 table), their traces hold 12 filters."""
    from dataclasses import replace
    return [_conv("stem", 3, 16, 3, 16),
            replace(_conv("d1", 16, 12, 3, 16), table_channels=(16, 28)),
            replace(_conv("d2", 28, 12, 3, 16), table_channels=(28, 40)),
            _conv("t1", 40, 20, 1, 16, after=("relu", "maxpool2x2")), _linear("fc", 1280, 10)]


def _fixtures():
    """name -> (network, config): a few design points on which every quirk acts somewhere."""
    d, ns = HardwareConfig(), preset("neurosim-1.4-default")
    return {
        # RRAM 1T1R 22 nm, sequential, conventional, pipelined, X-Y bus
        "lenet/rram-22nm-seq": ("lenet", d),
        # NeuroSim's default point: SRAM, parallel, novel mapping, pipelined, X-Y bus
        "vgg/neurosim-default": ("vgg", ns),
        # ... with non-square sub-arrays
        "vgg/sram-64x128": ("vgg", ns.replace(subarray_rows=64, rows_in_parallel=64)),
        # RRAM parallel, 4 partial reads, no column mux (the WL switch matrix sets the
        # cycle), hot (the wire temperature factor acts)
        "vgg/rram-22nm-par32-mux1-350K": ("vgg", preset("table7-rram-22nm-par32").replace(
            cols_per_adc=1, temperature_K=350.0)),
        # planar 65 nm, novel mapping, H-tree, layer by layer, asynchronous clock (sub-cycle
        # delays show)
        "vgg/rram-65nm-novel-htree-lbl-async-350K": ("vgg", d.replace(
            technology_node_nm=65, operation_mode="parallel", rows_in_parallel=32,
            mapping="novel", global_interconnect="htree", pipeline=False,
            clock="asynchronous", temperature_K=350.0)),
        # 0T1R crossbar, novel mapping, layer by layer
        "lenet/rram-0t1r-novel-lbl": ("lenet", d.replace(
            access_device="0t1r", operation_mode="parallel", mapping="novel", pipeline=False)),
        # 130 nm, 2:1 column mux (NeuroSim's minimum mux-decoder driver)
        "lenet/rram-130nm-mux2": ("lenet", d.replace(technology_node_nm=130,
                                                    operation_mode="parallel", cols_per_adc=2)),
        # FinFET 5 nm SRAM read sequentially (latch sense amps), clock cap above the cycle
        "lenet/sram-5nm-seq": ("lenet", preset("table7-sram-5nm-par32").replace(
            operation_mode="sequential", clock_freq_max_Hz=1e11)),
        # GAA 1 nm SRAM
        "lenet/sram-1nm": ("lenet", preset("table7-sram-1nm-par32")),
        # NeuroSim's default point on a DenseNet-style table that disagrees with the traces
        "dense/neurosim-default": ("dense", ns),
    }


def _flat(summary) -> dict[str, float]:
    out = {}
    for key, value in summary.items():
        if key in NOT_FIGURES:
            continue
        assert key in SUMMARY_FIGURES, f"summary entry {key!r}: classify it in SUMMARY_FIGURES"
        if isinstance(value, dict):
            out.update({f"{key}.{k}": float(v) for k, v in value.items()})
        else:
            out[key] = float(value)
    return out


class _Runs:
    """Summaries per (fixture, quirk), each estimated once; the base once per fixture."""

    def __init__(self):
        nets = {"lenet": lenet5_mnist_geometries(), "vgg": _small_vgg(), "dense": _dense_table()}
        self.traces = {k: Trace(manifest={"network": k, "config": {}, "layers": []},
                                layers=synthetic_layers(g, seed=3, input_sparsity=0.5))
                       for k, g in nets.items()}
        self.fixtures = _fixtures()
        self.cache: dict[tuple[str, str], dict[str, float]] = {}

    def summary(self, fixture: str, quirk: str = "") -> dict[str, float]:
        if (fixture, quirk) not in self.cache:
            from chip import estimate
            net, cfg = self.fixtures[fixture]
            report = estimate(self.traces[net], cfg.replace(compat_quirks=quirk))
            self.cache[fixture, quirk] = _flat(report.summary)
        return self.cache[fixture, quirk]

    def moved(self, fixture: str, quirk: str) -> list[str]:
        base, new = self.summary(fixture), self.summary(fixture, quirk)
        assert base.keys() == new.keys(), (fixture, quirk)
        return sorted(k for k in base if not math.isclose(base[k], new[k], rel_tol=1e-9,
                                                           abs_tol=1e-300))


@pytest.fixture(scope="module")
def runs():
    return _Runs()


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_moves_exactly_its_declared_figures(name, runs):
    """Switched on alone, the quirk moves some figure on some fixture, only figures it
    declares (or ones computed from them), and each figure it declares somewhere."""
    declared = set(QUIRKS[name].figures)
    seen: set[str] = set()
    undeclared = []
    for fixture in runs.fixtures:
        moved = runs.moved(fixture, name)
        seen.update(moved)
        undeclared += [f"{k} on {fixture}" for k in moved if not _allowed(k, moved, declared)]
    assert seen, f"{name} moves no figure on any fixture"
    assert not undeclared, f"{name} moves undeclared figures: {undeclared}"
    unseen = [f for f in sorted(declared) if not any(
        k.split(".")[0] in OWN_ENTRY[f] for k in seen)]
    assert not unseen, f"{name} declares {unseen} but moves only {sorted(seen)}"


def test_docs_table_is_the_registry():
    """docs/neurosim-differences.md carries the registry table as generated from it."""
    from pathlib import Path
    from chip.compat import markdown_table
    doc = (Path(__file__).resolve().parents[1] / "docs" / "neurosim-differences.md").read_text()
    assert markdown_table() in doc, ("docs/neurosim-differences.md: regenerate the quirk table "
                                     "with `python benchmarks/neurosim_differences.py --registry`")
