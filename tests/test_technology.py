"""Technology tables of from_neurosim against the DNN+NeuroSim V1.4 transcription.

The table walk parses ../shared/reference/neurosim-v1.4-tables.md (sections 1.1-1.4, 2.2, 2.3, 3.2)
and compares every tabulated cell with the bindings; it skips in a user's clone (no ../shared)
and fails where ../shared is present but the file is not.
Hard-coded spot values below check the same tables without ../shared.
"""
from __future__ import annotations

import math
import pickle
import re

import pytest

from conftest import shared_path
from from_neurosim import FormulaBindings as fb

TABLES_MD = ("reference", "neurosim-v1.4-tables.md")      # under ../shared
NODES = [130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1]
PLANAR = [130, 90, 65, 45, 32, 22]
TEMPS = [300 + 10 * i for i in range(11)]
QUANTITY = {"ion_n": "current_on_nmos_A_per_m", "ion_p": "current_on_pmos_A_per_m",
            "ioff_n": "current_off_nmos_A_per_m", "ioff_p": "current_off_pmos_A_per_m"}


# ----------------------------------------------------------------------------- markdown parser
def _tables_md_lines() -> list[str]:
    return shared_path(*TABLES_MD).read_text(encoding="utf-8").splitlines()


def md_table(lines: list[str], heading_prefix: str, index: int = 0) -> list[list[str]]:
    """Rows (header first) of the index-th markdown table after the heading starting with prefix."""
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_prefix))
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            if current is None:
                current = []
                tables.append(current)
            current.append(cells)
        else:
            current = None
    return tables[index]


_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def num(cell: str) -> float:
    """Leading number of a cell; '—', 'not set (0)', '0 (n/a)' -> 0."""
    cell = cell.replace("−", "-").strip()
    if cell.startswith("—") or cell.startswith("not set"):
        return 0.0
    m = _NUM.match(cell)
    assert m, f"no number in table cell {cell!r}"
    return float(m.group(0))


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# ----------------------------------------------------------------------------- table walk
@pytest.mark.shared
def test_table_1_1_planar_scalars():
    lines = _tables_md_lines()
    rows = md_table(lines, "### 1.1")[1:]
    assert len(rows) == 12
    checked = 0
    for r in rows:
        t = fb.Technology(int(r[0]), r[1].lower(), 300.0)
        exact = [(2, t.vdd_V), (3, t.vth_V), (4, t.gate_length_m * 1e9), (5, t.cap_ideal_gate_F_per_m),
                 (6, t.cap_fringe_F_per_m), (8, t.effective_resistance_multiplier),
                 (9, t.current_gm_nmos_A_per_m), (10, t.current_gm_pmos_A_per_m),
                 (12, t.cap_draintotal_F_per_m)]
        for col, got in exact:
            assert close(got, num(r[col])), (r[0], r[1], col, got, r[col])
        # derived columns are rounded to 5-6 significant digits in the file
        assert close(t.cap_overlap_F_per_m, num(r[7]), rel=1e-4), (r[0], r[1])
        assert close(t.pn_size_ratio, num(r[11]), rel=1e-5), (r[0], r[1])
        checked += 12
    assert checked == 144


