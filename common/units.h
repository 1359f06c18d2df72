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

}  // namespace pharos
