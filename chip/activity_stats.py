"""Statistical fast mode of the activity: a layer's `SubArrayActivity` from per-layer
statistics of its input bits and weight bits instead of every column sum of every read.

Statistics (computed from the trace once, then kept):
- inputs: the histogram of the number of active rows per read (over the layer's bit vectors
  and reads, for a given cut of its rows into sub-array blocks and reads; computed from the
  input bit planes, kept per layer, row cut and read size) and the 1s per row;
- weights: the histogram of the weight codes, from which each cell slice's level
  distribution follows (chip.activity.cell_levels applied to the distinct codes).

Model (ours): given that k rows of a read are active, the levels their cells store in a
column of slice s are k independent draws from slice s's level distribution; a cell's
conductance is its level's mean effective conductance over the sub-array's positions (wire
and access resistance included, chip.activity.effective_conductance). The distribution of
a column sum is then computed on a grid of ``GRID_BINS`` points (each level's value split
between its two neighbouring grid points, which keeps its mean): with phi the Fourier
transform of one cell's distribution, the histogram of all reads is the inverse transform of
sum_k n_k phi^k (n_k: reads with k active rows), evaluated by Horner's rule. SRAM counts
are integers on a unit grid. Reads without an active row are skipped as in the trace model;
NeuroSim's counting (quirk activity_counting: whole block summed and divided by numAdd,
numAdd times, every read counted, SRAM cells all conducting) is followed too.

Exact: the sub-array, row, column and read counts, the active-row fraction, the number of
conversions. Ignored: which weights the active rows hold (levels are drawn per slice, not
per column and row), correlations between a weight's slices, and the spread of the
per-position conductances; docs/performance.md gives the error against the trace per
figure. Never imports torch.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from chip import activity as trace_activity
from chip.activity import SubArrayActivity, effective_conductance, input_bit_vectors
from chip.activity_exact import Bookkeeping
from chip.compat import quirk_on
from contracts.config import HardwareConfig

__all__ = ["WeightStatistics", "ReadStatistics", "weight_statistics", "read_statistics",
           "statistical_activity", "GRID_BINS"]

#: grid points of an eNVM column-conductance distribution (SRAM: one per count)
GRID_BINS = 1024
_CACHE_SIZE = 1024


@dataclass(frozen=True)
class WeightStatistics:
    """The histogram of a layer's weight codes."""

    codes: np.ndarray             # distinct weight codes (signed integers)
    counts: np.ndarray            # how many weights hold each


@dataclass(frozen=True)
class ReadStatistics:
    """A layer's reads for one cut of its rows (per image): reads per number of active rows
    (over all bit vectors), and the input 1s of the rows of each block."""

    images: int
    bit_vectors: int              # per image (vectors x input bits)
    active_reads: np.ndarray      # [k] reads per image with k active rows (k = 0 included)
    block_ones: tuple             # input 1s of each row block (over all traced images)
    block_rows: tuple             # rows of each block


class _Memo:
    """Statistics per traced layer (by identity; the entry keeps the layer alive)."""

    def __init__(self):
        self.entries: dict[tuple, tuple] = {}

    def get(self, layer, key: tuple, compute):
        slot = (id(layer), key)
        hit = self.entries.get(slot)
        if hit is not None and hit[0] is layer:
            return hit[1]
        value = compute()
        if len(self.entries) >= _CACHE_SIZE:
            self.entries.pop(next(iter(self.entries)))
        self.entries[slot] = (layer, value)
        return value


_MEMO = _Memo()


def weight_statistics(layer) -> WeightStatistics:
    """The weight-code histogram of a traced layer (computed once per layer object)."""
    def compute() -> WeightStatistics:
        flat = np.asarray(layer.weight_codes).ravel()
        low = int(flat.min())
        counts = np.bincount(flat.astype(np.int64) - low)
        present = np.flatnonzero(counts)
        return WeightStatistics(codes=(present + low).astype(np.int64),
                                counts=counts[present].astype(np.float64))
    return _MEMO.get(layer, ("weights",), compute)


def read_statistics(layer, config: HardwareConfig, groups: list[np.ndarray]) -> ReadStatistics:
    """The active rows per read of ``layer`` for its row groups cut into sub-array blocks
    and reads at ``config`` (kept per layer and cut)."""
    neurosim = quirk_on(config, "activity_counting")
    R = config.subarray_rows
    rpr = min(config.rows_per_read, R)
    h = hashlib.blake2b(digest_size=12)
    for gr in groups:
        h.update(np.ascontiguousarray(gr, dtype=np.int64).tobytes() + b"|")
    key = ("reads", h.hexdigest(), R, rpr, neurosim)
    return _MEMO.get(layer, key, lambda: _count_reads(layer, config, groups, neurosim, R, rpr))


def _count_reads(layer, config, groups, neurosim: bool, R: int, rpr: int) -> ReadStatistics:
    X = input_bit_vectors(layer, config, neurosim)              # [images, bv, rows]
    images, bv = X.shape[0], X.shape[1]
    X = X.reshape(images * bv, X.shape[2])
    row_ones = X.sum(axis=0, dtype=np.int64)
    top = R if neurosim else rpr
    active = np.zeros(top + 1)
    ones, rows_of = [], []
    for gr in groups:
        for lo in range(0, gr.size, R):
            rows = gr[lo:lo + R]
            ones.append(float(row_ones[rows].sum()))
            rows_of.append(rows.size)
            if rpr == 1:                 # one row per read: active or not
                active[1] += ones[-1]
                active[0] += float(X.shape[0] * rows.size) - ones[-1]
                continue
            step = rows.size if neurosim else rpr   # NeuroSim: the whole block at once
            for q in range(0, rows.size, step):
                k = X[:, rows[q:q + step]].sum(axis=1, dtype=np.int64)
                active[:k.max() + 1] += np.bincount(k)
    return ReadStatistics(images=images, bit_vectors=bv, active_reads=active / images,
                          block_ones=tuple(ones), block_rows=tuple(rows_of))


