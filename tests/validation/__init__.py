"""Validation against DNN+NeuroSim V1.4 output (skips without ../shared)."""
import importlib.util

from tests.conftest import REPO_ROOT


def compare_module():
    """benchmarks/compare_neurosim.py as a module (it is a script, not a package member)."""
    spec = importlib.util.spec_from_file_location(
        "compare_neurosim", REPO_ROOT / "benchmarks" / "compare_neurosim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
