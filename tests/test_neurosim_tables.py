"""NeuroSim-format traces of DenseNet-style concatenation layers and ResNet-style 1x1
stride-2 shortcuts, made by step 1 (cim.run.run on torch models defined here) and the
project's NeuroSim exporter; and NeuroSim's own inconsistent tables: a NetWork csv whose
Cout (or Cin) disagrees with the weight traces, as NeuroSim's DenseNet40 table does
(contracts.neurosim_reader: one warning per import; the chip prices the trace's shape, or
the table's under quirk neurosim_table_shape).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# the tests price step 1's traces at NeuroSim's default point, not the config they recorded
pytestmark = pytest.mark.filterwarnings("ignore::chip.estimator.ProvenanceWarning")
from torch import nn  # noqa: E402

from chip import estimate  # noqa: E402
from contracts.config import HardwareConfig  # noqa: E402
from contracts.neurosim_reader import SIDECAR, NeuroSimTableWarning, read_neurosim  # noqa: E402
from contracts.neurosim_writer import export_neurosim  # noqa: E402
from contracts.presets import preset  # noqa: E402
from contracts.trace import LayerTrace, Trace, read_trace  # noqa: E402


class DenseBlock(nn.Module):
    """A DenseNet-40-style block: each 3x3 conv adds 12 channels that are concatenated to its
    input, so the next conv reads input + 12 channels; a 1x1 transition and a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.d1 = nn.Conv2d(8, 12, 3, padding=1)
        self.d2 = nn.Conv2d(20, 12, 3, padding=1)
        self.trans = nn.Conv2d(32, 16, 1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.cat([x, torch.relu(self.d1(x))], 1)
        x = torch.cat([x, torch.relu(self.d2(x))], 1)
        x = nn.functional.max_pool2d(torch.relu(self.trans(x)), 2)
        return self.fc(x.flatten(1))


class Shortcut(nn.Module):
    """A ResNet-style down-sampling block: 3x3 stride-2 main path, 1x1 stride-2 shortcut."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.main = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.short = nn.Conv2d(8, 16, 1, stride=2)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(self.main(x) + self.short(x))
        return self.fc(x.flatten(1))


def _step1(tmp_path: Path, model: nn.Module, name: str) -> tuple[Trace, Path]:
    from cim.run import run
    torch.manual_seed(0)
    result = run(HardwareConfig(), network=model, dataset="synthetic", input_shape=(3, 8, 8),
                 images=1, seed=0, trace_dir=tmp_path / f"layer_record_{name}",
                 neurosim_export=tmp_path / f"neurosim_{name}")
    return read_trace(result.trace_dir), result.neurosim_dir


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    return _step1(tmp_path_factory.mktemp("dense"), DenseBlock(), "dense")


@pytest.fixture(scope="module")
def shortcut(tmp_path_factory):
    return _step1(tmp_path_factory.mktemp("shortcut"), Shortcut(), "shortcut")


def _geometry(layer: LayerTrace) -> tuple:
    g = layer.geometry
    return (g.kind, g.in_channels, g.out_channels, g.kernel_size, g.stride, g.padding,
            g.input_hw, g.output_hw)


def _read(folder: Path, **kwargs) -> tuple[Trace, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = read_neurosim(folder, **kwargs)
    return trace, [w for w in caught if issubclass(w.category, NeuroSimTableWarning)]


def _without_sidecar(folder: Path, tmp_path: Path) -> Path:
    """The exported folder as NeuroSim's own Python side leaves it: no sidecar."""
    import shutil
    plain = tmp_path / folder.name
    shutil.copytree(folder, plain)
    (plain / SIDECAR).unlink()
    return plain


def test_densenet_concatenation_trace_round_trip(dense, tmp_path):
    native, folder = dense
    g = {layer.geometry.name: layer.geometry for layer in native.layers}
    assert (g["d1"].in_channels, g["d2"].in_channels, g["trans"].in_channels) == (8, 20, 32)
    # NeuroSim's table written by the exporter agrees with the traces: no warning
    imported, caught = _read(folder)
    assert not caught
    for a, b in zip(native.layers, imported.layers):
        assert _geometry(a) == _geometry(b)
        np.testing.assert_array_equal(a.weight_codes, b.weight_codes)
        np.testing.assert_array_equal(a.input_codes, b.input_codes)
    # from the format alone (NeuroSim's own folders have no sidecar): same shapes and codes
    plain, caught = _read(_without_sidecar(folder, tmp_path))
    assert not caught
    for a, b in zip(native.layers, plain.layers):
        assert _geometry(a) == _geometry(b)
        np.testing.assert_array_equal(a.weight_codes, b.weight_codes)
        np.testing.assert_array_equal(a.input_codes.astype(np.int64),
                                      b.input_codes.astype(np.int64))


def test_resnet_1x1_stride2_shortcut_imports(shortcut, tmp_path):
    native, folder = shortcut
    short = next(layer for layer in native.layers if layer.geometry.name == "short")
    assert (short.geometry.kernel_size, short.geometry.stride, short.geometry.padding,
            short.geometry.input_hw, short.geometry.output_hw) == ((1, 1), (2, 2), (0, 0),
                                                                   (8, 8), (4, 4))
    rows = (folder / "NetWork_shortcut.csv").read_text().split()
    assert rows[2] == "8,8,8,1,1,16,0,2"              # the shortcut's NeuroSim row
    for source in (folder, _without_sidecar(folder, tmp_path)):
        imported, caught = _read(source)
        assert not caught
        for a, b in zip(native.layers, imported.layers):
            assert _geometry(a) == _geometry(b)
            np.testing.assert_array_equal(a.weight_codes, b.weight_codes)
            x, y = a.input_codes.astype(np.int64), b.input_codes.astype(np.int64)
            if a.geometry.name == "short":
                # a 1x1 stride-2 kernel reads every other pixel: NeuroSim's input file (the
                # im2col) holds those only, the others come back as zeros
                np.testing.assert_array_equal(x[..., ::2, ::2], y[..., ::2, ::2])
                y[..., ::2, ::2] = 0
                assert not y.any() and x.any()
            else:
                np.testing.assert_array_equal(x, y)
    # both paths read the same stride-2 input map: the chip prices the shortcut like step 1's
    ours = estimate(native, preset("neurosim-1.4-default")).layers
    theirs = estimate(read_neurosim(folder), preset("neurosim-1.4-default")).layers
    assert list(ours.latency_ns) == pytest.approx(list(theirs.latency_ns), rel=1e-12)
    assert list(ours.dynamic_energy_pJ) == pytest.approx(list(theirs.dynamic_energy_pJ),
                                                         rel=1e-12)


def _densenet40_table(folder: Path, tmp_path: Path) -> Path:
    """Edit the exported NetWork csv as NeuroSim's DenseNet40 table is written: the 3x3
    bottleneck convs' Cout is the channel count after their concatenation."""
    plain = _without_sidecar(folder, tmp_path)
    csv = plain / "NetWork_denseblock.csv"
    rows = csv.read_text().split()
    assert rows[1:3] == ["8,8,8,3,3,12,0,1", "8,8,20,3,3,12,0,1"]
    rows[1:3] = ["8,8,8,3,3,20,0,1", "8,8,20,3,3,32,0,1"]
    csv.write_text("\n".join(rows) + "\n")
    return plain


def test_disagreeing_table_imports_with_one_warning(dense, tmp_path):
    _, folder = dense
    trace, caught = _read(_densenet40_table(folder, tmp_path))
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "\n" not in text and "2 layer(s)" in text
    assert "d1: table Cin 8 Cout 20, trace Cin 8 Cout 12" in text
    assert "d2: table Cin 20 Cout 32, trace Cin 20 Cout 12" in text
    g = {layer.geometry.name: layer.geometry for layer in trace.layers}
    assert (g["d1"].out_channels, g["d1"].table_channels) == (12, (8, 20))
    assert (g["d2"].out_channels, g["d2"].table_channels) == (12, (20, 32))
    assert g["stem"].table_channels is None
    assert trace.manifest["neurosim"]["table_disagreements"] == [
        {"layer": "d1", "table": [8, 20], "trace": [8, 12]},
        {"layer": "d2", "table": [20, 32], "trace": [20, 12]}]


def _padded(trace: Trace) -> Trace:
    """The table's shape built by hand: zero weights in the output channels the trace lacks."""
    from dataclasses import replace
    layers = []
    for layer in trace.layers:
        g = layer.geometry
        if g.table_channels is None:
            layers.append(layer)
            continue
        cout = g.table_channels[1]
        w = np.zeros((cout, *layer.weight_codes.shape[1:]), dtype=layer.weight_codes.dtype)
        w[:g.out_channels] = layer.weight_codes
        layers.append(LayerTrace(replace(g, out_channels=cout, table_channels=None), w,
                                 layer.weight_scale, layer.input_codes, layer.input_scale))
    return Trace(manifest=trace.manifest, layers=layers)


def test_disagreeing_table_priced_per_mode(dense, tmp_path):
    """Default mode prices the weights the trace holds; compat mode (quirk
    neurosim_table_shape) the table's columns, the missing ones as zero weights."""
    _, folder = dense
    agreeing, _ = _read(_without_sidecar(folder, tmp_path / "a"))
    edited, _ = _read(_densenet40_table(folder, tmp_path / "b"))
    cfg = preset("neurosim-1.4-default")
    a, b = estimate(agreeing, cfg).summary, estimate(edited, cfg).summary
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
                "leakage_energy_per_image_pJ", "ops_per_image"):
        assert a[key] == b[key], key
    compat = cfg.replace(compat="neurosim-1.4")
    table = estimate(edited, compat)
    by_hand = estimate(_padded(edited), compat)
    cols = {m.name: m.weight_cols for m in table.mapping.layers}
    assert (cols["d1"], cols["d2"]) == (20 * 8, 32 * 8)
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
                "leakage_energy_per_image_pJ", "tops_per_w", "ops_per_image"):
        assert table.summary[key] == pytest.approx(by_hand.summary[key], rel=1e-12), key
    real = estimate(agreeing, compat)
    assert table.summary["ops_per_image"] > real.summary["ops_per_image"]
    # one quirk alone does it over our model
    alone = estimate(edited, cfg.replace(compat_quirks="neurosim_table_shape"))
    assert {m.name: m.weight_cols for m in alone.mapping.layers}["d2"] == 32 * 8


