"""Device formulas of from_neurosim: hand-derived values, invariants and bad-input handling."""
from __future__ import annotations

import math

import pytest

from from_neurosim import FormulaBindings as fb

N, P = fb.DeviceType.NMOS, fb.DeviceType.PMOS
INV, NAND, NOR = fb.GateType.INV, fb.GateType.NAND, fb.GateType.NOR
NODES = [130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1]


def H(t):
    return t.standard_cell_height_m


# ----------------------------------------------------------------------------- on-resistance
def test_on_resistance_hand_values():
    # 22 nm LSTP, 2F NMOS: R = 1.77 * 0.85 / (791.9 A/m * 44 nm)
    t22 = fb.Technology(22)
    assert fb.on_resistance(t22, 44e-9, N) == pytest.approx(1.77 * 0.85 / (791.9 * 44e-9), rel=1e-12)
    assert fb.on_resistance(t22, 44e-9, N, include_multiplier=False) == pytest.approx(0.85 / (791.9 * 44e-9))
    # 130 nm HP PMOS 260 nm
    t130 = fb.Technology(130, "hp")
    assert fb.on_resistance(t130, 260e-9, P) == pytest.approx(1.54 * 1.3 / (430 * 260e-9))
    # 14 nm FinFET: 3 x 2F -> 3 fins of 92 nm
    t14 = fb.Technology(14)
    assert fb.on_resistance(t14, 3 * 28e-9, N) == pytest.approx(2.09 * 0.8 / (595.045 * 3 * 92e-9))
    # 2 nm GAA: one stack of 3 sheets of 42 nm
    t2 = fb.Technology(2)
    assert fb.on_resistance(t2, 4e-9, P) == pytest.approx(1.98 * 0.65 / (526.868 * 126e-9))
    # temperature: 22 nm LSTP at 350 K uses Ion_N(350) = 628.3
    assert fb.on_resistance(fb.Technology(22, "lstp", 350), 44e-9, N) == pytest.approx(
        1.77 * 0.85 / (628.3 * 44e-9))


def test_worked_example_R_access_86_36_kohm():
    # tables file 6.1: SRAM access NMOS W = 1 F at 22 nm LSTP -> 86.36 kOhm
    assert fb.on_resistance(fb.Technology(22), 22e-9, N) == pytest.approx(86.36e3, rel=1e-4)


def test_fin_rounding_is_robust():
    t7 = fb.Technology(7)
    w = 3 * 2 * t7.feature_size_m  # 3 fins, computed in floating point
    assert t7.fin_count(w) == 3
    assert t7.fin_count(w * (1 + 1e-6)) == 4
    assert t7.electrical_width_m(w) == pytest.approx(3 * 107e-9)


# ----------------------------------------------------------------------------- gate capacitance
def test_gate_cap_hand_values():
    t22 = fb.Technology(22)
    assert fb.gate_cap(t22, 44e-9) == pytest.approx((5.245e-10 * 1.2 + 8.004e-10) * 44e-9)
    t45 = fb.Technology(45, "hp")
    assert fb.gate_cap(t45, 1e-6) == pytest.approx((4.091305e-10 * 1.2 + 4.957928e-10) * 1e-6)
    t7 = fb.Technology(7)  # 2 fins -> 2 x 100.497 aF
    assert fb.gate_cap(t7, 28e-9) == pytest.approx(2 * 100.497e-18)
    t1 = fb.Technology(1)  # one stack of 4 sheets -> 66.94 aF
    assert fb.gate_cap(t1, 2e-9) == pytest.approx(66.94e-18)
    cin, _ = fb.gate_capacitance(t22, NAND, 2, 88e-9, 58e-9, H(t22))
    assert cin == pytest.approx(fb.gate_cap(t22, 88e-9) + fb.gate_cap(t22, 58e-9))


