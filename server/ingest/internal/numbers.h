#pragma once

// Number syntax shared by the exposition parsers (internal).

#include <cstdint>
#include <string>
#include <string_view>

namespace pharos::ingest::internal {

// Go's strconv.ParseFloat(s, 64) restricted as Prometheus's textparse does (no hex floats, no
// 'p' exponents, no '_' separators): [+-]digits[.digits][(e|E)[+-]digits], ".5", "5.",
// case-insensitive [+-]Inf / [+-]Infinity / NaN. False on bad syntax or overflow to ±Inf;
// underflow rounds to 0 or a subnormal as Go does.
bool ParseGoFloat(std::string_view s, double* out);

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no overflow.
bool ParseInt64(std::string_view s, int64_t* out);

// Appends v as Prometheus's formatOpenMetricsFloat does: Go 'g' shortest form, with ".0" added
// when the result has neither '.' nor 'e' (1 -> "1.0"); "+Inf", "-Inf", "NaN".
void AppendOpenMetricsFloat(std::string* out, double v);

}  // namespace pharos::ingest::internal
