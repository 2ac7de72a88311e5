// Input validation helpers: every bad input throws std::invalid_argument (pybind11 -> ValueError)
// with a message naming the parameter, the value and what is allowed.
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fns {

inline std::string fmt_double(double v) {
    std::ostringstream os;
    os.precision(10);
    os << v;
    return os.str();
}

[[noreturn]] inline void bad_value(const std::string& name, const std::string& value,
                                   const std::string& allowed) {
    throw std::invalid_argument(name + "=" + value + " is not supported; allowed: " + allowed);
}

inline void require_positive(const char* name, double v) {
    if (!(v > 0.0) || !std::isfinite(v))
        bad_value(name, fmt_double(v), "a finite value > 0");
}

inline void require_non_negative(const char* name, double v) {
    if (!(v >= 0.0) || !std::isfinite(v))
        bad_value(name, fmt_double(v), "a finite value >= 0");
}

}  // namespace fns
