"""Conventional sequential read: one row per cycle, a sense amplifier per column.

Each read cycle drives one row with one input plane; the sense amplifier of every column
resolves the level of that row's cell on its own (cim.cells.read_levels: thresholds halfway
between the nominal level currents), and the periphery shift-adds. Without read noise the
result is the exact integer product of the levels the amplifiers read,
``x @ decode(levels)`` (one matrix product; the levels are fixed for the array's life).

Read noise (``read_noise_sigma``) is fresh on every read - every input vector, input plane and
row, and independent per cell: ``G_read = G (1 + s z)``, as cim.devices.read_conductances.
Drawing a conductance per cell and read would cost M x P x R x C normals; instead we sample
only the reads whose level differs from the noise-free level ``L0``, exactly in distribution
(ours):

* per cell, ``q_lo = P(level < L0) = Phi((t_lo - G) / (s G))`` and
  ``q_hi = P(level > L0) = Phi((G - t_hi) / (s G))``, with ``t_lo``, ``t_hi`` the amplifier's
  thresholds around ``L0`` (``gmin + (L0 -+ 1/2) delta``); ``q = q_lo + q_hi``;
* only *driven* reads matter (a row whose input plane is 0 adds nothing), so the candidates are
  the pairs (cell, driven read of its row) of a chunk of input vectors, and each differs with
  probability ``q`` of its cell, independently. Cells are put in classes by q (one octave
  ``(2^-(k+1), 2^-k]`` each down to 2^-8, then four octaves each down to 2^-40); within a
  class the pairs of all its cells form one sequence of Bernoulli trials at the class's bound
  ``Q``, whose successes are drawn by geometric gaps (``floor(log U / log(1 - Q))``
  failures before each), and a success is kept with probability ``q / Q`` (thinning) -
  exactly a Bernoulli(q) trial per pair, at a cost proportional to the reads that differ
  (a class keeps at least 1/2 of its successes, 1/16 below 2^-8);
* cells with ``q < 2^-40`` (e.g. 1-bit cells at 5 % noise, q ~ 1e-21) are not listed: the
  pairs of all cells form one more sequence at ``Q = 2^-40``, thinned to the unlisted cells'
  ``q``, which costs nothing per cell;
* a differing read's level is the level of ``G (1 + s z)`` with ``z`` drawn from the normal
  tail beyond the nominal level's interval, i.e. from the cell's level distribution without
  ``L0``: the thinning draw ``v``, uniform on [0, q), picks the side (below when
  ``v < q_lo``) and the place in the tail by inverse CDF (``z = Phi^-1(v)`` below,
  ``z = -Phi^-1(v - q_lo)`` above); the inverse is needed only beyond the next level, whose
  tail probabilities are stored per listed cell (exact up to float64 rounding);
* each differing read adds ``plane value x place value x (level change)`` to its vector's
  output (``WeightMapping.combine`` of the per-column corrections).

Chunks of input vectors bound memory (driven reads and expected differing reads) and are
shared out to worker threads (cim.workers); each chunk draws from its own stream, derived
from a seed drawn from the array's read stream at every call and the chunk's index.
"""
from __future__ import annotations

import math

import torch

from . import cells
from .bitslice import WeightMapping, plane_terms, plane_weights
from .devices._common import child_generator
from .workers import one_op_thread, run_chunks

__all__ = ["SequentialRead", "FLIP_BUDGET", "bernoulli_positions", "driven_reads"]

#: expected differing reads sampled at once (bounds memory)
FLIP_BUDGET = 1 << 20
#: (vector, input plane, row) read slots of one chunk (bounds memory)
SLOT_BUDGET = 1 << 22
#: cells whose flip probabilities are computed at once (bounds memory)
CELL_CHUNK = 1 << 20
#: cells with q below 2^-UNLISTED_BITS are sampled together, without a list of them
UNLISTED_BITS = 40


def driven_reads(codes: torch.Tensor, bits: int, signed: bool, encoding: str) -> torch.Tensor:
    """Which reads drive a row: bool R x (M*P) for integer codes (M x R), read (vector m,
    plane p) at column m*P + p, True where the plane's value is not 0
    (cim.bitslice.input_planes)."""
    rows = int(codes.shape[1])
    x = codes.t()
    if encoding == "bit_serial":
        u = (x.to(torch.int64) % (2 ** bits) if signed else x).to(
            torch.uint8 if bits <= 8 else torch.int32)
        shifts = torch.arange(bits, dtype=u.dtype)
        return ((u.unsqueeze(-1) >> shifts) & 1).bool().reshape(rows, -1)
    if signed:
        return torch.stack([x > 0, x < 0], dim=-1).reshape(rows, -1)
    return (x != 0).reshape(rows, -1)


