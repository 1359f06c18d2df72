#pragma once

// Metadata read endpoints of the Prometheus HTTP API that need only storage:
//   /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values, /api/v1/status/tsdb.

#include <functional>

#include "common/logging.h"
#include "server/http/http.h"

namespace pharos::storage {
class DB;
}

namespace pharos::api {

struct ReadApiOptions {
  // Returns the store, or nullptr while it is still recovering (requests then get 503).
  std::function<storage::DB*()> db;  // required
  LoggerPtr log;                     // required
};

void RegisterReadApi(http::Router& router, const ReadApiOptions& options);

}  // namespace pharos::api
