#pragma once

// /api/v1/query and /api/v1/query_range: PromQL over the store, in Prometheus's JSON shapes.
// They run on the HTTP server's query pool, whose size bounds the queries evaluated at once
// (--query.max-concurrency); further queries wait their turn there, and writes never wait
// behind them.

#include <functional>

#include "common/logging.h"
#include "server/http/http.h"

namespace pharos {
class Registry;
namespace promql {
class Engine;
}
namespace storage {
class Queryable;
}
}  // namespace pharos

namespace pharos::api {

struct QueryApiOptions {
  const promql::Engine* engine = nullptr;            // required
  std::function<storage::Queryable*()> storage;      // nullptr while recovering -> 503
  Registry* registry = nullptr;                      // required
  LoggerPtr log;                                     // required
  // A range query may produce at most this many steps per series.
  int64_t max_points_per_series = 11000;
  // Clock for the default evaluation time, ms since the epoch.
  std::function<int64_t()> now_ms;
};

void RegisterQueryApi(http::Router& router, const QueryApiOptions& options);

}  // namespace pharos::api
