"""ADCs: flash ADC from multilevel sense amplifiers + thermometer encoder, and SAR.

Models of NeuroSim V1.4 (reference/neurosim-v1.4-tables.md §4 fits, §6 evaluation).
Energy is evaluated on a histogram of column conductances: ``conductance_S`` (values) and
``counts`` (number of conversions at each value), e.g. from `chip.activity`.
"""
from __future__ import annotations

import math

import numpy as np

from chip.components import adc_fits as fits
from chip.components.base import Component, require_int, tile_units


def _temperature_factor(ctx) -> float:
    return 1.0 + fits.TEMP_COEFF_POWER * (ctx.temperature_K - 300.0)  # tables §4.2


def _r_eff(ctx, r: np.ndarray) -> np.ndarray:
    return r * fits.CHARACTERISATION_V / ctx.read_voltage_V           # tables §4 axes


def mlsa_column_power_W(ctx, resistance_ohm, levels: int) -> np.ndarray:
    """Static power of one column's L-1 comparators at column resistance R (tables §4.2)."""
    r = np.atleast_1d(np.asarray(resistance_ohm, dtype=np.float64))
    node = ctx.config.technology_node_nm
    reff = _r_eff(ctx, r)
    finite = np.isfinite(reff) & (reff > 0)
    out = np.zeros_like(r)
    rf = reff[finite]
    if ctx.config.roadmap == "hp":
        a, b, k = fits.MLSA_POWER_HP.get(node, fits.MLSA_POWER_HP[fits.MLSA_POWER_HP_FALLBACK])
        val = a * (levels - 1) * 1e-6 + b * np.exp(-k * np.log10(rf))   # tables §4.2.a
    else:
        seg = fits.MLSA_POWER_LSTP.get(node,
                                       fits.MLSA_POWER_LSTP[fits.MLSA_POWER_LSTP_FALLBACK])
        val = fits.piecewise(seg, rf) * (levels - 1)                    # tables §4.2.b
    out[finite] = np.maximum(val, 0.0)
    out[np.isinf(reff)] = fits.POWER_AT_INFINITE_R_W                    # tables §4.2
    return out * _temperature_factor(ctx)


def sar_column_power_W(ctx, resistance_ohm, bits: int) -> np.ndarray:
    """SAR ADC power while converting a column of resistance R (tables §4.3 / §6.2)."""
    r = np.atleast_1d(np.asarray(resistance_ohm, dtype=np.float64))
    roadmap = ctx.config.roadmap
    table = fits.SAR_POWER[roadmap]
    a, b, c, k = table.get(ctx.config.technology_node_nm, table[fits.SAR_FALLBACK[roadmap]])
    reff = _r_eff(ctx, r)
    finite = np.isfinite(reff) & (reff > 0)
    out = np.zeros_like(r)
    out[finite] = (a * bits + b) * 1e-6 + c * np.exp(-k * np.log10(reff[finite]))
    out[np.isinf(reff)] = fits.POWER_AT_INFINITE_R_W
    return out * _temperature_factor(ctx)


def mlsa_latency_s(ctx, r_ref_ohm: float, column_cap_F: float) -> float:
    """Comparator latency at reference resistance R with the column-cap correction (§4.1.a)."""
    node = ctx.config.technology_node_nm
    segs, c_ref_fF, dc_ns, r2_k, rth_k = fits.MLSA_LATENCY_CURRENT.get(
        node, fits.MLSA_LATENCY_CURRENT[1])
    t = float(fits.piecewise(segs, np.array([r_ref_ohm]))[0])
    rth, r2, c_ref = rth_k * 1e3, r2_k * 1e3, c_ref_fF * 1e-15
    if r_ref_ohm > rth:
        # tables §4.1: T += dC/(R2 - R_th) (R - R_th) (C_col' - C_ref)/C_ref
        t += dc_ns * 1e-9 / (r2 - rth) * (r_ref_ohm - rth) * (column_cap_F - c_ref) / c_ref
    return t


