"""The chip-level blocks every layer shares: the global buffer, the global interconnect (H-tree
or X-Y bus), the global accumulation of layers that span several tile rows, the activation
unit and max pooling (DNN+NeuroSim V1.4 Chip.cpp, tables §5.11), and the digital units of the
nonlinear functions the trace names after a layer (GELU, SiLU, Hardswish, sigmoid, tanh,
softmax, LayerNorm; chip.components.nonlinear, ours).
"""
from __future__ import annotations

import math
from typing import Sequence

from chip.compat import quirk_on
from chip.cost import Cost
from chip.mapping import LayerMapping, NetworkMapping
from chip.pe import LayerLoad
from chip.tile import Tile
from chip.usage import buffer_work, bus_work, static, tree_work, unit_work
from contracts.trace import LayerGeometry, pool_shape

__all__ = ["GlobalBlocks", "NONLINEAR_OPS", "VECTOR_OPS", "nonlinear_ops", "vector_shape"]

#: the trace's names (``followed_by``) of the functions with a digital unit of their own
NONLINEAR_OPS = ("gelu", "silu", "hardswish", "sigmoid", "tanh", "softmax", "layernorm")
#: the functions over a whole vector (one unit, sized for the longest vector it meets)
VECTOR_OPS = ("softmax", "layernorm")


def vector_shape(geometry: LayerGeometry, op: str) -> tuple[int, int]:
    """(vectors per input vector, length) a vector function ``op`` sees of the layer's
    outputs: softmax after a dynamic product normalizes each head's row of N scores (H
    vectors of N per query); otherwise one vector of all out_channels."""
    if op == "softmax" and geometry.dynamic:
        return geometry.groups, geometry.out_channels // geometry.groups
    return 1, geometry.out_channels


def nonlinear_ops(geometry: LayerGeometry, config) -> tuple[str, ...]:
    """The functions, in order, whose units take the layer's outputs: those of NONLINEAR_OPS
    after it, but the one the chip's activation unit computes (config.activation_function).
    None of them: the activation unit, which NeuroSim charges after every layer whatever
    follows."""
    return tuple(s for s in geometry.followed_by
                 if s in NONLINEAR_OPS and s != config.activation_function)


def _max_pool(geometry: LayerGeometry) -> tuple[tuple[int, int] | None, int]:
    """(window, output reduction = stride_h x stride_w) of the max pool after a layer, or
    (None, 1) when none follows it."""
    for step in geometry.followed_by:
        shape = pool_shape(step)
        if shape and shape[0] == "max":
            return shape[1], shape[2][0] * shape[2][1]
    return None, 1


