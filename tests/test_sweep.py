"""chip.sweep and `Chip.py --sweep`: grid, validation before any run, parallel = serial,
Pareto front, files, bad input."""
from __future__ import annotations

import pandas as pd
import pytest

import chip.cli
import chip.estimator
import chip.sweep
from contracts.config import ConfigError
from chip.estimator import ProvenanceWarning, estimate
from contracts.presets import preset
from chip.sweep import SWEEP_METRICS, parse_axis, pareto_mask, run_sweep, sweep_points
from chip.synthetic import _conv, _linear, write_synthetic_trace
from conftest import importorskip

TINY = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 16, 3, 8, after=("relu", "maxpool2x2")),
        _linear("fc", 256, 10)]
BASE = preset("default").__class__.from_dict(
    {**preset("default").to_dict(), "operation_mode": "parallel", "rows_in_parallel": 32})


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    return write_synthetic_trace(tmp_path_factory.mktemp("t") / "layer_record_TINY", "tiny",
                                 geoms=TINY)


def test_parse_axis_types_each_value_like_set():
    assert parse_axis("adc_bits=4, 5,6").values == (4, 5, 6)
    assert parse_axis("pipeline=true,false").values == (True, False)
    assert parse_axis("memory_cell=rram,sram").values == ("rram", "sram")
    assert parse_axis("r_on_ohm=1e5,2e5").values == (1e5, 2e5)


