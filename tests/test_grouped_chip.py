"""Grouped and depthwise convolutions in step 2: the block-diagonal packing of the groups into
sub-arrays (chip.mapping.block_layout), the activity read group by group against its own
weight block (chip.activity), the chip-level traffic of blocks with their own inputs, and the
nonlinear units a trace names after a layer (chip.global_blocks)."""
from __future__ import annotations

import numpy as np
import pytest

from chip.activity import layer_activity
from chip.estimator import estimate
from chip.mapping import block_layout, groups_per_subarray, map_network
from chip.memory import estimate_bytes
from chip.synthetic import synthetic_layers
from contracts.config import HardwareConfig
from contracts.trace import LayerGeometry, LayerTrace, Trace

RRAM = dict(memory_cell="rram", operation_mode="parallel", subarray_rows=32,
            subarray_cols=32, rows_in_parallel=8, cols_per_adc=8, cell_bits=4)


def _conv(name, cin, cout, k=3, hw=5, groups=1, stride=1, after=("relu",)):
    pad = (k - 1) // 2
    out = (hw + 2 * pad - k) // stride + 1
    return LayerGeometry(name, "conv2d", cin, cout, (k, k), (stride, stride), (pad, pad),
                         groups=groups, input_hw=(hw, hw), output_hw=(out, out),
                         followed_by=after)


def _trace(g, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=g.weight_shape).astype(np.int8)
    x = rng.integers(0, 256, size=g.input_shape(1)).astype(np.uint8)
    x[rng.random(x.shape) < 0.4] = 0
    return LayerTrace(g, w, 1 / 128, x, 1 / 255)


def _dense_of(layer, groups, fill):
    """The dense layer a sub-array of ``groups`` packed block-diagonally computes: their input
    channels, their weights on the diagonal, ``fill`` (the code of the lowest level) elsewhere."""
    g = layer.geometry
    cin, cout, k = g.in_channels // g.groups, g.out_channels // g.groups, len(groups)
    w = np.full((k * cout, k * cin, *g.kernel_size), fill, dtype=np.int8)
    for i, j in enumerate(groups):
        w[i * cout:(i + 1) * cout, i * cin:(i + 1) * cin] = \
            layer.weight_codes[j * cout:(j + 1) * cout]
    channels = np.concatenate([np.arange(j * cin, (j + 1) * cin) for j in groups])
    dense = LayerGeometry("d", "conv2d", k * cin, k * cout, g.kernel_size, g.stride, g.padding,
                          input_hw=g.input_hw, output_hw=g.output_hw)
    return LayerTrace(dense, w, 1 / 128, layer.input_codes[:, channels], 1 / 255)


def test_groups_per_subarray_and_block_layout_by_hand():
    cfg = HardwareConfig()                       # 128 x 128, 8 one-bit cells per weight
    dw = _conv("dw", 32, 32, groups=32)          # 9 rows x 8 cells per group
    # min(128 // 9, 128 // 8) = 14 groups per sub-array; 32 groups -> 3 blocks of 126 rows
    assert groups_per_subarray(dw, cfg) == 14
    assert block_layout(dw, cfg) == (14 * 9, 3, 128)
    mult2 = _conv("dw2", 16, 32, groups=16)      # depth multiplier 2: 16 cells per group
    assert groups_per_subarray(mult2, cfg) == 8 and block_layout(mult2, cfg) == (72, 2, 128)
    # a group larger than a sub-array is its own block, cut like a dense layer
    big = _conv("g2", 64, 64, groups=2)          # 288 rows x 256 cells per group
    assert groups_per_subarray(big, cfg) == 1 and block_layout(big, cfg) == (288, 2, 256)
    dense = _conv("c", 16, 32)
    assert groups_per_subarray(dense, cfg) == 1 and block_layout(dense, cfg) == (144, 1, 256)