def test_drain_cap_hand_values():
    t = fb.Technology(22)
    F = 22e-9
    # unfolded 2F NMOS: bottom 2.8F x 2F x Cj, sidewall (2 x 2.8F + 2F) x Csw, drain-to-channel 2F x Cd2ch
    expected = (2.8 * F * 2 * F * t.cap_junction_F_per_m2 + (2 * 2.8 * F + 2 * F) * t.cap_sidewall_F_per_m
                + 2 * F * t.cap_drain_to_channel_F_per_m)
    assert fb.drain_cap(t, 2 * F, N, H(t)) == pytest.approx(expected, rel=1e-12)
    # an INV's output cap is the sum of its two drains
    _, cout = fb.gate_capacitance(t, INV, 1, 2 * F, 3 * F, H(t))
    assert cout == pytest.approx(fb.drain_cap(t, 2 * F, N, H(t)) + fb.drain_cap(t, 3 * F, P, H(t)))
    # folded NMOS 30F (max 24.4F, 2 fingers): drain 2 x 2.8F, height 24.4F, 2 sidewall heights
    wmax = 24.4 * F
    exp2 = (2 * 2.8 * F * wmax * t.cap_junction_F_per_m2 + (2 * 2 * 2.8 * F + 2 * wmax) * t.cap_sidewall_F_per_m
            + 2 * wmax * t.cap_drain_to_channel_F_per_m)
    assert fb.drain_cap(t, 30 * F, N, H(t)) == pytest.approx(exp2, rel=1e-12)
    # 14 nm FinFET, 1 fin: bottom only, drain (CPP - poly) F wide, w_fin high
    t14 = fb.Technology(14)
    assert fb.drain_cap(t14, 28e-9, N, H(t14)) == pytest.approx((5.571 - 1.857) * 14e-9 * 8e-9 * 0.012)


def test_nand_nor_output_cap_sharing():
    t = fb.Technology(65, "lstp")
    F = 65e-9
    wn, wp = 4 * F, 2 * F
    _, c_nand = fb.gate_capacitance(t, NAND, 2, wn, wp, H(t))
    gap = 2.8 * F
    # NAND2 unfolded: PMOS drains shared floor(3/2)=1 finger; NMOS 2 drain fingers
    bottom = (gap * 1 * wp + gap * 2 * wn) * t.cap_junction_F_per_m2
    side = ((2 * gap + wp * 0) + (2 * 2 * gap + wn)) * t.cap_sidewall_F_per_m
    d2ch = (wn + wp) * t.cap_drain_to_channel_F_per_m
    assert c_nand == pytest.approx(bottom + side + d2ch, rel=1e-12)


# ----------------------------------------------------------------------------- gate area
def test_gate_area_planar_hand_values():
    t = fb.Technology(22)
    F = 22e-9
    g = fb.gate_area(t, INV, 1, 2 * F, 0, H(t))  # "A_min,N" = 7.6F x 28F
    assert (g.width_m, g.height_m) == (pytest.approx(7.6 * F), pytest.approx(28 * F))
    assert g.area_m2 == pytest.approx(212.8 * F * F)
    # folding: NMOS-only max width 28F - 3.6F = 24.4F; 30F -> 2 fingers -> 3 CPP; 50F -> 3 -> 4 CPP
    assert fb.gate_area(t, INV, 1, 24.4 * F, 0, H(t)).width_m == pytest.approx(7.6 * F)
    assert fb.gate_area(t, INV, 1, 30 * F, 0, H(t)).width_m == pytest.approx(3 * 3.8 * F)
    assert fb.gate_area(t, INV, 1, 50 * F, 0, H(t)).width_m == pytest.approx(4 * 3.8 * F)
    # NAND2 / NAND3 unfolded share diffusion: n x 7.6F - (n-1) x 3.8F
    pn = t.pn_size_ratio
    assert fb.gate_area(t, NAND, 2, 4 * F, 2 * pn * F, H(t)).width_m == pytest.approx(11.4 * F)
    assert fb.gate_area(t, NOR, 3, 2 * F, 6 * pn * F, H(t)).width_m == pytest.approx(15.2 * F)
    # NAND2 with a folded device: no sharing, 2 x (folds+1) CPP
    wide = fb.gate_area(t, NAND, 2, 20 * F, 10 * F, H(t))  # ratio 1/3: max_n = (2/3)(28-7.1)F = 13.93F
    assert wide.width_m == pytest.approx(2 * 3 * 3.8 * F)