_ROW_1_2 = {
    "Vdd": lambda t: t.vdd_V,
    "Vth": lambda t: t.vth_V,
    "L_gate": lambda t: t.gate_length_m * 1e9,
    "fin height": lambda t: t.fin_height_m * 1e9,
    "fin width": lambda t: t.fin_width_m * 1e9,
    "fin pitch": lambda t: t.fin_pitch_m * 1e9,
    "max fins per device": lambda t: t.max_fin_num,
    "nanosheets per stack": lambda t: t.max_sheet_num,
    "sheet thickness": lambda t: t.sheet_thickness_m * 1e9,
    "sheet width": lambda t: t.sheet_width_m * 1e9,
    "max_fin_per_GAA": lambda t: t.max_fin_per_gaa,
    "effective width per fin": lambda t: t.effective_width_m * 1e9,
    "gate-cap list entry": lambda t: t.cap_ideal_gate_F_per_m * t.effective_width_m
    * (t.max_sheet_num if t.device_kind == fb.DeviceKind.GAA else 1) * 1e18,
    "C_ideal_gate": lambda t: t.cap_ideal_gate_F_per_m,
    "drain-cap list entry": lambda t: t.cap_draintotal_F_per_m * t.effective_width_m,
    "cap_draintotal": lambda t: t.cap_draintotal_F_per_m,
    "R_eff multiplier": lambda t: t.effective_resistance_multiplier,
    "gm list": lambda t: (t.current_gm_nmos_A_per_m, t.current_gm_pmos_A_per_m, t.gm_oncurrent_S_per_m),
    "Ion N = Ion P at 300 K": lambda t: (t.current_on_nmos_A_per_m, t.current_on_pmos_A_per_m),
    "Ioff N at 300 K": lambda t: t.current_off_nmos_A_per_m,
    "Ioff P at 300 K": lambda t: t.current_off_pmos_A_per_m,
    "C_junction": lambda t: t.cap_junction_F_per_m2,
    "pnSizeRatio": lambda t: t.pn_size_ratio,
}


@pytest.mark.shared
def test_table_1_2_finfet_gaa():
    lines = _tables_md_lines()
    table = md_table(lines, "### 1.2")
    nodes = [int(num(c)) for c in table[0][1:]]
    assert nodes == [14, 10, 7, 5, 3, 2, 1]
    techs = {n: fb.Technology(n) for n in nodes}
    for row in table[1:]:
        label = row[0]
        key = next((k for k in _ROW_1_2 if label.startswith(k)), None)
        assert key is not None, f"row of table 1.2 not handled by the test: {label!r}"
        derived = "=" in label or "list entry" in label
        for node, cell in zip(nodes, row[1:]):
            got = _ROW_1_2[key](techs[node])
            for g in (got if isinstance(got, tuple) else (got,)):
                assert close(g, num(cell), rel=1e-4 if derived else 1e-9), (label, node, g, cell)
        techs[nodes[0]]  # keep flake happy


@pytest.mark.shared
@pytest.mark.parametrize("heading,quantity", [
    ("#### NMOS on-current", "ion_n"), ("#### PMOS on-current", "ion_p"),
    ("#### NMOS off-current", "ioff_n"), ("#### PMOS off-current", "ioff_p")])
def test_table_1_3_currents(heading, quantity):
    lines = _tables_md_lines()
    rows = md_table(lines, heading)[1:]
    assert len(rows) == 19
    for r in rows:
        node, roadmap = int(r[0].split()[0]), r[0].split()[1].lower()
        expected = [num(c) for c in r[1:]]
        assert fb.temperature_table(node, roadmap, quantity) == pytest.approx(expected, rel=1e-12)
        temps = TEMPS if node in PLANAR else [300]  # <= 14 nm: only 300 K is allowed
        for temp, value in zip(temps, expected):
            t = fb.Technology(node, roadmap, float(temp))
            assert close(getattr(t, QUANTITY[quantity]), value, rel=1e-12), (node, roadmap, temp)


@pytest.mark.shared
def test_table_1_4_junction_caps():
    lines = _tables_md_lines()
    const = {r[0]: r[1] for r in md_table(lines, "### 1.4", 0)[1:]}
    assert num(const["C_j0 (bottom junction, zero bias)"]) == 1e-3
    rows = md_table(lines, "### 1.4", 1)[1:]
    assert len(rows) == 13
    for r in rows:
        node = int(num(r[0]))
        roadmaps = ["hp", "lstp"] if node in PLANAR else ["lstp"]
        totals = [num(x) for x in r[4].split("/")]
        for rm, total in zip(roadmaps, totals):
            t = fb.Technology(node, rm)
            assert close(t.cap_junction_F_per_m2, num(r[1]), rel=1e-4), (node, rm)
            assert close(t.cap_sidewall_F_per_m, num(r[2]), rel=1e-4), (node, rm)
            assert close(t.cap_drain_to_channel_F_per_m, num(r[3]), rel=1e-4), (node, rm)
            gate_total = t.cap_ideal_gate_F_per_m + t.cap_overlap_F_per_m + t.cap_fringe_F_per_m
            assert close(gate_total, total, rel=1e-4), (node, rm)


