"""chip/compat.py: NeuroSim V1.4 conventions as named, individually switchable quirks."""
from __future__ import annotations

import pytest

from chip.compat import QUIRKS, active_quirks, parse_quirks, quirk_on
from chip.config import ConfigError, HardwareConfig, parse_override
from chip.presets import preset
from chip.synthetic import _conv, _linear, synthetic_layers
from cim.trace import Trace

SMALL = [_conv("c1", 3, 16, 3, 8), _conv("c2", 16, 32, 3, 8, after=("relu", "maxpool2x2")),
         _linear("fc", 512, 10)]


def test_registry_entries_are_documented():
    assert len(QUIRKS) >= 20
    for name, q in QUIRKS.items():
        assert name.islower() and " " not in name
        assert q.description and q.ours and q.source and q.where and q.figures


def test_config_field_validated_against_registry():
    cfg = HardwareConfig(compat_quirks="ops_from_input_size, buffer_traffic_halved")
    assert active_quirks(cfg) == {"ops_from_input_size", "buffer_traffic_halved"}
    assert quirk_on(cfg, "ops_from_input_size") and not quirk_on(cfg, "pe_bus_untimed")
    with pytest.raises(ConfigError, match="unknown quirk 'nope'"):
        HardwareConfig(compat_quirks="nope")
    assert parse_override("compat_quirks=pe_bus_untimed") == ("compat_quirks", "pe_bus_untimed")
    assert active_quirks(HardwareConfig()) == frozenset()
    assert active_quirks(HardwareConfig(compat="neurosim-1.4")) == frozenset(QUIRKS)
    with pytest.raises(KeyError):
        quirk_on(HardwareConfig(), "not_a_quirk")
    assert parse_quirks("") == ()


@pytest.fixture(scope="module")
def trace():
    layers = synthetic_layers(SMALL, seed=2, input_sparsity=0.5)
    return Trace(manifest={"network": "SMALL", "config": {}, "layers": []}, layers=layers)


def test_all_quirks_by_name_equal_compat_mode(trace):
    from chip import estimate
    base = preset("neurosim-1.4-default")
    full = estimate(trace, base.replace(compat="neurosim-1.4")).summary
    named = estimate(trace, base.replace(compat_quirks=",".join(QUIRKS))).summary
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ",
                "leakage_energy_per_image_pJ", "tops_per_w", "clock_period_ns"):
        assert named[key] == pytest.approx(full[key], rel=1e-12), key


def test_single_quirk_moves_only_its_figures(trace):
    from chip import estimate
    base = preset("neurosim-1.4-default")
    ours = estimate(trace, base).summary
    leak = estimate(trace, base.replace(compat_quirks="chip_blocks_no_leakage")).summary
    assert leak["leakage_energy_per_image_pJ"] < ours["leakage_energy_per_image_pJ"]
    for key in ("area_mm2", "latency_per_image_ns", "dynamic_energy_per_image_pJ"):
        assert leak[key] == pytest.approx(ours[key], rel=1e-12), key
