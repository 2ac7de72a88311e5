"""Activation units: ReLU as a bit shifter, sigmoid as an SRAM look-up table (tables §5.3/§5.8).
The other nonlinear functions (GELU, SiLU, Hardswish, tanh, softmax): chip.components.nonlinear."""
from __future__ import annotations

from chip.components.base import Component, cycles, require_int
from chip.components.dff import DFF
from chip.components.lut import LookupTable


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
            # tables §5.8: an SRAM table of 2^num_bits words (at most 4096) per lane
            lut = LookupTable(ctx, config, 2 ** min(self.num_bits, 12), self.num_bits,
                              self.num_units)
            self._place(lut.area_m2)
            self.leakage_W = lut.leakage_W
            self.op_latency_s, self.op_energy_J = lut.op_latency_s, lut.op_energy_J
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