@pytest.mark.shared
def test_table_2_2_node_parameters_and_derived_wires():
    lines = _tables_md_lines()
    rows = md_table(lines, "### 2.2", 0)[1:]
    assert [int(r[0]) for r in rows] == NODES
    for r in rows:
        p = fb.NodeParameters(int(r[0]))
        h, w = (num(x) for x in r[12].split("×"))
        pairs = [(p.read_voltage_V, r[1]), (p.wire_width_m * 1e9, r[2]), (p.metal0_width_m * 1e9, r[3]),
                 (p.metal1_width_m * 1e9, r[4]), (p.barrier_thickness_m * 1e9, r[5]),
                 (p.sizing_factor_mux, r[6]), (p.sizing_factor_wl_decoder, r[7]),
                 (p.new_switch_matrix_size_ratio, r[8]), (p.switch_matrix_size_ratio, r[9]),
                 (p.buffer_number, r[10]), (p.buffer_size_ratio, r[11])]
        for got, cell in pairs:
            assert close(got, num(cell)), (r[0], got, cell)
        assert (p.sram_cell_height_F, p.sram_cell_width_F) == (h, w)
        assert close(h * w, num(r[13]), rel=2e-4)

    derived = md_table(lines, "### 2.2", 1)[1:]
    assert len(derived) == 13
    for r in derived:
        node = int(r[0])
        wire = fb.WireTechnology(node, 300.0, barrier_correction=False)  # NeuroSim's numbers
        p = fb.NodeParameters(node)
        for (ar_rho, r_cell), width, (ar, rho, r_unit) in [
            ((r[1], r[2]), p.wire_width_m, (wire.aspect_ratio, wire.resistivity_ohm_m,
                                            wire.unit_resistance_ohm_per_m)),
            ((r[3], r[4]), p.metal0_width_m, (wire.metal0_aspect_ratio, wire.metal0_resistivity_ohm_m,
                                              wire.metal0_unit_resistance_ohm_per_m)),
            ((r[5], r[6]), p.metal1_width_m, (wire.metal1_aspect_ratio, wire.metal1_resistivity_ohm_m,
                                              wire.metal1_unit_resistance_ohm_per_m)),
        ]:
            exp_ar, exp_rho = (num(x) for x in ar_rho.split(","))
            assert fb.wire_aspect_ratio_resistivity(width) == (exp_ar, exp_rho), (node, width)
            assert ar == exp_ar and close(rho, exp_rho, rel=1e-8), (node, width)
            assert close(r_unit / 1e6, num(r_cell), rel=1e-3), (node, width, r_unit, r_cell)
        row_len, col_len = (num(x) for x in r[7].split("/"))
        assert close(p.wire_width_m * p.sram_cell_height_F * 1e6, row_len, rel=1e-3)
        assert close(p.wire_width_m * p.sram_cell_width_F * 1e6, col_len, rel=1e-3)


def _bin_bounds(cell: str) -> tuple[float, float]:
    cell = cell.replace("w", "").strip()
    if cell.startswith("≥"):
        return num(cell[1:]), math.inf
    if "≤" in cell and "<" in cell:  # "110 ≤ w < 175"
        lo, hi = cell.split("≤")[0], cell.split("<")[-1]
        return num(lo), num(hi)
    if "–" in cell:  # "110–175"
        lo, hi = cell.split("–")
        return num(lo), num(hi)
    raise AssertionError(f"unparsed width range {cell!r}")


