"""Conductance mapping: integer cell levels <-> conductances, multi-level cells,
differential pairs and the offset/reference column.

Equations
---------
* Linear level mapping of an L-level cell (L = 2..16, at most 2^cell_bits):
  ``G(d) = Gmin + d * dG`` with ``dG = (Gmax - Gmin) / (L - 1)``, ``d = 0 .. L-1``;
  ``Gmin = 1 / r_off_ohm``, ``Gmax = 1 / r_on_ohm`` (an SRAM cell has Gmin = 0).
  Source: DNN+NeuroSim V1.x (Peng et al., IEDM 2019; its ``cellBit`` levels spread linearly
  between the off and on conductance), MNSIM 2.0 and CrossSim use the same linear map.
* Inverse: ``d = (G - Gmin) / dG`` (rounded and clipped to 0..L-1 when asked).
* Differential pair (aihwkit, CrossSim "balanced core", PyRRAM-Sim): a signed level ``w`` is
  held by two cells ``G+ = G(max(w, 0))`` and ``G- = G(max(-w, 0))`` on two columns, so
  ``w = (G+ - G-) / dG``; the off-state Gmin cancels in the difference.
* Offset code with a reference column (DNN+NeuroSim's default): the array stores the
  unsigned level ``u``; a reference column holds level ``d_ref`` (0, i.e. Gmin, by default)
  in every row, and subtracting its current removes the off-state current:
  ``sum_i V_i (G(u_i) - G(d_ref)) = dG * sum_i V_i (u_i - d_ref)``.

All functions are pure: they take tensors and floats and return new tensors.
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "conductance_range", "num_levels", "level_step", "levels_to_conductance",
    "conductance_to_levels", "differential_conductances", "differential_levels",
    "reference_conductance", "subtract_reference",
]


def conductance_range(config) -> tuple[float, float]:
    """(Gmin, Gmax) in siemens from a HardwareConfig: (1/r_off, 1/r_on); SRAM has Gmin = 0."""
    g_max = 1.0 / float(config.r_on_ohm)
    sram = getattr(config, "memory_cell", "rram") == "sram"
    g_min = 0.0 if sram else 1.0 / float(config.r_off_ohm)
    _check_range(g_min, g_max)
    return g_min, g_max


def num_levels(cell_bits: int, levels: int | None = None) -> int:
    """Levels of a cell: 2^cell_bits, or ``levels`` (2..16) if given; it may not exceed
    what ``cell_bits`` allow."""
    if isinstance(cell_bits, bool) or not isinstance(cell_bits, int) or not 1 <= cell_bits <= 4:
        raise ValueError(f"cell_bits={cell_bits!r} must be an integer in [1, 4] (2-16 levels)")
    if levels is None:
        return 2 ** cell_bits
    if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 16:
        raise ValueError(f"levels={levels!r} must be an integer in [2, 16]")
    if levels > 2 ** cell_bits:
        raise ValueError(f"levels={levels} is more than cell_bits={cell_bits} allow "
                         f"(at most {2 ** cell_bits})")
    return levels


def _check_range(g_min: float, g_max: float) -> None:
    if not (math.isfinite(g_min) and g_min >= 0):
        raise ValueError(f"g_min={g_min} must be a finite conductance >= 0 S")
    if not (math.isfinite(g_max) and g_max > g_min):
        raise ValueError(f"g_max={g_max} must be finite and > g_min={g_min} (Gmin < Gmax)")


def level_step(g_min: float, g_max: float, n_levels: int) -> float:
    """dG = (Gmax - Gmin) / (L - 1)."""
    _check_range(g_min, g_max)
    if not 2 <= int(n_levels) <= 16:
        raise ValueError(f"n_levels={n_levels} must lie in [2, 16]")
    return (g_max - g_min) / (int(n_levels) - 1)


def levels_to_conductance(levels: torch.Tensor, g_min: float, g_max: float, n_levels: int,
                          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """G = Gmin + d * dG for integer levels d in [0, L-1] (ValueError outside)."""
    step = level_step(g_min, g_max, n_levels)
    d = torch.as_tensor(levels)
    if d.numel():
        lo, hi = float(d.min()), float(d.max())
        if lo < 0 or hi > n_levels - 1:
            raise ValueError(f"levels must lie in [0, {n_levels - 1}] for n_levels={n_levels}; "
                             f"got [{lo:g}, {hi:g}]")
    return g_min + d.to(dtype) * step


def conductance_to_levels(g: torch.Tensor, g_min: float, g_max: float, n_levels: int,
                          rounded: bool = False) -> torch.Tensor:
    """Inverse map d = (G - Gmin) / dG; with ``rounded`` the nearest level, clipped to 0..L-1."""
    step = level_step(g_min, g_max, n_levels)
    d = (g - g_min) / step
    if rounded:
        d = torch.round(d).clamp_(0, n_levels - 1)
    return d


def differential_conductances(signed_levels: torch.Tensor, g_min: float, g_max: float,
                              n_levels: int, dtype: torch.dtype = torch.float64
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(G+, G-) of a differential pair holding signed levels w in [-(L-1), L-1]."""
    w = torch.as_tensor(signed_levels)
    pos = torch.clamp(w, min=0)
    neg = torch.clamp(-w, min=0)
    return (levels_to_conductance(pos, g_min, g_max, n_levels, dtype),
            levels_to_conductance(neg, g_min, g_max, n_levels, dtype))


def differential_levels(g_pos: torch.Tensor, g_neg: torch.Tensor, g_min: float, g_max: float,
                        n_levels: int) -> torch.Tensor:
    """w = (G+ - G-) / dG (unrounded: device effects make it real-valued)."""
    if g_pos.shape != g_neg.shape:
        raise ValueError(f"g_pos shape {tuple(g_pos.shape)} and g_neg shape "
                         f"{tuple(g_neg.shape)} must match")
    return (g_pos - g_neg) / level_step(g_min, g_max, n_levels)


def reference_conductance(g_min: float, g_max: float, n_levels: int, n_rows: int,
                          ref_level: float = 0.0, dtype: torch.dtype = torch.float64
                          ) -> torch.Tensor:
    """The reference column: ``n_rows`` cells at level ``ref_level`` (0 = Gmin by default)."""
    if not 0 <= ref_level <= n_levels - 1:
        raise ValueError(f"ref_level={ref_level} must lie in [0, {n_levels - 1}]")
    if int(n_rows) < 1:
        raise ValueError(f"n_rows={n_rows} must be >= 1")
    step = level_step(g_min, g_max, n_levels)
    return torch.full((int(n_rows),), g_min + ref_level * step, dtype=dtype)


def subtract_reference(i_col: torch.Tensor, i_ref: torch.Tensor, v_read: float,
                       g_min: float, g_max: float, n_levels: int) -> torch.Tensor:
    """Level sums sum_i x_i (u_i - d_ref) from a column current and the reference-column
    current read with the same inputs (x_i = V_i / v_read)."""
    if not v_read > 0:
        raise ValueError(f"v_read={v_read} must be > 0 V")
    return (i_col - i_ref) / (v_read * level_step(g_min, g_max, n_levels))
