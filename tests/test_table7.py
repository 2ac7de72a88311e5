"""DNN+NeuroSim V1.4 manual, Table VII (reference/neurosim-v1.4.md §8): the eight published
VGG-8 points, each preset on a synthetic VGG-8 trace. Chip area, TOPS and TOPS/W must lie
within a factor 1.5 of the published figure, and the eight points must keep the published
ordering. Synthetic activity makes this a coarse check (the table used trained weights and
CIFAR-10 inputs). Skips only where from_neurosim is not built, never in CI
(tests/conftest.py): nothing here passes without the real physics.
"""
from __future__ import annotations

import itertools

import pytest

from chip.estimator import estimate
from chip.parts import PhysicsUnavailable, default_parts
from contracts.presets import TABLE7_PUBLISHED, preset
from chip.synthetic import synthetic_layers, vgg8_cifar_geometries
from contracts.trace import Trace
from conftest import cannot_run

TABLE7 = TABLE7_PUBLISHED                # preset -> (area mm², TOPS, TOPS/W)
METRICS = ("area_mm2", "tops", "tops_per_w")
FACTOR = 1.5


@pytest.fixture(scope="module")
def results():
    try:
        default_parts(preset("table7-sram-22nm-par32"))
    except PhysicsUnavailable as err:
        cannot_run("bindings", f"Table VII needs the circuit models: {err}")
    layers = synthetic_layers(vgg8_cifar_geometries(), seed=0, input_sparsity=0.5)
    trace = Trace(manifest={"network": "VGG8", "config": {}, "layers": []}, layers=layers)
    return {name: estimate(trace, preset(name)).summary for name in TABLE7}


# Pairs whose order differs from Table VII, each with its cause (docs/validation.md, "Table
# VII"); strict, so a pair that comes back into order alerts. Every other pair is asserted.
KNOWN_MISORDERED = {
    ("tops", "table7-sram-1nm-par32", "table7-sram-1nm-par64"):
        "NeuroSim reads every row group of a sub-array, used or not (layer 1 has 27 rows: 4 "
        "reads at 32 rows, 2 at 64); ours reads only used groups (1 read either way), so the "
        "64-row point's longer sensing cycle (1 nm comparator fit, slower at the lower "
        "reference resistance) decides; quirk activity_counting restores Table VII's order",
    ("tops", "table7-rram-22nm-par64", "table7-sram-22nm-par32"):
        "ours times every global-bus transfer from the centre to the farthest tile on the "
        "largest tile's pitch; the RRAM chip is 4.6x larger, so its bus-bound layer-1 stage "
        "is longer (6.41 vs 6.89 TOPS); NeuroSim's conventions (quirks xybus_centre_traffic, "
        "global_bus_layer_tile_size) give 8.62 vs 7.73, Table VII's order",
    ("tops_per_w", "table7-sram-5nm-par64", "table7-sram-1nm-par32"):
        "near-equal in both modes (ours 44.69 vs 44.68, compat 59.9 vs 59.2 TOPS/W) where "
        "Table VII has 54.41 vs 65.08: our 1 nm points sit at 0.69x Table VII's TOPS/W, 5 nm "
        "at 0.82-0.84x, and NeuroSim's own conventions (compat) order them the same way, so "
        "the gap is Table VII's earlier build / trained activity, not a difference of ours",
}


def _published_order(metric, a, b, results):
    idx = METRICS.index(metric)
    return (results[a][metric] > results[b][metric]) == (TABLE7[a][idx] > TABLE7[b][idx])


@pytest.mark.parametrize("name", list(TABLE7))
def test_within_factor(name, results):
    got = results[name]
    for metric, published in zip(METRICS, TABLE7[name]):
        ratio = got[metric] / published
        assert 1 / FACTOR <= ratio <= FACTOR, f"{name} {metric}: {got[metric]:.4g} vs " \
                                               f"published {published} (x{ratio:.2f})"


@pytest.mark.parametrize("metric", METRICS)
def test_same_ordering(metric, results):
    idx = METRICS.index(metric)
    for a, b in itertools.combinations(TABLE7, 2):
        pa, pb = TABLE7[a][idx], TABLE7[b][idx]
        if abs(pa - pb) / max(pa, pb) < 0.05:
            continue          # published values within 5 %: order not meaningful
        if (metric, a, b) in KNOWN_MISORDERED:
            continue          # test_known_misordering
        assert _published_order(metric, a, b, results), \
            f"{metric}: {a} vs {b} ordered differently from Table VII"


@pytest.mark.parametrize("key", [
    pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=why), id="-".join(key))
    for key, why in KNOWN_MISORDERED.items()])
def test_known_misordering(key, results):
    assert _published_order(*key, results)