def _slice_levels(stats: WeightStatistics, config: HardwareConfig) -> np.ndarray:
    """[cells_per_weight, levels] probability of each stored level per weight column slice
    (chip.activity.cell_levels' slicing applied to the distinct codes)."""
    levels = trace_activity.cell_levels(stats.codes[:, None], config)    # [codes, cpw]
    L = 2 ** config.cell_bits
    out = np.zeros((levels.shape[1], L))
    for s in range(levels.shape[1]):
        out[s] = np.bincount(levels[:, s], weights=stats.counts, minlength=L)[:L]
    return out / stats.counts.sum()


def _cell_values(config: HardwareConfig, ctx, sram: bool, all_conduct: bool,
                 q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value of each level [levels], probability [cpw, levels]) of one active cell; SRAM in
    units of one cell's conductance."""
    if sram:
        # a stored 1 is one unit; under NeuroSim's counting every cell conducts
        ones = np.ones(q.shape[0]) if all_conduct else q[:, 1:].sum(axis=1)
        return np.array([0.0, 1.0]), np.stack([1.0 - ones, ones], axis=1)
    R, C = config.subarray_rows, config.subarray_cols
    g = np.array([effective_conductance(np.full((R, C), level, dtype=np.uint8), ctx, R)
                  .astype(np.float64).mean() for level in range(q.shape[1])])
    return g, q


def _read_histogram(values: np.ndarray, q: np.ndarray, active: np.ndarray, width: float,
                    points: int) -> np.ndarray:
    """[points + 1] histogram on the grid m x ``width`` of the column sums of reads with k
    active rows (``active[k]`` reads each), summed over the slices: the inverse transform of
    sum_k active[k] phi_s^k (Horner's rule), phi_s one cell's distribution's transform."""
    kmax = active.size - 1
    n_fft = 1 << int(math.ceil(math.log2(points + kmax + 2)))
    x = values / width
    lo = np.floor(x).astype(np.int64)
    frac = x - lo
    cell = np.zeros((q.shape[0], n_fft))
    for level in range(values.size):            # each level's mass split between two points
        cell[:, lo[level]] += q[:, level] * (1.0 - frac[level])
        cell[:, lo[level] + 1] += q[:, level] * frac[level]
    phi = np.fft.rfft(cell, axis=-1)
    acc = np.full(phi.shape, active[kmax], dtype=complex)
    for k in range(kmax - 1, -1, -1):
        acc = acc * phi + active[k]
    hist = np.fft.irfft(acc.sum(axis=0), n=n_fft)[:points + 1]
    # the transforms' rounding leaves ~1e-16 of the total in bins no sum reaches
    hist[hist < 1e-12 * hist.max()] = 0.0
    return hist


def statistical_activity(layer, config: HardwareConfig, row_groups=None, ctx=None
                         ) -> SubArrayActivity:
    """The layer's activity from its statistics (module docstring): same contract and
    per-image units as chip.activity.layer_activity."""
    ctx = ctx or trace_activity._tech(config)
    g = layer.geometry
    if g.groups != 1:
        raise ValueError(f"layer {g.name!r}: groups={g.groups} is not supported by the "
                         f"statistical activity model yet (only groups=1)")
    groups = trace_activity._checked_groups(layer, row_groups, g.rows)
    reads = read_statistics(layer, config, groups)
    neurosim = quirk_on(config, "activity_counting")
    n_cols = g.out_channels * config.cells_per_weight
    book = Bookkeeping(config, n_cols, min(config.rows_per_read, config.subarray_rows))
    for n, ones in zip(reads.block_rows, reads.block_ones):
        book.block(n, ones)
    values, counts = _histogram(weight_statistics(layer), config, ctx, reads, g.out_channels,
                                neurosim)
    return book.activity(values, counts, reads.images, reads.bit_vectors, neurosim, ctx,
                         extra={"model": "stats"})


def _histogram(weights: WeightStatistics, config: HardwareConfig, ctx, reads: ReadStatistics,
               out_channels: int, neurosim: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts per image) of the column sums of all reads of the layer."""
    sram = bool(ctx.is_sram)
    R = config.subarray_rows
    rpr = min(config.rows_per_read, R)
    sequential = rpr == 1
    block_sums = neurosim and not sequential      # NeuroSim sums the whole block
    num_add = math.ceil(R / rpr) if block_sums else 1
    values, q = _cell_values(config, ctx, sram, sram and neurosim,
                             _slice_levels(weights, config))
    active = reads.active_reads.copy()
    if not neurosim:
        active[0] = 0.0                          # a read without an active row is skipped
    if sram:
        width, points = 1.0, active.size - 1
    else:
        values = values / num_add
        width = rpr * float(values.max()) * num_add * 1.0001 / GRID_BINS
        points = GRID_BINS
    hist = _read_histogram(values, q, active, width, points) * out_channels * num_add
    if neurosim and sequential:
        # NeuroSim's sequential counting also converts the blocks' unused rows, as zeros
        unused = sum(R - n for n in reads.block_rows)
        hist[0] += unused * reads.bit_vectors * out_channels * config.cells_per_weight
    keep = hist > 0
    grid = np.arange(hist.size) * width
    if sram:
        grid = grid / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm)
    return grid[keep], hist[keep]
