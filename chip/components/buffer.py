"""Input/output/global buffers: DFF register file or SRAM macro (NeuroSim V1.4 tables §5.8)."""
from __future__ import annotations

import math

from chip.components.base import Component, cycles, require_int
from chip.components.decoder import RowDecoder
from chip.components.dff import DFF
from chip.components.sense_amp import Precharger, SenseAmp, SRAMWriteDriver


class Buffer(Component):
    """A buffer of ``num_bits`` read and written ``interface_width`` bits per line.

    Buffer(ctx, config, num_bits, interface_width, kind="register"|"sram",
    core_rows=None, core_cols=None, width_m=None, height_m=None) (a single-line register
    along a pinned edge is tiled against it). ``kind="register"``: a DFF register file with a line
    decoder; ``kind="sram"``: SRAM cores of core_rows x core_cols bits (default 128 x 128)
    with precharge, write drivers and one 1-bit sense amp per interface bit.
    Activity: ``num_reads`` and ``num_writes`` line accesses, ``clock_period_s``.
    """

    name = "buffer"
    category = "buffer"

    def __init__(self, ctx, config, num_bits: int, interface_width: int,
                 kind: str = "register", core_rows: int | None = None,
                 core_cols: int | None = None, width_m: float | None = None,
                 height_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_bits = require_int("num_bits", num_bits)
        self.interface_width = min(require_int("interface_width", interface_width),
                                   self.num_bits)
        if kind not in ("register", "sram"):
            raise ValueError(f"kind={kind!r} must be 'register' or 'sram'")
        self.kind = kind
        self.lines = math.ceil(self.num_bits / self.interface_width)
        if kind == "register":
            self._register_file(config, width_m, height_m)
        else:
            self._sram_cores(config, core_rows, core_cols)
        self.parallel_lines = max(1, getattr(self, "cores", 1))

    def _register_file(self, config, width_m: float | None, height_m: float | None) -> None:
        """A DFF register file with a line decoder (tables §5.8, Buffer.cpp)."""
        ctx = self.ctx
        # a register along a pinned edge tiles its DFFs in whole rows / columns
        # (ProcessingUnit.cpp's PE registers); otherwise their summed area (Buffer.cpp)
        edge = (width_m, height_m) if self.lines == 1 else (None, None)
        self.dff = DFF(ctx, config, self.num_bits, apply_gamma=True, width_m=edge[0],
                       height_m=edge[1])
        area, leak = self.dff.area_m2, self.dff.leakage_W
        self.access_latency_s = 0.0
        # tables §5.8: one interface line of DFFs clocked per access (gamma applied)
        line = DFF(ctx, config, self.interface_width, apply_gamma=True)
        self.read_energy_J = line.dynamic_energy_J(num_reads=1)
        if self.lines > 1:
            # Buffer.cpp: a line decoder beside the DFF lines (one DFF high per line)
            self.decoder = RowDecoder(ctx, config, self.lines,
                                      self.interface_width * self.dff.inv.cap_in_F,
                                      height_m=self.dff.unit_height_m * self.lines)
            area += self.decoder.area_m2
            leak += self.decoder.leakage_W
            self.access_latency_s = self.decoder.decode_latency_s
            self.read_energy_J += self.decoder.decode_energy_J
        # ours: a single-line register (a PE register, ProcessingUnit.cpp's bare DFF)
        # needs no decoder
        self._place(area)
        self.leakage_W = leak
        self.write_energy_J = self.read_energy_J

    def _sram_cores(self, config, core_rows: int | None, core_cols: int | None) -> None:
        """SRAM cores with decoder, precharge, write drivers and 1-bit sense amps."""
        ctx = self.ctx
        rows = core_rows or 128
        cols = core_cols or 128
        self.cores = math.ceil(self.num_bits / (rows * cols))
        F = ctx.feature_size_m
        cell_h = ctx.node.sram_cell_height_F * F
        cell_w = ctx.node.sram_cell_width_F * F
        col_cap = rows * cell_h * ctx.wire_cap_F_per_m + rows * ctx.drain_cap(
            ctx.width_F(1.0), "n")
        col_res = rows * cell_h * ctx.r_row_ohm_per_m      # tables §7.20: swapped metals
        row_cap = cols * cell_w * ctx.wire_cap_F_per_m + 2 * cols * ctx.gate_cap(
            ctx.width_F(1.0))
        width = cols * cell_w
        self.decoder = RowDecoder(ctx, config, rows, row_cap, height_m=rows * cell_h)
        self.precharger = Precharger(ctx, config, cols, col_cap, col_res, width_m=width)
        self.write_driver = SRAMWriteDriver(ctx, config, cols, width_m=width)
        per_core_if = min(self.interface_width, cols)
        self.sense_amp = SenseAmp(ctx, config, per_core_if, col_cap, width_m=width)
        core_area = (rows * cols * cell_h * cell_w + self.decoder.area_m2
                     + self.precharger.area_m2 + self.write_driver.area_m2
                     + self.sense_amp.area_m2)
        self._place(self.cores * core_area)
        w1 = ctx.width_F(1.0)
        cell_leak = 2 * ctx.gate("inv", 1, w1, w1).leakage_W
        self.leakage_W = self.cores * (rows * cols * cell_leak + self.decoder.leakage_W
                                       + self.precharger.leakage_W
                                       + self.write_driver.leakage_W
                                       + self.sense_amp.leakage_W)
        # tables §5.8: bit-line delay ln(Vdd/(Vdd - V_sense/2)) x Elmore tau
        r_acc = ctx.r_on(ctx.width_F(1.0), "n")
        tau = 2 * r_acc * col_cap + col_cap * col_res / 2
        t_bl = tau * math.log(ctx.vdd_V / (ctx.vdd_V - 0.05))
        self.access_latency_s = (self.decoder.decode_latency_s + t_bl
                                 + self.precharger.precharge_latency_s
                                 + self.sense_amp.sense_latency_s)
        vdd2 = ctx.vdd_V ** 2
        lanes = self.interface_width
        self.read_energy_J = (self.decoder.decode_energy_J + row_cap * vdd2
                              + lanes * (col_cap * vdd2 + self.sense_amp.sense_energy_J))
        # write: bit lines swung full rail and the cells flipped (C_cell Vdd^2 per bit)
        self.write_energy_J = (self.decoder.decode_energy_J + row_cap * vdd2
                               + lanes * (col_cap * vdd2 + 2 * ctx.gate_cap(w1) * vdd2))

    def latency_s(self, *, num_reads: float = 0.0, num_writes: float = 0.0,
                  clock_period_s: float | None = None) -> float:
        # tables §5.8: synchronous = 1 cycle per line; otherwise the access time
        per = clock_period_s if clock_period_s else self.access_latency_s
        if self.kind == "sram" and clock_period_s:
            per = cycles(self.access_latency_s, clock_period_s)
        return (num_reads + num_writes) * per

    def dynamic_energy_J(self, *, num_reads: float = 0.0, num_writes: float = 0.0) -> float:
        return num_reads * self.read_energy_J + num_writes * self.write_energy_J
