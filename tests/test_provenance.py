"""One provenance for the config (contracts.provenance): step 1 records its sources, step 2
prices the trace's hardware plus what changed since, the same way from the command line and
from Python, and every report says what it priced."""
from __future__ import annotations

import json
import warnings

import pytest
import torch

import chip.cli
from chip.estimator import ProvenanceWarning, estimate
from cim.cli import main as step1
from contracts.config import ConfigError, HardwareConfig
from contracts.presets import preset
from contracts.provenance import step1_config, step1_record, step2_config, typed_overrides
from contracts.user_defaults import UserConfigError, load_user_defaults

FIGURES = ("area_mm2", "clock_period_ns", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
           "leakage_energy_per_image_pJ", "tops_per_w", "tops")


def _manifest(config: HardwareConfig, sources: dict | None, hardware=0.97) -> dict:
    return {"config": config.to_dict(), "config_hash": config.config_hash(),
            "provenance": sources, "accuracy": {"hardware": hardware}}


# --- the rule, on manifests -------------------------------------------------------------------

def test_step1_sources_in_order_file_then_preset_then_set():
    file = HardwareConfig(adc_bits=6)
    assert step1_config(file, None, ["adc_bits=4"]).adc_bits == 4
    assert step1_config(file, None, None) is file
    assert step1_config(file, "neurosim-1.4-default", None) == preset("neurosim-1.4-default")
    assert step1_config(None, None, {"cell_bits": 2}).cell_bits == 2
    record = step1_record(file, "neurosim-1.4-default", ["adc_bits=4"])
    assert record == {"preset": "neurosim-1.4-default", "file": None, "file_label": None,
                      "overrides": {"adc_bits": 4}}          # the file was not in effect


def test_step2_prices_the_trace_hardware_when_nothing_changed():
    made = HardwareConfig(operation_mode="parallel", adc_bits=4)
    manifest = _manifest(made, step1_record(HardwareConfig(), None, ["operation_mode=parallel",
                                                                     "adc_bits=4"]))
    for file in (None, HardwareConfig()):                    # the API, and an unchanged file
        config, prov = step2_config(manifest, file_config=file)
        assert config == made and prov.changed == {} and prov.warning() is None


def test_step2_applies_file_edits_since_step_1_and_warns_for_accuracy_fields():
    manifest = _manifest(HardwareConfig(adc_bits=4), step1_record(HardwareConfig(), None,
                                                                   ["adc_bits=4"]))
    edited = HardwareConfig(technology_node_nm=45, cell_bits=2)
    config, prov = step2_config(manifest, file_config=edited)
    assert (config.technology_node_nm, config.cell_bits, config.adc_bits) == (45, 2, 4)
    assert prov.changed["cell_bits"] == {"trace": 1, "now": 2, "by": "inferenceConfig.py"}
    assert "technology_node_nm" in prov.changed and "technology_node_nm" not in \
        prov.accuracy_changes()
    assert prov.warning().startswith("warning: cell_bits=2 (trace: 1, from inferenceConfig.py)")
    assert "hardware 97.00 %" in prov.warning()


def test_step2_set_and_preset_win_and_are_named():
    manifest = _manifest(HardwareConfig(), step1_record(HardwareConfig(), None, None))
    config, prov = step2_config(manifest, preset="neurosim-1.4-default", overrides=["adc_bits=6"])
    assert config == preset("neurosim-1.4-default").replace(adc_bits=6)
    assert prov.changed["adc_bits"]["by"] == "--set"
    assert prov.changed["memory_cell"]["by"] == "--preset neurosim-1.4-default"
    assert prov.preset == "neurosim-1.4-default"


def test_a_trace_made_with_a_preset_is_priced_with_it_and_the_file_is_not_applied():
    made = preset("neurosim-1.4-default")
    manifest = _manifest(made, step1_record(HardwareConfig(), "neurosim-1.4-default", None))
    config, prov = step2_config(manifest, file_config=HardwareConfig(technology_node_nm=45))
    assert config == made and prov.preset == "neurosim-1.4-default"
    assert "inferenceConfig.py's HARDWARE is not applied" in prov.notes[0]