@pytest.mark.parametrize("cfg", [
    HardwareConfig(**RRAM),
    HardwareConfig(**dict(RRAM, weight_encoding="differential")),
    HardwareConfig(**dict(RRAM, memory_cell="sram", cell_bits=1)),
    HardwareConfig(**dict(RRAM, operation_mode="sequential")),
    HardwareConfig(**dict(RRAM, compat="neurosim-1.4")),
], ids=["rram", "differential", "sram", "sequential", "compat"])
def test_each_subarray_reads_its_groups_against_their_own_blocks(cfg):
    layer = _trace(_conv("dw", 7, 7, groups=7))             # depthwise, 7 channels
    fill = 0 if cfg.weight_encoding == "differential" else -128   # codes of level 0
    n = groups_per_subarray(layer.geometry, cfg)
    packs = [list(range(p, min(p + n, 7))) for p in range(0, 7, n)]
    assert len(packs) > 1 and n > 1
    got = layer_activity(layer, cfg)
    parts = [layer_activity(_dense_of(layer, pack, fill), cfg) for pack in packs]
    assert got.subarrays == sum(p.subarrays for p in parts) == len(packs)
    expected = {}
    for p in parts:
        for v, k in zip(p.column_conductance_S, p.column_conductance_count):
            expected[v] = expected.get(v, 0.0) + k
    assert dict(zip(got.column_conductance_S, got.column_conductance_count)) == \
        pytest.approx(expected)
    assert got.reads_per_subarray == max(p.reads_per_subarray for p in parts)
    # the mapping counts the same sub-arrays for one copy of the weights
    assert map_network([layer.geometry], cfg).layers[0].weight_subarrays == len(packs)


def test_a_group_larger_than_a_subarray_is_cut_like_a_dense_layer():
    cfg = HardwareConfig(**RRAM)
    layer = _trace(_conv("g", 8, 4, groups=2))     # 36 rows x 8 cells per group > 32 rows
    assert groups_per_subarray(layer.geometry, cfg) == 1
    got = layer_activity(layer, cfg)
    parts = [layer_activity(_dense_of(layer, [j], -128), cfg) for j in range(2)]
    assert got.subarrays == sum(p.subarrays for p in parts) == 4     # 2 row blocks each
    assert got.conversions == pytest.approx(sum(p.conversions for p in parts))
    assert map_network([layer.geometry], cfg).layers[0].weight_subarrays == 4


def test_grouped_mapping_counts_real_weights_and_every_input_row():
    cfg = HardwareConfig()
    g = _conv("dw", 32, 32, hw=16, groups=32)
    mapping = map_network([g], cfg)
    m = mapping.layers[0]
    assert not m.novel and (m.weight_rows, m.weight_cols) == (126, 3 * 128)
    assert (m.blocks, m.block_cols, m.input_rows) == (3, 128, 32 * 9)
    assert m.ops == 2 * 9 * 32 * 256                    # 2 x rows x Cout x output positions
    # utilization: the weights' own cells (9 x 8 per channel), not the padded blocks
    copies = m.used_subarrays // m.weight_subarrays
    tile = mapping.cm_tile_cells
    assert m.utilization == pytest.approx(copies * 32 * 9 * 8 / (m.tiles * tile[0] * tile[1]))
    # inputs: each block its own rows, once per column block it spans
    assert m.input_col_blocks(128) == 3 and m.input_col_blocks(256) == 3
    assert m.blocks_per(256) == 2 and m.blocks_per(128) == 1 and m.blocks_per(1024) == 3
    dense = map_network([_conv("c", 32, 32, hw=16)], cfg).layers[0]
    assert dense.input_col_blocks(128) == 2 and dense.blocks_per(128) == 1
    # NeuroSim's operation count divides by the groups too
    ns = map_network([g], HardwareConfig(compat="neurosim-1.4")).layers[0]
    assert ns.ops == 2 * 16 * 16 * 32 * 9 * 32 // 32


def test_memory_estimate_counts_every_input_channel():
    cfg = HardwareConfig()
    dw, dense = _conv("dw", 32, 32, groups=32), _conv("c", 32, 32)
    bits = [estimate_bytes([g], cfg, 1)["largest layer"] for g in (dw, dense)]
    planes = 25 * 8 * 32 * 9                           # vectors x bits x Cin K K
    assert bits[0] == 2 * (planes + 9 * 32 * 8 * 5)
    assert bits[1] == 2 * (planes + 288 * 32 * 8 * 5)


def _trace_of(geoms, seed=0):
    return Trace(manifest={"network": "t", "config": {}, "layers": []},
                 layers=synthetic_layers(geoms, seed=seed))


