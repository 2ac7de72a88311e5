"""`estimate(trace, config) -> ChipReport`: the step-2 Python API (no files written).

    from chip.estimator import estimate
    report = estimate("layer_record_VGG8")                       # the trace's own hardware
    report = estimate("layer_record_VGG8", preset="neurosim-1.4-default",
                      overrides={"adc_bits": 4})
    report.summary["tops_per_w"]; report.layers; report.breakdown; report.tree

The config follows one rule with the command line (contracts.provenance): the trace's recorded
config, then ``file_config`` edits since step 1 (the command line passes inferenceConfig.py's
HARDWARE; from Python there is none), then ``preset``, then ``overrides``. A ``config`` passed
in is used as it is. Accuracy fields that differ from the trace are reported in
``report.provenance`` and, from Python, as a ProvenanceWarning. Never imports torch.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chip.compat import check_quirks
from chip.cost import Cost
from chip.technology import applied_calibration_factors
from contracts.config import ConfigError, HardwareConfig
from contracts.provenance import Provenance, step2_config
from contracts.results import SUMMARY_FORMAT
from chip.chip_model import Chip, ChipResult
from chip.dynamic import digital_layer, dynamic_summary
from chip.parts import check_activity_model, default_parts
from chip.programming import rewrite_cost, write_cost
from chip.mapping import NetworkMapping, map_network, priced_trace
from chip.memory import check_estimate_memory
from contracts.trace import Trace, TraceError, read_trace

__all__ = ["ChipReport", "ProvenanceWarning", "SUMMARY_KEYS", "estimate", "estimate_updated",
           "load_trace", "resolve_config"]


# nodes whose area is layout left empty inside a bounding box (no circuit): reported apart
# from every circuit category (summary ``unused_area_mm2``, breakdown category "unused")
_UNUSED_AREA_NODES = ("subarray_whitespace",)


class ProvenanceWarning(UserWarning):
    """The priced config differs from the trace's in a field that changes accuracy."""

SUMMARY_KEYS = (
    "area_mm2", "array_area_mm2", "adc_area_mm2", "accumulation_area_mm2",
    "interconnect_area_mm2", "buffer_area_mm2", "other_area_mm2", "clock_period_ns",
    "latency_per_image_ns", "dynamic_energy_per_image_pJ", "leakage_energy_per_image_pJ",
    "leakage_power_uW", "write_energy_pJ", "write_latency_ns", "tops_per_w", "tops", "fps",
    "tops_per_mm2", "memory_utilization", "ops_per_image",
)

# Also in every summary (may be 0, so not in SUMMARY_KEYS, whose figures are all positive):
# "unused_area_mm2", layout left empty inside the sub-arrays' bounding boxes (not part of
# "other_area_mm2"; the seven area rows add up to "area_mm2"), and "area_breakdown_mm2".

_METRICS = (("area_m2", "m2"), ("latency_s", "s"), ("dynamic_energy_J", "J"),
            ("leakage_W", "W"))
#: columns of ``ChipReport.breakdown`` (and breakdown.csv)
BREAKDOWN_COLUMNS = ("layer", "level", "component", "category", "metric", "value", "unit")


@dataclass
class ChipReport:
    """Everything one estimate produces; reports are flattenings of ``tree``.

    ``layer_rows`` and ``breakdown_rows`` are plain lists of dicts; ``layers`` and
    ``breakdown`` are the same as pandas DataFrames, made on first use (importing pandas
    takes longer than an estimate, and the command line's writers do not need it)."""

    network: str
    config: HardwareConfig
    summary: dict[str, Any]
    layer_rows: list[dict[str, Any]]
    breakdown_rows: list[dict[str, Any]]
    tree: Cost
    mapping: NetworkMapping
    result: ChipResult = field(repr=False, default=None)
    provenance: Provenance | None = None

    @functools.cached_property
    def layers(self):
        """Per-layer figures, one row per layer (pandas.DataFrame)."""
        import pandas as pd
        return pd.DataFrame(self.layer_rows)

    @functools.cached_property
    def breakdown(self):
        """Long format: layer x level x component x category x metric x value x unit (SI)
        (pandas.DataFrame)."""
        import pandas as pd
        return pd.DataFrame(self.breakdown_rows, columns=list(BREAKDOWN_COLUMNS))


