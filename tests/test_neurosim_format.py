"""DNN+NeuroSim V1.4 layer_record folders: export -> import round trip, error paths that
name the file, and the real VGG-8 trace from ../shared (skipped when absent)."""
from __future__ import annotations

import gzip
import json
import shutil
import tarfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from contracts.neurosim_reader import SIDECAR, TRACE_COMMAND, read_neurosim
from contracts.neurosim_writer import export_neurosim
from contracts.trace import LayerGeometry, LayerTrace, Trace, TraceError, read_trace, write_trace
from conftest import shared_path


def _net(seed: int = 0, full_range: bool = True) -> Trace:
    """conv 'same' (signed input, negatives present) + max-pool -> conv stride 2 padding 1 ->
    linear. ``full_range``: unsigned codes use all 8 bits (then NeuroSim needs a 9th bit)."""
    rng = np.random.default_rng(seed)
    conv1 = LayerGeometry(name="conv1", kind="conv2d", in_channels=3, out_channels=4,
                          kernel_size=(3, 3), padding=(1, 1), input_hw=(8, 8), output_hw=(8, 8),
                          followed_by=("relu", "maxpool2x2"), input_signed=True)
    conv2 = LayerGeometry(name="conv2", kind="conv2d", in_channels=4, out_channels=6,
                          kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), input_hw=(4, 4),
                          output_hw=(2, 2), followed_by=("relu",))
    fc = LayerGeometry(name="fc", kind="linear", in_channels=24, out_channels=10)
    top = 256 if full_range else 128
    layers = []
    for g in (conv1, conv2, fc):
        lo, hi = (-128, 128) if g.input_signed else (0, top)
        layers.append(LayerTrace(
            g, rng.integers(-128, 128, g.weight_shape).astype(np.int8), 1 / 128,
            rng.integers(lo, hi, g.input_shape(1)), 1 / 128 if g.input_signed else 1 / 255))
    return Trace(manifest={"network": "TINY", "config": {"subarray_rows": 64,
                                                         "rows_in_parallel": 32},
                           "images": 1}, layers=layers)


def _same(native: Trace, loaded: Trace, scales: bool = True) -> None:
    assert len(native.layers) == len(loaded.layers)
    for a, b in zip(native.layers, loaded.layers):
        assert replace(b.geometry, file=a.geometry.file) == a.geometry
        np.testing.assert_array_equal(b.weight_codes, a.weight_codes)
        np.testing.assert_array_equal(b.input_codes, a.input_codes)
        if scales:
            assert (b.weight_scale, b.input_scale) == (a.weight_scale, a.input_scale)


