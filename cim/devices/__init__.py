"""Device and crossbar non-idealities for step 1 (hardware-in-the-loop inference).

Two entry points plug into the step-1 path:

* ``program_conductances(g_target, config, generator) -> DeviceState`` where integer cell
  levels have become target conductances (``conductance.levels_to_conductance``): applies,
  in this order, stuck-at faults, programming error, device-to-device variation,
  relaxation and drift to ``config.drift_time_s``, and records what it applied.
* ``read_conductances(state, config, generator) -> Tensor`` where an array is read: a fresh
  draw of cycle-to-cycle read noise on every call, times the global drift-compensation
  factor when ``config.drift_compensation`` is on.

The ADC effects are in ``adc_nonideal.adc_convert`` (where the ADC converts), the IR-drop
and sneak-path approximations in ``ir_drop`` (where column currents are formed), and the
exact circuit solver that calibrates them in ``cim.crossbar_solver``.

With every non-ideality at its default (off), ``program_conductances`` returns the target
conductances unchanged and ``read_conductances`` returns them unchanged: the ideal path,
bit for bit. Everything is a pure function of tensors, the config and an explicit
``torch.Generator``; the same seed gives bit-identical results.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ._common import base_seed, child_generator
from .adc_nonideal import AdcTransferCurve, adc_convert, adc_is_ideal, make_transfer_curve
from .conductance import (conductance_range, conductance_to_levels, level_step,
                          levels_to_conductance, num_levels)
from .drift import (apply_drift, apply_relaxation, drift_compensation_factor,
                    relative_drift_sigma)
from .faults import (OK, STUCK_HRS, STUCK_LRS, apply_stuck_at, inject_faults,
                     sample_fault_mask)
from .ir_drop import (approx_column_currents, ir_drop_conductances,
                      ir_drop_conductances_from_config, multilevel_scale,
                      sneak_conductances)
from .programming import apply_programming_error
from .variation import apply_d2d_variation, apply_read_noise

__all__ = [
    "DeviceState", "program_conductances", "read_conductances", "programming_is_ideal",
    "inject_faults", "adc_convert", "adc_is_ideal", "make_transfer_curve", "AdcTransferCurve",
    "conductance_range", "num_levels", "level_step", "levels_to_conductance",
    "conductance_to_levels", "sample_fault_mask",
    "OK", "STUCK_HRS", "STUCK_LRS", "ir_drop_conductances", "ir_drop_conductances_from_config",
    "approx_column_currents", "sneak_conductances", "multilevel_scale", "relative_drift_sigma",
]


@dataclass(frozen=True)
class DeviceState:
    """Programmed conductances of one array (or any tensor of cells) and what was applied.

    Attributes:
        g: conductances at ``config.drift_time_s`` after programming (S), same shape, dtype
           and device as the target.
        g_target: the ideal target conductances (S).
        g_min, g_max: the mapping range used for stuck-at values (S).
        fault_mask: int8 tensor, 0 healthy, 1 stuck at Gmin (HRS), 2 stuck at Gmax (LRS).
        drift_compensation: global factor the reads are multiplied by (1.0 when off).
        applied: names of the effects applied, in order.
    """

    g: torch.Tensor
    g_target: torch.Tensor
    g_min: float
    g_max: float
    fault_mask: torch.Tensor
    drift_compensation: float = 1.0
    applied: tuple[str, ...] = field(default=())

    @property
    def n_cells(self) -> int:
        return int(self.g.numel())

    @property
    def n_stuck_hrs(self) -> int:
        return int((self.fault_mask == STUCK_HRS).sum())

    @property
    def n_stuck_lrs(self) -> int:
        return int((self.fault_mask == STUCK_LRS).sum())

    @property
    def n_faults(self) -> int:
        return self.n_stuck_hrs + self.n_stuck_lrs

    def summary(self) -> dict:
        """Counts for a run's statistics: cells, faults (HRS/LRS), effects applied."""
        return {"cells": self.n_cells, "faults": self.n_faults,
                "stuck_hrs": self.n_stuck_hrs, "stuck_lrs": self.n_stuck_lrs,
                "drift_compensation": self.drift_compensation, "applied": list(self.applied)}


