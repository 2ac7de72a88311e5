"""Look-up table: an SRAM array read through a row decoder and 1-bit sense amplifiers
(NeuroSim V1.4 tables §5.8, the sigmoid unit; used for every table-based nonlinear function)."""
from __future__ import annotations

from chip.components.base import Component, cycles, require_int
from chip.components.decoder import RowDecoder
from chip.components.sense_amp import SenseAmp


class LookupTable(Component):
    """``num_units`` tables of ``entries`` words of ``width_bits`` bits.

    LookupTable(ctx, config, entries, width_bits, num_units=1). Per table: entries x width
    6T SRAM cells, a row decoder of ``entries`` lines driving a word line of ``width_bits``
    cells, ``width_bits`` sense amplifiers on bit lines of ``entries`` cells (tables §5.8).
    Activity: ``num_reads`` look-ups per table (sequential), ``clock_period_s``;
    ``num_units_used`` tables working (default all).
    """

    name = "lookup_table"
    category = "other"

    def __init__(self, ctx, config, entries: int, width_bits: int, num_units: int = 1):
        super().__init__()
        self.ctx = ctx
        self.entries = require_int("entries", entries)
        self.width_bits = require_int("width_bits", width_bits)
        self.num_units = require_int("num_units", num_units)
        F = ctx.feature_size_m
        cell_h = ctx.node.sram_cell_height_F * F
        cell_w = ctx.node.sram_cell_width_F * F
        w1 = ctx.width_F(1.0)
        # tables §5.8: a word line loads the wire over the row and two access gates per cell;
        # a bit line the wire over the column and one access drain per cell
        row_cap = self.width_bits * (cell_w * ctx.wire_cap_F_per_m + 2 * ctx.gate_cap(w1))
        col_cap = self.entries * (cell_h * ctx.wire_cap_F_per_m + ctx.drain_cap(w1, "n"))
        dec = RowDecoder(ctx, config, self.entries, row_cap, height_m=self.entries * cell_h)
        sa = SenseAmp(ctx, config, self.width_bits, col_cap)
        cells = self.entries * self.width_bits
        self._place(self.num_units * (cells * cell_h * cell_w + dec.area_m2 + sa.area_m2))
        cell_leak = 2 * ctx.gate("inv", 1, w1, w1).leakage_W     # a 6T cell: two INVs
        self.leakage_W = self.num_units * (cells * cell_leak + dec.leakage_W + sa.leakage_W)
        self.op_latency_s = dec.decode_latency_s + sa.sense_latency_s
        self.op_energy_J = (dec.decode_energy_J + row_cap * ctx.vdd_V ** 2
                            + sa.dynamic_energy_J(num_reads=1))

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        return num_reads * cycles(self.op_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_reads: float = 0.0,
                         num_units_used: float | None = None) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self.op_energy_J