def test_gate_area_finfet_hand_values():
    t = fb.Technology(14)
    F = 14e-9
    g = fb.gate_area(t, INV, 1, 2 * F, 2 * F, H(t))
    assert g.width_m == pytest.approx(2 * 5.571 * F)
    assert g.height_m == pytest.approx(41.142 * F)
    # NMOS-only cell: 2 x max_fin_num = 8 fins per finger; 9 fins -> 2 fingers -> 3 CPP
    assert fb.gate_area(t, INV, 1, 8 * 2 * F, 0, H(t)).width_m == pytest.approx(2 * 5.571 * F)
    assert fb.gate_area(t, INV, 1, 9 * 2 * F, 0, H(t)).width_m == pytest.approx(3 * 5.571 * F)
    # GAA 2 nm INV: one stack each
    t2 = fb.Technology(2)
    assert fb.gate_area(t2, INV, 1, 4e-9, 4e-9, H(t2)).width_m == pytest.approx(2 * 22.5 * 2e-9)


def test_pass_gate_area_hand_values():
    t = fb.Technology(22)
    F = 22e-9
    g = fb.pass_gate_area(t, 4 * F, 6 * F, 1)
    assert g.width_m == pytest.approx(2 * 3.8 * F)
    assert g.height_m == pytest.approx(10 * F + 3.5 * F + 3.6 * F)
    g2 = fb.pass_gate_area(t, 4 * F, 6 * F, 2)
    assert g2.width_m == pytest.approx(3 * 3.8 * F) and g2.height_m == pytest.approx(5 * F + 7.1 * F)
    assert fb.pass_gate_area(t, 4 * F, 6 * F, 1, 1e-6).area_m2 == g.area_m2  # height_m is unused
    t10 = fb.Technology(10)
    g10 = fb.pass_gate_area(t10, 3 * 20e-9, 2 * 20e-9, 1)  # 3 N fins, 2 P fins
    exp_h = (2 * 36e-9 + 8e-9) + (1 * 36e-9 + 8e-9) + 10.0 * 10e-9 + 2 * 8.2 * 10e-9
    assert g10.height_m == pytest.approx(exp_h) and g10.width_m == pytest.approx(2 * 6.4 * 10e-9)


def test_enlarge_size():
    t = fb.Technology(22)
    F = 22e-9
    assert fb.enlarge_size(t, 2 * F, 0, H(t)) == (pytest.approx(24.4 * F), 0)
    wn, wp = fb.enlarge_size(t, 2 * F, 2 * F, H(t))
    assert wn == pytest.approx(0.5 * (28 - 7.1) * F) and wp == pytest.approx(wn)
    assert fb.enlarge_size(t, 30 * F, 0, H(t)) == (30 * F, 0)  # already folded: unchanged
    t14 = fb.Technology(14)
    assert fb.enlarge_size(t14, 28e-9, 0, H(t14)) == (pytest.approx(4 * 28e-9), 0)
    assert fb.enlarge_size(t14, 28e-9, 28e-9, H(t14)) == (pytest.approx(4 * 28e-9), pytest.approx(4 * 28e-9))
    t2 = fb.Technology(2)
    assert fb.enlarge_size(t2, 4e-9, 0, H(t2)) == (pytest.approx(8e-9), 0)


# ----------------------------------------------------------------------------- gm, leakage, Horowitz
def test_transconductance_hand_values():
    t22 = fb.Technology(22)
    assert fb.transconductance(t22, 1e-6, N) == pytest.approx(2 * 456 * 1e-6 / (0.7 * 0.85 - 0.419915))
    t32 = fb.Technology(32, "hp")
    assert fb.transconductance(t32, 1e-6, P) == pytest.approx(2 * 673 * 1e-6 / (0.7 * 0.9 - 0.1944951))
    t14 = fb.Technology(14)  # 2 h_fin + w_fin = 92 nm per fin
    assert fb.transconductance(t14, 2 * 28e-9, N) == pytest.approx(1415.34 * 2 * 92e-9)
    t5 = fb.Technology(5)  # physically right: tabulated effective width 106 nm (NeuroSim uses w_fin only)
    assert fb.transconductance(t5, 10e-9, P) == pytest.approx(1820.9 * 106e-9)
    t1 = fb.Technology(1)
    assert fb.transconductance(t1, 2e-9, N) == pytest.approx(2401.75 * 128e-9)