@pytest.mark.shared
def test_table_2_3_wire_bins():
    lines = _tables_md_lines()
    rows = md_table(lines, "### 2.3", 0)[1:]
    assert len(rows) == 14
    for r in rows:
        if r[0].startswith("w <"):
            with pytest.raises(ValueError, match="width_m"):
                fb.wire_aspect_ratio_resistivity(num(r[0][3:]) * 1e-9 * 0.99)
            continue
        lo, hi = _bin_bounds(r[0])
        expected = (num(r[1]), num(r[2]))
        for w_nm in (lo, (hi - 1e-3) if math.isfinite(hi) else lo * 3):
            assert fb.wire_aspect_ratio_resistivity(w_nm * 1e-9) == expected, (r[0], w_nm)

    # Interconnect variant (H-tree / X-Y bus): reach every bin through a node's wire width x1/x2/x4.
    inter = md_table(lines, "### 2.3", 1)[1:]
    assert len(inter) == 13
    reach = {}
    for node in NODES:
        tech, base = fb.Technology(node), fb.NodeParameters(node).wire_width_m
        for k, ratio in ((1, 10.0), (2, 2e4), (4, 2e5)):
            reach.setdefault(round(base * k * 1e9, 6), (tech, ratio * tech.feature_size_m))
    for r in inter:
        lo, hi = _bin_bounds(r[0])
        ar, rho, barrier = num(r[1]), num(r[2]), num(r[3])
        hits = [w for w in reach if lo <= w < hi]
        assert hits, f"no node reaches interconnect bin {r[0]}"
        for w_nm in hits:
            tech, length = reach[w_nm]
            for consistent in (True, False):
                wire = fb.WireTechnology(tech.node_nm, 300.0, barrier_correction=consistent)
                assert fb.interconnect_wire_width_m(tech, wire, length) == pytest.approx(w_nm * 1e-9)
                tb = barrier if consistent else barrier * 1e-9
                rho_eff = rho / (1 - (2 * ar * w_nm + w_nm) * tb / (ar * w_nm ** 2))
                expected = rho_eff / ((w_nm * 1e-9) ** 2 * ar)
                got = fb.interconnect_unit_resistance(tech, wire, length)
                assert close(got, expected, rel=1e-9), (r[0], w_nm, consistent)


@pytest.mark.shared
def test_table_3_2_layout_constants():
    lines = _tables_md_lines()
    rows = md_table(lines, "### 3.2")[1:]
    assert [int(r[0]) for r in rows] == [14, 10, 7, 5, 3, 2, 1]
    for r in rows:
        t = fb.Technology(int(r[0]))
        assert close(t.cell_height_F, num(r[1]))
        assert close(t.cpp_F, num(r[2]))
        assert close(t.poly_width_F, num(r[3]))
        assert close(t.gate_gap_F, num(r[4]), rel=1e-9)
        assert close(t.pn_gap_F, num(r[5]))
        assert close(t.outer_height_region_F, num(r[6]))
        assert close(t.m2_pitch_F, num(r[7])) and close(t.m3_pitch_F, num(r[7]))


