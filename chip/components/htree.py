"""H-tree interconnect of tiles or PEs (NeuroSim V1.4 tables §5.9)."""
from __future__ import annotations

import math

from chip.components.base import require_positive
from chip.components.interconnect import Interconnect, wire_segment

__all__ = ["HTree", "wire_segment"]


class HTree(Interconnect):
    """H-tree over a num_rows x num_cols grid of units (tiles or PEs).

    HTree(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m, bus_width,
    delay_tolerance=0.1, folded_ratio=4, toggle_rate=None). Every transfer runs between
    the root and a leaf, inputs and outputs alike (the per-direction figures are the
    whole path's); ``num_bits`` are weighted with the input toggle rate. Activity as every
    `Interconnect`.
    """

    name = "htree"

    def __init__(self, ctx, config, num_rows: int, num_cols: int, unit_height_m: float,
                 unit_width_m: float, bus_width: int, delay_tolerance: float = 0.1,
                 folded_ratio: float = 4, toggle_rate: float | None = None):
        super().__init__(ctx, config, num_rows, num_cols, unit_height_m, unit_width_m,
                         bus_width, delay_tolerance, toggle_rate)
        require_positive("folded_ratio", folded_ratio)
        # tables §5.9: 2 ceil(log2 max(rows, cols)) + 1 stages; grid rounded up to 2^n
        n = math.ceil(math.log2(max(self.num_rows, self.num_cols))) if max(
            self.num_rows, self.num_cols) > 1 else 0
        self.stages = 2 * n + 1
        side = 2 ** n
        W, H = side * unit_width_m, side * unit_height_m
        # HTree.cpp: the main bus from the tile (chip) edge to the root, over the nearer half
        # of the grid's width (over-routing constraint: at least one unit)
        x_c = side / 2 - (1 if side - side / 2 < 1 else 0)
        main = min(side - x_c, x_c) * unit_width_m
        delay, energy, area, leak = self._repeated(n, W, H, main, folded_ratio)
        if ctx.quirk("htree_latency_long_arms"):
            delay = self._long_arms_delay(n, W, H, main)
        if ctx.quirk("htree_leakage_one_path"):
            leak = self._one_path_leakage(n, W, H)
        if ctx.quirk("htree_area_strips"):
            area = self._neurosim_area(ctx, n, unit_height_m, unit_width_m, delay_tolerance,
                                       folded_ratio)
        self.transfer_latency_s = self.in_latency_s = self.out_latency_s = delay
        self.bit_energy_J = self.in_bit_energy_J = self.out_bit_energy_J = energy
        self.area_m2 = area
        self.width_m = W
        self.height_m = H
        self.leakage_W = leak

    def _repeated(self, n: int, W: float, H: float, main: float,
                  folded_ratio: float) -> tuple[float, float, float, float]:
        """(delay, energy per bit, area, leakage) of the root-leaf path: level k has 2^k
        H-shapes, each arm a repeated segment, plus the main bus."""
        ctx, tol = self.ctx, self.delay_tolerance
        delay = energy = 0.0
        area = leak = 0.0
        pitch = 2 * ctx.wire_width_m
        for k in range(n):                          # level k: 2^k H-shapes
            for length, count in ((W / 2 ** (k + 2), 2 * 4 ** k),    # horizontal arms
                                  (H / 2 ** (k + 2), 4 * 4 ** k)):   # vertical arms
                d, e, lk, ra = wire_segment(ctx, length, tol)
                delay += d
                energy += e
                # ours: wiring area per segment (last stage overlaps the units: not counted)
                if k < n - 1:
                    area += count * length * self.bus_width * pitch / folded_ratio
                area += count * ra * self.bus_width
                leak += count * lk * self.bus_width
        if main > 0:
            d, e, lk, ra = wire_segment(ctx, main, tol)
            delay += d
            energy += e
            area += ra * self.bus_width
            leak += lk * self.bus_width
        return delay, energy, area, leak

    def _long_arms_delay(self, n: int, W: float, H: float, main: float) -> float:
        """HTree.cpp CalculateLatency starts the arms at the full grid side (its energy
        routine at half of it), so every arm it times is twice as long; and it times the
        main bus on the last (shortest, narrowest) arm's wire."""
        ctx, tol = self.ctx, self.delay_tolerance
        delay = sum(wire_segment(ctx, length, tol)[0]
                    for k in range(n) for length in (W / 2 ** (k + 1), H / 2 ** (k + 1)))
        if main > 0:
            last = W / 2 ** n if n else main
            d_last = wire_segment(ctx, last, tol)[0] / last
            delay += d_last * main
        return delay

    def _one_path_leakage(self, n: int, W: float, H: float) -> float:
        """HTree.cpp: leakage = per-length repeater leakage x bus width x one root-leaf
        path (the middle stages, one arm each, plus the main bus to the nearer edge)."""
        ctx = self.ctx
        L = 0.0
        lv, lh = H / 2, W / 2
        for _ in range(1, n):
            lv, lh = lv / 2, lh / 2
            L += lv + lh
        side_units = 2 ** n
        L += min(side_units - side_units / 2, side_units / 2) * self.unit_width_m
        r = ctx.fb.interconnect_unit_resistance(ctx.tech, ctx.wire, max(L, 1e-9))
        rw = ctx.fb.repeated_wire(ctx.tech, r, ctx.wire_cap_F_per_m, self.delay_tolerance,
                                  "halve")
        return rw.leakage_W_per_m * L * self.bus_width

    def _neurosim_area(self, ctx, n: int, unit_h: float, unit_w: float, tol: float,
                       folded: float) -> float:
        """HTree.cpp's area bookkeeping (tables §5.9): each bit lane of a repeated stage is a
        strip one repeater wide, the strip widths accumulate from stage to stage, the last
        stage overlaps the units, plus the main bus to the nearer edge."""
        rw = ctx.fb.repeated_wire(ctx.tech, ctx.r_wire_ohm_per_m, ctx.wire_cap_F_per_m, tol,
                                  "halve")
        w_rep, h_rep = float(rw.repeater_layout_width_m), float(rw.repeater_height_m)
        side = 2 ** n
        lv, lh = unit_h * side / 2, unit_w * side / 2
        wid_v = wid_h = area = 0.0
        for _ in range(1, n):                        # NeuroSim: stages 1 .. n-1
            lv, lh = lv / 2, lh / 2
            wid_v += self.bus_width * w_rep / folded  # HTree.cpp: cumulative strip width
            area += wid_v * lv / 2
            wid_h += self.bus_width * h_rep / folded
            area += wid_h * lh / 2
        x_c = side / 2 - (1 if side - side / 2 < 1 else 0)     # over-routing constraint
        area += self.bus_width * h_rep / folded * min(side - x_c, x_c) * unit_w  # main bus
        return area
