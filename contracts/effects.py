"""Which config fields have no effect at a given config, and why: one table for both steps.

Step 1 (accuracy) and step 2 (cost) each ignore some fields in some modes: a sequential read
has no multi-row ADC, an SRAM cell has no resistance states, the device non-idealities change
accuracy but not the chip's cost. The command lines name such a field in one warning line
when the user set it, and a sweep over one is refused (or its points are marked). A value step
1 simulates but step 2 cannot price is not ignored: step 2 refuses it (``step2_refusal``).
"""
from __future__ import annotations

from typing import Iterable

from contracts.config import HardwareConfig

__all__ = ["ineffective", "STEP1_ONLY", "effect_note", "step2_refusal"]

_DRIFT_RELATIVE = ("drift_relative_k", "drift_relative_t_ref_s", "drift_relative_log_slope")
_DRIFT_POWER = ("drift_nu", "drift_t0_s")
#: fields that change what the hardware computes (accuracy) but not what the chip costs
STEP1_ONLY = ("adc_range", "programming_error_sigma", "programming_error_mode",
              "relaxation_sigma", "drift_model", "drift_time_s", *_DRIFT_RELATIVE,
              *_DRIFT_POWER, "drift_compensation", "d2d_variation_sigma", "read_noise_sigma",
              "stuck_at_fault_rate", "stuck_at_lrs_fraction", "wire_resistance_ohm",
              "adc_offset_lsb", "adc_gain_error", "adc_inl_lsb", "adc_dnl_lsb", "adc_noise_lsb")
#: non-idealities that only the parallel (multi-row) read models (cim.crossbar)
_PARALLEL_ONLY_EFFECTS = ("wire_resistance_ohm", "adc_offset_lsb", "adc_gain_error",
                          "adc_inl_lsb", "adc_dnl_lsb", "adc_noise_lsb")
_SEQUENTIAL = ("operation_mode='sequential' reads one row at a time through sense amplifiers "
               "(no multi-row read, no ADC)")
_SRAM = "memory_cell='sram' has no resistance states or write pulses"
_CROSSBAR = ("dynamic_matmul_policy='crossbar' runs attention's dynamic products on "
             "rewritten crossbars, not on the digital MAC unit")
#: (field, value) that step 1 simulates and step 2 cannot price: step 2 refuses the config
#: (chip.technology.TechContext) rather than price it as something else
_STEP2_REFUSED = {
    ("input_encoding", "dac"): (
        "input_encoding='dac' is simulated by step 1 but not priced by step 2 (its activity "
        "and cycle counts are bit-serial, one read per input bit, and it has no DAC model); "
        "price the chip with --set input_encoding=bit_serial (the recorded accuracy then no "
        "longer applies)"),
}


def _accuracy(config: HardwareConfig) -> dict[str, str]:
    dead: dict[str, str] = {}
    if config.operation_mode == "sequential":
        for name in ("adc_bits", "adc_range", "rows_in_parallel", *_PARALLEL_ONLY_EFFECTS):
            dead[name] = _SEQUENTIAL
    if config.drift_model == "none":
        for name in ("drift_time_s", *_DRIFT_RELATIVE, *_DRIFT_POWER, "drift_compensation"):
            dead[name] = "drift_model='none'"
    elif config.drift_model == "relative":
        dead.update(dict.fromkeys(_DRIFT_POWER, "drift_model='relative'"))
    else:
        dead.update(dict.fromkeys(_DRIFT_RELATIVE, "drift_model='power_law'"))
    if config.stuck_at_fault_rate == 0:
        dead["stuck_at_lrs_fraction"] = "stuck_at_fault_rate=0"
    return dead


def _cost(config: HardwareConfig) -> dict[str, str]:
    dead = dict.fromkeys(STEP1_ONLY, "it changes accuracy (step 1) only, not the chip's cost")
    if config.operation_mode == "sequential":
        dead.update(dict.fromkeys(("adc_bits", "adc_type", "rows_in_parallel"), _SEQUENTIAL))
    if config.memory_cell == "sram":
        dead.update(dict.fromkeys(("r_on_ohm", "r_off_ohm", "access_voltage_V",
                                   "write_voltage_V", "write_pulse_width_s"), _SRAM))
    if config.dynamic_matmul_policy == "crossbar":
        dead["digital_mac_units"] = _CROSSBAR
    return dead


def step2_refusal(config: HardwareConfig) -> str | None:
    """Why step 2 cannot price ``config`` (one line), or None when it can."""
    for (name, value), why in _STEP2_REFUSED.items():
        if getattr(config, name) == value:
            return why
    return None


def ineffective(config: HardwareConfig, step: str) -> dict[str, str]:
    """{field: why} of the fields with no effect on ``step`` ("accuracy": step 1's hardware
    accuracy; "cost": step 2's figures) at ``config``."""
    if step == "accuracy":
        return _accuracy(config)
    if step == "cost":
        return _cost(config)
    raise ValueError(f"step={step!r} must be 'accuracy' or 'cost'")


def effect_note(config: HardwareConfig, step: str, names: Iterable[str]) -> str | None:
    """One warning line for the fields among ``names`` that have no effect, or None."""
    dead = ineffective(config, step)
    hit = sorted(set(names) & set(dead))
    if not hit:
        return None
    what = "the hardware accuracy" if step == "accuracy" else "the chip's cost"
    by_reason: dict[str, list[str]] = {}
    for name in hit:
        by_reason.setdefault(dead[name], []).append(f"{name}={getattr(config, name)!r}")
    parts = "; ".join(f"{', '.join(fields)} ({reason})" for reason, fields in by_reason.items())
    return f"warning: no effect on {what} here: {parts}"