# ----------------------------------------------------------------------------- spot values (no ../shared)
@pytest.mark.parametrize("node,roadmap,attr,expected", [
    (22, "lstp", "vdd_V", 0.85),
    (22, "lstp", "vth_V", 0.419915),
    (22, "hp", "cap_fringe_F_per_m", 4.532e-10),
    (90, "lstp", "vth_V", 0.5013229),
    (130, "lstp", "effective_resistance_multiplier", 1.54),
    (45, "hp", "current_gm_pmos_A_per_m", 630.0),
    (32, "lstp", "cap_ideal_gate_F_per_m", 8.375279e-10),
    (65, "hp", "cap_draintotal_F_per_m", 2.63518e-10),
    (14, "lstp", "gm_oncurrent_S_per_m", 1415.34),
    (10, "lstp", "fin_height_m", 45e-9),
    (5, "lstp", "effective_width_m", 106e-9),
    (1, "lstp", "max_sheet_num", 4),
    (1, "lstp", "sheet_width_m", 10e-9),
    (7, "lstp", "cap_junction_F_per_m2", 0.0137),
    (2, "lstp", "current_on_nmos_A_per_m", 526.868),
    (3, "lstp", "current_off_nmos_A_per_m", 0.000158),
    (14, "lstp", "current_off_pmos_A_per_m", 0.0001023333),
])
def test_spot_values(node, roadmap, attr, expected):
    assert getattr(fb.Technology(node, roadmap), attr) == pytest.approx(expected, rel=1e-12)


def test_spot_derived_values():
    t22 = fb.Technology(22)
    assert t22.cap_overlap_F_per_m == pytest.approx(0.2 * 5.245e-10)
    assert t22.cap_junction_F_per_m2 == pytest.approx(1e-3 / (1 + 0.85 / 0.9) ** 0.5)
    assert t22.cap_junction_F_per_m2 == pytest.approx(7.1714e-4, rel=1e-4)
    assert t22.cap_sidewall_F_per_m == pytest.approx(2.0074e-10, rel=1e-4)
    assert t22.cap_drain_to_channel_F_per_m == pytest.approx(4.0148e-11, rel=1e-4)
    assert t22.pn_size_ratio == pytest.approx(791.9 / 600.2)
    t14 = fb.Technology(14)
    assert t14.cap_ideal_gate_F_per_m == pytest.approx(103.816e-18 / 92e-9)
    assert t14.cap_draintotal_F_per_m == pytest.approx(2.499e-17 / 92e-9)
    assert t14.cap_overlap_F_per_m == 0 and t14.cap_fringe_F_per_m == 0
    t2 = fb.Technology(2)
    assert t2.effective_width_m == pytest.approx(2 * (6e-9 + 15e-9))
    assert t2.cap_ideal_gate_F_per_m == pytest.approx(79.74e-18 / (42e-9 * 3))
    assert fb.temperature_table(65, "lstp", "ion_n")[1] == 363.9
    assert fb.temperature_table(130, "hp", "ioff_p")[-1] == 0.2712
    assert fb.temperature_table(32, "lstp", "ioff_n")[6] == 6.688e-4
    assert fb.temperature_table(10, "lstp", "ion_p")[8] == 469
    p7 = fb.NodeParameters(7)
    assert (p7.read_voltage_V, p7.metal1_width_m, p7.sizing_factor_mux) == (0.264, 28.5e-9, 60)
    assert fb.NodeParameters(3).sram_cell_width_F == 68.26
    assert fb.NodeParameters(5).switch_matrix_size_ratio == 0.06
    assert fb.wire_aspect_ratio_resistivity(40e-9) == (1.9, 2.97e-8)
    assert fb.wire_aspect_ratio_resistivity(12e-9) == (2.0, 5.8e-8)
    t7 = fb.Technology(7)
    assert (t7.cpp_F, t7.poly_width_F, t7.m2_pitch_F) == (8.1428, 3.14, 5.71)
    assert fb.Technology(5).outer_height_region_F == 19.4


def test_layout_rules_planar():
    t = fb.Technology(45, "hp")
    assert (t.cell_height_F, t.poly_width_F, t.gate_gap_F, t.pn_gap_F) == (28.0, 1.0, 2.8, 3.5)
    assert t.cpp_F == pytest.approx(3.8)
    assert (t.m2_pitch_F, t.m3_pitch_F, t.outer_height_region_F) == (3.2, 2.8, 1.8)
    assert t.min_nmos_width_m == pytest.approx(90e-9)
    assert t.standard_cell_height_m == pytest.approx(28 * 45e-9)
    assert fb.Technology(14).cell_height_F == 41.142


