"""X-Y bus of the chip (NeuroSim V1.4 tables §5.9: new in V1.4)."""
from __future__ import annotations

from chip.components.interconnect import Interconnect, wire_segment


class XYBus(Interconnect):
    """A horizontal bus along the tile rows and vertical buses down the tile columns.

    XYBus(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m, bus_width,
    delay_tolerance=0.1, folded_ratio=4, toggle_rate=None). A transfer runs from the centre
    tile horizontally to the target column, then vertically to the target row. Latency: the
    farthest tile; energy: the mean path over all tiles. ``num_bits`` are weighted with the
    input toggle rate. Activity as every `Interconnect`.
    """

    name = "xybus"

    def __init__(self, ctx, config, num_rows: int, num_cols: int, unit_height_m: float,
                 unit_width_m: float, bus_width: int, delay_tolerance: float = 0.1,
                 folded_ratio: float = 4, toggle_rate: float | None = None):
        super().__init__(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m,
                         bus_width, delay_tolerance, toggle_rate)
        rows, cols = self.num_rows, self.num_cols
        # tables §5.9: the chip uses the centre tile (ceil(cols/2), ceil(rows/2))
        cx, cy = -(-cols // 2), -(-rows // 2)
        dx_max = max(cx - 1, cols - cx) * unit_width_m
        dy_max = max(cy - 1, rows - cy) * unit_height_m
        dx_mean = sum(abs(x - cx) for x in range(1, cols + 1)) / cols * unit_width_m
        dy_mean = sum(abs(y - cy) for y in range(1, rows + 1)) / rows * unit_height_m
        seg = {}
        for name, length in (("dx_max", dx_max), ("dy_max", dy_max), ("dx", dx_mean),
                             ("dy", dy_mean)):
            seg[name] = wire_segment(ctx, length, delay_tolerance) if length > 0 else (0, 0, 0, 0)
        self.transfer_latency_s = seg["dx_max"][0] + seg["dy_max"][0]
        self.bit_energy_J = seg["dx"][1] + seg["dy"][1]
        self.centre_traffic = ctx.quirk("xybus_centre_traffic")
        if self.centre_traffic:
            self._centre_traffic(cx, cy)
        else:
            # ours: inputs and outputs both run from the centre to the farthest tile
            # (latency) over the mean path (energy)
            self.in_latency_s = self.out_latency_s = self.transfer_latency_s
            self.in_bit_energy_J = self.out_bit_energy_J = self.bit_energy_J
        self._layout(folded_ratio)

    def _centre_traffic(self, cx: int, cy: int) -> None:
        """XYBus.cpp as Chip.cpp calls it: inputs run the horizontal bus over ceil(cols/2)
        tiles, outputs the vertical bus over rows - ceil(rows/2) - 1 tiles."""
        ctx, tol = self.ctx, self.delay_tolerance
        h = wire_segment(ctx, self.unit_width_m * cx, tol) if cx > 0 else (0, 0)
        lv = self.unit_height_m * max(0, self.num_rows - cy - 1)
        v = wire_segment(ctx, lv, tol) if lv > 0 else (0, 0)
        self.in_latency_s, self.in_bit_energy_J = h[0], h[1]
        self.out_latency_s, self.out_bit_energy_J = v[0], v[1]

    def _layout(self, folded_ratio: float) -> None:
        """Area, leakage and footprint: one horizontal bus over the chip width, one vertical
        bus per tile column (ours)."""
        ctx, tol, cols = self.ctx, self.delay_tolerance, self.num_cols
        W, H = cols * self.unit_width_m, self.num_rows * self.unit_height_m
        pitch = 2 * ctx.wire_width_m
        h_full = wire_segment(ctx, W, tol) if W > 0 else (0, 0, 0, 0)
        v_full = wire_segment(ctx, H, tol) if H > 0 else (0, 0, 0, 0)
        self.area_m2 = (self.bus_width * ((W + cols * H) * pitch / folded_ratio
                                          + h_full[3] + cols * v_full[3]))
        if ctx.quirk("xybus_area_strips"):
            # XYBus.cpp's bookkeeping (tables §5.9): one vertical and one horizontal bus over
            # the whole grid, every bit lane a strip one repeater wide / folded ratio
            rw = ctx.fb.repeated_wire(ctx.tech, ctx.r_wire_ohm_per_m, ctx.wire_cap_F_per_m,
                                      tol, "halve")
            self.area_m2 = self.bus_width / folded_ratio * (
                float(rw.repeater_layout_width_m) * H + float(rw.repeater_height_m) * W)
        self.leakage_W = self.bus_width * (h_full[2] + cols * v_full[2])
        self.width_m, self.height_m = W, H
