#pragma once

// Prometheus's duration and byte-size notations.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pharos {

// Durations as Prometheus writes them: "1y2w3d4h5m6s7ms" with units in that order, each at
// most once; "0" alone is allowed. y = 365d, w = 7d. Returns milliseconds.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view s);
// The inverse, in the same canonical form Prometheus prints ("1h30m", "0s", "1d", "15s").
std::string FormatDurationMs(int64_t ms);

// Byte sizes with base-2 units as Prometheus's units.Base2Bytes: B, KB, MB, GB, TB, PB, EB
// (also KiB, MiB, ...); "0" alone is allowed.
absl::StatusOr<int64_t> ParseBytes(std::string_view s);

// Go's time.Time.Format(time.RFC3339Nano) of a UTC time in ms: "2024-01-02T03:04:05.123Z",
// trailing zeros of the fraction dropped; 0 is Go's zero time "0001-01-01T00:00:00Z".
std::string FormatRfc3339NanoMs(int64_t ms);
// go-openapi's strfmt.DateTime (Alertmanager API v2): always 3 fraction digits,
// "2024-01-02T03:04:05.000Z"; 0 is "0001-01-01T00:00:00.000Z".
std::string FormatRfc3339MillisMs(int64_t ms);
// RFC 3339 with optional fraction and any offset ("2024-01-02T03:04:05.123456789+02:00"), to
// ms (fraction truncated). Go's zero time parses as 0.
absl::StatusOr<int64_t> ParseRfc3339Ms(std::string_view s);

}  // namespace pharos
