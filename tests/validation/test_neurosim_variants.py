"""Compat-mode figures of the NeuroSim VGG-8 variants (docs/validation.md, "Variants").

Pins what ``python benchmarks/compare_neurosim.py --variants`` printed when they were pinned
(NeuroSim's own VGG-8 trace; one change at a time over the default point), so a regression
in any model shows up. Tolerance ±1 % (the figures are deterministic; the slack absorbs
float-summation order). Skips when ../shared is absent.
"""
from __future__ import annotations


import pytest

from tests.conftest import shared_path
from tests.validation import compare_module as _compare_module

pytestmark = pytest.mark.shared
TOL = 0.01

PINNED = {
    "default (SRAM 22 nm, 5-bit ADC, 128x128, 128 rows)": {"area_mm2": 80.058, "clock_period_ns": 1.6993, "latency_per_image_ns": 133030.0, "dynamic_energy_per_image_pJ": 37641000.0, "leakage_energy_per_image_pJ": 301490.0, "tops_per_w": 26.612, "tops": 9.26},
    "ADC 4 bits": {"area_mm2": 73.847, "clock_period_ns": 1.567, "latency_per_image_ns": 122500.0, "dynamic_energy_per_image_pJ": 28199000.0, "leakage_energy_per_image_pJ": 255110.0, "tops_per_w": 35.486, "tops": 10.056},
    "sub-array 64x64 (64 rows in parallel)": {"area_mm2": 127.14, "clock_period_ns": 1.8006, "latency_per_image_ns": 87542.0, "dynamic_energy_per_image_pJ": 62854000.0, "leakage_energy_per_image_pJ": 274370.0, "tops_per_w": 15.995, "tops": 14.071},
    "sub-array 64 rows by command line (64x128)": {"area_mm2": 124.66, "clock_period_ns": 1.8068, "latency_per_image_ns": 87457.0, "dynamic_energy_per_image_pJ": 57550000.0, "leakage_energy_per_image_pJ": 295850.0, "tops_per_w": 17.455, "tops": 14.085},
    "rows in parallel 32": {"area_mm2": 85.979, "clock_period_ns": 2.2788, "latency_per_image_ns": 203290.0, "dynamic_energy_per_image_pJ": 119850000.0, "leakage_energy_per_image_pJ": 501960.0, "tops_per_w": 8.3896, "tops": 6.0594},
    "rows in parallel 64": {"area_mm2": 84.402, "clock_period_ns": 1.8771, "latency_per_image_ns": 153920.0, "dynamic_energy_per_image_pJ": 62253000.0, "leakage_energy_per_image_pJ": 374540.0, "tops_per_w": 16.122, "tops": 8.0032},
    "RRAM": {"area_mm2": 357.99, "clock_period_ns": 1.6664, "latency_per_image_ns": 130450.0, "dynamic_energy_per_image_pJ": 35565000.0, "leakage_energy_per_image_pJ": 287130.0, "tops_per_w": 28.163, "tops": 9.4427},
    "7 nm": {"area_mm2": 19.747, "clock_period_ns": 1.3919, "latency_per_image_ns": 108820.0, "dynamic_energy_per_image_pJ": 16025000.0, "leakage_energy_per_image_pJ": 503910.0, "tops_per_w": 61.087, "tops": 11.32},
    "layer-by-layer": {"area_mm2": 68.608, "clock_period_ns": 1.6993, "latency_per_image_ns": 325860.0, "dynamic_energy_per_image_pJ": 37625000.0, "leakage_energy_per_image_pJ": 858720.0, "tops_per_w": 26.237, "tops": 3.7803},
    "H-tree global bus": {"area_mm2": 79.331, "clock_period_ns": 1.6993, "latency_per_image_ns": 461790.0, "dynamic_energy_per_image_pJ": 41014000.0, "leakage_energy_per_image_pJ": 950580.0, "tops_per_w": 24.061, "tops": 2.6675},
    "Table VII: SRAM 22 nm, ADC 4, 32 rows": {"area_mm2": 79.716, "clock_period_ns": 1.7896, "latency_per_image_ns": 159630.0, "dynamic_energy_per_image_pJ": 70427000.0, "leakage_energy_per_image_pJ": 363750.0, "tops_per_w": 14.263, "tops": 7.717},
    "Table VII: SRAM 22 nm, ADC 4, 64 rows": {"area_mm2": 78.134, "clock_period_ns": 1.6162, "latency_per_image_ns": 132340.0, "dynamic_energy_per_image_pJ": 41481000.0, "leakage_energy_per_image_pJ": 296710.0, "tops_per_w": 24.168, "tops": 9.3081},
    "Table VII: RRAM 22 nm, ADC 4, 32 rows": {"area_mm2": 345.19, "clock_period_ns": 1.7974, "latency_per_image_ns": 160320.0, "dynamic_energy_per_image_pJ": 55091000.0, "leakage_energy_per_image_pJ": 332960.0, "tops_per_w": 18.218, "tops": 7.6836},
    "Table VII: RRAM 22 nm, ADC 4, 64 rows": {"area_mm2": 341.35, "clock_period_ns": 1.5861, "latency_per_image_ns": 131430.0, "dynamic_energy_per_image_pJ": 35338000.0, "leakage_energy_per_image_pJ": 276720.0, "tops_per_w": 28.351, "tops": 9.3723},
}


@pytest.fixture(scope="module")
def figures():
    trace_path = shared_path("neurosim-vgg8", "layer_record_VGG8.tar.xz")
    from contracts.neurosim_reader import read_neurosim
    return _compare_module().variant_figures(read_neurosim(str(trace_path)))


def test_variant_set_matches_pins(figures):
    assert list(figures) == list(PINNED)


@pytest.mark.parametrize("variant", list(PINNED))
def test_variant_pinned(variant, figures):
    got = figures[variant]
    bad = {k: (got[k], v) for k, v in PINNED[variant].items()
           if abs(got[k] - v) > TOL * abs(v)}
    assert not bad, f"{variant}: (ours now, pinned) {bad}"