# ----------------------------------------------------------------------------- construction, interpolation
def test_all_nodes_construct():
    assert fb.supported_nodes() == NODES
    for node in NODES:
        roadmaps = fb.node_roadmaps(node)
        assert roadmaps == (["hp", "lstp"] if node in PLANAR else ["lstp"])
        for rm in roadmaps:
            t = fb.Technology(node, rm)
            assert t.node_nm == node and t.roadmap == rm and t.temperature_K == 300.0
            assert t.feature_size_m == pytest.approx(node * 1e-9)
            kind = fb.DeviceKind.PLANAR if node >= 22 else (fb.DeviceKind.GAA if node <= 2 else fb.DeviceKind.FINFET)
            assert t.device_kind == kind
            d = t.as_dict()
            assert d["vdd_V"] == t.vdd_V and d["node_nm"] == node and len(d) > 40


@pytest.mark.parametrize("node,roadmap", [(n, rm) for n in PLANAR for rm in ("hp", "lstp")])
def test_interpolation_midpoints(node, roadmap):
    for q, attr in QUANTITY.items():
        table = fb.temperature_table(node, roadmap, q)
        for i in (0, 4, 9):
            mid = fb.Technology(node, roadmap, TEMPS[i] + 5.0)
            assert getattr(mid, attr) == pytest.approx((table[i] + table[i + 1]) / 2, rel=1e-12)
        quarter = fb.Technology(node, roadmap, 302.5)
        assert getattr(quarter, attr) == pytest.approx(table[0] + 0.25 * (table[1] - table[0]), rel=1e-12)


def test_interpolation_305K_22nm():
    t = fb.Technology(22, "lstp", 305.0)
    assert t.current_on_nmos_A_per_m == pytest.approx((791.9 + 756.4) / 2)
    assert t.current_off_pmos_A_per_m == pytest.approx((1e-4 + 1.473e-4) / 2)
    assert t.current_on(fb.DeviceType.PMOS) == t.current_on_pmos_A_per_m
    assert t.current_off(fb.DeviceType.NMOS) == t.current_off_nmos_A_per_m
    # pnSizeRatio uses the 300 K currents at every temperature (NeuroSim)
    assert t.pn_size_ratio == fb.Technology(22).pn_size_ratio


def test_value_types_pickle_and_compare():
    t = fb.Technology(32, "hp", 350.0)
    t2 = pickle.loads(pickle.dumps(t))
    assert t2 == t and hash(t2) == hash(t) and t2.current_on_nmos_A_per_m == t.current_on_nmos_A_per_m
    w = pickle.loads(pickle.dumps(fb.WireTechnology(7, 320.0, False)))
    assert (w.node_nm, w.temperature_K, w.barrier_correction) == (7, 320.0, False)
    assert pickle.loads(pickle.dumps(fb.NodeParameters(3))).wire_width_m == 12e-9
    with pytest.raises(AttributeError):
        t.vdd_V = 1.0  # read-only
    assert repr(fb.Technology(22)) == "Technology(node_nm=22, roadmap='lstp', temperature_K=300)"


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,param", [
    (lambda: fb.Technology(23), "node_nm"),
    (lambda: fb.Technology(0), "node_nm"),
    (lambda: fb.Technology(22, "lp"), "roadmap"),
    (lambda: fb.Technology(14, "hp"), "roadmap"),
    (lambda: fb.Technology(22, "lstp", 299.0), "temperature_K"),
    (lambda: fb.Technology(22, "lstp", 400.5), "temperature_K"),
    (lambda: fb.Technology(22, "lstp", float("nan")), "temperature_K"),
    (lambda: fb.Technology(7, "lstp", 350.0), "temperature_K"),
    (lambda: fb.NodeParameters(12), "node_nm"),
    (lambda: fb.node_roadmaps(11), "node_nm"),
    (lambda: fb.temperature_table(23, "lstp", "ion_n"), "node_nm"),
    (lambda: fb.temperature_table(22, "xx", "ion_n"), "roadmap"),
    (lambda: fb.temperature_table(5, "hp", "ion_n"), "roadmap"),
    (lambda: fb.temperature_table(22, "lstp", "ion"), "quantity"),
])
def test_bad_input_raises_value_error(call, param):
    with pytest.raises(ValueError, match=param) as err:
        call()
    assert "allowed" in str(err.value)


