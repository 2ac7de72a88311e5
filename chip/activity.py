"""Trace-accurate activity of the subarrays of one layer (docs/chip-internals.md).

From a layer's quantized weights and input codes: the unrolled weight matrix is cut into
cells (bit slices) and subarrays, the inputs into im2col bit vectors (uint8), and every
read of every subarray is evaluated: the rows a bit vector activates, the conductance each
column presents to its sense amplifier (eNVM: with the position-dependent wire and access
resistance of NeuroSim's GetColumnResistance, which is linear in the active rows, so a sum
of per-cell effective conductances; SRAM: a count of stored 1s), and the ADC levels.

A grouped or depthwise convolution is read as the floorplan places it (chip.mapping.
block_layout): its groups packed block-diagonally into sub-arrays, each group's rows driven by
its own input channels and holding its own weight block, the cells between the blocks at the
lowest level.

The per-read sums go straight into the histogram in from_neurosim's C++ kernel
(activity_kernels.cpp: sums over the active rows only, byte counters for 0/1 cells, once
per input pattern when a read spans <= 12 rows, threads over vectors; docs/performance.md).
Without the compiled module the same histogram comes from numpy products over whole bit
planes (slower; SRAM counts identical, conductance sums within float rounding). Chip.py never
imports torch; the Python loops run over row groups and subarray row blocks only.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import numpy as np

from chip.compat import quirk_on
from chip.mapping import groups_per_subarray, neurosim_input_vectors
from contracts.config import HardwareConfig

__all__ = ["SubArrayActivity", "layer_activity", "unrolled_weights", "input_bit_vectors",
           "cell_levels", "effective_conductance"]

HIST_BINS = 4096           # conductance histogram resolution (float path): < 0.03 % of full scale
CHUNK_ELEMENTS = 1 << 22   # bit-vector chunking: ~16 MB of float32 per product block


@dataclass
class SubArrayActivity:
    """Aggregate activity of all subarrays of one layer, per image (contract)."""

    subarrays: int
    bit_vectors_per_subarray: float
    reads_per_subarray: float
    active_row_fraction: float
    column_conductance_S: np.ndarray
    column_conductance_count: np.ndarray
    adc_code_mean: float
    used_rows: float
    used_cols: float
    images: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def conversions(self) -> float:
        """ADC conversions of all subarrays per image."""
        return float(np.sum(self.column_conductance_count))


@functools.lru_cache(maxsize=1)
def _kernel():
    """from_neurosim's compiled module with the column-histogram kernels (activity_kernels.cpp),
    or None: then the numpy products below are used (same results, slower)."""
    try:
        from from_neurosim import FormulaBindings
    except ImportError:
        return None
    if not hasattr(FormulaBindings, "column_count_histogram"):
        return None
    return FormulaBindings


def _threads() -> int:
    """Cores this process may use (the kernel splits the bit vectors over them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                                      # not on Linux
        return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=16)
def _tech(config: HardwareConfig):
    from chip.technology import TechContext
    return TechContext(config)


# --- weights --------------------------------------------------------------------------------
def unrolled_weights(layer) -> np.ndarray:
    """[rows = Cin/groups K K, Cout] integer weight codes, row = c K K + kh K + kw."""
    w = np.asarray(layer.weight_codes)
    return w.reshape(w.shape[0], -1).T


