"""The trace contract: write atomically, read back identically, refuse bad folders."""
from __future__ import annotations

import json

import numpy as np
import pytest

from contracts.trace import (LayerGeometry, LayerTrace, TraceError, read_trace, write_trace,
                       network_csv_rows)


def _layers(rng, images=2):
    conv = LayerGeometry(name="conv1", kind="conv2d", in_channels=3, out_channels=4,
                         kernel_size=(3, 3), padding=(1, 1), input_hw=(8, 8), output_hw=(8, 8),
                         followed_by=("relu", "maxpool2x2"))
    fc = LayerGeometry(name="fc", kind="linear", in_channels=64, out_channels=10)
    return [
        LayerTrace(conv, rng.integers(-128, 128, conv.weight_shape), 1 / 128,
                   rng.integers(0, 256, conv.input_shape(images)), 1 / 255),
        LayerTrace(fc, rng.integers(-128, 128, fc.weight_shape), 1 / 128,
                   rng.integers(0, 256, fc.input_shape(images)), 0.01),
    ]


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    layers = _layers(rng)
    folder = write_trace(tmp_path / "layer_record_T", "T", layers, {"adc_bits": 5}, "abc",
                         dataset={"name": "synthetic"}, accuracy={"hardware": None})
    trace = read_trace(folder)
    assert trace.network == "T" and trace.manifest["images"] == 2
    for original, loaded in zip(layers, trace.layers):
        assert loaded.geometry == LayerGeometry.from_json(
            dict(original.geometry.to_json(), file=loaded.geometry.file))
        np.testing.assert_array_equal(loaded.weight_codes, original.weight_codes)
        np.testing.assert_array_equal(loaded.input_codes, original.input_codes)
        assert loaded.weight_scale == original.weight_scale
    assert (folder / "NetWork.csv").read_text().splitlines() == ["8,8,3,3,3,4,1,1",
                                                                 "1,1,64,1,1,10,0,1"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_geometry_counts():
    g = LayerGeometry(name="c", kind="conv2d", in_channels=128, out_channels=256,
                      kernel_size=(3, 3), padding=(1, 1), input_hw=(16, 16), output_hw=(16, 16))
    assert g.rows == 1152 and g.input_vectors == 256 and g.macs == 1152 * 256 * 256
    assert network_csv_rows([g]) == [[16, 16, 128, 3, 3, 256, 0, 1]]


def test_overwrite_replaces_whole_folder(tmp_path):
    rng = np.random.default_rng(1)
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(rng), {}, "h1")
    write_trace(target, "T", _layers(rng)[:1], {}, "h2")
    assert len(read_trace(target).layers) == 1


def test_shape_mismatch_is_refused_before_writing(tmp_path):
    rng = np.random.default_rng(2)
    layers = _layers(rng)
    layers[0].weight_codes = layers[0].weight_codes[:, :2]
    with pytest.raises(TraceError, match="weight_codes shape"):
        write_trace(tmp_path / "rec", "T", layers, {}, "h")
    assert list(tmp_path.iterdir()) == []


def test_codes_out_of_range_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    layers = _layers(rng)
    layers[1].input_codes = layers[1].input_codes + 300
    with pytest.raises(TraceError, match="input codes outside"):
        write_trace(tmp_path / "rec", "T", layers, {}, "h")


@pytest.mark.parametrize("damage, fragment", [
    ("no_folder", "does not exist"),
    ("no_manifest", "manifest.json: missing"),
    ("bad_json", "unreadable"),
    ("schema", "schema_version"),
    ("missing_file", r"missing \(listed"),
    ("shape", "disagrees"),
])
def test_read_refuses_damaged_folders(tmp_path, damage, fragment):
    rng = np.random.default_rng(4)
    folder = write_trace(tmp_path / "rec", "T", _layers(rng), {}, "h")
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    if damage == "no_folder":
        folder = tmp_path / "elsewhere"
    elif damage == "no_manifest":
        manifest.unlink()
    elif damage == "bad_json":
        manifest.write_text("{")
    elif damage == "schema":
        manifest.write_text(json.dumps(dict(data, schema_version=99)))
    elif damage == "missing_file":
        (folder / data["layers"][1]["file"]).unlink()
    elif damage == "shape":
        data["layers"][0]["out_channels"] = 5
        manifest.write_text(json.dumps(data))
    with pytest.raises(TraceError, match=fragment):
        read_trace(folder)


