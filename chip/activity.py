"""Trace-accurate activity of the subarrays of one layer (docs/chip-internals.md).

From a layer's quantized weights and input codes: the unrolled weight matrix is cut into
cells (bit slices) and subarrays, the inputs into im2col bit vectors (uint8), and every
read of every subarray is evaluated: the rows a bit vector activates, the conductance each
column presents to its sense amplifier (eNVM: with the position-dependent wire and access
resistance of NeuroSim's GetColumnResistance, which is linear in the active rows, so a sum
of per-cell effective conductances; SRAM: a count of stored 1s), and the ADC levels.

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

from contracts.config import HardwareConfig

__all__ = ["SubArrayActivity", "layer_activity", "unrolled_weights", "input_bit_vectors",
           "cell_levels", "effective_conductance", "NEUROSIM_DIFFERENCES"]

NEUROSIM_DIFFERENCES = {
    "input_vectors_padding": "input vectors = output positions of the padded input; "
                             "NeuroSim uses ((H-K+1)/s)^2 and drops the padded border",
    "partial_read_conductance": "each partial read (rows_per_read rows) is evaluated with "
                                "its own conductance; NeuroSim averages the whole column's "
                                "conductance over numAdd reads",
    "reads_of_unused_rows": "a subarray whose mapped rows fill only part of it reads only "
                            "ceil(used rows / rows_per_read) groups; NeuroSim always reads "
                            "ceil(subarray rows / rows_per_read)",
    "skip_zero_input_reads": "a read whose input bits are all 0 (sequential: a row whose "
                             "input bit is 0) is skipped; NeuroSim converts it at R = inf, "
                             "which its power fits price above a conducting column",
    "cell_wire_pieces": "per-cell wire resistances use the cell width for the row wire and "
                        "its height for the column wire at the node's F (tables §7.4)",
}

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
def input_bit_vectors(layer, config: HardwareConfig, compat: bool = False) -> np.ndarray:
    """[images, vectors * bits, rows] uint8 bit planes of the im2col input (LSB plane first)."""
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
        cols = x.reshape(n, 1, -1)
    else:
        if g.groups != 1:
            raise ValueError(f"layer {g.name!r}: groups={g.groups} is not supported by the "
                             f"activity model yet (only groups=1)")
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
        if compat:
            # NeuroSim V1.4 §6: it consumes ((H-K+1)/s) x ((W-K+1)/s) vectors of the trace
            h, w = g.input_hw
            keep = max(1, ((h - kh + 1) // sh) * ((w - kw + 1) // sw))
        else:
            keep = oh * ow
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
def layer_activity(layer, config: HardwareConfig, row_groups=None, ctx=None
                   ) -> SubArrayActivity:
    """Activity of the subarrays holding ``layer`` (see the module docstring).

    ``row_groups``: lists of unrolled weight-matrix rows mapped together (default: one
    group of all rows). Figures are per image (averaged over the traced images).
    """
    ctx = ctx or _tech(config)
    compat = config.compat == "neurosim-1.4"
    W = unrolled_weights(layer)
    total_rows = W.shape[0]
    if row_groups is None:
        row_groups = [np.arange(total_rows)]
    groups = [np.asarray(gr, dtype=np.intp).ravel() for gr in row_groups]
    for gr in groups:
        if gr.size == 0:
            raise ValueError(f"layer {layer.geometry.name!r}: an empty row group")
        if gr.min() < 0 or gr.max() >= total_rows:
            raise ValueError(f"layer {layer.geometry.name!r}: row group indices must lie in "
                             f"[0, {total_rows}); got [{gr.min()}, {gr.max()}]")
    R, C = config.subarray_rows, config.subarray_cols
    rpr = min(config.rows_per_read, R)
    levels = cell_levels(W, config)
    n_cols = levels.shape[1]
    col_blocks = math.ceil(n_cols / C)
    X = input_bit_vectors(layer, config, compat)                  # [images, bv, rows]
    images, bv = X.shape[0], X.shape[1]
    X = X.reshape(images * bv, total_rows)
    V = X.shape[0]
    binary = bool(ctx.is_sram)                  # SRAM: conductance = count x one unit
    g_unit = (1.0 / (ctx.access_resistance_ohm + ctx.wire_resistance_col_ohm)
              if ctx.is_sram else 0.0)
    g_max_cell = g_unit if binary else max(ctx.cell_conductance_levels_S())
    num_add_full = math.ceil(R / rpr)
    # NeuroSim's GetColumnResistance (ProcessingUnit.cpp), compat: an SRAM column conducts
    # 1/(R_acc + R_col) for every active row of the whole sub-array whatever the stored bit
    # ("weight value do not affect sense energy"), not divided by numAdd; an eNVM column's
    # whole conductance is divided by numAdd (a fraction: the binned float path)
    sram_compat = compat and binary
    integer = binary
    top = R if sram_compat else rpr
    hist = _Histogram(integer=integer, unit_S=g_unit, g_max=top * g_max_cell * 1.0001,
                      bins=top if integer else HIST_BINS)
    kernel = _kernel()
    threads = _threads()
    bin_scale = 1.0 if integer else float(np.float32(hist.bins / hist.g_max))
    row_ones = X.sum(axis=0, dtype=np.int64).astype(np.float64)  # per row, all vectors
    subarrays = 0
    active_sum = 0.0
    reads_max = 0
    used_rows_sum = 0.0
    used_cols_sum = 0.0
    skipped = 0.0
    for gr in groups:
        n = gr.size
        identity = n == total_rows and np.array_equal(gr, np.arange(total_rows))
        Lg = levels if identity else levels[gr]
        Xg = None                                                 # numpy fallback only
        blocks = math.ceil(n / R)
        for b in range(blocks):                                   # subarray row blocks
            lo, hi = b * R, min((b + 1) * R, n)
            nr = hi - lo
            if sram_compat:
                Gb = np.ones(Lg[lo:hi].shape, dtype=np.float32)   # every active row conducts
            elif integer:
                Gb = (Lg[lo:hi] > 0).astype(np.float32)
            elif binary:
                Gb = (Lg[lo:hi] > 0).astype(np.float32) * np.float32(g_unit)
            else:
                Gb = effective_conductance(Lg[lo:hi], ctx, R)
            subarrays += col_blocks
            used_rows_sum += float(nr) * col_blocks
            used_cols_sum += float(n_cols)
            ones = row_ones[gr[lo:hi]]
            active_sum += float(ones.sum()) * col_blocks
            reads_max = max(reads_max, math.ceil(nr / rpr))
            if rpr == 1:
                # sequential: one row per read; each (row, column) value is seen n_r
                # times, zero conductance for the vectors whose input bit is 0.
                hist.add_weighted(Gb.astype(np.float64) * (g_unit if integer else 1.0),
                                  np.broadcast_to(ones[:, None], Gb.shape))
                if compat:
                    # NeuroSim converts every row, input 0 or not (and unused rows)
                    hist.counts[0] += float((V - ones).sum() + (R - nr) * V) * n_cols
                continue
            # NeuroSim (compat): the whole column's conductance / numAdd, evaluated numAdd
            # times, all-zero vectors included. Ours: each partial read of rpr rows, and a read
            # whose input bits are all 0 activates no row and is skipped (its result is
            # known); NeuroSim converts it at R = inf.
            read, scale, weight = ((nr, 1.0 if sram_compat else 1.0 / num_add_full,
                                    float(num_add_full)) if compat else (rpr, 1.0, 1.0))
            if kernel is not None:
                rows_b = np.ascontiguousarray(gr[lo:hi], dtype=np.int32)
                if integer and read <= 65535:
                    # 0/1 cells, exact counts: the byte kernel (bin = count)
                    counts, _ = kernel.column_count_histogram(
                        X, rows_b, Gb.astype(np.uint8), read, hist.bins, compat, threads)
                else:
                    counts, _ = kernel.column_histogram(
                        X, rows_b, np.ascontiguousarray(Gb, dtype=np.float32), read,
                        hist.bins, scale, bin_scale, compat, threads)
                hist.counts[:counts.size] += counts * weight
                continue
            if Xg is None:
                Xg = X if identity else X[:, gr]
            Xb = np.ascontiguousarray(Xg[:, lo:hi], dtype=np.float32)   # [V, nr]
            for q in range(0, nr, read):
                xq = Xb[:, q:q + read]
                _accumulate(hist, xq, Gb[q:q + read], scale, weight)
                if not compat:
                    skipped += float(np.count_nonzero(xq.max(axis=1) == 0)) * n_cols
    hist.counts[0] = max(hist.counts[0] - skipped, 0.0)
    values, counts = hist.result()
    reads_per_bv = num_add_full if compat else reads_max
    full = rpr * g_max_cell
    L = 2 ** (config.adc_bits if config.operation_mode == "parallel" else config.cell_bits)
    if counts.sum() > 0 and full > 0:
        codes = np.minimum(np.floor(values / full * L), L - 1)
        code_mean = float(np.sum(codes * counts) / counts.sum())
    else:
        code_mean = 0.0
    return SubArrayActivity(
        subarrays=subarrays,
        bit_vectors_per_subarray=float(bv),
        reads_per_subarray=float(bv * reads_per_bv),
        active_row_fraction=active_sum / (images * bv * R * subarrays) if subarrays else 0.0,
        column_conductance_S=values,
        column_conductance_count=counts / images,
        adc_code_mean=code_mean,
        used_rows=used_rows_sum / subarrays if subarrays else 0.0,
        used_cols=used_cols_sum / subarrays if subarrays else 0.0,
        images=images,
    )


def _accumulate(hist: _Histogram, Xb: np.ndarray, Gb: np.ndarray, scale: float,
                weight: float) -> None:
    """Histogram of the column conductances Xb @ Gb (one read group), chunked over vectors."""
    V = Xb.shape[0]
    n_cols = Gb.shape[1]
    step = max(16, CHUNK_ELEMENTS // max(n_cols, 1))
    Xb = np.ascontiguousarray(Xb)
    Gb = np.ascontiguousarray(Gb)
    for s in range(0, V, step):
        prod = Xb[s:s + step] @ Gb                                # [v, cols]
        if scale != 1.0:
            prod *= np.float32(scale)
        hist.add(prod, weight)
