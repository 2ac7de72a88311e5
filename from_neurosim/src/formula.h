// Device-level formulas (NeuroSim V1.4 formula.cpp equations, CACTI Horowitz / repeater models),
// re-written as pure functions of an explicit Technology.
#pragma once

#include <string>
#include <utility>

#include "technology.h"

namespace fns {

struct GateGeometry {
    double height_m = 0;
    double width_m = 0;
    double area_m2 = 0;
};

struct RepeaterDesign {
    double repeater_size = 0;        // size actually built, in units of the min INV (>= 1)
    double spacing_m = 0;            // repeater spacing
    double delay_s_per_m = 0;        // with the chosen (tolerance-relaxed) design
    double energy_J_per_m = 0;       // per bit transition, incl. NeuroSim's x0.5 (callers x toggle)
    double leakage_W_per_m = 0;      // per wire (bit)
    double min_delay_s_per_m = 0;    // speed-optimal design (before the tolerance loop)
    double repeater_width_n_m = 0;
    double repeater_width_p_m = 0;
    double repeater_area_m2 = 0;
    double repeater_height_m = 0;    // layout height of one repeater INV
    double repeater_layout_width_m = 0;  // layout width of one repeater INV
    double repeater_cap_input_F = 0;
    double repeater_cap_output_F = 0;
    double repeater_resistance_ohm = 0;  // mean of N and P on-resistances
    double unit_resistance_ohm_per_m = 0;
    double unit_capacitance_F_per_m = 0;
    double wire_delay_s_per_m = 0;   // NeuroSim's unrepeated-wire figure 0.7 r c l (per length)
    double wire_energy_J_per_m = 0;  // unrepeated: 0.5 c Vdd^2
    int iterations = 0;              // tolerance-loop steps taken
};

double gate_cap(const Technology& tech, double width_m);
GateGeometry gate_area(const Technology& tech, GateType type, int num_input, double width_n_m,
                       double width_p_m, double height_m);
std::pair<double, double> gate_capacitance(const Technology& tech, GateType type, int num_input,
                                           double width_n_m, double width_p_m, double height_m);
double drain_cap(const Technology& tech, double width_m, DeviceType type, double height_m);
double on_resistance(const Technology& tech, double width_m, DeviceType type,
                     bool include_multiplier = true);
double transconductance(const Technology& tech, double width_m, DeviceType type);
double gate_leakage(const Technology& tech, GateType type, int num_input, double width_n_m,
                    double width_p_m);
std::pair<double, double> horowitz(double tau_s, double beta, double ramp_input);
GateGeometry pass_gate_area(const Technology& tech, double width_n_m, double width_p_m,
                            int num_fold);
std::pair<double, double> enlarge_size(const Technology& tech, double width_n_m, double width_p_m,
                                       double height_m);
RepeaterDesign repeated_wire(const Technology& tech, double unit_resistance_ohm_per_m,
                             double unit_capacitance_F_per_m, double delay_tolerance = 0.0,
                             const std::string& size_step = "halve");
// Delay per length of an existing repeater design on a wire with other r/c (e.g. a widened
// H-tree segment): 0.7 [R (Cin + Cout + c l) + 0.54 r c l^2 + r l Cin] / l.
double repeated_wire_delay(const RepeaterDesign& design, double unit_resistance_ohm_per_m,
                           double unit_capacitance_F_per_m);

}  // namespace fns
