#include "server/config/config.h"

#include <cerrno>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/yaml_decoder.h"
#include "re2/re2.h"
#include "storage/labels/labels.h"
#include "yaml-cpp/yaml.h"

namespace pharos::config {

extern const char kDefaultConfigTemplate[];  // generated from deploy/pharos.default.yml

namespace {

using yaml::Decoder;
using yaml::IsValidUtf8;

absl::Status DecodeRelabel(const Decoder& d, const YAML::Node& n, RelabelConfig* r) {
  PHAROS_RETURN_IF_ERROR(d.Map(n, "relabel config", {
      {"source_labels", [&](const YAML::Node& v) { return d.StringList(v, "source_labels", &r->source_labels); }},
      {"separator", [&](const YAML::Node& v) { return d.Scalar(v, "separator", &r->separator); }},
      {"target_label", [&](const YAML::Node& v) { return d.Scalar(v, "target_label", &r->target_label); }},
      {"regex", [&](const YAML::Node& v) { return d.Scalar(v, "regex", &r->regex); }},
      {"modulus", [&](const YAML::Node& v) { return d.Uint(v, "modulus", &r->modulus); }},
      {"replacement", [&](const YAML::Node& v) { return d.Scalar(v, "replacement", &r->replacement); }},
      {"action", [&](const YAML::Node& v) { return d.Scalar(v, "action", &r->action); }},
  }));
  // Validation as Prometheus's relabel.Config does it.
  static const std::set<std::string> kActions = {
      "replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap",
      "labeldrop", "labelkeep", "lowercase", "uppercase"};
  if (r->action.empty()) return d.Err(n, "relabel action cannot be empty");
  if (!kActions.count(r->action)) {
    return d.Err(n, absl::StrCat("unknown relabel action \"", r->action, "\""));
  }
  RE2 re(absl::StrCat("^(?:", r->regex, ")$"));
  if (!re.ok()) {
    return d.Err(n, absl::StrCat("invalid regular expression \"", r->regex, "\": ", re.error()));
  }
  const std::string& a = r->action;
  if (a == "hashmod" && r->modulus == 0) {
    return d.Err(n, "relabel configuration for hashmod requires non-zero modulus");
  }
  if ((a == "replace" || a == "hashmod" || a == "lowercase" || a == "uppercase" ||
       a == "keepequal" || a == "dropequal") &&
      r->target_label.empty()) {
    return d.Err(n, absl::StrCat("relabel configuration for ", a,
                                 " action requires 'target_label' value"));
  }
  if ((a == "lowercase" || a == "uppercase" || a == "hashmod") &&
      !IsValidLegacyLabelName(r->target_label)) {
    return d.Err(n, absl::StrCat("\"", r->target_label, "\" is invalid 'target_label' for ", a,
                                 " action"));
  }
  if ((a == "lowercase" || a == "uppercase") && r->replacement != "$1") {
    return d.Err(n, absl::StrCat("'replacement' can not be set for ", a, " action"));
  }
  if (a == "labeldrop" || a == "labelkeep") {
    if (!r->source_labels.empty() || !r->target_label.empty() || r->modulus != 0 ||
        r->separator != ";" || r->replacement != "$1") {
      return d.Err(n, absl::StrCat(a, " action requires only 'regex', and no other fields"));
    }
  }
  if (a == "keepequal" || a == "dropequal") {
    if (r->modulus != 0 || r->separator != ";" || r->replacement != "$1" ||
        r->regex != "(.*)") {
      return d.Err(n, absl::StrCat(a,
                                   " action requires only 'source_labels' and `target_label`, "
                                   "and no other fields"));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeHttpFields(const Decoder& d, HttpClientConfig* h,
                              std::map<std::string, Decoder::FieldFn>* fields) {
  (*fields)["basic_auth"] = [&d, h](const YAML::Node& v) {
    h->basic_auth.emplace();
    BasicAuth* b = &*h->basic_auth;
    PHAROS_RETURN_IF_ERROR(d.Map(v, "basic_auth", {
        {"username", [&](const YAML::Node& x) { return d.Scalar(x, "username", &b->username); }},
        {"password", [&](const YAML::Node& x) { return d.Scalar(x, "password", &b->password); }},
        {"password_file", [&](const YAML::Node& x) { return d.Scalar(x, "password_file", &b->password_file); }},
    }));
    if (!b->password.empty() && !b->password_file.empty()) {
      return d.Err(v, "at most one of basic_auth password & password_file must be configured");
    }
    return absl::OkStatus();
  };
  (*fields)["authorization"] = [&d, h](const YAML::Node& v) {
    h->authorization.emplace();
    Authorization* a = &*h->authorization;
    PHAROS_RETURN_IF_ERROR(d.Map(v, "authorization", {
        {"type", [&](const YAML::Node& x) { return d.Scalar(x, "type", &a->type); }},
        {"credentials", [&](const YAML::Node& x) { return d.Scalar(x, "credentials", &a->credentials); }},
        {"credentials_file", [&](const YAML::Node& x) { return d.Scalar(x, "credentials_file", &a->credentials_file); }},
    }));
    if (absl::EqualsIgnoreCase(a->type, "basic")) {
      return d.Err(v, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
    }
    if (!a->credentials.empty() && !a->credentials_file.empty()) {
      return d.Err(v, "at most one of authorization credentials & credentials_file must be configured");
    }
    return absl::OkStatus();
  };
  (*fields)["bearer_token"] = [&d, h](const YAML::Node& v) {
    return d.Scalar(v, "bearer_token", &h->bearer_token);
  };
  (*fields)["bearer_token_file"] = [&d, h](const YAML::Node& v) {
    return d.Scalar(v, "bearer_token_file", &h->bearer_token_file);
  };
  (*fields)["tls_config"] = [&d, h](const YAML::Node& v) {
    TlsConfig* t = &h->tls_config;
    return d.Map(v, "tls_config", {
        {"ca_file", [&](const YAML::Node& x) { return d.Scalar(x, "ca_file", &t->ca_file); }},
        {"cert_file", [&](const YAML::Node& x) { return d.Scalar(x, "cert_file", &t->cert_file); }},
        {"key_file", [&](const YAML::Node& x) { return d.Scalar(x, "key_file", &t->key_file); }},
        {"server_name", [&](const YAML::Node& x) { return d.Scalar(x, "server_name", &t->server_name); }},
        {"insecure_skip_verify", [&](const YAML::Node& x) { return d.Bool(x, "insecure_skip_verify", &t->insecure_skip_verify); }},
    });
  };
  (*fields)["follow_redirects"] = [&d, h](const YAML::Node& v) {
    return d.Bool(v, "follow_redirects", &h->follow_redirects);
  };
  (*fields)["enable_http2"] = [&d, h](const YAML::Node& v) {
    return d.Bool(v, "enable_http2", &h->enable_http2);
  };
  return absl::OkStatus();
}

// Prometheus's HTTPClientConfig.Validate, then the deprecated bearer_token(_file) fields
// folded into `authorization`.
absl::Status ValidateHttp(const Decoder& d, const YAML::Node& n, HttpClientConfig* h) {
  bool bearer = !h->bearer_token.empty() || !h->bearer_token_file.empty();
  if (!h->bearer_token.empty() && !h->bearer_token_file.empty()) {
    return d.Err(n, "at most one of bearer_token & bearer_token_file must be configured");
  }
  if (h->basic_auth && bearer) {
    return d.Err(n, "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must "
                    "be configured");
  }
  if (h->authorization && bearer) {
    return d.Err(n, "authorization is not compatible with bearer_token & bearer_token_file");
  }
  if (h->basic_auth && h->authorization) {
    return d.Err(n, "at most one of basic_auth, oauth2 & authorization must be configured");
  }
  if (bearer) {
    h->authorization.emplace();
    h->authorization->credentials = h->bearer_token;
    h->authorization->credentials_file = h->bearer_token_file;
  }
  return absl::OkStatus();
}

absl::Status DecodeStatic(const Decoder& d, const YAML::Node& n, StaticConfig* s) {
  if (!n || n.IsNull()) return d.Err(n, "empty or null section in static_configs");
  PHAROS_RETURN_IF_ERROR(d.Map(n, "static_config", {
      {"targets", [&](const YAML::Node& v) { return d.StringList(v, "targets", &s->targets); }},
      {"labels", [&](const YAML::Node& v) { return d.StringMap(v, "labels", &s->labels); }},
  }));
  for (const auto& t : s->targets) {
    if (t.find('/') != std::string::npos) {
      return d.Err(n, absl::StrCat("\"", t, "\" is not a valid hostname"));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeFileSd(const Decoder& d, const YAML::Node& n, FileSdConfig* f) {
  PHAROS_RETURN_IF_ERROR(d.Map(n, "file_sd_config", {
      {"files", [&](const YAML::Node& v) { return d.StringList(v, "files", &f->files); }},
      {"refresh_interval", [&](const YAML::Node& v) { return d.Duration(v, "refresh_interval", &f->refresh_interval_ms); }},
  }));
  for (const auto& file : f->files) {
    if (!absl::EndsWith(file, ".json") && !absl::EndsWith(file, ".yml") &&
        !absl::EndsWith(file, ".yaml")) {
      return d.Err(n, absl::StrCat("file_sd_configs: invalid file extension in \"", file,
                                   "\" (expected .json, .yml or .yaml)"));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeScrape(const Decoder& d, const YAML::Node& n, const GlobalConfig& g,
                          ScrapeConfig* s) {
  std::map<std::string, Decoder::FieldFn> f = {
      {"job_name", [&](const YAML::Node& v) { return d.Scalar(v, "job_name", &s->job_name); }},
      {"scrape_interval", [&](const YAML::Node& v) { return d.Duration(v, "scrape_interval", &s->scrape_interval_ms); }},
      {"scrape_timeout", [&](const YAML::Node& v) { return d.Duration(v, "scrape_timeout", &s->scrape_timeout_ms); }},
      {"metrics_path", [&](const YAML::Node& v) { return d.Scalar(v, "metrics_path", &s->metrics_path); }},
      {"scheme", [&](const YAML::Node& v) { return d.Scalar(v, "scheme", &s->scheme); }},
      {"params", [&](const YAML::Node& v) -> absl::Status {
         if (v.IsNull()) return absl::OkStatus();
         if (!v.IsMap()) return d.Err(v, "\"params\" must be a mapping of string lists");
         for (const auto& kv : v) {
           std::vector<std::string> vals;
           PHAROS_RETURN_IF_ERROR(d.StringList(kv.second, "params", &vals));
           s->params[kv.first.Scalar()] = std::move(vals);
         }
         return absl::OkStatus();
       }},
      {"honor_labels", [&](const YAML::Node& v) { return d.Bool(v, "honor_labels", &s->honor_labels); }},
      {"honor_timestamps", [&](const YAML::Node& v) { return d.Bool(v, "honor_timestamps", &s->honor_timestamps); }},
      {"sample_limit", [&](const YAML::Node& v) { return d.Uint(v, "sample_limit", &s->sample_limit); }},
      {"label_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_limit", &s->label_limit); }},
      {"label_name_length_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_name_length_limit", &s->label_name_length_limit); }},
      {"label_value_length_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_value_length_limit", &s->label_value_length_limit); }},
      {"body_size_limit", [&](const YAML::Node& v) { return d.Bytes(v, "body_size_limit", &s->body_size_limit); }},
      {"static_configs", [&](const YAML::Node& v) {
         return d.List<StaticConfig>(v, "static_configs", &s->static_configs,
                                     [&](const YAML::Node& i, StaticConfig* o) { return DecodeStatic(d, i, o); });
       }},
      {"file_sd_configs", [&](const YAML::Node& v) {
         return d.List<FileSdConfig>(v, "file_sd_configs", &s->file_sd_configs,
                                     [&](const YAML::Node& i, FileSdConfig* o) { return DecodeFileSd(d, i, o); });
       }},
      {"relabel_configs", [&](const YAML::Node& v) {
         return d.List<RelabelConfig>(v, "relabel_configs", &s->relabel_configs,
                                      [&](const YAML::Node& i, RelabelConfig* o) { return DecodeRelabel(d, i, o); });
       }},
      {"metric_relabel_configs", [&](const YAML::Node& v) {
         return d.List<RelabelConfig>(v, "metric_relabel_configs", &s->metric_relabel_configs,
                                      [&](const YAML::Node& i, RelabelConfig* o) { return DecodeRelabel(d, i, o); });
       }},
  };
  PHAROS_RETURN_IF_ERROR(DecodeHttpFields(d, &s->http, &f));
  PHAROS_RETURN_IF_ERROR(d.Map(n, "scrape_config", f));
  PHAROS_RETURN_IF_ERROR(ValidateHttp(d, n, &s->http));

  if (s->job_name.empty()) return d.Err(n, "job_name is empty");
  if (s->scheme != "http" && s->scheme != "https") {
    return d.Err(n, absl::StrCat("scheme \"", s->scheme, "\" not supported (http, https)"));
  }
  if (s->metrics_path.empty() || s->metrics_path[0] != '/') {
    return d.Err(n, absl::StrCat("metrics_path \"", s->metrics_path, "\" must start with /"));
  }
  // Defaults from global, as Prometheus applies them.
  if (s->scrape_interval_ms == 0) s->scrape_interval_ms = g.scrape_interval_ms;
  if (s->scrape_timeout_ms == 0) {
    s->scrape_timeout_ms = std::min(g.scrape_timeout_ms, s->scrape_interval_ms);
  }
  if (s->scrape_timeout_ms > s->scrape_interval_ms) {
    return d.Err(n, absl::StrCat("scrape timeout greater than scrape interval for scrape config "
                                 "with job name \"", s->job_name, "\""));
  }
  if (s->sample_limit == 0) s->sample_limit = g.sample_limit;
  if (s->label_limit == 0) s->label_limit = g.label_limit;
  if (s->label_name_length_limit == 0) s->label_name_length_limit = g.label_name_length_limit;
  if (s->label_value_length_limit == 0) s->label_value_length_limit = g.label_value_length_limit;
  if (s->body_size_limit == 0) s->body_size_limit = g.body_size_limit;
  return absl::OkStatus();
}

absl::Status DecodeAlertmanager(const Decoder& d, const YAML::Node& n, AlertmanagerConfig* a) {
  std::map<std::string, Decoder::FieldFn> f = {
      {"scheme", [&](const YAML::Node& v) { return d.Scalar(v, "scheme", &a->scheme); }},
      {"path_prefix", [&](const YAML::Node& v) { return d.Scalar(v, "path_prefix", &a->path_prefix); }},
      {"timeout", [&](const YAML::Node& v) { return d.Duration(v, "timeout", &a->timeout_ms); }},
      {"api_version", [&](const YAML::Node& v) { return d.Scalar(v, "api_version", &a->api_version); }},
      {"static_configs", [&](const YAML::Node& v) {
         return d.List<StaticConfig>(v, "static_configs", &a->static_configs,
                                     [&](const YAML::Node& i, StaticConfig* o) { return DecodeStatic(d, i, o); });
       }},
      {"file_sd_configs", [&](const YAML::Node& v) {
         return d.List<FileSdConfig>(v, "file_sd_configs", &a->file_sd_configs,
                                     [&](const YAML::Node& i, FileSdConfig* o) { return DecodeFileSd(d, i, o); });
       }},
      {"relabel_configs", [&](const YAML::Node& v) {
         return d.List<RelabelConfig>(v, "relabel_configs", &a->relabel_configs,
                                      [&](const YAML::Node& i, RelabelConfig* o) { return DecodeRelabel(d, i, o); });
       }},
  };
  PHAROS_RETURN_IF_ERROR(DecodeHttpFields(d, &a->http, &f));
  PHAROS_RETURN_IF_ERROR(d.Map(n, "alertmanager config", f));
  PHAROS_RETURN_IF_ERROR(ValidateHttp(d, n, &a->http));
  if (a->api_version != "v2") {
    return d.Err(n, absl::StrCat("unsupported Alertmanager api_version \"", a->api_version,
                                 "\" (v2)"));
  }
  if (a->scheme != "http" && a->scheme != "https") {
    return d.Err(n, absl::StrCat("scheme \"", a->scheme, "\" not supported (http, https)"));
  }
  return absl::OkStatus();
}

absl::Status DecodeConfig(const Decoder& d, const YAML::Node& root, Config* c) {
  if (!root || root.IsNull()) return absl::OkStatus();  // an empty file is a valid config
  if (!root.IsMap()) return d.Err(root, "config must be a mapping");
  // global first: scrape configs take their defaults from it, whatever the key order.
  GlobalConfig& g = c->global;
  if (root["global"]) {
    const YAML::Node gn = root["global"];
    PHAROS_RETURN_IF_ERROR(d.Map(gn, "global", {
        {"scrape_interval", [&](const YAML::Node& v) { return d.Duration(v, "scrape_interval", &g.scrape_interval_ms); }},
        {"scrape_timeout", [&](const YAML::Node& v) { return d.Duration(v, "scrape_timeout", &g.scrape_timeout_ms); }},
        {"evaluation_interval", [&](const YAML::Node& v) { return d.Duration(v, "evaluation_interval", &g.evaluation_interval_ms); }},
        {"external_labels", [&](const YAML::Node& v) -> absl::Status {
           PHAROS_RETURN_IF_ERROR(d.StringMap(v, "external_labels", &g.external_labels));
           for (const auto& [k, val] : g.external_labels) {
             if (k.empty() || k.rfind("__", 0) == 0) {
               return d.Err(v, absl::StrCat("invalid external label name \"", k, "\""));
             }
           }
           return absl::OkStatus();
         }},
        {"sample_limit", [&](const YAML::Node& v) { return d.Uint(v, "sample_limit", &g.sample_limit); }},
        {"label_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_limit", &g.label_limit); }},
        {"label_name_length_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_name_length_limit", &g.label_name_length_limit); }},
        {"label_value_length_limit", [&](const YAML::Node& v) { return d.Uint(v, "label_value_length_limit", &g.label_value_length_limit); }},
        {"body_size_limit", [&](const YAML::Node& v) { return d.Bytes(v, "body_size_limit", &g.body_size_limit); }},
    }));
    if (g.scrape_interval_ms <= 0) return d.Err(gn, "global scrape_interval must be positive");
    if (g.evaluation_interval_ms <= 0) {
      return d.Err(gn, "global evaluation_interval must be positive");
    }
    if (g.scrape_timeout_ms > g.scrape_interval_ms) {
      if (gn["scrape_timeout"]) {
        return d.Err(gn, "global scrape timeout greater than scrape interval");
      }
      g.scrape_timeout_ms = g.scrape_interval_ms;  // default timeout shrinks to fit
    }
  }
  std::set<std::string> jobs;
  return d.Map(root, "config", {
      {"global", [](const YAML::Node&) { return absl::OkStatus(); }},
      {"rule_files", [&](const YAML::Node& v) -> absl::Status {
         PHAROS_RETURN_IF_ERROR(d.StringList(v, "rule_files", &c->rule_files));
         // As Prometheus: wildcards only in the last path element.
         const RE2 kRulePath(R"(^[^*]*(\*[^/]*)?$)");
         for (const auto& f : c->rule_files) {
           if (!RE2::FullMatch(f, kRulePath)) {
             return d.Err(v, absl::StrCat("invalid rule file path \"", f, "\""));
           }
         }
         return absl::OkStatus();
       }},
      {"scrape_configs", [&](const YAML::Node& v) -> absl::Status {
         if (v.IsNull()) return absl::OkStatus();
         if (!v.IsSequence()) return d.Err(v, "\"scrape_configs\" must be a list");
         for (const auto& item : v) {
           ScrapeConfig s;
           PHAROS_RETURN_IF_ERROR(DecodeScrape(d, item, g, &s));
           if (!jobs.insert(s.job_name).second) {
             return d.Err(item, absl::StrCat("found multiple scrape configs with job name \"",
                                             s.job_name, "\""));
           }
           c->scrape_configs.push_back(std::move(s));
         }
         return absl::OkStatus();
       }},
      {"alerting", [&](const YAML::Node& v) {
         AlertingConfig* a = &c->alerting;
         return d.Map(v, "alerting", {
             {"alert_relabel_configs", [&](const YAML::Node& x) {
                return d.List<RelabelConfig>(x, "alert_relabel_configs", &a->alert_relabel_configs,
                                             [&](const YAML::Node& i, RelabelConfig* o) { return DecodeRelabel(d, i, o); });
              }},
             {"alertmanagers", [&](const YAML::Node& x) {
                return d.List<AlertmanagerConfig>(x, "alertmanagers", &a->alertmanagers,
                                                  [&](const YAML::Node& i, AlertmanagerConfig* o) { return DecodeAlertmanager(d, i, o); });
              }},
         });
       }},
      {"alertmanager", [&](const YAML::Node& v) -> absl::Status {
         BuiltinAlertmanagerConfig* a = &c->alertmanager;
         bool has_inline = false;
         PHAROS_RETURN_IF_ERROR(d.Map(v, "alertmanager", {
             {"config_file", [&](const YAML::Node& x) { return d.Scalar(x, "config_file", &a->config_file); }},
             {"config", [&](const YAML::Node& x) -> absl::Status {
                if (!x.IsNull() && !x.IsMap()) return d.Err(x, "alertmanager config must be a mapping");
                has_inline = true;
                return absl::OkStatus();
              }},
         }));
         if (has_inline && !a->config_file.empty()) {
           return d.Err(v, "at most one of alertmanager config & config_file must be configured");
         }
         if (has_inline) {
           PHAROS_ASSIGN_OR_RETURN(a->config, alerting::am::ParseConfigAt(
                                                  c->text, c->source, {"alertmanager", "config"}));
         }
         return absl::OkStatus();
       }},
      {"storage", [&](const YAML::Node& v) {
         StorageConfig* s = &c->storage;
         return d.Map(v, "storage", {
             {"path", [&](const YAML::Node& x) { return d.Scalar(x, "path", &s->path); }},
             {"retention", [&](const YAML::Node& x) {
                return d.Map(x, "storage.retention", {
                    {"time", [&](const YAML::Node& y) { return d.Duration(y, "time", &s->retention_time_ms); }},
                    {"size", [&](const YAML::Node& y) { return d.Bytes(y, "size", &s->retention_size_bytes); }},
                });
              }},
         });
       }},
  });
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml_sv, std::string_view source_sv) {
  absl::string_view yaml = Av(yaml_sv), source = Av(source_sv);
  Config c;
  c.source = std::string(source);
  c.text = std::string(yaml);
  Decoder d(source);
  PHAROS_RETURN_IF_ERROR(yaml::LoadAndDecode(
      d, c.text, [&](const YAML::Node& root) { return DecodeConfig(d, root, &c); }));
  return c;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: ",
                                            std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  PHAROS_ASSIGN_OR_RETURN(Config c, ParseConfig(ss.str(), path));
  if (!c.alertmanager.config_file.empty()) {
    std::filesystem::path am = c.alertmanager.config_file;
    if (am.is_relative()) am = std::filesystem::path(path).parent_path() / am;
    PHAROS_ASSIGN_OR_RETURN(c.alertmanager.config, alerting::am::LoadConfigFile(am.string()));
  }
  return c;
}

std::string DefaultConfigText(std::string_view self_target) {
  return absl::StrReplaceAll(kDefaultConfigTemplate, {{"{{SELF_TARGET}}", Av(self_target)}});
}

}  // namespace pharos::config
