"""chip.cli / Chip.py: end to end, output files, --json/--quiet, every bad-input path.

The plumbing tests use the stand-in parts of test_hierarchy (they check the command line,
the writers and the error handling, not the circuit numbers); the real end-to-end run is
test_cli_vgg8_real_physics (it skips only where from_neurosim is not built, never in CI).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import chip.cli
import chip.estimator
from contracts.config import HardwareConfig
from chip.estimator import SUMMARY_KEYS
from chip.synthetic import _conv, _linear, write_synthetic_trace

from conftest import cannot_run
from test_hierarchy import FakeParts

REPO = Path(__file__).resolve().parents[1]
TINY = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 16, 3, 8, after=("relu", "maxpool2x2")),
        _linear("fc", 256, 10)]


@pytest.fixture()
def fake(monkeypatch):
    monkeypatch.setattr(chip.estimator, "default_parts", FakeParts)


@pytest.fixture(scope="module")
def vgg8_trace(tmp_path_factory):
    return write_synthetic_trace(tmp_path_factory.mktemp("t") / "layer_record_VGG8", "vgg8")


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    return write_synthetic_trace(tmp_path_factory.mktemp("t") / "layer_record_TINY", "tiny",
                                 geoms=TINY)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_cli_end_to_end_vgg8(fake, vgg8_trace, tmp_path, capsys):
    out = tmp_path / "results" / "VGG8"
    assert chip.cli.main(["--trace", str(vgg8_trace), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "TOPS/W" in printed and "mm²" in printed
    files = _files(out)
    assert {"summary.json", "summary.csv", "layers.csv", "breakdown.csv"} <= files
    summary = json.loads((out / "summary.json").read_text())
    for key in SUMMARY_KEYS:
        assert key in summary, key
        assert summary[key] > 0, key
    assert summary["unused_area_mm2"] >= 0
    parts = sum(summary["area_breakdown_mm2"].values())
    assert parts == pytest.approx(summary["area_mm2"], rel=1e-9)       # the rows add up
    assert summary["config_hash"] == HardwareConfig.from_dict(summary["config"]).config_hash()
    import pandas as pd
    layers = pd.read_csv(out / "layers.csv")
    assert len(layers) == 8 and {"tiles", "pes", "arrays_used", "duplication", "utilization",
                                 "latency_ns", "dynamic_energy_pJ"} <= set(layers.columns)
    bd = pd.read_csv(out / "breakdown.csv")
    assert list(bd.columns) == ["layer", "level", "component", "category", "metric", "value",
                                "unit"]
    assert set(bd["level"]) >= {"subarray", "pe", "tile", "chip"}
    assert len(pd.read_csv(out / "summary.csv")) == 1
    try:
        import matplotlib  # noqa: F401
        assert "breakdown.png" in files
    except ImportError:
        pass
    # no staging folders left beside the results
    assert [p.name for p in out.parent.iterdir()] == ["VGG8"]


def test_cli_json_and_quiet(fake, tiny_trace, tmp_path, capsys):
    assert chip.cli.main(["--trace", str(tiny_trace), "--out", str(tmp_path / "a"), "--json",
                          "--no-plot"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["network"] == "TINY" and data["tops_per_w"] > 0
    assert chip.cli.main(["--trace", str(tiny_trace), "--out", str(tmp_path / "b"), "--quiet",
                          "--no-plot"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_cli_accuracy_field_warning(fake, tiny_trace, tmp_path, capsys):
    assert chip.cli.main(["--trace", str(tiny_trace), "--out", str(tmp_path / "w"), "--no-plot",
                          "--set", "adc_bits=4", "--set", "technology_node_nm=32"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning:") and "adc_bits=4" in err[0]
    assert "technology_node_nm" not in err[0]      # a cost field: no warning
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert summary["config"]["adc_bits"] == 4


def test_cli_manifest_accuracy_fields_win_over_defaults(fake, tmp_path, capsys):
    cfg = HardwareConfig(subarray_rows=64, subarray_cols=64, rows_in_parallel=64)
    trace = write_synthetic_trace(tmp_path / "layer_record_T", "t", geoms=TINY, config=cfg)
    assert chip.cli.main(["--trace", str(trace), "--out", str(tmp_path / "r"), "--quiet",
                          "--no-plot"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["config"]["subarray_rows"] == 64


def test_cli_updated_trace(fake, tiny_trace, tmp_path, capsys):
    new = write_synthetic_trace(tmp_path / "layer_record_NEW", "tiny", geoms=TINY, seed=1)
    assert chip.cli.main(["--trace", str(tiny_trace), "--updated-trace", str(new), "--out",
                          str(tmp_path / "u"), "--quiet", "--no-plot"]) == 0
    s = json.loads((tmp_path / "u" / "summary.json").read_text())
    assert 0 < s["rewrite_energy_pJ"] <= s["write_energy_pJ"] and s["rewrite_cells"] > 0


def _broken_shape(tmp_path, tiny_trace):
    import shutil
    bad = tmp_path / "layer_record_BAD"
    shutil.copytree(tiny_trace, bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["layers"][1]["out_channels"] = 17
    (bad / "manifest.json").write_text(json.dumps(manifest))
    return bad


def _incomplete(tmp_path, tiny_trace):
    import shutil
    bad = tmp_path / "layer_record_INC"
    shutil.copytree(tiny_trace, bad)
    next(bad.glob("*.npz")).unlink()
    return bad


BAD = {
    "missing folder": (lambda tmp, t: ["--trace", str(tmp / "nope")], "does not exist"),
    "incomplete folder": (lambda tmp, t: ["--trace", str(_incomplete(tmp, t))], "missing"),
    "no manifest": (lambda tmp, t: ["--trace", str(tmp)], "manifest.json"),
    "unknown preset": (lambda tmp, t: ["--trace", str(t), "--preset", "nope"], "preset"),
    "unknown --set key": (lambda tmp, t: ["--trace", str(t), "--set", "adc_bitz=4"],
                          "unknown config key"),
    "--set without =": (lambda tmp, t: ["--trace", str(t), "--set", "adc_bits"], "key=value"),
    "adc_bits=0": (lambda tmp, t: ["--trace", str(t), "--set", "adc_bits=0"], "adc_bits"),
    "subarray_rows=-1": (lambda tmp, t: ["--trace", str(t), "--set", "subarray_rows=-1"],
                         "subarray_rows"),
    "subarray_rows=1.5": (lambda tmp, t: ["--trace", str(t), "--set", "subarray_rows=1.5"],
                          "subarray_rows"),
    "cell_bits > weight_bits": (lambda tmp, t: ["--trace", str(t), "--set", "weight_bits=2",
                                                "--set", "cell_bits=3"], "cell_bits"),
    "unknown node": (lambda tmp, t: ["--trace", str(t), "--set", "technology_node_nm=23"],
                     "technology_node_nm"),
    "shapes disagree": (lambda tmp, t: ["--trace", str(_broken_shape(tmp, t))], "disagrees"),
    "unknown option": (lambda tmp, t: ["--trace", str(t), "--bogus"], "unrecognized"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_cli_bad_input(case, fake, tiny_trace, tmp_path, capsys):
    make_args, needle = BAD[case]
    out = tmp_path / "results" / "X"
    code = chip.cli.main(make_args(tmp_path, tiny_trace) + ["--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:") and needle in lines[0], lines[0]
    assert not out.exists()
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_failure_during_writing_leaves_no_files(fake, tiny_trace, tmp_path, monkeypatch):
    import chip.report
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(chip.report, "_plot", boom)
    out = tmp_path / "res" / "TINY"
    assert chip.cli.main(["--trace", str(tiny_trace), "--out", str(out), "--quiet"]) == 2
    assert not out.exists() and list((tmp_path / "res").iterdir()) == []


def test_chip_py_never_imports_torch(tiny_trace, tmp_path):
    code = f"""