def test_gate_leakage_hand_values():
    t = fb.Technology(22)
    wn, wp = 44e-9, 58e-9
    assert fb.gate_leakage(t, INV, 1, wn, wp) == pytest.approx((wn * 1e-4 + wp * 1e-4) / 2)
    assert fb.gate_leakage(t, NAND, 2, wn, wp) == pytest.approx(2 * wp * 1e-4 * 0.48)
    assert fb.gate_leakage(t, NAND, 3, wn, wp) == pytest.approx(3 * wp * 1e-4 * 0.31)
    assert fb.gate_leakage(t, NAND, 4, wn, wp) == pytest.approx(4 * wp * 1e-4 * 0.31)
    assert fb.gate_leakage(t, NOR, 2, wn, wp) == pytest.approx(2 * wn * 1e-4 * 0.95)
    assert fb.gate_leakage(t, NOR, 3, wn, wp) == pytest.approx(3 * wn * 1e-4 * 0.62)
    t65 = fb.Technology(65, "hp", 400)
    assert fb.gate_leakage(t65, INV, 1, 1e-6, 2e-6) == pytest.approx((1e-6 * 0.4212 + 2e-6 * 0.3036) / 2)
    t7 = fb.Technology(7)  # 2 fins of 107 nm
    assert fb.gate_leakage(t7, INV, 1, 28e-9, 14e-9) == pytest.approx(
        (2 * 107e-9 * 0.000147 + 107e-9 * 0.0001009536) / 2)


def test_horowitz():
    tau = 1e-10
    d, ramp = fb.horowitz(tau, 0.5, 1e20)  # step input
    assert d == pytest.approx(tau * math.log(2), rel=1e-9) and ramp == pytest.approx(0.5 / d)
    d2, ramp2 = fb.horowitz(tau, 0.9, 1e9)  # beta forced to 0.5; alpha = 1/(1e9 * 1e-10) = 10
    assert d2 == pytest.approx(tau * math.sqrt(math.log(0.5) ** 2 + 2 * 10 * 0.5 * 0.5))
    assert ramp2 == pytest.approx(0.5 / d2)
    # ramp chaining: a slower input ramp gives a longer delay
    d3, _ = fb.horowitz(tau, 0.5, ramp2)
    assert d3 > d
    assert fb.horowitz(0.0, 0.5, 1e9) == (0.0, 1e20)


# ----------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("node", NODES)
def test_wider_transistor_lower_resistance_larger_cap(node):
    t = fb.Technology(node)
    w = [k * t.min_nmos_width_m for k in (1, 2, 4, 8, 16, 40)]
    for dev in (N, P):
        r = [fb.on_resistance(t, x, dev) for x in w]
        c = [fb.gate_cap(t, x) for x in w]
        d = [fb.drain_cap(t, x, dev, H(t)) for x in w]
        assert all(a > b for a, b in zip(r, r[1:]))
        assert all(a < b for a, b in zip(c, c[1:]))
        assert all(a <= b for a, b in zip(d, d[1:])) and d[-1] > d[0]


@pytest.mark.parametrize("node", [130, 45, 22, 14, 7, 2])
def test_more_nand_inputs_larger_area(node):
    t = fb.Technology(node)
    wn, wp = 2 * t.min_nmos_width_m, t.pn_size_ratio * t.min_nmos_width_m
    areas = [fb.gate_area(t, NAND, n, wn, wp, H(t)).area_m2 for n in range(1, 7)]
    assert all(a < b for a, b in zip(areas, areas[1:]))
    areas_nor = [fb.gate_area(t, NOR, n, wn, wp, H(t)).area_m2 for n in range(1, 7)]
    assert all(a < b for a, b in zip(areas_nor, areas_nor[1:]))


@pytest.mark.parametrize("node,roadmap", [(n, rm) for n in (130, 90, 65, 45, 32, 22) for rm in ("hp", "lstp")])
def test_leakage_rises_with_temperature(node, roadmap):
    leak = []
    for temp in range(300, 401, 5):
        t = fb.Technology(node, roadmap, float(temp))
        leak.append(fb.gate_leakage(t, INV, 1, t.min_nmos_width_m, t.pn_size_ratio * t.min_nmos_width_m))
    assert all(a < b for a, b in zip(leak, leak[1:]))


def test_special_height_changes_fin_budget():
    t = fb.Technology(14)
    std = fb.gate_area(t, INV, 1, 10 * 28e-9, 0, H(t))
    tall = fb.gate_area(t, INV, 1, 10 * 28e-9, 0, 2 * H(t))
    assert tall.height_m == pytest.approx(2 * H(t)) and tall.width_m < std.width_m


# ----------------------------------------------------------------------------- bad input
T22 = fb.Technology(22)
H22 = H(T22)