def _attention_layers(rng, images=2):
    """A token-wise projection (T=5 tokens, 8 -> 12) and one Q.K^T product of 2 heads
    (M=5 queries, K=4 features per head, N=5 keys)."""
    proj = LayerGeometry(name="qkv", kind="linear", in_channels=8, out_channels=12,
                         input_hw=(5, 1), output_hw=(5, 1))
    score = LayerGeometry(name="scores", kind="dynamic_matmul", in_channels=2 * 4,
                          out_channels=2 * 5, groups=2, input_hw=(5, 1), output_hw=(5, 1),
                          followed_by=("softmax",), input_signed=True)
    return [
        LayerTrace(proj, rng.integers(-128, 128, proj.weight_shape), 1 / 128,
                   rng.integers(0, 256, proj.input_shape(images)), 0.01),
        LayerTrace(score, rng.integers(-128, 128, score.weight_codes_shape(images)), 0.02,
                   rng.integers(-128, 128, score.input_shape(images)), 0.03),
    ]


def test_token_and_dynamic_layers_shapes_and_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    proj, score = _attention_layers(rng)
    assert proj.geometry.input_shape(2) == (2, 5, 8) and proj.geometry.tokens == 5
    assert score.geometry.weight_codes_shape(2) == (2, 2, 4, 5)     # images, heads, K, N
    assert score.geometry.input_shape(2) == (2, 2, 5, 4)            # images, heads, M, K
    assert score.geometry.rows == 4 and score.geometry.dynamic and not proj.geometry.dynamic
    assert score.geometry.macs == 5 * 4 * 5 * 2                     # M K N per head, 2 heads
    folder = write_trace(tmp_path / "layer_record_A", "A", [proj, score], {}, "h")
    loaded = read_trace(folder)
    for original, back in zip((proj, score), loaded.layers):
        np.testing.assert_array_equal(back.weight_codes, original.weight_codes)
        np.testing.assert_array_equal(back.input_codes, original.input_codes)
    # NeuroSim's table has no row for a product whose weights change per input
    assert (folder / "NetWork.csv").read_text().splitlines() == ["5,1,8,1,1,12,0,1"]


@pytest.mark.parametrize("change, message", [
    (dict(kind="attention"), "kind='attention' must be one of conv2d, linear, dynamic_matmul"),
    (dict(output_hw=(4, 1)), "must both be \\(tokens, 1\\)"),
    (dict(kernel_size=(3, 3)), "kernel_size=\\(3, 3\\) must be \\(1, 1\\)"),
    (dict(groups=3), "must be multiples of groups \\(heads\\)=3"),
])
def test_dynamic_layer_geometry_refused(change, message):
    fields = dict(name="s", kind="dynamic_matmul", in_channels=8, out_channels=10, groups=2,
                  input_hw=(5, 1), output_hw=(5, 1))
    with pytest.raises(TraceError, match=message):
        LayerGeometry(**dict(fields, **change))


def test_dynamic_layer_codes_need_one_operand_per_image(tmp_path):
    rng = np.random.default_rng(2)
    proj, score = _attention_layers(rng)
    score.weight_codes = score.weight_codes[0]           # one operand for every image: wrong
    with pytest.raises(TraceError, match="weight_codes shape \\(2, 4, 5\\) disagrees"):
        write_trace(tmp_path / "layer_record_A", "A", [proj, score], {}, "h")
    proj, score = _attention_layers(rng)
    score.weight_scale = np.ones(10)
    with pytest.raises(TraceError, match="must be one value"):
        write_trace(tmp_path / "layer_record_B", "B", [proj, score], {}, "h")
