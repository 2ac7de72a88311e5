"""PE, Tile and Chip composition: the mapped layers plus peripherals -> one Cost tree.

The hierarchy is that of DNN+NeuroSim V1.4 (reference/neurosim-v1.4.md §2, §7):
- PE   = subarrays + PE adder tree (partial sums across subarray rows) + PE input/output
         buffers + PE bus;
- Tile = PEs + tile adder tree (partial sums across PEs; K*K kernel positions for novel
         mapping) + tile input/output buffers + tile H-tree;
- Chip = tiles + global buffer + global H-tree or X-Y bus + global accumulation (layers that
         span several tile rows) + activation + max pooling.

Timing: synchronous clock = the slowest subarray read cycle over all layers, but never faster
than ``clock_freq_max_Hz`` allows. A layer's array/PE/tile time is divided by its achieved
speed-up (duplicates share the input vectors); chip-level blocks are shared and not divided.
Pipelined latency per image = the slowest layer stage; layer by layer = the sum.

Leakage energy per image: every block leaks for the whole image time. Pipelined, the image
time is the final slowest stage (NeuroSim uses the running maximum while still computing it,
reference §9); a layer's tiles leak at the subarray "in use" rate while busy and at the idle
rate otherwise. Chip-level blocks leak too (NeuroSim leaves them out; compat does as well).

Physics comes from a `Physics` provider (chip.technology, chip.components, chip.activity by
default). The provider is the only place that knows the components' constructor arguments, so
the composition here is pure bookkeeping over layers and levels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from contracts.config import HardwareConfig
from chip.cost import Cost
from chip.mapping import LayerMapping, NetworkMapping
from contracts.trace import LayerTrace

__all__ = ["Block", "Physics", "LayerResult", "ChipResult", "compose_chip", "default_physics",
           "write_cost", "rewrite_cost", "PhysicsUnavailable", "UNUSED_AREA_NODES"]

# Nodes whose area is layout left empty inside a bounding box (no circuit): reports book them
# apart from every circuit category (summary ``unused_area_mm2``, breakdown category "unused")
UNUSED_AREA_NODES = ("subarray_whitespace",)


class PhysicsUnavailable(RuntimeError):
    """The circuit models (chip.technology / chip.components / chip.activity) are missing."""


class Block(Protocol):
    """A peripheral as the hierarchy uses it: fixed area/leakage, cost from counts."""

    area_m2: float
    width_m: float
    height_m: float
    leakage_W: float

    def cost(self, **counts: Any) -> Cost: ...


class Physics(Protocol):
    """What the hierarchy needs from the circuit layer (chip-internals.md contract)."""

    def subarray(self, rows: int, cols: int) -> Any: ...            # SubArray
    def activity(self, layer: LayerTrace, row_groups: list[np.ndarray]) -> Any: ...
    def adder_tree(self, num_inputs: int, input_bits: int, lanes: int) -> Block: ...
    def buffer(self, level: str, capacity_bits: int, interface_bits: int,
               width_m: float | None = None, height_m: float | None = None) -> Block: ...
    def bus(self, level: str, rows: int, cols: int, unit_height_m: float, unit_width_m: float,
            bus_width: int, output_width: int | None = None) -> Block: ...
    def max_pool(self, bits: int, window: int, lanes: int) -> Block: ...
    def activation(self, bits: int, lanes: int) -> Block: ...
    def subarray_output_bits(self) -> int: ...
    def write_energy_per_cell_J(self) -> float: ...
    def write_time_per_row_s(self) -> float: ...


# --------------------------------------------------------------------------------------------
@dataclass
class LayerResult:
    """Per-layer figures (per image) and the layer's subtree."""

    mapping: LayerMapping
    tree: Cost
    latency_s: float                 # stage latency per image
    dynamic_energy_J: float
    leakage_W: float                 # tiles of this layer (idle rate)
    leakage_in_use_W: float          # tiles of this layer while busy
    leakage_energy_J: float = 0.0    # filled by the chip (depends on the image time)
    area_m2: float = 0.0
    read_cycle_s: float = 0.0
    breakdown_latency_s: dict = field(default_factory=dict)


@dataclass
class ChipResult:
    tree: Cost
    layers: list[LayerResult]
    clock_period_s: float
    latency_s: float
    dynamic_energy_J: float
    leakage_energy_J: float
    leakage_W: float
    area_m2: float
    chip_blocks: Cost


def _sum_cost(name: str, category: str, children: Sequence[Cost], latency_s: float) -> Cost:
    node = Cost(name=name, category=category, latency_s=latency_s)
    node.children.extend(children)
    return node


def _scaled(c: Cost, factor: float, name: str | None = None) -> Cost:
    """A copy of a cost subtree with area, energy and leakage scaled (count x factor)."""
    out = Cost(name=name or c.name, category=c.category, area_m2=c.area_m2 * factor,
               latency_s=c.latency_s, dynamic_energy_J=c.dynamic_energy_J * factor,
               leakage_W=c.leakage_W * factor, count=int(round(c.count * factor)) or c.count)
    out.children = [_scaled(ch, factor) for ch in c.children]
    return out


def _static(name: str, block: Block, category: str, count: int = 1) -> Cost:
    """Area and leakage only (a block that exists but does no work in this layer)."""
    return Cost(name=name, category=category, area_m2=block.area_m2 * count,
                leakage_W=block.leakage_W * count, count=count)