import sys
sys.path.insert(0, {str(REPO / 'tests')!r})
import Chip, chip.cli, chip.estimator
try:
    chip.estimator.default_parts(chip.estimator.HardwareConfig())
    which = 'real'
except Exception:
    from test_hierarchy import FakeParts
    chip.estimator.default_parts = FakeParts
    which = 'stand-in'
rc = chip.cli.main(['--trace', {str(tiny_trace)!r}, '--out', {str(tmp_path / 'o')!r},
                    '--quiet', '--no-plot'])
print(rc, which, 'torch' in sys.modules)
"""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rc, which, torch_loaded = res.stdout.split()[-3:]  # an editable dev install may log its rebuild first
    assert rc == "0" and torch_loaded == "False", res.stdout


def test_chip_py_help():
    res = subprocess.run([sys.executable, "Chip.py", "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "--preset" in res.stdout


def test_cli_vgg8_real_physics(vgg8_trace, tmp_path):
    from chip.parts import PhysicsUnavailable, default_parts
    try:
        default_parts(HardwareConfig())
    except PhysicsUnavailable as err:
        cannot_run("bindings", f"circuit models unavailable: {err}")
    out = tmp_path / "VGG8"
    assert chip.cli.main(["--trace", str(vgg8_trace), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in SUMMARY_KEYS:
        assert summary[key] > 0, key
