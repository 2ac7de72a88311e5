"""The cost of programming the arrays: writing every mapped cell once, or rewriting only the
cells whose value changes between two traces of the same network (ours: NeuroSim V1.4 prices
inference reads only). Per-cell write energy and per-row write time come from the parts
(chip.parts).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from chip.mapping import NetworkMapping
from contracts.config import HardwareConfig
from contracts.trace import LayerTrace

__all__ = ["write_cost", "rewrite_cost"]


def _changed_slices_lut(config: HardwareConfig) -> np.ndarray:
    """For every XOR of two offset weight codes, how many cell_bits slices differ (ours)."""
    x = np.arange(1 << config.weight_bits, dtype=np.int64)
    slices = -(-config.weight_bits // config.cell_bits)
    shifts = config.cell_bits * np.arange(slices)
    return (((x[:, None] >> shifts) & ((1 << config.cell_bits) - 1)) != 0).sum(axis=1)


def write_cost(mapping: NetworkMapping, parts) -> tuple[float, float]:
    """(energy J, latency s) to program every mapped cell, duplicates included. Rows of a
    subarray are written one after another, all subarrays in parallel (ours). The arrays of
    dynamic products are left out: they are rewritten for every input (chip.dynamic)."""
    e_cell = parts.write_energy_per_cell_J()
    t_row = parts.write_time_per_row_s()
    cells = sum(m.weight_rows * m.weight_cols * max(1, m.used_subarrays // max(
        1, m.weight_subarrays)) for m in mapping.layers if m.kind != "dynamic_matmul")
    return cells * e_cell, mapping.subarray_rows * t_row


def rewrite_cost(mapping: NetworkMapping, old: Sequence[LayerTrace], new: Sequence[LayerTrace],
                 config: HardwareConfig, parts) -> tuple[float, float, int]:
    """(energy J, latency s, changed cells) to rewrite only the cells whose value changes
    between two traces of the same network. Latency: the most changed rows in any
    subarray row block, times the per-row write time (ours)."""
    e_cell = parts.write_energy_per_cell_J()
    t_row = parts.write_time_per_row_s()
    energy, worst_rows, changed_total = 0.0, 0, 0
    lut = _changed_slices_lut(config)
    mask = (1 << config.weight_bits) - 1
    for m, a, b in zip(mapping.layers, old, new):
        if m.kind == "dynamic_matmul":
            continue                    # rewritten for every input anyway (chip.dynamic)
        if a.weight_codes.shape != b.weight_codes.shape:
            raise ValueError(f"layer {m.name!r}: weight shapes differ between the traces "
                             f"({a.weight_codes.shape} vs {b.weight_codes.shape})")
        # offset codes differ exactly where the signed codes differ: XOR the two's complement
        xor = (a.weight_codes.astype(np.int16) ^ b.weight_codes.astype(np.int16)) & mask
        xor = xor.reshape(xor.shape[0], -1)                      # (Cout, rows)
        copies = max(1, m.used_subarrays // max(1, m.weight_subarrays))
        changed = int(lut[xor].sum())
        changed_total += changed * copies
        energy += changed * copies * e_cell
        row_changed = (xor != 0).any(axis=0)
        for group in m.row_groups:
            rc = row_changed[group].astype(np.int64)
            if rc.size:
                blocks = np.add.reduceat(rc, np.arange(0, rc.size, mapping.subarray_rows))
                worst_rows = max(worst_rows, int(blocks.max()))
    return energy, worst_rows * t_row, changed_total
