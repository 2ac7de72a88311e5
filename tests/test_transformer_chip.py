"""Transformers in step 2 (issue 13): token linears over T vectors and attention's dynamic
products under both policies, on the one-block toy encoder of chip.synthetic (width 8, two
heads of 4, 4 tokens; two traced images). Figures are derived by hand from the codes."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from chip.components.nonlinear import LayerNorm
from chip.dynamic import DigitalProducts
from chip.estimator import estimate
from chip.parts import default_parts
from chip.report import format_summary
from chip.synthetic import _token_linear, geometries, synthetic_layers
from contracts.config import ConfigError, HardwareConfig
from contracts.effects import ineffective
from contracts.trace import LayerTrace, Trace, TraceError, write_trace

DYNAMIC = ("block0.qk", "block0.av")


def _trace(layers, name="toy") -> Trace:
    return Trace(manifest={"network": name, "config": {}}, layers=layers)


@pytest.fixture(scope="module")
def toy():
    return _trace(synthetic_layers(geometries("toy-encoder"), images=2, seed=3))


def _estimate(trace, **fields):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(trace, HardwareConfig(**fields))


@pytest.fixture(scope="module")
def reports(toy):
    return {policy: _estimate(toy, dynamic_matmul_policy=policy)
            for policy in ("digital", "crossbar")}


def _layer(report, name):
    return next(r for r in report.result.layers if r.mapping.name == name)


def _node(layer_result, name):
    return next(n for _, n in layer_result.tree.walk() if n.name == name)


def _slices(code: int, bits: int = 8, cell_bits: int = 1) -> list[int]:
    """Cell levels of one weight code by hand: offset code + 2^(B-1), MSB slice first."""
    stored = code + (1 << (bits - 1))
    n = -(-bits // cell_bits)
    return [(stored >> (cell_bits * (n - 1 - j))) & ((1 << cell_bits) - 1) for j in range(n)]


def _hand_rewrites(layer: LayerTrace) -> tuple[list[int], list[int]]:
    """Per image: cells whose level changes (image 0 against an erased, all-zero array) and
    rows (head h, row k, both heads stacked in one sub-array) holding a changed cell."""
    previous = None
    cells, rows = [], []
    for w in layer.weight_codes:                       # (H, K, N) per image
        levels = {(h, k, n): _slices(int(w[h, k, n])) for h in range(w.shape[0])
                  for k in range(w.shape[1]) for n in range(w.shape[2])}
        changed_cells, changed_rows = 0, set()
        for key, lv in levels.items():
            old = previous[key] if previous else [0] * len(lv)
            diff = sum(a != b for a, b in zip(lv, old))
            changed_cells += diff
            if diff:
                changed_rows.add(key[:2])
        cells.append(changed_cells)
        rows.append(len(changed_rows))
        previous = levels
    return cells, rows


def test_crossbar_write_energy_is_cells_rewritten_times_energy_per_cell(toy, reports):
    report = reports["crossbar"]
    p = default_parts(report.config)
    total = 0.0
    for name in DYNAMIC:
        layer = next(x for x in toy.layers if x.geometry.name == name)
        cells, rows = _hand_rewrites(layer)
        m = _layer(report, name).mapping
        assert m.used_subarrays == m.weight_subarrays       # one copy: each would be rewritten
        node = _node(_layer(report, name), "dynamic_write")
        # two traced images: the one pair of consecutive inputs (not image 0 vs erased)
        expected = cells[1] * p.write_energy_per_cell_J()
        assert node.category == "write"
        assert node.dynamic_energy_J == pytest.approx(expected, rel=1e-12)
        # 2 heads x 4 rows share one 128-row sub-array: rows written one after another
        assert node.latency_s == pytest.approx(rows[1] * p.write_time_per_row_s())
        total += expected
    s = report.summary
    assert s["dynamic_writes_from_erased"] is False
    assert s["dynamic_write_energy_pJ"] == pytest.approx(total * 1e12)
    assert s["energy_breakdown_pJ"]["write"] == pytest.approx(total * 1e12)
    assert s["dynamic_cell_writes_per_inference"] == pytest.approx(
        total / p.write_energy_per_cell_J())


def test_one_traced_image_counts_its_writes_against_an_erased_array(toy):
    """With one image there is no pair of inputs: each operand is counted against an erased
    array, an upper bound the summary and the report flag."""
    one = _trace([LayerTrace(x.geometry, x.weight_codes[:1], x.weight_scale,
                             x.input_codes[:1], x.input_scale) for x in toy.layers])
    report = _estimate(one, dynamic_matmul_policy="crossbar")
    p = default_parts(report.config)
    for name in DYNAMIC:
        cells, _ = _hand_rewrites(next(x for x in one.layers if x.geometry.name == name))
        node = _node(_layer(report, name), "dynamic_write")
        assert node.dynamic_energy_J == pytest.approx(cells[0] * p.write_energy_per_cell_J())
    assert report.summary["dynamic_writes_from_erased"] is True
    assert "against an erased array, an upper bound" in format_summary(report)


def test_digital_energy_is_macs_times_energy_per_mac_and_latency_whole_steps(reports):
    report = reports["digital"]
    g = [x for x in geometries("toy-encoder") if x.dynamic]
    digital = DigitalProducts(default_parts(report.config), report.config, g)
    period = report.result.clock_period_s
    assert digital.mac.stage_latency_s <= period          # one MAC per lane per cycle
    for name in DYNAMIC:
        macs = 4 * 4 * 4 * 2                               # M K N H of the toy
        steps = math.ceil(macs / 64)
        r = _layer(report, name)
        mac, buf = _node(r, "digital_mac"), _node(r, "kv_buffer")
        assert mac.dynamic_energy_J == pytest.approx(macs * digital.mac.mac_energy_J)
        assert mac.latency_s == pytest.approx(steps * period)
        # the operand (2 x 4 x 4 codes of 8 bits = 256 bits) written in one line (256 <
        # 64 lanes x 8 bits), one line read per step
        b = digital.buffer
        assert buf.dynamic_energy_J == pytest.approx(steps * b.read_energy_J + b.write_energy_J)
    blocks = {c.name: c for c in report.result.chip_blocks.children}
    assert blocks["digital_mac"].area_m2 == pytest.approx(digital.mac.area_m2)
    assert report.summary["digital_unit_area_mm2"] == pytest.approx(
        (digital.mac.area_m2 + digital.buffer.area_m2) * 1e6)


def test_more_mac_lanes_never_slow_the_products_nor_shrink_the_chip(toy):
    previous = None
    for lanes in (1, 2, 4, 8, 16, 32, 64, 128):
        r = _estimate(toy, digital_mac_units=lanes)
        latency = sum(_layer(r, n).latency_s for n in DYNAMIC)
        if previous:
            assert latency <= previous[0] + 1e-18
            assert r.summary["area_mm2"] >= previous[1]
        previous = latency, r.summary["area_mm2"]


def test_switching_policy_moves_the_figures_as_expected(reports):
    digital, crossbar = reports["digital"].summary, reports["crossbar"].summary
    # crossbar: extra sub-arrays (array area up), no MAC unit, writes for every input, and
    # the read path (ADC, shift-add, adder trees) for products a MAC unit does exactly
    assert crossbar["array_area_mm2"] > digital["array_area_mm2"]
    assert "write" not in digital["energy_breakdown_pJ"]
    assert crossbar["dynamic_write_energy_pJ"] > 0
    assert crossbar["dynamic_matmul_energy_pJ"] > digital["dynamic_matmul_energy_pJ"]
    assert crossbar["dynamic_energy_per_image_pJ"] > digital["dynamic_energy_per_image_pJ"]
    assert crossbar["num_tiles"] > digital["num_tiles"]
    # the static layers are the same on both chips: the same operations per image
    assert crossbar["ops_per_image"] == digital["ops_per_image"]


def test_a_token_linear_costs_t_times_the_reads_of_one_token():
    rng = np.random.default_rng(1)
    one, four = _token_linear("fc", 64, 32, 1), _token_linear("fc", 64, 32, 4)
    w = rng.integers(-100, 100, size=(32, 64), dtype=np.int8)
    x = rng.integers(0, 256, size=(1, 64), dtype=np.uint8)
    head = _token_linear("head", 32, 10, 1)
    tail = synthetic_layers([head], seed=0)
    reads = []
    for g, inputs in ((one, x), (four, np.repeat(x[:, None, :], 4, axis=1))):
        r = _estimate(_trace([LayerTrace(g, w, 0.01, inputs, 0.01), *tail]))
        layer = r.result.layers[0]
        assert layer.mapping.input_vectors == g.tokens
        reads.append(_node(layer, "subarrays").total_dynamic_energy_J)
        assert r.layers["ops"][0] == 2 * 64 * 32 * g.tokens
    assert reads[1] == pytest.approx(4 * reads[0], rel=1e-9)


def test_the_report_names_the_policy_and_lists_the_dynamic_layers(reports):
    for policy, report in reports.items():
        text = format_summary(report)
        assert f"dynamic_matmul_policy={policy!r}" in text
        rows = report.layers[report.layers["kind"] == "dynamic_matmul"]
        assert list(rows["layer"]) == list(DYNAMIC)
        assert (rows["dynamic_energy_pJ"] > 0).all() and (rows["latency_ns"] > 0).all()
        assert set(DYNAMIC) <= set(report.breakdown["layer"])
    assert set(reports["digital"].layers.set_index("layer").loc[list(DYNAMIC), "mapping"]) \
        == {"digital"}
    assert "endurance" in format_summary(reports["crossbar"])
    s = reports["crossbar"].summary
    assert s["inferences_to_endurance"] == pytest.approx(1e6)   # some cell changes every image
    assert s["seconds_to_endurance"] == pytest.approx(1e6 / s["fps"])


def test_softmax_after_a_product_normalizes_each_head_row(reports):
    report = reports["digital"]
    node = _node(_layer(report, "block0.qk"), "softmax")
    blocks = {c.name: c for c in report.result.chip_blocks.children}
    p = default_parts(report.config)
    softmax = p.nonlinear("softmax", 8, 1, 4)
    assert blocks["softmax"].area_m2 == pytest.approx(softmax.area_m2)
    assert node.dynamic_energy_J == pytest.approx(4 * 2 * softmax.op_energy_J)   # M x H


def test_layernorm_unit_counts_its_operations():
    p = default_parts(HardwareConfig())
    ln = p.nonlinear("layernorm", 8, 1, 64)
    assert isinstance(ln, LayerNorm)
    element = (ln.sum_adder.dynamic_energy_J(num_ops=1) + ln.square_adder.dynamic_energy_J(
        num_ops=1) + ln.adder.dynamic_energy_J(num_ops=2) + ln.multiplier.dynamic_energy_J(
        num_ops=3) + ln.registers.dynamic_energy_J(num_reads=1))
    vector = ln.multiplier.dynamic_energy_J(num_ops=3) + ln.adder.dynamic_energy_J(
        num_ops=1) + ln.table.op_energy_J
    assert ln.op_energy_J == pytest.approx(64 * element + vector)
    assert (ln.sum_adder.num_bits, ln.square_adder.num_bits) == (8 + 6, 16 + 6)
    assert ln.latency_s(num_reads=3) == pytest.approx(3 * ln.latency_s(num_reads=1))


def test_digital_mac_units_has_no_effect_under_the_crossbar_policy(toy):
    base = HardwareConfig(dynamic_matmul_policy="crossbar")
    assert "digital_mac_units" in ineffective(base, "cost")
    assert "digital_mac_units" not in ineffective(HardwareConfig(), "cost")
    a = _estimate(toy, dynamic_matmul_policy="crossbar", digital_mac_units=8).summary
    b = _estimate(toy, dynamic_matmul_policy="crossbar", digital_mac_units=64).summary
    c = _estimate(toy, digital_mac_units=8).summary
    d = _estimate(toy, digital_mac_units=64).summary
    assert a["dynamic_energy_per_image_pJ"] == b["dynamic_energy_per_image_pJ"]
    assert a["area_mm2"] == b["area_mm2"]
    assert c["area_mm2"] != d["area_mm2"]


def test_bad_input_gives_one_line(toy, tmp_path):
    with pytest.raises(ConfigError) as info:
        estimate(toy, overrides={"dynamic_matmul_policy": "analog"})
    assert "dynamic_matmul_policy" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        HardwareConfig(digital_mac_units=0)
    assert "digital_mac_units=0" in str(info.value)
    only = [x for x in toy.layers if x.geometry.dynamic]
    with pytest.raises(ConfigError) as info:
        _estimate(_trace(only))
    assert "dynamic_matmul_policy='digital'" in str(info.value) and "\n" not in str(info.value)
    qk = only[0]
    static_shaped = LayerTrace(qk.geometry, qk.weight_codes[0], qk.weight_scale,
                               qk.input_codes, qk.input_scale)
    with pytest.raises(TraceError) as info:
        write_trace(tmp_path / "bad", "toy", [static_shaped], {}, "0")
    assert "weight_codes shape" in str(info.value) and "\n" not in str(info.value)


def test_synthetic_transformers_have_the_published_shapes():
    bert = geometries("bert-base")
    static = sum(g.rows * g.out_channels for g in bert if not g.dynamic)
    assert static == 12 * (4 * 768 * 768 + 2 * 768 * 3072) + 768 * 768 + 768 * 2
    assert sum(g.macs for g in bert if g.dynamic) == 12 * 2 * 128 * 64 * 128 * 12
    vit = geometries("vit-mnist")
    assert (vit[0].in_channels, vit[0].tokens) == (49, 16)          # 7x7 patches of 28x28
    assert {g.tokens for g in vit[1:-1]} == {17} and vit[-1].tokens == 1
    assert sum(g.dynamic for g in vit) == 8
    layers = synthetic_layers(geometries("toy-encoder"), images=3, seed=0)
    qk = next(x for x in layers if x.geometry.dynamic)
    assert qk.weight_codes.shape == (3, 2, 4, 4) and qk.input_codes.shape == (3, 2, 4, 4)
    assert not np.array_equal(qk.weight_codes[0], qk.weight_codes[1])   # one per image


def test_rewriting_the_static_weights_leaves_the_dynamic_arrays_out(toy):
    new = _trace(synthetic_layers(geometries("toy-encoder"), images=2, seed=4))
    figures = []
    for policy in ("digital", "crossbar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = estimate(toy, HardwareConfig(dynamic_matmul_policy=policy),
                         updated_trace=new).summary
        figures.append((s["rewrite_energy_pJ"], s["rewrite_cells"], s["write_energy_pJ"]))
    assert figures[0] == figures[1]


def test_pipelined_layers_take_turns_on_the_digital_unit(toy):
    """The chip has one digital MAC unit: in a pipeline its layers run one after another on
    it, so the image period is at least its busy time summed over the dynamic layers. With
    one lane on the small ViT (8 products of 17 x 16 x 17 x 4 MACs) that sum exceeds every
    layer's own stage and sets the period (and the report says so); on the toy with 64 lanes
    a layer does. Softmax and LayerNorm units are one per pipelined layer that uses them."""
    vit = _trace(synthetic_layers(geometries("vit-mnist"), images=1, seed=3), "vit")
    slow = _estimate(vit, digital_mac_units=1)
    dynamic = [r for r in slow.result.layers if r.mapping.kind == "dynamic_matmul"]
    busy = sum(_node(r, "digital_mac").latency_s + _node(r, "kv_buffer").latency_s
               for r in dynamic)
    assert len(dynamic) == 8 and busy > max(r.latency_s for r in slow.result.layers)
    assert slow.summary["latency_per_image_ns"] == pytest.approx(busy * 1e9)
    assert slow.summary["pipeline_period_set_by"] == "digital_mac"
    assert "set by the shared digital_mac unit" in format_summary(slow)
    fast = _estimate(toy)
    assert "pipeline_period_set_by" not in fast.summary
    assert fast.summary["latency_per_image_ns"] == pytest.approx(
        max(r.latency_s for r in fast.result.layers) * 1e9)
    users = sum("softmax" in g.followed_by for g in geometries("toy-encoder"))
    blocks = {c.name: c for c in fast.result.chip_blocks.children}
    assert blocks["softmax"].count == users >= 1
    serial = _estimate(toy, pipeline=False)
    assert {c.name: c for c in serial.result.chip_blocks.children}["softmax"].count == 1
