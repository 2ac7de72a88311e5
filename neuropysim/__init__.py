"""NeuroPySim's workflows across both steps: what needs step 1 (``cim``, torch) and step 2
(``chip``) together - a hardware-aware model object with its chip statistics, design-space
exploration that runs step 1 where accuracy changes and step 2 for the cost.

The two steps never import each other (docs/architecture.md); this package is the one place
that imports both. Nothing in ``contracts``, ``chip``, ``cim`` or ``models`` imports it.
"""

from .accelerator import FAULT_KINDS, Accelerator, Profile

__all__ = ["Accelerator", "Profile", "FAULT_KINDS"]
