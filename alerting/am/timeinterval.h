#pragma once

// Alertmanager's time intervals (timeinterval.TimeInterval.ContainsTime) and the route-level
// rules built on them (notify.TimeMuteStage / TimeActiveStage).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"

namespace pharos::alerting::am {

// Whether the instant `unix_ms` falls inside `spec`, evaluated in spec.location (wall-clock
// hours, day of month, month, weekday, year there). An empty field places no restriction.
// An unknown location (not possible after config validation) counts as UTC.
bool Contains(const TimeIntervalSpec& spec, int64_t unix_ms);

// Whether any interval of the named entry contains `unix_ms`.
bool Contains(const NamedTimeInterval& interval, int64_t unix_ms);

// Whether any of `names` (looked up in `defs`) is active at `unix_ms`. NotFound names an
// undefined interval (config validation rules this out for routes).
absl::StatusOr<bool> AnyActive(const std::vector<NamedTimeInterval>& defs,
                               const std::vector<std::string>& names, int64_t unix_ms);

// Whether notifications of a route with these interval lists are muted at `unix_ms`: inside any
// of `mute`, or `active` is non-empty and none of it is active (Alertmanager's semantics).
absl::StatusOr<bool> MutedAt(const std::vector<NamedTimeInterval>& defs,
                             const std::vector<std::string>& mute,
                             const std::vector<std::string>& active, int64_t unix_ms);

}  // namespace pharos::alerting::am
