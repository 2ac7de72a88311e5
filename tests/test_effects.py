"""contracts.effects: the table of fields without effect is checked against the estimator
itself - a field the table calls ineffective for the cost moves no figure, one it does not
name moves at least one (on a small network, at representative points)."""
from __future__ import annotations

import warnings

import pytest

from chip.estimator import estimate
from chip.synthetic import _conv, _linear, synthetic_layers
from contracts.config import ConfigError, HardwareConfig
from contracts.effects import STEP1_ONLY, effect_note, ineffective, step2_refusal
from contracts.trace import Trace

FIGURES = ("area_mm2", "clock_period_ns", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
           "leakage_energy_per_image_pJ", "write_energy_pJ", "write_latency_ns")
TINY = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 16, 3, 8, after=("relu", "maxpool2x2")),
        _linear("fc", 256, 10)]
#: a value other than the base's for every field the test moves
OTHER = dict(adc_bits=6, adc_type="sar", rows_in_parallel=32, r_on_ohm=50e3, r_off_ohm=1e6,
             access_voltage_V=1.0, write_voltage_V=2.5, write_pulse_width_s=20e-9,
             adc_range="full_scale",
             programming_error_sigma=0.1, d2d_variation_sigma=0.1, read_noise_sigma=0.1,
             stuck_at_fault_rate=0.1, wire_resistance_ohm=1.0, adc_noise_lsb=0.5,
             drift_model="power_law", cols_per_adc=4, cell_bits=2, technology_node_nm=45)
BASES = {"sequential rram": HardwareConfig(),
         "parallel rram": HardwareConfig(operation_mode="parallel"),
         "sequential sram": HardwareConfig(memory_cell="sram"),
         "parallel sram": HardwareConfig(memory_cell="sram", operation_mode="parallel")}


@pytest.fixture(scope="module")
def trace():
    return Trace(manifest={"network": "tiny", "config": {}},
                 layers=synthetic_layers(TINY, images=1, seed=0))


def _figures(trace, config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = estimate(trace, config).summary
    return tuple(summary[k] for k in FIGURES)


@pytest.mark.parametrize("base", sorted(BASES))
def test_the_cost_table_agrees_with_the_estimator(trace, base):
    config = BASES[base]
    reference = _figures(trace, config)
    dead = ineffective(config, "cost")
    for name, value in OTHER.items():
        try:
            moved = config.replace(**{name: value})
        except ValueError:
            continue                      # not a valid point (e.g. 2-bit SRAM cells)
        same = _figures(trace, moved) == reference
        assert same == (name in dead), f"{base}: {name}={value!r}"


@pytest.mark.parametrize("base", sorted(BASES))
def test_a_value_step_2_cannot_price_is_refused_not_ignored(trace, base):
    config = BASES[base].replace(input_encoding="dac")
    why = step2_refusal(config)
    assert why.startswith("input_encoding='dac' is simulated by step 1 but not priced by step 2")
    assert "input_encoding" not in ineffective(config, "cost")
    with pytest.raises(ConfigError) as info:
        _figures(trace, config)
    assert str(info.value) == why and "\n" not in why
    assert step2_refusal(BASES[base]) is None


def test_step_1_only_fields_are_accuracy_fields():
    accuracy = set(HardwareConfig.accuracy_fields())
    assert set(STEP1_ONLY) <= accuracy


def test_the_note_groups_fields_by_reason():
    config = HardwareConfig(adc_bits=4, d2d_variation_sigma=0.1)
    note = effect_note(config, "cost", ["adc_bits", "d2d_variation_sigma", "technology_node_nm"])
    assert note.startswith("warning: no effect on the chip's cost here: ")
    assert "adc_bits=4 (operation_mode='sequential'" in note
    assert "d2d_variation_sigma=0.1 (it changes accuracy (step 1) only" in note
    assert "technology_node_nm" not in note
    assert effect_note(config, "cost", ["technology_node_nm"]) is None
    with pytest.raises(ValueError, match="step="):
        ineffective(config, "speed")
