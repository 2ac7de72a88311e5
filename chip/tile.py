"""Tile: PEs with the adder tree that sums their partial sums, the tile input and output
buffers and the H-tree that connects them (DNN+NeuroSim V1.4 Tile.cpp, reference §2, §7).

Two flavours, as in NeuroSim: a conventional tile is a square grid of PEs holding different
weight rows and columns; a novel-mapped tile holds the K x K kernel positions of a layer on
K x K PEs, whose outputs add up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chip.compat import quirk_on
from chip.cost import Cost
from chip.mapping import NetworkMapping
from chip.pe import PE, LayerLoad, stages
from chip.usage import buffer_work, bus_work, static, tree_work

__all__ = ["Tile", "TileFlavour"]


@dataclass(frozen=True)
class TileFlavour:
    """How a tile is organised (from the mapping)."""

    novel: bool
    pe_cells: tuple[int, int]       # weight rows x columns one PE holds
    tile_cells: tuple[int, int]     # ... one tile holds (conventional tiles)
    pes: int                        # PEs in the tile
    pe_grid: tuple[int, int]        # PEs per tile side

    @property
    def neurosim_pes(self) -> int:
        """NeuroSim's numPE: all K x K PEs of a novel tile, one side of a conventional one."""
        return self.pes if self.novel else self.pe_grid[0]

    @classmethod
    def of(cls, mapping: NetworkMapping, novel: bool) -> "TileFlavour":
        if novel:
            side = math.ceil(math.sqrt(max(1, mapping.nm_pes_per_tile)))
            return cls(True, mapping.nm_pe_cells, mapping.nm_pe_cells, mapping.nm_pes_per_tile,
                       (side, side))
        side = mapping.cm_pes_per_tile_side
        return cls(False, mapping.cm_pe_cells, mapping.cm_tile_cells, side * side, (side, side))