def test_unknown_node_message():
    with pytest.raises(ValueError) as err:
        fb.Technology(23)
    assert str(err.value) == ("node_nm=23 is not supported; allowed: "
                              "130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1")


# ----------------------------------------------------------------------------- engine quirks
def test_engine_quirks_value_type():
    names = fb.EngineQuirks.names()
    assert names == ["fin_fold_count_floor", "gaa_nmos_drain_generic_gap",
                     "inv_nmos_sidewall_pmos_folds", "finfet_gm_fin_geometry",
                     "wire_temperature_wire_width_only"]
    none, one = fb.EngineQuirks(), fb.EngineQuirks(["finfet_gm_fin_geometry"])
    assert not any(getattr(none, n) for n in names) and none.on() == []
    assert one.finfet_gm_fin_geometry and one.on() == ["finfet_gm_fin_geometry"]
    assert one == pickle.loads(pickle.dumps(one)) and one != none
    t = fb.Technology(5, quirks=one)
    assert t.quirks == one and t != fb.Technology(5) and hash(t) != hash(fb.Technology(5))
    assert pickle.loads(pickle.dumps(t)) == t
    assert repr(t) == ("Technology(node_nm=5, roadmap='lstp', temperature_K=300, "
                       "quirks=['finfet_gm_fin_geometry'])")
    assert t.as_dict()["quirks"] == ["finfet_gm_fin_geometry"]
    w = fb.WireTechnology(22, 350.0, True, fb.EngineQuirks(["wire_temperature_wire_width_only"]))
    assert pickle.loads(pickle.dumps(w)).quirks == w.quirks
    with pytest.raises(ValueError, match="quirks='nope' is not supported; allowed: fin_fold"):
        fb.EngineQuirks(["nope"])


def test_quirk_wire_temperature_wire_width_only():
    # 22 nm at 350 K, NeuroSim's barrier (x ~1): r = rho (1 + 0.00451 x 50) / (w^2 AR)
    hot = 1 + 0.00451 * 50
    r300 = 2.97e-8 / (40e-9 ** 2 * 1.9)
    ours = fb.WireTechnology(22, 350.0, barrier_correction=False)
    ns = fb.WireTechnology(22, 350.0, barrier_correction=False,
                           quirks=fb.EngineQuirks(["wire_temperature_wire_width_only"]))
    for w in (ours, ns):                      # the wireWidth metal is hot either way
        assert w.unit_resistance_ohm_per_m == pytest.approx(r300 * hot, rel=1e-8)
    assert ours.metal0_unit_resistance_ohm_per_m == pytest.approx(r300 * hot, rel=1e-8)
    assert ours.metal1_unit_resistance_ohm_per_m == pytest.approx(r300 * hot, rel=1e-8)
    # NeuroSim: Metal0 / Metal1 keep their 300 K resistivity
    assert ns.metal0_unit_resistance_ohm_per_m == pytest.approx(r300, rel=1e-8)
    assert ns.metal1_unit_resistance_ohm_per_m == pytest.approx(r300, rel=1e-8)
    # at 300 K the quirk changes nothing
    cold = fb.WireTechnology(22, 300.0, quirks=fb.EngineQuirks(["wire_temperature_wire_width_only"]))
    assert cold.metal0_unit_resistance_ohm_per_m == fb.WireTechnology(22).metal0_unit_resistance_ohm_per_m