def _histogram(conductance_S, counts):
    g = np.atleast_1d(np.asarray(conductance_S, dtype=np.float64))
    n = np.atleast_1d(np.asarray(counts, dtype=np.float64))
    if g.shape != n.shape:
        raise ValueError(f"conductance_S {g.shape} and counts {n.shape} must have one shape")
    if np.any(g < 0) or np.any(n < 0):
        raise ValueError("conductances and counts must be >= 0")
    with np.errstate(divide="ignore"):
        r = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), np.inf)
    return r, n


class FlashADC(Component):
    """Flash ADC: L-1 current-mode comparators (multilevel S/A) + thermometer encoder.

    FlashADC(ctx, config, num_cols, cols_per_adc, levels, column_cap_F, array_height_m,
    array_width_m, reference_mode="parallel", rows_per_read=1, reference_energy_J=0.0).
    ``reference_mode``: "parallel" (reference levels spread over the rows read at once,
    tables §6.1) or "sequential" (multi-level-cell sensing, L = 2^cell_bits).
    ``reference_energy_J``: SRAM reference-row activation energy E_peri (tables §6.1).
    Energy: ``dynamic_energy_J(conductance_S=..., counts=...)`` over conversions.
    """

    name = "adc"
    category = "adc"

    def __init__(self, ctx, config, num_cols: int, cols_per_adc: int, levels: int,
                 column_cap_F: float, array_height_m: float, array_width_m: float,
                 reference_mode: str = "parallel", rows_per_read: int = 1,
                 reference_energy_J: float = 0.0):
        super().__init__()
        self.ctx = ctx
        self.num_cols = require_int("num_cols", num_cols)
        self.cols_per_adc = require_int("cols_per_adc", cols_per_adc)
        self.levels = L = require_int("levels", levels, 2)
        rows_per_read = require_int("rows_per_read", rows_per_read)
        if reference_mode not in ("parallel", "sequential"):
            raise ValueError(f"reference_mode={reference_mode!r} must be 'parallel' or "
                             f"'sequential'")
        self.num_adc = math.ceil(self.num_cols / self.cols_per_adc)
        self.shared = L                                   # D = dumcolshared = levelOutput
        self.r_ref = self._reference_resistances(config, reference_mode, rows_per_read)
        # --- unit devices --------------------------------------------------------------
        n_cell, p_cell = ctx.nmos_cell(), ctx.pmos_cell()
        self._cgn, self._cjn = n_cell.cap_in_F, n_cell.cap_out_F
        self._cgp, self._cjp = p_cell.cap_in_F, p_cell.cap_out_F
        # --- area (tables §6.1): N_ADC (L-1) [9 A_N + h_arr w_cell / D] --------------------
        if ctx.quirk("mlsa_dummy_column_area"):
            # NeuroSim mixes the wire width into the dummy column's size (tables §7.4);
            # ours sizes it with the array's own cell pitch
            f_wire = ctx.wire_width_m
            h_arr = (array_height_m / ctx.cell_height_m) * ctx.cell_height_F * f_wire
            w_cell = ctx.cell_width_F * (ctx.feature_size_m if ctx.is_sram else f_wire)
        else:
            h_arr, w_cell = array_height_m, ctx.cell_width_m
        self.sense_area_m2 = self.num_adc * (L - 1) * (9 * n_cell.area_m2
                                                        + h_arr * w_cell / self.shared)
        self._encoder(array_width_m)
        self._place(self.sense_area_m2 + self.encoder_area_m2, width_m=array_width_m)
        self.leakage_W = self.encoder_leakage_W        # tables §6.1: S/A static power is dynamic
        # --- latency of one conversion (tables §6.1) ----------------------------------
        # ours: the latency load of all L-1 comparator inputs and (below) the reference
        # power of all L-1 reference columns; NeuroSim uses L-3 of them (tables §7.21)
        n_load = (L - 3) if ctx.quirk("mlsa_reference_levels") else (L - 1)
        self.column_cap_F = column_cap_F
        c_col = column_cap_F + max(n_load, 0) * self._cgn
        picks = [1, L - 2] if L >= 3 else [0]
        self.comparator_latency_s = max(mlsa_latency_s(ctx, self.r_ref[i], c_col) for i in picks)
        self.conversion_latency_s = self.comparator_latency_s + self.encoder_latency_s
        self._energy_constants(column_cap_F, reference_energy_J)

    def _reference_resistances(self, config, reference_mode: str,
                               rows_per_read: int) -> np.ndarray:
        """The L-1 comparators' reference resistances (tables §6.1)."""
        ctx, L = self.ctx, self.levels
        if reference_mode == "parallel":
            r0 = (ctx.access_resistance_ohm if ctx.is_sram else config.r_on_ohm) / rows_per_read
            return np.array([r0 / (1.0 - i / L) for i in range(L - 1)])
        g_on, g_off = ctx.g_on_S, ctx.g_off_S
        g_ref = [g_on + (g_off - g_on) / (2 * (L - 1)) + i * (g_off - g_on) / (L - 1)
                 for i in range(L - 1)]
        return 1.0 / np.array(g_ref)

    def _encoder(self, array_width_m: float) -> None:
        """The thermometer-to-binary encoder after the comparators (tables §6.1)."""
        ctx, L = self.ctx, self.levels
        if L > 2:
            w = ctx.w_min_m
            self._inv = ctx.inv()
            self._nand2 = ctx.gate("nand", 2, 4 * w, 2 * ctx.pn * w)
            self._nand_big = ctx.gate("nand", L // 2, 4 * w, 2 * ctx.pn * w)
            n_out = math.ceil(math.log2(L))
            enc_area = ((self._inv.area_m2 + self._nand2.area_m2) * (L - 1)
                        + self._nand_big.area_m2 * n_out)
            # MultilevelSAEncoder.cpp: one encoder is an INV + NAND2 + big-NAND column
            # (w_E wide, its gates stacked h_E = area / w_E high); the encoders sit in rows
            # across the array width, the strip as wide as the array
            w_enc = self._inv.width_m + self._nand2.width_m + self._nand_big.width_m
            w_strip, h_strip = tile_units(w_enc, enc_area / w_enc, self.num_adc,
                                          array_width_m)
            self.encoder_area_m2 = w_strip * h_strip
            self.encoder_leakage_W = self.num_adc * ((L - 1) * self._nand2.leakage_W
                                                     + n_out * self._nand_big.leakage_W
                                                     + 5 * (L - 1) * self._inv.leakage_W)
            t1, ramp = ctx.horowitz(ctx.r_on(w, "n") * (self._inv.cap_out_F
                                                        + 2 * self._nand2.cap_in_F))
            t2, _ = ctx.horowitz(2 * ctx.r_on(4 * w, "n") * (
                self._nand2.cap_out_F + (L / 2) * self._nand_big.cap_in_F), ramp)
            self.encoder_latency_s = t1 + t2
        else:
            self.encoder_area_m2 = self.encoder_leakage_W = self.encoder_latency_s = 0.0

    def _energy_constants(self, column_cap_F: float, reference_energy_J: float) -> None:
        """Per-conversion switching energy, reference power and encoder energy (tables §6.1)."""
        ctx, L = self.ctx, self.levels
        vr2, vdd2 = ctx.read_voltage_V ** 2, ctx.vdd_V ** 2
        D = self.shared
        # the column / S-A interface energy C_col V_r^2 (1/(L-1) + 1/D) per comparator;
        # NeuroSim's integer division drops 1/(L-1), so the column itself is never charged
        # (tables §7.1)
        col_share = 1.0 / D if ctx.quirk("mlsa_column_charge") else 1.0 / (L - 1) + 1.0 / D
        cgn, cjn, cgp, cjp = self._cgn, self._cjn, self._cgp, self._cjp
        self.switch_energy_J = (column_cap_F * vr2 * col_share                  # tables §6.1
                                + reference_energy_J / D
                                + (2 * cgn + (cjn + cgn) / (L - 1) + (cjn + cgn) / D) * vr2
                                + (2 * cgp + cgn) * vdd2
                                + (3 * cgp + 3 * cgn + 3 * (cjp + cjn) + cjp) * vdd2
                                + (cgp + cgn) * vdd2)
        ref_idx = range(1, L - 2) if ctx.quirk("mlsa_reference_levels") else range(0, L - 1)
        self.reference_power_W = float(np.sum(mlsa_column_power_W(
            ctx, self.r_ref[list(ref_idx)], L))) / D if len(ref_idx) else 0.0
        if ctx.quirk("encoder_energy_zero") or L <= 2:
            self.encoder_energy_J = 0.0
        else:
            # ours: half the encoder nodes toggle per conversion, x epsilon (control logic);
            # NeuroSim hard-codes the encoder's energy to 0 (tables §7.16)
            self.encoder_energy_J = 0.5 * ctx.epsilon * vdd2 * (
                (L - 1) * (self._inv.cap_in_F + self._inv.cap_out_F + self._nand2.cap_in_F
                           + self._nand2.cap_out_F)
                + math.ceil(math.log2(L)) * (self._nand_big.cap_in_F + self._nand_big.cap_out_F))

    def latency_s(self, *, num_conversions: float = 1.0) -> float:
        """Sequential conversions of one ADC (clocking is the SubArray's business)."""
        return num_conversions * self.conversion_latency_s

    def energy_per_conversion_J(self, conductance_S) -> np.ndarray:
        r, _ = _histogram(conductance_S, np.zeros_like(np.atleast_1d(conductance_S)))
        power = mlsa_column_power_W(self.ctx, r, self.levels)
        return ((self.levels - 1) * self.switch_energy_J + self.encoder_energy_J
                + self.comparator_latency_s * (power + self.reference_power_W))

    def dynamic_energy_J(self, *, conductance_S=(), counts=()) -> float:
        r, n = _histogram(conductance_S, counts)
        if n.size == 0:
            return 0.0
        power = mlsa_column_power_W(self.ctx, r, self.levels)
        per = ((self.levels - 1) * self.switch_energy_J + self.encoder_energy_J
               + self.comparator_latency_s * (power + self.reference_power_W))  # tables §6.1
        return float(np.sum(n * per))


class SarADC(Component):
    """Successive-approximation ADC (tables §6.2).

    SarADC(ctx, config, num_cols, cols_per_adc, bits, array_width_m).
    """

    name = "adc"
    category = "adc"

    def __init__(self, ctx, config, num_cols: int, cols_per_adc: int, bits: int,
                 array_width_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_cols = require_int("num_cols", num_cols)
        self.cols_per_adc = require_int("cols_per_adc", cols_per_adc)
        self.bits = require_int("bits", bits)
        self.levels = 2 ** self.bits
        self.num_adc = math.ceil(self.num_cols / self.cols_per_adc)
        a_n, a_p = ctx.nmos_cell().area_m2, ctx.pmos_cell().area_m2
        b = self.bits
        # tables §6.2: 269 N + 209 P devices for 1 bit, + 109 N + 73 P per extra bit.
        unit = a_n * (269 + 109 * (b - 1)) + a_p * (209 + 73 * (b - 1))
        self._place(self.num_adc * unit, width_m=array_width_m)
        self.conversion_latency_s = (b + 1) * 1e-9          # tables §6.2: (log2 L + 1) x 1 ns
        self.leakage_W = 0.0

    def latency_s(self, *, num_conversions: float = 1.0) -> float:
        return num_conversions * self.conversion_latency_s

    def energy_per_conversion_J(self, conductance_S) -> np.ndarray:
        r, _ = _histogram(conductance_S, np.zeros_like(np.atleast_1d(conductance_S)))
        return sar_column_power_W(self.ctx, r, self.bits) * self.conversion_latency_s

    def dynamic_energy_J(self, *, conductance_S=(), counts=()) -> float:
        r, n = _histogram(conductance_S, counts)
        if n.size == 0:
            return 0.0
        # tables §6.2: E = P_SAR(R) (log2 L + 1) 1 ns per conversion
        return float(np.sum(n * sar_column_power_W(self.ctx, r, self.bits))
                     * self.conversion_latency_s)
