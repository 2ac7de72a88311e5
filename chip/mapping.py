"""Mapping of a network's layers onto Chip -> Tile -> PE -> SubArray.

Each layer's weights are unrolled to a matrix of ``rows = Cin/groups * K * K`` by
``cols = Cout * cells_per_weight`` cells (row index c*K*K + kh*K + kw). The chip holds two tile
flavours, as DNN+NeuroSim V1.4 does (reference/neurosim-v1.4.md §7):

- conventional mapping (CM): a tile is a square grid of PEs, a PE a square grid of subarrays;
  the unrolled matrix is cut into tiles, tiles into PEs, PEs into subarrays;
- novel mapping (NM): a tile holds K*K PEs, PE k holding the Cin x Cout slice of kernel
  position k (so the K*K partial sums of a window are added by the tile's adder tree).

The floorplan search (tile size for CM, PE size for NM and CM) keeps the size with the best
memory utilization, then duplicates small layers at PE and subarray level and, when pipelined,
replicates tiles so fast and slow layers balance (NeuroSim's pipeline speed-up).

Sizes are handled as (rows, cols) pairs so non-square subarrays work: a PE of ``n`` subarrays
per side is ``n*subarray_rows`` by ``n*subarray_cols`` cells. With
``config.compat == "neurosim-1.4"`` sizes are square in cells (NeuroSim's assumption),
the number of input vectors ignores zero padding and operations are counted from the input
size, which reproduces NeuroSim's printed floorplan and figures.

Loops run over layers and candidate sizes only.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from contracts.config import ConfigError, HardwareConfig
from contracts.trace import LayerGeometry

__all__ = ["LayerMapping", "NetworkMapping", "map_network", "row_groups", "pipeline_speedups"]


@dataclass
class LayerMapping:
    """Where one layer lives and how it is duplicated."""

    index: int
    name: str
    kind: str
    novel: bool                       # NM tile (K*K PEs) or CM tile
    weight_rows: int                  # unrolled rows (Cin/groups*K*K)
    weight_cols: int                  # Cout * cells per weight
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

    @property
    def tiles(self) -> int:
        return self.tiles_row * self.tiles_col

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
    compat: bool

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


def _input_vectors(g: LayerGeometry, compat: bool) -> int:
    """Input vectors per image. Ours: one per output position (padding included).
    NeuroSim: ((H-K+1)/s) * ((W-K+1)/s) with C++ integer division (padding ignored)."""
    if g.kind == "linear":
        return 1
    if compat:
        h, w = g.input_hw
        kh, kw = g.kernel_size
        s = g.stride[0]
        return max(1, (h - kh + 1) // s * (w - kw + 1) // s)
    return g.input_vectors


def _ops(g: LayerGeometry, compat: bool) -> int:
    """Operations per image, 2 per MAC. Ours: from the output size (g.macs). NeuroSim:
    2 * IFM_H * IFM_W * Cin * K_H * K_W * Cout (input size)."""
    if compat:
        h, w = g.input_hw
        return 2 * h * w * g.in_channels * g.kernel_size[0] * g.kernel_size[1] * g.out_channels
    return 2 * g.macs


def map_network(geoms: Sequence[LayerGeometry], config: HardwareConfig) -> NetworkMapping:
    """Floorplan the network: choose NM/CM per layer, tile and PE sizes by memory
    utilization, duplication and pipeline replication (reference §7, Chip.cpp's rules)."""
    if not geoms:
        raise ConfigError("the network has no compute layers to map")
    from chip.compat import quirk_on
    compat = config.compat == "neurosim-1.4"
    square = quirk_on(config, "square_subarray_sizing")     # chip/compat.py
    sa_r, sa_c = config.subarray_rows, config.subarray_cols
    # cells per "size unit" along rows and cols: compat sizes are square in cells (NeuroSim);
    # ours scale with the subarray so a PE is always a whole grid of subarrays.
    unit_r, unit_c = (1, 1) if square else (sa_r, sa_c)
    cpw = config.cells_per_weight
    R = [g.rows for g in geoms]
    C = [g.out_channels * cpw for g in geoms]
    cin = [g.in_channels // g.groups for g in geoms]
    kk = [g.kernel_size[0] * g.kernel_size[1] for g in geoms]
    n = len(geoms)

    # --- novel mapping marks: the most common kernel area (K*K != 1), large enough layers
    nm_pes = 0
    novel = [False] * n
    if config.mapping == "novel":
        areas = Counter(a for a in kk if a != 1)
        if areas:
            nm_pes = max(areas.items(), key=lambda kv: (kv[1], -list(kk).index(kv[0])))[0]
            novel = [kk[i] == nm_pes and R[i] >= sa_r and geoms[i].kind == "conv2d"
                     for i in range(n)]
        if not any(novel):
            nm_pes = 0

    # size candidates, in "units" (cells when compat, subarrays per side otherwise)
    def col_units(c: int) -> float:
        return c / unit_c

    base = sa_r if square else 1          # one subarray, in units
    def start(layers: list[int], minimum: int) -> int:
        top = max((_pow2_ceil(col_units(C[i])) for i in layers), default=0)
        return max(top, minimum * base)

    def cells(size: int) -> tuple[int, int]:
        return size * unit_r, size * unit_c

    cm_layers = [i for i in range(n) if not novel[i]]
    nm_layers = [i for i in range(n) if novel[i]]

    # --- NM PE size: maximise utilization of the NM layers (TileDesignNM)
    nm_pe = 0
    if nm_layers:
        def nm_design(pe: int) -> tuple[int, float]:
            pr, pc = cells(pe)
            tiles = sum(_cdiv(cin[i], pr) * _cdiv(C[i], pc) for i in nm_layers)
            mapped = sum(R[i] * C[i] for i in nm_layers)
            return tiles, mapped / (tiles * pr * pc * nm_pes)
        nm_pe = start(nm_layers, 2)
        best = 0.0
        pe = nm_pe
        while pe > 2 * base:
            _, util = nm_design(pe)
            if util > best:
                best, nm_pe = util, pe
            pe //= 2

    # --- CM tile size (TileDesignCM), then CM PE size (PEDesign) sharing the running best
    def cm_tiles(tile: int) -> tuple[int, float]:
        tr, tc = cells(tile)
        tiles = sum(_cdiv(R[i], tr) * _cdiv(C[i], tc) for i in cm_layers)
        mapped = sum(R[i] * C[i] for i in cm_layers)
        return tiles, (mapped / (tiles * tr * tc) if tiles else 0.0)

    cm_tile = start(cm_layers, 4)
    best_cm = 0.0
    num_tiles_cm, _ = cm_tiles(cm_tile)
    t = cm_tile
    while t > 4 * base and cm_layers:
        tiles, util = cm_tiles(t)
        if util > best_cm:
            best_cm, cm_tile, num_tiles_cm = util, t, tiles
        t //= 2

    def pe_dups(pe: int, tile: int) -> dict[int, tuple[int, int]]:
        pr, pc = cells(pe)
        tr, tc = cells(tile)
        out = {}
        for i in cm_layers:
            if R[i] <= tr or C[i] <= tc:
                out[i] = (_dup(_cdiv(tr, pr), _cdiv(R[i], pr)), _dup(_cdiv(tc, pc), _cdiv(C[i], pc)))
            else:
                out[i] = (1, 1)
        return out

    cm_pe = cm_tile // 2
    p = cm_tile // 2
    while p > 2 * base and cm_layers:
        dups = pe_dups(p, cm_tile)
        tr, tc = cells(cm_tile)
        mapped = sum(dups[i][0] * dups[i][1] * R[i] * C[i] for i in cm_layers)
        util = mapped / (num_tiles_cm * tr * tc) if num_tiles_cm else 0.0
        if util > best_cm:
            best_cm, cm_pe = util, p
        p //= 2
    pe_dup = pe_dups(cm_pe, cm_tile)

    # --- subarray duplication inside a PE (SubArrayDup)
    def sa_dup(i: int) -> tuple[int, int]:
        pe = nm_pe if novel[i] else cm_pe
        pr, pc = cells(pe)
        rows_i = cin[i] if novel[i] else R[i]
        if rows_i <= pr or C[i] <= pc:
            return (_dup(_cdiv(pr, sa_r), _cdiv(rows_i, sa_r)),
                    _dup(_cdiv(pc, sa_c), _cdiv(C[i], sa_c)))
        return (1, 1)

    speedups, degree = pipeline_speedups(geoms, config)
    cm_tr, cm_tc = cells(cm_tile)
    cm_pr, cm_pc = cells(cm_pe)
    nm_pr, nm_pc = cells(nm_pe) if nm_layers else (0, 0)
    pes_side = max(1, _cdiv(cm_tr, cm_pr))

    layers = []
    for i, g in enumerate(geoms):
        pdup = (1, 1) if novel[i] else pe_dup[i]
        sdup = sa_dup(i)
        dup = pdup[0] * pdup[1] * sdup[0] * sdup[1]
        rep = math.ceil(speedups[i] / dup) if config.pipeline else 1   # tile replication
        if novel[i]:
            base_rows = _cdiv(cin[i], nm_pr)
            tiles_col = _cdiv(C[i], nm_pc)
            alloc = nm_pr * nm_pc * nm_pes
            mapped = cin[i] * nm_pes * C[i]
            pe_grid = (nm_pes, 1)
            pr, pc = nm_pr, nm_pc
        else:
            base_rows = _cdiv(R[i], cm_tr)
            tiles_col = _cdiv(C[i], cm_tc)
            alloc = cm_tr * cm_tc
            mapped = R[i] * C[i]
            pe_grid = (pes_side, pes_side)
            pr, pc = cm_pr, cm_pc
        tiles_row = base_rows * rep
        # copies of the weights: NeuroSim counts max(speed-up, dup); ours counts what is
        # physically allocated, dup * replication (>= both)
        copies = (max(speedups[i], dup) if config.pipeline else dup) \
            if quirk_on(config, "duplication_copies") else dup * rep
        util = copies * mapped / (tiles_row * tiles_col * alloc)
        achieved = (pdup[0] * sdup[0] * rep) * (pdup[1] * sdup[1])
        # subarrays holding one copy of the weights (row groups cut by subarray rows)
        groups = row_groups(g, novel[i], quirk_on(config, "novel_mapping_row_blocks"))
        sa_one = sum(_cdiv(len(gr), sa_r) for gr in groups) * _cdiv(C[i], sa_c)
        if novel[i]:
            pes_one = nm_pes * _cdiv(cin[i], nm_pr) * _cdiv(C[i], nm_pc)
            pe_row_blocks = nm_pes * _cdiv(cin[i], nm_pr)
        else:
            pes_one = _cdiv(R[i], cm_pr) * _cdiv(C[i], cm_pc)
            pe_row_blocks = _cdiv(R[i], cm_pr)
        n_copies = dup * rep
        layers.append(LayerMapping(
            index=i, name=g.name, kind=g.kind, novel=novel[i], weight_rows=R[i],
            weight_cols=C[i], tiles_row=tiles_row, tiles_col=tiles_col, pe_grid=pe_grid,
            pe_rows_cells=pr, pe_cols_cells=pc,
            subarrays_per_pe=(_cdiv(pr, sa_r), _cdiv(pc, sa_c)),
            pe_dup=pdup, subarray_dup=sdup, pipeline_speedup=speedups[i],
            speedup=int(achieved), utilization=float(util),
            input_vectors=_input_vectors(g, quirk_on(config, "padding_ignored_vectors")),
            ops=_ops(g, quirk_on(config, "ops_from_input_size")), row_groups=groups,
            weight_subarrays=int(sa_one), used_subarrays=int(sa_one * n_copies),
            used_pes=int(pes_one * pdup[0] * pdup[1] * rep),
            pe_row_blocks=int(pe_row_blocks), kernel_positions=nm_pes if novel[i] else 1))

    return NetworkMapping(
        layers=layers, subarray_rows=sa_r, subarray_cols=sa_c,
        cm_tile_cells=(cm_tr, cm_tc), cm_pe_cells=(cm_pr, cm_pc), nm_pe_cells=(nm_pr, nm_pc),
        nm_pes_per_tile=nm_pes if nm_layers else 0, speedup_degree=degree, compat=compat)