def programming_is_ideal(config) -> bool:
    """True when program_conductances is the identity for ``config``."""
    drift_on = config.drift_model != "none" and config.drift_time_s > 0
    return (config.stuck_at_fault_rate == 0 and config.programming_error_sigma == 0
            and config.d2d_variation_sigma == 0 and config.relaxation_sigma == 0
            and not drift_on)


def program_conductances(g_target: torch.Tensor, config, generator: torch.Generator,
                         g_range: tuple[float, float] | None = None) -> DeviceState:
    """Programming-time effects on target conductances (S): stuck-at faults, programming
    error, d2d variation, relaxation, drift to ``config.drift_time_s``.

    ``g_range`` = (Gmin, Gmax) overrides ``conductance_range(config)``. Draws exactly one
    number from ``generator``; each effect then uses its own child stream, so turning one
    effect on or off does not change the draws of another.
    """
    if not isinstance(g_target, torch.Tensor) or not g_target.is_floating_point():
        raise ValueError("g_target must be a floating-point torch.Tensor of conductances (S)")
    if g_target.numel() and float(g_target.min()) < 0:
        raise ValueError(f"g_target must be >= 0 S; got min {float(g_target.min()):g}")
    g_min, g_max = g_range if g_range is not None else conductance_range(config)
    if not 0 <= g_min < g_max:
        raise ValueError(f"g_range=({g_min}, {g_max}) needs 0 <= Gmin < Gmax")
    seed = base_seed(generator)
    dev = generator.device
    mask = sample_fault_mask(g_target.shape, config.stuck_at_fault_rate,
                             config.stuck_at_lrs_fraction, child_generator(seed, "faults", dev))
    applied: list[str] = []
    g = g_target.clone()
    if config.programming_error_sigma > 0:
        g = apply_programming_error(g, config.programming_error_sigma,
                                    config.programming_error_mode, g_max,
                                    child_generator(seed, "programming", dev))
        applied.append("programming_error")
    if config.d2d_variation_sigma > 0:
        g = apply_d2d_variation(g, config.d2d_variation_sigma, child_generator(seed, "d2d", dev))
        applied.append("d2d_variation")
    if config.relaxation_sigma > 0:
        g = apply_relaxation(g, config.relaxation_sigma, child_generator(seed, "relax", dev))
        applied.append("relaxation")
    factor = 1.0
    if config.drift_model != "none" and config.drift_time_s > 0:
        g_before = g
        g = apply_drift(g, g_target, config.drift_model, config.drift_time_s,
                        k=config.drift_relative_k, nu=config.drift_nu, t0_s=config.drift_t0_s,
                        t_ref_s=config.drift_relative_t_ref_s,
                        log_slope=config.drift_relative_log_slope,
                        generator=child_generator(seed, "drift", dev))
        applied.append(f"drift_{config.drift_model}")
        if config.drift_compensation:
            healthy = (mask == OK).to(g.device)
            # stuck cells do not drift, so they enter both sums alike
            before = torch.where(healthy, g_before, apply_stuck_at(g_before, mask, g_min, g_max))
            after = torch.where(healthy, g, apply_stuck_at(g, mask, g_min, g_max))
            factor = drift_compensation_factor(before, after)
            applied.append("drift_compensation")
    if config.stuck_at_fault_rate > 0:
        g = apply_stuck_at(g, mask, g_min, g_max)
        applied.insert(0, "stuck_at_faults")
    return DeviceState(g=g, g_target=g_target, g_min=float(g_min), g_max=float(g_max),
                       fault_mask=mask, drift_compensation=factor, applied=tuple(applied))


def read_conductances(state: DeviceState, config, generator: torch.Generator) -> torch.Tensor:
    """Conductances seen by one read: fresh c2c read noise (drawn from ``generator`` on
    every call), times the global drift-compensation factor. Identity when both are off."""
    if not isinstance(state, DeviceState):
        raise ValueError(f"state must be a DeviceState, got {type(state).__name__}")
    g = state.g
    if config.read_noise_sigma > 0:
        g = apply_read_noise(g, config.read_noise_sigma, generator)
    if state.drift_compensation != 1.0:
        g = g * state.drift_compensation
    return g