def test_partial_recorded_config_is_completed_by_the_file():
    manifest = {"config": {"weight_bits": 8, "subarray_rows": 64}, "config_hash": ""}
    config, prov = step2_config(manifest, file_config=HardwareConfig(technology_node_nm=45,
                                                                     subarray_rows=256))
    assert (config.technology_node_nm, config.subarray_rows) == (45, 64)
    assert prov.trace_config_hash is None and prov.changed == {}


def test_no_recorded_config_builds_like_step_1():
    config, prov = step2_config({}, file_config=HardwareConfig(adc_bits=6),
                                overrides={"cell_bits": 2})
    assert (config.adc_bits, config.cell_bits) == (6, 2)
    assert prov.trace_config_hash is None and "no recorded config" in prov.head_line()


def test_bad_overrides_are_config_errors():
    with pytest.raises(ConfigError, match="unknown config key 'adcbits'"):
        typed_overrides({"adcbits": 4})
    with pytest.raises(ConfigError, match="must be a list of key=value"):
        typed_overrides("adc_bits=4")


# --- the command lines and the API agree -------------------------------------------------------

@pytest.fixture(scope="module")
def parallel_trace(tmp_path_factory):
    """A LeNet-5 trace made in parallel mode with a 4-bit ADC (20 scored images)."""
    work = tmp_path_factory.mktemp("work")
    threads = torch.get_num_threads()
    try:
        assert step1(["--eval-images", "20", "--quiet", "--set", "operation_mode=parallel",
                      "--set", "adc_bits=4", "--trace-dir", str(work / "rec"),
                      "--results-dir", str(work / "res")], user_config=None) == 0
    finally:
        torch.set_num_threads(threads)
    return work


def test_estimate_and_chip_py_give_the_same_figures_on_a_non_default_trace(parallel_trace,
                                                                          capsys):
    trace = parallel_trace / "rec"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvenanceWarning)      # nothing differs: no warning
        api = estimate(trace).summary
    assert chip.cli.main(["--trace", str(trace), "--out", str(parallel_trace / "res"),
                          "--json", "--no-plot"], user_config=None) == 0
    cli = json.loads(capsys.readouterr().out)
    assert api["config"]["operation_mode"] == "parallel" and api["config"]["adc_bits"] == 4
    for key in FIGURES:
        assert cli[key] == pytest.approx(api[key], rel=1e-12), key
    for summary in (api, cli):
        assert summary["changed_from_trace"] == {}
        assert summary["trace_config_hash"] == summary["config_hash"]
        assert summary["trace_accuracy"]["hardware"] is not None
    assert cli["trace"] == str(trace)


def test_every_report_names_hash_preset_trace_and_accuracy(parallel_trace, capsys):
    res = parallel_trace / "res"
    accuracy = json.loads((res / "accuracy.json").read_text())
    assert {"config_hash", "preset", "trace_dir", "accuracy"} <= set(accuracy)
    assert chip.cli.main(["--trace", str(parallel_trace / "rec"), "--out", str(res),
                          "--no-plot", "--set", "adc_bits=5"], user_config=None) == 0
    captured = capsys.readouterr()
    head = captured.out.splitlines()[0]
    assert head.startswith("priced config ") and "(no preset)" in head and "rec" in head
    assert f"trace config {accuracy['config_hash']}" in head and "hardware " in head
    assert captured.err.startswith("warning: adc_bits=5 (trace: 4, from --set)")
    summary = json.loads((res / "summary.json").read_text())
    csv_head = (res / "summary.csv").read_text().splitlines()[0].split(",")
    for key in ("config_hash", "preset", "trace", "trace_config_hash"):
        assert key in summary and key in csv_head
    assert (res / "accuracy.json").is_file()          # same trace config: kept beside


