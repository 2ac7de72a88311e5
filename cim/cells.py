"""Cell levels to conductances: THE single place where the analog array is formed.

Every array of `cim.crossbar` is programmed through :func:`program_cells`; the
programming-time device non-idealities (stuck-at faults, programming error, variation,
relaxation, drift) apply there, as functions of the integer levels, the config and a seeded
generator. The level map itself is cim.devices.conductance's (one implementation).

Model (NeuroSim V1.4 ``LoadInWeightData``, reference/neurosim-v1.4.md §6): a cell of ``c``
bits at level ``d`` in [0, 2^c - 1] has conductance

    G(d) = Gmin + d / (2^c - 1) * (Gmax - Gmin),   Gmax = 1/R_on, Gmin = 1/R_off.

We work in units of Gmax (a read voltage of 1 on a row with an on cell gives current 1), so

    g(d) = gmin + d * delta,   gmin = R_on / R_off = 1 / on_off_ratio,
    delta = (1 - gmin) / (2^c - 1)                    (one level's current step).

SRAM has an infinite on/off ratio: gmin = 0. The access transistor's on-resistance and the
wire resistance are not in this accuracy model (step 2 prices them).

The off-state current: a column read with input planes ``x_r`` carries
``sum_r x_r g(d_r) = gmin * sum_r x_r + delta * sum_r x_r d_r``. The first term depends only
on the inputs. The offset encoding removes it with the reference column of level-0 cells
(its current is exactly ``gmin * sum_r x_r``), the differential encoding with the second column
of the pair; both are converted by the same ADC and subtracted digitally after it. The ADC
must therefore cover the off-state current too: with a full-scale range of ``rows`` on-cells
the signal ``delta * sum x d`` spans only ``(1 - gmin)`` of it, and a calibrated range is set
on the total current it observes (cim.adc).
"""
from __future__ import annotations

import math

import torch

from . import devices
from .devices import conductance

__all__ = ["gmin", "level_step", "nominal_conductance", "cell_conductance", "program_cells",
           "read_is_ideal", "read_levels"]


def gmin(config) -> float:
    """Off-state conductance in units of Gmax: R_on / R_off (0 for SRAM)."""
    ratio = config.on_off_ratio
    return 0.0 if math.isinf(ratio) else 1.0 / ratio


def _levels(config) -> int:
    return 2 ** config.cell_bits


def level_step(config) -> float:
    """Current of one cell level in units of Gmax: (1 - gmin) / (2^c - 1) (NeuroSim §6)."""
    return conductance.level_step(gmin(config), 1.0, _levels(config))


def nominal_conductance(levels: torch.Tensor, config) -> torch.Tensor:
    """Ideal conductance (float32, units of Gmax) of cells at integer ``levels``
    (cim.devices.conductance's level map with Gmin = gmin, Gmax = 1)."""
    return conductance.levels_to_conductance(levels, gmin(config), 1.0, _levels(config),
                                             torch.float32)


def program_cells(levels: torch.Tensor, config, generator: torch.Generator | None = None):
    """Program cells to integer ``levels``: (DeviceState or None, conductance float32).

    Programming-time device effects (cim.devices.program_conductances: stuck-at faults,
    programming error, d2d variation, relaxation, drift to ``config.drift_time_s``) are
    applied once, here. We pass the target in units of Gmax with the mapping range
    (gmin, 1): every device model is relative to G or to Gmax, so the units cancel (ours).
    With every programming effect off, nothing is drawn and the nominal conductances are
    returned unchanged with state None (the ideal path, bit for bit).
    """
    g = nominal_conductance(levels, config)
    if devices.programming_is_ideal(config):
        return None, g
    if generator is None:
        raise ValueError("device non-idealities are on: programming needs a seeded generator")
    state = devices.program_conductances(g.to(torch.float64), config, generator,
                                         g_range=(gmin(config), 1.0))
    return state, state.g.to(torch.float32)


def cell_conductance(levels: torch.Tensor, config, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Conductance (float32, units of Gmax) of cells programmed to integer ``levels``.

    Starts from :func:`nominal_conductance` and applies the programming-time effects with
    ``generator`` (seeded; :func:`program_cells`). While the result equals the nominal
    conductance, cim.crossbar computes the read currents exactly in integer arithmetic; any
    deviation switches it to the float path, which reads whatever conductances this gives.
    """
    return program_cells(levels, config, generator)[1]


def read_is_ideal(config, state=None) -> bool:
    """True when a read sees the programmed conductances unchanged (no read noise, no drift
    compensation factor)."""
    comp = 1.0 if state is None else state.drift_compensation
    return config.read_noise_sigma == 0 and comp == 1.0


def read_levels(g: torch.Tensor, config) -> torch.Tensor:
    """What a sense amplifier reads from one cell at a time (sequential mode): the nearest level.

    The thresholds sit halfway between the nominal level currents (ours); an ideal cell reads
    back its programmed level exactly.
    """
    return conductance.conductance_to_levels(g, gmin(config), 1.0, _levels(config),
                                             rounded=True).to(torch.int8)
