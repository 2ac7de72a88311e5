"""The one place the golden-figure fixture imports the estimator and its contracts from.

When a module moves, fix the import lines here and nothing else.
"""
from __future__ import annotations

from pathlib import Path

from chip.estimator import ProvenanceWarning, estimate      # noqa: F401  (re-exported)
from contracts.presets import PRESETS, preset                   # noqa: F401
from chip.report import write_results                       # noqa: F401
from chip.synthetic import write_synthetic_trace            # noqa: F401
from contracts.neurosim_reader import read_neurosim              # noqa: F401
from contracts.trace import read_trace                        # noqa: F401
from tests.validation import compare_module

REPO_ROOT = Path(__file__).resolve().parents[2]


def compare_neurosim_variants() -> dict[str, dict]:
    """benchmarks/compare_neurosim.py's VARIANTS: name -> changes over the NeuroSim default
    point in compat mode (read from the script, so a new variant becomes a new case)."""
    return dict(compare_module().VARIANTS)
