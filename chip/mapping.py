"""Mapping of a network's layers onto Chip -> Tile -> PE -> SubArray.

Each layer's weights are unrolled to a matrix of ``rows = Cin/groups * K * K`` by
``cols = Cout * cells_per_weight`` cells (row index c*K*K + kh*K + kw). A grouped or depthwise
convolution is G such blocks, one per group, each reading only its own input channels; they
are packed block-diagonally into sub-arrays (:func:`block_layout`, docs/chip-internals.md).
The chip holds two tile flavours, as DNN+NeuroSim V1.4 does (reference/neurosim-v1.4.md §7):

- conventional mapping (CM): a tile is a square grid of PEs, a PE a square grid of subarrays;
  the unrolled matrix is cut into tiles, tiles into PEs, PEs into subarrays;
- novel mapping (NM): a tile holds K*K PEs, PE k holding the Cin x Cout slice of kernel
  position k (so the K*K partial sums of a window are added by the tile's adder tree).

The floorplan search (tile size for CM, PE size for NM and CM) keeps the size with the best
memory utilization, then duplicates small layers at PE and subarray level and, when pipelined,
replicates tiles so fast and slow layers balance (NeuroSim's pipeline speed-up).

Sizes are handled as (rows, cols) pairs so non-square subarrays work: a PE of ``n`` subarrays
per side is ``n*subarray_rows`` by ``n*subarray_cols`` cells. NeuroSim's conventions (quirks
in chip/compat.py, all on with ``compat="neurosim-1.4"``): sizes square in cells, input
vectors that ignore zero padding, operations counted from the input size; together they
reproduce NeuroSim's printed floorplan and figures.

Loops run over layers and candidate sizes only.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from contracts.config import ConfigError, HardwareConfig
from contracts.trace import LayerGeometry, Trace

__all__ = ["LayerMapping", "NetworkMapping", "map_network", "row_groups", "pipeline_speedups",
           "neurosim_input_vectors", "priced_trace", "groups_per_subarray", "block_layout"]


@dataclass
class LayerMapping:
    """Where one layer lives and how it is duplicated."""

    index: int
    name: str
    kind: str
    novel: bool                       # NM tile (K*K PEs) or CM tile
    weight_rows: int                  # unrolled rows (Cin/groups*K*K; grouped: of one block)
    weight_cols: int                  # Cout * cells per weight (grouped: all blocks, padded)
    tiles_row: int                    # tiles along the rows (incl. pipeline replication)
    tiles_col: int
    pe_grid: tuple[int, int]          # PEs per tile (rows, cols); NM: (K*K, 1)
    pe_rows_cells: int                # cells per PE (rows, cols)
    pe_cols_cells: int
    subarrays_per_pe: tuple[int, int]  # subarray grid in a PE (rows, cols)
    pe_dup: tuple[int, int]           # PE-level duplication (rows, cols)
    subarray_dup: tuple[int, int]     # subarray-level duplication (rows, cols)
    pipeline_speedup: int             # target speed-up from pipeline balance
    speedup: int                      # achieved speed-up (latency divisor)
    utilization: float                # mapped weight cells / allocated cells of its tiles
    input_vectors: int                # per image (ours: output positions; compat: NeuroSim's)
    ops: int                          # operations per image (2 per MAC)
    row_groups: list[np.ndarray] = field(repr=False, default_factory=list)
    weight_subarrays: int = 0         # subarrays holding one copy of the weights
    used_subarrays: int = 0           # subarrays holding weights, all copies
    used_pes: int = 0                 # PEs holding weights (all tiles of the layer)
    pe_row_blocks: int = 1            # PEs a copy spans along rows (partial sums to add)
    kernel_positions: int = 1         # K*K (NM) or 1
    blocks: int = 1                   # weight blocks side by side, each with its own inputs
    block_cols: int = 0               # cell columns of one block (0: all of weight_cols)
    input_rows: int = 0               # distinct input rows per vector (Cin*K*K; 0: weight_rows)

    @property
    def tiles(self) -> int:
        return self.tiles_row * self.tiles_col

    def input_col_blocks(self, width: int) -> int:
        """Deliveries of the input rows to units ``width`` cells wide: a dense layer sends its
        rows to every column block; a grouped layer's blocks each get their own rows, once per
        column block a block spans (ours)."""
        cols = self.block_cols or self.weight_cols
        return self.blocks * max(1, math.ceil(cols / max(1, width)))

    def blocks_per(self, width: int) -> int:
        """Weight blocks (each with its own input rows) one unit ``width`` cells wide holds:
        1 for a dense layer."""
        cols = self.block_cols or self.weight_cols
        return max(1, min(self.blocks, width // max(1, cols)))

    @property
    def tile_row_blocks(self) -> int:
        """Tiles one copy of the weights spans along the rows (global accumulation)."""
        return max(1, self.tiles_row // max(1, math.ceil(self.pipeline_speedup / max(
            1, self.pe_dup[0] * self.pe_dup[1] * self.subarray_dup[0] * self.subarray_dup[1]))))


@dataclass
class NetworkMapping:
    """The chip floorplan: tile/PE sizes, per-layer mappings, totals."""

    layers: list[LayerMapping]
    subarray_rows: int
    subarray_cols: int
    cm_tile_cells: tuple[int, int]    # CM tile size in cells (rows, cols)
    cm_pe_cells: tuple[int, int]      # CM PE size in cells
    nm_pe_cells: tuple[int, int]      # NM PE size in cells (0, 0 when no NM layer)
    nm_pes_per_tile: int              # K*K of the NM layers (0 when none)
    speedup_degree: int               # pipeline speed-up degree actually used

    @property
    def cm_pes_per_tile_side(self) -> int:
        return max(1, math.ceil(self.cm_tile_cells[0] / max(1, self.cm_pe_cells[0])))

    @property
    def num_tiles(self) -> int:
        return sum(m.tiles for m in self.layers)

    @property
    def num_tiles_cm(self) -> int:
        return sum(m.tiles for m in self.layers if not m.novel)

    @property
    def num_tiles_nm(self) -> int:
        return sum(m.tiles for m in self.layers if m.novel)

    @property
    def tile_grid(self) -> tuple[int, int]:
        """Tiles arranged as rows x cols, as square as possible (NeuroSim's numTileRow/Col)."""
        n = self.num_tiles
        rows = math.ceil(math.sqrt(n))
        return rows, math.ceil(n / rows)

    @property
    def utilization(self) -> float:
        """Whole-chip memory utilization: tile-weighted mean of the layer utilizations."""
        total = self.num_tiles
        return sum(m.tiles * m.utilization for m in self.layers) / total if total else 0.0

    @property
    def ops_per_image(self) -> int:
        return sum(m.ops for m in self.layers)

    def summary_lines(self) -> list[str]:
        lines = [f"CM tile {self.cm_tile_cells[0]}x{self.cm_tile_cells[1]}, "
                 f"CM PE {self.cm_pe_cells[0]}x{self.cm_pe_cells[1]}"]
        if self.nm_pes_per_tile:
            lines.append(f"NM tile {self.nm_pes_per_tile}x{self.nm_pe_cells[0]}x"
                         f"{self.nm_pe_cells[1]}")
        lines.append(f"subarray {self.subarray_rows}x{self.subarray_cols}")
        return lines


# --------------------------------------------------------------------------------------------
def _pow2_ceil(x: float) -> int:
    """Smallest power of two >= x (x > 0)."""
    return 1 << max(0, math.ceil(math.log2(x))) if x > 1 else 1


def _cdiv(a: float, b: float) -> int:
    return int(math.ceil(a / b))


def _dup(n_avail: int, n_need: int) -> int:
    """How many copies fit: floor(available / needed), at least 1 (NeuroSim's dup rule)."""
    return max(1, n_avail // max(1, n_need))


def row_groups(g: LayerGeometry, novel: bool, neurosim_order: bool = False
               ) -> list[np.ndarray]:
    """Unrolled-row indices mapped together (contract: chip/activity.py). Conventional: all
    rows in one group; novel: one group per kernel position k, rows c*K*K + k (ours: the
    PyTorch row order). ``neurosim_order`` (quirk novel_mapping_row_blocks): NeuroSim's
    ReshapeArray/ReshapeInput (Chip.cpp) give PE k the contiguous rows k*Cin ... (k+1)*Cin - 1
    instead (it assumes the row order k*Cin + c; reference §9)."""
    kk = g.kernel_size[0] * g.kernel_size[1]
    if not novel or kk == 1:
        return [np.arange(g.rows, dtype=np.int64)]
    cin = g.in_channels // g.groups
    if neurosim_order:
        return [np.arange(k * cin, (k + 1) * cin, dtype=np.int64) for k in range(kk)]
    base = np.arange(cin, dtype=np.int64) * kk
    return [base + k for k in range(kk)]


def groups_per_subarray(g: LayerGeometry, config: HardwareConfig) -> int:
    """Groups of a grouped convolution one sub-array holds, block-diagonally: as many
    ``Cin/G*K*K`` x ``Cout/G*cells_per_weight`` blocks as fit along both its rows and its
    columns (at least 1: a larger group spans several sub-arrays like a dense layer); 1 for
    ``groups == 1``. Ours: NeuroSim V1.4 has no groups, MNSIM 2.0 neither; CiMLoop leaves the
    group dimension G to its mapper (docs/chip-internals.md)."""
    if g.groups == 1:
        return 1
    cols = g.out_channels // g.groups * config.cells_per_weight
    fit = min(config.subarray_rows // g.rows, config.subarray_cols // cols, g.groups)
    return max(1, fit)


def block_layout(g: LayerGeometry, config: HardwareConfig) -> tuple[int, int, int]:
    """(rows, blocks, block columns) of the layer's weights as the floorplan places them.

    Dense: one block of ``rows x Cout*cells_per_weight``. Grouped: the groups are packed
    :func:`groups_per_subarray` at a time into blocks whose rows are the packed groups' rows
    (each group reads its own input channels on its own rows) and whose columns are whole
    sub-arrays; the blocks sit side by side along the columns, each reading its own inputs.
    Cells off the diagonal group blocks store the lowest level (value 0: no effect on a sum,
    an eNVM cell still passes its off current)."""
    C = g.out_channels * config.cells_per_weight
    if g.groups == 1:
        return g.rows, 1, C
    n = groups_per_subarray(g, config)
    sa_c = config.subarray_cols
    cols = _cdiv(n * (C // g.groups), sa_c) * sa_c
    return n * g.rows, _cdiv(g.groups, n), cols


def pipeline_speedups(geoms: Sequence[LayerGeometry], config: HardwareConfig) -> tuple[list[int], int]:
    """Per-layer pipeline speed-up targets and the degree used (reference §7 / tables §5.11):
    degree capped at maxIFM/minIFM (minIFM over layers with K != 1); bound = ceil(maxIFM /
    degree); speed-up = ceil((IFM / bound)^2). Layer-by-layer: all 1."""
    if not config.pipeline:
        return [1] * len(geoms), 1
    ifm = [g.input_hw[0] for g in geoms]
    max_ifm = ifm[0]
    min_ifm = min([max_ifm] + [g.input_hw[0] for g in geoms if g.kernel_size[0] != 1])
    degree = min(config.speedup_degree, max(1, max_ifm // max(1, min_ifm)))
    bound = _cdiv(max_ifm, degree)
    return [max(1, math.ceil((h / bound) ** 2)) for h in ifm], degree


def neurosim_input_vectors(g: LayerGeometry) -> int:
    """Input vectors per image as DNN+NeuroSim V1.4 counts them (reference §6):
    (H-K+1)/s * (W-K+1)/s in C++ integer arithmetic, left to right, padding ignored (7x7
    input, 3x3 kernel, stride 2: 5/2*5/2 = 2*5/2 = 5). The mapping and the activity model
    both use this one rule (quirk padding_ignored_vectors / activity_counting). A linear
    layer over T tokens is its NetWork.csv row, a T x 1 map with a 1 x 1 kernel: T vectors."""
    if g.kind == "linear":
        return g.tokens
    h, w = g.input_hw
    kh, kw = g.kernel_size
    s = g.stride[0]
    return max(1, (h - kh + 1) // s * (w - kw + 1) // s)


def _input_vectors(g: LayerGeometry, neurosim: bool) -> int:
    """Input vectors per image: one per output position (padding included); NeuroSim's
    count when ``neurosim``. A linear layer: one per token."""
    if g.kind == "linear":
        return g.tokens
    return neurosim_input_vectors(g) if neurosim else g.input_vectors


def _ops(g: LayerGeometry, neurosim: bool) -> int:
    """Operations per image, 2 per MAC. Ours: from the output size (g.macs). NeuroSim:
    2 * IFM_H * IFM_W * Cin * K_H * K_W * Cout (input size)."""
    if neurosim:
        h, w = g.input_hw
        return 2 * h * w * g.in_channels * g.kernel_size[0] * g.kernel_size[1] * \
            g.out_channels // g.groups
    return 2 * g.macs


@dataclass(frozen=True)
class _Units:
    """Sizes are searched in units: cells when NeuroSim's square sizing is on (quirk
    square_subarray_sizing), whole sub-arrays per side otherwise, so a PE is always a whole
    grid of sub-arrays and non-square sub-arrays work."""

    rows: int                       # cells per unit along the rows
    cols: int
    one_subarray: int               # one sub-array, in units

    def cells(self, size: int) -> tuple[int, int]:
        return size * self.rows, size * self.cols

    def start(self, cols: Sequence[int], layers: list[int], minimum: int) -> int:
        """The first size tried: the widest layer's columns as a power of two, at least
        ``minimum`` sub-arrays."""
        top = max((_pow2_ceil(cols[i] / self.cols) for i in layers), default=0)
        return max(top, minimum * self.one_subarray)


def _novel_layers(geoms: Sequence[LayerGeometry], config: HardwareConfig) -> tuple[int, list[bool]]:
    """(K*K of the novel-mapped layers or 0, per-layer flags): the most common kernel area
    (K*K != 1), layers with at least a sub-array of rows (reference §7)."""
    n = len(geoms)
    if config.mapping != "novel":
        return 0, [False] * n
    kk = [g.kernel_size[0] * g.kernel_size[1] for g in geoms]
    areas = Counter(a for a in kk if a != 1)
    if not areas:
        return 0, [False] * n
    pes = max(areas.items(), key=lambda kv: (kv[1], -kk.index(kv[0])))[0]
    # grouped layers are mapped conventionally (their blocks read different inputs)
    novel = [kk[i] == pes and geoms[i].rows >= config.subarray_rows and
             geoms[i].kind == "conv2d" and geoms[i].groups == 1 for i in range(n)]
    return (pes, novel) if any(novel) else (0, novel)


def _nm_pe_size(units: _Units, layers: list[int], cin, cols, rows, pes: int) -> int:
    """NM PE size: the best memory utilization of the NM layers (TileDesignNM)."""
    best, chosen = 0.0, units.start(cols, layers, 2)
    size = chosen
    while size > 2 * units.one_subarray:
        pr, pc = units.cells(size)
        tiles = sum(_cdiv(cin[i], pr) * _cdiv(cols[i], pc) for i in layers)
        util = sum(rows[i] * cols[i] for i in layers) / (tiles * pr * pc * pes)
        if util > best:
            best, chosen = util, size
        size //= 2
    return chosen


def _cm_sizes(units: _Units, layers: list[int], rows, cols) -> tuple[int, int, dict]:
    """CM tile size (TileDesignCM), then CM PE size (PEDesign) sharing the running best
    utilization, and each CM layer's PE duplication."""
    def tiles_of(size: int) -> tuple[int, float]:
        tr, tc = units.cells(size)
        tiles = sum(_cdiv(rows[i], tr) * _cdiv(cols[i], tc) for i in layers)
        mapped = sum(rows[i] * cols[i] for i in layers)
        return tiles, (mapped / (tiles * tr * tc) if tiles else 0.0)

    tile = units.start(cols, layers, 4)
    best, (num_tiles, _) = 0.0, tiles_of(tile)
    size = tile
    while size > 4 * units.one_subarray and layers:
        tiles, util = tiles_of(size)
        if util > best:
            best, tile, num_tiles = util, size, tiles
        size //= 2
    pe = size = tile // 2
    while size > 2 * units.one_subarray and layers:
        dups = _pe_dups(units, layers, rows, cols, size, tile)
        tr, tc = units.cells(tile)
        mapped = sum(dups[i][0] * dups[i][1] * rows[i] * cols[i] for i in layers)
        util = mapped / (num_tiles * tr * tc) if num_tiles else 0.0
        if util > best:
            best, pe = util, size
        size //= 2
    return tile, pe, _pe_dups(units, layers, rows, cols, pe, tile)


def _pe_dups(units: _Units, layers: list[int], rows, cols, pe: int, tile: int
             ) -> dict[int, tuple[int, int]]:
    """PE-level duplication of the CM layers smaller than a tile (floor(PEs per tile side /
    PEs needed))."""
    pr, pc = units.cells(pe)
    tr, tc = units.cells(tile)
    return {i: (_dup(_cdiv(tr, pr), _cdiv(rows[i], pr)), _dup(_cdiv(tc, pc), _cdiv(cols[i], pc)))
            if rows[i] <= tr or cols[i] <= tc else (1, 1) for i in layers}


@dataclass(frozen=True)
class _Floorplan:
    """The chosen sizes, in cells, and what every layer needs to be placed."""

    config: HardwareConfig
    novel: list[bool]
    nm_pes: int
    cm_tile: tuple[int, int]
    cm_pe: tuple[int, int]
    nm_pe: tuple[int, int]
    pe_dup: dict
    speedups: list[int]

    def subarray_dup(self, i: int, rows_i: int, cols_i: int) -> tuple[int, int]:
        """Sub-array duplication inside a PE (SubArrayDup) of a layer smaller than a PE."""
        sa_r, sa_c = self.config.subarray_rows, self.config.subarray_cols
        pr, pc = self.nm_pe if self.novel[i] else self.cm_pe
        if rows_i <= pr or cols_i <= pc:
            return _dup(_cdiv(pr, sa_r), _cdiv(rows_i, sa_r)), _dup(_cdiv(pc, sa_c),
                                                                   _cdiv(cols_i, sa_c))
        return 1, 1


def _layer(i: int, g: LayerGeometry, plan: _Floorplan) -> LayerMapping:
    """One layer's place: tiles, duplication, pipeline replication, utilization."""
    from chip.compat import quirk_on
    config = plan.config
    sa_r, sa_c = config.subarray_rows, config.subarray_cols
    R, blocks, block_cols = block_layout(g, config)
    C, cin = blocks * block_cols, g.in_channels // g.groups
    novel = plan.novel[i]
    pdup = (1, 1) if novel else plan.pe_dup[i]
    sdup = plan.subarray_dup(i, cin if novel else R, C)
    dup = pdup[0] * pdup[1] * sdup[0] * sdup[1]
    rep = math.ceil(plan.speedups[i] / dup) if config.pipeline else 1   # tile replication
    if g.dynamic:       # ours: every copy of a dynamic operand is rewritten for each input,
        pdup, sdup, dup, rep = (1, 1), (1, 1), 1, 1    # so it gets one copy (no replicas)
    if novel:
        (pr, pc), k = plan.nm_pe, plan.nm_pes
        base_rows, tiles_col = _cdiv(cin, pr), _cdiv(C, pc)
        alloc, mapped, pe_grid = pr * pc * k, cin * k * C, (k, 1)
        pes_one, pe_row_blocks = k * _cdiv(cin, pr) * _cdiv(C, pc), k * _cdiv(cin, pr)
    else:
        (tr, tc), (pr, pc) = plan.cm_tile, plan.cm_pe
        side = max(1, _cdiv(tr, pr))
        base_rows, tiles_col = _cdiv(R, tr), _cdiv(C, tc)
        # the weights themselves (a grouped layer's blocks hold padding around its groups)
        alloc, mapped, pe_grid = tr * tc, g.rows * g.out_channels * config.cells_per_weight, \
            (side, side)
        pes_one, pe_row_blocks = _cdiv(R, pr) * _cdiv(C, pc), _cdiv(R, pr)
    tiles_row = base_rows * rep
    # copies of the weights: NeuroSim counts max(speed-up, dup); ours counts what is
    # physically allocated, dup * replication (>= both)
    copies = (max(plan.speedups[i], dup) if config.pipeline else dup) \
        if quirk_on(config, "duplication_copies") else dup * rep
    # sub-arrays holding one copy of the weights (row groups cut by sub-array rows)
    groups = row_groups(g, novel, quirk_on(config, "novel_mapping_row_blocks"))
    sa_one = sum(_cdiv(len(gr), sa_r) for gr in groups) * _cdiv(C, sa_c) if g.groups == 1 \
        else _cdiv(R, sa_r) * _cdiv(C, sa_c)
    return LayerMapping(
        index=i, name=g.name, kind=g.kind, novel=novel, weight_rows=R, weight_cols=C,
        tiles_row=tiles_row, tiles_col=tiles_col, pe_grid=pe_grid, pe_rows_cells=pr,
        pe_cols_cells=pc, subarrays_per_pe=(_cdiv(pr, sa_r), _cdiv(pc, sa_c)), pe_dup=pdup,
        subarray_dup=sdup, pipeline_speedup=plan.speedups[i],
        speedup=int((pdup[0] * sdup[0] * rep) * (pdup[1] * sdup[1])),
        utilization=float(copies * mapped / (tiles_row * tiles_col * alloc)),
        input_vectors=_input_vectors(g, quirk_on(config, "padding_ignored_vectors")),
        ops=_ops(g, quirk_on(config, "ops_from_input_size")), row_groups=groups,
        weight_subarrays=int(sa_one), used_subarrays=int(sa_one * dup * rep),
        used_pes=int(pes_one * pdup[0] * pdup[1] * rep), pe_row_blocks=int(pe_row_blocks),
        kernel_positions=plan.nm_pes if novel else 1, blocks=blocks, block_cols=block_cols,
        input_rows=g.in_channels * g.kernel_size[0] * g.kernel_size[1])


def priced_trace(trace: Trace, config: HardwareConfig) -> Trace:
    """The trace whose shapes the chip prices. A layer imported from a NeuroSim NetWork csv
    that disagrees with its weights (geometry ``table_channels``) is priced with the table's
    channels under quirk neurosim_table_shape, as NeuroSim runs it (Chip.cpp sizes the
    weight matrix from the table; LoadInWeightData reads the file's own columns, so the
    missing ones act as zero weights); ours prices the weights the trace holds."""
    from chip.compat import quirk_on
    if not quirk_on(config, "neurosim_table_shape") or not any(
            layer.geometry.table_channels for layer in trace.layers):
        return trace
    return Trace(manifest=trace.manifest, layers=[layer.table_view() for layer in trace.layers])


def map_network(geoms: Sequence[LayerGeometry], config: HardwareConfig) -> NetworkMapping:
    """Floorplan the network: choose NM/CM per layer, tile and PE sizes by memory
    utilization, duplication and pipeline replication (reference §7, Chip.cpp's rules)."""
    if not geoms:
        raise ConfigError("the network has no compute layers to map")
    from chip.compat import quirk_on
    sa_r, sa_c = config.subarray_rows, config.subarray_cols
    units = _Units(1, 1, sa_r) if quirk_on(config, "square_subarray_sizing") else \
        _Units(sa_r, sa_c, 1)
    layouts = [block_layout(g, config) for g in geoms]
    rows = [r for r, _, _ in layouts]
    cols = [b * c for _, b, c in layouts]
    cin = [g.in_channels // g.groups for g in geoms]
    nm_pes, novel = _novel_layers(geoms, config)
    cm_layers = [i for i in range(len(geoms)) if not novel[i]]
    nm_layers = [i for i in range(len(geoms)) if novel[i]]
    nm_pe = _nm_pe_size(units, nm_layers, cin, cols, rows, nm_pes) if nm_layers else 0
    cm_tile, cm_pe, pe_dup = _cm_sizes(units, cm_layers, rows, cols)
    speedups, degree = pipeline_speedups(geoms, config)
    plan = _Floorplan(config, novel, nm_pes, units.cells(cm_tile), units.cells(cm_pe),
                      units.cells(nm_pe) if nm_layers else (0, 0), pe_dup, speedups)
    layers = [_layer(i, g, plan) for i, g in enumerate(geoms)]
    return NetworkMapping(
        layers=layers, subarray_rows=sa_r, subarray_cols=sa_c, cm_tile_cells=plan.cm_tile,
        cm_pe_cells=plan.cm_pe, nm_pe_cells=plan.nm_pe,
        nm_pes_per_tile=nm_pes if nm_layers else 0, speedup_degree=degree)
