// Technology (device) parameters for one (node, roadmap, temperature), per-node Param.cpp
// switches, and wire technology. Immutable value types; no global state.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "tables.h"

namespace fns {

enum class DeviceType { NMOS, PMOS };
enum class DeviceKind { PLANAR, FINFET, GAA };
enum class GateType { INV, NOR, NAND };

// Planar layout rules in units of F (tables file 3.1, NeuroSim V1.4 constant.h).
namespace planar_rules {
constexpr double kMinNmosSize = 2.0;            // MIN_NMOS_SIZE
constexpr double kMaxTransistorHeight = 28.0;   // MAX_TRANSISTOR_HEIGHT (standard-cell height)
constexpr double kMaxTransistorHeightFinfet = 34.0;  // MAX_TRANSISTOR_HEIGHT_FINFET
constexpr double kGapPN = 3.5;                  // MIN_GAP_BET_P_AND_N_DIFFS
constexpr double kGapSameType = 1.6;            // MIN_GAP_BET_SAME_TYPE_DIFFS (unused)
constexpr double kPolyExtDiff = 1.0;            // MIN_POLY_EXT_DIFF
constexpr double kGapFieldPoly = 1.6;           // MIN_GAP_BET_FIELD_POLY
constexpr double kPolyWidth = 1.0;              // POLY_WIDTH
constexpr double kGapGatePoly = 2.8;            // MIN_GAP_BET_GATE_POLY
constexpr double kPolyWidthFinfet = 1.4;        // POLY_WIDTH_FINFET (generic)
constexpr double kGapGatePolyFinfet = 3.9;      // MIN_GAP_BET_GATE_POLY_FINFET (generic)
constexpr double kM2Pitch = 3.2;                // M2_PITCH
constexpr double kM3Pitch = 2.8;                // M3_PITCH
// Outer (end-cap) region per side of a planar cell: MIN_POLY_EXT_DIFF + MIN_GAP_BET_FIELD_POLY/2.
constexpr double kOuterRegionPerSide = kPolyExtDiff + kGapFieldPoly / 2.0;  // 1.8 F
}  // namespace planar_rules

// Electrical constants (tables file 3.3 / 1.4).
namespace consts {
constexpr double kAvgLeak2Nand = 0.48;  // AVG_RATIO_LEAK_2INPUT_NAND
constexpr double kAvgLeak3Nand = 0.31;  // AVG_RATIO_LEAK_3INPUT_NAND
constexpr double kAvgLeak2Nor = 0.95;   // AVG_RATIO_LEAK_2INPUT_NOR
constexpr double kAvgLeak3Nor = 0.62;   // AVG_RATIO_LEAK_3INPUT_NOR
constexpr double kWireCapFPerM = 0.2e-15 / 1e-6;  // 0.2 fF/um, every wire in NeuroSim
constexpr double kWireTempCoeff = 0.00451;        // rho x (1 + 0.00451 (T - 300))
constexpr double kCj0 = 1e-3;       // F/m^2, bottom junction at zero bias
constexpr double kCjsw0 = 2.5e-10;  // F/m, isolation-edge sidewall
constexpr double kCjswg0 = 0.5e-10; // F/m, gate-edge sidewall (drain-to-channel)
constexpr double kMj = 0.5, kMjsw = 0.33, kMjswg = 0.33;  // grading coefficients
constexpr double kPhiB = 0.9;       // V, built-in potential
}  // namespace consts

// NeuroSim V1.4 conventions of the formula layer that NeuroPySim corrects by default. Each flag
// is one named quirk of chip/compat.py (same name); all false (the default) is our model, true
// reproduces NeuroSim. The struct is part of an immutable Technology / WireTechnology value:
// the formulas read it from there, so no call signature and no global state changes.
struct EngineQuirks {
    // FinFET/GAA folding: fingers = ceil(int/int) = floor(n_fin / max per finger) (ours: ceiling)
    bool fin_fold_count_floor = false;
    // GAA NMOS drain/source width per finger from the generic FinFET gate gap 3.9 F (ours: the
    // node's CPP - poly width, as NeuroSim's PMOS)
    bool gaa_nmos_drain_generic_gap = false;
    // INV output cap: the NMOS drain sidewall counted with the PMOS fold count (ours: NMOS's)
    bool inv_nmos_sidewall_pmos_folds = false;
    // FinFET g_m per fin = 2 h_fin + w_fin, h_fin unset (0) at 5 and 3 nm (ours: W_eff per fin)
    bool finfet_gm_fin_geometry = false;
    // wire temperature factor on the wireWidth metal only, not Metal0/Metal1 (ours: every metal)
    bool wire_temperature_wire_width_only = false;

