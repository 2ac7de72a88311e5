"""Repeated-wire interconnects over a grid of units: the common base of the PE bus, the
H-tree and the X-Y bus (NeuroSim V1.4 tables §5.9)."""
from __future__ import annotations

import math

from chip.components.base import Component, cycles, require_int, require_positive

__all__ = ["Interconnect", "wire_segment"]


def wire_segment(ctx, length_m: float, delay_tolerance: float, size_step: str = "halve"):
    """(delay_s, energy_J per bit, leakage_W per bit line, repeater area m2) of one segment.

    HTree.cpp / XYBus.cpp: the repeaters are designed once for the base wire (CACTI optimum,
    shrunk within the delay tolerance, tables §5.9) and every segment is driven by them:
    ceil(l / spacing) >= 1 repeaters, the delay with the segment's own (length-widened) wire
    resistance, energy and leakage per length of that design.
    """
    if length_m <= 0:
        return 0.0, 0.0, 0.0, 0.0
    c = ctx.wire_cap_F_per_m
    rw = ctx.fb.repeated_wire(ctx.tech, ctx.r_wire_ohm_per_m, c, delay_tolerance, size_step)
    r = ctx.fb.interconnect_unit_resistance(ctx.tech, ctx.wire, length_m)
    n_rep = math.ceil(length_m / rw.spacing_m - 1e-9)
    return (ctx.fb.repeated_wire_delay(rw, r, c) * length_m, rw.energy_J_per_m * length_m,
            rw.leakage_W_per_m * length_m, n_rep * rw.repeater_area_m2)


class Interconnect(Component):
    """``bus_width`` repeated lanes over a ``num_rows`` x ``num_cols`` grid of units (sub-arrays,
    PEs or tiles) of ``unit_height_m`` x ``unit_width_m``.

    Subclasses lay out the wires and set the per-transfer latencies and per-bit energies:
    ``transfer_latency_s`` / ``bit_energy_J`` for traffic over the whole interconnect, and
    ``in_latency_s`` / ``in_bit_energy_J`` (inputs, towards the units) and
    ``out_latency_s`` / ``out_bit_energy_J`` (outputs, back from them) for traffic counted
    per direction. Activity, the same for every interconnect: ``num_bits`` moved (energy,
    x the toggle rate) or ``bits_in`` / ``bits_out`` (already toggle-weighted by the
    caller); ``num_transfers`` sequential transfers or ``transfers_in`` /
    ``transfers_out`` per direction (latency); ``clock_period_s`` (each transfer rounded up
    to whole cycles).
    """

    name = "interconnect"
    category = "interconnect"
    # which config toggle rate ``num_bits`` is weighted with unless ``toggle_rate`` is given
    default_toggle = "input_toggle_rate"

    def __init__(self, ctx, config, num_rows: int, num_cols: int, unit_height_m: float,
                 unit_width_m: float, bus_width: int, delay_tolerance: float,
                 toggle_rate: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_rows = require_int("num_rows", num_rows)
        self.num_cols = require_int("num_cols", num_cols)
        require_positive("unit_height_m", unit_height_m)
        require_positive("unit_width_m", unit_width_m)
        self.unit_height_m, self.unit_width_m = unit_height_m, unit_width_m
        self.bus_width = require_int("bus_width", bus_width)
        self.delay_tolerance = delay_tolerance
        self.toggle = getattr(config, self.default_toggle) if toggle_rate is None \
            else toggle_rate
        self.transfer_latency_s = self.in_latency_s = self.out_latency_s = 0.0
        self.bit_energy_J = self.in_bit_energy_J = self.out_bit_energy_J = 0.0

    def latency_s(self, *, num_transfers: float = 1.0, transfers_in: float | None = None,
                  transfers_out: float | None = None,
                  clock_period_s: float | None = None) -> float:
        if transfers_in is not None or transfers_out is not None:
            # tables §5.9: each direction's transfer rounded up to whole clock cycles
            return (cycles(self.in_latency_s, clock_period_s) * (transfers_in or 0)
                    + cycles(self.out_latency_s, clock_period_s) * (transfers_out or 0))
        return num_transfers * cycles(self.transfer_latency_s, clock_period_s)

    def dynamic_energy_J(self, *, num_bits: float = 0.0, bits_in: float | None = None,
                         bits_out: float | None = None) -> float:
        if bits_in is not None or bits_out is not None:
            # toggled bit counts given per direction (the caller applied the toggle rates)
            return (bits_in or 0.0) * self.in_bit_energy_J + \
                (bits_out or 0.0) * self.out_bit_energy_J
        return num_bits * self.bit_energy_J * self.toggle
