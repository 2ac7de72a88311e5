"""Named hardware configurations: DNN+NeuroSim V1.4's default point and its published points.

Each preset is built from `HardwareConfig` by naming only what differs from our defaults,
so a preset can never drift out of validation.
"""
from __future__ import annotations

from contracts.config import ConfigError, HardwareConfig

__all__ = ["PRESETS", "preset", "preset_names"]

# DNN+NeuroSim V1.4 Param.cpp defaults (reference/neurosim-v1.4.md §3): SRAM, 22 nm LSTP,
# 128x128 subarrays read 128 rows at a time, 5-bit flash ADC from multilevel sense amps,
# 8 columns per ADC, novel mapping, pipelined with speed-up 8, X-Y bus, register-file
# buffers, synchronous clock capped at 1 GHz, validated calibration factors on.
_NEUROSIM_DEFAULT = dict(
    memory_cell="sram", access_device="1t1r", technology_node_nm=22, roadmap="lstp",
    temperature_K=300.0, subarray_rows=128, subarray_cols=128, operation_mode="parallel",
    rows_in_parallel=128, cell_bits=1, weight_bits=8, activation_bits=8,
    weight_encoding="offset", input_encoding="bit_serial", r_on_ohm=100e3, r_off_ohm=1.7e6,
    adc_type="flash", adc_bits=5, cols_per_adc=8, mapping="novel", pipeline=True,
    speedup_degree=8, global_interconnect="xybus", global_buffer="register",
    tile_buffer="register", pe_buffer="register", clock="synchronous", clock_freq_max_Hz=1e9,
    calibration_factors=True,
)


def _table7(cell: str, node: int, rows_in_parallel: int) -> dict:
    # Manual V1.4 Table VII: VGG-8 on CIFAR-10, 1 bit/cell, X-Y bus, 128x128 subarrays,
    # 8-bit weights and activations, 4-bit ADC, other parameters at their defaults.
    return dict(_NEUROSIM_DEFAULT, memory_cell=cell, technology_node_nm=node, adc_bits=4,
                rows_in_parallel=rows_in_parallel)


PRESETS: dict[str, dict] = {
    "default": {},
    "neurosim-1.4-default": _NEUROSIM_DEFAULT,
    "table7-rram-22nm-par32": _table7("rram", 22, 32),
    "table7-rram-22nm-par64": _table7("rram", 22, 64),
    "table7-sram-22nm-par32": _table7("sram", 22, 32),
    "table7-sram-22nm-par64": _table7("sram", 22, 64),
    "table7-sram-5nm-par32": _table7("sram", 5, 32),
    "table7-sram-5nm-par64": _table7("sram", 5, 64),
    "table7-sram-1nm-par32": _table7("sram", 1, 32),
    "table7-sram-1nm-par64": _table7("sram", 1, 64),
}


#: Table VII of the DNN+NeuroSim V1.4 manual ("generated 9/27/23"; trained VGG-8, CIFAR-10):
#: preset -> published (chip area mm², TOPS, TOPS/W)
TABLE7_PUBLISHED: dict[str, tuple[float, float, float]] = {
    "table7-rram-22nm-par32": (381.90, 6.25, 11.25),
    "table7-rram-22nm-par64": (378.06, 8.16, 19.88),
    "table7-sram-22nm-par32": (85.97, 6.06, 8.76),
    "table7-sram-22nm-par64": (84.39, 8.01, 17.13),
    "table7-sram-5nm-par32": (14.64, 11.48, 32.43),
    "table7-sram-5nm-par64": (14.33, 11.96, 54.41),
    "table7-sram-1nm-par32": (8.34, 12.27, 65.08),
    "table7-sram-1nm-par64": (8.27, 13.08, 105.97),
}


def preset_names() -> list[str]:
    return list(PRESETS)


def preset(name: str) -> HardwareConfig:
    """The named preset as a validated config."""
    if name not in PRESETS:
        raise ConfigError(f"preset={name!r} is unknown; choose from: {', '.join(PRESETS)}")
    return HardwareConfig(**PRESETS[name])
