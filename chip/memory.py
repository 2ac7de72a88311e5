"""The memory an estimate needs, known from the trace's shapes and the config before anything
is allocated, so that an impossible request fails at once with the figure instead of after a
minute with a MemoryError.

The estimate is ours and deliberately generous (an upper bound of the largest arrays alive at
once, not of every Python object):
- the per-cell conductance table of one sub-array for eNVM cells (chip.activity): levels x
  rows x columns float32 values, built through float64 intermediates (x3);
- the largest layer's working set: its input bit planes (images x input vectors x bits x rows,
  one byte each) and its cell levels and effective conductances (rows x cell columns, 1 + 4
  bytes), twice over for the copies the kernels make.
"""
from __future__ import annotations

from typing import Sequence

from contracts.config import HardwareConfig
from contracts.memory import check_memory
from contracts.trace import LayerGeometry

__all__ = ["estimate_bytes", "check_estimate_memory"]


def estimate_bytes(geometries: Sequence[LayerGeometry], config: HardwareConfig,
                   images: int) -> dict[str, int]:
    """{part: bytes} of the largest arrays an estimate holds at once (see module docstring)."""
    levels = 2 ** config.cell_bits
    table = 0 if config.memory_cell == "sram" else \
        levels * config.subarray_rows * config.subarray_cols * 4 * 3
    largest = 0
    for g in geometries:
        # every input channel's rows (a grouped layer's groups read different ones)
        planes = images * g.input_vectors * g.input_bits * g.rows * g.groups
        cells = g.rows * g.out_channels * config.cells_per_weight * 5
        largest = max(largest, 2 * (planes + cells))
    return {f"conductance table of a {config.subarray_rows}x{config.subarray_cols} sub-array":
            table, "largest layer": largest}


def check_estimate_memory(geometries: Sequence[LayerGeometry], config: HardwareConfig,
                          images: int) -> None:
    """contracts.memory.MemoryNeedError when the estimate cannot fit in memory."""
    check_memory(estimate_bytes(geometries, config, images), "this estimate",
                 "use smaller sub-arrays or fewer traced images")
