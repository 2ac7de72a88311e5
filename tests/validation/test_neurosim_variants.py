"""Compat-mode figures of the NeuroSim VGG-8 variants (docs/validation.md, "Variants").

Pins what ``python benchmarks/compare_neurosim.py --variants`` printed when they were pinned
(NeuroSim's own VGG-8 trace; one change at a time over the default point), so a regression
in any model shows up. Tolerance ±1 % (the figures are deterministic; the slack absorbs
float-summation order). Skips when ../shared is absent.
"""
from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO_ROOT, shared_path

pytestmark = pytest.mark.shared
TOL = 0.01

PINNED = {
    "default (SRAM 22 nm, 5-bit ADC, 128x128, 128 rows)": {"area_mm2": 75.076, "clock_period_ns": 1.7131, "latency_per_image_ns": 1.3371e+05, "dynamic_energy_per_image_pJ": 3.8014e+07, "leakage_energy_per_image_pJ": 2.9398e+05, "tops_per_w": 26.357, "tops": 9.2128},
    "ADC 4 bits": {"area_mm2": 69.117, "clock_period_ns": 1.5809, "latency_per_image_ns": 1.2321e+05, "dynamic_energy_per_image_pJ": 2.8841e+07, "leakage_energy_per_image_pJ": 2.4917e+05, "tops_per_w": 34.709, "tops": 9.998},
    "sub-array 64x64 (64 rows in parallel)": {"area_mm2": 114.63, "clock_period_ns": 1.8151, "latency_per_image_ns": 87400, "dynamic_energy_per_image_pJ": 6.2864e+07, "leakage_energy_per_image_pJ": 2.7012e+05, "tops_per_w": 15.993, "tops": 14.094},
    "rows in parallel 32": {"area_mm2": 82.911, "clock_period_ns": 2.2928, "latency_per_image_ns": 2.0423e+05, "dynamic_energy_per_image_pJ": 1.2139e+08, "leakage_energy_per_image_pJ": 4.9016e+05, "tops_per_w": 8.2847, "tops": 6.0316},
    "rows in parallel 64": {"area_mm2": 80.455, "clock_period_ns": 1.8918, "latency_per_image_ns": 1.5468e+05, "dynamic_energy_per_image_pJ": 6.4975e+07, "leakage_energy_per_image_pJ": 3.658e+05, "tops_per_w": 15.453, "tops": 7.9636},
    "RRAM": {"area_mm2": 330.22, "clock_period_ns": 1.6832, "latency_per_image_ns": 1.3137e+05, "dynamic_energy_per_image_pJ": 4.1651e+07, "leakage_energy_per_image_pJ": 4.4927e+05, "tops_per_w": 23.984, "tops": 9.3767},
    "7 nm": {"area_mm2": 17.983, "clock_period_ns": 1.3916, "latency_per_image_ns": 1.0862e+05, "dynamic_energy_per_image_pJ": 1.6053e+07, "leakage_energy_per_image_pJ": 4.9297e+05, "tops_per_w": 61.023, "tops": 11.341},
    "layer-by-layer": {"area_mm2": 63.045, "clock_period_ns": 1.7131, "latency_per_image_ns": 3.2692e+05, "dynamic_energy_per_image_pJ": 3.8014e+07, "leakage_energy_per_image_pJ": 6.512e+05, "tops_per_w": 26.114, "tops": 3.768},
    "H-tree global bus": {"area_mm2": 74.639, "clock_period_ns": 1.7131, "latency_per_image_ns": 2.0443e+05, "dynamic_energy_per_image_pJ": 3.9295e+07, "leakage_energy_per_image_pJ": 4.4696e+05, "tops_per_w": 25.406, "tops": 6.0257},
    "Table VII: SRAM 22 nm, ADC 4, 32 rows": {"area_mm2": 76.31, "clock_period_ns": 1.8035, "latency_per_image_ns": 1.6045e+05, "dynamic_energy_per_image_pJ": 7.7948e+07, "leakage_energy_per_image_pJ": 3.5627e+05, "tops_per_w": 12.895, "tops": 7.6774},
    "Table VII: SRAM 22 nm, ADC 4, 64 rows": {"area_mm2": 73.845, "clock_period_ns": 1.6309, "latency_per_image_ns": 1.3317e+05, "dynamic_energy_per_image_pJ": 4.5431e+07, "leakage_energy_per_image_pJ": 2.9033e+05, "tops_per_w": 22.084, "tops": 9.2504},
    "Table VII: RRAM 22 nm, ADC 4, 32 rows": {"area_mm2": 337.78, "clock_period_ns": 1.812, "latency_per_image_ns": 1.6121e+05, "dynamic_energy_per_image_pJ": 7.4388e+07, "leakage_energy_per_image_pJ": 5.41e+05, "tops_per_w": 13.475, "tops": 7.6414},
    "Table VII: RRAM 22 nm, ADC 4, 64 rows": {"area_mm2": 318.96, "clock_period_ns": 1.6026, "latency_per_image_ns": 1.3086e+05, "dynamic_energy_per_image_pJ": 4.6571e+07, "leakage_energy_per_image_pJ": 4.3899e+05, "tops_per_w": 21.478, "tops": 9.4136},
}


def _compare_module():
    spec = importlib.util.spec_from_file_location(
        "compare_neurosim", REPO_ROOT / "benchmarks" / "compare_neurosim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def figures():
    trace_path = shared_path("neurosim-vgg8", "layer_record_VGG8.tar.xz")
    from cim.neurosim_format import read_neurosim
    return _compare_module().variant_figures(read_neurosim(str(trace_path)))


def test_variant_set_matches_pins(figures):
    assert list(figures) == list(PINNED)


@pytest.mark.parametrize("variant", list(PINNED))
def test_variant_pinned(variant, figures):
    got = figures[variant]
    bad = {k: (got[k], v) for k, v in PINNED[variant].items()
           if abs(got[k] - v) > TOL * abs(v)}
    assert not bad, f"{variant}: (ours now, pinned) {bad}"