def bernoulli_positions(total: int, rate: float, generator: torch.Generator,
                        as_float: bool = False) -> torch.Tensor:
    """Indices (int64, increasing; float64 with ``as_float``) of the successes among
    ``total`` (< 2^53) independent trials of success probability ``rate``, drawn by geometric
    gaps (cost ~ successes, not trials)."""
    dtype = torch.float64 if as_float else torch.int64
    if total <= 0 or rate <= 0:
        return torch.zeros(0, dtype=dtype)
    if rate >= 1:
        return torch.arange(total, dtype=dtype)
    log_fail = math.log1p(-rate)
    found, start = [], 0
    while start < total:
        expected = (total - start) * rate
        draws = int(expected + 6 * math.sqrt(expected) + 16)
        u = torch.rand(draws, generator=generator, dtype=torch.float64)
        # trials up to each success; float64 counts are exact integers up to 2^53 (a u of 0
        # gives inf, which ends the run like any step beyond the total)
        steps = u.log_().div_(log_fail).floor_().add_(1.0)
        pos = torch.cumsum(steps, 0).add_(start - 1)
        inside = int(torch.searchsorted(pos, float(total)))               # pos increases
        found.append(pos[:inside].to(dtype))
        if inside < draws:
            break
        start = int(pos[-1]) + 1
    return torch.cat(found) if len(found) > 1 else found[0]


