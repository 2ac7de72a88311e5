"""Programming (write) error, applied once when the weights are written.

Equations (z ~ N(0, 1), one draw per cell)
-----------------------------------------
* state-independent: ``G = G_target + alpha * Gmax * z``       (sigma = alpha * Gmax)
* state-proportional: ``G = G_target + alpha * G_target * z``   (sigma = alpha * G)
The result is clipped at 0 S (a conductance cannot be negative); for the state-independent
mode this clipping biases cells near Gmin = 0 slightly upwards.

Sources: the two modes as in PyRRAM-Sim (SoyedTuhinAhmed/PyRRAM-Sim, "state-independent
sigma = alpha*Gmax or proportional") and CrossSim's programming-error models (Sandia
CrossSim 3.x, e.g. its state-independent and state-proportional RRAM error); aihwkit's PCM
model (Nandakumar et al., 2019; Joshi et al., Nat. Commun. 11:2473, 2020) fits the same
quantity with a polynomial of G. Config keys: ``programming_error_sigma`` (alpha),
``programming_error_mode``. No temperature dependence is defined by these models.
"""
from __future__ import annotations

import torch

from ._common import check_sigma, normal_like

__all__ = ["MODES", "apply_programming_error"]

MODES = ("state_independent", "state_proportional")


def apply_programming_error(g_target: torch.Tensor, sigma: float, mode: str, g_max: float,
                            generator: torch.Generator) -> torch.Tensor:
    """Programmed conductances: ``g_target`` plus write error of relative size ``sigma``."""
    sigma = check_sigma("programming_error_sigma", sigma)
    if mode not in MODES:
        raise ValueError(f"programming_error_mode={mode!r} is not allowed; choose from: "
                         f"{', '.join(MODES)}")
    if sigma == 0.0:
        return g_target.clone()
    z = normal_like(g_target, generator)
    scale = g_max if mode == "state_independent" else g_target
    return torch.clamp(g_target + sigma * scale * z, min=0.0)
