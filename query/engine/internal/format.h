#pragma once

// Go-compatible float formatting used in labels and messages (engine-internal).

#include <string>

namespace pharos::promql::internal {

// strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent;
// "+Inf", "-Inf", "NaN".
std::string FormatFloatF(double v);
// fmt's %g for a float64 (shortest digits; exponent form when exp < -4 || exp >= 6, as Go).
std::string FormatFloatG(double v);

}  // namespace pharos::promql::internal