@pytest.mark.parametrize("call,param", [
    (lambda: fb.gate_cap(T22, 0.0), "width_m"),
    (lambda: fb.gate_cap(T22, -1e-9), "width_m"),
    (lambda: fb.on_resistance(T22, 0.0, N), "width_m"),
    (lambda: fb.on_resistance(T22, float("nan"), N), "width_m"),
    (lambda: fb.transconductance(T22, -1e-9, P), "width_m"),
    (lambda: fb.drain_cap(T22, 0.0, N, H22), "width_m"),
    (lambda: fb.drain_cap(T22, 44e-9, N, -1e-6), "height_m"),
    (lambda: fb.gate_area(T22, INV, 1, -1e-9, 1e-9, H22), "width_n_m"),
    (lambda: fb.gate_area(T22, INV, 1, 1e-9, -1e-9, H22), "width_p_m"),
    (lambda: fb.gate_area(T22, INV, 1, 0.0, 0.0, H22), "width_n_m"),
    (lambda: fb.gate_area(T22, NAND, 0, 1e-9, 1e-9, H22), "num_input"),
    (lambda: fb.gate_area(T22, NAND, 2, 1e-9, 1e-9, -H22), "height_m"),
    (lambda: fb.gate_area(T22, NAND, 2, 1e-9, 1e-9, 0.0), "height_m"),
    (lambda: fb.gate_area(T22, NAND, 2, 1e-9, 1e-9, 5 * 22e-9), "height_m"),
    (lambda: fb.gate_capacitance(T22, NOR, -3, 1e-9, 1e-9, H22), "num_input"),
    (lambda: fb.gate_capacitance(T22, NOR, 2, 1e-9, 1e-9, -1.0), "height_m"),
    (lambda: fb.gate_leakage(T22, NOR, 0, 1e-9, 1e-9), "num_input"),
    (lambda: fb.gate_leakage(T22, INV, 1, -1e-9, 1e-9), "width_n_m"),
    (lambda: fb.horowitz(-1e-12, 0.5, 1e20), "tau_s"),
    (lambda: fb.horowitz(1e-12, 0.5, 0.0), "ramp_input"),
    (lambda: fb.pass_gate_area(T22, 1e-9, 1e-9, 0), "num_fold"),
    (lambda: fb.pass_gate_area(T22, -1e-9, 1e-9, 1), "width_n_m"),
    (lambda: fb.pass_gate_area(T22, 1e-9, 1e-9, 1, -1e-9), "height_m"),
    (lambda: fb.enlarge_size(T22, 1e-9, 1e-9, -1e-9), "height_m"),
    (lambda: fb.enlarge_size(T22, -1e-9, 1e-9, H22), "width_n_m"),
    (lambda: fb.Technology(14).fin_count(0.0), "width_m"),
])
def test_bad_input_raises_value_error(call, param):
    with pytest.raises(ValueError, match=param) as err:
        call()
    assert "allowed" in str(err.value)


# ----------------------------------------------------------------------------- engine quirks
# Each NeuroSim V1.4 convention of the formula layer is a flag of the Technology
# (fb.EngineQuirks, named as in chip/compat.py); default off = ours.
def _quirk(node, name):
    return fb.Technology(node, quirks=fb.EngineQuirks([name]))


def test_quirk_fin_fold_count_floor():
    # 14 nm NMOS-only cell: 2 x max_fin_num = 8 fins per finger, gap = CPP - poly = 3.714 F
    F, gap, cj, wfin = 14e-9, (5.571 - 1.857) * 14e-9, 0.012, 8e-9
    ours, ns = fb.Technology(14), _quirk(14, "fin_fold_count_floor")
    w9 = 9 * 2 * F                                  # 9 fins
    # ours: ceil(9/8) = 2 fingers -> 3 CPP wide, drains ceil(3/2) = 2 gaps of 8 fins
    assert fb.gate_area(ours, INV, 1, w9, 0, H(ours)).width_m == pytest.approx(3 * 5.571 * F)
    assert fb.drain_cap(ours, w9, N, H(ours)) == pytest.approx(2 * gap * 8 * wfin * cj)
    # NeuroSim: ceil(9/8) in integers = 1 finger -> 2 CPP, one drain gap
    assert fb.gate_area(ns, INV, 1, w9, 0, H(ns)).width_m == pytest.approx(2 * 5.571 * F)
    assert fb.drain_cap(ns, w9, N, H(ns)) == pytest.approx(1 * gap * 8 * wfin * cj)
    # a whole number of fingers (16 fins) is the same either way
    w16 = 16 * 2 * F
    assert fb.gate_area(ns, INV, 1, w16, 0, H(ns)).area_m2 == \
        fb.gate_area(ours, INV, 1, w16, 0, H(ours)).area_m2
    # planar nodes fold by width, not fins: unaffected
    t22, q22 = fb.Technology(22), _quirk(22, "fin_fold_count_floor")
    assert fb.drain_cap(q22, 30 * 22e-9, N, H(q22)) == fb.drain_cap(t22, 30 * 22e-9, N, H(t22))


