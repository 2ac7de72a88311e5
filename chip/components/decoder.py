"""Row / mux decoders with output drivers (NeuroSim V1.4 tables §5.6)."""
from __future__ import annotations

import math

from chip.components.base import Component, require_int, require_positive


class RowDecoder(Component):
    """A decoder of ``num_outputs`` lines (ceil(log2 n) address bits) with output drivers.

    RowDecoder(ctx, config, num_outputs, load_cap_F, mux_decoder=False, height_m=None).
    n address INVs, 4 floor(n/2) NAND2 predecoders, 2^n NOR(ceil(n/2)) for n > 2, and two
    driver INVs per output (mux decoder: + NAND2 + INV); the last driver is
    2 W_min x sizing factor wide. Activity: ``num_reads`` decodes.
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
        w, pn = ctx.w_min_m, ctx.pn
        inv = ctx.inv(enlarge=True)                                         # tables §5.6
        nand2 = ctx.gate("nand", 2, 2 * w, pn * w, enlarge=True)
        k = math.ceil(n / 2)
        nor = ctx.gate("nor", k, w, k * pn * w, enlarge=True) if n > 2 else None
        factor = ctx.node.sizing_factor_mux if mux_decoder else ctx.node.sizing_factor_wl_decoder
        drv = ctx.gate("inv", 1, 2 * w * factor, 2 * pn * w * factor)
        # ours: the first driver stage tapers geometrically towards the final driver
        taper = max(1.0, math.sqrt(2 * factor))
        drv_in = ctx.gate("inv", 1, taper * w, taper * pn * w)
        outs = self.num_outputs
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
        # RowDecoder.cpp delay chain (tables §5.6): address INV -> NAND2 (2 R_on,N) ->
        # NOR (2 R_on,P; loads one in four NORs per NAND) -> output stage
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
            nor_load = stage_in
            t, ramp = ctx.horowitz(2 * ctx.r_on(nor.width_p_m, "p")
                                   * (nor.cap_out_F + nor_load), ramp)
            d += t
        if mux_decoder:
            # RowDecoder.cpp (MUX): enable NAND2 -> INV -> driver INV; the load splits into
            # the NMOS and PMOS transmission-gate halves (ours: half each)
            t, ramp = ctx.horowitz(ctx.r_on(nand2.width_n_m, "n")
                                   * (nand2.cap_out_F + inv.cap_in_F), ramp)
            d += t
            t, ramp = ctx.horowitz(ctx.r_on(drv.width_p_m, "p")
                                   * (drv.cap_out_F + drv.cap_in_F + load_cap_F / 2), ramp)
            d += t
            t, _ = ctx.horowitz(ctx.r_on(drv.width_n_m, "n") * (drv.cap_out_F
                                                                + load_cap_F / 2), ramp)
        else:
            # RowDecoder.cpp (REGULAR): two driver INVs, the second into the load
            t, ramp = ctx.horowitz(ctx.r_on(drv.width_n_m, "n")
                                   * (drv.cap_out_F + drv.cap_in_F), ramp)
            d += t
            t, _ = ctx.horowitz(ctx.r_on(drv.width_p_m, "p") * (drv.cap_out_F + load_cap_F),
                                ramp)
        self.decode_latency_s = d + t
        vdd2 = ctx.vdd_V ** 2
        # tables §5.6 energy: address INVs + NAND inputs, 1/4 of NAND outputs, one NOR
        # output, the driver chain and its load; x epsilon.
        e = n * (inv.cap_in_F + inv.cap_out_F) + 4 * (n // 2) * nand2.cap_in_F
        e += (n // 2) * nand2.cap_out_F
        if nor is not None:
            e += nor.cap_out_F + nor.cap_in_F
        e += drv_in.cap_in_F + drv_in.cap_out_F + drv.cap_in_F + drv.cap_out_F + load_cap_F
        if mux_decoder:
            e += nand2.cap_in_F + nand2.cap_out_F + inv.cap_in_F + inv.cap_out_F
        self.decode_energy_J = e * vdd2 * ctx.epsilon

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

    def latency_s(self, num_reads: float = 1.0, **_) -> float:
        return num_reads * self.decode_latency_s

    def dynamic_energy_J(self, num_reads: float = 0.0, **_) -> float:
        return num_reads * self.decode_energy_J
