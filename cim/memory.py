"""The memory step 1's hardware pass needs, estimated from the converted layers and the config
before the crossbars are programmed (ours, an upper bound of the largest arrays):
every layer's crossbar state (rows x output columns x cells per weight, float32, with four
copies: target, programmed, device-effect and read state) plus one hardware batch's unfolded
inputs (HARDWARE_BATCH_ELEMENTS of int64 per input bit plane group, twice).
"""
from __future__ import annotations

from typing import Sequence

from contracts.config import HardwareConfig
from contracts.memory import check_memory

from .layers import CIMLayer
from .passes import HARDWARE_BATCH_ELEMENTS

__all__ = ["estimate_bytes", "check_run_memory"]

_STATE_COPIES = 4


def estimate_bytes(layers: Sequence[CIMLayer], cfg: HardwareConfig) -> dict[str, int]:
    cells = 0
    for layer in layers:
        if layer.kind == "dynamic_matmul":       # written per input: one image's arrays
            cells += layer.heads * layer.k * layer.n * cfg.cells_per_weight
            continue
        weight = layer.inner.weight
        cells += int(weight.shape[0]) * int(weight[0].numel()) * cfg.cells_per_weight
    return {"crossbar states": cells * 4 * _STATE_COPIES,
            "one hardware batch": HARDWARE_BATCH_ELEMENTS * 8 * 2}


def check_run_memory(layers: Sequence[CIMLayer], cfg: HardwareConfig) -> None:
    """contracts.memory.MemoryNeedError when the hardware pass cannot fit in memory."""
    check_memory(estimate_bytes(layers, cfg), "the hardware pass",
                 "use a smaller network or fewer bits per weight")