@pytest.fixture()
def exported(tmp_path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return export_neurosim(_net(), tmp_path / "layer_record_TINY")


# ---------------------------------------------------------------------------------- format

def test_export_writes_neurosim_layout(exported):
    names = sorted(p.name for p in exported.iterdir())
    assert names == sorted(["NetWork_TINY.csv", TRACE_COMMAND, SIDECAR, "weightconv1.csv",
                            "inputconv1.csv", "weightconv2.csv", "inputconv2.csv",
                            "weightfc.csv", "inputfc.csv"])
    assert (exported / "NetWork_TINY.csv").read_text().splitlines() == [
        "8,8,3,3,3,4,1,1", "4,4,4,3,3,6,0,2", "1,1,24,1,1,10,0,1"]
    command = (exported / TRACE_COMMAND).read_text()
    # full-range unsigned 8-bit codes need a 9th (sign) bit in NeuroSim's format
    assert command.startswith("./NeuroSIM/main ./NeuroSIM/NetWork_TINY.csv 8 9 64 32 "
                              "./layer_record_TINY/weightconv1.csv ./layer_record_TINY/"
                              "inputconv1.csv ")
    weight_rows = (exported / "weightconv1.csv").read_text().splitlines()
    assert len(weight_rows) == 27 and len(weight_rows[0]) == 4 * 11 - 1
    assert all(len(cell) == 10 for cell in weight_rows[0].split(","))
    inputs = (exported / "inputconv2.csv").read_text().splitlines()
    assert len(inputs) == 4 * 9 and set(inputs[0]) <= set("01,")
    assert len(inputs[0].split(",")) == 2 * 2 * 9          # P = 2x2 positions, B = 9 bits
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")]


def test_bits_are_sign_first_msb_first_im2col_of_padded_input(tmp_path):
    g = LayerGeometry(name="c", kind="conv2d", in_channels=1, out_channels=1, kernel_size=(3, 3),
                      padding=(1, 1), input_hw=(2, 2), output_hw=(2, 2), input_signed=True,
                      input_bits=4)
    x = np.array([[[[1, -1], [5, -8]]]])
    trace = Trace({"network": "B"}, [LayerTrace(g, np.ones((1, 1, 3, 3), np.int8), 0.125, x,
                                                0.125)])
    out = export_neurosim(trace, tmp_path / "rec", model_name="B")
    rows = [r.split(",") for r in (out / "inputc.csv").read_text().splitlines()]
    centre = rows[4]                                   # tap (1, 1): the pixel itself
    assert ["".join(centre[p * 4:(p + 1) * 4]) for p in range(4)] == ["0001", "1111", "0101",
                                                                      "1000"]
    assert "".join(rows[0][:4]) == "0000"              # tap (0, 0) of position 0 is padding
    assert "".join(rows[8][:4]) == "1000"              # tap (2, 2) of position 0: pixel (1,1)
    assert (out / "weightc.csv").read_text() == "   0.00781\n" * 9    # code 1 / 2^(8-1)


# ------------------------------------------------------------------------------ round trip

def test_round_trip_exact_with_sidecar(exported):
    loaded = read_neurosim(exported)
    _same(_net(), loaded)
    assert loaded.manifest["network"] == "TINY" and loaded.manifest["config"]["subarray_rows"] == 64
    assert loaded.manifest["neurosim"]["wl_activate"] == 9


def test_round_trip_from_format_alone(tmp_path):
    """Without the sidecar (a folder as NeuroSim writes it) the geometry is inferred: padding
    from the positions, kind, pooling, signedness; scales are 2^-(wl-1)."""
    native = _net(seed=3, full_range=False)
    native.layers = [LayerTrace(l.geometry, l.weight_codes, 1 / 128, l.input_codes, 1 / 128)
                     for l in native.layers]
    folder = export_neurosim(native, tmp_path / "layer_record_TINY")
    (folder / SIDECAR).unlink()
    loaded = read_neurosim(folder)
    _same(native, loaded)
    assert [l.geometry.input_signed for l in loaded.layers] == [True, False, False]


def test_round_trip_of_native_trace_folder(tmp_path):
    native_folder = write_trace(tmp_path / "layer_record_N", "N", _net(seed=5).layers,
                                {"subarray_rows": 128}, "hash")
    native = read_trace(native_folder)
    with pytest.warns(UserWarning, match="wl_activate = 9"):
        folder = export_neurosim(native, tmp_path / "ns" / "layer_record_N")
    _same(native, read_neurosim(folder))


def test_archive_and_gzip_members(exported, tmp_path):
    gz_folder = tmp_path / "gz" / exported.name
    shutil.copytree(exported, gz_folder)
    for path in gz_folder.glob("*put*.csv"):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    _same(_net(), read_neurosim(gz_folder))
    for suffix, mode in ((".tar.xz", "w:xz"), (".tar.gz", "w:gz")):
        archive = tmp_path / f"rec{suffix}"
        with tarfile.open(archive, mode) as tar:
            tar.add(gz_folder, arcname=exported.name)
        _same(_net(), read_neurosim(archive))


def test_bits_override_and_network_csv_argument(exported, tmp_path):
    net = exported / "NetWork_TINY.csv"
    moved = tmp_path / "elsewhere.csv"
    shutil.move(net, moved)
    (exported / SIDECAR).unlink()
    loaded = read_neurosim(exported, network_csv=moved, weight_bits=9)
    assert loaded.layers[0].geometry.weight_bits == 9
    np.testing.assert_array_equal(loaded.layers[0].weight_codes, 2 * _net().layers[0].weight_codes.astype(int))


def test_other_number_layouts_and_crlf(tmp_path):
    """Weights not in NeuroSim's fixed width (here %.7f, exponents, CRLF) take the general
    path and give the same codes."""
    folder = _plain(tmp_path)
    expected = read_neurosim(folder)
    path = folder / "weightconv2.csv"
    values = np.loadtxt(path, delimiter=",")
    np.savetxt(path, values, fmt="%.7f", delimiter=",", newline="\r\n")
    np.savetxt(folder / "weightfc.csv", np.loadtxt(folder / "weightfc.csv", delimiter=","),
               fmt="%.9e", delimiter=",")
    bits = folder / "inputconv1.csv"
    bits.write_bytes(bits.read_bytes().replace(b"\n", b"\r\n"))
    _same(expected, read_neurosim(folder))


# ------------------------------------------------------------------------------ error paths

def _plain(tmp_path) -> Path:
    native = _net(seed=1, full_range=False)
    folder = export_neurosim(native, tmp_path / "layer_record_TINY")
    (folder / SIDECAR).unlink()
    return folder


def _edit(path: Path, row: int, col_char: int, new: str) -> None:
    lines = path.read_text().split("\n")
    line = lines[row]
    lines[row] = line[:col_char] + new + line[col_char + len(new):]
    path.write_text("\n".join(lines))


def _raises(folder: Path, fragment: str, file_name: str, **kwargs) -> str:
    with pytest.raises(TraceError) as info:
        read_neurosim(folder, **kwargs)
    message = str(info.value)
    assert file_name in message and fragment in message, message
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    folder = _plain(tmp_path)
    (folder / "inputconv2.csv").unlink()
    _raises(folder, "missing", "inputconv2.csv")


def test_missing_trace_command(tmp_path):
    folder = _plain(tmp_path)
    (folder / TRACE_COMMAND).unlink()
    _raises(folder, "missing", TRACE_COMMAND)


def test_ragged_rows(tmp_path):
    folder = _plain(tmp_path)
    path = folder / "inputconv1.csv"
    lines = path.read_text().split("\n")
    lines[5] = lines[5][:-2]
    path.write_text("\n".join(lines))
    assert "row 6" in _raises(folder, "ragged", "inputconv1.csv")


def test_ragged_weight_rows(tmp_path):
    folder = _plain(tmp_path)
    path = folder / "weightconv2.csv"
    lines = path.read_text().split("\n")
    lines[3] = lines[3] + ",   0.50000"
    path.write_text("\n".join(lines))
    _raises(folder, "ragged", "weightconv2.csv")


def test_non_bit_character(tmp_path):
    folder = _plain(tmp_path)
    _edit(folder / "inputconv2.csv", 2, 4, "2")
    _raises(folder, "not a 0/1", "inputconv2.csv")


def test_weight_off_grid(tmp_path):
    folder = _plain(tmp_path)
    _edit(folder / "weightfc.csv", 1, 0, "   0.12345")
    _raises(folder, "not on the 1/128 grid", "weightfc.csv")


def test_shape_disagrees_with_network_csv(tmp_path):
    """Channels that disagree import with a warning (tests/test_neurosim_tables.py); what
    cannot be priced is refused, saying why."""
    folder = _plain(tmp_path)
    net = folder / "NetWork_TINY.csv"
    net.write_text(net.read_text().replace("4,4,4,3,3,6,0,2", "4,4,4,5,5,6,0,2"))
    _raises(folder, "are not Cin*K*K for the 5x5 kernel", "weightconv2.csv")
    net.write_text(net.read_text().replace("4,4,4,5,5,6,0,2", "9,9,4,3,3,6,0,2"))
    _raises(folder, "fit no padding", "inputconv2.csv")
    net.write_text(net.read_text().replace("9,9,4,3,3,6,0,2", "4,4,4,3,3,6,0,2"))
    weights = folder / "weightconv2.csv"
    weights.write_text("\n".join(weights.read_text().split("\n")[1:]))
    _raises(folder, "must hold the same unrolled rows", "weightconv2.csv")


def test_overlapping_patches_disagree(tmp_path):
    folder = _plain(tmp_path)
    path = folder / "inputconv1.csv"
    lines = path.read_text().split("\n")
    cells = lines[4].split(",")                        # centre tap of channel 0
    position, bit = 9, 7                               # interior pixel (1, 1), LSB
    k = position * 8 + bit
    cells[k] = "1" if cells[k] == "0" else "0"
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines))
    _raises(folder, "patches disagree", "inputconv1.csv")


