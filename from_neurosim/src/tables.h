// Raw numeric tables of DNN+NeuroSim V1.4 (Technology.cpp, Param.cpp, constant.h), as plain
// arrays of structs. Numbers only (facts); see tables.cpp for the source of each table.
// Transcription: ../shared/reference/neurosim-v1.4-tables.md sections 1-3.
#pragma once

#include <array>
#include <cstddef>

namespace fns {

enum class Roadmap { HP, LSTP };

constexpr int kNumTemps = 11;            // 300, 310, ..., 400 K
constexpr double kTableT0 = 300.0;        // first tabulated temperature (K)
constexpr double kTableDT = 10.0;         // table step (K)

// One node/roadmap row of a current-vs-temperature table (A/m = uA/um).
struct CurrentRow {
    int node_nm;
    Roadmap roadmap;
    std::array<double, kNumTemps> values;
};

// Tables file 1.1: planar bulk nodes (PTM), per node and roadmap.
struct PlanarRow {
    int node_nm;
    Roadmap roadmap;
    double vdd_V;
    double vth_V;
    double gate_length_nm;
    double cap_ideal_gate_F_per_m;
    double cap_fringe_F_per_m;
    double r_eff_multiplier;
    double current_gm_n_A_per_m;
    double current_gm_p_A_per_m;
    double cap_draintotal_F_per_m;  // 0 where NeuroSim leaves it unset
};

// Tables file 1.2: FinFET (14..3 nm) and GAA nanosheet (2, 1 nm), LSTP only.
struct AdvancedRow {
    int node_nm;
    bool gaa;
    double vdd_V;
    double vth_V;                 // dummy 0.1 V in NeuroSim (unused by the <=14 nm gm rule)
    double gate_length_nm;
    double fin_height_nm;         // 0 where NeuroSim leaves it unset (5, 3, 2, 1 nm)
    double fin_width_nm;          // GAA: equal to the sheet width (drain height per sheet)
    double fin_pitch_nm;
    int max_fin_num;              // FinFET only
    int max_sheet_num;            // GAA only
    double sheet_thickness_nm;    // GAA only
    double sheet_width_nm;        // GAA only
    int max_fin_per_gaa;          // GAA only
    double effective_width_nm;    // per fin (FinFET) or per sheet (GAA)
    double gate_cap_list_aF;      // total gate cap of one fin / one sheet stack
    double drain_cap_list_F;      // drain cap of one fin / one sheet
    double r_eff_multiplier;
    double gm_oncurrent_S_per_m;  // = I_gm N = I_gm P
    double cap_junction_F_per_m2; // fixed per node
};

// Tables file 2.2: per-node Param.cpp switches.
struct NodeParamRow {
    int node_nm;
    double read_voltage_V;
    double wire_width_nm;
    double metal0_nm;
    double metal1_nm;
    double barrier_nm;
    double sizing_factor_mux;
    double sizing_factor_wl_decoder;
    double new_switch_matrix_size_ratio;
    double switch_matrix_size_ratio;
    double buffer_number;
    double buffer_size_ratio;
    double sram_height_F;
    double sram_width_F;
};

// Tables file 2.3: wire width bins (lower-inclusive), width in nm.
struct WireBin {
    double min_width_nm;
    double aspect_ratio;
    double resistivity_ohm_m;
    double barrier_nm;  // only meaningful in the interconnect (H-tree / X-Y bus) variant
};

// Tables file 3.2: FinFET / GAA per-node layout constants (units of F).
struct AdvancedLayoutRow {
    int node_nm;
    double cell_height_F;
    double cpp_F;
    double poly_width_F;
    double pn_gap_F;
    double outer_height_region_F;
    double m2_m3_pitch_F;
};

// Accessors (return nullptr when the row does not exist).
const PlanarRow* find_planar(int node_nm, Roadmap rm);
const AdvancedRow* find_advanced(int node_nm);
const AdvancedLayoutRow* find_advanced_layout(int node_nm);
const NodeParamRow* find_node_params(int node_nm);
// quantity: 0 ion_n, 1 ion_p, 2 ioff_n, 3 ioff_p
const CurrentRow* find_current(int quantity, int node_nm, Roadmap rm);

const WireBin* param_wire_bins(std::size_t* count);         // Param.cpp variant
const WireBin* interconnect_wire_bins(std::size_t* count);  // HTree/XYBus variant

// Supported nodes, largest first.
constexpr std::array<int, 13> kSupportedNodes = {130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1};

}  // namespace fns
