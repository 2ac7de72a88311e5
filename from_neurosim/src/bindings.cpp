// pybind11 module FormulaBindings: exposes the technology tables and formulas of from_neurosim.
// std::invalid_argument -> ValueError (pybind11 default translation).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sstream>

#include "errors.h"
#include "formula.h"
#include "technology.h"

namespace py = pybind11;
using namespace fns;

// chip/activity.py's hot kernel (activity_kernels.cpp), registered by its own function
void register_activity_kernels(py::module_& m);

namespace {

// EngineQuirks from the names of the quirks that are on; an unknown name is a ValueError.
EngineQuirks quirks_from_names(const std::vector<std::string>& names) {
    EngineQuirks q;
    for (const std::string& n : names) {
        bool found = false;
        for (const EngineQuirkField& f : engine_quirk_fields())
            if (n == f.name) { q.*(f.member) = true; found = true; }
        if (!found) {
            std::string allowed;
            for (const EngineQuirkField& f : engine_quirk_fields())
                allowed += (allowed.empty() ? "" : ", ") + std::string(f.name);
            bad_value("quirks", "'" + n + "'", allowed);
        }
    }
    return q;
}

// Names of the quirks that are on, in table order.
std::vector<std::string> quirk_names_on(const EngineQuirks& q) {
    std::vector<std::string> out;
    for (const EngineQuirkField& f : engine_quirk_fields())
        if (q.*(f.member)) out.push_back(f.name);
    return out;
}

std::string repr_quirks(const EngineQuirks& q) {
    std::string s = "[";
    for (const std::string& n : quirk_names_on(q)) s += (s.size() > 1 ? ", '" : "'") + n + "'";
    return s + "]";
}

std::string kind_name(DeviceKind k) {
    switch (k) {
        case DeviceKind::PLANAR: return "PLANAR";
        case DeviceKind::FINFET: return "FINFET";
        case DeviceKind::GAA: return "GAA";
    }
    return "?";
}

py::dict technology_dict(const Technology& t) {
    py::dict d;
    d["node_nm"] = t.node_nm();
    d["roadmap"] = t.roadmap_str();
    d["temperature_K"] = t.temperature_K();
    d["feature_size_m"] = t.feature_size_m();
    d["device_kind"] = kind_name(t.device_kind());
    d["vdd_V"] = t.vdd_V();
    d["vth_V"] = t.vth_V();
    d["gate_length_m"] = t.gate_length_m();
    d["cap_ideal_gate_F_per_m"] = t.cap_ideal_gate();
    d["cap_fringe_F_per_m"] = t.cap_fringe();
    d["cap_overlap_F_per_m"] = t.cap_overlap();
    d["cap_polywire_F_per_m"] = t.cap_polywire();
    d["cap_junction_F_per_m2"] = t.cap_junction();
    d["cap_sidewall_F_per_m"] = t.cap_sidewall();
    d["cap_drain_to_channel_F_per_m"] = t.cap_drain_to_channel();
    d["cap_draintotal_F_per_m"] = t.cap_draintotal();
    d["effective_resistance_multiplier"] = t.effective_resistance_multiplier();
    d["current_gm_nmos_A_per_m"] = t.current_gm_nmos();
    d["current_gm_pmos_A_per_m"] = t.current_gm_pmos();
    d["current_on_nmos_A_per_m"] = t.current_on_nmos();
    d["current_on_pmos_A_per_m"] = t.current_on_pmos();
    d["current_off_nmos_A_per_m"] = t.current_off_nmos();
    d["current_off_pmos_A_per_m"] = t.current_off_pmos();
    d["pn_size_ratio"] = t.pn_size_ratio();
    d["fin_height_m"] = t.fin_height_m();
    d["fin_width_m"] = t.fin_width_m();
    d["fin_pitch_m"] = t.fin_pitch_m();
    d["max_fin_num"] = t.max_fin_num();
    d["max_sheet_num"] = t.max_sheet_num();
    d["sheet_thickness_m"] = t.sheet_thickness_m();
    d["sheet_width_m"] = t.sheet_width_m();
    d["max_fin_per_gaa"] = t.max_fin_per_gaa();
    d["effective_width_m"] = t.effective_width_m();
    d["gm_oncurrent_S_per_m"] = t.gm_oncurrent();
    d["cell_height_F"] = t.cell_height_F();
    d["standard_cell_height_m"] = t.standard_cell_height_m();
    d["poly_width_F"] = t.poly_width_F();
    d["gate_gap_F"] = t.gate_gap_F();
    d["cpp_F"] = t.cpp_F();
    d["pn_gap_F"] = t.pn_gap_F();
    d["outer_height_region_F"] = t.outer_height_region_F();
    d["m2_pitch_F"] = t.m2_pitch_F();
    d["m3_pitch_F"] = t.m3_pitch_F();
    d["min_nmos_width_m"] = t.min_nmos_width_m();
    d["quirks"] = quirk_names_on(t.quirks());
    return d;
}

std::string repr_geometry(const GateGeometry& g) {
    std::ostringstream os;
    os.precision(6);
    os << "GateGeometry(height_m=" << g.height_m << ", width_m=" << g.width_m << ", area_m2=" << g.area_m2 << ")";
    return os.str();
}

// Field table for RepeaterDesign (read-only properties, as_dict, pickling).
struct RepField {
    const char* name;
    double RepeaterDesign::*member;
};
const RepField kRepFields[] = {
    {"repeater_size", &RepeaterDesign::repeater_size},
    {"spacing_m", &RepeaterDesign::spacing_m},
    {"delay_s_per_m", &RepeaterDesign::delay_s_per_m},
    {"energy_J_per_m", &RepeaterDesign::energy_J_per_m},
    {"leakage_W_per_m", &RepeaterDesign::leakage_W_per_m},
    {"min_delay_s_per_m", &RepeaterDesign::min_delay_s_per_m},
    {"repeater_width_n_m", &RepeaterDesign::repeater_width_n_m},
    {"repeater_width_p_m", &RepeaterDesign::repeater_width_p_m},
    {"repeater_area_m2", &RepeaterDesign::repeater_area_m2},
    {"repeater_height_m", &RepeaterDesign::repeater_height_m},
    {"repeater_layout_width_m", &RepeaterDesign::repeater_layout_width_m},
    {"repeater_cap_input_F", &RepeaterDesign::repeater_cap_input_F},
    {"repeater_cap_output_F", &RepeaterDesign::repeater_cap_output_F},
    {"repeater_resistance_ohm", &RepeaterDesign::repeater_resistance_ohm},
    {"unit_resistance_ohm_per_m", &RepeaterDesign::unit_resistance_ohm_per_m},
    {"unit_capacitance_F_per_m", &RepeaterDesign::unit_capacitance_F_per_m},
    {"wire_delay_s_per_m", &RepeaterDesign::wire_delay_s_per_m},
    {"wire_energy_J_per_m", &RepeaterDesign::wire_energy_J_per_m},
};

}  // namespace

