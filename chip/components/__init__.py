"""Circuit components of step 2: one module per peripheral, all with the interface of
`chip.components.base.Component` (docs/chip-internals.md).

Leaf blocks: array, switch_matrix (SwitchMatrix, NewSwitchMatrix), decoder (RowDecoder),
mux, adc (FlashADC, SarADC), sense_amp (SenseAmp, Precharger), level_shifter, adder, dff,
shift_add. Chip-level blocks: adder_tree, buffer, bus, htree, xybus, max_pool, activation.
Composite: subarray.SubArray. `neurosim_differences()` collects the per-module notes on
deliberate differences from DNN+NeuroSim V1.4; the switchable registry of all of them is
`chip.compat.QUIRKS` (``config.compat = "neurosim-1.4"`` switches every one on).
"""
from __future__ import annotations

import importlib

_MODULES_WITH_DIFFERENCES = ("adc", "adder_tree", "max_pool", "subarray")


def neurosim_differences() -> dict[str, str]:
    """Every deliberate difference from NeuroSim V1.4 in the circuit models, by key."""
    out: dict[str, str] = {}
    for name in _MODULES_WITH_DIFFERENCES:
        mod = importlib.import_module(f"chip.components.{name}")
        out.update(getattr(mod, "NEUROSIM_DIFFERENCES", {}))
    for name in ("chip.activity", "chip.technology"):
        mod = importlib.import_module(name)
        out.update(getattr(mod, "NEUROSIM_DIFFERENCES", {}))
    return out
