"""The typed hardware configuration shared by step 1 and step 2.

One frozen dataclass holds every hardware knob. It validates itself at construction:
a bad value raises `ConfigError` (a ValueError) naming the field, the value and what is
allowed. Fields marked ``accuracy=True`` change what the hardware computes (and so the
accuracy of step 1); step 1 stamps them into the trace manifest and step 2 takes them
from there. The others only change cost and step 2 takes them from the current config.

This module must not import torch: `Chip.py` starts without it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = [
    "ConfigError",
    "HardwareConfig",
    "REMOVED_FIELDS",
    "SUPPORTED_NODES_NM",
    "apply_overrides",
    "parse_override",
    "unknown_key_message",
]

# Nodes with technology tables in from_neurosim (DNN+NeuroSim V1.4's set).
SUPPORTED_NODES_NM = (130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1)
PLANAR_NODES_NM = (130, 90, 65, 45, 32, 22)
#: the largest sub-array side accepted (ours: far above any published CIM array)
MAX_SUBARRAY_LINES = 65536


class ConfigError(ValueError):
    """A configuration value is out of range; the message names field, value and rule."""


#: fields that existed once and were removed, with why: a config that sets one is refused
#: with this reason; a trace that records one is still read (contracts.provenance keeps
#: only the fields that exist)
REMOVED_FIELDS = {
    "read_pulse_width_s": "it had no effect (DNN+NeuroSim V1.4 reads readPulseWidth only in "
                          "ShiftAdd's asynchronous rule, which its SubArray evaluates for one "
                          "read, where the pulse-width term is multiplied by reads - 1 = 0; "
                          "our read cycle is set by the sensing circuit); delete the setting",
}


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """One line for a config key that is not a field: removed (and why), or unknown (with
    the closest known key when one is close, else every known key)."""
    if key in REMOVED_FIELDS:
        return f"config key {key!r} was removed: {REMOVED_FIELDS[key]}"
    import difflib
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return f"unknown config key {key!r}; {hint}"


#: cell types that were once accepted and are refused, with why
_REFUSED_CELLS = {
    "fefet": "memory_cell='fefet' is not supported: neither step has a FeFET cell model (both "
             "treated it as RRAM; DNN+NeuroSim V1.4 itself prices a FeFET as its 1T1R RRAM cell "
             "without the access resistance); use memory_cell='rram' with the FeFET's on/off "
             "resistances as r_on_ohm / r_off_ohm",
}


def _field(default: Any, doc: str, *, unit: str = "", choices: tuple = (), accuracy: bool = False):
    return field(default=default, metadata={"doc": doc, "unit": unit, "choices": choices,
                                            "accuracy": accuracy})


@dataclass(frozen=True)
class HardwareConfig:
    """Every hardware parameter of a compute-in-memory chip, in SI units."""

    # --- memory cell and device -------------------------------------------------------
    memory_cell: str = _field("rram", "synaptic memory cell", choices=("rram", "sram"),
                              accuracy=True)
    access_device: str = _field("1t1r", "cell access device: 1T1R (CMOS access) or 0T1R crossbar",
                                choices=("1t1r", "0t1r"), accuracy=True)
    technology_node_nm: int = _field(22, "CMOS technology node", unit="nm",
                                     choices=SUPPORTED_NODES_NM)
    roadmap: str = _field("lstp", "transistor roadmap: low standby power or high performance",
                          choices=("lstp", "hp"))
    temperature_K: float = _field(300.0, "operating temperature (300-400 K)", unit="K")

    # --- array organisation -----------------------------------------------------------
    subarray_rows: int = _field(128, "rows (word lines) per subarray", accuracy=True)
    subarray_cols: int = _field(128, "columns (bit lines) per subarray", accuracy=True)
    operation_mode: str = _field("sequential", "conventional sequential (one row per read) or "
                                 "conventional parallel (rows_in_parallel rows per read)",
                                 choices=("sequential", "parallel"), accuracy=True)
    rows_in_parallel: int | None = _field(None, "rows read at once in parallel mode; None: "
                                          "every row of the sub-array (subarray_rows)",
                                          accuracy=True)
    cell_bits: int = _field(1, "bits stored per cell (multi-level cell)", unit="bit",
                            accuracy=True)
    weight_bits: int = _field(8, "weight precision", unit="bit", accuracy=True)
    activation_bits: int = _field(8, "input activation precision", unit="bit", accuracy=True)
    weight_encoding: str = _field("offset", "signed weights as an offset code read against a "
                                  "reference column, or as a differential pair of columns",
                                  choices=("offset", "differential"), accuracy=True)
    input_encoding: str = _field("bit_serial", "inputs applied one bit per read cycle, or as a "
                                 "multi-bit DAC level", choices=("bit_serial", "dac"),
                                 accuracy=True)

    # --- device electrical --------------------------------------------------------------
    r_on_ohm: float = _field(100e3, "low-resistance state (eNVM)", unit="ohm", accuracy=True)
    r_off_ohm: float = _field(1.7e6, "high-resistance state (eNVM)", unit="ohm", accuracy=True)
    read_voltage_V: float | None = _field(None, "read voltage; None = the node's default "
                                          "(the ADC fits assume it)", unit="V")
    access_voltage_V: float = _field(1.1, "1T1R access-transistor gate voltage", unit="V")
    write_voltage_V: float = _field(2.0, "write (programming) voltage", unit="V")
    write_pulse_width_s: float = _field(10e-9, "write pulse width", unit="s")

    # --- ADC --------------------------------------------------------------------------
    adc_type: str = _field("flash", "flash ADC from multilevel sense amps, or SAR",
                           choices=("flash", "sar"))
    adc_bits: int = _field(5, "ADC resolution (parallel mode)", unit="bit", accuracy=True)
    cols_per_adc: int = _field(8, "columns multiplexed onto one ADC")
    adc_range: str = _field("calibrated", "ADC input range: full scale of the rows read, or "
                            "calibrated on the observed partial sums",
                            choices=("full_scale", "calibrated"), accuracy=True)

    # --- mapping, pipeline, chip ------------------------------------------------------
    mapping: str = _field("conventional", "weight mapping (NeuroSim's novel mapping splits "
                          "K x K kernels over PEs)", choices=("conventional", "novel"))
    pipeline: bool = _field(True, "layers pipelined (True) or run layer by layer (False)")
    speedup_degree: int = _field(8, "weight duplication target for pipeline balance")
    global_interconnect: str = _field("xybus", "chip-level interconnect",
                                      choices=("htree", "xybus"))
    global_buffer: str = _field("register", "global buffer type", choices=("register", "sram"))
    tile_buffer: str = _field("register", "tile buffer type", choices=("register", "sram"))
    pe_buffer: str = _field("register", "PE buffer type", choices=("register", "sram"))
    global_buffer_core_rows: int = _field(128, "global buffer core rows", unit="bit")
    global_buffer_core_cols: int = _field(128, "global buffer core columns", unit="bit")
    tile_buffer_core_rows: int = _field(32, "tile buffer core rows", unit="bit")
    tile_buffer_core_cols: int = _field(32, "tile buffer core columns", unit="bit")
    clock: str = _field("synchronous", "synchronous: one clock set by the slowest sensing "
                        "cycle; asynchronous: each block at its own speed",
                        choices=("synchronous", "asynchronous"))
    clock_freq_max_Hz: float = _field(1e9, "clock-frequency cap", unit="Hz")
    activation_function: str = _field("relu", "activation unit", choices=("relu", "sigmoid"))
    dynamic_matmul_policy: str = _field(
        "digital", "where attention's activation x activation products run: a digital MAC "
        "unit, or crossbars whose cells are re-written with K and V for every input "
        "(docs/transformers.md)", choices=("digital", "crossbar"), accuracy=True)
    digital_mac_units: int = _field(64, "multiply-accumulate lanes of the digital unit for "
                                    "dynamic products (dynamic_matmul_policy='digital')")
    input_toggle_rate: float = _field(0.18, "bit-toggle rate of input traffic on buses")
    output_toggle_rate: float = _field(0.5, "bit-toggle rate of output traffic on buses")
    global_bus_delay_tolerance: float = _field(0.1, "repeater down-sizing tolerance, chip bus")
    local_bus_delay_tolerance: float = _field(0.1, "repeater down-sizing tolerance, tile H-tree")
    max_global_bus_width: int = _field(2048, "widest global bus", unit="bit")
    calibration_factors: bool = _field(True, "apply NeuroSim's post-layout calibration factors "
                                       "(its 'validated' mode)")
    compat: str = _field("none", "counting conventions: ours, or DNN+NeuroSim V1.4's",
                         choices=("none", "neurosim-1.4"))
    compat_quirks: str = _field("", "comma-separated names of single NeuroSim V1.4 "
                                "conventions (chip.compat.QUIRKS) to switch on over our model, "
                                "to measure one difference; compat='neurosim-1.4' switches on "
                                "all of them")

    # --- device and crossbar non-idealities (step 1; all off by default) ----------------
    programming_error_sigma: float = _field(0.0, "write error: sigma of programmed conductance, "
                                            "relative to Gmax (state_independent) or to G "
                                            "(state_proportional)", accuracy=True)
    programming_error_mode: str = _field("state_proportional", "how the write error scales",
                                         choices=("state_independent", "state_proportional"),
                                         accuracy=True)
    relaxation_sigma: float = _field(0.0, "short-term conductance relaxation after "
                                     "programming, relative sigma", accuracy=True)
    drift_model: str = _field("none", "long-term drift: none, relative (sigma = k*G_target, "
                              "RRAM) or power_law (G0*(t/t0)^-nu, PCM)",
                              choices=("none", "relative", "power_law"), accuracy=True)
    drift_time_s: float = _field(0.0, "time since programming", unit="s", accuracy=True)
    drift_relative_k: float = _field(0.1, "relative drift coefficient k (<= 0.2 typical)",
                                     accuracy=True)
    drift_relative_t_ref_s: float = _field(1.0, "relative drift: time at which the spread is "
                                           "k*G_target", unit="s", accuracy=True)
    drift_relative_log_slope: float = _field(0.102, "relative drift: growth of the spread per "
                                             "e-fold of time, sigma(t) = k*G*(1 + slope*"
                                             "ln(t/t_ref)) (0.102: aihwkit ReRamCMONoiseModel "
                                             "fit, 0.0420/0.412 uS)", accuracy=True)
    drift_nu: float = _field(0.05, "power-law drift exponent nu", accuracy=True)
    drift_t0_s: float = _field(1.0, "power-law drift reference time t0", unit="s",
                               accuracy=True)
    drift_compensation: bool = _field(False, "global drift compensation (rescale outputs by "
                                      "the mean drift)", accuracy=True)
    d2d_variation_sigma: float = _field(0.0, "device-to-device variation, relative sigma, "
                                        "fixed per cell", accuracy=True)
    read_noise_sigma: float = _field(0.0, "cycle-to-cycle read noise, relative sigma, fresh "
                                     "every read", accuracy=True)
    stuck_at_fault_rate: float = _field(0.0, "fraction of cells stuck at Gmin or Gmax",
                                        accuracy=True)
    stuck_at_lrs_fraction: float = _field(0.5, "fraction of stuck cells stuck at Gmax (LRS); "
                                          "the rest at Gmin (HRS)", accuracy=True)
    wire_resistance_ohm: float = _field(0.0, "word/bit-line segment resistance per cell for "
                                        "the IR-drop model (0 = off)", unit="ohm",
                                        accuracy=True)
    adc_offset_lsb: float = _field(0.0, "ADC offset", unit="LSB", accuracy=True)
    adc_gain_error: float = _field(0.0, "ADC relative gain error", accuracy=True)
    adc_inl_lsb: float = _field(0.0, "ADC integral nonlinearity bound (+-)", unit="LSB",
                                accuracy=True)
    adc_dnl_lsb: float = _field(0.0, "ADC differential nonlinearity bound (+-)", unit="LSB",
                                accuracy=True)
    adc_noise_lsb: float = _field(0.0, "ADC input-referred thermal noise sigma", unit="LSB",
                                  accuracy=True)

    # ------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self._coerce_types()
        self._validate()

    def _coerce_types(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            hint = hints[f.name]
            if value is None and type(None) in typing.get_args(hint):
                continue
            base = next((t for t in (bool, int, float, str) if t is hint or
                         t in typing.get_args(hint)), None)
            if base is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif base is int and isinstance(value, float) and value.is_integer():
                object.__setattr__(self, f.name, int(value))
            elif base is not None and not isinstance(getattr(self, f.name), base) or (
                    base is int and isinstance(value, bool)):
                raise ConfigError(f"{f.name}={value!r} has type {type(value).__name__}; "
                                  f"expected {base.__name__}")
            if base is float and not math.isfinite(getattr(self, f.name)):
                # NaN slips through every range check (all comparisons are False)
                raise ConfigError(f"{f.name}={value!r} must be a finite number")

    def _validate(self) -> None:
        """Every rule; the first broken one raises ConfigError naming field, value, rule."""
        if self.memory_cell in _REFUSED_CELLS:
            raise ConfigError(_REFUSED_CELLS[self.memory_cell])
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                allowed = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in choices)
                raise ConfigError(f"{f.name}={getattr(self, f.name)!r} is not allowed; "
                                  f"choose from: {allowed}")
        self._check_sizes()
        self._check_conventions()
        self._check_device_effects()
        self._check_technology()
        self._check_precisions()

    def _check_sizes(self) -> None:
        """Counts, sizes and electrical values in range."""
        if self.rows_in_parallel is not None and self.rows_in_parallel < 1:
            raise ConfigError(f"rows_in_parallel={self.rows_in_parallel} must be a positive "
                              f"integer (or None for every row of the sub-array)")
        for name in ("subarray_rows", "subarray_cols"):
            if getattr(self, name) > MAX_SUBARRAY_LINES:
                raise ConfigError(f"{name}={getattr(self, name)} must be <= "
                                  f"{MAX_SUBARRAY_LINES} (the circuit models hold per-line "
                                  f"tables; published CIM arrays have at most a few thousand)")
        positive_ints = ("subarray_rows", "subarray_cols", "cell_bits",
                         "weight_bits", "activation_bits", "adc_bits", "cols_per_adc",
                         "speedup_degree", "global_buffer_core_rows", "global_buffer_core_cols",
                         "tile_buffer_core_rows", "tile_buffer_core_cols", "max_global_bus_width",
                         "digital_mac_units")
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be a positive integer")
        positive_floats = ("r_on_ohm", "r_off_ohm", "access_voltage_V",
                           "write_voltage_V", "write_pulse_width_s", "clock_freq_max_Hz")
        for name in positive_floats:
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0")
        if self.read_voltage_V is not None and not self.read_voltage_V > 0:
            raise ConfigError(f"read_voltage_V={self.read_voltage_V} must be > 0 (or None for "
                              f"the node default)")

    def _check_conventions(self) -> None:
        """The NeuroSim-convention fields and the bus settings."""
        if not isinstance(self.compat_quirks, str):
            raise ConfigError(f"compat_quirks={self.compat_quirks!r} must be a comma-separated "
                              f"string of quirk names")
        # the names themselves are checked by step 2's registry of NeuroSim conventions
        # (chip.compat), which this torch-free core does not import
        for name in (n.strip() for n in self.compat_quirks.split(",")):
            if name and not name.replace("_", "").isalnum():
                raise ConfigError(f"compat_quirks={self.compat_quirks!r}: {name!r} is not a "
                                  f"quirk name (comma-separated names such as "
                                  f"'buffer_traffic_halved')")
        for name in ("input_toggle_rate", "output_toggle_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        for name in ("global_bus_delay_tolerance", "local_bus_delay_tolerance"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 0")

    def _check_device_effects(self) -> None:
        """The device and crossbar non-idealities of step 1."""
        for name in ("programming_error_sigma", "relaxation_sigma", "drift_time_s",
                     "drift_relative_k", "drift_nu", "d2d_variation_sigma", "read_noise_sigma",
                     "wire_resistance_ohm", "adc_inl_lsb", "adc_dnl_lsb", "adc_noise_lsb"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 0")
        for name in ("stuck_at_fault_rate", "stuck_at_lrs_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if not self.drift_t0_s > 0:
            raise ConfigError(f"drift_t0_s={self.drift_t0_s} must be > 0")
        if not 0.0 < self.drift_relative_t_ref_s < float("inf"):
            raise ConfigError(f"drift_relative_t_ref_s={self.drift_relative_t_ref_s} must be a "
                              f"finite time > 0 s")
        if not 0.0 <= self.drift_relative_log_slope < float("inf"):
            raise ConfigError(f"drift_relative_log_slope={self.drift_relative_log_slope} must "
                              f"be a finite number >= 0")
        if not self.adc_gain_error > -1.0:
            raise ConfigError(f"adc_gain_error={self.adc_gain_error} must be > -1")

    def _check_technology(self) -> None:
        """What the technology tables hold: temperatures, roadmaps, cells per node."""
        if not 300.0 <= self.temperature_K <= 400.0:
            raise ConfigError(f"temperature_K={self.temperature_K} must lie in [300, 400] K "
                              f"(the range of the technology tables)")
        if self.temperature_K != 300.0 and self.technology_node_nm not in PLANAR_NODES_NM:
            raise ConfigError(f"temperature_K={self.temperature_K} is not available at "
                              f"technology_node_nm={self.technology_node_nm}; FinFET/GAA nodes "
                              f"(<= 14 nm) have 300 K tables only (as NeuroSim V1.4)")
        if self.roadmap == "hp" and self.technology_node_nm not in PLANAR_NODES_NM:
            raise ConfigError(f"roadmap='hp' is not available at technology_node_nm="
                              f"{self.technology_node_nm}; HP exists only at "
                              f"{', '.join(map(str, PLANAR_NODES_NM))} nm")
        if self.memory_cell != "sram" and self.technology_node_nm not in PLANAR_NODES_NM:
            raise ConfigError(f"memory_cell={self.memory_cell!r} needs a planar node "
                              f"(technology_node_nm in {', '.join(map(str, PLANAR_NODES_NM))});"
                              f" got {self.technology_node_nm} (use memory_cell='sram')")
        if self.memory_cell == "sram" and self.cell_bits != 1:
            raise ConfigError(f"cell_bits={self.cell_bits} is not possible with "
                              f"memory_cell='sram'; an SRAM cell stores 1 bit")
        if self.memory_cell == "sram" and self.access_device != "1t1r":
            raise ConfigError("access_device='0t1r' needs an eNVM cell; memory_cell='sram' "
                              "has its own access transistors (use access_device='1t1r')")

    def _check_precisions(self) -> None:
        """Precisions and array organisation that must agree with each other."""
        if self.weight_bits < 2:
            raise ConfigError(f"weight_bits={self.weight_bits} must be >= 2: signed "
                              f"two's-complement weights need a sign bit and at least one "
                              f"magnitude bit (1 bit holds only -1 and 0)")
        if self.cell_bits > self.weight_bits:
            raise ConfigError(f"cell_bits={self.cell_bits} must be <= weight_bits="
                              f"{self.weight_bits}")
        if self.cell_bits > 4:
            raise ConfigError(f"cell_bits={self.cell_bits} must be <= 4 (2-16 levels per cell)")
        if self.adc_bits > 16:
            raise ConfigError(f"adc_bits={self.adc_bits} must be between 1 and 16")
        if self.operation_mode == "parallel" and self.parallel_rows > self.subarray_rows:
            raise ConfigError(f"rows_in_parallel={self.rows_in_parallel} must be <= "
                              f"subarray_rows={self.subarray_rows} in parallel mode (or None "
                              f"for every row)")
        if self.cols_per_adc > self.subarray_cols or self.subarray_cols % self.cols_per_adc:
            raise ConfigError(f"cols_per_adc={self.cols_per_adc} must divide subarray_cols="
                              f"{self.subarray_cols}")
        if self.memory_cell != "sram" and not self.r_off_ohm > self.r_on_ohm:
            raise ConfigError(f"r_off_ohm={self.r_off_ohm} must be > r_on_ohm={self.r_on_ohm}")

    # --- derived quantities -------------------------------------------------------------
    @property
    def cells_per_weight(self) -> int:
        """Columns one weight occupies: ceil(weight_bits / cell_bits) slices (x2 if differential)."""
        slices = -(-self.weight_bits // self.cell_bits)
        return slices * (2 if self.weight_encoding == "differential" else 1)

    @property
    def parallel_rows(self) -> int:
        """Rows read at once in parallel mode (rows_in_parallel, None meaning every row)."""
        return self.rows_in_parallel if self.rows_in_parallel is not None else self.subarray_rows

    @property
    def rows_per_read(self) -> int:
        """Rows whose currents add on a bit line in one read."""
        return self.parallel_rows if self.operation_mode == "parallel" else 1

    @property
    def on_off_ratio(self) -> float:
        return float("inf") if self.memory_cell == "sram" else self.r_off_ohm / self.r_on_ohm

    # --- conversions --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HardwareConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown_key_message(unknown[0], known))
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "HardwareConfig":
        known = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in known:
                raise ConfigError(unknown_key_message(key, known))
        return dataclasses.replace(self, **changes)

    def config_hash(self) -> str:
        """Short stable hash of every field (sha256 of canonical JSON, 16 hex digits)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def accuracy_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("accuracy"))

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per field: name, default, unit, allowed values, doc."""
        rows = []
        for f in dataclasses.fields(cls):
            rows.append({"name": f.name, "default": f.default, "unit": f.metadata["unit"],
                         "choices": f.metadata["choices"], "accuracy": f.metadata["accuracy"],
                         "doc": f.metadata["doc"]})
        return rows


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``key=value`` string into (key, typed value) using the field's type."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} must have the form key=value")
    key, raw = (part.strip() for part in text.split("=", 1))
    fields = {f.name: f for f in dataclasses.fields(HardwareConfig)}
    if key not in fields:
        raise ConfigError(unknown_key_message(key, fields))
    hint = typing.get_type_hints(HardwareConfig)[key]
    args = typing.get_args(hint)
    if raw.lower() == "none" and type(None) in args:
        return key, None
    base = hint if hint in (bool, int, float, str) else next(t for t in args if t is not type(None))
    try:
        if base is bool:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "on"):
                return key, True
            if lowered in ("false", "0", "no", "off"):
                return key, False
            raise ValueError
        if base is int:
            number = float(raw)
            if not number.is_integer():
                raise ValueError
            return key, int(number)
        if base is float:
            return key, float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a valid {base.__name__}") from None
    return key, raw


def apply_overrides(config: HardwareConfig, overrides: Iterable[str]) -> HardwareConfig:
    """Apply ``key=value`` strings (as given to ``--set``) to a config."""
    changes = dict(parse_override(text) for text in overrides)
    return config.replace(**changes) if changes else config