@pytest.mark.parametrize("text, fragment", [
    ("adc_bits", "key=value1,value2"),
    ("adc_bits=4,,5", "empty value"),
    ("adc_bits=4,4", "repeats"),
    ("adc_bit=4,5", "unknown config key 'adc_bit'"),
    ("adc_bits=4,five", "not a valid int"),
])
def test_parse_axis_rejects_bad_text(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_axis(text)


def test_points_are_the_full_grid_in_order():
    points = sweep_points(BASE, [parse_axis("adc_bits=4,5"), parse_axis("subarray_rows=64,128")])
    assert [p.values for p in points] == [
        {"adc_bits": 4, "subarray_rows": 64}, {"adc_bits": 4, "subarray_rows": 128},
        {"adc_bits": 5, "subarray_rows": 64}, {"adc_bits": 5, "subarray_rows": 128}]
    assert all(p.config.rows_in_parallel == 32 for p in points)      # base kept
    assert points[3].config.adc_bits == 5 and points[3].config.subarray_rows == 128


def test_a_bad_point_is_named_before_anything_runs():
    with pytest.raises(ConfigError, match=r"sweep point subarray_rows=16: rows_in_parallel=32"):
        sweep_points(BASE, [parse_axis("subarray_rows=16,64")])
    with pytest.raises(ConfigError, match="more than once"):
        sweep_points(BASE, [parse_axis("adc_bits=4,5"), parse_axis("adc_bits=6")])
    with pytest.raises(ConfigError, match="at least one"):
        sweep_points(BASE, [])


def test_pareto_mask_by_hand():
    table = pd.DataFrame({"area_mm2": [1.0, 2.0, 2.0, 3.0, 1.0],
                          "tops_per_w": [5.0, 9.0, 8.0, 9.0, 4.0]})
    # (1,5) best small; (2,9) best efficient; (2,8) beaten by (2,9); (3,9) by (2,9); (1,4) by (1,5)
    assert pareto_mask(table).tolist() == [True, True, False, False, False]


def test_pareto_marks_only_the_first_of_equal_points():
    table = pd.DataFrame({"area_mm2": [1.0, 1.0, 2.0, 1.0], "tops_per_w": [5.0, 5.0, 9.0, 5.0]})
    assert pareto_mask(table).tolist() == [True, False, True, False]


def test_a_sweep_over_a_field_without_effect_is_refused_or_marked(tiny_trace):
    from contracts.config import HardwareConfig
    with pytest.raises(ConfigError, match="--sweep adc_bits: no effect on the chip's cost at "
                                          "any point \\(operation_mode='sequential'"):
        sweep_points(HardwareConfig(), [parse_axis("adc_bits=4,5")])
    with pytest.raises(ConfigError, match="d2d_variation_sigma: no effect .* accuracy"):
        sweep_points(BASE, [parse_axis("d2d_variation_sigma=0,0.1")])
    points = sweep_points(HardwareConfig(), [parse_axis("operation_mode=sequential,parallel"),
                                            parse_axis("adc_bits=4,6")])
    table = run_sweep(tiny_trace, points)
    assert table["no_effect"].tolist() == ["adc_bits", "adc_bits", "", ""]
    sequential = table[table["operation_mode"] == "sequential"]
    assert sequential["area_mm2"].nunique() == 1          # equal points ...
    assert pareto_mask(table)[sequential.index].sum() <= 1  # ... marked at most once


def test_each_row_equals_a_single_estimate(tiny_trace):
    points = sweep_points(BASE, [parse_axis("adc_bits=3,6")])
    table = run_sweep(tiny_trace, points)
    assert list(table.columns) == ["adc_bits", "no_effect", *SWEEP_METRICS]
    assert (table["no_effect"] == "").all()
    for (_, row), point in zip(table.iterrows(), points):
        with pytest.warns(ProvenanceWarning, match="adc_bits="):   # the trace has 5 bits
            summary = estimate(str(tiny_trace), point.config).summary
        for key in ("area_mm2", "tops_per_w", "latency_per_image_ns", "config_hash"):
            assert row[key] == summary[key], key
    # invariant: more ADC bits never cost less ADC area
    assert table["adc_area_mm2"].iloc[1] > table["adc_area_mm2"].iloc[0]


def test_parallel_sweep_equals_serial(tiny_trace):
    importorskip("joblib")
    points = sweep_points(BASE, [parse_axis("adc_bits=4,5"), parse_axis("pipeline=true,false")])
    serial = run_sweep(tiny_trace, points, jobs=1)
    parallel = run_sweep(tiny_trace, points, jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_jobs_must_be_positive(tiny_trace):
    with pytest.raises(ConfigError, match="jobs=0"):
        run_sweep(tiny_trace, sweep_points(BASE, [parse_axis("adc_bits=4,5")]), jobs=0)


def test_cli_sweep_writes_csv_and_prints_table(tiny_trace, tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = chip.cli.main(["--trace", str(tiny_trace), "--out", str(out), "--no-plot",
                        "--set", "operation_mode=parallel", "--set", "rows_in_parallel=32",
                        "--sweep", "adc_bits=4,5", "--sweep", "cols_per_adc=4,8"])
    assert rc == 0
    captured = capsys.readouterr()
    assert "4 points written" in captured.out
    assert "sweeping adc_bits" in captured.err            # accuracy field: warned once
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 4 and table["pareto"].any()
    assert set(zip(table["adc_bits"], table["cols_per_adc"])) == {(4, 4), (4, 8), (5, 4), (5, 8)}


@pytest.mark.parametrize("argv, fragment", [
    (["--sweep", "adc_bits=0,5"], "sweep point adc_bits=0"),
    (["--sweep", "adc_bits="], "empty value"),
    (["--jobs", "2"], "--jobs 2 applies only to --sweep"),
    (["--sweep", "adc_bits=4,5", "--updated-trace", "x"], "cannot be combined"),
])
def test_cli_sweep_bad_input_exit_2_no_files(tiny_trace, tmp_path, capsys, argv, fragment):
    out = tmp_path / "sweep"
    rc = chip.cli.main(["--trace", str(tiny_trace), "--out", str(out), *argv])
    assert rc == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_sweep_replaces_its_own_folder_but_never_a_users(tiny_trace, tmp_path, capsys,
                                                             monkeypatch):
    argv = ["--trace", str(tiny_trace), "--no-plot", "--quiet", "--sweep", "adc_bits=4,5",
            "--set", "operation_mode=parallel"]
    out = tmp_path / "sweep"
    assert chip.cli.main([*argv, "--out", str(out)]) == 0
    assert chip.cli.main([*argv, "--out", str(out)]) == 0               # a sweep's: replaced
    assert (out / "sweep.json").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    calls = []
    monkeypatch.setattr(chip.sweep, "run_sweep", lambda *a, **k: calls.append(1))
    capsys.readouterr()
    assert chip.cli.main([*argv, "--out", str(mine)]) == 2
    assert "left untouched" in capsys.readouterr().err
    assert calls == [] and (mine / "notes.txt").read_text() == "keep me"   # refused up front


def test_cli_estimate_refuses_a_users_folder_before_estimating(tiny_trace, tmp_path, capsys,
                                                               monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    monkeypatch.setattr(chip.estimator, "estimate",
                        lambda *a, **k: pytest.fail("estimated before checking --out"))
    assert chip.cli.main(["--trace", str(tiny_trace), "--out", str(mine)]) == 2
    assert "left untouched" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
