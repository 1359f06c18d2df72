#pragma once

// Pharos's configuration file: Prometheus's layout (global, scrape_configs, rule_files,
// alerting) plus a `storage` section. Plain structs with in-class defaults; every field
// documents its default. LoadConfig parses and validates everything; unknown keys and wrong
// types are errors naming the file, line, column and key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"

namespace pharos::config {

struct RelabelConfig {
  std::vector<std::string> source_labels;  // default: none
  std::string separator = ";";
  std::string target_label;                // default: none
  std::string regex = "(.*)";              // fully anchored when applied
  uint64_t modulus = 0;
  std::string replacement = "$1";
  // replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep,
  // lowercase, uppercase. Default: replace.
  std::string action = "replace";

  friend bool operator==(const RelabelConfig&, const RelabelConfig&) = default;
};

struct BasicAuth {
  std::string username;
  std::string password;
  std::string password_file;

  friend bool operator==(const BasicAuth&, const BasicAuth&) = default;
};

struct Authorization {
  std::string type = "Bearer";
  std::string credentials;
  std::string credentials_file;

  friend bool operator==(const Authorization&, const Authorization&) = default;
};

struct TlsConfig {
  std::string ca_file, cert_file, key_file, server_name;
  bool insecure_skip_verify = false;

  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// Client settings shared by scrape configs and Alertmanager targets.
struct HttpClientConfig {
  std::optional<BasicAuth> basic_auth;
  std::optional<Authorization> authorization;  // `bearer_token(_file)` are folded in here
  std::string bearer_token, bearer_token_file;  // deprecated Prometheus forms, as read
  TlsConfig tls_config;
  bool follow_redirects = true;
  bool enable_http2 = true;

  friend bool operator==(const HttpClientConfig&, const HttpClientConfig&) = default;
};

struct StaticConfig {
  std::vector<std::string> targets;
  std::map<std::string, std::string> labels;

  friend bool operator==(const StaticConfig&, const StaticConfig&) = default;
};

struct FileSdConfig {
  std::vector<std::string> files;  // globs of JSON or YAML target files
  int64_t refresh_interval_ms = 5 * 60 * 1000;  // default 5m

  friend bool operator==(const FileSdConfig&, const FileSdConfig&) = default;
};

struct ScrapeConfig {
  std::string job_name;                       // required, unique
  int64_t scrape_interval_ms = 0;             // default: global.scrape_interval
  int64_t scrape_timeout_ms = 0;              // default: global.scrape_timeout (capped by interval)
  std::string metrics_path = "/metrics";
  std::string scheme = "http";                // http or https
  std::map<std::string, std::vector<std::string>> params;
  bool honor_labels = false;
  bool honor_timestamps = true;
  HttpClientConfig http;
  uint64_t sample_limit = 0;                  // 0: no limit
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  int64_t body_size_limit = 0;                // bytes; 0: no limit
  std::vector<StaticConfig> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs;
  std::vector<RelabelConfig> metric_relabel_configs;

  friend bool operator==(const ScrapeConfig&, const ScrapeConfig&) = default;
};

struct AlertmanagerConfig {
  std::string scheme = "http";
  std::string path_prefix = "/";
  int64_t timeout_ms = 10 * 1000;   // default 10s
  std::string api_version = "v2";   // only v2 exists in current Alertmanager
  HttpClientConfig http;
  std::vector<StaticConfig> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs;
};

struct AlertingConfig {
  std::vector<RelabelConfig> alert_relabel_configs;
  std::vector<AlertmanagerConfig> alertmanagers;
};

struct GlobalConfig {
  int64_t scrape_interval_ms = 60 * 1000;       // default 1m (as Prometheus)
  int64_t scrape_timeout_ms = 10 * 1000;        // default 10s
  int64_t evaluation_interval_ms = 60 * 1000;   // default 1m
  std::map<std::string, std::string> external_labels;
  uint64_t sample_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  int64_t body_size_limit = 0;
};

struct StorageConfig {
  std::string path;                // default: --storage.path ("data/")
  int64_t retention_time_ms = 0;   // default: --storage.retention.time (30d)
  int64_t retention_size_bytes = 0;  // default: --storage.retention.size (0: no size limit)
};

// The built-in Alertmanager-compatible router: its config (Alertmanager's alertmanager.yml
// format) inline under `alertmanager: config:`, or in a file named by
// `alertmanager: config_file:` (relative to this config's directory). Without either, alerts
// are kept and shown by the API but sent nowhere.
struct BuiltinAlertmanagerConfig {
  std::string config_file;                       // as written
  std::optional<alerting::am::Config> config;    // parsed (inline or from config_file)
};

struct Config {
  GlobalConfig global;
  std::vector<std::string> rule_files;  // globs, relative to the config file's directory
  std::vector<ScrapeConfig> scrape_configs;
  AlertingConfig alerting;
  StorageConfig storage;
  BuiltinAlertmanagerConfig alertmanager;

  std::string source;  // file name, or "<default>" for the embedded config
  std::string text;    // the YAML as loaded
};

// Parses YAML text; `source` names it in errors ("pharos.yml:12:3: ...").
absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view source);
// Reads and parses a file.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The embedded default config (deploy/pharos.default.yml), its self-scrape target set to
// `self_target` (host:port of this server).
std::string DefaultConfigText(std::string_view self_target);

}  // namespace pharos::config
