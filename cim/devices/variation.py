"""Device-to-device variation (fixed per cell) and cycle-to-cycle read noise (fresh per read).

Equations (z ~ N(0, 1))
-----------------------
* d2d, drawn once when the array is programmed: ``G_d2d = G * (1 + sigma_d2d * z_cell)``
* c2c read noise, drawn anew at every read:    ``G_read = G * (1 + sigma_read * z_read)``
Both clipped at 0 S.

Sources: DNN+NeuroSim V1.1+ device-to-device variation (relative sigma on the conductance of
each cell, Peng et al., IEDM 2019 / TCAD 2021), MNSIM 2.0 "variation %", CrossSim and aihwkit
read noise (aihwkit's PCM read noise is 1/f-type and proportional to G; Joshi et al.,
Nat. Commun. 2020); the yzlite ReRAM wrapper quotes about 5 % read noise and 10 % write
variation as typical values. Config keys: ``d2d_variation_sigma``, ``read_noise_sigma``.
Temperature: these relative sigmas are taken as measured at the operating point; no
temperature law is defined by the sources, so none is applied.
"""
from __future__ import annotations

import torch

from ._common import multiplicative_noise

__all__ = ["apply_d2d_variation", "apply_read_noise"]


def apply_d2d_variation(g: torch.Tensor, sigma: float, generator: torch.Generator
                        ) -> torch.Tensor:
    """Fixed per-cell multiplicative variation (call once, at programming time)."""
    return multiplicative_noise(g, sigma, "d2d_variation_sigma", generator)


def apply_read_noise(g: torch.Tensor, sigma: float, generator: torch.Generator
                     ) -> torch.Tensor:
    """Cycle-to-cycle read noise: a fresh multiplicative draw on every call."""
    return multiplicative_noise(g, sigma, "read_noise_sigma", generator)
