#include "server/flags.h"

#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/units.h"

namespace pharos {

namespace {

enum class Kind { kString, kBool, kDuration, kBytes, kInt };

struct FlagDef {
  const char* name;
  Kind kind;
  const char* help;
  std::function<absl::Status(Flags&, const std::string&)> set;
  std::function<std::string(const Flags&)> get;
};

absl::Status ParseBoolText(const std::string& name, const std::string& v, bool* out) {
  if (v == "true" || v == "1") *out = true;
  else if (v == "false" || v == "0") *out = false;
  else return absl::InvalidArgumentError(absl::StrCat("--", name, ": expected true or false, got \"", v, "\""));
  return absl::OkStatus();
}

#define PHAROS_STRING_FLAG(NAME, FIELD, HELP)                                        \
  FlagDef {                                                                          \
    NAME, Kind::kString, HELP,                                                       \
        [](Flags& f, const std::string& v) { f.FIELD = v; return absl::OkStatus(); }, \
        [](const Flags& f) { return f.FIELD; }                                       \
  }
#define PHAROS_BOOL_FLAG(NAME, FIELD, HELP)                                                    \
  FlagDef {                                                                                    \
    NAME, Kind::kBool, HELP,                                                                   \
        [](Flags& f, const std::string& v) { return ParseBoolText(NAME, v, &f.FIELD); },       \
        [](const Flags& f) { return std::string(f.FIELD ? "true" : "false"); }                \
  }
#define PHAROS_DURATION_FLAG(NAME, FIELD, HELP)                                        \
  FlagDef {                                                                            \
    NAME, Kind::kDuration, HELP,                                                       \
        [](Flags& f, const std::string& v) -> absl::Status {                           \
          auto d = ParseDurationMs(v);                                                 \
          if (!d.ok()) return absl::InvalidArgumentError(                              \
              absl::StrCat("--", NAME, ": ", d.status().message()));                   \
          f.FIELD = *d;                                                                \
          return absl::OkStatus();                                                     \
        },                                                                             \
        [](const Flags& f) { return FormatDurationMs(f.FIELD); }                       \
  }
#define PHAROS_BYTES_FLAG(NAME, FIELD, HELP)                                           \
  FlagDef {                                                                            \
    NAME, Kind::kBytes, HELP,                                                          \
        [](Flags& f, const std::string& v) -> absl::Status {                           \
          auto b = ParseBytes(v);                                                      \
          if (!b.ok()) return absl::InvalidArgumentError(                              \
              absl::StrCat("--", NAME, ": ", b.status().message()));                   \
          f.FIELD = *b;                                                                \
          return absl::OkStatus();                                                     \
        },                                                                             \
        [](const Flags& f) { return absl::StrCat(f.FIELD, "B"); }                      \
  }

const std::vector<FlagDef>& Defs() {
  static const auto* defs = new std::vector<FlagDef>{
      PHAROS_STRING_FLAG("config.file", config_file,
                         "Configuration file path. Default: the embedded default config."),
      PHAROS_STRING_FLAG("web.listen-address", listen_address,
                         "Address to listen on for the UI, API and telemetry. Default: 0.0.0.0:9090."),
      PHAROS_BOOL_FLAG("web.enable-lifecycle", enable_lifecycle,
                       "Enable shutdown and reload via HTTP request (/-/quit, /-/reload). Default: false."),
      PHAROS_DURATION_FLAG("web.read-timeout", read_timeout_ms,
                           "Maximum duration before timing out read of the request, and idle "
                           "keep-alive time. Default: 5m."),
      PHAROS_BYTES_FLAG("web.max-request-size", max_request_bytes,
                        "Largest accepted HTTP request body; larger requests get 413. Default: 64MB."),
      FlagDef{"web.io-threads", Kind::kInt,
              "HTTP I/O threads. Default: 0 (one per core).",
              [](Flags& f, const std::string& v) -> absl::Status {
                if (!absl::SimpleAtoi(v, &f.io_threads) || f.io_threads < 0) {
                  return absl::InvalidArgumentError(
                      absl::StrCat("--web.io-threads: expected a non-negative integer, got \"", v, "\""));
                }
                return absl::OkStatus();
              },
              [](const Flags& f) { return absl::StrCat(f.io_threads); }},
      PHAROS_STRING_FLAG("web.external-url", external_url,
                         "The URL under which Pharos is externally reachable (used in alert "
                         "generator URLs). Default: derived from the listen address."),
      PHAROS_STRING_FLAG("storage.path", storage_path, "Base path for metrics storage. Default: data/."),
      PHAROS_DURATION_FLAG("storage.retention.time", retention_time_ms,
                           "How long to retain samples in storage. Default: 30d."),
      PHAROS_BYTES_FLAG("storage.retention.size", retention_size_bytes,
                        "Maximum number of bytes of storage blocks to retain (B, KB, MB, GB, TB, "
                        "PB, EB). Default: 0 (no limit)."),
      PHAROS_STRING_FLAG("storage.wal-sync", wal_sync,
                         "When an acknowledged write is durable: batch (written to the OS "
                         "before the ack: survives a crash of Pharos) or always (fsynced "
                         "before the ack, group-committed: survives power loss). Default: batch."),
      PHAROS_DURATION_FLAG("query.timeout", query_timeout_ms,
                           "Maximum time a query may take before being aborted. Default: 2m."),
      FlagDef{"query.max-concurrency", Kind::kInt,
              "Maximum number of queries executed concurrently. Default: 20.",
              [](Flags& f, const std::string& v) -> absl::Status {
                if (!absl::SimpleAtoi(v, &f.query_max_concurrency) || f.query_max_concurrency < 1) {
                  return absl::InvalidArgumentError(absl::StrCat(
                      "--query.max-concurrency: expected a positive integer, got \"", v, "\""));
                }
                return absl::OkStatus();
              },
              [](const Flags& f) { return absl::StrCat(f.query_max_concurrency); }},
      FlagDef{"query.max-samples", Kind::kInt,
              "Maximum number of samples a single query can load into memory. Default: 50000000.",
              [](Flags& f, const std::string& v) -> absl::Status {
                if (!absl::SimpleAtoi(v, &f.query_max_samples) || f.query_max_samples < 1) {
                  return absl::InvalidArgumentError(absl::StrCat(
                      "--query.max-samples: expected a positive integer, got \"", v, "\""));
                }
                return absl::OkStatus();
              },
              [](const Flags& f) { return absl::StrCat(f.query_max_samples); }},
      PHAROS_DURATION_FLAG("query.lookback-delta", query_lookback_delta_ms,
                           "How far back an instant selector looks for the latest sample. "
                           "Default: 5m."),
      PHAROS_DURATION_FLAG("rules.alert.for-outage-tolerance", rules_for_outage_tolerance_ms,
                           "Max time to tolerate Pharos outage for restoring \"for\" state of "
                           "alerts. Default: 1h."),
      PHAROS_DURATION_FLAG("rules.alert.for-grace-period", rules_for_grace_period_ms,
                           "Minimum duration between alert and restored \"for\" state. This is "
                           "maintained only for alerts with configured \"for\" time greater "
                           "than the grace period. Default: 10m."),
      PHAROS_DURATION_FLAG("rules.alert.resend-delay", rules_resend_delay_ms,
                           "Minimum amount of time to wait before resending an alert to "
                           "Alertmanager. Default: 1m."),
      PHAROS_STRING_FLAG("enable-feature", enable_features,
                         "Comma-separated experimental features: promql-experimental-functions, "
                         "promql-delayed-name-removal. Default: none."),
      PHAROS_STRING_FLAG("log.level", log_level,
                         "Only log messages with the given severity or above: debug, info, warn, "
                         "error. Default: info."),
      PHAROS_STRING_FLAG("log.format", log_format,
                         "Output format of log messages: logfmt, json. Default: logfmt."),
  };
  return *defs;
}

const FlagDef* Find(const std::string& name) {
  for (const auto& d : Defs()) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

}  // namespace

std::map<std::string, std::string> Flags::AsMap() const {
  std::map<std::string, std::string> m;
  for (const auto& d : Defs()) m[d.name] = d.get(*this);
  return m;
}

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      f.show_help = true;
      continue;
    }
    if (a == "--version") {
      f.show_version = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", a, "\" (see --help)"));
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagDef* def = Find(name);
    if (!def && !has_value && name.rfind("no-", 0) == 0) {
      const FlagDef* neg = Find(name.substr(3));
      if (neg && neg->kind == Kind::kBool) {
        PHAROS_RETURN_IF_ERROR(neg->set(f, "false"));
        f.explicitly_set[neg->name] = true;
        continue;
      }
    }
    if (!def) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    if (!has_value) {
      if (def->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": expected a value"));
      }
    }
    PHAROS_RETURN_IF_ERROR(def->set(f, value));
    f.explicitly_set[def->name] = true;
  }
  return f;
}

std::string FlagsHelp() {
  std::string out =
      "usage: pharos [<flags>]\n"
      "       pharos check config <file>...\n\n"
      "Pharos: metrics, alerting and monitoring server.\n\nFlags:\n"
      "  -h, --help                  Show this help.\n"
      "      --version               Show version information.\n";
  for (const auto& d : Defs()) {
    std::string flag = absl::StrCat("--", d.kind == Kind::kBool ? "[no-]" : "", d.name);
    if (d.kind != Kind::kBool) absl::StrAppend(&flag, "=", d.kind == Kind::kDuration ? "DURATION" : d.kind == Kind::kBytes ? "SIZE" : d.kind == Kind::kInt ? "N" : "VALUE");
    absl::StrAppend(&out, absl::StrFormat("      %-40s %s\n", flag, d.help));
  }
  return out;
}

}  // namespace pharos