    bool operator==(const EngineQuirks& o) const;
    bool operator!=(const EngineQuirks& o) const { return !(*this == o); }
};

// Name -> member table of EngineQuirks (bindings, equality, pickling iterate over it).
struct EngineQuirkField {
    const char* name;
    bool EngineQuirks::*member;
};
const std::vector<EngineQuirkField>& engine_quirk_fields();

std::string roadmap_name(Roadmap rm);
Roadmap parse_roadmap(const std::string& s, const char* param_name = "roadmap");
void check_node(int node_nm);
std::string allowed_nodes_text();

// Table lookups exposed to Python.
std::vector<int> supported_nodes();
std::vector<std::string> node_roadmaps(int node_nm);
std::vector<double> temperature_table(int node_nm, const std::string& roadmap,
                                      const std::string& quantity);

class Technology {
public:
    Technology(int node_nm, const std::string& roadmap = "lstp", double temperature_K = 300.0,
               EngineQuirks quirks = {});

    int node_nm() const { return node_nm_; }
    Roadmap roadmap() const { return roadmap_; }
    std::string roadmap_str() const { return roadmap_name(roadmap_); }
    double temperature_K() const { return temperature_K_; }
    const EngineQuirks& quirks() const { return quirks_; }
    double feature_size_m() const { return feature_size_m_; }
    DeviceKind device_kind() const { return kind_; }
    bool is_planar() const { return kind_ == DeviceKind::PLANAR; }
    bool is_gaa() const { return kind_ == DeviceKind::GAA; }

    double vdd_V() const { return vdd_; }
    double vth_V() const { return vth_; }
    double gate_length_m() const { return gate_length_m_; }
    double cap_ideal_gate() const { return cap_ideal_gate_; }
    double cap_fringe() const { return cap_fringe_; }
    double cap_overlap() const { return cap_overlap_; }
    double cap_polywire() const { return 0.0; }
    double cap_junction() const { return cap_junction_; }
    double cap_sidewall() const { return cap_sidewall_; }
    double cap_drain_to_channel() const { return cap_drain_to_channel_; }
    double cap_draintotal() const { return cap_draintotal_; }
    double effective_resistance_multiplier() const { return r_eff_mult_; }
    double current_gm_nmos() const { return current_gm_n_; }
    double current_gm_pmos() const { return current_gm_p_; }
    double current_on_nmos() const { return ion_n_; }
    double current_on_pmos() const { return ion_p_; }
    double current_off_nmos() const { return ioff_n_; }
    double current_off_pmos() const { return ioff_p_; }
    double current_on(DeviceType t) const { return t == DeviceType::NMOS ? ion_n_ : ion_p_; }
    double current_off(DeviceType t) const { return t == DeviceType::NMOS ? ioff_n_ : ioff_p_; }
    double pn_size_ratio() const { return pn_size_ratio_; }

    // FinFET / GAA geometry (0 for planar nodes or where NeuroSim leaves a value unset).
    double fin_height_m() const { return fin_height_m_; }
    double fin_width_m() const { return fin_width_m_; }
    double fin_pitch_m() const { return fin_pitch_m_; }
    int max_fin_num() const { return max_fin_num_; }
    int max_sheet_num() const { return max_sheet_num_; }
    double sheet_thickness_m() const { return sheet_thickness_m_; }
    double sheet_width_m() const { return sheet_width_m_; }
    int max_fin_per_gaa() const { return max_fin_per_gaa_; }
    double effective_width_m() const { return effective_width_m_; }
    double gm_oncurrent() const { return gm_oncurrent_; }

    // Layout rules in units of F.
    double cell_height_F() const { return cell_height_F_; }
    double poly_width_F() const { return poly_width_F_; }
    double gate_gap_F() const { return gate_gap_F_; }
    double cpp_F() const { return poly_width_F_ + gate_gap_F_; }
    double pn_gap_F() const { return pn_gap_F_; }
    double outer_height_region_F() const { return outer_height_region_F_; }
    double m2_pitch_F() const { return m2_pitch_F_; }
    double m3_pitch_F() const { return m3_pitch_F_; }
    double min_nmos_width_m() const { return planar_rules::kMinNmosSize * feature_size_m_; }
    double standard_cell_height_m() const { return cell_height_F_ * feature_size_m_; }