# --------------------------------------------------------------------------------------------
def compose_chip(mapping: NetworkMapping, traces: Sequence[LayerTrace], config: HardwareConfig,
                 physics: Physics, progress=None) -> ChipResult:
    """Build the whole Chip -> Tile -> PE -> SubArray cost tree for one image."""
    from chip.compat import quirk_on

    def quirk(name: str) -> bool:          # NeuroSim V1.4 conventions, chip/compat.py
        return quirk_on(config, name)
    sa = physics.subarray(mapping.subarray_rows, mapping.subarray_cols)
    # clock: slowest sensing cycle of the (single) subarray design, capped (main.cpp rule:
    # f = min(clkFreq, 1/clkPeriod))
    cycle = float(sa.read_cycle_s)
    min_period = 1.0 / config.clock_freq_max_Hz
    clock = max(cycle, min_period) if config.clock == "synchronous" else min_period

    B = config.activation_bits
    psum_bits = physics.subarray_output_bits()
    sa_r, sa_c = mapping.subarray_rows, mapping.subarray_cols
    cpw = config.cells_per_weight
    adc_lanes = max(1, sa_c // config.cols_per_adc)

    # --- per-tile-flavour fixed blocks (area, leakage) ------------------------------------
    def pe_blocks(pe_r: int, pe_c: int):
        grid_r, grid_c = math.ceil(pe_r / sa_r), math.ceil(pe_c / sa_c)
        n_work = grid_r * grid_c            # sub-arrays that compute (and leak)
        if quirk("square_subarray_sizing") and grid_r != grid_c:
            # Tile.cpp (TileInitialize, TileCalculateArea): a PE is laid out, and its adder
            # tree and registers sized, for a square grid of ceil(sqrt(n)) sub-arrays a side
            grid_r = grid_c = math.ceil(math.sqrt(grid_r * grid_c))
        tree = physics.adder_tree(grid_r, psum_bits,
                                  max(1, grid_c * sa_c // config.cols_per_adc))
        stages = math.ceil(math.log2(grid_r)) if grid_r > 1 else 0
        # ProcessingUnit.cpp (sync_data_transfer off): PE input register = one subarray's
        # rows x input bits; PE output register = one subarray's ADC lanes x (sub-array
        # output bits + adder-tree stages); one register-wide line per clock
        in_bits = B * sa_r
        out_bits = max(1, sa_c // config.cols_per_adc) * (psum_bits + stages)
        # ProcessingUnit.cpp: the input register along the PE's sub-array column height,
        # the output register along its sub-array row width (DFFs tiled in whole columns /
        # rows)
        inbuf = physics.buffer("pe", in_bits, in_bits, height_m=grid_r * sa.height_m)
        outbuf = physics.buffer("pe", out_bits, out_bits, width_m=grid_c * sa.width_m)
        # ProcessingUnit.cpp: the input bus one sub-array's rows wide, the output bus carrying
        # every sub-array row's outputs (grid rows x sub-array columns lanes)
        bus = physics.bus("pe", grid_r, grid_c, sa.height_m, sa.width_m, sa_r,
                          output_width=grid_r * sa_c)
        return grid_r * grid_c, n_work, tree, inbuf, outbuf, bus, in_bits, out_bits, stages

    def tile_buffer_shape(n_pe_ns: int, bits_per_pe: int, lanes_per_pe: int):
        """Tile.cpp: (core capacity, interface, cores) of a tile buffer: one core smaller
        than tileBufferCore if the need fits, else 32x32-bit cores."""
        need = n_pe_ns * bits_per_pe
        core = config.tile_buffer_core_rows * config.tile_buffer_core_cols
        if need < core:
            return need, n_pe_ns * lanes_per_pe, 1
        return core, config.tile_buffer_core_cols, math.ceil(need / core)

    def tile_blocks(n_pe: int, n_pe_ns: int, pe_side: tuple[int, int], pe_w: float,
                    pe_h: float, pe_c: int, acc_bits: int, novel: bool):
        # Tile.cpp: NM tile: one tree over its K*K PEs per ADC lane of a PE (they hold the
        # kernel positions of the same outputs); CM tile: one tree over a PE column per ADC
        # lane of every PE column (the PE columns hold different outputs)
        if novel:
            tree = physics.adder_tree(n_pe, acc_bits, max(1, pe_c // config.cols_per_adc))
        else:
            tree = physics.adder_tree(pe_side[0], acc_bits,
                                      max(1, pe_side[1] * pe_c // config.cols_per_adc))
        lanes = max(1, sa_c // config.cols_per_adc)
        # Tile.cpp: input buffer = numPE x input bits x subarray rows; output buffer =
        # numPE x subarray ADC lanes x (PE output bits + log2 numPE); numPE counts the PEs
        # of one tile side for CM, all K*K PEs for NM (NeuroSim's convention)
        log_pe = math.ceil(math.log2(n_pe_ns)) if n_pe_ns > 1 else 0
        in_shape = tile_buffer_shape(n_pe_ns, B * sa_r, sa_r)
        out_shape = tile_buffer_shape(n_pe_ns, (acc_bits + log_pe) * lanes, acc_bits + log_pe)
        inbuf = physics.buffer("tile", in_shape[0], in_shape[1])
        outbuf = physics.buffer("tile", out_shape[0], out_shape[1])
        # Tile.cpp: H-tree bus width = numPE x PE size
        htree_width = n_pe_ns * pe_c
        htree = physics.bus("tile", pe_side[0], pe_side[1], pe_h, pe_w, htree_width)
        return tree, inbuf, outbuf, htree, in_shape, out_shape, htree_width

    flavours = {}
    for novel, pe_cells, n_pe, side in (
            (False, mapping.cm_pe_cells, mapping.cm_pes_per_tile_side ** 2,
             (mapping.cm_pes_per_tile_side, mapping.cm_pes_per_tile_side)),
            (True, mapping.nm_pe_cells, mapping.nm_pes_per_tile,
             (math.ceil(math.sqrt(max(1, mapping.nm_pes_per_tile))),) * 2)):
        if not any(m.novel == novel for m in mapping.layers):
            continue
        n_sa, n_work, pe_tree, pe_in, pe_out, pe_bus, pe_in_w, pe_out_w, pe_stages = \
            pe_blocks(*pe_cells)
        pe_area = n_sa * sa.area_m2 + pe_tree.area_m2 + pe_in.area_m2 + pe_out.area_m2 + \
            pe_bus.area_m2
        pe_side_m = math.sqrt(pe_area)  # ours: PEs laid out square for the tile wires
        n_pe_ns = n_pe if novel else side[0]   # NeuroSim's numPE (NM: K*K; CM: per side)
        if quirk("tile_output_bits_sqrt"):
            # Tile.cpp: numBitPEOutputCM = sub-array output bits + ceil(sqrt(#subarrays/PE))
            tile_bits = psum_bits + math.ceil(math.sqrt(n_work))
        else:
            tile_bits = psum_bits + pe_stages   # ours: the PE adder tree's output width
        t_tree, t_in, t_out, t_htree, in_shape, out_shape, htree_width = tile_blocks(
            n_pe, n_pe_ns, side, pe_side_m, pe_side_m, pe_cells[1], tile_bits, novel)
        # ProcessingUnit.cpp: leakage of the sub-arrays that work (ceil(PE/rows) x
        # ceil(PE/cols)), area of the laid-out grid
        pe_leak = n_work * sa.leakage_W + pe_tree.leakage_W + pe_in.leakage_W + \
            pe_out.leakage_W + pe_bus.leakage_W
        tile_area = n_pe * pe_area + t_tree.area_m2 + in_shape[2] * t_in.area_m2 + \
            out_shape[2] * t_out.area_m2 + t_htree.area_m2
        tile_leak = n_pe * pe_leak + t_tree.leakage_W + in_shape[2] * t_in.leakage_W + \
            out_shape[2] * t_out.leakage_W + t_htree.leakage_W
        # lanes of the PE and tile trees (AdderTree.cpp numAdderTree), for NeuroSim's
        # all-lanes charging (quirk unused_lanes_charged)
        lanes_of = lambda b: getattr(getattr(b, "component", None), "num_units", 1)  # noqa
        flavours[novel] = dict(n_sa=n_sa, n_work=n_work, n_pe=n_pe,
                               pe_tree_lanes=lanes_of(pe_tree), t_tree_lanes=lanes_of(t_tree),
                               n_pe_ns=n_pe_ns, pe_tree=pe_tree,
                               pe_in=pe_in, pe_out=pe_out, pe_bus=pe_bus, pe_in_w=pe_in_w,
                               pe_out_w=pe_out_w, pe_stages=pe_stages, t_tree=t_tree,
                               t_in=t_in, t_out=t_out, t_htree=t_htree, in_shape=in_shape,
                               out_shape=out_shape, htree_width=htree_width,
                               tile_area=tile_area, tile_leak=tile_leak,
                               tile_side=math.sqrt(tile_area), tile_bits=tile_bits,
                               pe_cells=pe_cells)

    # --- chip-level blocks -------------------------------------------------------------
    geoms = [t.geometry for t in traces]
    tiles_total = mapping.num_tiles
    grid_r, grid_c = mapping.tile_grid
    # the global bus spans a grid of the largest tiles (Chip.cpp ChipCalculateArea: the bus
    # area on max(NM, CM) tile height and width); ours times every transfer on that grid,
    # NeuroSim on the pitch of the layer's own tile flavour (quirk)
    tile_side = max(f["tile_side"] for f in flavours.values())
    # global buffer capacity: the largest layer input (layer-by-layer) or half the sum of
    # all layer inputs (pipelined), x activation bits (tables §5.11)
    inputs = [g.input_hw[0] * g.input_hw[1] * g.in_channels for g in geoms]
    gbuf_bits = B * (sum(inputs) // 2 if config.pipeline else max(inputs))
    gbuf_core = config.global_buffer_core_rows * config.global_buffer_core_cols
    n_gbuf_cores = max(1, math.ceil(gbuf_bits / gbuf_core))
    gbuf = physics.buffer("global", gbuf_core, config.global_buffer_core_cols)
    # global bus width: sum over layers of (tile width + tile width / cols_per_adc) x tiles,
    # halved until <= max_global_bus_width (tables §5.11)
    # output columns of one tile: a CM tile's width; an NM tile's K*K PEs add up into one
    # PE's width (Chip.cpp: maxThroughputTile = max(CM tile, NM PE size))
    tile_cols = max(mapping.cm_tile_cells[1], mapping.nm_pe_cells[1])
    width = 0.0
    for m in mapping.layers:
        tw = mapping.cm_tile_cells[1] if not m.novel else mapping.nm_pe_cells[1] * math.ceil(
            math.sqrt(mapping.nm_pes_per_tile))
        width += (tw + tw / config.cols_per_adc) * (m.tiles if config.pipeline else 1)
    while width > config.max_global_bus_width:
        width /= 2
    bus_width = max(1, int(width))
    gbus = physics.bus("global", grid_r, grid_c, tile_side, tile_side, bus_width)
    gbus_of = {novel: gbus for novel in flavours}
    if quirk("global_bus_layer_tile_size"):
        gbus_of = {novel: gbus if f["tile_side"] == tile_side else physics.bus(
            "global", grid_r, grid_c, f["tile_side"], f["tile_side"], bus_width)
            for novel, f in flavours.items()}
    lanes = max(1, math.ceil(tile_cols / config.cols_per_adc))
    if config.pipeline and mapping.nm_pes_per_tile:
        lanes *= len(mapping.layers) + 1          # NeuroSim: x (#layers + 1) when pipelined NM
    max_tile_rows = max(m.tile_row_blocks for m in mapping.layers)
    gacc_inputs = max(2, max_tile_rows)
    gacc_bits = flavours[next(iter(flavours))]["tile_bits"] + math.ceil(math.log2(gacc_inputs))
    if quirk("global_accumulation_sizing"):
        # Chip.cpp (ChipInitialize): maxTileAdded = the most tile rows of any layer,
        # duplicates included; width = sub-array output bits + ceil(log2 maxAddFromSubArray),
        # maxAddFromSubArray = max PE rows of sub-arrays x max(PEs per CM tile side,
        # sqrt(#NM PEs)), x (#layers + 1) when pipelined
        gacc_inputs = max(2, max(m.tiles_row for m in mapping.layers))
        pe_rows = max(math.ceil(mapping.cm_pe_cells[0] / sa_r),
                      math.ceil(mapping.nm_pe_cells[0] / sa_r))
        per_tile = max(mapping.cm_pes_per_tile_side,
                       math.ceil(math.sqrt(mapping.nm_pes_per_tile or 1)))
        max_add = max(1, pe_rows * per_tile * (len(mapping.layers) + 1 if config.pipeline
                                               else 1))
        gacc_bits = psum_bits + math.ceil(math.log2(max_add))
    gacc = physics.adder_tree(gacc_inputs, gacc_bits, lanes)
    act = physics.activation(B, lanes)
    # ours: the pooling lanes follow the activation's (every pipelined layer at once);
    # NeuroSim sizes the max-pool for one tile's outputs (quirk)
    pool_lanes = max(1, math.ceil(tile_cols / config.cols_per_adc)) \
        if quirk("maxpool_single_tile_lanes") else lanes
    pool = physics.max_pool(B, 4, pool_lanes)

    # --- per layer ----------------------------------------------------------------------
    layer_results: list[LayerResult] = []
    for m, trace in zip(mapping.layers, traces):
        if progress is not None:
            progress(m)
        f = flavours[m.novel]
        g = trace.geometry
        V = m.input_vectors
        su = max(1, m.speedup)
        # the activity model applies the compat vector count itself (chip/activity.py)
        activity = physics.activity(trace, m.row_groups)
        c_sa = sa.cost(activity, clock)
        c_sa.name = "subarrays"
        outs = g.out_channels
        NV = V * B                                      # input bit-vectors per image
        pe_r, pe_c = f["pe_cells"]
        # --- PE level (ProcessingUnit.cpp). One PE's slice: rows = the PE's share of
        # the weight rows, cols = the PE's columns; latency of one PE (all run in parallel)
        # divided by the layer's speed-up; energy summed over every PE slice.
        rows_per_pe_copy = m.weight_rows if not m.novel else g.in_channels // g.groups
        rows_pe = min(pe_r, rows_per_pe_copy)
        cols_pe = min(pe_c, m.weight_cols)
        sa_rows_in_pe = min(math.ceil(pe_r / sa_r), math.ceil(rows_per_pe_copy / sa_r))
        pe_evals = V * outs * m.pe_row_blocks if sa_rows_in_pe > 1 else 0
        # ProcessingUnit.cpp / Tile.cpp: an adder tree per ADC lane group sums one vector's
        # outputs at a time: V x ceil(cols per ADC / cells per weight) sequential reads
        tree_reads = V * math.ceil(config.cols_per_adc / cpw)
        all_lanes = quirk("unused_lanes_charged")
        if all_lanes and pe_evals:
            # ProcessingUnit.cpp: each PE slice's tree is evaluated tree_reads times over all
            # its lanes, however few outputs the slice holds
            pe_evals = tree_reads * f["pe_tree_lanes"] * m.pe_row_blocks * math.ceil(
                m.weight_cols / pe_c)
        c_pe_tree = f["pe_tree"].cost(num_ops=pe_evals, clock_period_s=clock,
                                      reads=tree_reads if pe_evals else 0,
                                      inputs=sa_rows_in_pe)
        pe_col_blocks = math.ceil(m.weight_cols / pe_c)
        # ProcessingUnit.cpp: input = rows x bit-vectors, output = outputs x adder bits x V
        pe_in_bits = NV * m.weight_rows * pe_col_blocks
        pe_out_bits = V * outs * m.pe_row_blocks * psum_bits
        pe_in_lines = rows_pe * NV / f["pe_in_w"]         # one register line per cycle
        pe_out_lines = cols_pe / cpw * psum_bits * V / f["pe_out_w"]
        c_pe_in = f["pe_in"].cost(num_bits=pe_in_bits, lines=pe_in_lines,
                                  clock_period_s=clock)
        c_pe_out = f["pe_out"].cost(num_bits=pe_out_bits, lines=pe_out_lines,
                                    clock_period_s=clock)
        # ProcessingUnit.cpp: bus traffic = inputs + outputs x (adder bits + stages)
        pe_bus_bits = pe_in_bits + V * outs * m.pe_row_blocks * (psum_bits + f["pe_stages"])
        # ProcessingUnit.cpp (one PE): inputs on the horizontal bus, one sub-array row of
        # inputs wide; partial sums on the vertical bus, every sub-array row's outputs at once
        grid_rows = math.ceil(pe_r / sa_r)
        pe_in_transfers = math.ceil(rows_pe * NV / max(1, sa_r))
        pe_out_transfers = math.ceil(cols_pe / cpw * (psum_bits + f["pe_stages"]) * V
                                     / max(1, grid_rows * sa_c))
        untimed = quirk("pe_bus_untimed")   # NeuroSim (synchronous) leaves it out
        # tables §5.9: the PE bus toggles input traffic at the input rate and partial sums at
        # the output rate (NeuroSim's Bus: x inputtoggle or x outputtoggle)
        pe_bus_out_bits = pe_bus_bits - pe_in_bits
        c_pe_bus = f["pe_bus"].cost(bits_in=pe_in_bits * config.input_toggle_rate,
                                    bits_out=pe_bus_out_bits * config.output_toggle_rate,
                                    num_bits=pe_bus_bits, clock_period_s=clock,
                                    transfers_in=0 if untimed else pe_in_transfers,
                                    transfers_out=0 if untimed else pe_out_transfers)
        for c in (c_sa, c_pe_tree, c_pe_in, c_pe_out, c_pe_bus):
            c.latency_s /= su            # Tile.cpp: PE latency / (speedUpRow x speedUpCol)
            for _, node in c.walk():
                if node is not c:
                    node.latency_s /= su
        # --- tile level (Tile.cpp), per distinct weight tile (duplicates share inputs);
        # latency of one tile, not divided by the speed-up
        n_pe_ns = f["n_pe_ns"]
        if m.novel:
            tile_rows = min(pe_r * n_pe_ns, m.weight_rows)
            t_bits_out = tile_rows * NV / math.sqrt(n_pe_ns)      # Tile.cpp (NM)
            row_blocks = math.ceil(m.weight_rows / (pe_r * n_pe_ns))
            tile_cols = min(pe_c, m.weight_cols)
            col_blocks = math.ceil(m.weight_cols / pe_c)
            t_in_total = m.weight_rows * NV / math.sqrt(n_pe_ns) * col_blocks
        else:
            T = mapping.cm_tile_cells
            tile_rows = min(T[0], m.weight_rows)
            t_bits_out = tile_rows * NV                            # Tile.cpp (CM)
            row_blocks = math.ceil(m.weight_rows / T[0])
            tile_cols = min(T[1], m.weight_cols)
            col_blocks = math.ceil(m.weight_cols / T[1])
            t_in_total = m.weight_rows * NV * col_blocks
        acc_stages = math.ceil(math.log2(n_pe_ns)) if n_pe_ns > 1 else 0
        acc_w = acc_stages + f["tile_bits"]
        t_bits_in = tile_cols / cpw * acc_w * V                    # Tile.cpp
        t_out_total = outs * acc_w * V * row_blocks
        pes_rows_in_tile = m.kernel_positions if m.novel else min(
            f["n_pe"] and int(math.sqrt(f["n_pe"])), m.pe_row_blocks)
        tile_evals = V * outs * m.tile_row_blocks if pes_rows_in_tile > 1 else 0
        if all_lanes and tile_evals:
            # Tile.cpp: each distinct tile's tree over all its lanes, tree_reads times
            tile_evals = tree_reads * f["t_tree_lanes"] * m.tile_row_blocks * col_blocks
        c_t_tree = f["t_tree"].cost(num_ops=tile_evals, clock_period_s=clock,
                                    reads=tree_reads if tile_evals else 0,
                                    inputs=pes_rows_in_tile)
        hw = f["htree_width"]
        in_cap, in_if, in_cores = f["in_shape"]
        out_cap, out_if, out_cores = f["out_shape"]
        # Tile.cpp: reads = writes = bits / interface / 2, one line per cycle, spread over
        # min(#cores, H-tree width / interface) cores in parallel
        in_par = min(in_cores, math.ceil(hw / in_if))
        out_par = min(out_cores, math.ceil(hw / out_if))
        c_t_in = f["t_in"].cost(num_bits=t_in_total, lines=t_bits_out / in_if / in_par,
                                clock_period_s=clock)
        c_t_out = f["t_out"].cost(num_bits=t_out_total, lines=t_bits_in / out_if / out_par,
                                  clock_period_s=clock)
        # Tile.cpp: H-tree transfers = (in + out bits) / bus width; energy on toggled bits
        c_htree = f["t_htree"].cost(
            toggled_bits=t_in_total * config.input_toggle_rate + t_out_total *
            config.output_toggle_rate, num_bits=t_in_total + t_out_total,
            clock_period_s=clock, transfers=math.ceil((t_bits_out + t_bits_in) / hw))

        core_children = [c_sa, c_pe_tree, c_pe_in, c_pe_out, c_pe_bus, c_t_tree, c_t_in,
                         c_t_out, c_htree]
        for c, nm in zip(core_children[1:], ("pe_adder_tree", "pe_input_buffer",
                                             "pe_output_buffer", "pe_bus", "tile_adder_tree",
                                             "tile_input_buffer", "tile_output_buffer",
                                             "tile_htree")):
            c.name = nm
        for c in core_children:
            _work_only(c)        # area and leakage are booked once per allocated tile below
        core_latency = sum(c.latency_s for c in core_children)
        # chip level, shared by all layers (time not divided by duplication)
        chip_children = []
        chip_latency = 0.0
        # Chip.cpp: NeuroSim adds a layer's tile rows at chip level whenever it has more than
        # one, duplicate tiles included (quirk); ours only the tiles that hold different
        # weight rows of one copy
        gacc_rows = m.tiles_row if quirk("global_accumulation_counts_duplicates") \
            else m.tile_row_blocks
        if gacc_rows > 1:
            c = gacc.cost(num_ops=V * outs, clock_period_s=clock, inputs=gacc_rows,
                          reads=math.ceil(V * outs / lanes))
            c.name = "global_accumulation"
            chip_children.append(c)
        c = act.cost(num_ops=V * outs, clock_period_s=clock)
        c.name = "activation"
        chip_children.append(c)
        pooled = any(s.startswith("maxpool") for s in g.followed_by)
        if pooled:
            c = pool.cost(num_ops=math.ceil(V * outs / 4), clock_period_s=clock)
            c.name = "max_pool"
            chip_children.append(c)
        # global traffic (Chip.cpp counts): in = rows x bits x vectors (NM: / sqrt(#PE) = K,
        # the K*K PEs share shifted copies of the same activations), out = Cout x bits x
        # vectors (/4 after max pooling)
        bits_in = m.weight_rows * B * V / (math.sqrt(f["n_pe"]) if m.novel else 1)
        bits_out = outs * B * V / (4 if pooled else 1)
        c = gbuf.cost(read_bits=bits_in, write_bits=bits_out, clock_period_s=clock,
                      parallel=min(n_gbuf_cores,
                                   math.ceil(bus_width / config.global_buffer_core_cols)))
        c.name = "global_buffer"
        chip_children.append(c)
        if config.global_interconnect == "xybus":
            # Chip.cpp (X-Y bus): inputs cross the horizontal bus in ceil(bits / width x
            # chip tile rows / layer tile rows) transfers, outputs the vertical bus in
            # ceil(bits / width x chip tile cols / layer tile cols) transfers
            n_in = math.ceil(bits_in / bus_width * grid_r / max(1, m.tiles_row))
            n_out = math.ceil(bits_out / bus_width * grid_c / max(1, m.tiles_col))
            c = gbus_of[m.novel].cost(bits_in=bits_in * config.input_toggle_rate,
                          bits_out=bits_out * config.output_toggle_rate,
                          transfers_in=n_in, transfers_out=n_out, clock_period_s=clock)
        else:
            # Chip.cpp (H-tree): a layer drives the share of the bus width its tiles hold,
            # ceil(width x layer tiles / chip tiles); ours (default): the whole width
            eff_w = max(1, math.ceil(bus_width * m.tiles / tiles_total)) \
                if quirk("global_htree_width_share") \
                else bus_width
            c = gbus_of[m.novel].cost(toggled_bits=bits_in * config.input_toggle_rate + bits_out *
                          config.output_toggle_rate, num_bits=bits_in + bits_out,
                          clock_period_s=clock,
                          transfers=math.ceil((bits_in + bits_out) / eff_w))
        c.name = "global_bus"
        chip_children.append(c)
        for c in chip_children:
            _work_only(c)        # chip blocks' area and leakage are booked once, at chip level
            chip_latency += c.latency_s
        latency = core_latency + chip_latency
        tiles_node = Cost(name="tiles", category="other", latency_s=core_latency,
                          area_m2=0.0, count=m.tiles)
        tiles_node.children.extend(core_children)
        # allocated hardware of this layer: area and idle leakage of its tiles
        hw = Cost(name="tile_hardware", category="other", count=m.tiles)
        hw.children.extend(_tile_static(f, sa, m.tiles))
        layer_node = Cost(name=m.name, category="other", latency_s=latency)
        layer_node.children.extend([tiles_node, hw] + chip_children)
        idle = m.tiles * f["tile_leak"]
        if quirk("adder_tree_leaks_used_stages"):
            # ProcessingUnit.cpp / Tile.cpp: an adder tree's leakage is evaluated for the
            # inputs the layer feeds it (AdderTree::CalculatePower(numRead, numUnitAdd)), so
            # the stages a layer leaves unused do not leak
            lanes_pe = f["pe_tree_lanes"]
            used_pe = min(math.ceil(pe_r / sa_r), math.ceil(rows_per_pe_copy / sa_r))
            idle -= m.tiles * f["n_pe"] * (f["pe_tree"].leakage_W - physics.adder_tree(
                used_pe, psum_bits, lanes_pe).leakage_W)
            if not m.novel:
                side = mapping.cm_pes_per_tile_side
                used_t = min(side, math.ceil(min(mapping.cm_tile_cells[0], m.weight_rows)
                                             / pe_r))
                idle -= m.tiles * (f["t_tree"].leakage_W - physics.adder_tree(
                    used_t, f["tile_bits"], max(1, side * pe_c // config.cols_per_adc)
                ).leakage_W)
        in_use_sa = getattr(sa, "leakage_in_use_W", sa.leakage_W)
        if quirk("in_use_leakage_sram_only") and hasattr(sa, "array_leakage_in_use_W"):
            # main.cpp (pipeline): a busy tile leaks only its SRAM-in-use cells
            in_use = m.tiles * f["n_work"] * f["n_pe"] * sa.array_leakage_in_use_W
        else:
            # ours: a busy tile's peripherals keep leaking; its array at the in-use rate
            in_use = idle - m.tiles * f["n_work"] * f["n_pe"] * (sa.leakage_W - in_use_sa)
        energy = layer_node.total_dynamic_energy_J
        layer_results.append(LayerResult(
            mapping=m, tree=layer_node, latency_s=latency, dynamic_energy_J=energy,
            leakage_W=idle, leakage_in_use_W=in_use, area_m2=m.tiles * f["tile_area"],
            read_cycle_s=cycle,
            breakdown_latency_s={"core": core_latency, "chip": chip_latency}))

    # --- chip totals ----------------------------------------------------------------------
    lat = [r.latency_s for r in layer_results]
    image_time = max(lat) if config.pipeline else sum(lat)
    chip_static = [
        _static("global_buffer", gbuf, "buffer", n_gbuf_cores),
        _static("global_bus", gbus, "interconnect"),
        _static("global_accumulation", gacc, "accumulation"),
        _static("activation", act, "other"),
        _static("max_pool", pool, "other"),
    ]
    chip_leak = sum(c.leakage_W for c in chip_static)
    for r in layer_results:
        if config.pipeline:
            # busy for its own stage time at the in-use rate, idle the rest of the image time
            r.leakage_energy_J = r.leakage_in_use_W * r.latency_s + \
                r.leakage_W * (image_time - r.latency_s)
        elif quirk("layer_by_layer_leakage_running_tile"):
            # main.cpp (layer by layer): while layer i runs, the other layers' tiles are
            # charged at layer i's own per-tile leakage
            per_tile = r.leakage_W / max(1, r.mapping.tiles)
            r.leakage_energy_J = r.latency_s * (r.leakage_in_use_W + per_tile * (
                tiles_total - r.mapping.tiles))
        else:
            # layer by layer: the tiles leak for the whole image (in use only while running)
            r.leakage_energy_J = r.leakage_in_use_W * r.latency_s + \
                r.leakage_W * (image_time - r.latency_s)
    leak_energy = sum(r.leakage_energy_J for r in layer_results)
    if not quirk("chip_blocks_no_leakage"):
        leak_energy += chip_leak * image_time    # ours: chip-level blocks leak too
    leakage_W = leak_energy / image_time if image_time > 0 else 0.0
    chip_node = Cost(name="chip", category="other", latency_s=image_time)
    chip_node.children.extend(chip_static)
    layers_node = Cost(name="layers", category="other", latency_s=image_time)
    layers_node.children.extend(r.tree for r in layer_results)
    chip_node.children.append(layers_node)
    return ChipResult(tree=chip_node, layers=layer_results, clock_period_s=clock,
                      latency_s=image_time, dynamic_energy_J=chip_node.total_dynamic_energy_J,
                      leakage_energy_J=leak_energy, leakage_W=leakage_W,
                      area_m2=chip_node.total_area_m2, chip_blocks=chip_node)


def _work_only(c: Cost) -> None:
    """Zero area and leakage in a work subtree (they belong to the hardware nodes)."""
    for _, node in c.walk():
        node.area_m2 = 0.0
        node.leakage_W = 0.0


def _tile_static(f: dict, sa: Any, tiles: int) -> list[Cost]:
    """Area and leakage of ``tiles`` allocated tiles, per component with its category."""
    n_sa_total = f["n_sa"] * f["n_pe"] * tiles
    n_work_total = f.get("n_work", f["n_sa"]) * f["n_pe"] * tiles
    out = []
    by_cat = getattr(sa, "area_by_category", None) or {"array": sa.area_m2}
    for cat, area in by_cat.items():
        out.append(Cost(name=f"subarray_{cat}", category=cat, area_m2=area * n_sa_total,
                        count=n_sa_total,
                        leakage_W=(sa.leakage_W * n_work_total if cat == "array" else 0.0)))
    if not any(c.category == "array" for c in out):
        out[0].leakage_W = sa.leakage_W * n_work_total
    blank = getattr(sa, "whitespace_m2", 0.0)
    if blank:
        # the unused corner of each sub-array's bounding box (SubArray.cpp emptyArea): part
        # of the area, in no component's row (UNUSED_AREA_NODES: reported as unused area)
        out.append(Cost(name=UNUSED_AREA_NODES[0], category="other",
                        area_m2=blank * n_sa_total, count=n_sa_total))
    n_pe = f["n_pe"] * tiles
    for key, name, cat in (("pe_tree", "pe_adder_tree", "accumulation"),
                           ("pe_in", "pe_input_buffer", "buffer"),
                           ("pe_out", "pe_output_buffer", "buffer"),
                           ("pe_bus", "pe_bus", "interconnect")):
        out.append(_static(name, f[key], cat, n_pe))
    cores = {"t_in": f.get("in_shape", (0, 0, 1))[2], "t_out": f.get("out_shape", (0, 0, 1))[2]}
    for key, name, cat in (("t_tree", "tile_adder_tree", "accumulation"),
                           ("t_in", "tile_input_buffer", "buffer"),
                           ("t_out", "tile_output_buffer", "buffer"),
                           ("t_htree", "tile_htree", "interconnect")):
        # Tile.cpp: a tile buffer's area is one core's times its number of cores
        out.append(_static(name, f[key], cat, tiles * cores.get(key, 1)))
    return out


# --------------------------------------------------------------------------------------------
def _changed_slices_lut(config: HardwareConfig) -> np.ndarray:
    """For every XOR of two offset weight codes, how many cell_bits slices differ (ours)."""
    x = np.arange(1 << config.weight_bits, dtype=np.int64)
    slices = -(-config.weight_bits // config.cell_bits)
    shifts = config.cell_bits * np.arange(slices)
    return (((x[:, None] >> shifts) & ((1 << config.cell_bits) - 1)) != 0).sum(axis=1)


def write_cost(mapping: NetworkMapping, physics: Physics) -> tuple[float, float]:
    """(energy J, latency s) to program every mapped cell, duplicates included. Rows of a
    subarray are written one after another, all subarrays in parallel (ours)."""
    e_cell = physics.write_energy_per_cell_J()
    t_row = physics.write_time_per_row_s()
    cells = sum(m.weight_rows * m.weight_cols * max(1, m.used_subarrays // max(
        1, m.weight_subarrays)) for m in mapping.layers)
    return cells * e_cell, mapping.subarray_rows * t_row


def rewrite_cost(mapping: NetworkMapping, old: Sequence[LayerTrace], new: Sequence[LayerTrace],
                 config: HardwareConfig, physics: Physics) -> tuple[float, float, int]:
    """(energy J, latency s, changed cells) to rewrite only the cells whose value changes
    between two traces of the same network. Latency: the most changed rows in any
    subarray row block, times the per-row write time (ours)."""
    e_cell = physics.write_energy_per_cell_J()
    t_row = physics.write_time_per_row_s()
    energy, worst_rows, changed_total = 0.0, 0, 0
    lut = _changed_slices_lut(config)
    mask = (1 << config.weight_bits) - 1
    for m, a, b in zip(mapping.layers, old, new):
        if a.weight_codes.shape != b.weight_codes.shape:
            raise ValueError(f"layer {m.name!r}: weight shapes differ between the traces "
                             f"({a.weight_codes.shape} vs {b.weight_codes.shape})")
        # offset codes differ exactly where the signed codes differ: XOR the two's complement
        xor = (a.weight_codes.astype(np.int16) ^ b.weight_codes.astype(np.int16)) & mask
        xor = xor.reshape(xor.shape[0], -1)                      # (Cout, rows)
        copies = max(1, m.used_subarrays // max(1, m.weight_subarrays))
        changed = int(lut[xor].sum())
        changed_total += changed * copies
        energy += changed * copies * e_cell
        row_changed = (xor != 0).any(axis=0)
        for group in m.row_groups:
            rc = row_changed[group].astype(np.int64)
            if rc.size:
                blocks = np.add.reduceat(rc, np.arange(0, rc.size, mapping.subarray_rows))
                worst_rows = max(worst_rows, int(blocks.max()))
    return energy, worst_rows * t_row, changed_total


# --------------------------------------------------------------------------------------------
class _Adapted:
    """A contract component seen through the hierarchy's counts (num_ops / num_bits)."""

    def __init__(self, component: Any, name: str, translate, latency=None):
        self.component = component
        self._latency = latency
        self.name = name
        self.area_m2 = float(component.area_m2)
        self.width_m = float(getattr(component, "width_m", 0.0) or 0.0)
        self.height_m = float(getattr(component, "height_m", 0.0) or 0.0)
        self.leakage_W = float(component.leakage_W)
        self._translate = translate

    def cost(self, **counts: Any) -> Cost:
        kwargs = self._translate(counts)
        c = self.component.cost(count=1, **kwargs)
        c.name = self.name
        if self._latency is not None:
            lat = self._latency(counts)
            if lat is not None:
                c.latency_s = lat
        return c


_REQUIRED = ("chip.technology", "chip.activity", "chip.components.subarray",
             "chip.components.adder_tree", "chip.components.buffer", "chip.components.bus",
             "chip.components.htree", "chip.components.xybus", "chip.components.max_pool",
             "chip.components.activation")


class ContractPhysics:
    """The circuit models of docs/chip-internals.md behind the hierarchy's `Physics` calls.

    The only place that knows the components' constructor and activity keywords; the
    hierarchy passes totals per image (``num_ops`` evaluations, ``num_bits`` moved)."""

    def __init__(self, config: HardwareConfig):
        import importlib
        missing = []
        for mod in _REQUIRED:
            try:
                importlib.import_module(mod)
            except ImportError as err:
                missing.append(f"{mod} ({err})")
        if missing:
            raise PhysicsUnavailable("circuit models not available: " + "; ".join(missing))
        from chip.technology import TechContext
        try:
            self.ctx = TechContext(config)
        except ImportError as err:
            raise PhysicsUnavailable(str(err)) from None
        self.config = config
        self._sa = None

    def _clock(self, counts: dict) -> float | None:
        return counts.get("clock_period_s") if self.config.clock == "synchronous" else None

    def subarray(self, rows: int, cols: int):
        from chip.components.subarray import SubArray
        if self._sa is None:
            self._sa = SubArray(self.ctx, self.config, rows=rows, cols=cols)
        return self._sa

    def activity(self, layer: LayerTrace, row_groups: list[np.ndarray]):
        from chip.activity import layer_activity
        config = self.config
        # chip/activity.py reads config.compat itself: its conventions are the quirk
        # "activity_counting" (chip/compat.py)
        want = self.ctx.quirk("activity_counting")
        if want != (config.compat == "neurosim-1.4"):
            config = config.replace(compat="neurosim-1.4" if want else "none")
        return layer_activity(layer, config, row_groups, ctx=self.ctx)

    def subarray_output_bits(self) -> int:
        sa = self.subarray(self.config.subarray_rows, self.config.subarray_cols)
        bits = getattr(sa, "output_bits", None)
        if bits:
            return int(bits)
        c = self.config
        # tables §5.10: sub-array output bits (parallel / sequential read)
        if c.operation_mode == "parallel":
            return c.adc_bits + math.ceil(math.log2(math.ceil(c.subarray_rows / c.parallel_rows)
                                                    or 1)) + c.activation_bits + \
                (c.cells_per_weight - 1) * c.cell_bits + 1
        return math.ceil(math.log2(c.subarray_rows)) + c.cell_bits + c.activation_bits + \
            (c.cells_per_weight - 1) * c.cell_bits + 1

    def adder_tree(self, num_inputs: int, input_bits: int, lanes: int) -> Block:
        from chip.components.adder_tree import AdderTree
        comp = AdderTree(self.ctx, self.config, num_inputs=max(1, num_inputs),
                         num_bits=max(1, input_bits), num_units=max(1, lanes))

        all_lanes = self.ctx.quirk("unused_lanes_charged")

        def tr(c):
            ops = c.get("num_ops", 0)
            # AdderTree.cpp (CalculatePower): every evaluation is charged x numAdderTree, all
            # lanes (quirk unused_lanes_charged); ours: the lanes that carry an operand
            used = comp.num_units if all_lanes else min(comp.num_units, ops)
            return dict(num_reads=math.ceil(ops / comp.num_units) if ops else 0,
                        num_units_used=used if ops else 0,
                        clock_period_s=self._clock(c), num_inputs=c.get("inputs"))

        def latency(c):
            # ``reads``: sequential evaluations of one tree instance (critical path);
            # ``inputs``: the operands the layer feeds it
            if "reads" not in c:
                return None
            return comp.latency_s(num_reads=c["reads"], clock_period_s=self._clock(c),
                                  num_inputs=c.get("inputs"))
        return _Adapted(comp, "adder_tree", tr, latency)

    def buffer(self, level: str, capacity_bits: int, interface_bits: int,
               width_m: float | None = None, height_m: float | None = None) -> Block:
        from chip.components.buffer import Buffer
        kind = {"global": self.config.global_buffer, "tile": self.config.tile_buffer,
                "pe": self.config.pe_buffer}[level]
        comp = Buffer(self.ctx, self.config, num_bits=max(1, int(capacity_bits)),
                      interface_width=max(1, int(interface_bits)), kind=kind,
                      width_m=width_m, height_m=height_m)

        # a bit passing through a buffer is written once and read once: reads = writes =
        # bits / interface (ours); NeuroSim's Tile.cpp halves both counts for the tile
        # buffers (tables §5.11), compat keeps that; its PE buffers count whole lines. The
        # global buffer is read for a layer's inputs and written with its outputs
        # (``read_bits`` / ``write_bits``, Chip.cpp).
        halve = 2.0 if (self.ctx.quirk("buffer_traffic_halved") and level == "tile") else 1.0
        width = max(1, int(interface_bits))

        def accesses(c):
            if "read_bits" in c or "write_bits" in c:
                return c.get("read_bits", 0) / width, c.get("write_bits", 0) / width
            lines = c.get("num_bits", 0) / width / halve
            return lines, lines

        def tr(c):
            # energy: every access, whichever core serves it
            reads, writes = accesses(c)
            return dict(num_reads=reads, num_writes=writes, clock_period_s=self._clock(c))

        def latency(c):
            # ``lines``: line accesses on the critical path (one buffer instance); else all
            # accesses spread over ``parallel`` cores working at once
            if "lines" in c:
                return comp.latency_s(num_reads=c["lines"], num_writes=0.0,
                                      clock_period_s=self._clock(c))
            reads, writes = accesses(c)
            par = max(1, c.get("parallel", 1))
            return comp.latency_s(num_reads=(reads + writes) / par, num_writes=0.0,
                                  clock_period_s=self._clock(c))
        return _Adapted(comp, f"{level}_buffer", tr, latency)

    def bus(self, level: str, rows: int, cols: int, unit_height_m: float, unit_width_m: float,
            bus_width: int, output_width: int | None = None) -> Block:
        c = self.config
        if level == "pe":
            from chip.components.bus import Bus
            comp = Bus(self.ctx, self.config, num_rows=max(1, rows), num_cols=max(1, cols),
                       unit_height_m=unit_height_m, unit_width_m=unit_width_m,
                       bus_width=max(1, bus_width), output_width=output_width)
        elif level == "tile" or c.global_interconnect == "htree":
            from chip.components.htree import HTree
            tol = c.local_bus_delay_tolerance if level == "tile" else c.global_bus_delay_tolerance
            comp = HTree(self.ctx, self.config, num_rows=max(1, rows), num_cols=max(1, cols),
                         unit_height_m=unit_height_m, unit_width_m=unit_width_m,
                         bus_width=max(1, bus_width), delay_tolerance=tol,
                         folded_ratio=16 if level == "tile" else 4)
        else:
            from chip.components.xybus import XYBus
            comp = XYBus(self.ctx, self.config, num_rows=max(1, rows), num_cols=max(1, cols),
                         unit_height_m=unit_height_m, unit_width_m=unit_width_m,
                         bus_width=max(1, bus_width),
                         delay_tolerance=c.global_bus_delay_tolerance)
        width = max(1, bus_width)

        def tr(counts):
            bits = counts.get("num_bits", 0)
            if "toggled_bits" in counts:      # bits already weighted by their toggle rates
                bits = counts["toggled_bits"] / comp.toggle if comp.toggle else 0.0
            out = dict(num_bits=bits, num_transfers=counts.get("transfers",
                                                               math.ceil(bits / width)),
                       clock_period_s=self._clock(counts))
            for key in ("bits_in", "bits_out", "transfers_in", "transfers_out"):
                if key in counts:
                    out[key] = counts[key]
            return out
        return _Adapted(comp, f"{level}_bus", tr)

    def max_pool(self, bits: int, window: int, lanes: int) -> Block:
        from chip.components.max_pool import MaxPool
        comp = MaxPool(self.ctx, self.config, num_bits=bits, window=window, num_units=lanes)
        return _Adapted(comp, "max_pool", lambda c: dict(
            num_reads=math.ceil(c.get("num_ops", 0) / lanes), clock_period_s=self._clock(c)))

    def activation(self, bits: int, lanes: int) -> Block:
        from chip.components.activation import Activation
        comp = Activation(self.ctx, self.config, num_bits=bits, num_units=lanes)
        return _Adapted(comp, "activation", lambda c: dict(
            num_reads=math.ceil(c.get("num_ops", 0) / lanes), clock_period_s=self._clock(c)))

    def write_energy_per_cell_J(self) -> float:
        sa = self.subarray(self.config.subarray_rows, self.config.subarray_cols)
        if hasattr(sa, "write_energy_per_cell_J"):
            return float(sa.write_energy_per_cell_J)
        c = self.config
        if c.memory_cell == "sram":
            # ours: charge the cell's two internal nodes and its bit-line share, C V^2
            return 2 * self.ctx.gate_cap(self.ctx.w_min_m) * self.ctx.vdd_V ** 2 + \
                self.ctx.wire_cap_F_per_m * self.ctx.cell_height_m * self.ctx.vdd_V ** 2
        # ours: one write pulse through the mean cell conductance, V_w^2 G t
        g_mean = 0.5 * (1.0 / c.r_on_ohm + 1.0 / c.r_off_ohm)
        return c.write_voltage_V ** 2 * g_mean * c.write_pulse_width_s

    def write_time_per_row_s(self) -> float:
        sa = self.subarray(self.config.subarray_rows, self.config.subarray_cols)
        if hasattr(sa, "write_time_per_row_s"):
            return float(sa.write_time_per_row_s)
        c = self.config
        if c.memory_cell == "sram":
            return max(sa.read_cycle_s, 1.0 / c.clock_freq_max_Hz)   # ours: one cycle per row
        return 2 * c.write_pulse_width_s        # ours: a SET and a RESET phase per row


def default_physics(config: HardwareConfig) -> Physics:
    """The provider backed by chip.technology / chip.components / chip.activity."""
    return ContractPhysics(config)
