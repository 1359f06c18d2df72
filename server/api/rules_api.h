#pragma once

// Rule endpoints of the Prometheus HTTP API, in Prometheus's shapes:
//   /api/v1/rules   groups with their rules, health and alerts; filters type=alert|record,
//                   rule_name[], rule_group[], file[]
//   /api/v1/alerts  every pending or firing alert

#include <functional>
#include <string>

#include "common/logging.h"
#include "server/http/http.h"

namespace pharos::alerting::rules {
class Manager;
}

namespace pharos::api {

struct RulesApiOptions {
  // Returns the rule manager, or nullptr until it exists (requests then get 503).
  std::function<alerting::rules::Manager*()> manager;  // required
  LoggerPtr log;                                       // required
};

void RegisterRulesApi(http::Router& router, const RulesApiOptions& options);

// Go's strconv.FormatFloat(v, 'e', -1, 64), as the alerts' "value": "2e+00", "1.5e-07",
// "+Inf", "NaN".
std::string FormatAlertValue(double v);

}  // namespace pharos::api