class _FlipClass:
    """Listed cells of one flip class, sorted by row, with their q and q_lo, and the class's
    bound ``Q`` on q."""

    def __init__(self, read: "SequentialRead", members: torch.Tensor, bound: float):
        rows, cols = (int(v) for v in read.levels.shape)
        self.cells = members                                             # flat r*C + c, sorted
        low, high = read.flip_probabilities(members)
        self.q, self.low = low + high, low
        self.deep = read.flip_probabilities(members, 2)                 # beyond L0 -+ 1
        self.per_row = torch.bincount(members // cols, minlength=rows)
        self.row_start = torch.cumsum(self.per_row, 0) - self.per_row
        self.bound = bound


def _class_of(q: torch.Tensor) -> torch.Tensor:
    """Flip class (int8) of probabilities q: k = floor(-log2 q) for k < 8, then one class per
    4 octaves down to 2^-UNLISTED_BITS; -1 below (unlisted). Few classes keep the per-chunk
    work small; rare classes keep >= 1/16 of their candidates."""
    k = torch.floor(-torch.log2(q.clamp(min=2.0 ** -1074))).clamp_(min=0)
    cls = torch.where(k < 8, k, 8 + torch.div(k - 8, 4, rounding_mode="floor"))
    return torch.where(q >= 2.0 ** -UNLISTED_BITS, cls, torch.full_like(cls, -1)).to(torch.int8)


def _class_bound(cls: int) -> float:
    """Upper bound on q in class ``cls`` (its largest octave, with room for rounding)."""
    top = cls if cls < 8 else 8 + 4 * (cls - 8)
    return min(1.0, 2.0 ** -top * (1 + 1e-9))


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
        if mapping.reference_column is not None:
            # the offset code's reference column is not read here (its bias is a digital
            # constant): a cell at 0 S reads level 0 and never flips with read noise
            g = g.clone()
            g[:, mapping.reference_column] = 0.0
        self.levels = cells.read_levels(g, config)                       # noise-free
        self.codes = mapping.decode(self.levels)                         # float64 R x N
        self.sigma = float(config.read_noise_sigma)
        if self.sigma > 0:
            self._g, self._base = g.reshape(-1), self.levels.reshape(-1)
            self._classes, self._listed, self._q_sum = self._classify()

    # -- flip probabilities ----------------------------------------------------------------
    def flip_probabilities(self, cell: torch.Tensor, steps: int = 1
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """(P(read level <= L0 - steps), P(read level >= L0 + steps)) (float64) of flat cell
        indices; ``steps=1``: (q_lo, q_hi), the probabilities of reading below / above L0."""
        g, base = (_take(self._g, cell).to(torch.float64),
                   _take(self._base, cell).to(torch.float64))
        gmin, delta = cells.gmin(self.config), cells.level_step(self.config)
        top = 2 ** self.config.cell_bits - 1
        spread = self.sigma * torch.where(g > 0, g, torch.ones_like(g))
        # thresholds between levels L0 - steps | L0 - steps + 1 and L0 + steps - 1 | L0 + steps
        low = torch.special.ndtr((gmin + (base - steps + 0.5) * delta - g) / spread)
        high = torch.special.ndtr((g - gmin - (base + steps - 0.5) * delta) / spread)
        live = g > 0                                   # a cell at 0 S reads level 0 always
        low = torch.where(live & (base >= steps), low, torch.zeros_like(low))
        high = torch.where(live & (base <= top - steps), high, torch.zeros_like(high))
        return low, high

    def _classify(self):
        """Flip classes of the cells with q >= 2^-UNLISTED_BITS, a mask of those cells (None
        when there are none) and sum(q) over all cells."""
        n = int(self._g.numel())
        class_of, q_sum = [], 0.0
        for i in range(0, n, CELL_CHUNK):
            low, high = self.flip_probabilities(torch.arange(i, min(n, i + CELL_CHUNK)))
            q_sum += float((low + high).sum())
            class_of.append(_class_of(low + high))
        class_of = torch.cat(class_of)
        classes = [_FlipClass(self, torch.nonzero(class_of == k).view(-1), _class_bound(k))
                   for k in torch.unique(class_of).tolist() if k >= 0]
        listed = class_of >= 0
        return classes, (listed if bool(listed.any()) else None), q_sum

    # -- reads ------------------------------------------------------------------------------
    def products(self, x_codes: torch.Tensor, input_bits: int, signed: bool,
                 generator: torch.Generator | None) -> torch.Tensor:
        """Outputs (float64, M x N) of integer inputs (M x R), read noise per read.
        ``generator`` (the array's read stream) seeds the streams of the chunks."""
        out = x_codes.to(torch.float64) @ self.codes
        if self.sigma > 0 and self._q_sum > 0:
            seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
            with one_op_thread() as workers:
                self._add_noise(out, x_codes, input_bits, signed, seed, workers)
        return out

    def _add_noise(self, out, x_codes, input_bits, signed, seed, workers) -> None:
        m, rows = (int(v) for v in x_codes.shape)
        planes = plane_weights(input_bits, signed, self.config.input_encoding).count
        chunk = max(1, min(m, SLOT_BUDGET // (planes * rows),
                           int(FLIP_BUDGET / max(self._q_sum * planes, 1e-30))))
        starts = range(0, m, chunk)

        def work(index: int) -> None:
            start = starts[index]
            part = x_codes[start:start + chunk]
            gen = child_generator(seed, f"chunk/{index}")
            out[start:start + int(part.shape[0])] += self._chunk_noise(
                part, input_bits, signed, gen)

        run_chunks(work, len(starts), workers)

    def _chunk_noise(self, x_codes, input_bits, signed, gen) -> torch.Tensor:
        """Output corrections (mc x N, float64) of the differing reads of one chunk."""
        mc, rows = (int(v) for v in x_codes.shape)
        cols = self.mapping.columns
        encoding = self.config.input_encoding
        mask = driven_reads(x_codes, input_bits, signed, encoding)         # R x (mc*P)
        planes = int(mask.shape[1]) // mc
        driven = mask.sum(1)                                                # per row
        slots = torch.nonzero(mask.reshape(-1)).view(-1)                    # row-major
        slot_start = torch.cumsum(driven, 0) - driven
        weights = plane_weights(input_bits, signed, encoding).weights
        per_col = torch.zeros(mc * cols, dtype=torch.float64)
        for cell, row, slot, v, low, deep_low, deep_high in self._differing(driven, gen):
            if not cell.numel():
                continue
            local = _take(slots, _take(slot_start, row).add_(slot)).sub_(row * (mc * planes))
            vec = torch.div(local, planes, rounding_mode="floor")
            plane = local.sub_(vec * planes)
            change = self._new_levels(cell, v, low, deep_low, deep_high)
            if encoding == "bit_serial":              # a driven bit-serial plane is 1
                term = _take(weights, plane).mul_(change)
            else:
                codes = _take(x_codes.reshape(-1), vec * rows + row)
                term = plane_terms(codes, plane, input_bits, signed, encoding) * change
            column = cell.sub(row.mul_(cols))                               # cell = r*C + c
            per_col.index_add_(0, vec.mul_(cols).add_(column), term)
        return self.mapping.combine(per_col.view(mc, cols))

    def _differing(self, driven: torch.Tensor, gen):
        """Per flip class, then for the unlisted cells: (cell, row, k-th driven read of the
        row, v, q_lo, P(level <= L0 - 2), P(level >= L0 + 2)) of every read that differs from
        its cell's noise-free level; ``v`` is uniform on [0, q) (the thinning draw)."""
        cols = self.mapping.columns
        for cls in self._classes:
            index, row, slot = _pick(cls.per_row * driven, driven, cls.bound, gen)
            index += _take(cls.row_start, row)                          # into the class
            kept, v = _thin(_take(cls.q, index), cls.bound, gen)
            index = _take(index, kept)
            yield (_take(cls.cells, index), _take(row, kept), _take(slot, kept), v,
                   _take(cls.low, index), _take(cls.deep[0], index), _take(cls.deep[1], index))
        # cells with q < 2^-UNLISTED_BITS: the pairs of all cells, thinned to them
        bound = 2.0 ** -UNLISTED_BITS
        cell, row, slot = _pick(driven * cols, driven, bound, gen)
        cell += row * cols
        if self._listed is not None:
            keep = ~self._listed[cell]
            cell, row, slot = cell[keep], row[keep], slot[keep]
        low, high = self.flip_probabilities(cell)
        kept, v = _thin(low + high, bound, gen)
        cell = _take(cell, kept)
        yield (cell, _take(row, kept), _take(slot, kept), v, _take(low, kept)) + \
            self.flip_probabilities(cell, 2)

    def _new_levels(self, cell, v, low, deep_low, deep_high) -> torch.Tensor:
        """Level change (float64, never 0) of each differing read, from its cell's level
        distribution: the normal tail beyond L0's interval (module docstring). ``v``,
        uniform on [0, q), picks the side (below when v < q_lo) and the place in the tail,
        ``w = v`` below, ``w = v - q_lo`` above; the read lands next to L0 unless ``w`` falls
        in the tail's far part (``w < P(level <= L0 - 2)`` below, ``< P(level >= L0 + 2)``
        above), whose level comes from ``z = Phi^-1(w)`` (below) or ``-Phi^-1(w)`` (above)."""
        side = v < low
        w = torch.where(side, v, v - low)
        change = side.to(torch.float64).mul_(-2.0).add_(1.0)            # -1 below, +1 above
        far = torch.nonzero(w < torch.where(side, deep_low, deep_high)).view(-1)
        if far.numel():
            side, cell = _take(side, far), _take(cell, far)
            z = torch.special.ndtri(_take(w, far))
            z = torch.where(side, z, -z)
            gmin, delta = cells.gmin(self.config), cells.level_step(self.config)
            top = 2 ** self.config.cell_bits - 1
            g = _take(self._g, cell).to(torch.float64)
            level = ((g * (1 + self.sigma * z) - gmin) / delta + 0.5).floor_().clamp_(0, top)
            jump = level.sub_(_take(self._base, cell))
            # rounding at a threshold must not land on the levels next to L0
            change.index_copy_(0, far, torch.where(side, jump.clamp(max=-2), jump.clamp(min=2)))
        return change


def _thin(q: torch.Tensor, bound: float, gen) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices of the candidates kept, each with probability q / bound; their draw
    ``v = u * bound``, uniform on [0, q) given that it was kept)."""
    v = torch.rand(q.shape, generator=gen, dtype=torch.float64).mul_(bound)
    kept = torch.nonzero(v < q).view(-1)
    return kept, _take(v, kept)


def _pick(pairs: torch.Tensor, driven: torch.Tensor, bound: float, gen):
    """Successes of Bernoulli(bound) trials over the (cell, driven read) pairs of every row,
    ``pairs[r] = cells of row r x driven[r]``: (cell index within the row, row, k-th driven
    read of the row), int64."""
    ends = torch.cumsum(pairs, 0)
    total = int(ends[-1]) if ends.numel() else 0
    pos = bernoulli_positions(total, bound, gen, as_float=True)
    # positions increase: count them per row instead of searching each one's row
    per_row = torch.diff(torch.searchsorted(pos, ends.to(torch.float64)),
                         prepend=ends.new_zeros(1))
    row = torch.repeat_interleave(torch.arange(int(pairs.numel())), per_row)
    local = pos.sub_(torch.repeat_interleave((ends - pairs).to(torch.float64), per_row))
    n = torch.repeat_interleave(driven.to(torch.float64), per_row)
    # float64 floor division is exact for integers with local + n < 2^53
    cell = torch.div(local, n).floor_()
    return cell.to(torch.int64), row, local.sub_(cell.mul_(n)).to(torch.int64)


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` along the first dimension (index_select: several times faster than
    advanced indexing on these 1-D gathers)."""
    return values.index_select(0, index)
