"""Conventional sequential read: one row per cycle, a sense amplifier per column.

Each read cycle drives one row with one input plane; the sense amplifier of every column
resolves the level of that row's cell on its own (cim.cells.read_levels: thresholds halfway
between the nominal level currents), and the periphery shift-adds. Without read noise the
result is the exact integer product of the levels the amplifiers read,
``x @ decode(levels)`` (one matrix product; the levels are fixed for the array's life).

Read noise (``read_noise_sigma``) is fresh on every read - every input vector, input plane and
row, and independent per cell: ``G_read = G (1 + s z)``, as cim.devices.read_conductances.
Drawing a conductance per cell and read would cost M x P x R x C normals; instead we sample
the reads whose level differs from the noise-free level, exactly in distribution (ours):

* per cell, the level distribution of one read is known in closed form,
  ``P(level >= k) = P(G (1 + s z) >= t_k) = Phi((G - t_k) / (s G))`` with the amplifier's
  thresholds ``t_k = gmin + (k - 1/2) delta``; ``q`` = P(level != noise-free level);
* over a batch of S = P x M read slots, a cell's number of differing reads is
  Binomial(S, q); which slots they are is a uniform subset (drawn with replacement and
  duplicates redrawn - uniform by symmetry), and each one's level is drawn from the cell's
  distribution without the noise-free level;
* each differing read adds ``plane value x place value x (level change)`` to its vector's
  output (``WeightMapping.combine`` of the per-column corrections). Slots whose input is 0
  add nothing (a row not driven is not read).

Cost is proportional to the number of differing reads, ``S * sum(q)``: nothing for cells far
from a threshold (1-bit cells at 5 % noise: q ~ 1e-21), dense only for multi-level cells whose
levels the noise spans. The batch is cut into chunks of at most ``FLIP_BUDGET`` expected
differing reads to bound memory.
"""
from __future__ import annotations

import torch

from . import cells
from .bitslice import WeightMapping, plane_terms, plane_weights

__all__ = ["SequentialRead", "FLIP_BUDGET"]

#: expected differing reads sampled at once (bounds memory)
FLIP_BUDGET = 1 << 21
#: cells whose level probabilities are computed at once (bounds memory)
CELL_CHUNK = 1 << 20


class SequentialRead:
    """What the sense amplifiers of one array read (see module docstring).

    Args:
        mapping: the array's weight mapping.
        conductance: programmed conductances (float32, units of Gmax).
        state: cim.devices.DeviceState of the cells, or None (ideal programming).
        config: HardwareConfig.
    """

    def __init__(self, mapping: WeightMapping, conductance: torch.Tensor, state, config):
        self.mapping, self.config = mapping, config
        comp = 1.0 if state is None else state.drift_compensation
        if comp == 1.0:
            g = conductance
        else:
            # the global drift compensation factor scales the read (cim.devices.read_conductances)
            g = (state.g.to(torch.float64) * comp).to(torch.float32)
        self.levels = cells.read_levels(g, config)                       # noise-free
        self.codes = mapping.decode(self.levels)                         # float64 R x N
        self.sigma = float(config.read_noise_sigma)
        if self.sigma > 0:
            flat, lv = g.reshape(-1).to(torch.float64), self.levels.reshape(-1, 1).long()
            q = torch.cat([1.0 - self.level_probabilities(flat[i:i + CELL_CHUNK]).gather(
                1, lv[i:i + CELL_CHUNK]).view(-1) for i in range(0, flat.numel(), CELL_CHUNK)])
            # only cells that can read another level are kept (flat index, G, q)
            self._cells = torch.nonzero(q > 0).view(-1)
            self._g, self._q = flat[self._cells], q[self._cells]

    def level_probabilities(self, g: torch.Tensor) -> torch.Tensor:
        """P(read level = k) for cells of conductance ``g`` (F,), as F x L (float64)."""
        top = 2 ** self.config.cell_bits - 1
        k = torch.arange(1, top + 1, dtype=torch.float64)
        thresholds = cells.gmin(self.config) + (k - 0.5) * cells.level_step(self.config)
        safe = torch.where(g > 0, g, torch.ones_like(g))[:, None]
        at_least = torch.special.ndtr((safe - thresholds) / (self.sigma * safe))
        at_least = torch.where(g[:, None] > 0, at_least, torch.zeros_like(at_least))
        ones, zeros = torch.ones_like(g)[:, None], torch.zeros_like(g)[:, None]
        cum = torch.cat([ones, at_least, zeros], dim=1)                  # P(level >= k)
        return (cum[:, :-1] - cum[:, 1:]).clamp_(min=0.0)

    def products(self, x_codes: torch.Tensor, input_bits: int, signed: bool,
                 generator: torch.Generator | None) -> torch.Tensor:
        """Outputs (float64, M x N) of integer inputs (M x R), read noise per read."""
        out = x_codes.to(torch.float64) @ self.codes
        if self.sigma > 0 and self._cells.numel():
            out += self._noise(x_codes, input_bits, signed, generator)
        return out

    def _noise(self, x_codes, input_bits, signed, generator) -> torch.Tensor:
        m = int(x_codes.shape[0])
        planes = plane_weights(input_bits, signed, self.config.input_encoding).count
        cols = self.mapping.columns
        q_sum = float(self._q.sum())
        chunk = max(1, min(m, int(FLIP_BUDGET / max(q_sum * planes, 1e-30))))
        out = torch.zeros(m, self.mapping.outputs, dtype=torch.float64)
        base = self.levels.reshape(-1)
        for start in range(0, m, chunk):                                # bounds memory only
            mc = min(chunk, m - start)
            slots = planes * mc
            n = torch.binomial(torch.full_like(self._q, float(slots)), self._q,
                               generator=generator)
            which = torch.repeat_interleave(torch.arange(n.numel()), n.to(torch.int64))
            if not which.numel():
                continue
            cell = self._cells[which]
            slot = self._distinct_slots(cell, slots, generator)
            prob = self.level_probabilities(self._g[which])
            old = base[cell].to(torch.int64)
            prob.scatter_(1, old[:, None], 0.0)                          # a different level
            new = torch.multinomial(prob, 1, generator=generator).view(-1)
            row, col = cell // cols, cell % cols
            vec, plane = slot % mc, slot // mc
            term = plane_terms(x_codes[start + vec, row], plane, input_bits, signed,
                               self.config.input_encoding) * (new - old).to(torch.float64)
            per_col = torch.zeros(mc * cols, dtype=torch.float64)
            per_col.index_add_(0, vec * cols + col, term)
            out[start:start + mc] = self.mapping.combine(per_col.view(mc, cols))
        return out

    @staticmethod
    def _distinct_slots(cell: torch.Tensor, slots: int, generator) -> torch.Tensor:
        """A uniform random slot in [0, slots) per entry, distinct among entries of the same
        cell (duplicates redrawn until none is left)."""
        slot = torch.randint(0, slots, cell.shape, generator=generator)
        redraw = torch.ones(cell.shape, dtype=torch.bool)
        while bool(redraw.any()):
            key = cell * slots + slot
            order = torch.argsort(key)
            same = key[order][1:] == key[order][:-1]
            redraw = torch.zeros_like(redraw)
            redraw[order[1:][same]] = True
            count = int(redraw.sum())
            if count:
                slot[redraw] = torch.randint(0, slots, (count,), generator=generator)
        return slot
