"""PE-level bus: repeated wires between the subarrays of a PE (NeuroSim V1.4 tables §5.9)."""
from __future__ import annotations

from chip.components.base import require_int
from chip.components.interconnect import Interconnect


class Bus(Interconnect):
    """Horizontal + vertical repeated bus over a num_rows x num_cols grid of units.

    Bus(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m, bus_width,
    delay_tolerance=0.0, toggle_rate=None, output_width=None). Area 0 (routed over the
    units, as NeuroSim). ``output_width``: lanes of the vertical bus (default bus_width).
    ``num_bits`` are weighted with the output toggle rate. Inputs run the horizontal bus,
    outputs the vertical one (``bits_in`` / ``bits_out``, ``transfers_in`` /
    ``transfers_out``); activity as every `Interconnect`.
    """

    name = "bus"
    default_toggle = "output_toggle_rate"

    def __init__(self, ctx, config, num_rows: int, num_cols: int, unit_height_m: float,
                 unit_width_m: float, bus_width: int, delay_tolerance: float = 0.0,
                 toggle_rate: float | None = None, output_width: int | None = None):
        super().__init__(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m,
                         bus_width, delay_tolerance, toggle_rate)
        rw = ctx.fb.repeated_wire(ctx.tech, ctx.r_wire_ohm_per_m, ctx.wire_cap_F_per_m,
                                  delay_tolerance, "decrement")        # tables §5.9
        self.design = rw
        # tables §5.9: horizontal = unit width (cols - 1), vertical = unit height (rows - 1).
        # ProcessingUnit.cpp: the inputs are spread along the sub-array row on the horizontal
        # bus, the partial sums gathered down the column on the vertical bus
        self.length_in_m = unit_width_m * (self.num_cols - 1)
        self.length_out_m = unit_height_m * (self.num_rows - 1)
        self.length_m = self.length_in_m + self.length_out_m
        self.area_m2 = 0.0
        # the vertical (output) bus may be wider: ``output_width`` lanes (default bus_width)
        self.output_width = require_int("output_width", output_width) if output_width \
            else self.bus_width
        self.leakage_W = rw.leakage_W_per_m * (self.length_in_m * self.bus_width
                                               + self.length_out_m * self.output_width)
        self.transfer_latency_s = rw.delay_s_per_m * self.length_m
        self.in_latency_s = rw.delay_s_per_m * self.length_in_m
        self.out_latency_s = rw.delay_s_per_m * self.length_out_m
        self.bit_energy_J = rw.energy_J_per_m * self.length_m
        self.in_bit_energy_J = rw.energy_J_per_m * self.length_in_m
        self.out_bit_energy_J = rw.energy_J_per_m * self.length_out_m
