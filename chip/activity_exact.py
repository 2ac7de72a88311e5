"""Exact shortcuts of `chip.activity.layer_activity` for the reads whose histogram needs only
per-row and per-position counts, never the per-read column sums.

- **One row per read** (sequential mode): a (row, column) cell is read as often as its row's
  input bit is 1, so the histogram is every cell *position* of the sub-array (row i, column
  j mod subarray_cols) and stored level, weighted by the row's input ones times the number of
  column blocks holding that level there. The cells' conductances are evaluated per position
  (subarray_rows x subarray_cols x levels values) instead of per cell (VGG-8: 104 M cells).
- **SRAM under NeuroSim's counting** (quirk ``activity_counting``): every active row of the
  sub-array conducts whatever it stores, so every column of a read sees the same count: the
  histogram is the per-read count of active rows, times the columns. The weights are not
  needed at all.

Both give the histogram `layer_activity` gives, bin for bin (the counts are sums of integers;
tests/test_activity_exact.py compares them), with the same binning and read model, which are
taken from `chip.activity` itself. Layers or configs outside these cases (and grouped
convolutions) return None from :func:`exact_activity`; the caller then runs
`layer_activity`. Never imports torch.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from chip import activity as trace_activity
from chip.activity import SubArrayActivity, effective_conductance, unrolled_weights
from contracts.config import HardwareConfig

__all__ = ["exact_activity", "applies", "position_level_counts", "code_mean", "Bookkeeping"]


def applies(layer, config: HardwareConfig, ctx) -> bool:
    """True when :func:`exact_activity` handles ``layer`` at ``config``."""
    if getattr(layer.geometry, "groups", 1) != 1:
        return False
    if min(config.rows_per_read, config.subarray_rows) == 1:
        return True
    return bool(ctx.is_sram) and trace_activity.quirk_on(config, "activity_counting")


def exact_activity(layer, config: HardwareConfig, row_groups=None, ctx=None
                   ) -> SubArrayActivity | None:
    """`layer_activity(layer, config, row_groups, ctx)` by the shortcuts above, or None when
    they do not apply."""
    ctx = ctx or trace_activity._tech(config)
    if not applies(layer, config, ctx):
        return None
    total_rows = layer.geometry.rows
    groups = trace_activity._checked_groups(layer, row_groups, total_rows)
    reads, images, bv = trace_activity._reads(layer, config, ctx, None)
    weights = None if reads.sram_neurosim else unrolled_weights(layer)
    n_cols = layer.geometry.out_channels * config.cells_per_weight
    book = Bookkeeping(config, n_cols, reads.rows_per_read)
    for gr in groups:
        for lo in range(0, gr.size, config.subarray_rows):
            rows = gr[lo:lo + config.subarray_rows]
            book.block(rows.size, float(reads.row_ones[rows].sum()))
            if reads.rows_per_read == 1:
                _sequential(reads, rows, weights, config, n_cols)
            else:
                _sram_neurosim(reads, rows, n_cols)
    values, counts = reads.hist.result()
    return book.activity(values, counts / images, images, bv, reads.neurosim, ctx)


def code_mean(values: np.ndarray, counts: np.ndarray, config: HardwareConfig, ctx) -> float:
    """Mean ADC (sense-amplifier) code of a conductance histogram at ``config``, by
    chip.activity's rule (its unit: one SRAM cell's conductance, else the top level's)."""
    g_unit = 1.0 / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm) \
        if ctx.is_sram else 0.0
    reads = SimpleNamespace(ctx=ctx, g_unit=g_unit,
                            rows_per_read=min(config.rows_per_read, config.subarray_rows))
    return trace_activity._code_mean(values, counts, reads, config)


class Bookkeeping:
    """Sub-array, row, column and read counts of a layer's row blocks (chip.activity's
    per-block rules: every block spans all weight columns, cut into subarray_cols blocks)."""

    def __init__(self, config: HardwareConfig, n_cols: int, rows_per_read: int):
        self.config = config
        self.col_blocks = math.ceil(n_cols / config.subarray_cols)
        self.n_cols, self.rows_per_read = n_cols, rows_per_read
        self.subarrays = 0
        self.used_rows_sum = self.used_cols_sum = self.active_sum = 0.0
        self.reads_max = 0

    def block(self, n: int, input_ones: float) -> None:
        """One row block of ``n`` rows whose input bits hold ``input_ones`` ones in all."""
        self.subarrays += self.col_blocks
        self.used_rows_sum += float(n) * self.col_blocks
        self.used_cols_sum += float(self.n_cols)
        self.active_sum += input_ones * self.col_blocks
        self.reads_max = max(self.reads_max, math.ceil(n / self.rows_per_read))

    def activity(self, values: np.ndarray, counts: np.ndarray, images: int, bit_vectors: int,
                 neurosim: bool, ctx, extra: dict | None = None) -> SubArrayActivity:
        """The layer's SubArrayActivity from these blocks and the histogram (``counts`` per
        image) of its column sums; ``neurosim``: NeuroSim's read count (numAdd per bit
        vector, quirk activity_counting)."""
        S, R = self.subarrays, self.config.subarray_rows
        per_vector = math.ceil(R / min(self.config.rows_per_read, R)) if neurosim \
            else self.reads_max
        fraction = self.active_sum / (images * bit_vectors * R * S) if S else 0.0
        return SubArrayActivity(
            subarrays=S, bit_vectors_per_subarray=float(bit_vectors),
            reads_per_subarray=float(bit_vectors * per_vector), active_row_fraction=fraction,
            column_conductance_S=values, column_conductance_count=counts,
            adc_code_mean=code_mean(values, counts, self.config, ctx),
            used_rows=self.used_rows_sum / S if S else 0.0,
            used_cols=self.used_cols_sum / S if S else 0.0,
            images=images, extra=dict(extra or {}))


