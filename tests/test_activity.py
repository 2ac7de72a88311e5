"""Trace-accurate activity: brute-force checks on tiny layers, counting, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from chip.activity import (_conductance_table, cell_levels, effective_conductance,
                           input_bit_vectors, layer_activity, unrolled_weights, _tech)
from chip.config import HardwareConfig
from cim.trace import LayerGeometry, LayerTrace


def _layer(cin=3, cout=4, k=3, hw=5, pad=1, seed=0, density=0.5, kind="conv2d"):
    rng = np.random.default_rng(seed)
    if kind == "linear":
        g = LayerGeometry("fc", "linear", cin, cout)
    else:
        out = hw + 2 * pad - k + 1
        g = LayerGeometry("conv", "conv2d", cin, cout, (k, k), (1, 1), (pad, pad),
                          input_hw=(hw, hw), output_hw=(out, out))
    w = rng.integers(-128, 128, size=g.weight_shape).astype(np.int8)
    x = rng.integers(1, 256, size=g.input_shape(1))
    x[rng.random(x.shape) > density] = 0
    return LayerTrace(g, w, 1 / 128, x.astype(np.uint8), 1 / 255)


def _cfg(**kw):
    base = dict(memory_cell="rram", operation_mode="parallel", subarray_rows=16,
                subarray_cols=16, rows_in_parallel=8, cols_per_adc=8)
    base.update(kw)
    return HardwareConfig(**base)


def test_cell_levels_offset_and_differential():
    w = np.array([[-128, 0, 127]])
    cfg = HardwareConfig(cell_bits=2)
    lv = cell_levels(w, cfg)                       # levels 0, 128, 255 in 4 x 2-bit slices
    assert lv.tolist() == [[0, 0, 0, 0, 2, 0, 0, 0, 3, 3, 3, 3]]
    cfg = HardwareConfig(cell_bits=4, weight_encoding="differential")
    lv = cell_levels(np.array([[-3, 5]]), cfg)
    assert lv.tolist() == [[0, 0, 0, 3, 0, 5, 0, 0]]


def test_im2col_padding_and_compat_vectors():
    layer = _layer(cin=2, hw=5, pad=1)
    cfg = _cfg()
    X = input_bit_vectors(layer, cfg)
    assert X.shape == (1, 25 * 8, 2 * 9)            # output positions x bits, Cin K K
    Xc = input_bit_vectors(layer, cfg, compat=True)
    assert Xc.shape == (1, 9 * 8, 18)               # NeuroSim: (H-K+1)^2 positions
    # one position by hand: centre output (2,2) sees the unpadded 3x3 window at (1..3)
    x = layer.input_codes[0].astype(int)
    vec = np.stack([(x[:, 1:4, 1:4] >> b) & 1 for b in range(8)]).reshape(8, -1)
    assert np.array_equal(X[0].reshape(25, 8, 18)[12], vec)


def _brute_force_conductances(layer, cfg):
    """Loop over vectors, subarray blocks, read groups and columns: (values, counts)."""
    ctx = _tech(cfg)
    W = unrolled_weights(layer)
    lv = cell_levels(W, cfg)
    X = input_bit_vectors(layer, cfg)[0]
    R, C, rpr = cfg.subarray_rows, cfg.subarray_cols, cfg.rows_in_parallel
    g_levels = ctx.cell_conductance_levels_S()
    out = []
    for v in range(X.shape[0]):
        for b0 in range(0, W.shape[0], R):
            for q in range(b0, min(b0 + R, W.shape[0]), rpr):
                rows = range(q, min(q + rpr, b0 + R, W.shape[0]))
                if not any(X[v, r] for r in rows):
                    continue                        # skipped read (ours)
                for c in range(lv.shape[1]):
                    g = 0.0
                    for r in rows:
                        if X[v, r]:
                            i, j = r - b0, c % C
                            res = (1 / g_levels[lv[r, c]] + (j + 1) * ctx.wire_resistance_row_ohm
                                   + (R - i) * ctx.wire_resistance_col_ohm
                                   + ctx.access_resistance_ohm)
                            g += 1 / res
                    out.append(g)
    return np.array(out)


def test_column_conductance_matches_brute_force():
    layer = _layer(cin=2, cout=2, hw=3, pad=1, density=0.6)
    cfg = _cfg()
    act = layer_activity(layer, cfg)
    ref = _brute_force_conductances(layer, cfg)
    assert act.conversions == pytest.approx(ref.size)
    total = float(np.sum(act.column_conductance_S * act.column_conductance_count))
    assert total == pytest.approx(ref.sum(), rel=2e-3)     # histogram bin centres
    # and the per-cell matrix is NeuroSim's formula at one spot
    ctx = _tech(cfg)
    t = _conductance_table(ctx, 16, 16)
    want = 1 / (1 / ctx.g_on_S + 3 * ctx.wire_resistance_row_ohm
                + (16 - 5) * ctx.wire_resistance_col_ohm + ctx.access_resistance_ohm)
    assert t[1, 5, 2] == pytest.approx(want, rel=1e-6)


def test_sram_counts_are_exact():
    layer = _layer(cin=2, cout=3, hw=4, pad=1, seed=3)
    cfg = _cfg(memory_cell="sram", rows_in_parallel=16)
    act = layer_activity(layer, cfg)
    ctx = _tech(cfg)
    W = unrolled_weights(layer)
    lv = cell_levels(W, cfg)
    X = input_bit_vectors(layer, cfg)[0].astype(int)
    counts = []
    for b0 in range(0, W.shape[0], 16):
        xb, wb = X[:, b0:b0 + 16], (lv[b0:b0 + 16] > 0).astype(int)
        used = xb.any(axis=1)
        counts.append((xb @ wb)[used].ravel())
    counts = np.concatenate(counts)
    unit = 1 / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm)
    got = dict(zip(np.rint(act.column_conductance_S / unit).astype(int),
                   act.column_conductance_count))
    want = dict(zip(*np.unique(counts, return_counts=True)))
    assert got == {int(k): float(v) for k, v in want.items()}


def test_counts_subarrays_and_reads():
    layer = _layer(cin=4, cout=5, hw=4, pad=1)          # rows 36, cols 5 x 8 = 40
    cfg = _cfg()
    act = layer_activity(layer, cfg)
    assert act.subarrays == math.ceil(36 / 16) * math.ceil(40 / 16)
    assert act.bit_vectors_per_subarray == 16 * 8
    assert act.reads_per_subarray == 16 * 8 * 2          # ceil(16 / 8) partial reads
    compat = layer_activity(layer, cfg.replace(compat="neurosim-1.4"))
    assert compat.bit_vectors_per_subarray == 4 * 8      # (4-3+1)^2 positions
    assert 0 < act.used_rows <= 16 and 0 < act.used_cols <= 16
    # novel-mapping style row groups: K*K groups of Cin rows
    groups = [np.arange(4) * 9 + k for k in range(9)]
    nm = layer_activity(layer, cfg, groups)
    assert nm.subarrays == 9 * math.ceil(40 / 16)


def test_activity_scales_with_input_density():
    cfg = _cfg(rows_in_parallel=16)
    sparse = layer_activity(_layer(density=0.1, seed=1), cfg)
    dense = layer_activity(_layer(density=0.9, seed=1), cfg)
    assert dense.active_row_fraction > sparse.active_row_fraction
    assert dense.adc_code_mean > sparse.adc_code_mean


def test_sequential_and_linear():
    cfg = _cfg(operation_mode="sequential")
    act = layer_activity(_layer(kind="linear", cin=20, cout=3), cfg)
    assert act.reads_per_subarray == 8 * 16              # 16 rows read one by one
    assert act.conversions > 0


def test_effective_conductance_shapes_and_errors():
    cfg = _cfg()
    ctx = _tech(cfg)
    lv = np.zeros((4, 40), dtype=np.uint8)
    g = effective_conductance(lv, ctx, 16)
    assert g.shape == (4, 40) and np.all(g > 0) and np.all(g < ctx.g_off_S)
    with pytest.raises(ValueError):
        effective_conductance(np.zeros((17, 4), np.uint8), ctx, 16)


def test_bad_row_groups():
    layer = _layer()
    cfg = _cfg()
    with pytest.raises(ValueError, match="row group"):
        layer_activity(layer, cfg, [np.array([0, 1, 999])])
    with pytest.raises(ValueError, match="empty"):
        layer_activity(layer, cfg, [np.array([], dtype=int)])