def test_a_changed_file_field_reaches_chip_py_with_one_warning(parallel_trace, tmp_path, capsys):
    config_file = tmp_path / "inferenceConfig.py"
    config_file.write_text("from contracts.config import HardwareConfig\n"
                           "HARDWARE = HardwareConfig(cell_bits=2)\n")
    assert chip.cli.main(["--trace", str(parallel_trace / "rec"), "--out",
                          str(tmp_path / "out"), "--no-plot", "--json"],
                         user_config=config_file) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["config"]["cell_bits"] == 2 and summary["config"]["adc_bits"] == 4
    warning_lines = [line for line in captured.err.splitlines() if line.startswith("warning")]
    assert warning_lines == [line for line in warning_lines if "cell_bits=2" in line]
    assert len(warning_lines) == 1


def test_user_config_file_errors_are_one_line(tmp_path):
    cases = {
        "HARDWARE = (\n": "line 1: syntax error",
        "from contracts.config import HardwareConfig\nHARDWARE = HardwareConfig(adcbits=5)\n":
            "unknown config key 'adcbits'; did you mean 'adc_bits'?",
        "RESULTS_DIR = None\n": "RESULTS_DIR=None has type NoneType; expected str or Path",
        "HARDWARE = {'adc_bits': 99}\n": "HARDWARE: adc_bits=99 must be between 1 and 16",
        "from contracts.config import HardwareConfig\nHARDWARE = HardwareConfig(adc_bits=0)\n":
            "line 2: adc_bits=0 must be a positive integer",
        "TRACE_IMAGES = 0\n": "TRACE_IMAGES=0 must be >= 1",
    }
    for text, message in cases.items():
        path = tmp_path / "inferenceConfig.py"
        path.write_text(text)
        with pytest.raises(UserConfigError) as info:
            load_user_defaults(path)
        assert message in str(info.value) and "\n" not in str(info.value), text
    path.write_text("HARDWARE = {'adc_bits': 6}\nNETWORK = 'vgg8'\n")
    loaded = load_user_defaults(path)
    assert loaded.hardware.adc_bits == 6 and loaded.default_trace() == "layer_record_VGG8"


def test_a_trace_that_records_a_removed_field_is_still_priced(tmp_path):
    """Traces written before read_pulse_width_s was removed record it in their config and in
    the file snapshot of their provenance: step 2 reads them and prices the rest."""
    made = HardwareConfig(adc_bits=4, operation_mode="parallel")
    old = dict(made.to_dict(), read_pulse_width_s=10e-9)
    sources = step1_record(HardwareConfig(), None, ["adc_bits=4", "operation_mode=parallel"])
    sources["file"] = dict(HardwareConfig().to_dict(), read_pulse_width_s=10e-9)
    manifest = {"config": old, "config_hash": "0" * 16, "provenance": sources,
                "accuracy": {"hardware": 0.9}}
    for file in (None, HardwareConfig(), HardwareConfig(technology_node_nm=45)):
        config, prov = step2_config(manifest, file_config=file)
        assert config.adc_bits == 4 and config.operation_mode == "parallel"
        assert prov.accuracy_changes() == {} and prov.warning() is None


def test_user_config_file_setting_a_removed_field_names_why(tmp_path):
    path = tmp_path / "inferenceConfig.py"
    path.write_text("from contracts.config import HardwareConfig\n"
                    "HARDWARE = HardwareConfig(read_pulse_width_s=10e-9)\n")
    with pytest.raises(UserConfigError) as info:
        load_user_defaults(path)
    message = str(info.value)
    assert message.startswith("inferenceConfig.py line 2: config key 'read_pulse_width_s' was "
                              "removed: it had no effect")
    assert "\n" not in message and "did you mean" not in message
    path.write_text("HARDWARE = {'read_pulse_width_s': 10e-9}\n")
    with pytest.raises(UserConfigError, match="HARDWARE: config key 'read_pulse_width_s' was "
                                              "removed"):
        load_user_defaults(path)
