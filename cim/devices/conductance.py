"""Conductance mapping: integer cell levels <-> conductances (the single implementation).

Equations
---------
* Linear level mapping of an L-level cell (L = 2..16, at most 2^cell_bits):
  ``G(d) = Gmin + d * dG`` with ``dG = (Gmax - Gmin) / (L - 1)``, ``d = 0 .. L-1``;
  ``Gmin = 1 / r_off_ohm``, ``Gmax = 1 / r_on_ohm`` (an SRAM cell has Gmin = 0).
  Source: DNN+NeuroSim V1.x (Peng et al., IEDM 2019; its ``cellBit`` levels spread linearly
  between the off and on conductance), MNSIM 2.0 and CrossSim use the same linear map.
* Inverse: ``d = (G - Gmin) / dG``; rounded, the nearest level with ties up (a sense
  amplifier's thresholds sit halfway between the level conductances), clipped to 0..L-1.

cim.cells uses these in units of Gmax (Gmin = R_on / R_off, Gmax = 1); how weights become
levels - offset code with its reference column, differential pairs, slices of multi-level
cells - is cim.bitslice's. All functions are pure.
"""
from __future__ import annotations

import math

import torch

__all__ = ["conductance_range", "num_levels", "level_step", "levels_to_conductance",
           "conductance_to_levels"]


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
    return d.to(dtype) * step + g_min


def conductance_to_levels(g: torch.Tensor, g_min: float, g_max: float, n_levels: int,
                          rounded: bool = False) -> torch.Tensor:
    """Inverse map d = (G - Gmin) / dG; with ``rounded`` the nearest level (ties up),
    clipped to 0..L-1."""
    step = level_step(g_min, g_max, n_levels)
    d = (g - g_min) * (1.0 / step)
    if rounded:
        d = d.add_(0.5).floor_().clamp_(0, n_levels - 1)
    return d
