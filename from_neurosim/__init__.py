"""from_neurosim: the C++17 formula engine of NeuroPySim (pybind11 module ``FormulaBindings``).

Technology tables and device/wire formulas re-implemented from the equations and numbers of
DNN+NeuroSim V1.4; see docs/formula-api.md.
"""
from . import FormulaBindings

__all__ = ["FormulaBindings"]
