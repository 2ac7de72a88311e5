// Technology, NodeParameters and WireTechnology: table lookups plus the derived per-node
// quantities of NeuroSim V1.4 Technology::Initialize / Param::Param (equations only).
#include "technology.h"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <cmath>

#include "errors.h"

namespace fns {

namespace {

constexpr double kNmPerM = 1e9;  // nm -> m by division (correctly rounded)

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool is_advanced_node(int node_nm) { return node_nm <= 14; }

void check_temperature(double t, const char* name = "temperature_K") {
    if (!(t >= 300.0 && t <= 400.0))
        bad_value(name, fmt_double(t), "300 <= temperature_K <= 400 (K)");
}

// Linear interpolation between the 10-K table points (NeuroSim fills a 1-K grid the same way).
double interp_temperature(const std::array<double, kNumTemps>& v, double t) {
    const double x = (t - kTableT0) / kTableDT;
    int i = static_cast<int>(std::floor(x));
    if (i >= kNumTemps - 1) return v[kNumTemps - 1];
    if (i < 0) i = 0;
    const double f = x - i;
    return v[i] + f * (v[i + 1] - v[i]);
}

int quantity_index(const std::string& q) {
    const std::string s = lower(q);
    if (s == "ion_n") return 0;
    if (s == "ion_p") return 1;
    if (s == "ioff_n") return 2;
    if (s == "ioff_p") return 3;
    bad_value("quantity", "'" + q + "'", "'ion_n', 'ion_p', 'ioff_n', 'ioff_p'");
}

void check_roadmap_at_node(int node_nm, Roadmap rm) {
    if (rm == Roadmap::HP && is_advanced_node(node_nm))
        throw std::invalid_argument("roadmap='hp' is not supported at node_nm=" +
                                    std::to_string(node_nm) +
                                    "; allowed: 'lstp' (HP exists only for planar nodes 130-22 nm)");
}

// Bias-dependent junction capacitance rules (tables file 1.4; NeuroSim Technology.cpp, CACTI form):
// C = C0 / (1 + Vdd/phi_B)^m.
double junction_rule(double c0, double vdd, double m) {
    return c0 / std::pow(1.0 + vdd / consts::kPhiB, m);
}

}  // namespace

const std::vector<EngineQuirkField>& engine_quirk_fields() {
    static const std::vector<EngineQuirkField> fields = {
        {"fin_fold_count_floor", &EngineQuirks::fin_fold_count_floor},
        {"gaa_nmos_drain_generic_gap", &EngineQuirks::gaa_nmos_drain_generic_gap},
        {"inv_nmos_sidewall_pmos_folds", &EngineQuirks::inv_nmos_sidewall_pmos_folds},
        {"finfet_gm_fin_geometry", &EngineQuirks::finfet_gm_fin_geometry},
        {"wire_temperature_wire_width_only", &EngineQuirks::wire_temperature_wire_width_only},
    };
    return fields;
}

bool EngineQuirks::operator==(const EngineQuirks& o) const {
    for (const EngineQuirkField& f : engine_quirk_fields())
        if (this->*(f.member) != o.*(f.member)) return false;
    return true;
}

std::string roadmap_name(Roadmap rm) { return rm == Roadmap::HP ? "hp" : "lstp"; }

Roadmap parse_roadmap(const std::string& s, const char* param_name) {
    const std::string l = lower(s);
    if (l == "hp") return Roadmap::HP;
    if (l == "lstp") return Roadmap::LSTP;
    bad_value(param_name, "'" + s + "'", "'hp', 'lstp'");
}

std::string allowed_nodes_text() {
    std::string s;
    for (std::size_t i = 0; i < kSupportedNodes.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(kSupportedNodes[i]);
    }
    return s;
}

void check_node(int node_nm) {
    for (int n : kSupportedNodes)
        if (n == node_nm) return;
    bad_value("node_nm", std::to_string(node_nm), allowed_nodes_text());
}

std::vector<int> supported_nodes() { return {kSupportedNodes.begin(), kSupportedNodes.end()}; }

std::vector<std::string> node_roadmaps(int node_nm) {
    check_node(node_nm);
    if (is_advanced_node(node_nm)) return {"lstp"};
    return {"hp", "lstp"};
}

std::vector<double> temperature_table(int node_nm, const std::string& roadmap,
                                      const std::string& quantity) {
    check_node(node_nm);
    const Roadmap rm = parse_roadmap(roadmap);
    check_roadmap_at_node(node_nm, rm);
    const int q = quantity_index(quantity);
    const CurrentRow* row = find_current(q, node_nm, rm);
    return {row->values.begin(), row->values.end()};
}

// ------------------------------------------------------------------------------------------
// Technology
// ------------------------------------------------------------------------------------------
Technology::Technology(int node_nm, const std::string& roadmap, double temperature_K,
                       EngineQuirks quirks)
    : node_nm_(node_nm), roadmap_(Roadmap::LSTP), temperature_K_(temperature_K), quirks_(quirks),
      feature_size_m_(node_nm / kNmPerM), kind_(DeviceKind::PLANAR) {
    check_node(node_nm);
    roadmap_ = parse_roadmap(roadmap);
    check_roadmap_at_node(node_nm, roadmap_);
    check_temperature(temperature_K);
    if (is_advanced_node(node_nm) && temperature_K != 300.0) {
        // NeuroSim V1.4 main.cpp allows only 300 K at <= 14 nm: its 310-400 K FinFET/GAA tables
        // do not continue the 300 K values (tables file 7.8), so other temperatures are refused.
        throw std::invalid_argument(
            "temperature_K=" + fmt_double(temperature_K) + " is not supported at node_nm=" +
            std::to_string(node_nm) +
            "; allowed: 300 (FinFET/GAA nodes <= 14 nm, as in NeuroSim V1.4: their 310-400 K "
            "current tables are inconsistent with the 300 K values)");
    }

    ion_n_ = interp_temperature(find_current(0, node_nm, roadmap_)->values, temperature_K);
    ion_p_ = interp_temperature(find_current(1, node_nm, roadmap_)->values, temperature_K);
    ioff_n_ = interp_temperature(find_current(2, node_nm, roadmap_)->values, temperature_K);
    ioff_p_ = interp_temperature(find_current(3, node_nm, roadmap_)->values, temperature_K);
    const double ion_n_300 = find_current(0, node_nm, roadmap_)->values[0];
    const double ion_p_300 = find_current(1, node_nm, roadmap_)->values[0];

    if (!is_advanced_node(node_nm)) {
        const PlanarRow& r = *find_planar(node_nm, roadmap_);
        kind_ = DeviceKind::PLANAR;
        vdd_ = r.vdd_V;
        vth_ = r.vth_V;
        gate_length_m_ = r.gate_length_nm / kNmPerM;
        cap_ideal_gate_ = r.cap_ideal_gate_F_per_m;
        cap_fringe_ = r.cap_fringe_F_per_m;
        cap_overlap_ = 0.2 * cap_ideal_gate_;  // NeuroSim Technology.cpp: C_overlap = 0.2 C_ideal (>= 22 nm)
        r_eff_mult_ = r.r_eff_multiplier;
        current_gm_n_ = r.current_gm_n_A_per_m;
        current_gm_p_ = r.current_gm_p_A_per_m;
        cap_draintotal_ = r.cap_draintotal_F_per_m;
        cap_junction_ = junction_rule(consts::kCj0, vdd_, consts::kMj);  // tables file 1.4
        pn_size_ratio_ = ion_n_300 / ion_p_300;  // NeuroSim: Ion_N(300 K) / Ion_P(300 K)
        cell_height_F_ = planar_rules::kMaxTransistorHeight;
        poly_width_F_ = planar_rules::kPolyWidth;
        gate_gap_F_ = planar_rules::kGapGatePoly;
        pn_gap_F_ = planar_rules::kGapPN;
        outer_height_region_F_ = planar_rules::kOuterRegionPerSide;
        m2_pitch_F_ = planar_rules::kM2Pitch;
        m3_pitch_F_ = planar_rules::kM3Pitch;
    } else {
        const AdvancedRow& r = *find_advanced(node_nm);
        const AdvancedLayoutRow& l = *find_advanced_layout(node_nm);
        kind_ = r.gaa ? DeviceKind::GAA : DeviceKind::FINFET;
        vdd_ = r.vdd_V;
        vth_ = r.vth_V;
        gate_length_m_ = r.gate_length_nm / kNmPerM;
        fin_height_m_ = r.fin_height_nm / kNmPerM;
        fin_width_m_ = r.fin_width_nm / kNmPerM;
        fin_pitch_m_ = r.fin_pitch_nm / kNmPerM;
        max_fin_num_ = r.max_fin_num;
        max_sheet_num_ = r.max_sheet_num;
        sheet_thickness_m_ = r.sheet_thickness_nm / kNmPerM;
        sheet_width_m_ = r.sheet_width_nm / kNmPerM;
        max_fin_per_gaa_ = r.max_fin_per_gaa;
        effective_width_m_ = r.effective_width_nm / kNmPerM;
        // NeuroSim Technology.cpp (IRDS lists): C_ideal = gate-cap list / W_eff (GAA: / (W_eff * sheets)),
        // fringe and overlap folded into it.
        const double weff_cap = r.gaa ? effective_width_m_ * r.max_sheet_num : effective_width_m_;
        cap_ideal_gate_ = r.gate_cap_list_aF * 1e-18 / weff_cap;
        cap_fringe_ = 0.0;
        cap_overlap_ = 0.0;
        cap_draintotal_ = r.drain_cap_list_F / effective_width_m_;  // drain-cap list / W_eff
        r_eff_mult_ = r.r_eff_multiplier;
        gm_oncurrent_ = r.gm_oncurrent_S_per_m;
        current_gm_n_ = gm_oncurrent_;
        current_gm_p_ = gm_oncurrent_;
        cap_junction_ = r.cap_junction_F_per_m2;  // fixed per node at <= 14 nm (tables file 1.4)
        // NeuroSim truncates pnSizeRatio to an integer at <= 14 nm (= 1, Ion_N = Ion_P there).
        pn_size_ratio_ = std::floor(ion_n_300 / ion_p_300);
        cell_height_F_ = l.cell_height_F;
        poly_width_F_ = l.poly_width_F;
        gate_gap_F_ = l.cpp_F - l.poly_width_F;
        pn_gap_F_ = l.pn_gap_F;
        outer_height_region_F_ = l.outer_height_region_F;
        m2_pitch_F_ = l.m2_m3_pitch_F;
        m3_pitch_F_ = l.m2_m3_pitch_F;
    }
    // Sidewall and drain-to-channel rules (tables file 1.4); computed at every node, used >= 22 nm.
    cap_sidewall_ = junction_rule(consts::kCjsw0, vdd_, consts::kMjsw);
    cap_drain_to_channel_ = junction_rule(consts::kCjswg0, vdd_, consts::kMjswg);
}

int Technology::fin_count(double width_m) const {
    // Tables file 1.5: a drawn width W counts as ceil(W / 2F) fins / sheet stacks. A relative
    // slack of 1e-9 keeps k*2F computed in floating point from rounding up to k+1 (ours).
    const double n = width_m / (2.0 * feature_size_m_);
    return static_cast<int>(std::ceil(n - 1e-9));
}

double Technology::effective_width(double width_m) const {
    switch (kind_) {
        case DeviceKind::PLANAR: return width_m;
        case DeviceKind::FINFET: return fin_count(width_m) * effective_width_m_;  // tables file 1.5
        case DeviceKind::GAA:  // tables file 1.5: n * W_eff,sheet * sheets / max_fin_per_GAA
            return fin_count(width_m) * effective_width_m_ * max_sheet_num_ / max_fin_per_gaa_;
    }
    return width_m;
}

// ------------------------------------------------------------------------------------------
// NodeParameters
// ------------------------------------------------------------------------------------------
NodeParameters::NodeParameters(int node_nm) : row_(nullptr) {
    check_node(node_nm);
    row_ = find_node_params(node_nm);
}

// ------------------------------------------------------------------------------------------
// Wires
// ------------------------------------------------------------------------------------------
namespace {

// Width in nm, rounded to 1e-6 nm so that e.g. 40e-9 m never lands in the 32-40 nm bin.
double width_to_nm(double width_m) { return std::round(width_m * 1e9 * 1e6) / 1e6; }

const WireBin& lookup_bin(const WireBin* bins, std::size_t n, double width_nm, const char* name,
                          double width_m) {
    for (std::size_t i = 0; i < n; ++i)
        if (width_nm >= bins[i].min_width_nm) return bins[i];
    bad_value(name, fmt_double(width_m), "a wire width >= 8e-09 m (8 nm; NeuroSim's smallest bin)");
}

}  // namespace

std::pair<double, double> wire_aspect_ratio_resistivity(double width_m) {
    require_positive("width_m", width_m);
    std::size_t n = 0;
    const WireBin* bins = param_wire_bins(&n);
    const WireBin& b = lookup_bin(bins, n, width_to_nm(width_m), "width_m", width_m);
    return {b.aspect_ratio, b.resistivity_ohm_m};  // tables file 2.3 (ITRS via Param.cpp)
}

double barrier_correction_factor(double width_nm, double aspect_ratio, double barrier_nm,
                                 bool consistent_units) {
    // Size effect of the barrier liner (NeuroSim V1.4 Param.cpp / HTree.cpp equation):
    // rho_eff = rho / (1 - (2 AR w + w) t_b / (AR w^2)).
    const double tb = consistent_units ? barrier_nm : barrier_nm * 1e-9;  // false: NeuroSim's nm/m mix
    const double frac = (2.0 * aspect_ratio * width_nm + width_nm) * tb / (aspect_ratio * width_nm * width_nm);
    if (!(frac < 1.0))
        throw std::invalid_argument("barrier thickness " + fmt_double(barrier_nm) +
                                    " nm leaves no conductor in a " + fmt_double(width_nm) +
                                    " nm wire; allowed: a barrier thinner than the wire");
    return 1.0 / (1.0 - frac);
}

WireTechnology::WireTechnology(int node_nm, double temperature_K, bool barrier_correction,
                               EngineQuirks quirks)
    : node_nm_(node_nm), temperature_K_(temperature_K), barrier_correction_(barrier_correction),
      quirks_(quirks) {
    check_node(node_nm);
    check_temperature(temperature_K);
    const NodeParamRow& p = *find_node_params(node_nm);
    barrier_m_ = p.barrier_nm / kNmPerM;
    const double tf = temperature_factor();
    // Temperature factor on every metal (ours). NeuroSim V1.4 applies it to wireWidth only and
    // never to Metal0/Metal1 (tables file 2.2 notes; quirk wire_temperature_wire_width_only);
    // identical at 300 K.
    const double tf_metal01 = quirks_.wire_temperature_wire_width_only ? 1.0 : tf;
    auto make = [&](double w_nm, double t_factor, double& width_m, double& ar, double& rho,
                    double& r) {
        width_m = w_nm / kNmPerM;
        std::tie(ar, rho) = wire_aspect_ratio_resistivity(width_m);
        rho *= barrier_correction_factor(w_nm, ar, p.barrier_nm, barrier_correction);
        rho *= t_factor;
        r = rho / (width_m * width_m * ar);  // unit-length R = rho / (w^2 AR)
    };
    make(p.wire_width_nm, tf, wire_width_m_, ar_, rho_, r_unit_);
    make(p.metal0_nm, tf_metal01, m0_width_m_, m0_ar_, m0_rho_, m0_r_);
    make(p.metal1_nm, tf_metal01, m1_width_m_, m1_ar_, m1_rho_, m1_r_);
}

double WireTechnology::temperature_factor() const {
    return 1.0 + consts::kWireTempCoeff * (temperature_K_ - 300.0);  // NeuroSim Param.cpp / HTree.cpp
}

double interconnect_wire_width(const Technology& tech, const WireTechnology& wire,
                               double segment_length_m) {
    require_non_negative("segment_length_m", segment_length_m);
    if (tech.node_nm() != wire.node_nm())
        throw std::invalid_argument("wire.node_nm=" + std::to_string(wire.node_nm()) +
                                    " does not match tech.node_nm=" + std::to_string(tech.node_nm()) +
                                    "; allowed: the same node for both");
    // NeuroSim V1.4 HTree/XYBus GetUnitLengthRes: widen x4 at l/F >= 1e5, x2 at 1e4 <= l/F <= 1e5.
    const double ratio = segment_length_m / tech.feature_size_m();
    double k = 1.0;
    if (ratio >= 1e5) k = 4.0;
    else if (ratio >= 1e4) k = 2.0;
    return k * wire.wire_width_m();
}

double interconnect_unit_resistance(const Technology& tech, const WireTechnology& wire,
                                    double segment_length_m) {
    const double width_m = interconnect_wire_width(tech, wire, segment_length_m);
    const double w_nm = width_to_nm(width_m);
    std::size_t n = 0;
    const WireBin* bins = interconnect_wire_bins(&n);
    const WireBin& b = lookup_bin(bins, n, w_nm, "segment wire width", width_m);
    double rho = b.resistivity_ohm_m *
                 barrier_correction_factor(w_nm, b.aspect_ratio, b.barrier_nm, wire.barrier_correction());
    rho *= wire.temperature_factor();
    return rho / (width_m * width_m * b.aspect_ratio);  // tables file 2.3 interconnect variant
}

}  // namespace fns
