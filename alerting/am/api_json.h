#pragma once

// Alertmanager API v2 alert JSON: the `postableAlerts` body Prometheus sends to
// POST /api/v2/alerts, in both directions (Pharos receives it, and sends it to external
// Alertmanagers).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/types.h"

namespace pharos::alerting::am {

struct DecodedAlerts {
  std::vector<Alert> alerts;        // the valid ones
  std::vector<std::string> errors;  // one per invalid alert, naming it
};

// Parses a JSON array of alerts. A body that is not such an array is an InvalidArgument error;
// individual invalid alerts (no labels, bad label names, endsAt before startsAt) are reported
// in `errors` while the valid ones are kept, as Alertmanager does. Times: startsAt defaults to
// endsAt or else `now_ms`; a missing endsAt stays 0 (the alert store applies resolve_timeout).
absl::StatusOr<DecodedAlerts> DecodePostableAlerts(std::string_view json, int64_t now_ms);

// The JSON array for POST /api/v2/alerts (times as go-openapi date-times; endsAt and
// generatorURL omitted when unset).
std::string EncodePostableAlerts(const std::vector<Alert>& alerts);

}  // namespace pharos::alerting::am
