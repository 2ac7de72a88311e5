"""Activation units: ReLU as a bit shifter, sigmoid as an SRAM look-up table (tables §5.3/§5.8)."""
from __future__ import annotations


from chip.components.base import Component, cycles, require_int
from chip.components.decoder import RowDecoder
from chip.components.dff import DFF
from chip.components.sense_amp import SenseAmp


class Activation(Component):
    """``num_units`` activation lanes of ``num_bits`` bits (config.activation_function).

    Activation(ctx, config, num_bits, num_units=1, kind=None). ReLU: a bit shifter of
    num_bits DFFs per lane (no gamma, tables §5.3). Sigmoid: an SRAM LUT of 2^num_bits
    entries x num_bits per lane with a row decoder and 1-bit sense amps (tables §5.8).
    Activity: ``num_reads`` activations per lane (sequential), ``clock_period_s``.
    """

    name = "activation"
    category = "other"

    def __init__(self, ctx, config, num_bits: int, num_units: int = 1, kind: str | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_bits = require_int("num_bits", num_bits)
        self.num_units = require_int("num_units", num_units)
        self.kind = kind or config.activation_function
        if self.kind == "relu":
            self.dff = DFF(ctx, config, self.num_bits * self.num_units, apply_gamma=False)
            self._place(self.dff.area_m2)
            self.leakage_W = self.dff.leakage_W
            self.op_latency_s = 0.0                       # one DFF read: one clock cycle
            self.op_energy_J = DFF(ctx, config, self.num_bits, apply_gamma=False) \
                .dynamic_energy_J(num_reads=1)
        elif self.kind == "sigmoid":
            entries = 2 ** min(self.num_bits, 12)
            F = ctx.feature_size_m
            cell_h = ctx.node.sram_cell_height_F * F
            cell_w = ctx.node.sram_cell_width_F * F
            w1 = ctx.width_F(1.0)
            row_cap = self.num_bits * (cell_w * ctx.wire_cap_F_per_m + 2 * ctx.gate_cap(w1))
            col_cap = entries * (cell_h * ctx.wire_cap_F_per_m + ctx.drain_cap(w1, "n"))
            dec = RowDecoder(ctx, config, entries, row_cap, height_m=entries * cell_h)
            sa = SenseAmp(ctx, config, self.num_bits, col_cap)
            lut = entries * self.num_bits * cell_h * cell_w
            self._place(self.num_units * (lut + dec.area_m2 + sa.area_m2))
            cell_leak = 2 * ctx.gate("inv", 1, w1, w1).leakage_W
            self.leakage_W = self.num_units * (entries * self.num_bits * cell_leak
                                               + dec.leakage_W + sa.leakage_W)
            self.op_latency_s = dec.decode_latency_s + sa.sense_latency_s
            self.op_energy_J = (dec.decode_energy_J + row_cap * ctx.vdd_V ** 2
                                + sa.dynamic_energy_J(num_reads=1))
        else:
            raise ValueError(f"kind={self.kind!r} must be 'relu' or 'sigmoid'")

    def latency_s(self, *, num_reads: float = 1.0, clock_period_s: float | None = None) -> float:
        if self.kind == "relu":
            return num_reads * (clock_period_s or 0.0)     # tables §5.3: 1 DFF read
        return num_reads * cycles(self.op_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_reads: float = 0.0,
                         num_units_used: float | None = None) -> float:
        units = self.num_units if num_units_used is None else num_units_used
        return num_reads * units * self.op_energy_J
