"""Short-term relaxation after programming, long-term drift, and global drift compensation.

Equations (z ~ N(0, 1), one draw per cell)
-----------------------------------------
* relaxation (seconds after the write-verify loop ends):
  ``G = G_prog * (1 + sigma_relax * z)``                    (relative sigma)
* relative drift (RRAM, "DoRA"-style state-proportional drift, k <= 0.2 typical):
  ``G(t) = G_prog + sigma_rel(t) * G_target * z``   applied when t > 0, with the spread
  growing linearly in log-time, normalised to k at the reference time t_ref:
  ``sigma_rel(t) = k * max(0, 1 + s * ln(t / t_ref))``.
  The log-time law is the one aihwkit fits to CMO/HfOx ReRAM relaxation
  (``ReRamCMONoiseModel``, data of Falcone et al.): std(t) = 0.0420 uS * ln(t) + 0.412 uS,
  t in s, i.e. ``s = 0.0420 / 0.412 = 0.102`` per e-fold with t_ref = 1 s (default). There the
  spread is state-independent; we keep DoRA's state-proportional spread (k * G_target) and
  take only its time dependence from the fit (ours). s = 0 gives the spread k at every t > 0.
* power-law drift (PCM): ``G(t) = G_prog * (max(t, t0) / t0) ** (-nu)``  (no drift before t0)
* global drift compensation: one scalar per array, ``c = sum(G_before_drift) /
  sum(G(t))`` - the ratio of the array's response to an all-ones input read right after
  programming and at time t; outputs (equivalently read conductances) are multiplied by c.
All results are clipped at 0 S.

Sources: relaxation and relative drift as applied in sequence by PyRRAM-Sim
(SoyedTuhinAhmed/PyRRAM-Sim), drift sigma = k*G and "drift < 20 %" from DoRA (Dong et al.,
arXiv 2504.03763); power-law drift G0*(t/t0)^-nu of PCM (Ielmini et al., IEEE TED 2007;
Le Gallo et al.; aihwkit's PCM inference model, t0 = 20 s there, nu ~ 0.03-0.1) and its
global drift compensation (Joshi et al., Nat. Commun. 11:2473, 2020; aihwkit
``GlobalDriftCompensation``). Config keys: ``relaxation_sigma``, ``drift_model``,
``drift_time_s``, ``drift_relative_k``, ``drift_relative_t_ref_s``,
``drift_relative_log_slope``, ``drift_nu``, ``drift_t0_s``, ``drift_compensation``.
Temperature: no temperature law in these models (nu is taken at the operating temperature).
"""
from __future__ import annotations

import math

import torch

from ._common import check_positive, check_sigma, multiplicative_noise, normal_like

__all__ = ["DRIFT_MODELS", "apply_relaxation", "relative_drift_sigma", "apply_relative_drift",
           "power_law_factor",
           "apply_power_law_drift", "apply_drift", "drift_compensation_factor"]

DRIFT_MODELS = ("none", "relative", "power_law")


def apply_relaxation(g: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Short-term relaxation right after programming (relative sigma)."""
    return multiplicative_noise(g, sigma, "relaxation_sigma", generator)


def relative_drift_sigma(k: float, time_s: float, t_ref_s: float = 1.0,
                         log_slope: float = 0.0) -> float:
    """Relative spread of the relative-drift model at ``time_s``:
    k * max(0, 1 + log_slope * ln(t / t_ref)); 0 at t = 0 (module docstring)."""
    k = check_sigma("drift_relative_k", k)
    time_s = check_sigma("drift_time_s", time_s)
    t_ref_s = check_positive("drift_relative_t_ref_s", t_ref_s)
    log_slope = check_sigma("drift_relative_log_slope", log_slope)
    if time_s == 0.0 or k == 0.0:
        return 0.0
    return k * max(0.0, 1.0 + log_slope * math.log(time_s / t_ref_s))


def apply_relative_drift(g: torch.Tensor, g_target: torch.Tensor, k: float,
                         generator: torch.Generator) -> torch.Tensor:
    """G + k * G_target * z (state-proportional drift)."""
    k = check_sigma("drift_relative_k", k)
    if g.shape != g_target.shape:
        raise ValueError(f"g shape {tuple(g.shape)} and g_target shape "
                         f"{tuple(g_target.shape)} must match")
    if k == 0.0:
        return g.clone()
    return torch.clamp(g + k * g_target * normal_like(g, generator), min=0.0)


def power_law_factor(time_s: float, nu: float, t0_s: float) -> float:
    """(max(t, t0) / t0) ** -nu."""
    time_s = check_sigma("drift_time_s", time_s)
    nu = check_sigma("drift_nu", nu)
    t0_s = check_positive("drift_t0_s", t0_s)
    return math.pow(max(time_s, t0_s) / t0_s, -nu)


def apply_power_law_drift(g: torch.Tensor, time_s: float, nu: float, t0_s: float) -> torch.Tensor:
    """G(t) = G_prog * (t / t0) ** -nu for t > t0, unchanged before t0."""
    factor = power_law_factor(time_s, nu, t0_s)
    if factor == 1.0:
        return g.clone()
    return g * factor


def apply_drift(g: torch.Tensor, g_target: torch.Tensor, model: str, time_s: float, *,
                k: float = 0.1, nu: float = 0.05, t0_s: float = 1.0, t_ref_s: float = 1.0,
                log_slope: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Dispatch on ``model`` ('none', 'relative', 'power_law'); identity at time 0.
    'relative' uses the spread ``relative_drift_sigma(k, time_s, t_ref_s, log_slope)``."""
    if model not in DRIFT_MODELS:
        raise ValueError(f"drift_model={model!r} is not allowed; choose from: "
                         f"{', '.join(DRIFT_MODELS)}")
    time_s = check_sigma("drift_time_s", time_s)
    if model == "none" or time_s == 0.0:
        return g.clone()
    if model == "relative":
        if generator is None:
            raise ValueError("generator is required for drift_model='relative'")
        return apply_relative_drift(g, g_target,
                                    relative_drift_sigma(k, time_s, t_ref_s, log_slope), generator)
    return apply_power_law_drift(g, time_s, nu, t0_s)


def drift_compensation_factor(g_before: torch.Tensor, g_after: torch.Tensor) -> float:
    """c = sum(G before drift) / sum(G after drift): the all-ones-read ratio (1.0 if empty)."""
    after = float(g_after.sum())
    before = float(g_before.sum())
    if after <= 0.0 or before <= 0.0:
        return 1.0
    return before / after
