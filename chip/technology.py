"""TechContext: the technology, wires and memory cell of one hardware config.

Built once per `HardwareConfig` and handed to every component. It wraps the C++ formula
engine (`from_neurosim.FormulaBindings`, docs/formula-api.md): all per-transistor formulas
(gate capacitance, on-resistance, leakage, gate area with folding, Horowitz delay, repeated
wires) live there; this module only picks sizes and cell constants and offers a few thin
helpers (`gate`, `r_on`, ...) so the components read like the circuit they model.

Every quantity is in SI units (m, F, ohm, s, J, W).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from contracts.config import ConfigError, HardwareConfig
from contracts.effects import step2_refusal

__all__ = ["Gate", "TechContext", "bindings", "CALIBRATION_FACTORS",
           "applied_calibration_factors"]

# NeuroSim V1.4 tables §2.1: post-layout calibration factors of its "validated" mode.
CALIBRATION_FACTORS = {"alpha": 1.44, "beta": 1.4, "gamma": 0.5, "delta": 0.15,
                       "epsilon": 0.05, "zeta": 1.22}
#: what each factor scales here (the report lists them, so a reader can recompute)
CALIBRATION_ROLES = {
    "alpha": "level-shifter area (post-layout wiring), with I/O devices 2x wide and cells "
             "2.5 standard-cell heights tall",
    "beta": "sub-array sensing cycle (read_cycle = beta x sensing latency): the clock",
    "gamma": "switching activity of DFFs in accumulators, shift-adders and register buffers",
    "delta": "switching activity of adders",
    "epsilon": "switching activity of control logic (decoders, ADC encoders)",
    "zeta": "post-layout energy: TOPS/W = ops / (dynamic + leakage energy) / zeta; the "
            "energies are reported without it (as NeuroSim prints them)",
}


def applied_calibration_factors(config: HardwareConfig) -> dict[str, dict[str, object]]:
    """{name: {value, scales}} of the calibration factors the estimate applies (none when
    ``config.calibration_factors`` is off)."""
    if not config.calibration_factors:
        return {}
    return {k: {"value": v, "scales": CALIBRATION_ROLES[k]} for k, v in CALIBRATION_FACTORS.items()}

# NeuroSim V1.4 tables §3.3 constants.
IR_DROP_TOLERANCE = 0.25        # 1T1R access R = 0.25 R_on; mux/decoder TG target ratio
LINEAR_REGION_RATIO = 0.20      # 1T1R access width, switch-matrix TG width
MIN_SENSE_VOLTAGE_V = 0.1       # NeuroSim V1.4 tables §2.1 minSenseVoltage
WRITE_LEVEL_SHIFT_V = 1.5       # level shifters when the write voltage exceeds this (tables §4.6)


def bindings():
    """The C++ formula engine, with a clear error when it has not been built."""
    try:
        from from_neurosim import FormulaBindings
    except ImportError as err:  # pragma: no cover - environment problem
        raise ImportError("from_neurosim.FormulaBindings is not built: run `pip install "
                          "--no-build-isolation -e .` in the repository root") from err
    return FormulaBindings


@dataclass(frozen=True)
class Gate:
    """Geometry and electrical figures of one logic gate (from FormulaBindings)."""

    width_m: float
    height_m: float
    area_m2: float
    cap_in_F: float
    cap_out_F: float
    leakage_W: float
    width_n_m: float
    width_p_m: float


class TechContext:
    """Technology, wires and cell of one config (contract: docs/chip-internals.md)."""

    def __init__(self, config: HardwareConfig):
        if not isinstance(config, HardwareConfig):
            raise TypeError(f"TechContext needs a HardwareConfig, got {type(config).__name__}")
        refusal = step2_refusal(config)       # a value step 1 simulates and step 2 cannot price
        if refusal:
            raise ConfigError(refusal)
        fb = bindings()
        self.fb = fb
        self.config = config
        from chip.compat import active_quirks, engine_quirk_names
        self.quirks = active_quirks(config)                 # the named ones (chip/compat.py)
        # the formula engine's own NeuroSim conventions travel inside its Technology values
        self.engine_quirks = fb.EngineQuirks(engine_quirk_names(self.quirks))
        nm = config.technology_node_nm
        self.tech = fb.Technology(nm, config.roadmap, config.temperature_K, self.engine_quirks)
        self.node = fb.NodeParameters(nm)
        # NeuroSim V1.4 tables §2.2 / §7.3: its barrier correction is ~0 (unit mix); ours is on.
        self.wire = fb.WireTechnology(nm, config.temperature_K,
                                      barrier_correction=not self.quirk(
                                          "wire_barrier_correction"),
                                      quirks=self.engine_quirks)
        t = self.tech
        self.feature_size_m = float(t.feature_size_m)
        self.wire_width_m = float(self.node.wire_width_m)       # NeuroSim's second "F"
        self.vdd_V = float(t.vdd_V)
        self.read_voltage_V = float(config.read_voltage_V if config.read_voltage_V is not None
                                    else self.node.read_voltage_V)
        self.temperature_K = float(config.temperature_K)
        self.finfet = t.device_kind != fb.DeviceKind.PLANAR
        self.w_min_m = float(t.min_nmos_width_m)                # MIN_NMOS_SIZE = 2 F
        self.pn = float(t.pn_size_ratio)
        self.std_cell_height_m = float(t.cell_height_F) * self.feature_size_m
        self.wire_cap_F_per_m = float(self.wire.unit_capacitance_F_per_m)   # 0.2 fF/um
        self.r_wire_ohm_per_m = float(self.wire.unit_resistance_ohm_per_m)
        self.r_row_ohm_per_m = float(self.wire.metal1_unit_resistance_ohm_per_m)  # WL: Metal1
        self.r_col_ohm_per_m = float(self.wire.metal0_unit_resistance_ohm_per_m)  # BL: Metal0
        cal = CALIBRATION_FACTORS if config.calibration_factors else {}
        for key in CALIBRATION_FACTORS:
            setattr(self, key, float(cal.get(key, 1.0)))
        self._init_cell()

    # --- memory cell ---------------------------------------------------------------------
    def quirk(self, name: str) -> bool:
        """Whether NeuroSim V1.4's convention ``name`` (chip/compat.py) applies."""
        from chip.compat import QUIRKS
        if name not in QUIRKS:
            raise KeyError(f"unknown NeuroSim quirk {name!r}")
        return name in self.quirks

    def _init_cell(self) -> None:
        c, F = self.config, self.feature_size_m
        self.memory_cell = c.memory_cell
        self.is_sram = c.memory_cell == "sram"
        self.crossbar = c.access_device == "0t1r" and not self.is_sram
        if self.is_sram:
            # NeuroSim V1.4 tables §2.4: per-node SRAM cell, in units of the node F.
            self.cell_height_F = float(self.node.sram_cell_height_F)
            self.cell_width_F = float(self.node.sram_cell_width_F)
            cell_F = F
        elif self.crossbar:
            # tables §2.4: 2F x 2F; the cross-point pitch is set by the wire (tables §2.4 note).
            self.cell_height_F, self.cell_width_F, cell_F = 2.0, 2.0, self.wire_width_m
        else:
            self.cell_height_F, self.cell_width_F, cell_F = 4.0, 12.0, F  # tables §2.4 1T1R
        self.cell_height_m = self.cell_height_F * cell_F
        self.cell_width_m = self.cell_width_F * cell_F
        fin = 2.0 if self.finfet else 1.0          # tables §1.5: widths in F doubled at <= 14 nm
        if self.is_sram:
            self.access_width_m = fin * F            # widthAccessCMOS = 1 F
            # tables §6.1 worked example: R_acc = R_on of the access NMOS (with k_Reff).
            self.access_resistance_ohm = self.r_on(self.access_width_m, "n")
            self.g_on_S = 1.0 / self.access_resistance_ohm
            self.g_off_S = 0.0
        else:
            self.g_on_S = 1.0 / c.r_on_ohm
            self.g_off_S = 1.0 / c.r_off_ohm
            if self.crossbar:
                self.access_resistance_ohm = 0.0
                self.access_width_m = 0.0
            else:
                # tables §5.10: R_access = 0.25 R_on; width = R_on,min * 0.2 / R_access (in F).
                self.access_resistance_ohm = IR_DROP_TOLERANCE * c.r_on_ohm
                r_min = self.r_on(fin * F, "n")
                width_F = r_min * LINEAR_REGION_RATIO / self.access_resistance_ohm * fin
                if self.finfet:
                    width_F = 2.0 * math.ceil(width_F / 2.0)        # whole fins
                if width_F > 12.0:
                    raise ValueError(f"r_on_ohm={c.r_on_ohm:g}: the 1T1R access transistor "
                                     f"would need {width_F:.1f} F > the 12 F cell width; "
                                     f"raise r_on_ohm")
                self.access_width_m = width_F * F
        # Per-cell wire pieces for the column-conductance sums.
        if self.quirk("cell_wire_pieces"):
            # NeuroSim V1.4 tables §2.2/§7.4: wireWidth as F and height/width swapped.
            self.wire_resistance_row_ohm = (self.r_wire_ohm_per_m * self.wire_width_m
                                            * self.cell_height_F)
            self.wire_resistance_col_ohm = (self.r_wire_ohm_per_m * self.wire_width_m
                                            * self.cell_width_F)
        else:
            # ours: a WL crosses a cell along its width (Metal1), a BL along its height (Metal0).
            self.wire_resistance_row_ohm = self.r_row_ohm_per_m * self.cell_width_m
            self.wire_resistance_col_ohm = self.r_col_ohm_per_m * self.cell_height_m

    @property
    def levels_per_cell(self) -> int:
        return 2 ** self.config.cell_bits

    def cell_conductance_levels_S(self) -> list[float]:
        """Conductance of each stored level 0..2^cellBit-1 (NeuroSim V1.4 §6: linear in level)."""
        n = self.levels_per_cell - 1
        if self.is_sram:
            return [0.0, self.g_on_S]
        return [self.g_off_S + k / n * (self.g_on_S - self.g_off_S) for k in range(n + 1)]

    # --- formula helpers (thin wrappers over FormulaBindings) -----------------------------
    def _dev(self, kind: str):
        return self.fb.DeviceType.NMOS if kind == "n" else self.fb.DeviceType.PMOS

    def _gtype(self, kind: str):
        return {"inv": self.fb.GateType.INV, "nand": self.fb.GateType.NAND,
                "nor": self.fb.GateType.NOR}[kind]

    def r_on(self, width_m: float, kind: str = "n", multiplier: bool = True) -> float:
        """On-resistance of one transistor (formula API `on_resistance`)."""
        return float(self.fb.on_resistance(self.tech, width_m, self._dev(kind), multiplier))

    def gate_cap(self, width_m: float) -> float:
        return float(self.fb.gate_cap(self.tech, width_m))

    def drain_cap(self, width_m: float, kind: str = "n", height_m: float | None = None) -> float:
        return float(self.fb.drain_cap(self.tech, width_m, self._dev(kind),
                                       height_m or self.std_cell_height_m))

    def gm(self, width_m: float, kind: str = "n") -> float:
        return float(self.fb.transconductance(self.tech, width_m, self._dev(kind)))

    def horowitz(self, tau_s: float, ramp_in: float = 1e20) -> tuple[float, float]:
        """CACTI Horowitz delay (beta forced to 0.5 as in NeuroSim V1.4 tables §1.5)."""
        delay, ramp = self.fb.horowitz(tau_s, 0.5, ramp_in)
        return float(delay), float(ramp)

    def gate(self, kind: str, num_input: int, width_n_m: float, width_p_m: float,
             height_m: float | None = None, enlarge: bool = False) -> Gate:
        """Area, input/output capacitance and leakage power of one gate."""
        h = height_m or self.std_cell_height_m
        fb, g = self.fb, self._gtype(kind)
        if enlarge:
            width_n_m, width_p_m = fb.enlarge_size(self.tech, width_n_m, width_p_m, h)
        geo = fb.gate_area(self.tech, g, num_input, width_n_m, width_p_m, h)
        cin, cout = fb.gate_capacitance(self.tech, g, num_input, width_n_m, width_p_m, h)
        leak = fb.gate_leakage(self.tech, g, num_input, width_n_m, width_p_m) * self.vdd_V
        return Gate(float(geo.width_m), float(geo.height_m), float(geo.area_m2), float(cin),
                    float(cout), float(leak), float(width_n_m), float(width_p_m))

    def inv(self, scale_n: float = 1.0, scale_p: float | None = None, **kw) -> Gate:
        """INV with N = scale_n W_min and P = scale_p pn W_min (scale_p defaults to scale_n)."""
        sp = scale_n if scale_p is None else scale_p
        return self.gate("inv", 1, scale_n * self.w_min_m, sp * self.pn * self.w_min_m, **kw)

    def nmos_cell(self) -> Gate:
        """NMOS-only INV cell with W = W_min (the 'A_N' unit of tables §6)."""
        return self.gate("inv", 1, self.w_min_m, 0.0)

    def pmos_cell(self) -> Gate:
        """PMOS-only INV cell with W = pn W_min (the 'A_P' unit of tables §6)."""
        return self.gate("inv", 1, 0.0, self.pn * self.w_min_m)

    def width_F(self, k: float) -> float:
        """A width of k F in metres, doubled at FinFET/GAA nodes (tables §1.5 'one fin')."""
        return k * self.feature_size_m * (2.0 if self.finfet else 1.0)

    def summary(self) -> dict[str, Any]:
        keys = ("feature_size_m", "wire_width_m", "vdd_V", "read_voltage_V", "cell_height_m",
                "cell_width_m", "g_on_S", "g_off_S", "access_resistance_ohm",
                "wire_resistance_row_ohm", "wire_resistance_col_ohm")
        return {k: getattr(self, k) for k in keys}