def test_sidecar_disagreeing_with_data(exported):
    note = json.loads((exported / SIDECAR).read_text())
    note["layers"][1]["geometry"]["padding"] = [0, 0]
    (exported / SIDECAR).write_text(json.dumps(note))
    _raises(exported, "fit no padding", "inputconv2.csv")


def test_bad_archive(tmp_path):
    bad = tmp_path / "broken.tar.xz"
    bad.write_bytes(b"not an archive")
    _raises(bad, "unreadable archive", "broken.tar.xz")


# ------------------------------------------------------------------- real VGG-8 (../shared)

@pytest.fixture(scope="module")
def vgg8_two_layers(tmp_path_factory):
    """The first two layers of NeuroSim's VGG-8 trace, streamed out of the archive once."""
    archive = shared_path("neurosim-vgg8", "layer_record_VGG8.tar.xz")
    table = shared_path("neurosim-vgg8", "NetWork_VGG8.csv")
    folder = tmp_path_factory.mktemp("ns") / "layer_record_VGG8"
    folder.mkdir()
    wanted = {"weightConv0_.csv", "inputConv0_.csv", "weightConv1_.csv", "inputConv1_.csv",
              TRACE_COMMAND}
    with tarfile.open(archive, "r|xz") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if name in wanted:
                (folder / name).write_bytes(tar.extractfile(member).read())
                wanted.discard(name)
            if not wanted:
                break
    command = (folder / TRACE_COMMAND).read_text().split()
    (folder / TRACE_COMMAND).write_text(" ".join(command[:10]) + " ")
    rows = table.read_text().splitlines()
    (folder / "NetWork_VGG8.csv").write_text("\r\n".join(rows[:2]) + "\r\n")
    return folder, [list(map(int, r.split(","))) for r in rows[:2]]


@pytest.mark.shared
def test_real_vgg8_first_layers(vgg8_two_layers, tmp_path):
    folder, rows = vgg8_two_layers
    trace = read_neurosim(folder)
    assert trace.manifest["network"] == "VGG8"
    for layer, (h, w, cin, kh, kw, cout, pool, stride) in zip(trace.layers, rows):
        g = layer.geometry
        assert g.kind == "conv2d" and g.padding == (1, 1) and g.output_hw == (h, w)
        assert layer.weight_codes.shape == (cout, cin, kh, kw)
        assert layer.input_codes.shape == (1, cin, h, w)
        assert g.weight_bits == g.input_bits == 8 and layer.weight_scale == 1 / 128
        assert ("maxpool2x2" in g.followed_by) == bool(pool)
        assert np.abs(layer.weight_codes).max() <= 127
    first, second = trace.layers
    assert first.geometry.input_signed and not second.geometry.input_signed
    assert first.input_codes.min() < 0 and 0 <= second.input_codes.min()
    # re-im2col of the recovered codes gives exactly the file's bits
    again = export_neurosim(trace, tmp_path / "layer_record_VGG8", model_name="VGG8")
    for name in ("inputConv0_.csv", "inputConv1_.csv", TRACE_COMMAND):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