PYBIND11_MODULE(FormulaBindings, m) {
    register_activity_kernels(m);
    m.doc() = "NeuroPySim formula engine: DNN+NeuroSim V1.4 technology tables and device/wire formulas "
              "(C++17). SI units throughout; see docs/formula-api.md.";

    py::enum_<GateType>(m, "GateType")
        .value("INV", GateType::INV)
        .value("NOR", GateType::NOR)
        .value("NAND", GateType::NAND);
    py::enum_<DeviceType>(m, "DeviceType").value("NMOS", DeviceType::NMOS).value("PMOS", DeviceType::PMOS);
    py::enum_<DeviceKind>(m, "DeviceKind")
        .value("PLANAR", DeviceKind::PLANAR)
        .value("FINFET", DeviceKind::FINFET)
        .value("GAA", DeviceKind::GAA);

    // Layout / electrical constants (tables file 3.1, 3.3), module attributes.
    m.attr("MIN_NMOS_SIZE_F") = planar_rules::kMinNmosSize;
    m.attr("MAX_TRANSISTOR_HEIGHT_F") = planar_rules::kMaxTransistorHeight;
    m.attr("MIN_GAP_BET_P_AND_N_DIFFS_F") = planar_rules::kGapPN;
    m.attr("MIN_POLY_EXT_DIFF_F") = planar_rules::kPolyExtDiff;
    m.attr("MIN_GAP_BET_FIELD_POLY_F") = planar_rules::kGapFieldPoly;
    m.attr("POLY_WIDTH_F") = planar_rules::kPolyWidth;
    m.attr("MIN_GAP_BET_GATE_POLY_F") = planar_rules::kGapGatePoly;
    m.attr("M2_PITCH_F") = planar_rules::kM2Pitch;
    m.attr("M3_PITCH_F") = planar_rules::kM3Pitch;
    m.attr("WIRE_CAP_F_PER_M") = consts::kWireCapFPerM;
    m.attr("WIRE_TEMPERATURE_COEFF_PER_K") = consts::kWireTempCoeff;
    m.attr("AVG_RATIO_LEAK_2INPUT_NAND") = consts::kAvgLeak2Nand;
    m.attr("AVG_RATIO_LEAK_3INPUT_NAND") = consts::kAvgLeak3Nand;
    m.attr("AVG_RATIO_LEAK_2INPUT_NOR") = consts::kAvgLeak2Nor;
    m.attr("AVG_RATIO_LEAK_3INPUT_NOR") = consts::kAvgLeak3Nor;

    m.def("supported_nodes", &supported_nodes, "Supported technology nodes in nm, largest first.");
    m.def("node_roadmaps", &node_roadmaps, py::arg("node_nm"),
          "Roadmaps available at a node: ['hp', 'lstp'] planar, ['lstp'] below 22 nm.");
    m.def("temperature_table", &temperature_table, py::arg("node_nm"), py::arg("roadmap"), py::arg("quantity"),
          "The 11 tabulated values (A/m) at 300, 310, ..., 400 K; quantity in ion_n, ion_p, ioff_n, ioff_p.");

    // ---------------------------------------------------------------- EngineQuirks
    auto eq = py::class_<EngineQuirks>(
        m, "EngineQuirks",
        "NeuroSim V1.4 conventions of the formula layer (names as in chip/compat.py), built from the "
        "names of those that are on; none on = NeuroPySim's model. Immutable.");
    eq.def(py::init(&quirks_from_names), py::arg("names") = std::vector<std::string>{})
        .def_static("names", [] {
            std::vector<std::string> out;
            for (const EngineQuirkField& f : engine_quirk_fields()) out.push_back(f.name);
            return out;
        }, "Every engine quirk name, in table order.")
        .def("on", &quirk_names_on, "Names of the quirks that are on.")
        .def("__eq__", [](const EngineQuirks& a, const EngineQuirks& b) { return a == b; })
        .def("__hash__", [](const EngineQuirks& q) { return py::hash(py::tuple(py::cast(quirk_names_on(q)))); })
        .def("__repr__", [](const EngineQuirks& q) { return "EngineQuirks(" + repr_quirks(q) + ")"; })
        .def(py::pickle([](const EngineQuirks& q) { return py::make_tuple(quirk_names_on(q)); },
                        [](py::tuple s) { return quirks_from_names(s[0].cast<std::vector<std::string>>()); }));
    for (const EngineQuirkField& f : engine_quirk_fields()) {
        auto member = f.member;
        eq.def_property_readonly(f.name, [member](const EngineQuirks& q) { return q.*member; });
    }

    // ---------------------------------------------------------------- Technology
    py::class_<Technology>(m, "Technology",
                           "Device parameters for one (node, roadmap, temperature) and the NeuroSim "
                           "conventions its formulas follow (quirks). Immutable.")
        .def(py::init<int, const std::string&, double, EngineQuirks>(), py::arg("node_nm"),
             py::arg("roadmap") = "lstp", py::arg("temperature_K") = 300.0,
             py::arg("quirks") = EngineQuirks{})
        .def_property_readonly("quirks", &Technology::quirks)
        .def_property_readonly("node_nm", &Technology::node_nm)
        .def_property_readonly("roadmap", &Technology::roadmap_str)
        .def_property_readonly("temperature_K", &Technology::temperature_K)
        .def_property_readonly("feature_size_m", &Technology::feature_size_m)
        .def_property_readonly("device_kind", &Technology::device_kind)
        .def_property_readonly("vdd_V", &Technology::vdd_V)
        .def_property_readonly("vth_V", &Technology::vth_V)
        .def_property_readonly("gate_length_m", &Technology::gate_length_m)
        .def_property_readonly("cap_ideal_gate_F_per_m", &Technology::cap_ideal_gate)
        .def_property_readonly("cap_fringe_F_per_m", &Technology::cap_fringe)
        .def_property_readonly("cap_overlap_F_per_m", &Technology::cap_overlap)
        .def_property_readonly("cap_polywire_F_per_m", &Technology::cap_polywire)
        .def_property_readonly("cap_junction_F_per_m2", &Technology::cap_junction)
        .def_property_readonly("cap_sidewall_F_per_m", &Technology::cap_sidewall)
        .def_property_readonly("cap_drain_to_channel_F_per_m", &Technology::cap_drain_to_channel)
        .def_property_readonly("cap_draintotal_F_per_m", &Technology::cap_draintotal)
        .def_property_readonly("effective_resistance_multiplier", &Technology::effective_resistance_multiplier)
        .def_property_readonly("current_gm_nmos_A_per_m", &Technology::current_gm_nmos)
        .def_property_readonly("current_gm_pmos_A_per_m", &Technology::current_gm_pmos)
        .def_property_readonly("current_on_nmos_A_per_m", &Technology::current_on_nmos)
        .def_property_readonly("current_on_pmos_A_per_m", &Technology::current_on_pmos)
        .def_property_readonly("current_off_nmos_A_per_m", &Technology::current_off_nmos)
        .def_property_readonly("current_off_pmos_A_per_m", &Technology::current_off_pmos)
        .def_property_readonly("pn_size_ratio", &Technology::pn_size_ratio)
        .def_property_readonly("fin_height_m", &Technology::fin_height_m)
        .def_property_readonly("fin_width_m", &Technology::fin_width_m)
        .def_property_readonly("fin_pitch_m", &Technology::fin_pitch_m)
        .def_property_readonly("max_fin_num", &Technology::max_fin_num)
        .def_property_readonly("max_sheet_num", &Technology::max_sheet_num)
        .def_property_readonly("sheet_thickness_m", &Technology::sheet_thickness_m)
        .def_property_readonly("sheet_width_m", &Technology::sheet_width_m)
        .def_property_readonly("max_fin_per_gaa", &Technology::max_fin_per_gaa)
        .def_property_readonly("effective_width_m", &Technology::effective_width_m)
        .def_property_readonly("gm_oncurrent_S_per_m", &Technology::gm_oncurrent)
        .def_property_readonly("cell_height_F", &Technology::cell_height_F)
        .def_property_readonly("standard_cell_height_m", &Technology::standard_cell_height_m)
        .def_property_readonly("poly_width_F", &Technology::poly_width_F)
        .def_property_readonly("gate_gap_F", &Technology::gate_gap_F)
        .def_property_readonly("cpp_F", &Technology::cpp_F)
        .def_property_readonly("pn_gap_F", &Technology::pn_gap_F)
        .def_property_readonly("outer_height_region_F", &Technology::outer_height_region_F)
        .def_property_readonly("m2_pitch_F", &Technology::m2_pitch_F)
        .def_property_readonly("m3_pitch_F", &Technology::m3_pitch_F)
        .def_property_readonly("min_nmos_width_m", &Technology::min_nmos_width_m)
        .def("current_on", &Technology::current_on, py::arg("device_type"), "On-current per width (A/m) at T.")
        .def("current_off", &Technology::current_off, py::arg("device_type"), "Off-current per width (A/m) at T.")
        .def("fin_count", [](const Technology& t, double w) {
                 fns::require_positive("width_m", w);
                 return t.is_planar() ? 0 : t.fin_count(w);
             }, py::arg("width_m"), "Fins / sheet stacks a drawn width counts as (ceil(W/2F)); 0 for planar.")
        .def("electrical_width_m", [](const Technology& t, double w) {
                 fns::require_positive("width_m", w);
                 return t.effective_width(w);
             }, py::arg("width_m"), "Effective electrical width of a drawn width (tables file 1.5).")
        .def("as_dict", &technology_dict)
        .def("__repr__", [](const Technology& t) {
            std::ostringstream os;
            os << "Technology(node_nm=" << t.node_nm() << ", roadmap='" << t.roadmap_str()
               << "', temperature_K=" << t.temperature_K();
            if (t.quirks() != EngineQuirks{}) os << ", quirks=" << repr_quirks(t.quirks());
            os << ")";
            return os.str();
        })
        .def("__eq__", [](const Technology& a, const Technology& b) {
            return a.node_nm() == b.node_nm() && a.roadmap() == b.roadmap() &&
                   a.temperature_K() == b.temperature_K() && a.quirks() == b.quirks();
        })
        .def("__hash__", [](const Technology& t) {
            return py::hash(py::make_tuple(t.node_nm(), t.roadmap_str(), t.temperature_K(),
                                           py::tuple(py::cast(quirk_names_on(t.quirks())))));
        })
        .def(py::pickle(
            [](const Technology& t) {
                return py::make_tuple(t.node_nm(), t.roadmap_str(), t.temperature_K(),
                                      quirk_names_on(t.quirks()));
            },
            [](py::tuple s) {
                return Technology(s[0].cast<int>(), s[1].cast<std::string>(), s[2].cast<double>(),
                                  quirks_from_names(s[3].cast<std::vector<std::string>>()));
            }));

    // ---------------------------------------------------------------- NodeParameters
    py::class_<NodeParameters>(m, "NodeParameters", "Per-node Param.cpp switches (tables file 2.2). Immutable.")
        .def(py::init<int>(), py::arg("node_nm"))
        .def_property_readonly("node_nm", &NodeParameters::node_nm)
        .def_property_readonly("read_voltage_V", &NodeParameters::read_voltage_V)
        .def_property_readonly("wire_width_m", &NodeParameters::wire_width_m)
        .def_property_readonly("metal0_width_m", &NodeParameters::metal0_width_m)
        .def_property_readonly("metal1_width_m", &NodeParameters::metal1_width_m)
        .def_property_readonly("barrier_thickness_m", &NodeParameters::barrier_thickness_m)
        .def_property_readonly("sizing_factor_mux", &NodeParameters::sizing_factor_mux)
        .def_property_readonly("sizing_factor_wl_decoder", &NodeParameters::sizing_factor_wl_decoder)
        .def_property_readonly("new_switch_matrix_size_ratio", &NodeParameters::new_switch_matrix_size_ratio)
        .def_property_readonly("switch_matrix_size_ratio", &NodeParameters::switch_matrix_size_ratio)
        .def_property_readonly("buffer_number", &NodeParameters::buffer_number)
        .def_property_readonly("buffer_size_ratio", &NodeParameters::buffer_size_ratio)
        .def_property_readonly("sram_cell_height_F", &NodeParameters::sram_cell_height_F)
        .def_property_readonly("sram_cell_width_F", &NodeParameters::sram_cell_width_F)
        .def("__repr__", [](const NodeParameters& p) {
            return "NodeParameters(node_nm=" + std::to_string(p.node_nm()) + ")";
        })
        .def(py::pickle([](const NodeParameters& p) { return py::make_tuple(p.node_nm()); },
                        [](py::tuple s) { return NodeParameters(s[0].cast<int>()); }));

    // ---------------------------------------------------------------- Wires
    m.def("wire_aspect_ratio_resistivity", &wire_aspect_ratio_resistivity, py::arg("width_m"),
          "Width bins of Param.cpp (tables file 2.3): width in m -> (aspect_ratio, resistivity_ohm_m).");
    m.def("barrier_correction_factor", &barrier_correction_factor, py::arg("width_nm"), py::arg("aspect_ratio"),
          py::arg("barrier_nm"), py::arg("consistent_units") = true,
          "rho_eff / rho = 1 / (1 - (2 AR w + w) t_b / (AR w^2)); consistent_units=False reproduces "
          "NeuroSim's nm/m mix.");

    py::class_<WireTechnology>(m, "WireTechnology", "Wire R and C for a node (tables file 2.2/2.3). Immutable.")
        .def(py::init<int, double, bool, EngineQuirks>(), py::arg("node_nm"), py::arg("temperature_K") = 300.0,
             py::arg("barrier_correction") = true, py::arg("quirks") = EngineQuirks{})
        .def_property_readonly("quirks", &WireTechnology::quirks)
        .def_property_readonly("node_nm", &WireTechnology::node_nm)
        .def_property_readonly("temperature_K", &WireTechnology::temperature_K)
        .def_property_readonly("barrier_correction", &WireTechnology::barrier_correction)
        .def_property_readonly("barrier_thickness_m", &WireTechnology::barrier_thickness_m)
        .def_property_readonly("temperature_factor", &WireTechnology::temperature_factor)
        .def_property_readonly("wire_width_m", &WireTechnology::wire_width_m)
        .def_property_readonly("aspect_ratio", &WireTechnology::aspect_ratio)
        .def_property_readonly("resistivity_ohm_m", &WireTechnology::resistivity_ohm_m)
        .def_property_readonly("unit_resistance_ohm_per_m", &WireTechnology::unit_resistance_ohm_per_m)
        .def_property_readonly("metal0_width_m", &WireTechnology::metal0_width_m)
        .def_property_readonly("metal0_aspect_ratio", &WireTechnology::metal0_aspect_ratio)
        .def_property_readonly("metal0_resistivity_ohm_m", &WireTechnology::metal0_resistivity_ohm_m)
        .def_property_readonly("metal0_unit_resistance_ohm_per_m", &WireTechnology::metal0_unit_resistance_ohm_per_m)
        .def_property_readonly("metal1_width_m", &WireTechnology::metal1_width_m)
        .def_property_readonly("metal1_aspect_ratio", &WireTechnology::metal1_aspect_ratio)
        .def_property_readonly("metal1_resistivity_ohm_m", &WireTechnology::metal1_resistivity_ohm_m)
        .def_property_readonly("metal1_unit_resistance_ohm_per_m", &WireTechnology::metal1_unit_resistance_ohm_per_m)
        .def_property_readonly("unit_capacitance_F_per_m", &WireTechnology::unit_capacitance_F_per_m)
        .def("__repr__", [](const WireTechnology& w) {
            std::ostringstream os;
            os << "WireTechnology(node_nm=" << w.node_nm() << ", temperature_K=" << w.temperature_K()
               << ", barrier_correction=" << (w.barrier_correction() ? "True" : "False");
            if (w.quirks() != EngineQuirks{}) os << ", quirks=" << repr_quirks(w.quirks());
            os << ")";
            return os.str();
        })
        .def(py::pickle(
            [](const WireTechnology& w) {
                return py::make_tuple(w.node_nm(), w.temperature_K(), w.barrier_correction(),
                                      quirk_names_on(w.quirks()));
            },
            [](py::tuple s) {
                return WireTechnology(s[0].cast<int>(), s[1].cast<double>(), s[2].cast<bool>(),
                                      quirks_from_names(s[3].cast<std::vector<std::string>>()));
            }));

    m.def("interconnect_wire_width_m", &interconnect_wire_width, py::arg("tech"), py::arg("wire"),
          py::arg("segment_length_m"),
          "Wire width of an H-tree / X-Y bus segment: x2 for 1e4 <= l/F <= 1e5, x4 for l/F >= 1e5.");
    m.def("interconnect_unit_resistance", &interconnect_unit_resistance, py::arg("tech"), py::arg("wire"),
          py::arg("segment_length_m"),
          "Unit-length resistance (Ohm/m) of an H-tree / X-Y bus segment (widened wire, per-bin barrier).");

    // ---------------------------------------------------------------- Formulas
    py::class_<GateGeometry>(m, "GateGeometry", "Layout of a gate: height, width, area (m, m, m^2).")
        .def_readonly("height_m", &GateGeometry::height_m)
        .def_readonly("width_m", &GateGeometry::width_m)
        .def_readonly("area_m2", &GateGeometry::area_m2)
        .def("__repr__", &repr_geometry)
        .def(py::pickle([](const GateGeometry& g) { return py::make_tuple(g.height_m, g.width_m, g.area_m2); },
                        [](py::tuple s) {
                            GateGeometry g;
                            g.height_m = s[0].cast<double>();
                            g.width_m = s[1].cast<double>();
                            g.area_m2 = s[2].cast<double>();
                            return g;
                        }));

    auto rep = py::class_<RepeaterDesign>(m, "RepeaterDesign", "Repeated-wire design and per-length figures.");
    for (const RepField& f : kRepFields) {
        auto member = f.member;
        rep.def_property_readonly(f.name, [member](const RepeaterDesign& d) { return d.*member; });
    }
    rep.def_readonly("iterations", &RepeaterDesign::iterations)
        .def("as_dict", [](const RepeaterDesign& d) {
            py::dict out;
            for (const RepField& f : kRepFields) out[f.name] = d.*(f.member);
            out["iterations"] = d.iterations;
            return out;
        })
        .def("__repr__", [](const RepeaterDesign& d) {
            std::ostringstream os;
            os.precision(6);
            os << "RepeaterDesign(repeater_size=" << d.repeater_size << ", spacing_m=" << d.spacing_m
               << ", delay_s_per_m=" << d.delay_s_per_m << ", energy_J_per_m=" << d.energy_J_per_m << ")";
            return os.str();
        })
        .def(py::pickle(
            [](const RepeaterDesign& d) {
                py::list vals;
                for (const RepField& f : kRepFields) vals.append(d.*(f.member));
                return py::make_tuple(vals, d.iterations);
            },
            [](py::tuple s) {
                RepeaterDesign d;
                py::list vals = s[0].cast<py::list>();
                std::size_t i = 0;
                for (const RepField& f : kRepFields) d.*(f.member) = vals[i++].cast<double>();
                d.iterations = s[1].cast<int>();
                return d;
            }));

    m.def("gate_cap", &gate_cap, py::arg("tech"), py::arg("width_m"),
          "Gate capacitance (F) of a transistor of drawn width W.");
    m.def("gate_area", &gate_area, py::arg("tech"), py::arg("gate_type"), py::arg("num_input"),
          py::arg("width_n_m"), py::arg("width_p_m"), py::arg("height_m"),
          "Layout of an INV/NAND/NOR at a fixed cell height (physical height, e.g. "
          "tech.standard_cell_height_m), with folding.");
    m.def("gate_capacitance", &gate_capacitance, py::arg("tech"), py::arg("gate_type"), py::arg("num_input"),
          py::arg("width_n_m"), py::arg("width_p_m"), py::arg("height_m"),
          "(cap_input_F, cap_output_F): gate cap of one input and drain-junction cap of the output.");
    m.def("drain_cap", &drain_cap, py::arg("tech"), py::arg("width_m"), py::arg("device_type"), py::arg("height_m"),
          "Drain capacitance (F) of a single transistor.");
    m.def("on_resistance", &on_resistance, py::arg("tech"), py::arg("width_m"), py::arg("device_type"),
          py::arg("include_multiplier") = true, "On-resistance (Ohm) k_Reff Vdd / (I_on W_eff).");
    m.def("transconductance", &transconductance, py::arg("tech"), py::arg("width_m"), py::arg("device_type"),
          "Transconductance (S).");
    m.def("gate_leakage", &gate_leakage, py::arg("tech"), py::arg("gate_type"), py::arg("num_input"),
          py::arg("width_n_m"), py::arg("width_p_m"), "Leakage current (A) of a gate; x Vdd for W.");
    m.def("horowitz", &horowitz, py::arg("tau_s"), py::arg("beta") = 0.5, py::arg("ramp_input") = 1e20,
          "(delay_s, ramp_output): CACTI Horowitz delay; beta is forced to 0.5; ramp_input=1e20 is a step.");
    m.def("pass_gate_area",
          [](const Technology& t, double wn, double wp, int nfold, py::object height) {
              if (!height.is_none()) fns::require_non_negative("height_m", height.cast<double>());
              return pass_gate_area(t, wn, wp, nfold);
          },
          py::arg("tech"), py::arg("width_n_m"), py::arg("width_p_m"), py::arg("num_fold"),
          py::arg("height_m") = py::none(),
          "Transmission-gate layout with num_fold fingers (1 = no folding). The height is computed "
          "(returned as .height_m); the height_m argument is accepted for compatibility and unused.");
    m.def("enlarge_size", &enlarge_size, py::arg("tech"), py::arg("width_n_m"), py::arg("width_p_m"),
          py::arg("height_m"), "(width_n_m, width_p_m) enlarged to fill the layout of the same area.");
    m.def("repeated_wire", &repeated_wire, py::arg("tech"), py::arg("unit_resistance_ohm_per_m"),
          py::arg("unit_capacitance_F_per_m"), py::arg("delay_tolerance") = 0.0, py::arg("size_step") = "halve",
          "Repeater design of a long wire with the delay-tolerance trade-off.");
    m.def("repeated_wire_delay", &repeated_wire_delay, py::arg("design"), py::arg("unit_resistance_ohm_per_m"),
          py::arg("unit_capacitance_F_per_m"),
          "Delay per length (s/m) of an existing repeater design on a wire of other r, c.");
}