# --- one row per read ---------------------------------------------------------------------
def _sequential(reads, rows: np.ndarray, weights, config: HardwareConfig, n_cols: int) -> None:
    """Every (position, level) of the block weighted by its row's input ones."""
    R, C = config.subarray_rows, config.subarray_cols
    hist, ones = reads.hist, reads.row_ones[rows]
    nr = rows.size
    if reads.sram_neurosim:
        per_level = {1: _columns_at(n_cols, C)[None, :].repeat(nr, axis=0)}
    else:
        per_level = position_level_counts(weights[rows], config)
    for level, count in per_level.items():
        w = ones[:, None] * count
        if hist.integer:
            # SRAM: a stored 1 (or, under NeuroSim's counting, any cell) is one unit
            unit = reads.g_unit if (level > 0 or reads.sram_neurosim) else 0.0
            hist.add_weighted(np.full(w.shape, unit), w)
        else:
            g = effective_conductance(np.full((nr, C), level, dtype=np.uint8), reads.ctx, R)
            hist.add_weighted(g.astype(np.float64), w)
    if reads.neurosim:
        # NeuroSim converts every row, input 0 or not (and the block's unused rows)
        V = reads.X.shape[0]
        hist.counts[0] += float((V - ones).sum() + (R - nr) * V) * n_cols


def _columns_at(n_cols: int, C: int) -> np.ndarray:
    """Column blocks holding a column at each of the C positions (the last block may be
    partial)."""
    full, rest = divmod(n_cols, C)
    return full + (np.arange(C) < rest).astype(np.int64)


def position_level_counts(codes: np.ndarray, config: HardwareConfig) -> dict[int, np.ndarray]:
    """{level: [rows, subarray_cols] number of column blocks whose cell at (row, position)
    stores that level} for the weight codes ``codes`` [rows, Cout] of one row block (levels
    without a cell omitted). Column j = o cells_per_weight + slice lies at position
    j mod subarray_cols of block j // subarray_cols, as in chip.activity."""
    C, cpw = config.subarray_cols, config.cells_per_weight
    if config.cell_bits == 1 and C % cpw == 0 and config.weight_bits <= 8:
        ones = _one_bit_counts(codes, config)                   # [rows, C] stored 1s
        total = _columns_at(codes.shape[1] * cpw, C)[None, :]
        return {0: total - ones, 1: ones}
    levels = trace_activity.cell_levels(codes, config)           # [rows, n_cols]
    nr, n = levels.shape
    blocks = -(-n // C)
    padded = np.full((nr, blocks * C), 255, dtype=np.uint8)      # 255: no cell there
    padded[:, :n] = levels
    by_block = padded.reshape(nr, blocks, C)
    out = {}
    for level in range(2 ** config.cell_bits):
        count = np.count_nonzero(by_block == level, axis=1)
        if count.any():
            out[level] = count
    return out


def _bit_spreader(bits: int) -> np.ndarray:
    """uint64 per byte value: byte k = bit (bits - 1 - k) of the value (slice k, MSB first)."""
    v = np.arange(256, dtype=np.uint64)
    out = np.zeros(256, dtype=np.uint64)
    for k in range(bits):
        out |= ((v >> np.uint64(bits - 1 - k)) & np.uint64(1)) << np.uint64(8 * k)
    return out.astype("<u8")              # byte k at offset k whatever the machine's order


def _one_bit_counts(codes: np.ndarray, config: HardwareConfig) -> np.ndarray:
    """[rows, C] stored 1s per position over the column blocks, 1-bit cells: each weight's
    slices spread to bytes of one uint64 (a table look-up), summed over the blocks in byte
    lanes (at most 255 blocks per sum, so no carry crosses a lane)."""
    B, C, cpw = config.weight_bits, config.subarray_cols, config.cells_per_weight
    w = np.asarray(codes).astype(np.int16)
    if config.weight_encoding == "offset":
        parts = [(w + (1 << (B - 1))).astype(np.uint8)]
    else:
        parts = [np.maximum(w, 0).astype(np.uint8), np.maximum(-w, 0).astype(np.uint8)]
    spread = _bit_spreader(B)
    per_block = C // cpw                               # weights per column block
    nr, cout = w.shape
    full = cout // per_block
    counts = np.zeros((nr, per_block, len(parts), B), dtype=np.int64)
    for k, part in enumerate(parts):
        lanes = spread[part]                           # [rows, Cout] uint64
        body = lanes[:, :full * per_block].reshape(nr, full, per_block).transpose(1, 0, 2)
        for lo in range(0, full, 255):
            summed = np.add.reduce(body[lo:lo + 255], axis=0)       # [rows, per_block]
            counts[:, :, k] += summed.view(np.uint8).reshape(nr, per_block, 8)[..., :B]
        rest = lanes[:, full * per_block:]
        if rest.size:
            counts[:, :rest.shape[1], k] += rest.view(np.uint8).reshape(nr, -1, 8)[..., :B]
    return counts.reshape(nr, C)


# --- SRAM under NeuroSim's counting -------------------------------------------------------
def _sram_neurosim(reads, rows: np.ndarray, n_cols: int) -> None:
    """Each vector's whole block is one read whose every column counts the active rows;
    evaluated numAdd times (chip.activity._read_shape), all-zero vectors included."""
    hist = reads.hist
    active = reads.X[:, rows].sum(axis=1, dtype=np.int64)
    counts = np.bincount(np.minimum(active, hist.bins), minlength=hist.bins + 1)
    hist.counts[:counts.size] += counts * float(n_cols) * float(reads.scale_reads)