def is_neurosim_source(path: str | os.PathLike) -> bool:
    """True for a DNN+NeuroSim layer_record folder (no manifest.json, but trace_command.sh)
    or a .tar.xz/.tar.gz archive of one (our own traces are folders with manifest.json)."""
    p = Path(path)
    if p.is_dir():
        return (not (p / "manifest.json").exists()
                and any((p / n).exists() for n in ("trace_command.sh", "trace_command.sh.gz")))
    name = p.name.lower()
    return p.is_file() and name.endswith((".tar.xz", ".txz", ".tar.gz", ".tgz"))


def load_trace(trace: Trace | str | os.PathLike,
               network_csv: str | os.PathLike | None = None) -> Trace:
    """A Trace as is, or read from a folder (TraceError on any problem).

    A DNN+NeuroSim V1.4 ``layer_record_<model>/`` folder or its shipped archive is read with
    `contracts.neurosim_reader.read_neurosim` (``network_csv``: its NetWork_<model>.csv, else the
    one found inside or next to it)."""
    if isinstance(trace, Trace):
        return trace
    if isinstance(trace, (str, os.PathLike)):
        if is_neurosim_source(trace):
            from contracts.neurosim_reader import read_neurosim
            return read_neurosim(str(trace), network_csv=network_csv)
        if network_csv is not None:
            raise TraceError(f"{trace}: --network-csv applies only to a DNN+NeuroSim "
                             f"layer_record folder or archive (this one has a manifest.json)")
        return read_trace(Path(trace))
    raise TypeError(f"trace must be a contracts.trace.Trace or a folder path, not {type(trace).__name__}")


def _level(parts: list[str]) -> str:
    """Hierarchy level of a node from its path below the layer (names set by chip.pe,
    chip.tile and chip.chip_model)."""
    for p in parts:
        if p == "subarrays" or p.startswith("subarray"):
            return "subarray"
        if p.startswith("pe_"):
            return "pe"
        if p.startswith("tile_") and p != "tile_hardware":
            return "tile"
    return "tile" if parts and parts[0] in ("tiles", "tile_hardware") else "chip"


def _breakdown(tree: Cost) -> list[dict[str, Any]]:
    """Long format: layer x level x component x category x metric x value x unit (SI)."""
    rows = []
    layers_node = next((c for c in tree.children if c.name == "layers"), None)
    roots: list[tuple[str, Cost, bool]] = [("chip", c, True) for c in tree.children
                                           if c is not layers_node]
    if layers_node is not None:
        roots += [(layer.name, layer, False) for layer in layers_node.children]
    for layer_name, root, keep_root in roots:
        for path, node in root.walk():
            parts = path.split("/")
            if not keep_root:
                if node is root:
                    continue
                parts = parts[1:]
            level = _level(parts)
            # layout left empty inside a bounding box: its own category, not a circuit's
            category = "unused" if node.name in _UNUSED_AREA_NODES else node.category
            for metric, unit in _METRICS:
                if metric == "latency_s" and node.children:
                    continue   # a composite's latency already includes its children
                value = getattr(node, metric)
                if value:
                    rows.append({"layer": layer_name, "level": level,
                                 "component": "/".join(parts), "category": category,
                                 "metric": metric.rsplit("_", 1)[0], "value": float(value),
                                 "unit": unit})
    return rows


def _layer_rows(result: ChipResult) -> list[dict[str, Any]]:
    rows = []
    for r in result.layers:
        m = r.mapping
        rows.append({
            "layer": m.name, "kind": m.kind,
            # a product on the digital unit has no tiles (chip.dynamic.digital_mapping)
            "mapping": "digital" if not m.tiles else "novel" if m.novel else "conventional",
            "tiles": m.tiles, "pes": m.used_pes, "arrays_used": m.used_subarrays,
            "arrays_per_copy": m.weight_subarrays, "duplication": m.speedup,
            "utilization": m.utilization, "input_vectors": m.input_vectors, "ops": m.ops,
            "area_mm2": r.area_m2 * 1e6, "latency_ns": r.latency_s * 1e9,
            "dynamic_energy_pJ": r.dynamic_energy_J * 1e12,
            "leakage_energy_pJ": r.leakage_energy_J * 1e12,
            "leakage_power_uW": r.leakage_W * 1e6,
        })
    return rows