    // Width -> effective electrical width (tables file 1.5). Planar: W. FinFET:
    // ceil(W/2F) * W_eff,fin. GAA: ceil(W/2F) * W_eff,sheet * sheets / max_fin_per_GAA.
    double effective_width(double width_m) const;
    // Number of fins / sheet stacks a drawn width counts as: ceil(W/2F) (<=14 nm only).
    int fin_count(double width_m) const;

private:
    int node_nm_;
    Roadmap roadmap_;
    double temperature_K_;
    EngineQuirks quirks_;
    double feature_size_m_;
    DeviceKind kind_;
    double vdd_ = 0, vth_ = 0, gate_length_m_ = 0;
    double cap_ideal_gate_ = 0, cap_fringe_ = 0, cap_overlap_ = 0;
    double cap_junction_ = 0, cap_sidewall_ = 0, cap_drain_to_channel_ = 0, cap_draintotal_ = 0;
    double r_eff_mult_ = 0, current_gm_n_ = 0, current_gm_p_ = 0, gm_oncurrent_ = 0;
    double ion_n_ = 0, ion_p_ = 0, ioff_n_ = 0, ioff_p_ = 0, pn_size_ratio_ = 0;
    double fin_height_m_ = 0, fin_width_m_ = 0, fin_pitch_m_ = 0;
    int max_fin_num_ = 0, max_sheet_num_ = 0, max_fin_per_gaa_ = 0;
    double sheet_thickness_m_ = 0, sheet_width_m_ = 0, effective_width_m_ = 0;
    double cell_height_F_ = 0, poly_width_F_ = 0, gate_gap_F_ = 0, pn_gap_F_ = 0;
    double outer_height_region_F_ = 0, m2_pitch_F_ = 0, m3_pitch_F_ = 0;
};

class NodeParameters {
public:
    explicit NodeParameters(int node_nm);
    int node_nm() const { return row_->node_nm; }
    double read_voltage_V() const { return row_->read_voltage_V; }
    double wire_width_m() const { return row_->wire_width_nm / 1e9; }
    double metal0_width_m() const { return row_->metal0_nm / 1e9; }
    double metal1_width_m() const { return row_->metal1_nm / 1e9; }
    double barrier_thickness_m() const { return row_->barrier_nm / 1e9; }
    double sizing_factor_mux() const { return row_->sizing_factor_mux; }
    double sizing_factor_wl_decoder() const { return row_->sizing_factor_wl_decoder; }
    double new_switch_matrix_size_ratio() const { return row_->new_switch_matrix_size_ratio; }
    double switch_matrix_size_ratio() const { return row_->switch_matrix_size_ratio; }
    int buffer_number() const { return static_cast<int>(row_->buffer_number); }
    double buffer_size_ratio() const { return row_->buffer_size_ratio; }
    double sram_cell_height_F() const { return row_->sram_height_F; }
    double sram_cell_width_F() const { return row_->sram_width_F; }
    const NodeParamRow& row() const { return *row_; }

private:
    const NodeParamRow* row_;
};

// Width bins (Param.cpp variant): width in m -> (aspect ratio, bulk resistivity in Ohm m).
std::pair<double, double> wire_aspect_ratio_resistivity(double width_m);

// Size (barrier) correction factor 1 / (1 - (2 AR w + w) t_b / (AR w^2)).
// consistent_units=true: w and t_b both in nm (physically right); false: NeuroSim V1.4's
// w in nm with t_b in m (tables file 7.3), i.e. a correction of ~1e-10.
double barrier_correction_factor(double width_nm, double aspect_ratio, double barrier_nm,
                                 bool consistent_units);

class WireTechnology {
public:
    WireTechnology(int node_nm, double temperature_K = 300.0, bool barrier_correction = true,
                   EngineQuirks quirks = {});
    int node_nm() const { return node_nm_; }
    double temperature_K() const { return temperature_K_; }
    bool barrier_correction() const { return barrier_correction_; }
    const EngineQuirks& quirks() const { return quirks_; }
    double barrier_thickness_m() const { return barrier_m_; }
    double wire_width_m() const { return wire_width_m_; }
    double aspect_ratio() const { return ar_; }
    double resistivity_ohm_m() const { return rho_; }
    double unit_resistance_ohm_per_m() const { return r_unit_; }
    double metal0_width_m() const { return m0_width_m_; }
    double metal0_aspect_ratio() const { return m0_ar_; }
    double metal0_resistivity_ohm_m() const { return m0_rho_; }
    double metal0_unit_resistance_ohm_per_m() const { return m0_r_; }
    double metal1_width_m() const { return m1_width_m_; }
    double metal1_aspect_ratio() const { return m1_ar_; }
    double metal1_resistivity_ohm_m() const { return m1_rho_; }
    double metal1_unit_resistance_ohm_per_m() const { return m1_r_; }
    double unit_capacitance_F_per_m() const { return consts::kWireCapFPerM; }
    double temperature_factor() const;

private:
    int node_nm_;
    double temperature_K_;
    bool barrier_correction_;
    EngineQuirks quirks_;
    double barrier_m_ = 0;
    double wire_width_m_ = 0, ar_ = 0, rho_ = 0, r_unit_ = 0;
    double m0_width_m_ = 0, m0_ar_ = 0, m0_rho_ = 0, m0_r_ = 0;
    double m1_width_m_ = 0, m1_ar_ = 0, m1_rho_ = 0, m1_r_ = 0;
};

// H-tree / X-Y bus segment: wire widened x2 (1e4 <= l/F <= 1e5) or x4 (l/F >= 1e5).
double interconnect_wire_width(const Technology& tech, const WireTechnology& wire,
                               double segment_length_m);
double interconnect_unit_resistance(const Technology& tech, const WireTechnology& wire,
                                    double segment_length_m);

}  // namespace fns