def test_disagreeing_cin_pads_inputs_and_weights(dense, tmp_path):
    """A table Cin above the trace's: the extra input channels hold zero weights and zero
    inputs (NeuroSim reads past the files' rows); below it, the table's channels only."""
    _, folder = dense
    plain = _without_sidecar(folder, tmp_path)
    csv = plain / "NetWork_denseblock.csv"
    rows = csv.read_text().split()
    rows[3] = "8,8,40,1,1,16,1,1"                     # transition: Cin 32 in the trace
    csv.write_text("\n".join(rows) + "\n")
    trace, caught = _read(plain)
    assert len(caught) == 1 and "trans: table Cin 40 Cout 16, trace Cin 32 Cout 16" in str(
        caught[0].message)
    layer = next(x for x in trace.layers if x.geometry.name == "trans")
    view = layer.table_view()
    assert view.weight_codes.shape == (16, 40, 1, 1) and view.input_codes.shape == (1, 40, 8, 8)
    np.testing.assert_array_equal(view.weight_codes[:, :32], layer.weight_codes)
    assert not view.weight_codes[:, 32:].any() and not view.input_codes[:, 32:].any()
    narrow = LayerTrace(layer.geometry.__class__(**{**layer.geometry.to_json(),
                                                   "table_channels": (24, 8)}),
                        layer.weight_codes, layer.weight_scale, layer.input_codes,
                        layer.input_scale).table_view()
    np.testing.assert_array_equal(narrow.weight_codes, layer.weight_codes[:8, :24])
    np.testing.assert_array_equal(narrow.input_codes, layer.input_codes[:, :24])