def test_quirk_gaa_nmos_drain_generic_gap():
    # 2 nm GAA, one sheet stack (W = 2F), unfolded: drain = gap x w_sheet(15 nm) x Cj(0.0091)
    F, cj, wfin = 2e-9, 0.0091, 15e-9
    ours, ns = fb.Technology(2), _quirk(2, "gaa_nmos_drain_generic_gap")
    assert fb.drain_cap(ours, 2 * F, N, H(ours)) == pytest.approx(15.5 * F * wfin * cj)  # node gap
    assert fb.drain_cap(ns, 2 * F, N, H(ns)) == pytest.approx(3.9 * F * wfin * cj)       # 3.9 F
    # the PMOS keeps the node's gap; FinFET nodes are not GAA: unaffected
    assert fb.drain_cap(ns, 2 * F, P, H(ns)) == fb.drain_cap(ours, 2 * F, P, H(ours))
    t5, q5 = fb.Technology(5), _quirk(5, "gaa_nmos_drain_generic_gap")
    assert fb.drain_cap(q5, 10e-9, N, H(q5)) == fb.drain_cap(t5, 10e-9, N, H(t5))


def test_quirk_inv_nmos_sidewall_pmos_folds():
    t, ns = fb.Technology(22), _quirk(22, "inv_nmos_sidewall_pmos_folds")
    F, wmax = 22e-9, 24.4 * 22e-9
    base = (2 * 2.8 * F * wmax * t.cap_junction_F_per_m2 + 2 * wmax * t.cap_drain_to_channel_F_per_m)
    # folded NMOS 30F (2 fingers): ours counts 2 sidewall heights, NeuroSim 1 + (1+1)%2 = 1
    # (the fold count of the absent PMOS, 1)
    assert fb.drain_cap(t, 30 * F, N, H(t)) == pytest.approx(
        base + (2 * 2 * 2.8 * F + 2 * wmax) * t.cap_sidewall_F_per_m, rel=1e-12)
    assert fb.drain_cap(ns, 30 * F, N, H(ns)) == pytest.approx(
        base + (2 * 2 * 2.8 * F + 1 * wmax) * t.cap_sidewall_F_per_m, rel=1e-12)
    # an unfolded NMOS and a folded PMOS-only device are unaffected
    assert fb.drain_cap(ns, 2 * F, N, H(ns)) == fb.drain_cap(t, 2 * F, N, H(t))
    assert fb.drain_cap(ns, 30 * F, P, H(ns)) == fb.drain_cap(t, 30 * F, P, H(t))


def test_quirk_finfet_gm_fin_geometry():
    # 5 nm, one fin: ours gm x W_eff(106 nm); NeuroSim gm x (2 h_fin + w_fin), h_fin unset -> 6 nm
    assert fb.transconductance(fb.Technology(5), 10e-9, P) == pytest.approx(1820.9 * 106e-9)
    q5 = _quirk(5, "finfet_gm_fin_geometry")
    assert fb.transconductance(q5, 10e-9, P) == pytest.approx(1820.9 * 6e-9)
    assert fb.transconductance(_quirk(3, "finfet_gm_fin_geometry"), 2 * 6e-9, N) == \
        pytest.approx(2018.04 * 2 * 5e-9)
    # 14 nm: 2 h_fin + w_fin = 2 x 42 + 8 = 92 nm = W_eff; GAA keeps W_eff: the same either way
    q14 = _quirk(14, "finfet_gm_fin_geometry")
    assert fb.transconductance(q14, 2 * 28e-9, N) == pytest.approx(1415.34 * 2 * 92e-9)
    assert fb.transconductance(_quirk(1, "finfet_gm_fin_geometry"), 2e-9, N) == \
        fb.transconductance(fb.Technology(1), 2e-9, N)
