// Device-level formulas. Equations from DNN+NeuroSim V1.4 formula.cpp (as described in
// ../shared/reference/neurosim-v1.4.md section 5 and the tables file 1.5, 3.1, 3.2) and CACTI
// (Horowitz delay, repeated wires); every line written here. Deliberate departures from NeuroSim
// are marked "NeuroSim quirk".
#include "formula.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "errors.h"

namespace fns {

namespace {

using namespace planar_rules;

void check_num_input(int n) {
    if (n < 1) bad_value("num_input", std::to_string(n), "an integer >= 1");
}

void check_gate_widths(double wn, double wp) {
    require_non_negative("width_n_m", wn);
    require_non_negative("width_p_m", wp);
    if (wn + wp <= 0.0)
        throw std::invalid_argument("width_n_m=0 and width_p_m=0 is not supported; allowed: at least "
                                    "one width > 0");
}

// Per-device layout of one transistor (N or P) inside a gate.
struct DeviceLayout {
    bool present = false;
    int folds = 1;
    double unit_region_width = 0;  // width of this device's region for one gate input
    double unit_drain_width = 0;   // drain diffusion width (sum over drain fingers)
    double unit_source_width = 0;  // source diffusion width (sum over source fingers)
    double drain_height = 0;       // drain diffusion height
};

// Common per-gate layout (NeuroSim formula.cpp CalculateGateArea / CalculateGateCapacitance).
struct GateLayout {
    DeviceLayout n, p;
    double height = 0;
    double cpp_m = 0;
};

bool is_standard_height(const Technology& tech, double height_m) {
    const double h0 = tech.standard_cell_height_m();
    return std::fabs(height_m - h0) <= 1e-6 * h0;
}

void fill_folded(DeviceLayout& d, int folds, double gap_m) {
    // NeuroSim formula.cpp: drain fingers = ceil((folds+1)/2), source fingers = floor((folds+1)/2).
    d.folds = folds;
    d.unit_drain_width = std::ceil((folds + 1) / 2.0) * gap_m;
    d.unit_source_width = std::floor((folds + 1) / 2.0) * gap_m;
}

GateLayout planar_layout(const Technology& tech, double wn, double wp, double height) {
    const double F = tech.feature_size_m();
    GateLayout g;
    g.height = height;
    g.cpp_m = (kPolyWidth + kGapGatePoly) * F;
    const double gap = kGapGatePoly * F;
    const double ratio = wp / (wp + wn);
    const double ends = 2.0 * kOuterRegionPerSide * F;  // (MIN_POLY_EXT_DIFF + MIN_GAP_BET_FIELD_POLY/2) x 2
    double max_p = 0, max_n = 0;
    if (ratio == 0.0) {
        max_n = height - ends;
    } else if (ratio == 1.0) {
        max_p = height - ends;
    } else {
        max_p = ratio * (height - kGapPN * F - ends);  // P:N split of the usable diffusion height
        max_n = max_p / ratio * (1.0 - ratio);
    }
    auto one = [&](double w, double wmax, DeviceLayout& d) {
        if (w <= 0) return;
        if (!(wmax > 0))
            bad_value("height_m", fmt_double(height), "a cell height that leaves room for the diffusion (> " +
                      fmt_double((ratio == 0.0 || ratio == 1.0) ? ends : ends + kGapPN * F) + " m)");
        d.present = true;
        // no folding; the relative slack keeps a device enlarged to exactly W_max (EnlargeSize)
        // from folding on a rounding difference (NeuroSim: such a device is one finger)
        if (w <= wmax * (1.0 + 1e-9)) {
            d.folds = 1;
            d.unit_region_width = 2.0 * g.cpp_m;
            d.unit_drain_width = gap;
            d.unit_source_width = gap;
            d.drain_height = w;
        } else {  // folding: n = ceil(W / W_max), region (n+1) CPP
            const int f = static_cast<int>(std::ceil(w / wmax));
            d.unit_region_width = (f + 1) * g.cpp_m;
            fill_folded(d, f, gap);
            d.drain_height = wmax;
        }
    };
    one(wp, max_p, g.p);
    one(wn, max_n, g.n);
    return g;
}

GateLayout advanced_layout(const Technology& tech, double wn, double wp, double height) {
    const double F = tech.feature_size_m();
    GateLayout g;
    g.height = height;
    g.cpp_m = tech.cpp_F() * F;
    const double gap = tech.gate_gap_F() * F;  // CPP_node - POLY_WIDTH_node
    const double nfin_n = wn / (2.0 * F), nfin_p = wp / (2.0 * F);
    const double ratio = nfin_p / (nfin_p + nfin_n);
    const bool gaa = tech.is_gaa();

    // Fin / sheet-stack budget per device type.
    int max_each;
    if (is_standard_height(tech, height)) {
        max_each = gaa ? tech.max_fin_per_gaa() : tech.max_fin_num();
    } else {  // "special layout": fins that fit in the requested height (tables file 3.2)
        max_each = static_cast<int>(std::floor(
            (height - tech.pn_gap_F() * F - tech.outer_height_region_F() * F + tech.fin_pitch_m()) / 2.0 /
            (tech.fin_width_m() + tech.fin_pitch_m())));
    }
    const int budget = 2 * max_each;
    int max_p = 0, max_n = 0;
    if (ratio == 0.0) {
        max_n = budget;
    } else if (ratio == 1.0) {
        max_p = budget;
    } else if (gaa) {
        max_p = max_n = tech.max_fin_per_gaa();  // NeuroSim: one stack per type in mixed GAA gates
    } else {
        // P/N split of 2*maxFins by the width ratio, truncated, at least one fin each.
        if (ratio > 0.5) {
            max_n = static_cast<int>(budget * (1.0 - ratio));
            max_p = budget - max_n;
        } else {
            max_p = static_cast<int>(budget * ratio);
            max_n = budget - max_p;
        }
        if (max_p == 0) { max_p = 1; max_n = budget - 1; }
        if (max_n == 0) { max_n = 1; max_p = budget - 1; }
    }
    const EngineQuirks& q = tech.quirks();
    auto one = [&](double w, int fmax, double drain_gap, DeviceLayout& d) {
        const int nfin = tech.fin_count(w);
        if (nfin <= 0) return;
        if (fmax <= 0)
            bad_value("height_m", fmt_double(height), "a cell height that fits at least one fin/sheet per device");
        d.present = true;
        if (nfin <= fmax) {
            d.folds = 1;
            d.unit_region_width = 2.0 * g.cpp_m;
            d.unit_drain_width = drain_gap;
            d.unit_source_width = drain_gap;
            d.drain_height = nfin * tech.fin_width_m();
        } else {
            // Ours: the true ceiling (a 5-fin device with 4 fins per finger needs 2 fingers).
            // NeuroSim (quirk fin_fold_count_floor) computes ceil(int/int) = floor(nfin / fmax).
            const int f = q.fin_fold_count_floor ? nfin / fmax : (nfin + fmax - 1) / fmax;
            d.unit_region_width = (f + 1) * g.cpp_m;
            fill_folded(d, f, drain_gap);
            d.drain_height = fmax * tech.fin_width_m();
        }
    };
    // Ours: the per-node gap for both devices. NeuroSim's GAA NMOS drain and source use the
    // generic FinFET gap MIN_GAP_BET_GATE_POLY_FINFET = 3.9 F (quirk gaa_nmos_drain_generic_gap).
    const double gap_n = (gaa && q.gaa_nmos_drain_generic_gap) ? kGapGatePolyFinfet * F : gap;
    one(wp, max_p, gap, g.p);
    one(wn, max_n, gap_n, g.n);
    return g;
}

GateLayout gate_layout(const Technology& tech, double wn, double wp, double height) {
    require_positive("height_m", height);
    return tech.is_planar() ? planar_layout(tech, wn, wp, height) : advanced_layout(tech, wn, wp, height);
}

// Output (drain junction) capacitance of a gate from its layout (NeuroSim CalculateGateCapacitance).
double output_cap(const Technology& tech, GateType type, int n_in, const GateLayout& g) {
    const DeviceLayout& P = g.p;
    const DeviceLayout& N = g.n;
    double wdp = 0, wdn = 0, swp = 0, swn = 0;
    auto side = [](int folds) { return 1 + (folds + 1) % 2; };     // drain sidewalls per finger group
    auto src_side = [](int folds) { return 1 - (folds + 1) % 2; }; // source sidewalls
    const bool unfolded = (P.folds == 1 && N.folds == 1);
    switch (type) {
        case GateType::INV:
            if (P.present) { wdp = P.unit_drain_width; swp = 2 * wdp + P.drain_height * side(P.folds); }
            if (N.present) {
                // Ours: the NMOS fold count. NeuroSim (quirk inv_nmos_sidewall_pmos_folds) takes
                // the PMOS one (1 when there is no PMOS).
                const int folds = tech.quirks().inv_nmos_sidewall_pmos_folds ? P.folds : N.folds;
                wdn = N.unit_drain_width;
                swn = 2 * wdn + N.drain_height * side(folds);
            }
            break;
        case GateType::NOR:
            if (unfolded) {
                if (P.present) { wdp = P.unit_drain_width * n_in; swp = 2 * wdp + P.drain_height; }
                if (N.present) {
                    wdn = N.unit_drain_width * std::floor((n_in + 1) / 2.0);  // parallel NMOS share drains
                    swn = 2 * wdn + N.drain_height * (1 - (n_in + 1) % 2);
                }
            } else {
                if (P.present) {  // series PMOS: count the internal sources too
                    wdp = P.unit_drain_width * n_in + (n_in - 1) * P.unit_source_width;
                    swp = 2 * wdp + P.drain_height * side(P.folds) * n_in +
                          P.drain_height * src_side(P.folds) * (n_in - 1);
                }
                if (N.present) { wdn = N.unit_drain_width * n_in; swn = 2 * wdn + N.drain_height * side(N.folds) * n_in; }
            }
            break;
        case GateType::NAND:
            if (unfolded) {
                if (P.present) {
                    wdp = P.unit_drain_width * std::floor((n_in + 1) / 2.0);  // parallel PMOS share drains
                    swp = 2 * wdp + P.drain_height * (1 - (n_in + 1) % 2);
                }
                if (N.present) { wdn = N.unit_drain_width * n_in; swn = 2 * wdn + N.drain_height; }
            } else {
                if (P.present) { wdp = P.unit_drain_width * n_in; swp = 2 * wdp + P.drain_height * side(P.folds) * n_in; }
                if (N.present) {  // series NMOS: count the internal sources too
                    wdn = N.unit_drain_width * n_in + (n_in - 1) * N.unit_source_width;
                    swn = 2 * wdn + N.drain_height * side(N.folds) * n_in +
                          N.drain_height * src_side(N.folds) * (n_in - 1);
                }
            }
            break;
    }
    // Bottom junction + sidewall + drain-to-channel (tables file 1.4); <= 14 nm: bottom only.
    const double bottom = (wdn * N.drain_height + wdp * P.drain_height) * tech.cap_junction();
    if (!tech.is_planar()) return bottom;
    const double sidewall = (swn + swp) * tech.cap_sidewall();
    const double d2ch = (N.folds * N.drain_height + P.folds * P.drain_height) * tech.cap_drain_to_channel();
    return bottom + sidewall + d2ch;
}

double gate_cap_raw(const Technology& tech, double width_m) {
    // NeuroSim CalculateGateCap: (C_ideal + C_overlap + C_fringe) W_eff + L_g C_polywire.
    return (tech.cap_ideal_gate() + tech.cap_overlap() + tech.cap_fringe()) * tech.effective_width(width_m) +
           tech.gate_length_m() * tech.cap_polywire();
}

double on_resistance_raw(const Technology& tech, double width_m, DeviceType type, bool mult) {
    // NeuroSim CalculateOnResistance(_normal): R = k_Reff Vdd / (I_on(T) W_eff).
    const double k = mult ? tech.effective_resistance_multiplier() : 1.0;
    return k * tech.vdd_V() / (tech.current_on(type) * tech.effective_width(width_m));
}

double leakage_raw(const Technology& tech, GateType type, int n_in, double wn, double wp) {
    // NeuroSim CalculateGateLeakage (CACTI averaging factors for stacked devices).
    const double ln = tech.effective_width(wn) * tech.current_off_nmos();
    const double lp = tech.effective_width(wp) * tech.current_off_pmos();
    switch (type) {
        case GateType::INV: return (ln + lp) / 2.0;
        case GateType::NOR: return ln * n_in * (n_in == 2 ? consts::kAvgLeak2Nor : consts::kAvgLeak3Nor);
        case GateType::NAND: return lp * n_in * (n_in == 2 ? consts::kAvgLeak2Nand : consts::kAvgLeak3Nand);
    }
    return 0.0;
}

GateGeometry area_from_layout(GateType type, int n_in, const GateLayout& g) {
    // NeuroSim CalculateGateArea: NAND/NOR without folding share diffusion between inputs.
    double wr_p = g.p.unit_region_width, wr_n = g.n.unit_region_width;
    if (type != GateType::INV) {
        if (g.p.folds == 1 && g.n.folds == 1) {
            wr_p = wr_p * n_in - (n_in - 1) * g.cpp_m;
            wr_n = wr_n * n_in - (n_in - 1) * g.cpp_m;
        } else {
            wr_p *= n_in;
            wr_n *= n_in;
        }
    }
    GateGeometry out;
    out.width_m = std::max(wr_n, wr_p);
    out.height_m = g.height;  // fixed standard-cell height
    out.area_m2 = out.width_m * out.height_m;
    return out;
}

}  // namespace

double gate_cap(const Technology& tech, double width_m) {
    require_positive("width_m", width_m);
    return gate_cap_raw(tech, width_m);
}

GateGeometry gate_area(const Technology& tech, GateType type, int num_input, double width_n_m,
                       double width_p_m, double height_m) {
    check_num_input(num_input);
    check_gate_widths(width_n_m, width_p_m);
    return area_from_layout(type, num_input, gate_layout(tech, width_n_m, width_p_m, height_m));
}

std::pair<double, double> gate_capacitance(const Technology& tech, GateType type, int num_input,
                                           double width_n_m, double width_p_m, double height_m) {
    check_num_input(num_input);
    check_gate_widths(width_n_m, width_p_m);
    const GateLayout g = gate_layout(tech, width_n_m, width_p_m, height_m);
    const double cin = gate_cap_raw(tech, width_n_m) + gate_cap_raw(tech, width_p_m);
    return {cin, output_cap(tech, type, num_input, g)};
}

double drain_cap(const Technology& tech, double width_m, DeviceType type, double height_m) {
    // NeuroSim CalculateDrainCap: output cap of an INV holding only that device.
    require_positive("width_m", width_m);
    const double wn = type == DeviceType::NMOS ? width_m : 0.0;
    const double wp = type == DeviceType::PMOS ? width_m : 0.0;
    return output_cap(tech, GateType::INV, 1, gate_layout(tech, wn, wp, height_m));
}

double on_resistance(const Technology& tech, double width_m, DeviceType type, bool include_multiplier) {
    require_positive("width_m", width_m);
    return on_resistance_raw(tech, width_m, type, include_multiplier);
}

double transconductance(const Technology& tech, double width_m, DeviceType type) {
    require_positive("width_m", width_m);
    if (tech.is_planar()) {
        // NeuroSim CalculateTransconductance (>= 22 nm): g_m = 2 I_gm W / (0.7 Vdd - Vth).
        const double igm = type == DeviceType::NMOS ? tech.current_gm_nmos() : tech.current_gm_pmos();
        return 2.0 * igm * width_m / (0.7 * tech.vdd_V() - tech.vth_V());
    }
    // <= 14 nm: g_m = gm_oncurrent x W_eff (ours, and NeuroSim V1.4 for GAA). NeuroSim's FinFET
    // rule (quirk finfet_gm_fin_geometry, tables file 7.9) takes 2 h_fin + w_fin per fin, with
    // h_fin unset (0) at 5 and 3 nm; equal to the tabulated W_eff per fin at 14, 10, 7 nm.
    if (tech.device_kind() == DeviceKind::FINFET && tech.quirks().finfet_gm_fin_geometry)
        return tech.gm_oncurrent() * tech.fin_count(width_m) *
               (2.0 * tech.fin_height_m() + tech.fin_width_m());
    return tech.gm_oncurrent() * tech.effective_width(width_m);
}

double gate_leakage(const Technology& tech, GateType type, int num_input, double width_n_m,
                    double width_p_m) {
    check_num_input(num_input);
    check_gate_widths(width_n_m, width_p_m);
    return leakage_raw(tech, type, num_input, width_n_m, width_p_m);
}

std::pair<double, double> horowitz(double tau_s, double /*beta*/, double ramp_input) {
    // CACTI Horowitz delay as used by NeuroSim: alpha = 1/(ramp_in tau), v_s = 0.5, beta forced to 0.5;
    // t = tau sqrt(ln(v_s)^2 + 2 alpha beta (1 - v_s)), ramp_out = (1 - v_s)/t.
    require_non_negative("tau_s", tau_s);
    require_positive("ramp_input", ramp_input);
    if (tau_s == 0.0) return {0.0, 1e20};  // ours: a zero-RC stage passes a step (NeuroSim gives NaN)
    constexpr double vs = 0.5, beta = 0.5;
    const double alpha = 1.0 / (ramp_input * tau_s);
    const double t = tau_s * std::sqrt(std::log(vs) * std::log(vs) + 2.0 * alpha * beta * (1.0 - vs));
    return {t, (1.0 - vs) / t};
}

GateGeometry pass_gate_area(const Technology& tech, double width_n_m, double width_p_m, int num_fold) {
    check_gate_widths(width_n_m, width_p_m);
    if (num_fold < 1) bad_value("num_fold", std::to_string(num_fold), "an integer >= 1 (1 = no folding)");
    const double F = tech.feature_size_m();
    GateGeometry g;
    if (tech.is_planar()) {
        // NeuroSim CalculatePassGateArea (bulk): width (n+1) CPP; height Wp/n + Wn/n + P-N gap + 2 ends.
        g.width_m = (num_fold + 1) * (kPolyWidth + kGapGatePoly) * F;
        g.height_m = width_p_m / num_fold + width_n_m / num_fold + kGapPN * F + 2.0 * kOuterRegionPerSide * F;
    } else {
        // FinFET/GAA: fins per finger ceil(ceil(W/2F)/n); region height (n_fin-1) pitch + w_fin per type,
        // + P-N gap + outer region (x2 FinFET, x1 GAA as in NeuroSim). A missing device adds no
        // height (ours; NeuroSim's rule would give -pitch + w_fin).
        g.width_m = (num_fold + 1) * tech.cpp_F() * F;
        auto region = [&](double w) {
            const int total = tech.fin_count(w);
            if (total <= 0) return 0.0;
            const int per = (total + num_fold - 1) / num_fold;
            return (per - 1) * tech.fin_pitch_m() + tech.fin_width_m();
        };
        const double outer = (tech.is_gaa() ? 1.0 : 2.0) * tech.outer_height_region_F() * F;
        g.height_m = region(width_p_m) + region(width_n_m) + tech.pn_gap_F() * F + outer;
    }
    g.area_m2 = g.width_m * g.height_m;
    return g;
}

std::pair<double, double> enlarge_size(const Technology& tech, double width_n_m, double width_p_m,
                                       double height_m) {
    // NeuroSim EnlargeSize: grow minimum-size devices to the largest width that fits the same layout.
    check_gate_widths(width_n_m, width_p_m);
    require_positive("height_m", height_m);
    double wn = width_n_m, wp = width_p_m;
    const double F = tech.feature_size_m();
    const double ratio = wp / (wp + wn);
    if (tech.is_planar()) {
        const double ends = 2.0 * kOuterRegionPerSide * F;
        double max_p = 0, max_n = 0;
        if (ratio == 0.0) max_n = height_m - ends;
        else if (ratio == 1.0) max_p = height_m - ends;
        else {
            max_p = ratio * (height_m - kGapPN * F - ends);
            max_n = max_p / ratio * (1.0 - ratio);
        }
        if (ratio == 0.0 && wn < max_n) wn = max_n;
        else if (ratio == 1.0 && wp < max_p) wp = max_p;
        else if (wp > 0 && wp < max_p && wn > 0 && wn < max_n) { wp = max_p; wn = max_n; }
        return {wn, wp};
    }
    int np = tech.fin_count(wp), nn = tech.fin_count(wn);
    if (!tech.is_gaa()) {
        const int maxf = tech.max_fin_num();  // NeuroSim uses the unsplit per-device maximum here
        auto is_int = [](double x) { return std::fabs(x - std::round(x)) < 1e-9; };
        if (ratio == 0.0 && nn <= maxf) { nn = maxf; wn = nn * 2.0 * F; }
        else if (ratio == 1.0 && np <= maxf) { np = maxf; wp = np * 2.0 * F; }
        else if (np > 0 && np <= maxf && nn > 0 && nn <= maxf) {
            if (ratio >= 0.5) {
                const double x = maxf / ratio * (1.0 - ratio);
                if (is_int(x)) { nn = static_cast<int>(std::round(x)); np = maxf; }  // only whole fins
            } else {
                const double x = maxf / (1.0 - ratio) * ratio;
                if (is_int(x)) { np = static_cast<int>(std::round(x)); nn = maxf; }
            }
            wn = nn * 2.0 * F;
            wp = np * 2.0 * F;
        }
        return {wn, wp};
    }
    // GAA: single-type devices grow to 2 stacks, mixed gates stay at 1 stack each (NeuroSim V1.4).
    if (ratio == 0.0 && nn <= 2) { nn = 2; wn = nn * 2.0 * F; }
    else if (ratio == 1.0 && np <= 2) { np = 2; wp = np * 2.0 * F; }
    else if (np == 1 && nn == 1) { wn = 2.0 * F; wp = 2.0 * F; }
    return {wn, wp};
}

namespace {

struct InvElectrical {
    double wn, wp, cin, cout, res, h, w;
};

// Repeater INV of size s (in units of the min INV W_min / pn W_min) at the standard cell height.
InvElectrical repeater_inv(const Technology& tech, double s) {
    InvElectrical e{};
    e.wn = s * tech.min_nmos_width_m();
    e.wp = s * tech.pn_size_ratio() * tech.min_nmos_width_m();
    const GateLayout g = gate_layout(tech, e.wn, e.wp, tech.standard_cell_height_m());
    const GateGeometry geo = area_from_layout(GateType::INV, 1, g);
    e.h = geo.height_m;
    e.w = geo.width_m;
    e.cin = gate_cap_raw(tech, e.wn) + gate_cap_raw(tech, e.wp);
    e.cout = output_cap(tech, GateType::INV, 1, g);
    // NeuroSim V1.4 (Bus/HTree/XYBus): repeater resistance = mean of the N and P on-resistances.
    e.res = (on_resistance_raw(tech, e.wn, DeviceType::NMOS, true) +
             on_resistance_raw(tech, e.wp, DeviceType::PMOS, true)) / 2.0;
    return e;
}

// CACTI/NeuroSim repeated-wire delay per length: 0.7 [R (Cin + Cout + c l) + 0.54 r c l^2 + r l Cin] / l.
double delay_per_length(double res, double cin, double cout, double r, double c, double l) {
    return 0.7 * (res * (cin + cout + c * l) + 0.54 * r * l * c * l + r * l * cin) / l;
}

}  // namespace

RepeaterDesign repeated_wire(const Technology& tech, double r, double c, double delay_tolerance,
                             const std::string& size_step) {
    require_positive("unit_resistance_ohm_per_m", r);
    require_positive("unit_capacitance_F_per_m", c);
    require_non_negative("delay_tolerance", delay_tolerance);
    bool halve;
    if (size_step == "halve") halve = true;
    else if (size_step == "decrement") halve = false;
    else bad_value("size_step", "'" + size_step + "'", "'halve' (H-tree, X-Y bus), 'decrement' (PE bus)");

    // Speed-optimal design from the minimum INV (NeuroSim Bus/HTree/XYBus Initialize, CACTI):
    // S = floor(sqrt(R_min c / (C_in,min r))), l = sqrt(2 R_min (C_out,min + C_in,min) / (r c)).
    const InvElectrical m = repeater_inv(tech, 1.0);
    double size = std::floor(std::sqrt(m.res * c / (m.cin * r)));
    // Ours: a wire so resistive that S < 1 keeps the minimum INV (NeuroSim would divide by 0).
    if (size < 1.0) size = 1.0;
    double spacing = std::sqrt(2.0 * m.res * (m.cout + m.cin) / (r * c));
    InvElectrical rep = repeater_inv(tech, size);
    const double min_delay = delay_per_length(rep.res, rep.cin, rep.cout, r, c, spacing);

    RepeaterDesign d;
    // Delay-tolerance trade-off: shrink the repeater (halve or -1) and spacing x0.9 until the delay
    // reaches (1 + tol) x optimum; the first design at or beyond that bound is kept (NeuroSim V1.4).
    if (delay_tolerance > 0.0) {
        double delay = 0.0;
        const double target = min_delay * (1.0 + delay_tolerance);
        while (delay < target && d.iterations < 10000) {
            if (!halve && size < 1.0) break;  // Bus loop condition: size >= 1
            size = halve ? size / 2.0 : size - 1.0;
            spacing *= 0.9;
            ++d.iterations;
            if (size <= 0.0) break;  // a size-0 repeater has infinite delay: stop here
            const InvElectrical t = repeater_inv(tech, size);
            delay = delay_per_length(t.res, t.cin, t.cout, r, c, spacing);
        }
    }
    // The built repeater is at least the minimum INV: widths use max(1, S) (NeuroSim).
    const double built = std::max(1.0, size);
    rep = repeater_inv(tech, built);
    const double vdd = tech.vdd_V();
    d.repeater_size = built;
    d.spacing_m = spacing;
    d.min_delay_s_per_m = min_delay;
    d.delay_s_per_m = delay_per_length(rep.res, rep.cin, rep.cout, r, c, spacing);
    // Energy per length per transition: (C_in + C_out + c l) Vdd^2 / l x 0.5 (NeuroSim 1.4 CalculatePower).
    d.energy_J_per_m = (rep.cin + rep.cout + c * spacing) * vdd * vdd / spacing * 0.5;
    // Leakage per length: INV leakage current x Vdd / l (NeuroSim CalculatePower).
    d.leakage_W_per_m = leakage_raw(tech, GateType::INV, 1, rep.wn, rep.wp) * vdd / spacing;
    d.repeater_width_n_m = rep.wn;
    d.repeater_width_p_m = rep.wp;
    d.repeater_height_m = rep.h;
    d.repeater_layout_width_m = rep.w;
    d.repeater_area_m2 = rep.h * rep.w;
    d.repeater_cap_input_F = rep.cin;
    d.repeater_cap_output_F = rep.cout;
    d.repeater_resistance_ohm = rep.res;
    d.unit_resistance_ohm_per_m = r;
    d.unit_capacitance_F_per_m = c;
    d.wire_delay_s_per_m = 0.7 * r * spacing * c * spacing / spacing;  // NeuroSim unitLatencyWire
    d.wire_energy_J_per_m = c * vdd * vdd * 0.5;
    return d;
}

double repeated_wire_delay(const RepeaterDesign& d, double r, double c) {
    require_positive("unit_resistance_ohm_per_m", r);
    require_positive("unit_capacitance_F_per_m", c);
    return delay_per_length(d.repeater_resistance_ohm, d.repeater_cap_input_F, d.repeater_cap_output_F, r, c,
                            d.spacing_m);
}

}  // namespace fns