def cell_levels(weights: np.ndarray, config: HardwareConfig) -> np.ndarray:
    """Stored level of every cell: [rows, Cout * cells_per_weight], column = o cpw + slice.

    offset: level = code + 2^(B-1) sliced MSB first into cell_bits pieces (NeuroSim §6);
    differential: |positive part| slices, then |negative part| slices.
    """
    B, cb = config.weight_bits, config.cell_bits
    slices = -(-B // cb)
    mask = (1 << cb) - 1
    dtype = np.uint8 if B <= 8 else np.uint16 if B <= 16 else np.uint32
    shifts = (cb * np.arange(slices - 1, -1, -1)).astype(dtype)
    w = np.asarray(weights)
    # the narrowest signed type that holds code + 2^(B-1) and -code: int64 temporaries of a
    # large fc layer cost 8 bytes per weight (64 MB for VGG-8's fc1)
    wide = np.int16 if B <= 8 else np.int32 if B <= 16 else np.int64
    if config.weight_encoding == "offset":
        parts = [(w.astype(wide) + wide(1 << (B - 1))).astype(dtype)]
    else:
        wi = w.astype(wide)
        parts = [np.maximum(wi, 0).astype(dtype), np.maximum(-wi, 0).astype(dtype)]
    if cb == 1 and B == 8 and len(parts) == 1:
        # 8 one-bit slices of one byte: unpackbits' output is the result (no extra copy,
        # which for VGG-8's fc1 is 64 MB)
        return np.unpackbits(np.ascontiguousarray(parts[0])[..., None], axis=-1).reshape(
            w.shape[0], -1)
    out = np.empty(w.shape + (len(parts) * slices,), dtype=np.uint8)
    for k, p in enumerate(parts):                       # 1 or 2 parts (sign halves)
        if cb == 1 and dtype is np.uint8:
            # 1-bit cells: unpackbits is the MSB-first slicing, ~10x faster than the shifts
            bits = np.unpackbits(np.ascontiguousarray(p)[..., None], axis=-1)
            out[..., k * slices:(k + 1) * slices] = bits[..., 8 - B:]
        else:
            out[..., k * slices:(k + 1) * slices] = (p[..., None] >> shifts) & dtype(mask)
    return out.reshape(w.shape[0], -1)


def effective_conductance(levels: np.ndarray, ctx, subarray_rows: int,
                          subarray_cols: int | None = None) -> np.ndarray:
    """Per-cell conductance seen by the column's sense amplifier (float32), for the cells
    ``levels`` of one subarray row block (row i of the block = row i of the subarray;
    column j -> j mod subarray_cols).

    eNVM (NeuroSim GetColumnResistance): 1 / (1/G_cell + (j+1) R_row + (N-i) R_col + R_acc).
    SRAM: a stored 1 conducts through its access path and one column-wire piece,
    1 / (R_acc + R_col); a 0 does not.
    """
    C = subarray_cols or ctx.config.subarray_cols
    nr, n = levels.shape
    if nr > subarray_rows:
        raise ValueError(f"{nr} rows do not fit a subarray of {subarray_rows} rows")
    if ctx.is_sram:
        g_on = 1.0 / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm)
        return np.where(levels > 0, np.float32(g_on), np.float32(0.0))
    table = _conductance_table(ctx, subarray_rows, C)           # [levels, N, C]
    reps = -(-n // C)
    if table.shape[0] == 2:
        e0 = np.tile(table[0, :nr], (1, reps))[:, :n]
        e1 = np.tile(table[1, :nr], (1, reps))[:, :n]
        return np.where(levels > 0, e1, e0)
    base = np.arange(nr)[:, None] * C + (np.arange(n) % C)[None, :]
    return table.reshape(-1)[levels.astype(np.intp) * (subarray_rows * C) + base]


@functools.lru_cache(maxsize=8)
def _conductance_table(ctx, rows: int, cols: int) -> np.ndarray:
    """G_eff[level, i, j] of one subarray (NeuroSim V1.4 §5 GetColumnResistance)."""
    g = np.asarray(ctx.cell_conductance_levels_S(), dtype=np.float64)
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    wire = (j + 1) * ctx.wire_resistance_row_ohm + (rows - i) * ctx.wire_resistance_col_ohm
    access = 0.0 if ctx.crossbar else ctx.access_resistance_ohm
    r = 1.0 / g[:, None, None] + wire[None] + access
    return (1.0 / r).astype(np.float32)


# --- inputs ---------------------------------------------------------------------------------
def input_bit_vectors(layer, config: HardwareConfig, neurosim: bool = False) -> np.ndarray:
    """[images, vectors * bits, rows] uint8 bit planes of the im2col input (LSB plane first);
    ``neurosim``: only the vectors NeuroSim V1.4 consumes (padding ignored)."""
    g = layer.geometry
    bits = g.input_bits
    # the smallest unsigned type that holds a code: the im2col copy below is the largest
    # array of the layer (vectors x rows), so 1 byte per entry instead of int64's 8
    dt = np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32
    x = np.asarray(layer.input_codes)
    if g.input_signed:
        x = (x.astype(np.int64) & ((1 << bits) - 1)).astype(dt)     # two's complement code
    else:
        x = x.astype(dt, copy=False)
    n = x.shape[0]
    if g.kind == "linear":
        cols = x.reshape(n, g.tokens, -1)               # one vector per token
    else:
        # all input channels: a grouped layer's group j reads rows [j R_g, (j+1) R_g)
        ph, pw = g.padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        kh, kw = g.kernel_size
        dh, dw = g.dilation
        sh, sw = g.stride
        win = np.lib.stride_tricks.sliding_window_view(
            xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
        win = win[:, :, ::sh, ::sw, ::dh, ::dw]                 # [n, C, OH, OW, kh, kw]
        oh, ow = g.output_hw
        win = win[:, :, :oh, :ow]
        # NeuroSim consumes only its own count of the trace's vectors (chip.mapping)
        keep = neurosim_input_vectors(g) if neurosim else oh * ow
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh * ow, -1)
        cols = cols[:, :min(keep, cols.shape[1])]
    planes = np.empty((n, cols.shape[1], bits, cols.shape[-1]), dtype=np.uint8)
    for b in range(bits):                                       # one pass per bit plane
        np.bitwise_and(np.right_shift(cols, b), 1, out=planes[:, :, b], casting="unsafe")
    return planes.reshape(n, -1, cols.shape[-1])


# --- histogram accumulation -----------------------------------------------------------------
class _Histogram:
    """Integer-count histogram (binary cells) or binned float histogram of conductances."""

    def __init__(self, integer: bool, unit_S: float, g_max: float, bins: int = HIST_BINS):
        self.integer = integer
        self.unit = unit_S
        self.g_max = max(g_max, 1e-30)
        self.bins = bins
        self.counts = np.zeros(bins + 1, dtype=np.float64)
        self.code_sum = 0.0

    def add(self, values: np.ndarray, weight: float = 1.0) -> None:
        v = values.ravel()
        if self.integer:
            idx = v.astype(np.uint8 if self.bins < 256 else np.int32)   # exact small ints
            c = np.bincount(idx, minlength=self.bins + 1)
            if c.size > self.bins + 1:
                self._grow(c.size - 1)
            self.counts[:c.size] += c * weight
        else:
            # bin k holds [k, k+1) x width (values never exceed g_max; bin 0 ~ exactly 0,
            # since the smallest non-zero conductance, one off cell, is far above a width)
            idx = (v * np.float32(self.bins / self.g_max)).astype(np.int32)
            self.counts += np.bincount(idx, minlength=self.bins + 1)[:self.bins + 1] * weight

    def add_weighted(self, values: np.ndarray, weights: np.ndarray) -> None:
        """Histogram entries ``values`` each seen ``weights`` times."""
        v, w = values.ravel(), weights.ravel().astype(np.float64)
        if self.integer:
            idx = np.rint(v / self.unit).astype(np.intp) if self.unit else np.zeros_like(
                v, dtype=np.intp)
            c = np.bincount(idx, weights=w)
            if c.size > self.bins + 1:
                self._grow(c.size - 1)
            self.counts[:c.size] += c
            return
        idx = np.minimum((v * (self.bins / self.g_max)).astype(np.intp), self.bins)
        self.counts += np.bincount(idx, weights=w, minlength=self.bins + 1)[:self.bins + 1]

    def _grow(self, bins: int) -> None:
        extra = bins + 1 - self.counts.size
        self.counts = np.concatenate([self.counts, np.zeros(extra)])
        self.bins = bins

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        keep = self.counts > 0
        if self.integer:
            values = np.arange(self.counts.size, dtype=np.float64) * self.unit
        else:
            # bin k >= 1 holds [k, k+1) x width: its centre; bin 0 is taken as exactly 0
            width = self.g_max / self.bins
            values = np.arange(self.counts.size) * width
            values[1:] += 0.5 * width
        return values[keep], self.counts[keep]


# --- the layer ------------------------------------------------------------------------------
@dataclass
class _Reads:
    """The read model of one layer: constants, the histogram, and running counts."""

    X: np.ndarray                   # [images x bit-vectors, rows] input bits
    levels: np.ndarray              # [rows, cell columns] stored levels
    ctx: object
    rows_per_read: int
    neurosim: bool                  # NeuroSim's counting (quirk activity_counting)
    hist: _Histogram
    g_unit: float
    scale_reads: int                # NeuroSim's numAdd of a full sub-array
    kernel: object
    row_ones: np.ndarray            # input ones per row over all vectors
    subarrays: int = 0
    active_sum: float = 0.0
    reads_max: int = 0
    used_rows_sum: float = 0.0
    used_cols_sum: float = 0.0
    skipped: float = 0.0

    @property
    def sram_neurosim(self) -> bool:
        """NeuroSim's GetColumnResistance (ProcessingUnit.cpp): an SRAM column conducts
        1/(R_acc + R_col) for every active row of the whole sub-array whatever the stored bit
        ("weight value do not affect sense energy"), not divided by numAdd."""
        return self.neurosim and self.hist.integer


def _checked_groups(layer, row_groups, total_rows: int) -> list[np.ndarray]:
    if row_groups is None:
        row_groups = [np.arange(total_rows)]
    groups = [np.asarray(gr, dtype=np.intp).ravel() for gr in row_groups]
    for gr in groups:
        if gr.size == 0:
            raise ValueError(f"layer {layer.geometry.name!r}: an empty row group")
        if gr.min() < 0 or gr.max() >= total_rows:
            raise ValueError(f"layer {layer.geometry.name!r}: row group indices must lie in "
                             f"[0, {total_rows}); got [{gr.min()}, {gr.max()}]")
    return groups


def _check_one_row_group(layer, groups: list[np.ndarray], rows: int) -> None:
    """A grouped layer is mapped conventionally: one row group of all its rows."""
    if len(groups) != 1 or not np.array_equal(groups[0], np.arange(rows)):
        raise ValueError(f"layer {layer.geometry.name!r}: a grouped convolution (groups="
                         f"{layer.geometry.groups}) takes one row group of all its {rows} rows "
                         f"(conventional mapping), not {len(groups)} group(s)")


def _reads(layer, config: HardwareConfig, ctx, levels: np.ndarray) -> tuple[_Reads, int, int]:
    """(read model, images, bit-vectors per image) of a layer."""
    neurosim = quirk_on(config, "activity_counting")
    R = config.subarray_rows
    rpr = min(config.rows_per_read, R)
    X = input_bit_vectors(layer, config, neurosim)                 # [images, bv, rows]
    images, bv = X.shape[0], X.shape[1]
    X = X.reshape(images * bv, X.shape[2])
    binary = bool(ctx.is_sram)                  # SRAM: conductance = count x one unit
    g_unit = (1.0 / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm)
              if binary else 0.0)
    g_max_cell = g_unit if binary else max(ctx.cell_conductance_levels_S())
    # an eNVM column's conductance is binned (a float histogram); SRAM counts are exact
    top = R if neurosim and binary else rpr
    hist = _Histogram(integer=binary, unit_S=g_unit, g_max=top * g_max_cell * 1.0001,
                      bins=top if binary else HIST_BINS)
    row_ones = X.sum(axis=0, dtype=np.int64).astype(np.float64)
    return _Reads(X, levels, ctx, rpr, neurosim, hist, g_unit, math.ceil(R / rpr), _kernel(),
                  row_ones), images, bv