def resolve_config(trace: Trace | str | os.PathLike, config: HardwareConfig | None = None, *,
                   preset: str | None = None, overrides=None,
                   file_config: HardwareConfig | None = None,
                   network_csv: str | os.PathLike | None = None
                   ) -> tuple[Trace, HardwareConfig, Provenance]:
    """(trace, config, provenance) by the rule of contracts.provenance; the quirk names of the
    config are checked here (chip.compat), so a bad name fails before any work."""
    label = None if isinstance(trace, Trace) else str(trace)
    trace = load_trace(trace, network_csv=network_csv)
    config, provenance = step2_config(trace.manifest, file_config=file_config, preset=preset,
                                      overrides=overrides, config=config, trace=label)
    check_quirks(config)
    return trace, config, provenance


def estimate(trace: Trace | str | os.PathLike, config: HardwareConfig | None = None, *,
             preset: str | None = None, overrides=None,
             file_config: HardwareConfig | None = None, provenance: Provenance | None = None,
             updated_trace: Trace | str | os.PathLike | None = None, parts=None,
             progress=None, activity: str = "trace", memo=None) -> ChipReport:
    """Estimate area, latency, energy of the chip for ``trace`` (a Trace or a folder).

    The config: see the module docstring (``provenance`` given: ``config`` was resolved by
    :func:`resolve_config` already, as the command line does). ``updated_trace`` (same
    network, new weights) adds the cost of rewriting only the cells whose value changes
    (summary keys ``rewrite_energy_pJ``, ``rewrite_latency_ns``, ``rewrite_cells``).
    ``parts`` replaces the circuit models (tests: stand-ins with round figures).
    ``activity``: "trace" (trace-accurate) or "stats" (statistical fast mode,
    chip.activity_stats); ``memo``: a chip.parts.ActivityMemo shared by a sweep's points."""
    check_activity_model(activity)
    if provenance is None:
        trace, config, provenance = resolve_config(trace, config, preset=preset,
                                                   overrides=overrides, file_config=file_config)
        if provenance.warning():
            warnings.warn(provenance.warning(), ProvenanceWarning, stacklevel=2)
    else:
        trace = load_trace(trace)
    trace = priced_trace(trace, config)      # a NeuroSim table's shape, when compat asks
    geoms = [layer.geometry for layer in trace.layers]
    check_estimate_memory(geoms, config, trace.layers[0].images)
    # every layer on crossbars but the dynamic products the digital policy runs digitally
    mapped = [g for g in geoms if not digital_layer(g, config)]
    if not mapped:
        raise ConfigError(f"dynamic_matmul_policy='digital': every layer of "
                          f"{trace.network!r} is a dynamic_matmul layer and runs on the "
                          f"digital unit; the chip needs at least one static-weight layer "
                          f"(or use dynamic_matmul_policy='crossbar')")
    mapping = map_network(mapped, config)
    if parts is None:
        # the model's options only when chosen (tests replace default_parts(config))
        options = {k: v for k, v in (("activity", activity), ("memo", memo))
                   if v not in ("trace", None)}
        parts = default_parts(config, **options)
    chip = Chip(mapping, geoms, config, parts)
    result = chip.cost(trace.layers, progress=progress)
    summary = _summary(trace, config, mapping, result, parts, provenance)
    summary["activity_model"] = getattr(parts, "activity_model", activity)
    if updated_trace is not None:
        new = priced_trace(load_trace(updated_trace), config)
        summary.update(_rewrite_figures(trace, new, mapping, config, parts))
    return ChipReport(network=trace.network, config=config, summary=summary,
                      layer_rows=_layer_rows(result), breakdown_rows=_breakdown(result.tree),
                      tree=result.tree, mapping=mapping, result=result, provenance=provenance)


def _area_split(result: ChipResult) -> dict[str, float]:
    """Area per category; layout left empty inside the sub-arrays' bounding boxes (booked
    under "other" in the tree) is its own figure, so "other" holds circuits only."""
    area = result.tree.by_category("area_m2")
    unused = sum(node.area_m2 for _, node in result.tree.walk()
                 if node.name in _UNUSED_AREA_NODES)
    area["other"] -= unused
    area["unused"] = unused
    return area


