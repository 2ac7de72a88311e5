"""HardwareConfig: validation, overrides, presets, hashing."""
from __future__ import annotations

import pytest

from contracts.config import ConfigError, HardwareConfig, apply_overrides, parse_override
from contracts.presets import PRESETS, preset, preset_names


def test_defaults_are_valid_and_documented():
    config = HardwareConfig()
    assert config.memory_cell == "rram" and config.operation_mode == "sequential"
    for row in HardwareConfig.describe():
        assert row["doc"], row["name"]


def test_user_defaults_file_builds_the_same_type():
    import inferenceConfig

    assert isinstance(inferenceConfig.HARDWARE, HardwareConfig)
    assert inferenceConfig.TRACE_DIR == f"layer_record_{inferenceConfig.MODEL.upper()}"


def test_derived_quantities():
    config = HardwareConfig(weight_bits=8, cell_bits=2)
    assert config.cells_per_weight == 4
    assert config.replace(weight_encoding="differential").cells_per_weight == 8
    assert HardwareConfig(weight_bits=8, cell_bits=3).cells_per_weight == 3  # ceil(8/3)
    assert config.rows_per_read == 1
    assert config.replace(operation_mode="parallel", rows_in_parallel=32).rows_per_read == 32
    assert config.on_off_ratio == pytest.approx(17.0)
    assert HardwareConfig(memory_cell="sram").on_off_ratio == float("inf")


