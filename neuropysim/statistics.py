"""The statistics of one profiled network on one chip: step 1's counts (cim.run) and step 2's
cost (chip.estimator) in one flat dict, and the on-chip memory the network needs.

Per inference (one image):

* ``dynamic_energy_per_inference_pJ``, ``latency_per_inference_ns``: the chip model's
  figures for the traced image(s) (chip.estimator summary);
* ``array_reads_per_inference``, ``adc_conversions_per_inference``,
  ``sense_amp_reads_per_inference``: the reads of step 1's scored hardware pass over the
  images it scored (cim.passes.per_image_counts; parallel mode converts column sums with
  ADCs, sequential mode reads one row at a time through sense amplifiers);
* ``array_writes``: cells programmed once to hold the weights (not per inference);
* ``cell_utilization``: cells used / cells of the sub-arrays allocated (step 1's mapping of
  the weights onto arrays; ``chip_memory_utilization`` is step 2's, over its mapping);
* memory (:func:`required_memory`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from contracts.config import HardwareConfig

__all__ = ["required_memory", "profile_statistics", "STATISTICS_LINES", "format_statistics"]


def _elements(hw: Sequence[int]) -> int:
    out = 1
    for n in hw:
        out *= int(n)
    return out


def required_memory(layers: Sequence[Mapping[str, Any]], config: HardwareConfig
                    ) -> dict[str, int]:
    """On-chip memory (bytes) the network needs, from the trace's layer geometries
    (``in_channels``, ``out_channels``, ``kernel_size``, ``groups``, ``input_hw``,
    ``output_hw``, ``kind``):

    * ``weight_memory_bytes``: every weight at ``weight_bits`` (dynamic matmul layers hold no
      weights: their operands are activations);
    * ``activation_memory_bytes``: the largest working set of one inference taken layer by
      layer - a layer's input and output activations at ``activation_bits``, held at once
      (a dynamic product's second operand, K^T or V, with them)
      (ours: a layer-by-layer schedule; the buffers between layers can be reused);
    * ``activation_memory_pipelined_bytes``: every layer's input and output held at once (a
      pipelined chip, each layer with its own buffers).
    """
    weight_bits = 0
    peak = total = 0
    for g in layers:
        if g["kind"] != "dynamic_matmul":
            k = _elements(g.get("kernel_size", (1, 1)))
            weight_bits += (int(g["in_channels"]) // int(g.get("groups", 1)) * k
                            * int(g["out_channels"]) * config.weight_bits)
        acts = (int(g["in_channels"]) * _elements(g["input_hw"])
                + int(g["out_channels"]) * _elements(g["output_hw"]))
        if g["kind"] == "dynamic_matmul":       # its second operand (K^T or V) is held too
            acts += int(g["in_channels"]) // int(g.get("groups", 1)) * int(g["out_channels"])
        peak = max(peak, acts)
        total += acts
    to_bytes = config.activation_bits / 8
    return {"weight_memory_bytes": -(-weight_bits // 8),
            "activation_memory_bytes": int(-(-peak * to_bytes // 1)),
            "activation_memory_pipelined_bytes": int(-(-total * to_bytes // 1))}


def profile_statistics(step1, chip_summary: Mapping[str, Any]) -> dict[str, Any]:
    """The flat statistics dict (module docstring) of a step-1 result (cim.run
    InferenceResult, hardware pass run) and the chip estimate of its trace."""
    s1 = step1.statistics
    if not s1 or "per_image" not in s1:
        raise ValueError("profile statistics need a step-1 run with its hardware pass "
                         "(accuracy measured); a cost-only run counts no reads")
    per = s1["per_image"]
    out = {
        "dynamic_energy_per_inference_pJ": float(chip_summary["dynamic_energy_per_image_pJ"]),
        "latency_per_inference_ns": float(chip_summary["latency_per_image_ns"]),
        "array_reads_per_inference": per["reads"],
        "adc_conversions_per_inference": per["adc_conversions"],
        "sense_amp_reads_per_inference": per["sense_amp_reads"],
        "array_writes": int(s1["writes"]),
        "cell_utilization": float(s1["utilization"]),
        "chip_memory_utilization": float(chip_summary["memory_utilization"]),
        "cells_used": int(s1["cells_used"]),
        "subarrays": int(s1["subarrays"]),
        "faults": int(s1["faults"]),
        "chip_area_mm2": float(chip_summary["area_mm2"]),
    }
    out.update(required_memory(step1.layers, step1.config))
    return out


#: (key, label, format) of each statistic, in print order
STATISTICS_LINES: tuple[tuple[str, str, str], ...] = (
    ("dynamic_energy_per_inference_pJ", "dynamic energy per inference", "{:,.1f} pJ"),
    ("latency_per_inference_ns", "latency per inference", "{:,.1f} ns"),
    ("array_reads_per_inference", "array reads per inference", "{:,.0f}"),
    ("adc_conversions_per_inference", "ADC conversions per inference", "{:,.0f}"),
    ("sense_amp_reads_per_inference", "sense-amplifier reads per inference", "{:,.0f}"),
    ("array_writes", "array writes (cells programmed)", "{:,d}"),
    ("cell_utilization", "cell utilization", "{:.3f}"),
    ("faults", "stuck-at faults injected", "{:,d}"),
    ("weight_memory_bytes", "on-chip memory, weights", "{:,d} B"),
    ("activation_memory_bytes", "on-chip memory, activations (layer by layer)", "{:,d} B"),
    ("activation_memory_pipelined_bytes", "on-chip memory, activations (pipelined)",
     "{:,d} B"),
    ("chip_area_mm2", "chip area", "{:.3f} mm2"),
)


def format_statistics(stats: Mapping[str, Any]) -> list[str]:
    """One ``label: value`` line per statistic (STATISTICS_LINES)."""
    return [f"{label}: {fmt.format(stats[key])}" for key, label, fmt in STATISTICS_LINES]