def _summary(trace: Trace, config: HardwareConfig, mapping: NetworkMapping, result: ChipResult,
             parts, provenance: Provenance) -> dict[str, Any]:
    w_energy, w_latency = write_cost(mapping, parts)
    area = _area_split(result)
    ops = sum(r.mapping.ops for r in result.layers)      # the digital unit's products too
    energy = result.dynamic_energy_J + result.leakage_energy_J
    factors = applied_calibration_factors(config)
    # NeuroSim's post-layout factor zeta divides TOPS/W (tables §3, main.cpp); the energies
    # are reported without it, as NeuroSim prints them, so the report names it
    zeta = factors.get("zeta", {}).get("value", 1.0)
    tops_per_w = ops / energy / 1e12 / zeta if energy > 0 else 0.0
    lat = result.latency_s
    tops = ops / lat / 1e12 if lat > 0 else 0.0
    total_area = result.area_m2
    summary: dict[str, Any] = {"format": SUMMARY_FORMAT, "network": trace.network}
    summary.update(provenance.to_dict())
    summary.update({
        "area_mm2": total_area * 1e6,
        **{f"{cat}_area_mm2": area[cat] * 1e6 for cat in (
            "array", "adc", "accumulation", "interconnect", "buffer", "other", "unused")},
        "area_breakdown_mm2": {k: v * 1e6 for k, v in area.items()},
        "clock_period_ns": result.clock_period_s * 1e9,
        "latency_per_image_ns": lat * 1e9,
        "dynamic_energy_per_image_pJ": result.dynamic_energy_J * 1e12,
        "leakage_energy_per_image_pJ": result.leakage_energy_J * 1e12,
        "leakage_power_uW": result.leakage_W * 1e6,
        "write_energy_pJ": w_energy * 1e12,
        "write_latency_ns": w_latency * 1e9,
        "tops_per_w": tops_per_w,
        "tops_per_w_without_zeta": tops_per_w * zeta,
        "tops": tops,
        "fps": 1.0 / lat if lat > 0 else 0.0,
        "tops_per_mm2": tops / (total_area * 1e6) if total_area > 0 else 0.0,
        "memory_utilization": mapping.utilization,
        "ops_per_image": ops,
        "num_tiles": mapping.num_tiles,
        "pipeline": config.pipeline,
        "compat": config.compat,
        "calibration_factors": factors,
        "images_traced": trace.layers[0].images,
        "energy_breakdown_pJ": {k: v * 1e12 for k, v in
                                result.tree.by_category("dynamic_energy_J").items()},
        "floorplan": mapping.summary_lines(),
        "config": config.to_dict(),
    })
    if any(layer.geometry.dynamic for layer in trace.layers):
        summary.update(dynamic_summary(config, result, summary["fps"]))
    if result.period_set_by:      # a shared unit, not a layer, sets the pipelined period
        summary["pipeline_period_set_by"] = result.period_set_by
    return summary


def _rewrite_figures(trace: Trace, new: Trace, mapping: NetworkMapping, config: HardwareConfig,
                     parts) -> dict[str, Any]:
    if len(new.layers) != len(trace.layers):
        raise TraceError(f"updated trace has {len(new.layers)} layers, the trace "
                         f"{len(trace.layers)}: not the same network")
    for a, b in zip(trace.layers, new.layers):
        if a.geometry.weight_shape != b.geometry.weight_shape:
            raise TraceError(f"updated trace layer {b.geometry.name!r}: weight shape "
                             f"{b.geometry.weight_shape} differs from {a.geometry.weight_shape}")
    mapped = [i for i, layer in enumerate(trace.layers)
              if not digital_layer(layer.geometry, config)]
    e, t, n = rewrite_cost(mapping, [trace.layers[i] for i in mapped],
                           [new.layers[i] for i in mapped], config, parts)
    return {"rewrite_energy_pJ": e * 1e12, "rewrite_latency_ns": t * 1e9, "rewrite_cells": n}


def estimate_updated(trace, updated_trace, config: HardwareConfig | None = None,
                     **kwargs) -> ChipReport:
    """`estimate` plus the cost of rewriting the cells that change in ``updated_trace``."""
    return estimate(trace, config, updated_trace=updated_trace, **kwargs)
