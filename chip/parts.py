"""The factory of a chip's parts: the circuit components (chip.components) and the layer
activity (chip.activity) the hierarchy (SubArray -> PE -> Tile -> Chip) is built from.

It is the one place that knows the components' constructor arguments. Tests replace it with a
stand-in whose parts have round figures, so the composition can be checked by hand
(tests/test_hierarchy.py).
"""
from __future__ import annotations

import importlib

import numpy as np

from contracts.config import HardwareConfig
from contracts.trace import LayerTrace

__all__ = ["Parts", "PhysicsUnavailable", "default_parts"]

_REQUIRED = ("chip.technology", "chip.activity", "chip.components.subarray",
             "chip.components.adder_tree", "chip.components.buffer", "chip.components.bus",
             "chip.components.htree", "chip.components.xybus", "chip.components.max_pool",
             "chip.components.activation", "chip.components.nonlinear",
             "chip.components.digital_mac")


class PhysicsUnavailable(RuntimeError):
    """The circuit models (chip.technology / chip.components / chip.activity) are missing."""


class Parts:
    """Real circuit models for one config (docs/chip-internals.md)."""

    def __init__(self, config: HardwareConfig):
        missing = []
        for module in _REQUIRED:
            try:
                importlib.import_module(module)
            except ImportError as err:
                missing.append(f"{module} ({err})")
        if missing:
            raise PhysicsUnavailable("circuit models not available: " + "; ".join(missing))
        from chip.technology import TechContext
        try:
            self.ctx = TechContext(config)
        except ImportError as err:
            raise PhysicsUnavailable(str(err)) from None
        self.config = config
        self._subarray = None

    def subarray(self, rows: int, cols: int):
        """The chip's one sub-array design (built once)."""
        from chip.components.subarray import SubArray
        if self._subarray is None:
            self._subarray = SubArray(self.ctx, self.config, rows=rows, cols=cols)
        return self._subarray

    def activity(self, layer: LayerTrace, row_groups: list[np.ndarray]):
        """What the layer's inputs and weights do to the sub-arrays (chip.activity)."""
        from chip.activity import layer_activity
        return layer_activity(layer, self.config, row_groups, ctx=self.ctx)

    def subarray_output_bits(self) -> int:
        sa = self.subarray(self.config.subarray_rows, self.config.subarray_cols)
        return int(sa.output_bits)

    def adder_tree(self, num_inputs: int, input_bits: int, lanes: int):
        from chip.components.adder_tree import AdderTree
        return AdderTree(self.ctx, self.config, num_inputs=max(1, num_inputs),
                         num_bits=max(1, input_bits), num_units=max(1, lanes))

    def buffer(self, level: str, capacity_bits: int, interface_bits: int,
               width_m: float | None = None, height_m: float | None = None):
        from chip.components.buffer import Buffer
        kind = {"global": self.config.global_buffer, "tile": self.config.tile_buffer,
                "pe": self.config.pe_buffer}[level]
        return Buffer(self.ctx, self.config, num_bits=max(1, int(capacity_bits)),
                      interface_width=max(1, int(interface_bits)), kind=kind,
                      width_m=width_m, height_m=height_m)

    def bus(self, level: str, rows: int, cols: int, unit_height_m: float, unit_width_m: float,
            bus_width: int, output_width: int | None = None):
        """The PE bus, the tile H-tree, or the chip's H-tree or X-Y bus."""
        c = self.config
        grid = dict(num_rows=max(1, rows), num_cols=max(1, cols), unit_height_m=unit_height_m,
                    unit_width_m=unit_width_m, bus_width=max(1, bus_width))
        if level == "pe":
            from chip.components.bus import Bus
            return Bus(self.ctx, c, output_width=output_width, **grid)
        if level == "tile" or c.global_interconnect == "htree":
            from chip.components.htree import HTree
            tol = c.local_bus_delay_tolerance if level == "tile" else c.global_bus_delay_tolerance
            return HTree(self.ctx, c, delay_tolerance=tol,
                         folded_ratio=16 if level == "tile" else 4, **grid)
        from chip.components.xybus import XYBus
        return XYBus(self.ctx, c, delay_tolerance=c.global_bus_delay_tolerance, **grid)

    def max_pool(self, bits: int, window: int, lanes: int):
        from chip.components.max_pool import MaxPool
        return MaxPool(self.ctx, self.config, num_bits=bits, window=window, num_units=lanes)

    def activation(self, bits: int, lanes: int):
        from chip.components.activation import Activation
        return Activation(self.ctx, self.config, num_bits=bits, num_units=lanes)

    def nonlinear(self, op: str, bits: int, lanes: int, length: int = 1):
        """The digital unit of a nonlinear function (chip.components.nonlinear): ``lanes``
        element-wise lanes, or ``lanes`` softmax units over vectors of ``length`` values."""
        from chip.components.nonlinear import LayerNorm, NonlinearUnit, Softmax
        if op == "softmax":
            return Softmax(self.ctx, self.config, num_bits=bits, length=length, num_units=lanes)
        if op == "layernorm":
            return LayerNorm(self.ctx, self.config, num_bits=bits, length=length,
                             num_units=lanes)
        return NonlinearUnit(self.ctx, self.config, op, num_bits=bits, num_units=lanes)

    def kv_buffer(self, capacity_bits: int, interface_bits: int):
        """The buffer holding a dynamic product's operand for the digital unit: SRAM cores
        (ours: tens of kB to MB per operand, where DFF register files would dwarf the lanes)."""
        from chip.components.buffer import Buffer
        return Buffer(self.ctx, self.config, num_bits=max(1, int(capacity_bits)),
                      interface_width=max(1, int(interface_bits)), kind="sram")

    def digital_mac(self, weight_bits: int, input_bits: int, acc_bits: int, lanes: int):
        """The MAC lanes of the dynamic products (dynamic_matmul_policy='digital')."""
        from chip.components.digital_mac import DigitalMAC
        return DigitalMAC(self.ctx, self.config, weight_bits=weight_bits,
                          input_bits=input_bits, acc_bits=acc_bits, num_units=lanes)

    def write_energy_per_cell_J(self) -> float:
        c = self.config
        if c.memory_cell == "sram":
            # ours: charge the cell's two internal nodes and its bit-line share, C V^2
            return 2 * self.ctx.gate_cap(self.ctx.w_min_m) * self.ctx.vdd_V ** 2 + \
                self.ctx.wire_cap_F_per_m * self.ctx.cell_height_m * self.ctx.vdd_V ** 2
        # ours: one write pulse through the mean cell conductance, V_w^2 G t
        g_mean = 0.5 * (1.0 / c.r_on_ohm + 1.0 / c.r_off_ohm)
        return c.write_voltage_V ** 2 * g_mean * c.write_pulse_width_s

    def write_time_per_row_s(self) -> float:
        c = self.config
        if c.memory_cell == "sram":
            sa = self.subarray(c.subarray_rows, c.subarray_cols)
            return max(sa.read_cycle_s, 1.0 / c.clock_freq_max_Hz)   # ours: one cycle per row
        return 2 * c.write_pulse_width_s        # ours: a SET and a RESET phase per row


def default_parts(config: HardwareConfig) -> Parts:
    """The real circuit models for ``config``."""
    return Parts(config)

