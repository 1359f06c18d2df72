#pragma once

// Alertmanager API v2 on Pharos's built-in router, the subset existing tools use (amtool,
// Grafana's Alertmanager data source, Prometheus sending alerts):
//   POST /api/v2/alerts, GET /api/v2/alerts, GET /api/v2/alerts/groups,
//   GET/POST /api/v2/silences, GET/DELETE /api/v2/silence/{id},
//   GET /api/v2/status, GET /api/v2/receivers.
// Shapes and status codes follow Alertmanager 0.25's OpenAPI spec; error bodies are JSON
// strings, as go-openapi writes them.

#include <functional>

#include "server/http/http.h"

namespace pharos::alerting::am {
class Router;
}

namespace pharos::api {

struct AlertmanagerApiOptions {
  // Returns the router, or null while it is not ready (answers 503).
  std::function<alerting::am::Router*()> router;
  // Milliseconds since the epoch (tests may fix it).
  std::function<int64_t()> now_ms;
};

void RegisterAlertmanagerApi(http::Router& router, const AlertmanagerApiOptions& opts);

}  // namespace pharos::api