def test_export_writes_the_table_back(dense, tmp_path):
    """A trace imported from a disagreeing table exports the table as it was, so NeuroSim
    runs it as before, and imports again with the same two shapes."""
    _, folder = dense
    trace, _ = _read(_densenet40_table(folder, tmp_path / "a"))
    out = export_neurosim(trace, tmp_path / "again", model_name="denseblock")
    assert (out / "NetWork_denseblock.csv").read_text().split()[1:3] == [
        "8,8,8,3,3,20,0,1", "8,8,20,3,3,32,0,1"]
    again, caught = _read(out)
    assert len(caught) == 1
    assert [x.geometry.table_channels for x in again.layers] == \
        [x.geometry.table_channels for x in trace.layers]


def test_table_channels_bad_input():
    from chip.synthetic import _conv
    from contracts.trace import LayerGeometry, TraceError
    g = _conv("c", 4, 6, 3, 8)
    for bad, fragment in (((0, 6), "must be two positive channel counts"),
                          ((4, 6, 1), "must be two positive channel counts")):
        with pytest.raises(TraceError, match=fragment):
            LayerGeometry(**{**g.to_json(), "table_channels": bad})
    with pytest.raises(TraceError, match="no grouped layers"):
        LayerGeometry(**{**g.to_json(), "groups": 2, "table_channels": (4, 8)})
    # written to a manifest only when set; read back as a tuple
    assert "table_channels" not in g.to_json()
    again = LayerGeometry.from_json({**g.to_json(), "table_channels": [4, 8]})
    assert again.table_channels == (4, 8) and again.table_geometry().out_channels == 8
