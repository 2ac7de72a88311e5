"""chip.estimate (chip/estimator.py): the Python API, ChipReport frames, invariants.

API plumbing runs on the stand-in parts of test_hierarchy; the physical invariants of the
issue (ADC bits, node shrink, rows in parallel, activity) are checked on the real circuit
models (they skip only where from_neurosim is not built, never in CI: tests/conftest.py).
"""
from __future__ import annotations

import pytest

import chip.estimator
from contracts.config import HardwareConfig
from chip.estimator import SUMMARY_KEYS, estimate, estimate_updated
from chip.parts import PhysicsUnavailable, default_parts
from contracts.presets import preset
from chip.synthetic import synthetic_layers, vgg8_cifar_geometries, write_synthetic_trace
from contracts.trace import Trace, TraceError

from conftest import cannot_run
from test_hierarchy import FakeParts


def _trace(sparsity=0.5, seed=0) -> Trace:
    layers = synthetic_layers(vgg8_cifar_geometries(), seed=seed, input_sparsity=sparsity)
    return Trace(manifest={"network": "VGG8", "config": {}, "layers": []}, layers=layers)


def test_api_report_shapes():
    r = estimate(_trace(), HardwareConfig(), parts=FakeParts(HardwareConfig()))
    for key in SUMMARY_KEYS:
        assert key in r.summary
    assert len(r.layers) == 8
    assert set(r.breakdown.columns) == {"layer", "level", "component", "category", "metric",
                                        "value", "unit"}
    # the breakdown is a flattening of the tree: dynamic energy adds up
    e = r.breakdown.query("metric == 'dynamic_energy'")["value"].sum()
    assert e == pytest.approx(r.summary["dynamic_energy_per_image_pJ"] * 1e-12, rel=1e-9)
    a = r.breakdown.query("metric == 'area'")["value"].sum()
    assert a == pytest.approx(r.summary["area_mm2"] * 1e-6, rel=1e-9)
    s = r.summary
    parts = sum(s[k] for k in ("array_area_mm2", "adc_area_mm2", "accumulation_area_mm2",
                               "interconnect_area_mm2", "buffer_area_mm2", "other_area_mm2"))
    assert parts == pytest.approx(s["area_mm2"])
    assert s["tops"] == pytest.approx(s["ops_per_image"] / (s["latency_per_image_ns"] * 1e-9)
                                      / 1e12)
    assert s["fps"] == pytest.approx(1e9 / s["latency_per_image_ns"])


def test_api_accepts_folder_and_updated(tmp_path):
    folder = write_synthetic_trace(tmp_path / "layer_record_VGG8", "vgg8")
    new = write_synthetic_trace(tmp_path / "layer_record_VGG8b", "vgg8", seed=5)
    cfg = HardwareConfig()
    r = estimate_updated(folder, new, cfg, parts=FakeParts(cfg))
    assert r.network == "VGG8"
    assert 0 < r.summary["rewrite_energy_pJ"] <= r.summary["write_energy_pJ"]
    with pytest.raises(TraceError):
        estimate(tmp_path / "missing", cfg, parts=FakeParts(cfg))


def test_compat_counts_fewer_vectors():
    cfg = preset("neurosim-1.4-default")
    ours = estimate(_trace(), cfg, parts=FakeParts(cfg))
    cc = cfg.replace(compat="neurosim-1.4")
    theirs = estimate(_trace(), cc, parts=FakeParts(cc))
    assert list(theirs.layers["input_vectors"])[:2] == [900, 900]
    assert theirs.summary["dynamic_energy_per_image_pJ"] < ours.summary[
        "dynamic_energy_per_image_pJ"]


def test_calibration_zeta_divides_tops_per_w():
    on = HardwareConfig(calibration_factors=True)
    off = HardwareConfig(calibration_factors=False)
    a = estimate(_trace(), on, parts=FakeParts(on)).summary["tops_per_w"]
    b = estimate(_trace(), off, parts=FakeParts(off)).summary["tops_per_w"]
    assert a == pytest.approx(b / 1.22)


# ------------------------------------------------------------- real circuit models (may skip)
def _real(config):
    try:
        default_parts(config)
    except PhysicsUnavailable as err:
        cannot_run("bindings", f"circuit models unavailable: {err}")
    return estimate(_trace(), config).summary


def test_real_more_adc_bits_more_adc_area_and_energy():
    base = dict(operation_mode="parallel", rows_in_parallel=64)
    lo, hi = _real(HardwareConfig(adc_bits=4, **base)), _real(HardwareConfig(adc_bits=6, **base))
    assert hi["adc_area_mm2"] > lo["adc_area_mm2"]
    assert hi["energy_breakdown_pJ"]["adc"] > lo["energy_breakdown_pJ"]["adc"]


def test_real_node_shrink_smaller_area():
    big = _real(HardwareConfig(memory_cell="sram", technology_node_nm=22))
    small = _real(HardwareConfig(memory_cell="sram", technology_node_nm=7))
    assert small["area_mm2"] < big["area_mm2"]


def test_real_rows_in_parallel_lower_latency():
    a = _real(HardwareConfig(operation_mode="parallel", rows_in_parallel=32))
    b = _real(HardwareConfig(operation_mode="parallel", rows_in_parallel=128))
    assert b["latency_per_image_ns"] < a["latency_per_image_ns"]


def test_real_pipelined_not_slower_than_layer_by_layer():
    a = _real(HardwareConfig(pipeline=True))
    b = _real(HardwareConfig(pipeline=False))
    assert a["latency_per_image_ns"] <= b["latency_per_image_ns"]


def test_real_energy_scales_with_activity():
    cfg = HardwareConfig()
    try:
        default_parts(cfg)
    except PhysicsUnavailable as err:
        cannot_run("bindings", f"circuit models unavailable: {err}")
    sparse = estimate(_trace(0.9), cfg).summary["dynamic_energy_per_image_pJ"]
    dense = estimate(_trace(0.1), cfg).summary["dynamic_energy_per_image_pJ"]
    assert dense > sparse


def test_unused_area_is_its_own_figure():
    """The sub-arrays' unused bounding-box corners: summary unused_area_mm2 (not in
    other_area_mm2), category "unused" in the breakdown, and the area rows add up."""
    cfg = HardwareConfig()                 # RRAM 1T1R: level shifters leave a large corner
    r = estimate(_trace(), cfg)
    s = r.summary
    rows = ("array_area_mm2", "adc_area_mm2", "accumulation_area_mm2", "interconnect_area_mm2",
            "buffer_area_mm2", "other_area_mm2", "unused_area_mm2")
    assert sum(s[k] for k in rows) == pytest.approx(s["area_mm2"], rel=1e-9)
    assert s["unused_area_mm2"] > s["other_area_mm2"] > 0
    b = r.breakdown.query("metric == 'area'")
    assert b[b.category == "unused"].value.sum() * 1e6 == pytest.approx(s["unused_area_mm2"])
    assert b[b.category == "other"].value.sum() * 1e6 == pytest.approx(s["other_area_mm2"])
    assert s["area_breakdown_mm2"]["unused"] == pytest.approx(s["unused_area_mm2"])
