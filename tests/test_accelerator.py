"""neuropysim.Accelerator (issue 14): the docs example prints every statistic; the object's
statistics agree with the two steps run by hand; bad input fails with one clear line; the
realistic-device presets compose with hardware presets."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import chip.estimator  # noqa: F401  (an editable build's rebuild note prints here)
from contracts.config import ConfigError, HardwareConfig
from contracts.presets import DEVICE_FIELDS, DEVICE_PRESETS, PRESETS, preset
from neuropysim import Accelerator
from neuropysim.statistics import STATISTICS_LINES, required_memory

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "accelerator_profile.py"


def test_docs_example_prints_every_statistic(monkeypatch, capfd):
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "40"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capfd.readouterr().out
    assert "accuracy on 40 images: float" in out and "hardware" in out
    for _, label, _ in STATISTICS_LINES:
        assert f"\n{label}: " in out, label
    hit = int(out.split("stuck-at cells on the programmed chip: ")[1].split()[0])
    assert f"stuck-at faults injected: {hit:,d}" in out     # the profile's chip is that chip
    assert 0.005 < hit / 492539 < 0.015                      # 1 % of LeNet-5's cells


def test_profile_statistics_are_the_two_steps_figures():
    acc = Accelerator("lenet5", {"operation_mode": "parallel"})
    assert acc.inject_faults(0.0) == 0
    p = acc.profile("mnist5k", eval_images=8)
    s, s1 = acc.statistics(), p.step1.statistics
    assert s["dynamic_energy_per_inference_pJ"] == p.chip_summary["dynamic_energy_per_image_pJ"]
    assert s["latency_per_inference_ns"] == p.chip_summary["latency_per_image_ns"]
    assert s["array_writes"] == s1["writes"] == s1["cells_used"]
    # parallel: every read of the scored pass converts the layer's data and reference columns
    per_layer = sum(e["adc_conversions"] for e in s1["layers"])
    assert 0 < s["adc_conversions_per_inference"] * 8 < per_layer
    assert s["sense_amp_reads_per_inference"] == 0
    assert set(p.accuracy) == {"float", "quantized", "hardware"}


def test_required_memory_by_hand():
    cfg = HardwareConfig(weight_bits=4, activation_bits=8)
    conv = dict(kind="conv2d", in_channels=2, out_channels=3, kernel_size=(3, 3), groups=1,
                input_hw=(5, 5), output_hw=(3, 3))
    fc = dict(kind="linear", in_channels=27, out_channels=10, input_hw=(1, 1),
              output_hw=(1, 1))
    m = required_memory([conv, fc], cfg)
    assert m["weight_memory_bytes"] == (2 * 9 * 3 + 27 * 10) * 4 // 8         # 162
    assert m["activation_memory_bytes"] == max(2 * 25 + 3 * 9, 27 + 10)        # 77
    assert m["activation_memory_pipelined_bytes"] == 77 + 37
    # Q.K^T of 2 heads, 5 queries x K=4 against N=5 keys: Q (2*4*5) + scores (2*5*5) + the
    # second operand K^T (2*4*5), which is an activation too (review: it was left out)
    qk = dict(kind="dynamic_matmul", in_channels=8, out_channels=10, groups=2,
              input_hw=(5, 1), output_hw=(5, 1))
    m = required_memory([qk], cfg)
    assert m["weight_memory_bytes"] == 0
    assert m["activation_memory_bytes"] == 40 + 50 + 40


def test_accelerator_refuses_bad_input():
    acc = Accelerator("lenet5")
    with pytest.raises(ValueError, match="kind='stuck_at_zero' is not allowed"):
        acc.inject_faults(0.01, kind="stuck_at_zero")
    with pytest.raises(ConfigError, match="rate=1.5 must be a fraction"):
        acc.inject_faults(1.5)
    with pytest.raises(ConfigError, match="adc_bitz"):
        acc.configure(adc_bitz=4)
    with pytest.raises(ValueError, match="no statistics yet"):
        acc.statistics()
    with pytest.raises(ValueError, match="config=str is invalid"):
        Accelerator("lenet5", "parallel")
    assert acc.configure(["adc_bits=4"], operation_mode="parallel").adc_bits == 4


def test_device_presets_compose_with_hardware_presets():
    for name, fields in DEVICE_PRESETS.items():
        assert set(fields) <= set(DEVICE_FIELDS), name
        assert name not in PRESETS                    # golden cases cover hardware presets only
        alone = preset(name)
        assert all(getattr(alone, k) == v for k, v in fields.items())
    both = preset("table7-rram-22nm-par32+rram-no-verify")
    assert (both.adc_bits, both.rows_in_parallel) == (4, 32)          # the hardware preset
    assert (both.read_noise_sigma, both.stuck_at_fault_rate) == (0.05, 0.01)   # the device's
    chen = preset("rram-faults-chen2015")
    assert chen.stuck_at_fault_rate * chen.stuck_at_lrs_fraction == pytest.approx(0.0904, 1e-3)
    with pytest.raises(ConfigError, match="describes RRAM cells"):
        preset("neurosim-1.4-default+rram-no-verify")
    with pytest.raises(ConfigError, match="only the first part may be one"):
        preset("rram-no-verify+default")
    with pytest.raises(ConfigError, match="preset='nope' is unknown"):
        preset("default+nope")


def test_command_line_is_the_accelerator(capfd):
    import json

    from neuropysim.__main__ import main
    assert main(["--model", "lenet5", "--set", "operation_mode=parallel", "--faults", "0.01",
                 "--eval-images", "8", "--json"]) == 0
    out = json.loads(capfd.readouterr().out)
    assert out["faults_injected"] == out["statistics"]["faults"] > 0
    assert {key for key, _, _ in STATISTICS_LINES} <= set(out["statistics"])
    assert main(["--faults", "2"]) == 2
    assert "rate=2.0 must be a fraction in [0, 1]" in capfd.readouterr().err


def test_stuck_at_faults_use_the_configured_lrs_share_after_other_kinds():
    """inject_faults(kind='stuck_at') means the config's LRS share, also after a call that
    set all faults to LRS (review: the share stayed at 1.0)."""
    acc = Accelerator("mlp", {"stuck_at_lrs_fraction": 0.25}, warn=lambda text: None)
    fractions = []
    for kind in ("stuck_at", "stuck_at_lrs", "stuck_at", "stuck_at_hrs", "stuck_at"):
        acc.inject_faults(0.01, kind)
        fractions.append(acc.config.stuck_at_lrs_fraction)
    assert fractions == [0.25, 1.0, 0.25, 0.0, 0.25]
    acc.configure(stuck_at_lrs_fraction=0.75)
    acc.inject_faults(0.01)
    assert acc.config.stuck_at_lrs_fraction == 0.75


@pytest.mark.parametrize("argv, message", [
    (["--fault-kind", "stuck_at_lrs"], "--fault-kind stuck_at_lrs applies only with --faults"),
    (["--calibrate", ""], "--calibrate '' names no stage"),
])
def test_command_line_refuses_options_that_would_do_nothing(argv, message, capsys):
    from neuropysim.__main__ import main
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
