#pragma once

// Command-line flags, named as Prometheus names them where Prometheus has the flag.
// `--name=value` or `--name value`; boolean flags also take `--no-name` (kingpin style).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos {

struct Flags {
  std::string config_file;                  // --config.file; empty: embedded default config
  std::string listen_address = "0.0.0.0:9090";  // --web.listen-address
  bool enable_lifecycle = false;            // --web.enable-lifecycle: /-/reload and /-/quit
  int64_t read_timeout_ms = 5 * 60 * 1000;  // --web.read-timeout (5m)
  int64_t max_request_bytes = 64ll << 20;   // --web.max-request-size (64MB)
  int io_threads = 0;                       // --web.io-threads (0: one per core)
  std::string external_url;                 // --web.external-url
  std::string storage_path = "data/";       // --storage.path
  int64_t retention_time_ms = 30ll * 24 * 3600 * 1000;  // --storage.retention.time (30d)
  int64_t retention_size_bytes = 0;         // --storage.retention.size (0: unlimited)
  std::string wal_sync = "batch";           // --storage.wal-sync: batch, always
  int64_t query_timeout_ms = 2 * 60 * 1000;    // --query.timeout (2m)
  int query_max_concurrency = 20;              // --query.max-concurrency
  int64_t query_max_samples = 50'000'000;      // --query.max-samples
  int64_t query_lookback_delta_ms = 5 * 60 * 1000;  // --query.lookback-delta (5m)
  int64_t rules_for_outage_tolerance_ms = 3600 * 1000;  // --rules.alert.for-outage-tolerance (1h)
  int64_t rules_for_grace_period_ms = 600 * 1000;       // --rules.alert.for-grace-period (10m)
  int64_t rules_resend_delay_ms = 60 * 1000;            // --rules.alert.resend-delay (1m)
  std::string enable_features;                 // --enable-feature: comma-separated
  std::string log_level = "info";           // --log.level: debug, info, warn, error
  std::string log_format = "logfmt";        // --log.format: logfmt, json
  bool show_version = false;                // --version
  bool show_help = false;                   // --help, -h

  // Which flags were given explicitly (they take precedence over the config file).
  std::map<std::string, bool> explicitly_set;
  bool IsSet(const std::string& name) const { return explicitly_set.count(name) > 0; }

  // Every flag and its current value, for /api/v1/status/flags.
  std::map<std::string, std::string> AsMap() const;
};

// Parses `args` (without argv[0]). Positional arguments are an error.
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsHelp();

}  // namespace pharos
