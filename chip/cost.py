"""The result tree every component and composite returns.

A node has a name, a category (where NeuroSim-style breakdowns book it), its own figures
and its children. Composites add their own peripherals as children; `flatten` turns the
tree into rows for pandas, so "where does the energy go" is one groupby.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

__all__ = ["CATEGORIES", "EXTRA_CATEGORIES", "Cost", "flatten"]

# Breakdown buckets: DNN+NeuroSim's four (array, ADC, accumulation, other) plus the two
# it reports separately (interconnect, buffer).
CATEGORIES = ("array", "adc", "accumulation", "interconnect", "buffer", "other")
#: buckets only some chips have, reported only when a node uses them: "write", the cells
#: a dynamic product rewrites for every input (dynamic_matmul_policy='crossbar')
EXTRA_CATEGORIES = ("write",)


@dataclass
class Cost:
    """Area, latency, dynamic energy and leakage of one block, with its children.

    ``area_m2``, ``dynamic_energy_J`` and ``leakage_W`` of a node are its *own* figures
    times ``count`` (children are not included); ``total_*`` adds the subtree.
    ``latency_s`` is the node's latency including its children's critical path (composites
    decide how children's latencies combine, sum or max), so latency is never re-added.
    """

    name: str
    category: str = "other"
    area_m2: float = 0.0
    latency_s: float = 0.0
    dynamic_energy_J: float = 0.0
    leakage_W: float = 0.0
    count: int = 1
    children: list["Cost"] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES + EXTRA_CATEGORIES:
            raise ValueError(f"category={self.category!r} must be one of "
                             f"{CATEGORIES + EXTRA_CATEGORIES}")

    def add(self, child: "Cost") -> "Cost":
        self.children.append(child)
        return child

    def walk(self, path: str = "") -> Iterator[tuple[str, "Cost"]]:
        here = f"{path}/{self.name}" if path else self.name
        yield here, self
        for child in self.children:
            yield from child.walk(here)

    @property
    def total_area_m2(self) -> float:
        return sum(node.area_m2 for _, node in self.walk())

    @property
    def total_dynamic_energy_J(self) -> float:
        return sum(node.dynamic_energy_J for _, node in self.walk())

    @property
    def total_leakage_W(self) -> float:
        return sum(node.leakage_W for _, node in self.walk())

    def by_category(self, metric: str) -> dict[str, float]:
        """Sum of one metric ('area_m2', 'dynamic_energy_J', 'leakage_W') per category (an
        extra category only when a node of the tree has it)."""
        totals = dict.fromkeys(CATEGORIES, 0.0)
        for _, node in self.walk():
            totals[node.category] = totals.get(node.category, 0.0) + getattr(node, metric)
        return totals


def flatten(root: Cost) -> list[dict]:
    """One row per node: path, name, category, depth and its own figures."""
    rows = []
    for path, node in root.walk():
        rows.append({"path": path, "name": node.name, "category": node.category,
                     "depth": path.count("/"), "count": node.count, "area_m2": node.area_m2,
                     "latency_s": node.latency_s, "dynamic_energy_J": node.dynamic_energy_J,
                     "leakage_W": node.leakage_W})
    return rows
