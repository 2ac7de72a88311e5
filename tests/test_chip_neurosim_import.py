"""Chip.py --trace on a DNN+NeuroSim layer_record folder or archive (issue 6, item 1).

Round trip: a synthetic native trace, exported in NeuroSim's format and imported back on the
command line, gives the same estimate as the native trace (within float rounding).
"""
from __future__ import annotations

import json
import shutil
import tarfile
import warnings
from pathlib import Path

import pytest

import chip.cli
from chip.estimator import SUMMARY_KEYS, is_neurosim_source
from chip.synthetic import _conv, _linear, write_synthetic_trace
from contracts.neurosim_writer import export_neurosim
from contracts.trace import read_trace

SMALL = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 32, 3, 8, after=("relu", "maxpool2x2")),
         _linear("fc", 512, 10)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("ns")
    native = write_synthetic_trace(base / "layer_record_SMALL", "small", geoms=SMALL, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exported = export_neurosim(read_trace(native), base / "ns" / "layer_record_SMALL",
                                   model_name="SMALL")
    return native, exported


def _run(*args) -> dict:
    # no capsys here: the editable build's import hook needs a real stdout
    args = list(args)
    out = args[args.index("--out") + 1]
    assert chip.cli.main(["--quiet", "--no-plot", *args]) == 0
    return json.loads((Path(out) / "summary.json").read_text())


def _same(a: dict, b: dict) -> None:
    for key in SUMMARY_KEYS:
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key


def test_detection(pair, tmp_path):
    native, exported = pair
    assert not is_neurosim_source(native)
    assert is_neurosim_source(exported)
    assert not is_neurosim_source(tmp_path)


@pytest.mark.parametrize("compat", ["none", "neurosim-1.4"])
def test_round_trip_folder_gives_same_estimate(pair, tmp_path, compat):
    native, exported = pair
    common = ["--preset", "neurosim-1.4-default", "--set", f"compat={compat}"]
    a = _run("--trace", str(native), "--out", str(tmp_path / "a"), *common)
    csv = exported / "NetWork_SMALL.csv"
    b = _run("--trace", str(exported), "--network-csv", str(csv),
             "--out", str(tmp_path / "b"), *common)
    _same(a, b)


def test_round_trip_archive(pair, tmp_path):
    native, exported = pair
    archive = tmp_path / "layer_record_SMALL.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(exported, arcname=exported.name)
    csv = tmp_path / "NetWork_SMALL.csv"
    shutil.copy(exported / "NetWork_SMALL.csv", csv)
    common = ["--preset", "neurosim-1.4-default"]
    a = _run("--trace", str(native), "--out", str(tmp_path / "a"), *common)
    b = _run("--trace", str(archive), "--network-csv", str(csv),
             "--out", str(tmp_path / "b"), *common)
    _same(a, b)


def test_network_csv_on_native_trace_is_an_error(pair, tmp_path, capsys):
    native, exported = pair
    code = chip.cli.main(["--trace", str(native), "--network-csv",
                          str(exported / "NetWork_SMALL.csv"), "--out", str(tmp_path / "x")])
    assert code == 2
    assert "network-csv" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
