"""Refuse work that cannot fit in memory, with the figure, before anything is allocated.

Each step estimates the largest arrays it will hold at once from shapes and the config
(chip.memory for step 2, cim.memory for step 1) and calls :func:`check_memory`.
"""
from __future__ import annotations

import os
from typing import Mapping

__all__ = ["MemoryNeedError", "available_bytes", "check_memory", "USABLE_SHARE"]

#: the share of the available memory a run may plan to use
USABLE_SHARE = 0.8


class MemoryNeedError(ValueError):
    """The run would need more memory than the machine has available."""


def available_bytes() -> int:
    """Memory available to a new allocation (Linux MemAvailable; else free physical pages)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_memory(parts: Mapping[str, int], what: str, advice: str) -> None:
    """MemoryNeedError naming the total and the largest part when ``parts`` (bytes) cannot
    fit in USABLE_SHARE of the available memory."""
    need, have = sum(parts.values()), available_bytes()
    if need > USABLE_SHARE * have:
        biggest = max(parts, key=parts.get)
        raise MemoryNeedError(f"{what} needs about {need / 2**30:.3g} GiB ({biggest}: "
                              f"{parts[biggest] / 2**30:.3g} GiB), more than the "
                              f"{have / 2**30:.3g} GiB available; {advice}")
