"""PE: a grid of sub-arrays with the adder tree that sums their partial sums across sub-array
rows, its input and output registers and its bus (DNN+NeuroSim V1.4 ProcessingUnit.cpp,
reference/neurosim-v1.4.md §2, §7).

A PE is built once per tile flavour (its size in cells comes from the mapping); ``cost`` gives
the work of one layer on all of its PE slices, per image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chip.compat import quirk_on
from chip.cost import Cost
from chip.mapping import LayerMapping
from chip.usage import buffer_work, bus_work, static, tree_work

__all__ = ["PE", "LayerLoad", "stages"]


def stages(operands: int) -> int:
    """Stages of a binary adder tree over ``operands`` (0 for one)."""
    return math.ceil(math.log2(operands)) if operands > 1 else 0


@dataclass(frozen=True)
class LayerLoad:
    """What one layer asks of the hardware per image, shared by its PEs, tiles and the chip."""

    mapping: LayerMapping
    rows_per_pe_copy: int       # weight rows one PE copy holds (novel: one kernel position)
    vectors: int                # input vectors V
    outputs: int                # output channels
    bit_vectors: int            # input bit-vectors V x activation bits
    tree_reads: int             # evaluations of one adder tree lane group, in a row
    clock: float | None         # the clock blocks are timed against (None: asynchronous)


class PE:
    """``cells`` = (rows, cols) of weights one PE holds, on sub-arrays of ``subarray_rows`` x
    ``subarray_cols``; ``psum_bits``: a sub-array's output width; ``square_grid``: NeuroSim
    lays the grid out square (quirk square_subarray_sizing)."""

    def __init__(self, parts, config, subarray, subarray_shape: tuple[int, int],
                 cells: tuple[int, int], psum_bits: int, square_grid: bool):
        self.config, self.subarray, self.cells = config, subarray, cells
        self.sa_rows, self.sa_cols = subarray_shape
        grid_r, grid_c = math.ceil(cells[0] / self.sa_rows), math.ceil(cells[1] / self.sa_cols)
        self.working = grid_r * grid_c           # sub-arrays that compute (and leak)
        if square_grid and grid_r != grid_c:
            # Tile.cpp (TileInitialize, TileCalculateArea): a PE is laid out, and its adder
            # tree and registers sized, for a square grid of ceil(sqrt(n)) sub-arrays a side
            grid_r = grid_c = math.ceil(math.sqrt(grid_r * grid_c))
        self.grid = (grid_r, grid_c)
        self.subarrays = grid_r * grid_c
        self.psum_bits = psum_bits
        self.tree = parts.adder_tree(grid_r, psum_bits,
                                     max(1, grid_c * self.sa_cols // config.cols_per_adc))
        self.stages = stages(grid_r)
        # ProcessingUnit.cpp (sync_data_transfer off): input register = one sub-array's rows x
        # input bits, along the grid's height; output register = one sub-array's ADC lanes x
        # (sub-array output bits + adder-tree stages), along its width; one line per clock
        self.input_bits = config.activation_bits * self.sa_rows
        self.output_bits = max(1, self.sa_cols // config.cols_per_adc) * (psum_bits
                                                                          + self.stages)
        self.input_buffer = parts.buffer("pe", self.input_bits, self.input_bits,
                                         height_m=grid_r * subarray.height_m)
        self.output_buffer = parts.buffer("pe", self.output_bits, self.output_bits,
                                          width_m=grid_c * subarray.width_m)
        # ProcessingUnit.cpp: the input bus one sub-array's rows wide, the output bus carrying
        # every sub-array row's outputs (grid rows x sub-array columns lanes)
        self.bus = parts.bus("pe", grid_r, grid_c, subarray.height_m, subarray.width_m,
                             self.sa_rows, output_width=grid_r * self.sa_cols)
        blocks = (self.tree, self.input_buffer, self.output_buffer, self.bus)
        self.area_m2 = self.subarrays * subarray.area_m2 + sum(b.area_m2 for b in blocks)
        # ProcessingUnit.cpp: leakage of the sub-arrays that work, area of the laid-out grid
        self.leakage_W = self.working * subarray.leakage_W + sum(b.leakage_W for b in blocks)
        self.width_m = self.height_m = math.sqrt(self.area_m2)   # ours: square, for tile wires

    def static(self, count: int) -> list[Cost]:
        """Area and leakage of ``count`` PEs' own blocks (their sub-arrays apart)."""
        return [static("pe_adder_tree", self.tree, "accumulation", count),
                static("pe_input_buffer", self.input_buffer, "buffer", count),
                static("pe_output_buffer", self.output_buffer, "buffer", count),
                static("pe_bus", self.bus, "interconnect", count)]

    def cost(self, load: LayerLoad) -> list[Cost]:
        """The layer's work on its PE slices: one slice holds the PE's share of the weight
        rows and columns; latency of one slice (all run at once), energy of all of them."""
        m, cfg = load.mapping, self.config
        pe_r, pe_c = self.cells
        rows_pe = min(pe_r, load.rows_per_pe_copy)
        cols_pe = min(pe_c, m.weight_cols)
        col_blocks = math.ceil(m.weight_cols / pe_c)
        sa_rows_in_pe = min(math.ceil(pe_r / self.sa_rows),
                            math.ceil(load.rows_per_pe_copy / self.sa_rows))
        evals = load.vectors * load.outputs * m.pe_row_blocks if sa_rows_in_pe > 1 else 0
        all_lanes = quirk_on(cfg, "unused_lanes_charged")
        if all_lanes and evals:
            # ProcessingUnit.cpp: each slice's tree is evaluated tree_reads times over all its
            # lanes, however few outputs the slice holds
            evals = load.tree_reads * self.tree.num_units * m.pe_row_blocks * col_blocks
        tree = tree_work(self.tree, "pe_adder_tree", ops=evals,
                         reads=load.tree_reads if evals else 0, inputs=sa_rows_in_pe,
                         clock=load.clock, all_lanes=all_lanes)
        NV, cpw = load.bit_vectors, cfg.cells_per_weight
        # ProcessingUnit.cpp: input = rows x bit-vectors, output = outputs x adder bits x V;
        # a grouped layer's blocks each take their own input rows (chip.mapping)
        in_bits = NV * m.weight_rows * m.input_col_blocks(pe_c)
        out_bits = load.vectors * load.outputs * m.pe_row_blocks * self.psum_bits
        inbuf = buffer_work(self.input_buffer, "pe_input_buffer", clock=load.clock,
                            interface_bits=self.input_bits, bits=in_bits,
                            lines=rows_pe * m.blocks_per(pe_c) * NV / self.input_bits)
        outbuf = buffer_work(self.output_buffer, "pe_output_buffer", clock=load.clock,
                             interface_bits=self.output_bits, bits=out_bits,
                             lines=cols_pe / cpw * self.psum_bits * load.vectors
                             / self.output_bits)
        return [tree, inbuf, outbuf, self._bus_cost(load, in_bits, rows_pe, cols_pe)]

    def _bus_cost(self, load: LayerLoad, in_bits: float, rows_pe: int, cols_pe: int) -> Cost:
        """ProcessingUnit.cpp: inputs on the horizontal bus, one sub-array row of inputs wide;
        partial sums (outputs x (adder bits + stages)) on the vertical bus, every sub-array
        row's outputs at once; inputs toggle at the input rate, partial sums at the output
        rate (tables §5.9). NeuroSim leaves its time out (quirk pe_bus_untimed)."""
        m, cfg = load.mapping, self.config
        out_bits = load.vectors * load.outputs * m.pe_row_blocks * (self.psum_bits + self.stages)
        grid_rows = math.ceil(self.cells[0] / self.sa_rows)
        untimed = quirk_on(cfg, "pe_bus_untimed")
        t_in = math.ceil(rows_pe * m.blocks_per(self.cells[1]) * load.bit_vectors
                         / max(1, self.sa_rows))
        t_out = math.ceil(cols_pe / cfg.cells_per_weight * (self.psum_bits + self.stages)
                          * load.vectors / max(1, grid_rows * self.sa_cols))
        return bus_work(self.bus, "pe_bus", clock=load.clock, num_bits=in_bits + out_bits,
                        bits_in=in_bits * cfg.input_toggle_rate,
                        bits_out=out_bits * cfg.output_toggle_rate,
                        transfers_in=0 if untimed else t_in,
                        transfers_out=0 if untimed else t_out)