@pytest.mark.parametrize("text, key, value", [
    ("adc_bits=4", "adc_bits", 4),
    ("subarray_rows=64", "subarray_rows", 64),
    ("r_on_ohm=2e4", "r_on_ohm", 2e4),
    ("pipeline=false", "pipeline", False),
    ("pipeline=1", "pipeline", True),
    ("read_voltage_V=none", "read_voltage_V", None),
    ("read_voltage_V=0.3", "read_voltage_V", 0.3),
    ("memory_cell=sram", "memory_cell", "sram"),
])
def test_parse_override_types(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("overrides, fragment", [
    (["adc_bits=0"], "adc_bits=0"),
    (["subarray_rows=-1"], "subarray_rows=-1"),
    (["subarray_rows=1.5"], "subarray_rows"),
    (["cell_bits=9"], "cell_bits=9"),
    (["technology_node_nm=23"], "technology_node_nm=23"),
    (["no_such_key=1"], "no_such_key"),
    (["adc_bits"], "key=value"),
    (["temperature_K=450"], "temperature_K=450"),
    (["roadmap=hp", "technology_node_nm=7", "memory_cell=sram"], "roadmap='hp'"),
    (["memory_cell=rram", "technology_node_nm=7"], "memory_cell='rram'"),
    (["memory_cell=sram", "cell_bits=2"], "cell_bits=2"),
    (["operation_mode=parallel", "rows_in_parallel=256"], "rows_in_parallel=256"),
    (["rows_in_parallel=0"], "rows_in_parallel=0"),
    (["cols_per_adc=3"], "cols_per_adc=3"),
    (["r_off_ohm=1e4"], "r_off_ohm"),
    (["input_toggle_rate=1.5"], "input_toggle_rate"),
    (["mapping=diagonal"], "mapping='diagonal'"),
    (["pipeline=maybe"], "pipeline"),
    (["weight_bits=1", "cell_bits=1"], "weight_bits=1 must be >= 2"),
    (["r_on_ohm=nan"], "r_on_ohm=nan must be a finite number"),
    (["drift_time_s=inf"], "drift_time_s=inf must be a finite number"),
    (["read_voltage_V=-inf"], "read_voltage_V=-inf must be a finite number"),
])
def test_bad_values_name_the_field(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        apply_overrides(HardwareConfig(), overrides)
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_hash_is_stable_and_sensitive():
    a, b = HardwareConfig(), HardwareConfig()
    assert a.config_hash() == b.config_hash()
    assert a.config_hash() != a.replace(adc_bits=4).config_hash()


def test_dict_round_trip_and_unknown_keys():
    config = HardwareConfig(adc_bits=6, memory_cell="sram")
    assert HardwareConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="bogus"):
        HardwareConfig.from_dict(dict(config.to_dict(), bogus=1))


def test_accuracy_fields_cover_what_changes_the_computation():
    fields = set(HardwareConfig.accuracy_fields())
    assert {"adc_bits", "cell_bits", "rows_in_parallel", "weight_bits"} <= fields
    assert "technology_node_nm" not in fields and "clock_freq_max_Hz" not in fields


def test_presets_build_and_match_neurosim_default():
    for name in preset_names():
        assert isinstance(preset(name), HardwareConfig)
    ns = preset("neurosim-1.4-default")
    assert (ns.memory_cell, ns.technology_node_nm, ns.adc_bits, ns.rows_in_parallel,
            ns.mapping, ns.global_interconnect) == ("sram", 22, 5, 128, "novel", "xybus")
    assert len([n for n in PRESETS if n.startswith("table7-")]) == 8
    assert preset("table7-sram-1nm-par64").technology_node_nm == 1
    with pytest.raises(ConfigError, match="preset='nope'"):
        preset("nope")


def test_every_float_field_refuses_non_finite_values():
    import dataclasses
    import typing

    hints = typing.get_type_hints(HardwareConfig)
    floats = [f.name for f in dataclasses.fields(HardwareConfig)
              if hints[f.name] is float or float in typing.get_args(hints[f.name])]
    assert len(floats) > 20
    for name in floats:
        for bad in (float("nan"), float("inf"), float("-inf")):
            with pytest.raises(ConfigError, match=f"^{name}=.* must be a finite number$"):
                HardwareConfig(**{name: bad})


def test_weight_bits_two_is_the_smallest():
    assert HardwareConfig(weight_bits=2, cell_bits=1).weight_bits == 2
    assert HardwareConfig(activation_bits=1).activation_bits == 1   # unsigned inputs: fine


def test_fefet_is_refused_with_one_line_naming_the_way_out():
    assert "fefet" not in dict((r["name"], r["choices"]) for r in
                               HardwareConfig.describe())["memory_cell"]
    for make in (lambda: HardwareConfig(memory_cell="fefet"),
                 lambda: apply_overrides(HardwareConfig(), ["memory_cell=fefet"]),
                 lambda: HardwareConfig.from_dict({"memory_cell": "fefet"})):
        with pytest.raises(ConfigError) as info:
            make()
        message = str(info.value)
        assert message.startswith("memory_cell='fefet' is not supported: ")
        assert "use memory_cell='rram'" in message and "\n" not in message


def test_a_removed_field_is_refused_with_its_reason_not_as_a_typo():
    from contracts.config import REMOVED_FIELDS

    assert "read_pulse_width_s" in REMOVED_FIELDS
    assert "read_pulse_width_s" not in HardwareConfig().to_dict()
    for make in (lambda: HardwareConfig().replace(read_pulse_width_s=1e-8),
                 lambda: HardwareConfig.from_dict({"read_pulse_width_s": 1e-8}),
                 lambda: parse_override("read_pulse_width_s=1e-8")):
        with pytest.raises(ConfigError) as info:
            make()
        message = str(info.value)
        assert message.startswith("config key 'read_pulse_width_s' was removed: it had no "
                                  "effect (DNN+NeuroSim V1.4")
        assert "delete the setting" in message and "\n" not in message


def test_unknown_key_message_suggests_the_closest_key_else_lists_them():
    from dataclasses import fields

    from contracts.config import unknown_key_message
    known = [f.name for f in fields(HardwareConfig)]
    assert unknown_key_message("adc_bitz", known) == \
        "unknown config key 'adc_bitz'; did you mean 'adc_bits'?"
    far = unknown_key_message("zzzz", known)
    assert far.startswith("unknown config key 'zzzz'; known keys: access_device, ")
    assert unknown_key_message("read_pulse_width_s", known).startswith(
        "config key 'read_pulse_width_s' was removed")
