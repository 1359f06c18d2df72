#pragma once

// Status and utility endpoints of the Prometheus HTTP API:
//   /api/v1/status/config, /api/v1/status/runtimeinfo, /api/v1/status/walreplay,
//   /api/v1/format_query, /api/v1/query_exemplars.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/http/http.h"

namespace pharos::api {

struct RuntimeInfo {
  int64_t start_time_ms = 0;
  std::string cwd;
  bool reload_config_success = true;
  int64_t last_config_time_ms = 0;
  std::string storage_retention;  // e.g. "30d"
};

struct StatusApiOptions {
  std::function<std::string()> config_yaml;      // the config in force, as loaded
  std::function<RuntimeInfo()> runtime_info;
  std::function<bool()> storage_ready;
};

void RegisterStatusApi(http::Router& router, const StatusApiOptions& options);

// The YAML with the values of secret fields (password, credentials, bearer_token, ...)
// replaced by "<secret>", as Prometheus shows its config.
std::string MaskSecrets(const std::string& yaml);

}  // namespace pharos::api
