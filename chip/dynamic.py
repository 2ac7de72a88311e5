"""Attention's dynamic products (``dynamic_matmul`` layers) on the chip, under
``config.dynamic_matmul_policy`` (docs/chip-internals.md, "Dynamic products and token layers").

- ``digital``: the products run on a digital MAC unit of ``digital_mac_units`` lanes beside a
  K/V buffer (an SRAM buffer holding the largest per-image operand, H*K*N*weight_bits bits);
  per image and layer: ceil(MACs / lanes) steps, MACs x the energy of one MAC, the operand
  written into the buffer once and one line (lanes x weight_bits) read per step.
- ``crossbar``: the layer is mapped like a grouped 1x1 layer (heads = groups, K rows x
  N x cells-per-weight columns a head, packed block-diagonally, chip.mapping.block_layout);
  for every image its operand is written into the cells first (the cells whose level changes
  from the previous traced image, the first image against an erased array of level-0 cells),
  then read as M input vectors by the normal read model (chip.activity).

The crossbar reads of one image's operand are evaluated per traced image and averaged
(chip.activity prices one weight matrix at a time).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from chip.activity import SubArrayActivity, cell_levels
from chip.components.digital_mac import accumulator_bits
from chip.cost import Cost
from chip.mapping import LayerMapping, groups_per_subarray
from chip.usage import static
from contracts.config import HardwareConfig
from contracts.trace import LayerGeometry, LayerTrace

__all__ = ["ENDURANCE_CYCLES", "DigitalProducts", "DynamicWrites", "crossbar_view",
           "digital_layer", "digital_mapping", "dynamic_activity", "dynamic_summary",
           "dynamic_writes", "write_node"]

#: write cycles an RRAM cell survives, for the endurance figure: a conservative figure at the
#: low end of the 1e6 - 1e12 reported for metal-oxide RRAM (Wong et al., "Metal-oxide RRAM",
#: Proc. IEEE 100(6), 2012)
ENDURANCE_CYCLES = 1e6


def digital_layer(g: LayerGeometry, config: HardwareConfig) -> bool:
    """True for a dynamic product priced on the digital MAC unit (not on crossbars)."""
    return g.dynamic and config.dynamic_matmul_policy == "digital"


def crossbar_view(layer: LayerTrace, image: int) -> LayerTrace:
    """Image ``image`` of a dynamic product as the grouped 1x1 layer the crossbars hold:
    weights (H*N, K, 1, 1) (output channel h*N + n), inputs (1, H*K, M, 1) (channel h*K + k)."""
    g = layer.geometry
    heads, k, n = g.weight_shape
    m = g.tokens
    view = replace(g, kind="conv2d")
    weights = np.asarray(layer.weight_codes[image]).transpose(0, 2, 1).reshape(heads * n, k, 1, 1)
    inputs = np.asarray(layer.input_codes[image:image + 1]).transpose(0, 1, 3, 2).reshape(
        1, heads * k, m, 1)
    return LayerTrace(view, weights, layer.weight_scale, inputs, layer.input_scale,
                      layer.input_zero_point)


def dynamic_activity(parts, layer: LayerTrace, row_groups) -> SubArrayActivity:
    """The sub-arrays' read activity per image, averaged over the traced images (each image
    read through its own operand)."""
    acts = [parts.activity(crossbar_view(layer, i), row_groups) for i in range(layer.images)]
    n = len(acts)
    conversions = sum(a.conversions for a in acts)
    return SubArrayActivity(
        subarrays=acts[0].subarrays,
        bit_vectors_per_subarray=acts[0].bit_vectors_per_subarray,
        reads_per_subarray=sum(a.reads_per_subarray for a in acts) / n,
        active_row_fraction=sum(a.active_row_fraction for a in acts) / n,
        column_conductance_S=np.concatenate([a.column_conductance_S for a in acts]),
        column_conductance_count=np.concatenate([a.column_conductance_count
                                                 for a in acts]) / n,
        adc_code_mean=(sum(a.adc_code_mean * a.conversions for a in acts) / conversions
                       if conversions else 0.0),
        used_rows=acts[0].used_rows, used_cols=acts[0].used_cols, images=n)


@dataclass(frozen=True)
class DynamicWrites:
    """The cells one dynamic product rewrites per inference (means over the traced images,
    all copies of the layer included)."""

    cells_per_inference: float      # cells whose level changes
    rows_per_inference: float       # rows written one after another (the busiest row block)
    cells: int                      # weight cells the layer's operand occupies, all copies
    worst_cell_rate: float          # most writes of one cell per inference (0..1)
    from_erased: bool = False       # one traced image: counted against an erased array


def _busiest_rows(changed_rows: np.ndarray, per_pack: int, subarray_rows: int) -> int:
    """Most rows with a change in any sub-array row block: heads stacked ``per_pack`` at a
    time along the rows (block_layout), packs cut into blocks of ``subarray_rows``."""
    heads, k = changed_rows.shape
    packs = -(-heads // per_pack)
    stacked = np.zeros((packs * per_pack, k), dtype=np.int64)
    stacked[:heads] = changed_rows
    stacked = stacked.reshape(packs, per_pack * k)
    blocks = -(-stacked.shape[1] // subarray_rows)
    padded = np.zeros((packs, blocks * subarray_rows), dtype=np.int64)
    padded[:, :stacked.shape[1]] = stacked
    return int(padded.reshape(packs, blocks, subarray_rows).sum(axis=2).max())


def dynamic_writes(layer: LayerTrace, m: LayerMapping, config: HardwareConfig) -> DynamicWrites:
    """Cells and rows rewritten per inference: the cell levels (chip.activity.cell_levels)
    of each traced image's operand against the previous image's, averaged over the
    consecutive pairs; with one traced image, against an erased array (every cell at level 0:
    an upper bound, flagged); x the layer's copies (one for a dynamic layer: chip.mapping)."""
    g = layer.geometry
    heads, k, _ = g.weight_shape
    copies = max(1, m.used_subarrays // max(1, m.weight_subarrays))
    per_pack = groups_per_subarray(g, config)
    n = layer.images
    previous, writes, cells, rows = 0 if n == 1 else None, None, 0, 0
    for i in range(n):
        view = crossbar_view(layer, i)
        levels = cell_levels(view.weight_codes.reshape(view.weight_codes.shape[0], -1).T,
                             config)                                  # (K, H*N*cpw)
        if previous is not None:
            changed = levels != previous
            writes = changed.astype(np.int32) if writes is None else writes + changed
            cells += int(changed.sum())
            rows += _busiest_rows(changed.reshape(k, heads, -1).any(axis=2).T, per_pack,
                                  config.subarray_rows)
        previous = levels
    pairs = max(1, n - 1)
    return DynamicWrites(cells_per_inference=cells * copies / pairs, rows_per_inference=rows / pairs,
                         cells=int(writes.size) * copies,
                         worst_cell_rate=float(writes.max()) / pairs if writes.size else 0.0,
                         from_erased=n == 1)


def write_node(writes: DynamicWrites, parts) -> Cost:
    """The rewrite of one inference: energy per changed cell, rows one after another (the
    sub-arrays in parallel), per-row time from the write path (chip.parts)."""
    return Cost("dynamic_write", "write",
                latency_s=writes.rows_per_inference * parts.write_time_per_row_s(),
                dynamic_energy_J=writes.cells_per_inference * parts.write_energy_per_cell_J())


def digital_mapping(index: int, g: LayerGeometry) -> LayerMapping:
    """The per-layer record of a product on the digital unit: no tiles, no arrays."""
    return LayerMapping(
        index=index, name=g.name, kind=g.kind, novel=False, weight_rows=g.rows, weight_cols=0,
        tiles_row=0, tiles_col=0, pe_grid=(0, 0), pe_rows_cells=0, pe_cols_cells=0,
        subarrays_per_pe=(0, 0), pe_dup=(1, 1), subarray_dup=(1, 1), pipeline_speedup=1,
        speedup=1, utilization=0.0, input_vectors=g.input_vectors, ops=2 * g.macs,
        input_rows=g.in_channels)


def operand_bits(g: LayerGeometry) -> int:
    """Bits of one image's weight operand (K^T or V of every head)."""
    return math.prod(g.weight_shape) * g.weight_bits


class DigitalProducts:
    """The digital MAC unit and its K/V buffer, sized for the chip's dynamic products."""

    def __init__(self, parts, config: HardwareConfig, geoms: Sequence[LayerGeometry]):
        self.lanes = config.digital_mac_units
        wb = max(g.weight_bits for g in geoms)
        xb = max(g.input_bits for g in geoms)
        self.mac = parts.digital_mac(wb, xb, accumulator_bits(wb, xb, max(g.rows for g in geoms)),
                                     self.lanes)
        # one line per step: each lane's weight (the input value is broadcast to the lanes)
        self.line_bits = self.lanes * wb
        self.buffer = parts.kv_buffer(max(operand_bits(g) for g in geoms), self.line_bits)

    def static(self) -> list[Cost]:
        return [static("digital_mac", self.mac, "other"),
                static("kv_buffer", self.buffer, "buffer")]

    def cost(self, g: LayerGeometry, clock: float | None) -> list[Cost]:
        """One image of layer ``g``: the MAC steps, the operand written into the buffer once
        (its write time adds to the layer's), one buffer line read per step (overlapped)."""
        steps = math.ceil(g.macs / self.lanes)
        mac = Cost("digital_mac", "other", latency_s=self.mac.latency_s(
            num_reads=steps, clock_period_s=clock),
            dynamic_energy_J=self.mac.dynamic_energy_J(num_macs=g.macs))
        width = min(self.line_bits, self.buffer.interface_width)
        writes = math.ceil(operand_bits(g) / width)
        buf = Cost("kv_buffer", "buffer",
                   latency_s=self.buffer.latency_s(num_writes=writes, clock_period_s=clock),
                   dynamic_energy_J=self.buffer.dynamic_energy_J(num_reads=steps,
                                                                 num_writes=writes))
        return [mac, buf]


def _endurance(config: HardwareConfig, writes: list[DynamicWrites], fps: float) -> dict:
    """Cell writes per inference and per second at the reported throughput, and how long
    the worst-written cell lasts (ENDURANCE_CYCLES; SRAM cells: no wear-out, None)."""
    cells = sum(w.cells_per_inference for w in writes)
    allocated = sum(w.cells for w in writes)
    worst = max(w.worst_cell_rate for w in writes)
    out = {"dynamic_cell_writes_per_inference": cells,
           "dynamic_writes_per_cell_per_s": cells / allocated * fps if allocated else 0.0,
           "dynamic_worst_cell_writes_per_s": worst * fps,
           # one traced image: each operand counted against an erased array (an upper bound)
           "dynamic_writes_from_erased": any(w.from_erased for w in writes)}
    sram = config.memory_cell == "sram"
    inferences = None if sram or worst == 0 else ENDURANCE_CYCLES / worst
    out.update({"endurance_cycles": None if sram else ENDURANCE_CYCLES,
                "inferences_to_endurance": inferences,
                "seconds_to_endurance": inferences / fps if inferences and fps else None})
    return out


def dynamic_summary(config: HardwareConfig, result, fps: float) -> dict:
    """The summary's figures of the dynamic products (chip.estimator)."""
    layers = [r for r in result.layers if r.mapping.kind == "dynamic_matmul"]
    out = {"dynamic_matmul_policy": config.dynamic_matmul_policy,
           "dynamic_matmul_layers": len(layers),
           "dynamic_matmul_latency_ns": sum(r.latency_s for r in layers) * 1e9,
           "dynamic_matmul_energy_pJ": sum(r.dynamic_energy_J for r in layers) * 1e12}
    if config.dynamic_matmul_policy == "digital":
        blocks = {c.name: c for c in result.chip_blocks.children}
        out["digital_mac_units"] = config.digital_mac_units
        out["digital_unit_area_mm2"] = sum(blocks[n].area_m2 for n in (
            "digital_mac", "kv_buffer")) * 1e6
        return out
    out["dynamic_write_energy_pJ"] = result.tree.by_category(
        "dynamic_energy_J").get("write", 0.0) * 1e12
    out.update(_endurance(config, [r.writes for r in layers], fps))
    return out