class GlobalBlocks:
    """The shared blocks of one chip, sized for its layers and tiles."""

    def __init__(self, parts, config, mapping: NetworkMapping, tiles: dict[bool, Tile],
                 geometries: Sequence[LayerGeometry], psum_bits: int):
        self.config, self.mapping = config, mapping
        B = config.activation_bits
        # global buffer capacity: the largest layer input (layer-by-layer) or half the sum of
        # all layer inputs (pipelined), x activation bits (tables §5.11)
        inputs = [g.input_hw[0] * g.input_hw[1] * g.in_channels for g in geometries]
        bits = B * (sum(inputs) // 2 if config.pipeline else max(inputs))
        core = config.global_buffer_core_rows * config.global_buffer_core_cols
        self.buffer_cores = max(1, math.ceil(bits / core))
        self.buffer = parts.buffer("global", core, config.global_buffer_core_cols)
        self._interconnect(parts, tiles)
        self._accumulation(parts, tiles, psum_bits)
        self.activation = parts.activation(B, self.lanes)
        # ours: the pooling lanes follow the activation's (every pipelined layer at once);
        # NeuroSim sizes the max-pool for one tile's outputs (quirk)
        self.pool_lanes = max(1, math.ceil(self._tile_cols / config.cols_per_adc)) \
            if quirk_on(config, "maxpool_single_tile_lanes") else self.lanes
        # one max-pool unit, its comparator tree sized for the largest window the layers
        # pool over (2x2 when none pools)
        windows = [w[0] * w[1] for g in geometries for w in [_max_pool(g)[0]] if w]
        self.pool = parts.max_pool(B, max(windows, default=4), self.pool_lanes)
        self._nonlinear(parts, geometries)

    def _nonlinear(self, parts, geometries: Sequence[LayerGeometry]) -> None:
        """One unit per function the layers need (ours): element-wise ones with the activation
        unit's lanes, a softmax (LayerNorm) unit over the longest vector it meets; pipelined,
        one such vector unit per layer that uses it, as the activation lanes serve every
        pipelined layer at once (a single one would make the layers take turns on it)."""
        lengths: dict[str, int] = {}
        self.vector_units: dict[str, int] = {}
        for g in geometries:
            for op in nonlinear_ops(g, self.config):
                lengths[op] = max(lengths.get(op, 1), vector_shape(g, op)[1])
                if op in VECTOR_OPS:
                    self.vector_units[op] = self.vector_units.get(op, 0) + 1
        if not self.config.pipeline:
            self.vector_units = dict.fromkeys(self.vector_units, 1)
        B = self.config.activation_bits
        self.nonlinear = {op: parts.nonlinear(op, B, 1 if op in VECTOR_OPS else self.lanes, n)
                          for op, n in lengths.items()}

    def _interconnect(self, parts, tiles: dict[bool, Tile]) -> None:
        """The global bus spans a grid of the largest tiles (Chip.cpp ChipCalculateArea);
        width: sum over layers of (tile width + tile width / cols_per_adc) x tiles, halved
        until <= max_global_bus_width (tables §5.11)."""
        cfg, mapping = self.config, self.mapping
        grid_r, grid_c = self.grid = mapping.tile_grid
        side = max(t.side_m for t in tiles.values())
        width = 0.0
        for m in mapping.layers:
            tw = mapping.cm_tile_cells[1] if not m.novel else mapping.nm_pe_cells[1] * math.ceil(
                math.sqrt(mapping.nm_pes_per_tile))
            width += (tw + tw / cfg.cols_per_adc) * (m.tiles if cfg.pipeline else 1)
        while width > cfg.max_global_bus_width:
            width /= 2
        self.bus_width = max(1, int(width))
        self.bus = parts.bus("global", grid_r, grid_c, side, side, self.bus_width)
        # ours times every transfer on the grid of the largest tiles; NeuroSim on the pitch
        # of the layer's own tile flavour (quirk)
        self.bus_of = {novel: self.bus for novel in tiles}
        if quirk_on(cfg, "global_bus_layer_tile_size"):
            self.bus_of = {novel: self.bus if t.side_m == side else parts.bus(
                "global", grid_r, grid_c, t.side_m, t.side_m, self.bus_width)
                for novel, t in tiles.items()}

    def _accumulation(self, parts, tiles: dict[bool, Tile], psum_bits: int) -> None:
        """Adds the tile rows of layers that span several (Chip.cpp)."""
        cfg, mapping = self.config, self.mapping
        # output columns of one tile: a CM tile's width; an NM tile's K*K PEs add up into one
        # PE's width (Chip.cpp: maxThroughputTile = max(CM tile, NM PE size))
        self._tile_cols = max(mapping.cm_tile_cells[1], mapping.nm_pe_cells[1])
        lanes = max(1, math.ceil(self._tile_cols / cfg.cols_per_adc))
        if cfg.pipeline and mapping.nm_pes_per_tile:
            lanes *= len(mapping.layers) + 1    # NeuroSim: x (#layers + 1) when pipelined NM
        self.lanes = lanes
        inputs = max(2, max(m.tile_row_blocks for m in mapping.layers))
        bits = tiles[next(iter(tiles))].output_bits + math.ceil(math.log2(inputs))
        if quirk_on(cfg, "global_accumulation_sizing"):
            # Chip.cpp (ChipInitialize): maxTileAdded = the most tile rows of any layer,
            # duplicates included; width = sub-array output bits + ceil(log2 maxAddFromSubArray),
            # maxAddFromSubArray = max PE rows of sub-arrays x max(PEs per CM tile side,
            # sqrt(#NM PEs)), x (#layers + 1) when pipelined
            sa_r = mapping.subarray_rows
            inputs = max(2, max(m.tiles_row for m in mapping.layers))
            pe_rows = max(math.ceil(mapping.cm_pe_cells[0] / sa_r),
                          math.ceil(mapping.nm_pe_cells[0] / sa_r))
            per_tile = max(mapping.cm_pes_per_tile_side,
                           math.ceil(math.sqrt(mapping.nm_pes_per_tile or 1)))
            most = max(1, pe_rows * per_tile * (len(mapping.layers) + 1 if cfg.pipeline
                                                else 1))
            bits = psum_bits + math.ceil(math.log2(most))
        self.accumulation = parts.adder_tree(inputs, bits, lanes)

    def static(self) -> list[Cost]:
        return [static("global_buffer", self.buffer, "buffer", self.buffer_cores),
                static("global_bus", self.bus, "interconnect"),
                static("global_accumulation", self.accumulation, "accumulation"),
                static("activation", self.activation, "other"),
                static("max_pool", self.pool, "other"),
                *(static(op, unit, "other", self.vector_units.get(op, 1))
                  for op, unit in self.nonlinear.items())]

    def cost(self, load: LayerLoad, geometry: LayerGeometry, tile: Tile) -> list[Cost]:
        """The layer's work on the shared blocks (time not divided by duplication)."""
        m, cfg = load.mapping, self.config
        V, outs = load.vectors, load.outputs
        nodes = []
        # Chip.cpp: NeuroSim adds a layer's tile rows at chip level whenever it has more than
        # one, duplicate tiles included (quirk); ours only the tiles that hold different
        # weight rows of one copy
        rows = m.tiles_row if quirk_on(cfg, "global_accumulation_counts_duplicates") \
            else m.tile_row_blocks
        if rows > 1:
            nodes.append(tree_work(self.accumulation, "global_accumulation", ops=V * outs,
                                   reads=math.ceil(V * outs / self.lanes), inputs=rows,
                                   clock=load.clock,
                                   all_lanes=quirk_on(cfg, "unused_lanes_charged")))
        ops = nonlinear_ops(geometry, cfg)
        for op in ops:             # softmax, LayerNorm: whole vectors of the outputs
            nodes.append(unit_work(self.nonlinear[op], op, ops=V * vector_shape(geometry, op)[0]
                                   if op in VECTOR_OPS else V * outs,
                                   lanes=self.nonlinear[op].num_units, clock=load.clock))
        if not ops:
            nodes.append(unit_work(self.activation, "activation", ops=V * outs,
                                   lanes=self.lanes, clock=load.clock))
        window, reduction = _max_pool(geometry)
        if window:                 # one pooled output per read, stride_h x stride_w fewer
            nodes.append(unit_work(self.pool, "max_pool", ops=math.ceil(V * outs / reduction),
                                   lanes=self.pool_lanes, clock=load.clock))
        # global traffic (Chip.cpp counts): in = rows x bits x vectors (NM: / sqrt(#PE) = K,
        # the K*K PEs share shifted copies of the same activations), out = Cout x bits x
        # vectors (/ the pooling reduction, 4 for NeuroSim's 2x2 max pool)
        B = cfg.activation_bits
        bits_in = (m.input_rows or m.weight_rows) * B * V / (math.sqrt(tile.flavour.pes)
                                                             if m.novel else 1)
        bits_out = outs * B * V / reduction
        if geometry.dynamic:       # its second operand (K^T or V) comes the same way (ours)
            bits_in += geometry.groups * geometry.rows * (
                geometry.out_channels // geometry.groups) * geometry.weight_bits
        parallel = min(self.buffer_cores,
                       math.ceil(self.bus_width / cfg.global_buffer_core_cols))
        nodes.append(buffer_work(self.buffer, "global_buffer", clock=load.clock,
                                 interface_bits=cfg.global_buffer_core_cols,
                                 read_bits=bits_in, write_bits=bits_out, parallel=parallel))
        nodes.append(self._bus_cost(load, m, bits_in, bits_out))
        return nodes

    def _bus_cost(self, load: LayerLoad, m: LayerMapping, bits_in: float,
                  bits_out: float) -> Cost:
        # a product on the digital unit (no tiles) uses the bus of the largest tiles
        cfg, bus = self.config, self.bus_of.get(m.novel, self.bus)
        if cfg.global_interconnect == "xybus":
            # Chip.cpp (X-Y bus): inputs cross the horizontal bus in ceil(bits / width x chip
            # tile rows / layer tile rows) transfers, outputs the vertical bus in
            # ceil(bits / width x chip tile cols / layer tile cols) transfers
            grid_r, grid_c = self.grid
            return bus_work(bus, "global_bus", clock=load.clock,
                            bits_in=bits_in * cfg.input_toggle_rate,
                            bits_out=bits_out * cfg.output_toggle_rate,
                            transfers_in=math.ceil(bits_in / self.bus_width * grid_r
                                                   / max(1, m.tiles_row)),
                            transfers_out=math.ceil(bits_out / self.bus_width * grid_c
                                                    / max(1, m.tiles_col)))
        # Chip.cpp (H-tree): a layer drives the share of the bus width its tiles hold,
        # ceil(width x layer tiles / chip tiles); ours (default): the whole width
        width = max(1, math.ceil(self.bus_width * m.tiles / self.mapping.num_tiles)) \
            if quirk_on(cfg, "global_htree_width_share") else self.bus_width
        return bus_work(bus, "global_bus", clock=load.clock,
                        toggled_bits=bits_in * cfg.input_toggle_rate + bits_out
                        * cfg.output_toggle_rate,
                        transfers=math.ceil((bits_in + bits_out) / width))
