"""Named hardware configurations: DNN+NeuroSim V1.4's default point and its published points.

Each preset is built from `HardwareConfig` by naming only what differs from our defaults,
so a preset can never drift out of validation.
"""
from __future__ import annotations

from contracts.config import ConfigError, HardwareConfig

__all__ = ["PRESETS", "DEVICE_PRESETS", "DEVICE_FIELDS", "preset", "preset_names"]

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


# --- realistic-device presets (issue 14) ------------------------------------------------
# Named sets of RRAM non-idealities (step 1; step 2 prices no device effect). Each sets only
# the device fields below, so it composes with a hardware preset: ``--preset
# table7-rram-22nm-par32+rram-no-verify`` (hardware first, then device sets, joined by '+');
# alone it applies to the built-in defaults. Values are from published RRAM
# characterizations, cited per value; [recalled] marks a figure quoted from memory of the
# paper and not re-read for this table (check it before relying on it).
#: the fields a device preset may set
DEVICE_FIELDS = ("programming_error_sigma", "programming_error_mode", "relaxation_sigma",
                 "drift_model", "drift_time_s", "drift_relative_k", "drift_relative_t_ref_s",
                 "drift_relative_log_slope", "d2d_variation_sigma", "read_noise_sigma",
                 "stuck_at_fault_rate", "stuck_at_lrs_fraction")

DEVICE_PRESETS: dict[str, dict] = {
    # HfOx 1T1R programmed with iterative write-verify, read one day later.
    "rram-write-verify": dict(
        # write-verify stops within an acceptance band of about +-1-2 % of the conductance
        # range (Hu et al., Adv. Mater. 30, 1705914, 2018, 64-level Ta/HfO2 1T1R dot-product
        # engine; Wan et al., Nature 608, 504, 2022, NeuRRAM Extended Data Fig. 3) [recalled]
        programming_error_sigma=0.01, programming_error_mode="state_independent",
        # relaxation right after the last verify widens the spread by a few % of G (Wan et
        # al. 2022, Extended Data Fig. 3c-e; Zhao et al., IEDM 2017) [recalled]
        relaxation_sigma=0.03,
        # then the slow log-time spread of aihwkit's ReRamCMONoiseModel (IBM, CMO/HfOx
        # ReRAM; slope 0.102 per e-fold from its 0.0420/0.412 uS fit, contracts.config)
        drift_model="relative", drift_time_s=86400.0, drift_relative_k=0.02,
        drift_relative_t_ref_s=1.0, drift_relative_log_slope=0.102,
        # read noise of a 1T1R HfOx cell at a low read voltage: ~1 % of G (Ambrogio et al.,
        # IEEE TED 61, 2920, 2014, random telegraph noise in HfOx RRAM) [recalled]
        read_noise_sigma=0.01,
        # a yield of ~99.8 % after forming (Hu et al. 2018; Li et al., Nat. Electron. 1, 52,
        # 2018, 128x64 1T1R) [recalled]
        stuck_at_fault_rate=0.002, stuck_at_lrs_fraction=0.5),
    # the same cells programmed open-loop (one pulse per level, no verify)
    "rram-no-verify": dict(
        # cycle-to-cycle and device-to-device spread of open-loop SET: ~10 % of G (the
        # ~10 % write variation quoted for HfOx arrays, docs/nonidealities.md; Yu et al.,
        # Proc. IEEE 106, 260, 2018, review) [recalled]
        programming_error_sigma=0.1, programming_error_mode="state_proportional",
        d2d_variation_sigma=0.05,
        # read noise ~5 % at the read currents of analog MAC arrays (yzlite's ReRAM model,
        # docs/nonidealities.md; Ambrogio et al. 2014) [recalled]
        read_noise_sigma=0.05,
        stuck_at_fault_rate=0.01, stuck_at_lrs_fraction=0.5),
    # the fault statistics measured on a 4 Mb HfOx RRAM chip by march tests: 1.75 % stuck at
    # HRS (SA0) and 9.04 % stuck at LRS (SA1) (Chen et al., IEEE Trans. Computers 64(1), 180,
    # 2015) [recalled]: rate 10.79 %, LRS share 9.04 / 10.79
    "rram-faults-chen2015": dict(stuck_at_fault_rate=0.1079,
                                 stuck_at_lrs_fraction=round(9.04 / 10.79, 4)),
}


def preset_names() -> list[str]:
    """Hardware presets, then device presets (device ones compose: ``hw+device``)."""
    return list(PRESETS) + list(DEVICE_PRESETS)


def preset(name: str) -> HardwareConfig:
    """The named preset as a validated config: one hardware preset, one device preset, or
    ``hardware+device[+device...]`` (device fields over the hardware preset)."""
    parts = [part.strip() for part in str(name).split("+")]
    known = ", ".join(preset_names())
    for part in parts:
        if part not in PRESETS and part not in DEVICE_PRESETS:
            raise ConfigError(f"preset={part!r} is unknown; choose from: {known} "
                              f"(a device preset composes with a hardware one: hw+device)")
    for part in parts[1:]:
        if part in PRESETS:
            raise ConfigError(f"preset={name!r}: {part!r} is a hardware preset; only the first "
                              f"part may be one, the others must be device presets "
                              f"({', '.join(DEVICE_PRESETS)})")
    fields = dict(PRESETS.get(parts[0], {}))
    for part in parts:
        if part in DEVICE_PRESETS:
            if fields.get("memory_cell", "rram") != "rram":
                raise ConfigError(f"preset={name!r}: device preset {part!r} describes RRAM "
                                  f"cells; {parts[0]!r} has memory_cell="
                                  f"{fields['memory_cell']!r}")
            fields.update(DEVICE_PRESETS[part])
    return HardwareConfig(**fields)
