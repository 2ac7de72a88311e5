"""The activity's fast paths: the exact shortcuts (chip.activity_exact) give layer_activity's
histogram bin for bin; the statistical mode (chip.activity_stats) gets the counts exactly and
the conductance histogram's moments closely; the memo (chip.parts.ActivityMemo) shares an
activity only where it cannot differ."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from chip.activity import layer_activity, _tech
from chip.activity_exact import applies, exact_activity, position_level_counts
from chip.activity_stats import statistical_activity
from chip.parts import ActivityMemo, _NOT_IN_ACTIVITY, activity_key
from contracts.config import HardwareConfig
from contracts.effects import STEP1_ONLY
from chip.synthetic import _conv, _linear, synthetic_layers
from contracts.trace import LayerGeometry, LayerTrace


def _layer(cin=5, cout=7, k=3, hw=6, seed=0, density=0.4, kind="conv2d", images=2):
    """A seeded random layer (chip.synthetic) traced on ``images`` images."""
    geom = _linear("fc", cin, cout) if kind == "linear" else _conv("conv", cin, cout, k, hw)
    return synthetic_layers([geom], images=images, input_sparsity=1.0 - density,
                            seed=seed)[0]


def _cfg(**kw):
    base = dict(subarray_rows=16, subarray_cols=16)
    base.update(kw)
    return HardwareConfig(**base)


EXACT_CASES = {
    "rram-sequential": _cfg(),
    "rram-sequential-compat": _cfg(compat="neurosim-1.4"),
    "sram-sequential": _cfg(memory_cell="sram"),
    "sram-sequential-compat": _cfg(memory_cell="sram", compat="neurosim-1.4"),
    "rram-differential": _cfg(weight_encoding="differential"),
    "rram-2bit-cells": _cfg(cell_bits=2),
    "rram-cols-12": _cfg(subarray_cols=12, cols_per_adc=4),          # cpw 8 does not divide 12
    "rram-cols-24-partial": _cfg(subarray_cols=24, cols_per_adc=4),   # 7 x 8 columns: a partial last block
    "sram-parallel-compat": _cfg(memory_cell="sram", operation_mode="parallel",
                                 rows_in_parallel=8, compat="neurosim-1.4"),
    "sram-parallel-compat-16": _cfg(memory_cell="sram", operation_mode="parallel",
                                    compat="neurosim-1.4"),
}


@pytest.mark.parametrize("name", sorted(EXACT_CASES))
@pytest.mark.parametrize("kind", ["conv2d", "linear"])
def test_exact_shortcut_equals_layer_activity(name, kind):
    cfg = EXACT_CASES[name]
    layer = _layer(kind=kind, cin=40 if kind == "linear" else 5)
    rows = layer.geometry.rows
    groups = [np.arange(rows)[::-1][:rows // 2], np.arange(rows)[::-1][rows // 2:]]
    for row_groups in (None, groups):
        want = layer_activity(layer, cfg, row_groups)
        got = exact_activity(layer, cfg, row_groups)
        assert got is not None
        for f in dataclasses.fields(want):
            if f.name == "extra":
                continue
            a, b = getattr(want, f.name), getattr(got, f.name)
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b), f.name
            else:
                assert a == b, f.name


def test_exact_shortcut_declines_what_needs_every_column_sum():
    layer = _layer()
    for cfg in (_cfg(operation_mode="parallel", rows_in_parallel=8),            # RRAM sums
                _cfg(memory_cell="sram", operation_mode="parallel")):         # ours counting
        assert not applies(layer, cfg, _tech(cfg))
        assert exact_activity(layer, cfg) is None


def test_position_level_counts_by_hand():
    # 2 weights per 16-column block (8 one-bit slices each), 5 weights: blocks 0, 1 full,
    # block 2 holds weight 4 only
    cfg = _cfg()
    codes = np.array([[-128, 127, 0, -1, 5]])          # offset codes 0, 255, 128, 127, 133
    counts = position_level_counts(codes, cfg)
    ones = counts[1][0]
    # position p < 8: slice p of weights 0, 2, 4 (MSB first); p >= 8: weights 1, 3
    bits = lambda u: [(u >> (7 - s)) & 1 for s in range(8)]              # noqa: E731
    expect = np.array(bits(0)) + np.array(bits(128)) + np.array(bits(133))
    assert ones[:8].tolist() == expect.tolist()
    assert ones[8:].tolist() == (np.array(bits(255)) + np.array(bits(127))).tolist()
    assert (counts[0][0] + ones).tolist() == [3] * 8 + [2] * 8


STATS_CASES = {
    "rram-parallel": _cfg(operation_mode="parallel", rows_in_parallel=8),
    "rram-parallel-2bit": _cfg(operation_mode="parallel", rows_in_parallel=8, cell_bits=2),
    "sram-parallel": _cfg(memory_cell="sram", operation_mode="parallel"),
    "rram-parallel-compat": _cfg(operation_mode="parallel", rows_in_parallel=4,
                                 compat="neurosim-1.4"),
    "rram-sequential": _cfg(),
}


def _moments(act):
    g, n = act.column_conductance_S, act.column_conductance_count
    mean = float((g * n).sum() / n.sum())
    return float(n.sum()), mean, float(np.sqrt((g * g * n).sum() / n.sum() - mean ** 2))


@pytest.mark.parametrize("name", sorted(STATS_CASES))
def test_statistics_counts_exact_histogram_close(name):
    cfg = STATS_CASES[name]
    layer = _layer(cin=8, cout=16, density=0.5)
    want, got = layer_activity(layer, cfg), statistical_activity(layer, cfg)
    for field in ("subarrays", "bit_vectors_per_subarray", "reads_per_subarray",
                  "used_rows", "used_cols", "images"):
        assert getattr(got, field) == getattr(want, field), field
    assert got.active_row_fraction == pytest.approx(want.active_row_fraction, rel=1e-12)
    (n_w, mean_w, sd_w), (n_g, mean_g, sd_g) = _moments(want), _moments(got)
    assert n_g == pytest.approx(n_w, rel=1e-9)          # conversions: exact
    # the mean column conductance: cells drawn per slice (random weights: close)
    assert mean_g == pytest.approx(mean_w, rel=0.03)
    assert sd_g == pytest.approx(sd_w, rel=0.15)


def test_statistics_exact_where_weights_do_not_matter():
    """SRAM under NeuroSim's counting: every active row conducts, so the histogram is the
    active-rows-per-read histogram, which the statistics hold exactly."""
    cfg = _cfg(memory_cell="sram", operation_mode="parallel", rows_in_parallel=8,
               compat="neurosim-1.4")
    layer = _layer()
    want, got = layer_activity(layer, cfg), statistical_activity(layer, cfg)
    assert np.allclose(got.column_conductance_S, want.column_conductance_S, rtol=1e-12)
    assert np.allclose(got.column_conductance_count, want.column_conductance_count, rtol=1e-9)


def test_statistics_refuse_grouped_convolutions():
    g = LayerGeometry("dw", "conv2d", 4, 4, (3, 3), (1, 1), (1, 1), input_hw=(4, 4),
                      output_hw=(4, 4), groups=4)
    layer = LayerTrace(g, np.zeros(g.weight_shape, np.int8), 1.0,
                       np.zeros(g.input_shape(1), np.uint8), 1.0)
    with pytest.raises(ValueError, match="groups=4 is not supported by the statistical"):
        statistical_activity(layer, _cfg())


@pytest.mark.parametrize("cfg", [_cfg(), _cfg(memory_cell="sram", operation_mode="parallel",
                                               compat="neurosim-1.4")],
                         ids=["rram-sequential", "sram-parallel-compat"])
def test_grouped_layers_are_priced_from_their_trace_in_both_modes(cfg):
    """No shortcut or statistical model for grouped layers: Parts falls back to the trace."""
    from chip.parts import Parts
    g = LayerGeometry("dw", "conv2d", 6, 6, (3, 3), (1, 1), (1, 1), input_hw=(5, 5),
                      output_hw=(5, 5), groups=3)
    rng = np.random.default_rng(3)
    layer = LayerTrace(g, rng.integers(-128, 128, g.weight_shape).astype(np.int8), 1 / 128,
                       rng.integers(0, 256, g.input_shape(2)).astype(np.uint8), 1 / 255)
    assert exact_activity(layer, cfg) is None
    want = layer_activity(layer, cfg)
    for model in ("trace", "stats"):
        got = Parts(cfg, activity=model).activity(layer, None)
        assert np.array_equal(got.column_conductance_count, want.column_conductance_count)
        assert np.array_equal(got.column_conductance_S, want.column_conductance_S)
        assert got.adc_code_mean == want.adc_code_mean


def _changed(config: HardwareConfig, name: str):
    """``config`` with field ``name`` moved to another valid value."""
    row = next(r for r in HardwareConfig.describe() if r["name"] == name)
    value = getattr(config, name)
    candidates = [c for c in row["choices"] if c != value] if row["choices"] else []
    if isinstance(value, bool):
        candidates = [not value]
    elif isinstance(value, (int, float)) and not candidates:
        candidates = [value * 2 if value else 1, value / 2 if isinstance(value, float) else 1]
    for candidate in candidates:
        try:
            return config.replace(**{name: candidate})
        except ValueError:
            continue
    raise AssertionError(f"no other valid value found for {name}")


@pytest.mark.parametrize("base", [
    _cfg(operation_mode="parallel", rows_in_parallel=8),
    _cfg(memory_cell="sram", operation_mode="parallel", compat="neurosim-1.4"),
    _cfg(),
], ids=["rram-parallel", "sram-compat", "rram-sequential"])
def test_fields_outside_the_memo_key_leave_the_activity_unchanged(base):
    layer = _layer(cin=3, cout=4, hw=4)
    want = layer_activity(layer, base)
    for name in (*_NOT_IN_ACTIVITY, *STEP1_ONLY):
        other = _changed(base, name)
        assert activity_key(other) == activity_key(base), name
        got = layer_activity(layer, other)
        assert np.array_equal(got.column_conductance_count, want.column_conductance_count), name
        assert np.array_equal(got.column_conductance_S, want.column_conductance_S), name
        if name != "adc_bits":                     # the memo recomputes the mean code
            assert got.adc_code_mean == want.adc_code_mean, name
    assert activity_key(base.replace(subarray_rows=32)) != activity_key(base)
    assert activity_key(base, "stats") != activity_key(base)


def test_memo_shares_activities_and_gives_the_same_figures():
    from chip.estimator import estimate
    from chip.synthetic import _conv, _linear, synthetic_layers
    from contracts.trace import Trace
    geoms = [_conv("c1", 3, 8, 3, 8), _linear("fc", 512, 10)]
    trace = Trace({"network": "T", "config": {}, "layers": []},
                  synthetic_layers(geoms, images=1, input_sparsity=0.5, seed=1))
    memo = ActivityMemo()
    base = HardwareConfig(operation_mode="parallel", rows_in_parallel=32)
    for bits, cols in ((4, 8), (5, 8), (5, 16), (6, 4)):
        cfg = base.replace(adc_bits=bits, cols_per_adc=cols)
        shared = estimate(trace, cfg, memo=memo).summary
        alone = estimate(trace, cfg).summary
        for key in ("dynamic_energy_per_image_pJ", "tops_per_w", "area_mm2",
                    "latency_per_image_ns"):
            assert shared[key] == alone[key], key
    assert memo.misses == 2 and memo.hits == 6           # two layers, computed once each
