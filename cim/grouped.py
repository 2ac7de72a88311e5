"""Grouped and depthwise convolutions on crossbars: each group its own weight block.

A convolution with ``groups = G`` splits its input channels and its outputs into G groups;
group g's outputs read only group g's input channels. Its unrolled weight matrix is therefore
``G`` independent blocks of ``R_g = Cin/G * K_h * K_w`` rows by ``N_g = Cout/G`` columns, and
each block is programmed as its own :class:`cim.crossbar.Crossbar` (its own cells, device
draws, reads and counts) - never as one block-diagonal array whose zero weights would draw
current and noise. The ADC range is one per layer, as for an ungrouped layer: calibrated on
the read currents of all groups together.

:class:`GroupedCrossbar` offers the part of Crossbar's interface that cim.layers and cim.run
use, so a grouped layer is read exactly like an ungrouped one: inputs are the whole
im2col rows (``G * R_g`` columns, group-major as F.unfold orders channels), outputs the whole
``G * N_g`` columns. The loop over groups is a loop over arrays (the hierarchy level), never
over rows, vectors or bits.
"""
from __future__ import annotations

from types import SimpleNamespace

import torch

from .crossbar import Crossbar

__all__ = ["GroupedCrossbar", "make_crossbar"]


def make_crossbar(matrix: torch.Tensor, groups: int, config, generator=None):
    """A Crossbar for ``groups == 1``, else a GroupedCrossbar (matrix: R_g x Cout)."""
    if groups == 1:
        return Crossbar(matrix, config, generator)
    return GroupedCrossbar(matrix, groups, config, generator)


class _BlockMapping:
    """``decode()`` of a grouped layer: the block-diagonal integer matrix (exact products)."""

    def __init__(self, parts: list[Crossbar]):
        self.parts = parts

    def decode(self) -> torch.Tensor:
        return torch.block_diag(*[p.mapping.decode() for p in self.parts])


class GroupedCrossbar:
    """``groups`` crossbars, one per weight block of a grouped convolution (module docstring).

    Args:
        matrix: integer weight codes R_g x Cout (column c belongs to group c // (Cout/G)).
        groups: number of groups G (divides Cout).
        config, generator: as for Crossbar (each block draws its own seed, in group order).
    """

    def __init__(self, matrix: torch.Tensor, groups: int, config, generator=None):
        rows, outputs = int(matrix.shape[0]), int(matrix.shape[1])
        if groups < 1 or outputs % groups:
            raise ValueError(f"groups={groups} must divide the {outputs} outputs")
        self.config = config
        self.groups = groups
        self.rows, self.outputs = rows, outputs
        self.group_outputs = outputs // groups
        self.parts = [Crossbar(block, config, generator)
                      for block in matrix.split(self.group_outputs, dim=1)]
        self.parallel = self.parts[0].parallel
        self.mapping = _BlockMapping(self.parts)

    # -- views --------------------------------------------------------------------------
    @property
    def read_noise_per_read(self) -> bool:
        return self.parts[0].read_noise_per_read

    @property
    def effective_codes(self) -> torch.Tensor:
        """R_g x Cout: each group's sensed codes in its own columns (grouped F.conv2d layout)."""
        return torch.cat([p.effective_codes for p in self.parts], dim=1)

    @property
    def observed_max(self) -> float:
        return max(p.observed_max for p in self.parts)

    @observed_max.setter
    def observed_max(self, value: float) -> None:
        for p in self.parts:
            p.observed_max = value

    @property
    def observed_hist(self):
        hists = [p.observed_hist for p in self.parts if p.observed_hist is not None]
        return sum(hists[1:], hists[0]) if hists else None

    @observed_hist.setter
    def observed_hist(self, value) -> None:
        for p in self.parts:
            p.observed_hist = value

    def statistics(self) -> dict:
        """Counts summed over the groups' arrays (each block allocates its own subarrays)."""
        parts = [p.statistics() for p in self.parts]
        total = {k: sum(s[k] for s in parts) for k in parts[0] if k != "utilization"}
        total["utilization"] = (total["cells_used"] / total["cells_allocated"]
                                if total["cells_allocated"] else 0.0)
        return total

    def set_off_state(self, mode: str) -> None:
        for p in self.parts:
            p.set_off_state(mode)

    # -- ADC and counts -----------------------------------------------------------------
    def count_reads(self, vectors: int, input_bits: int, signed: bool) -> None:
        for p in self.parts:
            p.count_reads(vectors, input_bits, signed)

    def calibrated_range(self, input_bits: int, signed: bool) -> torch.Tensor:
        """One range for the layer from the reads of all groups (Crossbar's quantile rule)."""
        merged = SimpleNamespace(observed_hist=self.observed_hist,
                                 observed_max=self.observed_max, config=self.config)
        return Crossbar.calibrated_range(merged, input_bits, signed)

    def set_adc(self, input_bits: int, signed: bool, current_range=None):
        return [p.set_adc(input_bits, signed, current_range) for p in self.parts][0]

    # -- reads --------------------------------------------------------------------------
    def _per_group(self, x_codes: torch.Tensor, read) -> torch.Tensor:
        if x_codes.shape[1] != self.rows * self.groups:
            raise ValueError(f"grouped crossbar: inputs have {x_codes.shape[1]} rows, expected "
                             f"{self.groups} groups x {self.rows}")
        parts = x_codes.split(self.rows, dim=1)
        return torch.cat([read(p, x) for p, x in zip(self.parts, parts)], dim=1)

    def sense(self, x_codes: torch.Tensor, input_bits: int, signed: bool) -> torch.Tensor:
        return self._per_group(x_codes, lambda p, x: p.sense(x, input_bits, signed))

    def matmul(self, x_codes: torch.Tensor, input_bits: int, signed: bool,
               observe: bool = False) -> torch.Tensor | None:
        """Outputs (float64, M x Cout); ``observe=True`` only records the read currents of
        every group (Crossbar.matmul) and returns None."""
        if observe:
            for p, x in zip(self.parts, x_codes.split(self.rows, dim=1)):
                p.matmul(x, input_bits, signed, observe=True)
            return None
        return self._per_group(x_codes, lambda p, x: p.matmul(x, input_bits, signed))