def test_one_full_pack_costs_what_its_dense_block_diagonal_layer_costs():
    """Four depthwise groups (multiplier 2) fill a 64 x 64 sub-array exactly: the chip is the
    same as for the dense layer holding them block-diagonally (off-block codes -128)."""
    cfg = HardwareConfig(subarray_rows=64, subarray_cols=64)
    layer = _trace(_conv("dw", 4, 8, hw=8, groups=4))
    assert block_layout(layer.geometry, cfg) == (36, 1, 64)
    dense = _dense_of(layer, [0, 1, 2, 3], -128)
    a, b = (estimate(Trace(manifest={"network": "t", "config": {}, "layers": []},
                           layers=[t]), cfg) for t in (layer, dense))
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
                "leakage_power_uW"):
        assert a.summary[key] == pytest.approx(b.summary[key], rel=1e-12), key
    assert a.summary["ops_per_image"] * 4 == b.summary["ops_per_image"]


def test_nonlinear_units_follow_the_trace():
    cfg = HardwareConfig()
    geoms = [_conv("c0", 3, 8, hw=8, after=("gelu",)),
             _conv("dw", 8, 8, hw=8, groups=8, after=("batchnorm", "hardswish")),
             _conv("pw", 8, 16, k=1, hw=8, after=("tanh", "sigmoid")),
             LayerGeometry("fc", "linear", 16, 10, followed_by=("softmax",)),
             LayerGeometry("fc2", "linear", 10, 10)]
    rep = estimate(_trace_of(geoms), cfg)
    work = rep.breakdown[(rep.breakdown.metric == "dynamic_energy")]
    by_layer = {(r.layer, r.component) for r in work.itertuples()}
    assert {("c0", "gelu"), ("dw", "hardswish"), ("pw", "tanh"), ("pw", "sigmoid"),
            ("fc", "softmax"), ("fc2", "activation")} <= by_layer
    assert not any(comp == "activation" for layer, comp in by_layer if layer != "fc2")
    # one softmax unit over the 10 outputs; element-wise units with the activation's lanes
    area = rep.breakdown[(rep.breakdown.metric == "area") & (rep.breakdown.layer == "chip")]
    names = set(area.component)
    assert {"gelu", "hardswish", "tanh", "sigmoid", "softmax", "activation"} <= names
    sm = rep.result.chip_blocks
    blocks = {c.name: c for c in sm.children}
    assert blocks["softmax"].count == 1
    # fc's softmax: one vector of 10 values per image
    fc = next(c for c in rep.tree.children if c.name == "layers").children[3]
    node = next(c for c in fc.children if c.name == "softmax")
    from chip.components.nonlinear import Softmax
    from chip.technology import TechContext
    unit = Softmax(TechContext(cfg), cfg, cfg.activation_bits, 10)
    assert node.dynamic_energy_J == pytest.approx(unit.op_energy_J)


def test_step1_trace_of_conv1d_depthwise_and_new_activations_runs_through_step2(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    from cim.run import run

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(4, 8, 3, padding=1)
            self.dw = nn.Conv1d(8, 8, 5, padding=2, groups=8)
            self.act = nn.SiLU()
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = self.act(self.dw(torch.nn.functional.gelu(self.c1(x))))
            return torch.softmax(self.fc(x.mean(2)), 1)

    torch.manual_seed(0)
    result = run(network=Net(), dataset="synthetic", input_shape=(4, 16), images=2,
                 trace_dir=tmp_path / "trace")
    after = {layer["name"]: tuple(layer["followed_by"]) for layer in result.layers}
    assert after == {"c1": ("gelu",), "dw": ("silu",), "fc": ("softmax",)}
    rep = estimate(tmp_path / "trace")
    layers = rep.layers.set_index("layer")
    # the depthwise Conv1d: 8 groups of 1 x 5 taps (5 rows x 8 cells), all in one sub-array
    assert layers.loc["dw", "arrays_per_copy"] == 1
    assert layers.loc["dw", "ops"] == 2 * 5 * 8 * 16
    assert rep.summary["dynamic_energy_per_image_pJ"] > 0
    names = set(rep.breakdown.component)
    assert {"gelu", "silu", "softmax"} <= names
