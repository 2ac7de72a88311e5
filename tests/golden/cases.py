"""The golden cases: which trace, which config, and whether CI runs it.

- every preset of contracts.presets x compat {none, neurosim-1.4} on seeded synthetic LeNet-5,
  VGG-8 (CIFAR-10) and ResNet-18 (224x224 ImageNet) traces, and on NeuroSim's own VGG-8
  trace import (../shared/neurosim-vgg8, developers' checkout and CI only);
- every variant of benchmarks/compare_neurosim.py (NeuroSim's VGG-8, compat mode);
- a few non-default points that take other code paths (on LeNet-5 and VGG-8).

CI runs the cases marked ``ci`` (every preset and compat mode on LeNet-5; VGG-8 and
ResNet-18 at the default and NeuroSim points; NeuroSim's VGG-8 at its default point; the
points on LeNet-5); ``NEUROPYSIM_GOLDEN=all`` runs them all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.golden import api

SYNTHETIC = ("lenet5", "vgg8", "resnet18-imagenet")
NEUROSIM = "neurosim-vgg8"
COMPAT_MODES = ("none", "neurosim-1.4")
# presets x compat run in CI on every network (the cheapest network gets all of them)
CI_GRID = {("default", "none"), ("neurosim-1.4-default", "neurosim-1.4")}
SEED = 0                 # synthetic traces: one image, input sparsity 0.5
UPDATED_SEED = 1         # the "new weights" trace of the rewrite-cost point

# name -> config changes over the default preset (compat none): cheap paths off the presets
POINTS: dict[str, dict[str, Any]] = {
    "rram-parallel-differential": dict(operation_mode="parallel", rows_in_parallel=64,
                                       weight_encoding="differential"),
    "htree-sram-buffers": dict(global_interconnect="htree", global_buffer="sram",
                               tile_buffer="sram", pe_buffer="sram"),
    "layer-by-layer-novel": dict(pipeline=False, mapping="novel"),
    "mlc-sar-0t1r-async": dict(cell_bits=2, operation_mode="parallel", rows_in_parallel=32,
                               adc_type="sar", access_device="0t1r", clock="asynchronous"),
    "hp-45nm-350K-sigmoid-64x64": dict(roadmap="hp", technology_node_nm=45,
                                       temperature_K=350.0, activation_function="sigmoid",
                                       subarray_rows=64, subarray_cols=64,
                                       rows_in_parallel=64),
    "rewrite-updated-trace": {},          # plus the cost of rewriting to a second trace
}
POINT_NETWORKS = {"lenet5": True, "vgg8": False}    # network -> in CI


@dataclass(frozen=True)
class Case:
    """One estimate: ``source`` trace, ``preset`` with ``compat`` and ``changes``."""

    name: str
    source: str                              # a SYNTHETIC network or NEUROSIM
    preset: str
    compat: str
    changes: tuple[tuple[str, Any], ...] = ()
    updated_seed: int | None = None          # also price rewriting to this synthetic seed
    ci: bool = False
    note: str = field(default="", compare=False)

    @property
    def needs_shared(self) -> bool:
        return self.source == NEUROSIM

    @property
    def file_stem(self) -> str:
        """File name of the recording (no extension)."""
        return re.sub(r"[^A-Za-z0-9._\-]+", "_", self.name.replace("/", "__")).strip("_")

    def config(self):
        return api.preset(self.preset).replace(compat=self.compat, **dict(self.changes))

    def spec(self) -> dict[str, Any]:
        """What the recording was made of (stored with it, for the reader)."""
        return {"name": self.name, "source": self.source, "preset": self.preset,
                "compat": self.compat, "changes": dict(self.changes),
                "updated_seed": self.updated_seed, "seed": SEED, "note": self.note}


def _grid() -> list[Case]:
    cases = []
    for source in SYNTHETIC + (NEUROSIM,):
        for name in api.PRESETS:
            for compat in COMPAT_MODES:
                ci = (source == "lenet5" or (source != NEUROSIM and (name, compat) in CI_GRID))
                cases.append(Case(f"{source}/{name}/{compat}", source, name, compat, ci=ci))
    return cases


def _points() -> list[Case]:
    cases = []
    for source, ci in POINT_NETWORKS.items():
        for point, changes in POINTS.items():
            updated = UPDATED_SEED if point == "rewrite-updated-trace" else None
            cases.append(Case(f"{source}/point/{point}", source, "default", "none",
                              tuple(sorted(changes.items())), updated, ci=ci))
    return cases


def _variants() -> list[Case]:
    cases = []
    for i, (variant, changes) in enumerate(api.compare_neurosim_variants().items()):
        cases.append(Case(f"{NEUROSIM}/variant/{variant}", NEUROSIM, "neurosim-1.4-default",
                          "neurosim-1.4", tuple(sorted(changes.items())), ci=(i == 0),
                          note="benchmarks/compare_neurosim.py VARIANTS"))
    return cases


def all_cases() -> list[Case]:
    cases = _grid() + _points() + _variants()
    stems = [c.file_stem for c in cases]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise ValueError(f"golden cases share a file name: {dupes}")
    return cases