def _block_conductance(reads: _Reads, levels: np.ndarray, subarray_rows: int) -> np.ndarray:
    """Per-cell conductance of one sub-array row block (SRAM: unit counts, as the uint8 0/1
    cells the count kernel takes, without a float copy)."""
    if reads.sram_neurosim:
        return np.ones(levels.shape, dtype=np.uint8)              # every active row conducts
    if reads.hist.integer:
        return (levels > 0).view(np.uint8)
    return effective_conductance(levels, reads.ctx, subarray_rows)


def _group(reads: _Reads, gr: np.ndarray, config: HardwareConfig) -> None:
    """Every read of the sub-arrays holding the rows ``gr`` of a dense layer."""
    total_rows = reads.X.shape[1]
    identity = gr.size == total_rows and np.array_equal(gr, np.arange(total_rows))
    _place(reads, gr, reads.levels if identity else reads.levels[gr], config, identity)


def _weight_blocks(layer, levels: np.ndarray, config: HardwareConfig):
    """(input rows, stored levels) of each block of a grouped layer (chip.mapping.
    block_layout): ``n`` groups block-diagonally in one sub-array, the cells between the
    group blocks at level 0; a group too large to share a sub-array is its own block."""
    g = layer.geometry
    n, rg = groups_per_subarray(g, config), g.rows
    cg = levels.shape[1] // g.groups
    packs = -(-g.groups // n)
    by_group = np.zeros((packs * n, rg, cg), dtype=levels.dtype)
    by_group[:g.groups] = levels.reshape(rg, g.groups, cg).transpose(1, 0, 2)
    by_group = by_group.reshape(packs, n, rg, cg)
    eye = np.eye(n, dtype=levels.dtype)
    # [pack, group i, row, group j, col]: group i's weights where i == j, else 0
    diag = (by_group[:, :, :, None, :] * eye[None, :, None, :, None]).reshape(
        packs, n * rg, n * cg)
    for p in range(packs):                                   # one block per sub-array pack
        k = min(n, g.groups - p * n)
        yield np.arange(p * n * rg, (p * n + k) * rg), diag[p, :k * rg, :k * cg]


def _place(reads: _Reads, gr: np.ndarray, Lg: np.ndarray, config: HardwareConfig,
           identity: bool = False) -> None:
    """Every read of the sub-arrays holding the levels ``Lg``, whose rows are driven by the
    input rows ``gr``, into the histogram."""
    R, n_cols = config.subarray_rows, Lg.shape[1]
    col_blocks = math.ceil(n_cols / config.subarray_cols)
    n = gr.size
    Xg = None                                                     # numpy fallback only
    for lo in range(0, n, R):                                     # sub-array row blocks
        hi = min(lo + R, n)
        ones = reads.row_ones[gr[lo:hi]]
        if reads.rows_per_read == 1 and not reads.hist.integer:
            # one row per read, binned conductances: straight from the levels (same bins)
            _count_block(reads, hi - lo, n_cols, col_blocks, ones)
            _sequential_levels(reads, Lg[lo:hi], ones, R)
            continue
        Gb = _block_conductance(reads, Lg[lo:hi], R)
        reads.subarrays += col_blocks
        reads.used_rows_sum += float(hi - lo) * col_blocks
        reads.used_cols_sum += float(n_cols)
        reads.active_sum += float(ones.sum()) * col_blocks
        reads.reads_max = max(reads.reads_max, math.ceil((hi - lo) / reads.rows_per_read))
        if reads.rows_per_read == 1:
            _sequential_block(reads, Gb, ones, R - (hi - lo))
        elif reads.kernel is not None:
            _kernel_block(reads, Gb, np.ascontiguousarray(gr[lo:hi], dtype=np.int32))
        else:
            if Xg is None:
                Xg = reads.X if identity else reads.X[:, gr]
            _numpy_block(reads, Gb, np.ascontiguousarray(Xg[:, lo:hi], dtype=np.float32))


def _count_block(reads: _Reads, rows: int, n_cols: int, col_blocks: int,
                 ones: np.ndarray) -> None:
    """The running counts of one sub-array row block (as _place keeps them)."""
    reads.subarrays += col_blocks
    reads.used_rows_sum += float(rows) * col_blocks
    reads.used_cols_sum += float(n_cols)
    reads.active_sum += float(ones.sum()) * col_blocks
    reads.reads_max = max(reads.reads_max, math.ceil(rows / reads.rows_per_read))


@functools.lru_cache(maxsize=8)
def _bin_table(ctx, rows: int, cols: int, scale: float, bins: int) -> np.ndarray:
    """[level, row, col] histogram bin of each cell position's effective conductance: the
    bins _Histogram.add_weighted gives the values of effective_conductance."""
    table = _conductance_table(ctx, rows, cols).astype(np.float64)
    return np.minimum((table * scale).astype(np.intp), bins)


def _sequential_levels(reads: _Reads, levels: np.ndarray, ones: np.ndarray,
                       subarray_rows: int) -> None:
    """_sequential_block for binned (eNVM) conductances without per-cell float arrays: a
    cell's bin depends on its level and its (row, column mod subarray_cols) position only, so
    the cells are counted per level and position, and each position's bin weighted by the
    count times its row's input ones (integer counts: the same histogram exactly)."""
    hist, ctx = reads.hist, reads.ctx
    nr, n = levels.shape
    cols = ctx.config.subarray_cols
    table = _bin_table(ctx, subarray_rows, cols, hist.bins / hist.g_max, hist.bins)[:, :nr]
    count = np.zeros(table.shape, dtype=np.float64)            # [level, row, position]
    full = n // cols
    if full:                                                    # whole sub-array widths
        blocks = levels[:, :full * cols].reshape(nr, full, cols)
        if table.shape[0] == 2:
            count[1] = blocks.sum(axis=1, dtype=np.int64)
        else:
            for level in range(1, table.shape[0]):
                count[level] = (blocks == level).sum(axis=1, dtype=np.int64)
        count[0] = full - count[1:].sum(axis=0)
    rest = n - full * cols
    if rest:                                                    # a part-filled last width
        tail = levels[:, full * cols:]
        for level in range(table.shape[0]):
            count[level, :, :rest] += tail == level
    count *= ones.astype(np.float64)[None, :, None]
    nb = hist.bins + 1
    hist.counts += np.bincount(table.ravel(), weights=count.ravel(), minlength=nb)[:nb]
    if reads.neurosim:
        V = reads.X.shape[0]
        hist.counts[0] += float((V - ones).sum() + (subarray_rows - nr) * V) * n


def _sequential_block(reads: _Reads, Gb: np.ndarray, ones: np.ndarray, unused_rows: int) -> None:
    """One row per read: each (row, column) value is seen as often as the row's input bit
    is 1 (a 0 input reads zero conductance)."""
    hist = reads.hist
    hist.add_weighted(Gb.astype(np.float64) * (reads.g_unit if hist.integer else 1.0),
                      np.broadcast_to(ones[:, None], Gb.shape))
    if reads.neurosim:
        # NeuroSim converts every row, input 0 or not (and unused rows)
        V = reads.X.shape[0]
        hist.counts[0] += float((V - ones).sum() + unused_rows * V) * Gb.shape[1]


def _read_shape(reads: _Reads, rows: int) -> tuple[int, float, float]:
    """(rows per read, conductance scale, weight of a read). NeuroSim (quirk
    activity_counting): the whole column's conductance / numAdd, evaluated numAdd times,
    all-zero vectors included. Ours: each partial read of rows_per_read rows; a read whose
    input bits are all 0 activates no row and is skipped (its result is known)."""
    if reads.neurosim:
        scale = 1.0 if reads.sram_neurosim else 1.0 / reads.scale_reads
        return rows, scale, float(reads.scale_reads)
    return reads.rows_per_read, 1.0, 1.0


def _kernel_block(reads: _Reads, Gb: np.ndarray, rows: np.ndarray) -> None:
    """The C++ kernel (activity_kernels.cpp): byte counts for 0/1 cells, else binned sums."""
    hist = reads.hist
    read, scale, weight = _read_shape(reads, rows.size)
    if hist.integer and read <= 65535:
        counts, _ = reads.kernel.column_count_histogram(
            reads.X, rows, np.ascontiguousarray(Gb, dtype=np.uint8), read, hist.bins,
            reads.neurosim, _threads())
    else:
        bin_scale = 1.0 if hist.integer else float(np.float32(hist.bins / hist.g_max))
        counts, _ = reads.kernel.column_histogram(
            reads.X, rows, np.ascontiguousarray(Gb, dtype=np.float32), read, hist.bins,
            scale, bin_scale, reads.neurosim, _threads())
    hist.counts[:counts.size] += counts * weight


def _numpy_block(reads: _Reads, Gb: np.ndarray, Xb: np.ndarray) -> None:
    """The same histogram from numpy products over whole bit planes (no compiled kernel)."""
    read, scale, weight = _read_shape(reads, Xb.shape[1])
    for q in range(0, Xb.shape[1], read):
        xq = Xb[:, q:q + read]
        _accumulate(reads.hist, xq, Gb[q:q + read], scale, weight)
        if not reads.neurosim:
            reads.skipped += float(np.count_nonzero(xq.max(axis=1) == 0)) * Gb.shape[1]


def layer_activity(layer, config: HardwareConfig, row_groups=None, ctx=None
                   ) -> SubArrayActivity:
    """Activity of the subarrays holding ``layer`` (see the module docstring).

    ``row_groups``: lists of unrolled weight-matrix rows mapped together (default: one
    group of all rows). Figures are per image (averaged over the traced images).
    """
    ctx = ctx or _tech(config)
    W = unrolled_weights(layer)
    groups = _checked_groups(layer, row_groups, W.shape[0])
    reads, images, bv = _reads(layer, config, ctx, cell_levels(W, config))
    if layer.geometry.groups > 1:
        _check_one_row_group(layer, groups, W.shape[0])
        for rows, block in _weight_blocks(layer, reads.levels, config):
            _place(reads, rows, block, config)
    else:
        for gr in groups:
            _group(reads, gr, config)
    hist = reads.hist
    hist.counts[0] = max(hist.counts[0] - reads.skipped, 0.0)
    values, counts = hist.result()
    S, R = reads.subarrays, config.subarray_rows
    return SubArrayActivity(
        subarrays=S,
        bit_vectors_per_subarray=float(bv),
        reads_per_subarray=float(bv * (reads.scale_reads if reads.neurosim else
                                       reads.reads_max)),
        active_row_fraction=reads.active_sum / (images * bv * R * S) if S else 0.0,
        column_conductance_S=values,
        column_conductance_count=counts / images,
        adc_code_mean=_code_mean(values, counts, reads, config),
        used_rows=reads.used_rows_sum / S if S else 0.0,
        used_cols=reads.used_cols_sum / S if S else 0.0,
        images=images,
    )


def _code_mean(values: np.ndarray, counts: np.ndarray, reads: _Reads,
               config: HardwareConfig) -> float:
    """Mean ADC (or sense-amplifier) output code over all conversions."""
    ctx = reads.ctx
    g_max_cell = reads.g_unit if ctx.is_sram else max(ctx.cell_conductance_levels_S())
    full = reads.rows_per_read * g_max_cell
    L = 2 ** (config.adc_bits if config.operation_mode == "parallel" else config.cell_bits)
    if counts.sum() > 0 and full > 0:
        codes = np.minimum(np.floor(values / full * L), L - 1)
        return float(np.sum(codes * counts) / counts.sum())
    return 0.0


def _accumulate(hist: _Histogram, Xb: np.ndarray, Gb: np.ndarray, scale: float,
                weight: float) -> None:
    """Histogram of the column conductances Xb @ Gb (one read group), chunked over vectors."""
    V = Xb.shape[0]
    n_cols = Gb.shape[1]
    step = max(16, CHUNK_ELEMENTS // max(n_cols, 1))
    Xb = np.ascontiguousarray(Xb)
    Gb = np.ascontiguousarray(Gb, dtype=np.float32)
    for s in range(0, V, step):
        prod = Xb[s:s + step] @ Gb                                # [v, cols]
        if scale != 1.0:
            prod *= np.float32(scale)
        hist.add(prod, weight)