class Tile:
    """One tile of ``flavour`` built around ``pe``; its area, leakage and side, and the
    work of a layer on it (``cost``)."""

    def __init__(self, parts, config, pe: PE, flavour: TileFlavour, psum_bits: int):
        self.config, self.pe, self.flavour = config, pe, flavour
        if quirk_on(config, "tile_output_bits_sqrt"):
            # Tile.cpp: numBitPEOutputCM = sub-array output bits + ceil(sqrt(#subarrays/PE))
            self.output_bits = psum_bits + math.ceil(math.sqrt(pe.working))
        else:
            self.output_bits = psum_bits + pe.stages    # ours: the PE adder tree's output width
        pe_c, cpa = flavour.pe_cells[1], config.cols_per_adc
        # Tile.cpp: NM tile: one tree over its K*K PEs per ADC lane of a PE (they hold the
        # kernel positions of the same outputs); CM tile: one tree over a PE column per ADC
        # lane of every PE column (the PE columns hold different outputs)
        if flavour.novel:
            self.tree = parts.adder_tree(flavour.pes, self.output_bits, max(1, pe_c // cpa))
        else:
            self.tree = parts.adder_tree(flavour.pe_grid[0], self.output_bits,
                                         max(1, flavour.pe_grid[1] * pe_c // cpa))
        self._buffers(parts)
        # Tile.cpp: H-tree bus width = numPE x PE size
        self.htree_width = flavour.neurosim_pes * pe_c
        self.htree = parts.bus("tile", *flavour.pe_grid, pe.height_m, pe.width_m,
                               self.htree_width)
        n_in, n_out = self.input_shape[2], self.output_shape[2]
        self.area_m2 = flavour.pes * pe.area_m2 + self.tree.area_m2 + \
            n_in * self.input_buffer.area_m2 + n_out * self.output_buffer.area_m2 + \
            self.htree.area_m2
        # ours: every buffer core leaks; Tile.cpp adds one core's leakage per buffer
        # (Buffer::CalculatePower is one core; only the area is x cores): quirk
        self.leaking_cores = (1, 1) if quirk_on(config, "tile_buffer_leakage_one_core") \
            else (n_in, n_out)
        self.leakage_W = flavour.pes * pe.leakage_W + self.tree.leakage_W + \
            self.leaking_cores[0] * self.input_buffer.leakage_W + \
            self.leaking_cores[1] * self.output_buffer.leakage_W + self.htree.leakage_W
        self.side_m = math.sqrt(self.area_m2)

    def _buffers(self, parts) -> None:
        """Tile.cpp: input buffer = numPE x input bits x sub-array rows; output buffer = numPE
        x sub-array ADC lanes x (PE output bits + log2 numPE)."""
        cfg, n = self.config, self.flavour.neurosim_pes
        lanes = max(1, self.pe.sa_cols // cfg.cols_per_adc)
        width = self.output_bits + stages(n)
        self.input_shape = self._buffer_shape(n, cfg.activation_bits * self.pe.sa_rows,
                                              self.pe.sa_rows)
        self.output_shape = self._buffer_shape(n, width * lanes, width)
        self.input_buffer = parts.buffer("tile", *self.input_shape[:2])
        self.output_buffer = parts.buffer("tile", *self.output_shape[:2])

    def _buffer_shape(self, pes: int, bits_per_pe: int, lanes_per_pe: int
                      ) -> tuple[int, int, int]:
        """Tile.cpp: (core capacity, interface, cores) of a tile buffer: one core smaller than
        tileBufferCore if the need fits, else whole cores of it."""
        need = pes * bits_per_pe
        core = self.config.tile_buffer_core_rows * self.config.tile_buffer_core_cols
        if need < core:
            return need, pes * lanes_per_pe, 1
        return core, self.config.tile_buffer_core_cols, math.ceil(need / core)

    def static(self, tiles: int) -> list[Cost]:
        """Area and leakage of ``tiles`` tiles, per block with its category."""
        pe, sa = self.pe, self.pe.subarray
        laid_out = pe.subarrays * self.flavour.pes * tiles
        working = pe.working * self.flavour.pes * tiles
        by_category = getattr(sa, "area_by_category", None) or {"array": sa.area_m2}
        out = [Cost(name=f"subarray_{cat}", category=cat, area_m2=area * laid_out,
                    count=laid_out, leakage_W=sa.leakage_W * working if cat == "array" else 0.0)
               for cat, area in by_category.items()]
        if not any(c.category == "array" for c in out):
            out[0].leakage_W = sa.leakage_W * working
        blank = getattr(sa, "whitespace_m2", 0.0)
        if blank:
            # the unused corner of each sub-array's bounding box (SubArray.cpp emptyArea):
            # part of the area, in no circuit's row (reported as unused area)
            out.append(Cost(name="subarray_whitespace", category="other",
                            area_m2=blank * laid_out, count=laid_out))
        out += pe.static(self.flavour.pes * tiles)
        # Tile.cpp: a tile buffer's area is one core's times its number of cores
        out += [static("tile_adder_tree", self.tree, "accumulation", tiles),
                static("tile_input_buffer", self.input_buffer, "buffer",
                       tiles * self.input_shape[2]),
                static("tile_output_buffer", self.output_buffer, "buffer",
                       tiles * self.output_shape[2]),
                static("tile_htree", self.htree, "interconnect", tiles)]
        for node, buf, leaking in zip(out[-3:-1], (self.input_buffer, self.output_buffer),
                                      self.leaking_cores):
            node.leakage_W = buf.leakage_W * leaking * tiles
        return out

    def _traffic(self, load: LayerLoad) -> tuple[float, float, int, int]:
        """(bits into the PEs of one tile, all input bits, tile columns, row blocks)."""
        m, f, NV = load.mapping, self.flavour, load.bit_vectors
        pe_r, pe_c = f.pe_cells
        if f.novel:                                          # Tile.cpp (NM)
            n = f.neurosim_pes
            tile_rows = min(pe_r * n, m.weight_rows)
            col_blocks = math.ceil(m.weight_cols / pe_c)
            return (tile_rows * NV / math.sqrt(n), m.weight_rows * NV / math.sqrt(n) * col_blocks,
                    min(pe_c, m.weight_cols), math.ceil(m.weight_rows / (pe_r * n)))
        T = f.tile_cells                                     # Tile.cpp (CM)
        # a grouped layer's blocks each take their own input rows (chip.mapping)
        return (min(T[0], m.weight_rows) * NV * m.blocks_per(T[1]),
                m.weight_rows * NV * m.input_col_blocks(T[1]),
                min(T[1], m.weight_cols), math.ceil(m.weight_rows / T[0]))

    def cost(self, load: LayerLoad) -> list[Cost]:
        """The layer's work in one distinct weight tile (duplicates share their inputs):
        the adder tree over the PEs, the tile buffers and the H-tree."""
        m, f, cfg = load.mapping, self.flavour, self.config
        to_pes, in_total, tile_cols, row_blocks = self._traffic(load)
        width = stages(f.neurosim_pes) + self.output_bits
        from_pes = tile_cols / cfg.cells_per_weight * width * load.vectors       # Tile.cpp
        out_total = load.outputs * width * load.vectors * row_blocks
        pe_rows = m.kernel_positions if f.novel else min(f.pes and int(math.sqrt(f.pes)),
                                                         m.pe_row_blocks)
        evals = load.vectors * load.outputs * m.tile_row_blocks if pe_rows > 1 else 0
        all_lanes = quirk_on(cfg, "unused_lanes_charged")
        if all_lanes and evals:
            # Tile.cpp: each distinct tile's tree over all its lanes, tree_reads times
            col_blocks = math.ceil(m.weight_cols / (f.pe_cells[1] if f.novel else
                                                    f.tile_cells[1]))
            evals = load.tree_reads * self.tree.num_units * m.tile_row_blocks * col_blocks
        tree = tree_work(self.tree, "tile_adder_tree", ops=evals,
                         reads=load.tree_reads if evals else 0, inputs=pe_rows,
                         clock=load.clock, all_lanes=all_lanes)
        return [tree, *self._buffer_costs(load, to_pes, in_total, from_pes, out_total),
                bus_work(self.htree, "tile_htree", clock=load.clock,
                         toggled_bits=in_total * cfg.input_toggle_rate + out_total
                         * cfg.output_toggle_rate,
                         transfers=math.ceil((to_pes + from_pes) / self.htree_width))]

    def _buffer_costs(self, load: LayerLoad, to_pes: float, in_total: float, from_pes: float,
                      out_total: float) -> list[Cost]:
        """Tile.cpp: reads = writes = bits / interface (NeuroSim halves both for the tile
        buffers: quirk buffer_traffic_halved), one line per cycle, spread over min(#cores,
        H-tree width / interface) cores in parallel."""
        halve = 2.0 if quirk_on(self.config, "buffer_traffic_halved") else 1.0
        out = []
        for name, buf, shape, total, lines in (
                ("tile_input_buffer", self.input_buffer, self.input_shape, in_total, to_pes),
                ("tile_output_buffer", self.output_buffer, self.output_shape, out_total,
                 from_pes)):
            interface, cores = shape[1], shape[2]
            parallel = min(cores, math.ceil(self.htree_width / interface))
            out.append(buffer_work(buf, name, clock=load.clock, interface_bits=interface,
                                   bits=total, lines=lines / interface / parallel, halve=halve))
        return out
