#pragma once

// Scrape-related endpoints of the Prometheus HTTP API:
//   /api/v1/targets           active and dropped targets (state, scrapePool params)
//   /api/v1/targets/metadata  per-target metric metadata (match_target, metric, limit)
//   /api/v1/metadata          metadata per metric name (metric, limit, limit_per_metric)

#include <functional>

#include "common/logging.h"
#include "server/http/http.h"

namespace pharos::scrape {
class ScrapeManager;
}

namespace pharos::api {

struct TargetsApiOptions {
  // Returns the manager, or nullptr until it exists (requests then get 503).
  std::function<scrape::ScrapeManager*()> manager;  // required
  LoggerPtr log;                                    // required
};

void RegisterTargetsApi(http::Router& router, const TargetsApiOptions& options);


}  // namespace pharos::api
