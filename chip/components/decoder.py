"""Row / mux decoders with output drivers (NeuroSim V1.4 tables §5.6)."""
from __future__ import annotations

import math

from chip.components.base import Component, require_int, require_positive

# ours: the fan-out a select-line driver is sized for (logical effort's delay-optimal stage
# effort is close to 4: Sutherland, Sproull & Harris, "Logical Effort", 1999, ch. 3)
SELECT_DRIVER_FANOUT = 4.0


class RowDecoder(Component):
    """A decoder of ``num_outputs`` lines (ceil(log2 n) address bits) with output drivers.

    RowDecoder(ctx, config, num_outputs, load_cap_F, mux_decoder=False, height_m=None).
    n address INVs, 4 floor(n/2) NAND2 predecoders, 2^n NOR(ceil(n/2)) for n > 2, and two
    driver INVs per output (mux decoder: + NAND2 + INV); the last driver is
    2 W_min x sizing factor wide. A mux decoder's select drivers are sized for the
    transmission gates they drive, the table's factor as a floor (ours; quirk
    ``mux_decoder_table_driver``: the table's factor alone). Activity: ``num_reads`` decodes.
    """

    name = "decoder"
    category = "other"

    def __init__(self, ctx, config, num_outputs: int, load_cap_F: float,
                 mux_decoder: bool = False, height_m: float | None = None):
        super().__init__()
        self.ctx = ctx
        self.num_outputs = require_int("num_outputs", num_outputs)
        require_positive("load_cap_F", load_cap_F, allow_zero=True)
        n = max(1, math.ceil(math.log2(self.num_outputs))) if self.num_outputs > 1 else 1
        self.address_bits = n
        self.mux_decoder = mux_decoder
        w, pn = ctx.w_min_m, ctx.pn
        self.inv = ctx.inv(enlarge=True)                                    # tables §5.6
        self.nand2 = ctx.gate("nand", 2, 2 * w, pn * w, enlarge=True)
        k = math.ceil(n / 2)
        self.nor = ctx.gate("nor", k, w, k * pn * w, enlarge=True) if n > 2 else None
        self.sizing_factor = self._sizing_factor(load_cap_F)
        factor = self.sizing_factor
        self.drv = ctx.gate("inv", 1, 2 * w * factor, 2 * pn * w * factor)
        # ours: the first driver stage tapers geometrically towards the final driver
        taper = max(1.0, math.sqrt(2 * factor))
        self.drv_in = ctx.gate("inv", 1, taper * w, taper * pn * w)
        self._area_and_leakage(height_m)
        self.decode_latency_s = self._delay(load_cap_F)
        self.decode_energy_J = self._energy(load_cap_F)

    def _sizing_factor(self, load_cap_F: float) -> float:
        """Width of the final driver in units of 2 W_min (tables §2.2 per-node factor).

        NeuroSim's factor for the mux decoder was tuned at 22 nm and below (110 at 22 nm);
        at 130-32 nm its table has no entry and the factor stays 1, a minimum inverter
        driving every transmission gate on a select line (fan-out up to ~900 in a 128-column
        parallel RRAM sub-array). Ours sizes each select driver for fan-out
        SELECT_DRIVER_FANOUT into its half of the load (the TG's NMOS or PMOS gates)."""
        ctx, w = self.ctx, self.ctx.w_min_m
        if not self.mux_decoder:
            return float(ctx.node.sizing_factor_wl_decoder)
        factor = float(ctx.node.sizing_factor_mux)
        if ctx.quirk("mux_decoder_table_driver"):
            return factor
        unit_cap_F = ctx.gate("inv", 1, 2 * w, 2 * ctx.pn * w).cap_in_F
        return max(factor, (load_cap_F / 2) / (SELECT_DRIVER_FANOUT * unit_cap_F))

    def _area_and_leakage(self, height_m: float | None) -> None:
        ctx, n, outs = self.ctx, self.address_bits, self.num_outputs
        inv, nand2, nor, drv, drv_in = self.inv, self.nand2, self.nor, self.drv, self.drv_in
        mux_decoder = self.mux_decoder
        area = n * inv.area_m2 + 4 * (n // 2) * nand2.area_m2
        leak = n * inv.leakage_W + 4 * (n // 2) * nand2.leakage_W
        if nor is not None:
            area += outs * nor.area_m2
            leak += outs * nor.leakage_W
        area += outs * (drv_in.area_m2 + drv.area_m2)
        leak += outs * (drv_in.leakage_W + drv.leakage_W)
        if mux_decoder:
            area += outs * (nand2.area_m2 + inv.area_m2)
            leak += outs * (nand2.leakage_W + inv.leakage_W)
        self.gate_area_m2 = area
        n_nor = outs if nor is not None else 0
        if ctx.quirk("decoder_output_stage"):
            # RowDecoder.cpp: the output stage is two full-size driver INVs per NOR (none when
            # n <= 2); a mux decoder's enable NAND2 + INV + driver INV leak as a NAND2 and
            # two minimum INVs
            w_out = (nand2.width_m + 2 * drv.width_m) if mux_decoder else 2 * drv.width_m
            leak = n * inv.leakage_W + 4 * (n // 2) * nand2.leakage_W + n_nor * (
                nor.leakage_W if nor is not None else 0.0)
            leak += n_nor * ((nand2.leakage_W + 2 * inv.leakage_W) if mux_decoder
                             else 2 * drv.leakage_W)
        else:
            # ours: a tapered driver pair per output (mux: behind the enable NAND2 + INV)
            w_out = drv_in.width_m + drv.width_m + (
                nand2.width_m + inv.width_m if mux_decoder else 0.0)
        self._layout(n, inv, nand2, nor, w_out, height_m)
        self.leakage_W = leak

    def _delay(self, load_cap_F: float) -> float:
        """RowDecoder.cpp delay chain (tables §5.6): address INV -> NAND2 (2 R_on,N) -> NOR
        (2 R_on,P; loads one in four NORs per NAND) -> output stage."""
        ctx, n, outs = self.ctx, self.address_bits, self.num_outputs
        inv, nand2, nor, drv = self.inv, self.nand2, self.nor, self.drv
        mux_decoder = self.mux_decoder
        n_nor = outs if nor is not None else 0
        # without a NOR stage the predecoder (or the address INV) drives the output stage, not
        # the decoded line's load, which only the sized output driver sees
        stage_in = nand2.cap_in_F if mux_decoder else drv.cap_in_F
        first_load = 2 * nand2.cap_in_F if n // 2 else stage_in
        t, ramp = ctx.horowitz(ctx.r_on(inv.width_n_m, "n") * (inv.cap_out_F + first_load))
        d = t
        if n // 2:
            nand_load = nor.cap_in_F * n_nor / 4 if nor is not None else stage_in
            t, ramp = ctx.horowitz(2 * ctx.r_on(nand2.width_n_m, "n")
                                   * (nand2.cap_out_F + nand_load), ramp)
            d += t
        if nor is not None:
            t, ramp = ctx.horowitz(2 * ctx.r_on(nor.width_p_m, "p")
                                   * (nor.cap_out_F + stage_in), ramp)
            d += t
        if mux_decoder:
            return d + self._select_delay(load_cap_F, ramp)
        # RowDecoder.cpp (REGULAR): two driver INVs, the second into the load
        t, ramp = ctx.horowitz(ctx.r_on(drv.width_n_m, "n")
                               * (drv.cap_out_F + drv.cap_in_F), ramp)
        d += t
        t, _ = ctx.horowitz(ctx.r_on(drv.width_p_m, "p") * (drv.cap_out_F + load_cap_F), ramp)
        return d + t

    def _select_delay(self, load_cap_F: float, ramp: float) -> float:
        """RowDecoder.cpp (MUX): enable NAND2 -> INV -> driver INV; the load splits into the
        NMOS and PMOS transmission-gate halves (ours: half each). As in NeuroSim, the stage
        that brings the enable INV up to the driver is not timed (docs/chip-internals.md)."""
        ctx, inv, nand2, drv = self.ctx, self.inv, self.nand2, self.drv
        t, ramp = ctx.horowitz(ctx.r_on(nand2.width_n_m, "n")
                               * (nand2.cap_out_F + inv.cap_in_F), ramp)
        d = t
        t, ramp = ctx.horowitz(ctx.r_on(drv.width_p_m, "p")
                               * (drv.cap_out_F + drv.cap_in_F + load_cap_F / 2), ramp)
        d += t
        t, _ = ctx.horowitz(ctx.r_on(drv.width_n_m, "n") * (drv.cap_out_F + load_cap_F / 2),
                            ramp)
        return d + t

    def _energy(self, load_cap_F: float) -> float:
        """Tables §5.6: address INVs + NAND inputs, 1/4 of NAND outputs, one NOR output, the
        driver chain and its load; x epsilon."""
        ctx, n = self.ctx, self.address_bits
        inv, nand2, nor, drv, drv_in = self.inv, self.nand2, self.nor, self.drv, self.drv_in
        e = n * (inv.cap_in_F + inv.cap_out_F) + 4 * (n // 2) * nand2.cap_in_F
        e += (n // 2) * nand2.cap_out_F
        if nor is not None:
            e += nor.cap_out_F + nor.cap_in_F
        e += drv_in.cap_in_F + drv_in.cap_out_F + drv.cap_in_F + drv.cap_out_F + load_cap_F
        if self.mux_decoder:
            e += nand2.cap_in_F + nand2.cap_out_F + inv.cap_in_F + inv.cap_out_F
        return e * ctx.vdd_V ** 2 * ctx.epsilon

    def _layout(self, n: int, inv, nand2, nor, w_out: float, height_m: float | None) -> None:
        """RowDecoder.cpp's floorplan (tables §5.6): the address INVs, the 2-bit predecode
        NAND2s and the 2^n NORs in columns (each as tall as the pinned height allows, else one
        column), one M3 track per NAND (+2 for odd n) between the NAND and NOR stages, and
        the output stage (``w_out`` wide: NeuroSim 2 driver INVs, mux decoder: enable NAND2 +
        2 driver INVs) beside every NOR column."""
        F = self.ctx.feature_size_m
        n_inv, n_nand = n, 4 * (n // 2)
        n_nor = 2 ** n if n > 2 else 0
        n_metal = n_nand + (n % 2) * 2 if n > 2 else 0
        tracks = self.ctx.tech.m3_pitch_F * n_metal * F
        h_nor = nor.height_m if nor is not None else 0.0
        w_nor = nor.width_m if nor is not None else 0.0
        if height_m:
            def cols(count, h):
                if not count or not h:
                    return 0
                per = max(1, min(int(height_m / h + 1e-9), count))
                return math.ceil(count / per)
            c_nor = cols(n_nor, h_nor)
            width = (inv.width_m * cols(n_inv, inv.height_m)
                     + nand2.width_m * cols(n_nand, nand2.height_m)
                     + tracks + (w_nor + w_out) * c_nor)
            self.width_m, self.height_m = width, height_m
        else:
            self.height_m = max(h_nor * n_nor, nand2.height_m * n_nand)
            self.width_m = inv.width_m + nand2.width_m + tracks + w_nor + w_out
        self.area_m2 = self.width_m * self.height_m

    def latency_s(self, *, num_reads: float = 1.0) -> float:
        return num_reads * self.decode_latency_s

    def dynamic_energy_J(self, *, num_reads: float = 0.0) -> float:
        return num_reads * self.decode_energy_J
