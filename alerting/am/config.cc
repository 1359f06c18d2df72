// Alertmanager's alertmanager.yml, read strictly (config/config.go and config/notifiers.go).
//
// Decoding order: the top-level mapping is split into its sections first so `global` is known
// before the receivers whatever order the file uses; each receiver's integrations then get their
// global defaults and are validated with the node at hand, so errors carry file:line:col.
// Messages of semantic errors are Alertmanager's own wording after the position.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "alerting/am/config.h"
#include "alerting/am/digest_schedule.h"
#include "alerting/am/internal/matchers.h"
#include "common/status_macros.h"
#include "storage/labels/labels.h"
#include "common/strings.h"
#include "common/yaml_decoder.h"
#include "yaml-cpp/yaml.h"

namespace pharos::alerting::am {
namespace {

using internal::GoQuote;
using yaml::Decoder;
using Fields = std::map<std::string, Decoder::FieldFn>;

bool IsSpaceChar(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

constexpr char kSlackPostMessageUrl[] = "https://slack.com/api/chat.postMessage";

// Stores the node of each present key (the caller validates the values).
Decoder::FieldFn Keep(std::map<std::string, YAML::Node>* out, const std::string& key) {
  return [out, key](const YAML::Node& v) {
    (*out)[key] = v;
    return absl::OkStatus();
  };
}

// Alertmanager's parseURL: http(s) with a host.
absl::Status CheckUrl(const Decoder& d, const YAML::Node& n, const std::string& s) {
  if (s == "<secret>") return absl::OkStatus();  // re-reading a masked config
  size_t colon = s.find("://");
  std::string scheme = colon == std::string::npos ? "" : s.substr(0, colon);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") {
    return d.Err(n, absl::StrCat("unsupported scheme ", GoQuote(scheme), " for URL"));
  }
  std::string rest = s.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string host = rest.substr(0, end);
  if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (host.empty()) return d.Err(n, "missing host for URL");
  return absl::OkStatus();
}

absl::Status UrlField(const Decoder& d, const YAML::Node& n, absl::string_view key,
                      std::string* out) {
  PHAROS_RETURN_IF_ERROR(d.Scalar(n, key, out));
  if (out->empty()) return absl::OkStatus();
  return CheckUrl(d, n, *out);
}

// Go's net.SplitHostPort plus Alertmanager's HostPort check.
absl::Status CheckHostPort(const Decoder& d, const YAML::Node& n, const std::string& s) {
  if (s.empty()) return absl::OkStatus();
  std::string port;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) {
      return d.Err(n, absl::StrCat("address ", s, ": missing ']' in address"));
    }
    if (close + 1 >= s.size() || s[close + 1] != ':') {
      return d.Err(n, absl::StrCat("address ", s, ": missing port in address"));
    }
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) {
      return d.Err(n, absl::StrCat("address ", s, ": missing port in address"));
    }
    if (s.find(':') != colon) {
      return d.Err(n, absl::StrCat("address ", s, ": too many colons in address"));
    }
    port = s.substr(colon + 1);
  }
  if (port.empty()) {
    return d.Err(n, absl::StrCat("address ", GoQuote(s), ": port cannot be empty"));
  }
  return absl::OkStatus();
}

// Go's strings.Title as Alertmanager applies it to email header names.
std::string TitleCase(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || u >= 0x80) {
      if (start) c = static_cast<char>(std::toupper(u));
      start = false;
    } else {
      start = true;
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view source) : d_(Av(source)) {}

  absl::Status Parse(const YAML::Node& root, Config* c);

 private:
  absl::Status DecodeHttp(const YAML::Node& n, HttpConfig* h) const;
  absl::Status DecodeGlobal(const YAML::Node& n);
  absl::Status DecodeRoute(const YAML::Node& n, Route* r);
  absl::Status DecodeMatchMap(const YAML::Node& n, absl::string_view key, bool regex,
                              Matchers* out) const;
  absl::Status DecodeMatcherList(const YAML::Node& n, absl::string_view key, Matchers* out) const;
  absl::Status DecodeInhibit(const YAML::Node& n, InhibitRule* r) const;
  absl::Status DecodeReceiver(const YAML::Node& n, Receiver* r);
  absl::Status DecodeWebhook(const YAML::Node& n, WebhookConfig* w) const;
  absl::Status DecodePagerDuty(const YAML::Node& n, PagerDutyConfig* p) const;
  absl::Status DecodeSlack(const YAML::Node& n, SlackConfig* s) const;
  absl::Status DecodeEmail(const YAML::Node& n, EmailConfig* e) const;
  absl::Status DecodeUnsupported(const std::string& type, const YAML::Node& n) const;
  absl::Status DecodeTimeInterval(const YAML::Node& n, NamedTimeInterval* t, bool mute) const;
  absl::Status DecodeTimeSpec(const YAML::Node& n, TimeIntervalSpec* t) const;
  absl::Status DecodeDigest(const YAML::Node& n, DigestConfig* dc) const;
  absl::Status CheckRouteRefs(const Route& r, const std::set<std::string>* receivers,
                              const std::set<std::string>* intervals) const;

  Decoder d_;
  GlobalConfig g_;
  bool global_http_set_ = false;
  // Globals of integrations Pharos does not implement (validated as Alertmanager does).
  std::map<std::string, YAML::Node> other_;
  // Where each route was read (for semantic errors after decoding).
  std::map<const Route*, YAML::Node> route_nodes_;
  const YAML::Node& RouteNode(const Route& r) const { return route_nodes_.at(&r); }
};

absl::Status Parser::DecodeHttp(const YAML::Node& n, HttpConfig* h) const {
  bool has_basic = false, has_auth = false, has_oauth2 = false;
  std::string basic_username_file;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "http_config", {
      {"basic_auth", [&](const YAML::Node& v) {
         has_basic = !v.IsNull();
         return d_.Map(v, "basic_auth", {
             {"username", [&](const YAML::Node& x) { return d_.Scalar(x, "username", &h->basic_auth_username); }},
             {"username_file", [&](const YAML::Node& x) { return d_.Scalar(x, "username_file", &basic_username_file); }},
             {"password", [&](const YAML::Node& x) { return d_.Scalar(x, "password", &h->basic_auth_password); }},
             {"password_file", [&](const YAML::Node& x) { return d_.Scalar(x, "password_file", &h->basic_auth_password_file); }},
         });
       }},
      {"authorization", [&](const YAML::Node& v) {
         has_auth = !v.IsNull();
         return d_.Map(v, "authorization", {
             {"type", [&](const YAML::Node& x) { return d_.Scalar(x, "type", &h->authorization_type); }},
             {"credentials", [&](const YAML::Node& x) { return d_.Scalar(x, "credentials", &h->authorization_credentials); }},
             {"credentials_file", [&](const YAML::Node& x) { return d_.Scalar(x, "credentials_file", &h->authorization_credentials_file); }},
         });
       }},
      {"oauth2", [&](const YAML::Node& v) {
         has_oauth2 = !v.IsNull();
         if (!v.IsNull() && !v.IsMap()) return d_.Err(v, "oauth2 must be a mapping");
         return absl::OkStatus();
       }},
      {"bearer_token", [&](const YAML::Node& v) { return d_.Scalar(v, "bearer_token", &h->bearer_token); }},
      {"bearer_token_file", [&](const YAML::Node& v) { return d_.Scalar(v, "bearer_token_file", &h->bearer_token_file); }},
      {"proxy_url", [&](const YAML::Node& v) { return d_.Scalar(v, "proxy_url", &h->proxy_url); }},
      {"no_proxy", [&](const YAML::Node& v) { std::string s; return d_.Scalar(v, "no_proxy", &s); }},
      {"proxy_from_environment", [&](const YAML::Node& v) { bool b = false; return d_.Bool(v, "proxy_from_environment", &b); }},
      {"proxy_connect_header", [&](const YAML::Node& v) {
         if (!v.IsNull() && !v.IsMap()) return d_.Err(v, "proxy_connect_header must be a mapping");
         return absl::OkStatus();
       }},
      {"tls_config", [&](const YAML::Node& v) {
         std::string ignored;
         return d_.Map(v, "tls_config", {
             {"ca_file", [&](const YAML::Node& x) { return d_.Scalar(x, "ca_file", &h->tls_ca_file); }},
             {"cert_file", [&](const YAML::Node& x) { return d_.Scalar(x, "cert_file", &h->tls_cert_file); }},
             {"key_file", [&](const YAML::Node& x) { return d_.Scalar(x, "key_file", &h->tls_key_file); }},
             {"ca", [&](const YAML::Node& x) { return d_.Scalar(x, "ca", &ignored); }},
             {"cert", [&](const YAML::Node& x) { return d_.Scalar(x, "cert", &ignored); }},
             {"key", [&](const YAML::Node& x) { return d_.Scalar(x, "key", &ignored); }},
             {"server_name", [&](const YAML::Node& x) { return d_.Scalar(x, "server_name", &h->tls_server_name); }},
             {"insecure_skip_verify", [&](const YAML::Node& x) { return d_.Bool(x, "insecure_skip_verify", &h->tls_insecure_skip_verify); }},
             {"min_version", [&](const YAML::Node& x) { return d_.Scalar(x, "min_version", &ignored); }},
             {"max_version", [&](const YAML::Node& x) { return d_.Scalar(x, "max_version", &ignored); }},
         });
       }},
      {"follow_redirects", [&](const YAML::Node& v) { return d_.Bool(v, "follow_redirects", &h->follow_redirects); }},
      {"enable_http2", [&](const YAML::Node& v) { return d_.Bool(v, "enable_http2", &h->enable_http2); }},
  }));
  // prometheus/common HTTPClientConfig.Validate.
  const bool has_bearer = !h->bearer_token.empty() || !h->bearer_token_file.empty();
  if (!h->bearer_token.empty() && !h->bearer_token_file.empty()) {
    return d_.Err(n, "at most one of bearer_token & bearer_token_file must be configured");
  }
  if ((has_basic ? 1 : 0) + (has_oauth2 ? 1 : 0) + (has_bearer ? 1 : 0) > 1) {
    return d_.Err(n, "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
  }
  if (has_basic && !h->basic_auth_password.empty() && !h->basic_auth_password_file.empty()) {
    return d_.Err(n, "at most one of basic_auth password & password_file must be configured");
  }
  if (has_auth) {
    if (has_bearer) {
      return d_.Err(n, "authorization is not compatible with bearer_token & bearer_token_file");
    }
    if (!h->authorization_credentials.empty() && !h->authorization_credentials_file.empty()) {
      return d_.Err(n, "at most one of authorization credentials & credentials_file must be configured");
    }
    std::string type = h->authorization_type;
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (type == "basic") {
      return d_.Err(n, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
    }
    if (h->authorization_type.empty()) h->authorization_type = "Bearer";
    if (has_basic || has_oauth2) {
      return d_.Err(n, "at most one of basic_auth, oauth2 & authorization must be configured");
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeGlobal(const YAML::Node& n) {
  GlobalConfig& g = g_;
  SmtpGlobal& s = g.smtp;
  Fields f = {
      {"resolve_timeout", [&](const YAML::Node& v) { return d_.Duration(v, "resolve_timeout", &g.resolve_timeout_ms); }},
      {"http_config", [&](const YAML::Node& v) {
         global_http_set_ = true;
         return DecodeHttp(v, &g.http_config);
       }},
      {"smtp_from", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_from", &s.from); }},
      {"smtp_hello", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_hello", &s.hello); }},
      {"smtp_smarthost", [&](const YAML::Node& v) {
         PHAROS_RETURN_IF_ERROR(d_.Scalar(v, "smtp_smarthost", &s.smarthost));
         return CheckHostPort(d_, v, s.smarthost);
       }},
      {"smtp_auth_username", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_username", &s.auth_username); }},
      {"smtp_auth_password", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_password", &s.auth_password); }},
      {"smtp_auth_password_file", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_password_file", &s.auth_password_file); }},
      {"smtp_auth_secret", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_secret", &s.auth_secret); }},
      {"smtp_auth_secret_file", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_secret_file", &s.auth_secret_file); }},
      {"smtp_auth_identity", [&](const YAML::Node& v) { return d_.Scalar(v, "smtp_auth_identity", &s.auth_identity); }},
      {"smtp_require_tls", [&](const YAML::Node& v) { return d_.Bool(v, "smtp_require_tls", &s.require_tls); }},
      {"smtp_tls_config", [&](const YAML::Node& v) {
         if (!v.IsNull() && !v.IsMap()) return d_.Err(v, "smtp_tls_config must be a mapping");
         return absl::OkStatus();
       }},
      {"slack_api_url", [&](const YAML::Node& v) { return UrlField(d_, v, "slack_api_url", &g.slack_api_url); }},
      {"slack_api_url_file", [&](const YAML::Node& v) { return d_.Scalar(v, "slack_api_url_file", &g.slack_api_url_file); }},
      {"slack_app_token", [&](const YAML::Node& v) { return d_.Scalar(v, "slack_app_token", &g.slack_app_token); }},
      {"slack_app_token_file", [&](const YAML::Node& v) { return d_.Scalar(v, "slack_app_token_file", &g.slack_app_token_file); }},
      {"slack_app_url", [&](const YAML::Node& v) { return UrlField(d_, v, "slack_app_url", &g.slack_app_url); }},
      {"pagerduty_url", [&](const YAML::Node& v) { return UrlField(d_, v, "pagerduty_url", &g.pagerduty_url); }},
  };
  // Globals of the integrations Pharos accepts but does not deliver to.
  for (const char* key :
       {"opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file", "wechat_api_url",
        "wechat_api_secret", "wechat_api_secret_file", "wechat_api_corp_id", "victorops_api_url",
        "victorops_api_key", "victorops_api_key_file", "telegram_api_url", "telegram_bot_token",
        "telegram_bot_token_file", "webex_api_url", "rocketchat_api_url", "rocketchat_token",
        "rocketchat_token_file", "rocketchat_token_id", "rocketchat_token_id_file",
        "jira_api_url", "mattermost_webhook_url", "mattermost_webhook_url_file"}) {
    std::string k = key;
    f[k] = [this, k](const YAML::Node& v) {
      std::string val;
      PHAROS_RETURN_IF_ERROR(d_.Scalar(v, k, &val));
      if (absl::EndsWith(k, "_url") && !val.empty()) PHAROS_RETURN_IF_ERROR(CheckUrl(d_, v, val));
      other_[k] = v;
      g_.other[k] = val;
      return absl::OkStatus();
    };
  }
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "global", f));

  // Config.UnmarshalYAML's checks of the global section, in Alertmanager's order.
  auto both = [&](const char* a, const char* b) -> bool {
    auto ia = g.other.find(a), ib = g.other.find(b);
    return ia != g.other.end() && !ia->second.empty() && ib != g.other.end() &&
           !ib->second.empty();
  };
  auto err = [&](absl::string_view msg) { return d_.Err(n, msg); };
  if (!g.slack_app_token.empty() && !g.slack_app_token_file.empty()) {
    return err("at most one of slack_app_token & slack_app_token_file must be configured");
  }
  if (!g.slack_api_url.empty() && !g.slack_api_url_file.empty()) {
    return err("at most one of slack_api_url & slack_api_url_file must be configured");
  }
  if ((!g.slack_app_token.empty() || !g.slack_app_token_file.empty()) &&
      (!g.slack_api_url.empty() || !g.slack_api_url_file.empty()) &&
      g.slack_api_url != g.slack_app_url) {
    // The old workaround (slack_api_url set to the chat.postMessage URL) stays accepted.
    return err("at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured");
  }
  if (both("opsgenie_api_key", "opsgenie_api_key_file")) {
    return err("at most one of opsgenie_api_key & opsgenie_api_key_file must be configured");
  }
  if (both("victorops_api_key", "victorops_api_key_file")) {
    return err("at most one of victorops_api_key & victorops_api_key_file must be configured");
  }
  if (both("telegram_bot_token", "telegram_bot_token_file")) {
    return err("at most one of telegram_bot_token & telegram_bot_token_file must be configured");
  }
  if (!s.auth_password.empty() && !s.auth_password_file.empty()) {
    return err("at most one of smtp_auth_password & smtp_auth_password_file must be configured");
  }
  if (other_.count("rocketchat_token") && both("rocketchat_token", "rocketchat_token_file")) {
    return err("at most one of rocketchat_token & rocketchat_token_file must be configured");
  }
  if (both("rocketchat_token_id", "rocketchat_token_id_file")) {
    return err("at most one of rocketchat_token_id & rocketchat_token_id_file must be configured");
  }
  if (!s.auth_secret.empty() && !s.auth_secret_file.empty()) {
    return err("at most one of smtp_auth_secret & smtp_auth_secret_file must be configured");
  }
  if (both("wechat_api_secret", "wechat_api_secret_file")) {
    return err("at most one of wechat_api_secret & wechat_api_secret_file must be configured");
  }
  if (both("mattermost_webhook_url", "mattermost_webhook_url_file")) {
    return err("at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured");
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeMatchMap(const YAML::Node& n, absl::string_view key, bool regex,
                                    Matchers* out) const {
  if (n.IsNull()) return absl::OkStatus();
  if (!n.IsMap()) return d_.Err(n, absl::StrCat("\"", key, "\" must be a mapping"));
  Matchers ms;
  for (const auto& kv : n) {
    std::string name, value;
    if (!kv.first.IsScalar()) return d_.Err(kv.first, absl::StrCat("bad key in ", key));
    PHAROS_RETURN_IF_ERROR(d_.ScalarText(kv.first, &name));
    if (!IsValidLegacyLabelName(name)) {
      return d_.Err(kv.first, absl::StrCat("invalid label name ", GoQuote(name)));
    }
    if (regex && kv.second.IsNull()) {
      return d_.Err(kv.first, absl::StrCat("invalid regexp value for ", GoQuote(name)));
    }
    if (!kv.second.IsNull()) {
      if (!kv.second.IsScalar()) return d_.Err(kv.second, absl::StrCat("\"", key, "\" values must be strings"));
      PHAROS_RETURN_IF_ERROR(d_.ScalarText(kv.second, &value));
    }
    // Alertmanager keeps the anchored form of match_re values (Regexp.String()), which shows
    // in route keys: service=~"^(?:foo|bar)$".
    auto m = regex ? Matcher::Make(MatchType::kRegexMatch, name, absl::StrCat("^(?:", value, ")$"))
                   : Matcher::Make(MatchType::kEqual, name, value);
    if (!m.ok()) {
      return d_.Err(kv.second, absl::StrCat("error parsing regexp: ", m.status().message()));
    }
    ms.push_back(*std::move(m));
  }
  internal::SortMatchers(&ms);
  out->insert(out->end(), ms.begin(), ms.end());
  return absl::OkStatus();
}

absl::Status Parser::DecodeMatcherList(const YAML::Node& n, absl::string_view key,
                                       Matchers* out) const {
  if (n.IsNull()) return absl::OkStatus();
  if (!n.IsSequence()) return d_.Err(n, absl::StrCat("\"", key, "\" must be a list of strings"));
  for (const auto& item : n) {
    if (!item.IsScalar()) return d_.Err(item, absl::StrCat("\"", key, "\" must be a list of strings"));
    std::string line;
    PHAROS_RETURN_IF_ERROR(d_.ScalarText(item, &line));
    auto ms = ParseMatchers(line);
    if (!ms.ok()) return d_.Err(item, ms.status().message());
    out->insert(out->end(), ms->begin(), ms->end());
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeRoute(const YAML::Node& n, Route* r) {
  route_nodes_[r] = n;
  std::vector<std::string> group_by;
  bool has_gw = false, has_gi = false, has_ri = false;
  int64_t gw = 0, gi = 0, ri = 0;
  Matchers match, match_re, matchers;
  YAML::Node routes_node;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "route", {
      {"receiver", [&](const YAML::Node& v) { return d_.Scalar(v, "receiver", &r->receiver); }},
      {"group_by", [&](const YAML::Node& v) { return d_.StringList(v, "group_by", &group_by); }},
      {"match", [&](const YAML::Node& v) { return DecodeMatchMap(v, "match", false, &match); }},
      {"match_re", [&](const YAML::Node& v) { return DecodeMatchMap(v, "match_re", true, &match_re); }},
      {"matchers", [&](const YAML::Node& v) { return DecodeMatcherList(v, "matchers", &matchers); }},
      {"continue", [&](const YAML::Node& v) { return d_.Bool(v, "continue", &r->continue_); }},
      {"group_wait", [&](const YAML::Node& v) { has_gw = !v.IsNull(); return d_.Duration(v, "group_wait", &gw); }},
      {"group_interval", [&](const YAML::Node& v) { has_gi = !v.IsNull(); return d_.Duration(v, "group_interval", &gi); }},
      {"repeat_interval", [&](const YAML::Node& v) { has_ri = !v.IsNull(); return d_.Duration(v, "repeat_interval", &ri); }},
      {"mute_time_intervals", [&](const YAML::Node& v) { return d_.StringList(v, "mute_time_intervals", &r->mute_time_intervals); }},
      {"active_time_intervals", [&](const YAML::Node& v) { return d_.StringList(v, "active_time_intervals", &r->active_time_intervals); }},
      {"routes", [&](const YAML::Node& v) { routes_node = v; return absl::OkStatus(); }},
  }));
  // Route.UnmarshalYAML.
  for (const std::string& l : group_by) {
    if (l == "...") {
      r->group_by_all = true;
      continue;
    }
    if (!IsValidLegacyLabelName(l)) {
      return d_.Err(n, absl::StrCat("invalid label name ", GoQuote(l), " in group_by list"));
    }
    r->group_by.push_back(l);
  }
  if (!r->group_by.empty() && r->group_by_all) {
    return d_.Err(n, "cannot have wildcard group_by (`...`) and other labels at the same time");
  }
  {
    std::set<std::string> seen;
    for (const std::string& l : r->group_by) {
      if (!seen.insert(l).second) {
        return d_.Err(n, absl::StrCat("duplicated label ", GoQuote(l), " in group_by"));
      }
    }
  }
  if (has_gi && gi == 0) return d_.Err(n, "group_interval cannot be zero");
  if (has_ri && ri == 0) return d_.Err(n, "repeat_interval cannot be zero");
  if (has_gw) r->group_wait_ms = gw;
  if (has_gi) r->group_interval_ms = gi;
  if (has_ri) r->repeat_interval_ms = ri;
  r->matchers = std::move(match);
  r->matchers.insert(r->matchers.end(), match_re.begin(), match_re.end());
  r->matchers.insert(r->matchers.end(), matchers.begin(), matchers.end());
  internal::SortMatchers(&r->matchers);
  if (!routes_node.IsNull() && routes_node.IsDefined()) {
    if (!routes_node.IsSequence()) return d_.Err(routes_node, "\"routes\" must be a list");
    r->routes.resize(routes_node.size());
    size_t i = 0;
    for (const auto& child : routes_node) {
      PHAROS_RETURN_IF_ERROR(DecodeRoute(child, &r->routes[i++]));
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeInhibit(const YAML::Node& n, InhibitRule* r) const {
  Matchers sm, smr, tm, tmr;
  std::string name;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "inhibit rule", {
      {"name", [&](const YAML::Node& v) { return d_.Scalar(v, "name", &name); }},
      {"source_match", [&](const YAML::Node& v) { return DecodeMatchMap(v, "source_match", false, &sm); }},
      {"source_match_re", [&](const YAML::Node& v) { return DecodeMatchMap(v, "source_match_re", true, &smr); }},
      {"source_matchers", [&](const YAML::Node& v) { return DecodeMatcherList(v, "source_matchers", &r->source_matchers); }},
      {"target_match", [&](const YAML::Node& v) { return DecodeMatchMap(v, "target_match", false, &tm); }},
      {"target_match_re", [&](const YAML::Node& v) { return DecodeMatchMap(v, "target_match_re", true, &tmr); }},
      {"target_matchers", [&](const YAML::Node& v) { return DecodeMatcherList(v, "target_matchers", &r->target_matchers); }},
      {"equal", [&](const YAML::Node& v) { return d_.StringList(v, "equal", &r->equal); }},
  }));
  for (const std::string& l : r->equal) {
    if (!IsValidLegacyLabelName(l)) {
      return d_.Err(n, absl::StrCat(GoQuote(l), " is not a valid label name"));
    }
  }
  r->source_matchers.insert(r->source_matchers.begin(), smr.begin(), smr.end());
  r->source_matchers.insert(r->source_matchers.begin(), sm.begin(), sm.end());
  r->target_matchers.insert(r->target_matchers.begin(), tmr.begin(), tmr.end());
  r->target_matchers.insert(r->target_matchers.begin(), tm.begin(), tm.end());
  return absl::OkStatus();
}

absl::Status Parser::DecodeWebhook(const YAML::Node& n, WebhookConfig* w) const {
  w->send_resolved = true;
  w->http_config = g_.http_config;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "webhook config", {
      {"send_resolved", [&](const YAML::Node& v) { return d_.Bool(v, "send_resolved", &w->send_resolved); }},
      {"http_config", [&](const YAML::Node& v) { w->http_config = HttpConfig(); return DecodeHttp(v, &w->http_config); }},
      {"url", [&](const YAML::Node& v) { return UrlField(d_, v, "url", &w->url); }},
      {"url_file", [&](const YAML::Node& v) { return d_.Scalar(v, "url_file", &w->url_file); }},
      {"max_alerts", [&](const YAML::Node& v) { return d_.Uint(v, "max_alerts", &w->max_alerts); }},
      {"timeout", [&](const YAML::Node& v) { return d_.Duration(v, "timeout", &w->timeout_ms); }},
  }));
  if (w->url.empty() && w->url_file.empty()) {
    return d_.Err(n, "missing URL in webhook config");  // Alertmanager 0.25's wording
  }
  if (!w->url.empty() && !w->url_file.empty()) {
    return d_.Err(n, "at most one of url & url_file must be configured");
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodePagerDuty(const YAML::Node& n, PagerDutyConfig* p) const {
  p->send_resolved = true;
  p->http_config = g_.http_config;
  bool has_details = false;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "pagerduty config", {
      {"send_resolved", [&](const YAML::Node& v) { return d_.Bool(v, "send_resolved", &p->send_resolved); }},
      {"http_config", [&](const YAML::Node& v) { p->http_config = HttpConfig(); return DecodeHttp(v, &p->http_config); }},
      {"routing_key", [&](const YAML::Node& v) { return d_.Scalar(v, "routing_key", &p->routing_key); }},
      {"routing_key_file", [&](const YAML::Node& v) { return d_.Scalar(v, "routing_key_file", &p->routing_key_file); }},
      {"service_key", [&](const YAML::Node& v) { return d_.Scalar(v, "service_key", &p->service_key); }},
      {"service_key_file", [&](const YAML::Node& v) { return d_.Scalar(v, "service_key_file", &p->service_key_file); }},
      {"url", [&](const YAML::Node& v) { return UrlField(d_, v, "url", &p->url); }},
      {"client", [&](const YAML::Node& v) { return d_.Scalar(v, "client", &p->client); }},
      {"client_url", [&](const YAML::Node& v) { return d_.Scalar(v, "client_url", &p->client_url); }},
      {"description", [&](const YAML::Node& v) { return d_.Scalar(v, "description", &p->description); }},
      {"details", [&](const YAML::Node& v) { has_details = true; return d_.StringMap(v, "details", &p->details); }},
      {"severity", [&](const YAML::Node& v) { return d_.Scalar(v, "severity", &p->severity); }},
      {"class", [&](const YAML::Node& v) { return d_.Scalar(v, "class", &p->clazz); }},
      {"component", [&](const YAML::Node& v) { return d_.Scalar(v, "component", &p->component); }},
      {"group", [&](const YAML::Node& v) { return d_.Scalar(v, "group", &p->group); }},
      {"source", [&](const YAML::Node& v) { return d_.Scalar(v, "source", &p->source); }},
      {"links", [&](const YAML::Node& v) {
         return d_.List<PagerDutyConfig::Link>(v, "links", &p->links, [&](const YAML::Node& x, PagerDutyConfig::Link* l) {
           return d_.Map(x, "pagerduty link", {
               {"href", [&](const YAML::Node& y) { return d_.Scalar(y, "href", &l->href); }},
               {"text", [&](const YAML::Node& y) { return d_.Scalar(y, "text", &l->text); }},
           });
         });
       }},
      {"images", [&](const YAML::Node& v) {
         return d_.List<PagerDutyConfig::Image>(v, "images", &p->images, [&](const YAML::Node& x, PagerDutyConfig::Image* im) {
           return d_.Map(x, "pagerduty image", {
               {"src", [&](const YAML::Node& y) { return d_.Scalar(y, "src", &im->src); }},
               {"alt", [&](const YAML::Node& y) { return d_.Scalar(y, "alt", &im->alt); }},
               {"href", [&](const YAML::Node& y) { return d_.Scalar(y, "href", &im->href); }},
           });
         });
       }},
  }));
  (void)has_details;
  if (p->routing_key.empty() && p->service_key.empty() && p->routing_key_file.empty() &&
      p->service_key_file.empty()) {
    return d_.Err(n, "missing service or routing key in PagerDuty config");
  }
  if (!p->routing_key.empty() && !p->routing_key_file.empty()) {
    return d_.Err(n, "at most one of routing_key & routing_key_file must be configured");
  }
  if (!p->service_key.empty() && !p->service_key_file.empty()) {
    return d_.Err(n, "at most one of service_key & service_key_file must be configured");
  }
  static const std::pair<const char*, const char*> kDefaultDetails[] = {
      {"firing", "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}"},
      {"resolved", "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}"},
      {"num_firing", "{{ .Alerts.Firing | len }}"},
      {"num_resolved", "{{ .Alerts.Resolved | len }}"},
  };
  for (const auto& [k, v] : kDefaultDetails) p->details.emplace(k, v);
  if (p->url.empty()) {
    if (g_.pagerduty_url.empty()) return d_.Err(n, "no global PagerDuty URL set");
    p->url = g_.pagerduty_url;
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeSlack(const YAML::Node& n, SlackConfig* s) const {
  bool has_http = false;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "slack config", {
      {"send_resolved", [&](const YAML::Node& v) { return d_.Bool(v, "send_resolved", &s->send_resolved); }},
      {"http_config", [&](const YAML::Node& v) { has_http = !v.IsNull(); return DecodeHttp(v, &s->http_config); }},
      {"api_url", [&](const YAML::Node& v) { return UrlField(d_, v, "api_url", &s->api_url); }},
      {"api_url_file", [&](const YAML::Node& v) { return d_.Scalar(v, "api_url_file", &s->api_url_file); }},
      {"app_token", [&](const YAML::Node& v) { return d_.Scalar(v, "app_token", &s->app_token); }},
      {"app_token_file", [&](const YAML::Node& v) { return d_.Scalar(v, "app_token_file", &s->app_token_file); }},
      {"app_url", [&](const YAML::Node& v) { return UrlField(d_, v, "app_url", &s->app_url); }},
      {"update_message", [&](const YAML::Node& v) { return d_.Bool(v, "update_message", &s->update_message); }},
      {"channel", [&](const YAML::Node& v) { return d_.Scalar(v, "channel", &s->channel); }},
      {"username", [&](const YAML::Node& v) { return d_.Scalar(v, "username", &s->username); }},
      {"color", [&](const YAML::Node& v) { return d_.Scalar(v, "color", &s->color); }},
      {"title", [&](const YAML::Node& v) { return d_.Scalar(v, "title", &s->title); }},
      {"title_link", [&](const YAML::Node& v) { return d_.Scalar(v, "title_link", &s->title_link); }},
      {"pretext", [&](const YAML::Node& v) { return d_.Scalar(v, "pretext", &s->pretext); }},
      {"text", [&](const YAML::Node& v) { return d_.Scalar(v, "text", &s->text); }},
      {"fallback", [&](const YAML::Node& v) { return d_.Scalar(v, "fallback", &s->fallback); }},
      {"footer", [&](const YAML::Node& v) { return d_.Scalar(v, "footer", &s->footer); }},
      {"icon_emoji", [&](const YAML::Node& v) { return d_.Scalar(v, "icon_emoji", &s->icon_emoji); }},
      {"icon_url", [&](const YAML::Node& v) { return d_.Scalar(v, "icon_url", &s->icon_url); }},
      {"callback_id", [&](const YAML::Node& v) { return d_.Scalar(v, "callback_id", &s->callback_id); }},
      {"image_url", [&](const YAML::Node& v) { return d_.Scalar(v, "image_url", &s->image_url); }},
      {"thumb_url", [&](const YAML::Node& v) { return d_.Scalar(v, "thumb_url", &s->thumb_url); }},
      {"short_fields", [&](const YAML::Node& v) { return d_.Bool(v, "short_fields", &s->short_fields); }},
      {"link_names", [&](const YAML::Node& v) { return d_.Bool(v, "link_names", &s->link_names); }},
      {"mrkdwn_in", [&](const YAML::Node& v) { s->mrkdwn_in.clear(); return d_.StringList(v, "mrkdwn_in", &s->mrkdwn_in); }},
      {"fields", [&](const YAML::Node& v) {
         return d_.List<SlackConfig::Field>(v, "fields", &s->fields, [&](const YAML::Node& x, SlackConfig::Field* fl) {
           PHAROS_RETURN_IF_ERROR(d_.Map(x, "slack field", {
               {"title", [&](const YAML::Node& y) { return d_.Scalar(y, "title", &fl->title); }},
               {"value", [&](const YAML::Node& y) { return d_.Scalar(y, "value", &fl->value); }},
               {"short", [&](const YAML::Node& y) { return d_.Bool(y, "short", &fl->short_); }},
           }));
           if (fl->title.empty()) return d_.Err(x, "missing title in Slack field configuration");
           if (fl->value.empty()) return d_.Err(x, "missing value in Slack field configuration");
           return absl::OkStatus();
         });
       }},
      {"actions", [&](const YAML::Node& v) {
         if (v.IsNull()) return absl::OkStatus();
         if (!v.IsSequence()) return d_.Err(v, "\"actions\" must be a list");
         for (const auto& x : v) {
           std::string type, text, url, name, value, style;
           PHAROS_RETURN_IF_ERROR(d_.Map(x, "slack action", {
               {"type", [&](const YAML::Node& y) { return d_.Scalar(y, "type", &type); }},
               {"text", [&](const YAML::Node& y) { return d_.Scalar(y, "text", &text); }},
               {"url", [&](const YAML::Node& y) { return d_.Scalar(y, "url", &url); }},
               {"name", [&](const YAML::Node& y) { return d_.Scalar(y, "name", &name); }},
               {"value", [&](const YAML::Node& y) { return d_.Scalar(y, "value", &value); }},
               {"style", [&](const YAML::Node& y) { return d_.Scalar(y, "style", &style); }},
               {"confirm", [&](const YAML::Node& y) {
                  if (!y.IsNull() && !y.IsMap()) return d_.Err(y, "\"confirm\" must be a mapping");
                  return absl::OkStatus();
                }},
           }));
           if (type.empty()) return d_.Err(x, "missing type in Slack action configuration");
           if (text.empty()) return d_.Err(x, "missing text in Slack action configuration");
           if (url.empty() && (name.empty() || value.empty())) {
             return d_.Err(x, "missing url or name and value in Slack action configuration");
           }
         }
         return absl::OkStatus();
       }},
  }));
  // SlackConfig.UnmarshalYAML.
  if (!s->api_url.empty() && !s->api_url_file.empty()) {
    return d_.Err(n, "at most one of api_url & api_url_file must be configured");
  }
  if (!s->app_token.empty() && !s->app_token_file.empty()) {
    return d_.Err(n, "at most one of app_token & app_token_file must be configured");
  }
  if ((!s->app_token.empty() || !s->app_token_file.empty()) &&
      (!s->api_url.empty() || !s->api_url_file.empty())) {
    return d_.Err(n, "at most one of app_token/app_token_file & api_url/api_url_file must be configured");
  }
  if (s->update_message && !s->api_url.empty() && s->api_url != kSlackPostMessageUrl) {
    return d_.Err(n, absl::StrCat("update_message can only be used with bot tokens. api_url must be set to ",
                                  kSlackPostMessageUrl));
  }
  // Defaults from global (Config.UnmarshalYAML).
  if (s->app_url.empty()) s->app_url = g_.slack_app_url;
  if (s->app_url.empty()) return d_.Err(n, "no global Slack App URL set");
  const bool local_auth = has_http && (!s->http_config.authorization_credentials.empty() ||
                                       !s->http_config.authorization_credentials_file.empty());
  if (s->app_token.empty() && s->app_token_file.empty() && !local_auth && s->api_url.empty()) {
    s->app_token = g_.slack_app_token;
    s->app_token_file = g_.slack_app_token_file;
  }
  if (s->api_url.empty() && s->api_url_file.empty()) {
    s->api_url = g_.slack_api_url;
    s->api_url_file = g_.slack_api_url_file;
  }
  if (s->api_url.empty() && s->api_url_file.empty() && s->app_token.empty() &&
      s->app_token_file.empty()) {
    return d_.Err(n, "no Slack API URL nor App token set either inline or in a file");
  }
  if (!has_http) s->http_config = g_.http_config;
  if (!s->app_token.empty() || !s->app_token_file.empty()) {
    if (local_auth) return d_.Err(n, "http authorization can't be set when using Slack App tokens");
    // A bot token is sent as a bearer token to the app URL, as Alertmanager does.
    s->http_config.authorization_type = "Bearer";
    s->http_config.authorization_credentials = s->app_token;
    s->http_config.authorization_credentials_file = s->app_token_file;
    s->api_url = s->app_url;
    s->api_url_file.clear();
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeEmail(const YAML::Node& n, EmailConfig* e) const {
  bool has_tls = false;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "email config", {
      {"send_resolved", [&](const YAML::Node& v) { return d_.Bool(v, "send_resolved", &e->send_resolved); }},
      {"to", [&](const YAML::Node& v) { return d_.Scalar(v, "to", &e->to); }},
      {"from", [&](const YAML::Node& v) { return d_.Scalar(v, "from", &e->from); }},
      {"hello", [&](const YAML::Node& v) { return d_.Scalar(v, "hello", &e->hello); }},
      {"smarthost", [&](const YAML::Node& v) {
         PHAROS_RETURN_IF_ERROR(d_.Scalar(v, "smarthost", &e->smarthost));
         return CheckHostPort(d_, v, e->smarthost);
       }},
      {"auth_username", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_username", &e->auth_username); }},
      {"auth_password", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_password", &e->auth_password); }},
      {"auth_password_file", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_password_file", &e->auth_password_file); }},
      {"auth_secret", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_secret", &e->auth_secret); }},
      {"auth_secret_file", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_secret_file", &e->auth_secret_file); }},
      {"auth_identity", [&](const YAML::Node& v) { return d_.Scalar(v, "auth_identity", &e->auth_identity); }},
      {"require_tls", [&](const YAML::Node& v) {
         bool b = true;
         PHAROS_RETURN_IF_ERROR(d_.Bool(v, "require_tls", &b));
         if (!v.IsNull()) e->require_tls = b;
         return absl::OkStatus();
       }},
      {"tls_config", [&](const YAML::Node& v) {
         has_tls = !v.IsNull();
         std::string ignored;
         return d_.Map(v, "tls_config", {
             {"ca_file", [&](const YAML::Node& x) { return d_.Scalar(x, "ca_file", &e->tls_ca_file); }},
             {"cert_file", [&](const YAML::Node& x) { return d_.Scalar(x, "cert_file", &e->tls_cert_file); }},
             {"key_file", [&](const YAML::Node& x) { return d_.Scalar(x, "key_file", &e->tls_key_file); }},
             {"ca", [&](const YAML::Node& x) { return d_.Scalar(x, "ca", &ignored); }},
             {"cert", [&](const YAML::Node& x) { return d_.Scalar(x, "cert", &ignored); }},
             {"key", [&](const YAML::Node& x) { return d_.Scalar(x, "key", &ignored); }},
             {"server_name", [&](const YAML::Node& x) { return d_.Scalar(x, "server_name", &e->tls_server_name); }},
             {"insecure_skip_verify", [&](const YAML::Node& x) { return d_.Bool(x, "insecure_skip_verify", &e->tls_insecure_skip_verify); }},
             {"min_version", [&](const YAML::Node& x) { return d_.Scalar(x, "min_version", &ignored); }},
             {"max_version", [&](const YAML::Node& x) { return d_.Scalar(x, "max_version", &ignored); }},
         });
       }},
      {"headers", [&](const YAML::Node& v) {
         std::map<std::string, std::string> raw;
         if (v.IsNull()) return absl::OkStatus();
         if (!v.IsMap()) return d_.Err(v, "\"headers\" must be a mapping of strings");
         for (const auto& kv : v) {
           std::string k, val;
           if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull())) {
             return d_.Err(kv.first, "\"headers\" must be a mapping of strings");
           }
           PHAROS_RETURN_IF_ERROR(d_.ScalarText(kv.first, &k));
           if (!kv.second.IsNull()) PHAROS_RETURN_IF_ERROR(d_.ScalarText(kv.second, &val));
           // Header names are case-insensitive: Alertmanager normalises and rejects collisions.
           std::string norm = TitleCase(k);
           if (!e->headers.emplace(norm, val).second) {
             return d_.Err(kv.first, absl::StrCat("duplicate header ", GoQuote(norm), " in email config"));
           }
         }
         return absl::OkStatus();
       }},
      {"html", [&](const YAML::Node& v) { return d_.Scalar(v, "html", &e->html); }},
      {"text", [&](const YAML::Node& v) { return d_.Scalar(v, "text", &e->text); }},
  }));
  (void)has_tls;
  if (e->to.empty()) return d_.Err(n, "missing to address in email config");
  // Global defaults (Config.UnmarshalYAML).
  const SmtpGlobal& s = g_.smtp;
  if (e->smarthost.empty()) e->smarthost = s.smarthost;
  if (e->smarthost.empty()) return d_.Err(n, "no global SMTP smarthost set");
  if (e->from.empty()) e->from = s.from;
  if (e->from.empty()) return d_.Err(n, "no global SMTP from set");
  if (e->hello.empty()) e->hello = s.hello;
  if (e->auth_username.empty()) e->auth_username = s.auth_username;
  if (e->auth_password.empty() && e->auth_password_file.empty()) {
    e->auth_password = s.auth_password;
    e->auth_password_file = s.auth_password_file;
  }
  if (e->auth_secret.empty()) e->auth_secret = s.auth_secret;
  if (e->auth_secret_file.empty()) e->auth_secret_file = s.auth_secret_file;
  if (e->auth_identity.empty()) e->auth_identity = s.auth_identity;
  if (!e->require_tls.has_value()) e->require_tls = s.require_tls;
  // The notifier's defaults for the standard headers.
  e->headers.emplace("Subject", "{{ template \"email.default.subject\" . }}");
  e->headers.emplace("To", e->to);
  e->headers.emplace("From", e->from);
  return absl::OkStatus();
}

// The integrations Alertmanager has and Pharos only accepts: their keys, and the checks the
// conformance fixtures exercise, with Alertmanager's messages.
absl::Status Parser::DecodeUnsupported(const std::string& type, const YAML::Node& n) const {
  static const std::map<std::string, std::vector<std::string>> kKeys = {
      {"opsgenie", {"api_key", "api_key_file", "api_url", "message", "description", "source",
                    "details", "entity", "responders", "actions", "tags", "note", "priority",
                    "update_alerts"}},
      {"victorops", {"api_key", "api_key_file", "api_url", "routing_key", "message_type",
                     "state_message", "entity_display_name", "monitoring_tool", "custom_fields"}},
      {"pushover", {"user_key", "user_key_file", "token", "token_file", "title", "message", "url",
                    "url_title", "device", "sound", "priority", "retry", "expire", "ttl", "html",
                    "monospace"}},
      {"wechat", {"api_secret", "api_secret_file", "api_url", "corp_id", "message",
                  "message_type", "agent_id", "to_user", "to_party", "to_tag"}},
      {"telegram", {"api_url", "bot_token", "bot_token_file", "chat_id", "message_thread_id",
                    "message", "disable_notifications", "parse_mode"}},
      {"sns", {"api_url", "sigv4", "topic_arn", "phone_number", "target_arn", "subject",
               "message", "attributes"}},
      {"discord", {"webhook_url", "webhook_url_file", "title", "message", "content", "username",
                   "avatar_url"}},
      {"webex", {"api_url", "room_id", "message"}},
      {"msteams", {"webhook_url", "webhook_url_file", "title", "summary", "text"}},
      {"msteamsv2", {"webhook_url", "webhook_url_file", "title", "text"}},
      {"jira", {"api_url", "project", "summary", "description", "labels", "priority",
                "issue_type", "reopen_transition", "resolve_transition", "wont_fix_resolution",
                "reopen_duration", "fields"}},
      {"rocketchat", {"api_url", "channel", "token", "token_file", "token_id", "token_id_file",
                      "color", "emoji", "icon_url", "text", "title", "title_link", "fields",
                      "short_fields", "image_url", "thumb_url", "link_names", "actions"}},
      {"mattermost", {"webhook_url", "webhook_url_file", "channel", "username", "text",
                      "icon_url", "icon_emoji", "attachments", "props", "priority"}},
      {"incidentio", {"url", "url_file", "alert_source_token", "alert_source_token_file",
                      "max_alerts", "timeout"}},
  };
  const std::vector<std::string>& keys = kKeys.at(type);
  std::map<std::string, YAML::Node> v;
  Fields f;
  for (const std::string& k : keys) f[k] = Keep(&v, k);
  HttpConfig http;
  f["send_resolved"] = [&](const YAML::Node& x) { bool b = false; return d_.Bool(x, "send_resolved", &b); };
  f["http_config"] = [&](const YAML::Node& x) { return DecodeHttp(x, &http); };
  PHAROS_RETURN_IF_ERROR(d_.Map(n, absl::StrCat(type, " config"), f));
  // Scalar values as strings ("" when absent or null); nested values must be what they are.
  std::map<std::string, std::string> s;
  for (const auto& [k, node] : v) {
    if (node.IsNull()) continue;
    if (node.IsScalar()) {
      PHAROS_RETURN_IF_ERROR(d_.ScalarText(node, &s[k]));
      if (absl::EndsWith(k, "url") && k != "icon_url" && k != "image_url" && k != "thumb_url" &&
          k != "avatar_url" && k != "title_link" && !s[k].empty() && k != "url") {
        PHAROS_RETURN_IF_ERROR(CheckUrl(d_, node, s[k]));
      }
    }
  }
  auto has = [&](const std::string& k) { return s.count(k) && !s[k].empty(); };
  auto ghas = [&](const std::string& k) {
    auto it = g_.other.find(k);
    return it != g_.other.end() && !it->second.empty();
  };
  auto at_most_one = [&](const std::string& a, const std::string& b) -> absl::Status {
    if (has(a) && has(b)) {
      return d_.Err(n, absl::StrCat("at most one of ", a, " & ", b, " must be configured"));
    }
    return absl::OkStatus();
  };
  auto err = [&](absl::string_view msg) { return d_.Err(n, msg); };
  if (type == "opsgenie") {
    PHAROS_RETURN_IF_ERROR(at_most_one("api_key", "api_key_file"));
    if (v.count("responders") && !v["responders"].IsNull()) {
      const YAML::Node& rs = v["responders"];
      if (!rs.IsSequence()) return d_.Err(rs, "\"responders\" must be a list");
      for (const auto& r : rs) {
        std::map<std::string, std::string> rf;
        Fields rfs;
        for (const char* k : {"id", "name", "username", "type"}) {
          std::string key = k;
          rfs[key] = [&, key](const YAML::Node& x) { return d_.Scalar(x, key, &rf[key]); };
        }
        PHAROS_RETURN_IF_ERROR(d_.Map(r, "opsgenie responder", rfs));
        if (rf["id"].empty() && rf["name"].empty() && rf["username"].empty()) {
          return d_.Err(r, "opsGenieConfig responder has to have at least one of id, username or name specified");
        }
        static const std::set<std::string> kTypes = {"team", "teams", "user", "escalation", "schedule"};
        std::string t = rf["type"];
        for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!kTypes.count(t) && t.find("{{") == std::string::npos) {
          return d_.Err(r, absl::StrCat("opsGenieConfig responder type does not match valid options ",
                                        "^(team|teams|user|escalation|schedule)$"));
        }
      }
    }
    if (!has("api_key") && !has("api_key_file") && !ghas("opsgenie_api_key") &&
        !ghas("opsgenie_api_key_file")) {
      return err("no global OpsGenie API Key set either inline or in a file");
    }
  } else if (type == "victorops") {
    PHAROS_RETURN_IF_ERROR(at_most_one("api_key", "api_key_file"));
    if (!has("routing_key")) return err("missing Routing key in VictorOps config");
    if (!has("api_key") && !has("api_key_file") && !ghas("victorops_api_key") &&
        !ghas("victorops_api_key_file")) {
      return err("no global VictorOps API Key set");
    }
  } else if (type == "pushover") {
    if (!has("user_key") && !has("user_key_file")) return err("one of user_key or user_key_file must be configured");
    PHAROS_RETURN_IF_ERROR(at_most_one("user_key", "user_key_file"));
    if (!has("token") && !has("token_file")) return err("one of token or token_file must be configured");
    PHAROS_RETURN_IF_ERROR(at_most_one("token", "token_file"));
  } else if (type == "wechat") {
    PHAROS_RETURN_IF_ERROR(at_most_one("api_secret", "api_secret_file"));
    if (has("message_type") && s["message_type"] != "text" && s["message_type"] != "markdown") {
      return err(absl::StrCat("weChat message type ", GoQuote(s["message_type"]),
                              " does not match valid options text,markdown"));
    }
    if (!has("api_secret") && !has("api_secret_file") && !ghas("wechat_api_secret") &&
        !ghas("wechat_api_secret_file")) {
      return err("no global Wechat Api Secret set either inline or in a file");
    }
    if (!has("corp_id") && !ghas("wechat_api_corp_id")) return err("no global Wechat CorpID set");
  } else if (type == "telegram") {
    PHAROS_RETURN_IF_ERROR(at_most_one("bot_token", "bot_token_file"));
    if (!has("chat_id") || s["chat_id"] == "0") return err("missing chat_id on telegram_config");
    if (has("parse_mode") && s["parse_mode"] != "Markdown" && s["parse_mode"] != "MarkdownV2" &&
        s["parse_mode"] != "HTML") {
      return err("unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string");
    }
    if (!has("bot_token") && !has("bot_token_file") && !ghas("telegram_bot_token") &&
        !ghas("telegram_bot_token_file")) {
      return err("missing bot_token or bot_token_file on telegram_config");
    }
  } else if (type == "sns") {
    if (!has("target_arn") && !has("topic_arn") && !has("phone_number")) {
      return err("must provide either a Target ARN, Topic ARN, or Phone Number for SNS config");
    }
  } else if (type == "discord") {
    PHAROS_RETURN_IF_ERROR(at_most_one("webhook_url", "webhook_url_file"));
    if (!has("webhook_url") && !has("webhook_url_file")) {
      return err("no discord webhook URL or URLFile provided");
    }
  } else if (type == "webex") {
    if (!has("room_id")) return err("missing room_id on webex_config");
    if (http.authorization_credentials.empty() && http.authorization_credentials_file.empty()) {
      return err("missing webex_configs.http_config.authorization");
    }
  } else if (type == "msteams" || type == "msteamsv2") {
    PHAROS_RETURN_IF_ERROR(at_most_one("webhook_url", "webhook_url_file"));
    if (!has("webhook_url") && !has("webhook_url_file")) {
      return err(absl::StrCat("no ", type, " webhook URL or URLFile provided"));
    }
  } else if (type == "jira") {
    if (!has("project")) return err("missing project in jira_config");
    if (!has("issue_type")) return err("missing issue_type in jira_config");
  } else if (type == "rocketchat") {
    PHAROS_RETURN_IF_ERROR(at_most_one("token", "token_file"));
    PHAROS_RETURN_IF_ERROR(at_most_one("token_id", "token_id_file"));
    if (!has("token_id") && !has("token_id_file") && !ghas("rocketchat_token_id") &&
        !ghas("rocketchat_token_id_file")) {
      return err("no global Rocketchat TokenID set either inline or in a file");
    }
    if (!has("token") && !has("token_file") && !ghas("rocketchat_token") &&
        !ghas("rocketchat_token_file")) {
      return err("no global Rocketchat Token set either inline or in a file");
    }
  } else if (type == "mattermost") {
    PHAROS_RETURN_IF_ERROR(at_most_one("webhook_url", "webhook_url_file"));
    if (!has("webhook_url") && !has("webhook_url_file") && !ghas("mattermost_webhook_url") &&
        !ghas("mattermost_webhook_url_file")) {
      return err("missing webhook_url or webhook_url_file on mattermost_config");
    }
  } else if (type == "incidentio") {
    if (!has("url") && !has("url_file")) return err("one of url or url_file must be configured");
    PHAROS_RETURN_IF_ERROR(at_most_one("url", "url_file"));
  }
  return absl::OkStatus();
}

absl::Status Parser::DecodeDigest(const YAML::Node& n, DigestConfig* dc) const {
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "digest", {
      {"schedule", [&](const YAML::Node& v) { return d_.Scalar(v, "schedule", &dc->schedule); }},
      {"location", [&](const YAML::Node& v) { return d_.Scalar(v, "location", &dc->location); }},
  }));
  if (dc->schedule.empty()) return d_.Err(n, "digest: missing schedule");
  auto sched = ParseDigestSchedule(dc->schedule, dc->location);
  if (!sched.ok()) return d_.Err(n, sched.status().message());
  return absl::OkStatus();
}

absl::Status Parser::DecodeReceiver(const YAML::Node& n, Receiver* r) {
  Fields f = {
      {"name", [&](const YAML::Node& v) { return d_.Scalar(v, "name", &r->name); }},
      {"webhook_configs", [&](const YAML::Node& v) {
         return d_.List<WebhookConfig>(v, "webhook_configs", &r->webhook_configs, [&](const YAML::Node& x, WebhookConfig* w) { return DecodeWebhook(x, w); });
       }},
      {"pagerduty_configs", [&](const YAML::Node& v) {
         return d_.List<PagerDutyConfig>(v, "pagerduty_configs", &r->pagerduty_configs, [&](const YAML::Node& x, PagerDutyConfig* p) { return DecodePagerDuty(x, p); });
       }},
      {"slack_configs", [&](const YAML::Node& v) {
         return d_.List<SlackConfig>(v, "slack_configs", &r->slack_configs, [&](const YAML::Node& x, SlackConfig* s) { return DecodeSlack(x, s); });
       }},
      {"email_configs", [&](const YAML::Node& v) {
         return d_.List<EmailConfig>(v, "email_configs", &r->email_configs, [&](const YAML::Node& x, EmailConfig* e) { return DecodeEmail(x, e); });
       }},
      {"digest", [&](const YAML::Node& v) {
         if (v.IsNull()) return absl::OkStatus();
         r->digest.emplace();
         return DecodeDigest(v, &*r->digest);
       }},
  };
  for (const char* t : {"opsgenie", "victorops", "pushover", "wechat", "telegram", "sns",
                        "discord", "webex", "msteams", "msteamsv2", "jira", "rocketchat",
                        "mattermost", "incidentio"}) {
    std::string type = t, key = absl::StrCat(t, "_configs");
    f[key] = [this, type, key, r](const YAML::Node& v) {
      if (v.IsNull()) return absl::OkStatus();
      if (!v.IsSequence()) return d_.Err(v, absl::StrCat("\"", key, "\" must be a list"));
      for (const auto& x : v) PHAROS_RETURN_IF_ERROR(DecodeUnsupported(type, x));
      if (v.size() > 0 &&
          std::find(r->unsupported.begin(), r->unsupported.end(), type) == r->unsupported.end()) {
        r->unsupported.push_back(type);
      }
      return absl::OkStatus();
    };
  }
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "receiver", f));
  if (r->name.empty()) return d_.Err(n, "missing name in receiver");
  return absl::OkStatus();
}

absl::Status Parser::DecodeTimeSpec(const YAML::Node& n, TimeIntervalSpec* t) const {
  static const std::map<std::string, int> kWeekdays = {
      {"sunday", 0}, {"monday", 1}, {"tuesday", 2}, {"wednesday", 3},
      {"thursday", 4}, {"friday", 5}, {"saturday", 6}};
  static const std::map<std::string, int> kMonths = {
      {"january", 1}, {"february", 2}, {"march", 3}, {"april", 4}, {"may", 5}, {"june", 6},
      {"july", 7}, {"august", 8}, {"september", 9}, {"october", 10}, {"november", 11},
      {"december", 12}};
  static const char* kMonthNames[] = {"",     "january", "february",  "march",   "april",
                                      "may",  "june",    "july",      "august",  "september",
                                      "october", "november", "december"};
  auto atoi = [](const std::string& s, int* out) -> bool {
    return !s.empty() && !IsSpaceChar(s.front()) && absl::SimpleAtoi(s, out);
  };
  // stringableRangeFromString: "a:b" or "a", lower-cased; member parses one side.
  using MemberFn = std::function<absl::Status(const YAML::Node&, const std::string&, int*)>;
  auto parse_range = [&](const YAML::Node& node, const std::string& raw, const MemberFn& member,
                         IntRange* r) -> absl::Status {
    std::string in = raw;
    for (char& c : in) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (size_t colon = in.find(':'); colon != std::string::npos) {
      if (in.find(':', colon + 1) != std::string::npos) {
        return d_.Err(node, absl::StrCat("couldn't parse range ", in, ", invalid format"));
      }
      PHAROS_RETURN_IF_ERROR(member(node, in.substr(0, colon), &r->begin));
      return member(node, in.substr(colon + 1), &r->end);
    }
    PHAROS_RETURN_IF_ERROR(member(node, in, &r->begin));
    r->end = r->begin;
    return absl::OkStatus();
  };
  auto int_member = [&](const YAML::Node& node, const std::string& s, int* out) -> absl::Status {
    if (!atoi(s, out)) {
      return d_.Err(node, absl::StrCat("strconv.Atoi: parsing ", GoQuote(s), ": invalid syntax"));
    }
    return absl::OkStatus();
  };
  auto ranges = [&](const YAML::Node& v, const char* key, const MemberFn& member,
                    const std::function<absl::Status(const YAML::Node&, const std::string&, IntRange&)>& check,
                    std::vector<IntRange>* out) -> absl::Status {
    std::vector<std::string> items;
    PHAROS_RETURN_IF_ERROR(d_.StringList(v, key, &items));
    size_t i = 0;
    for (const auto& item_node : v) {
      IntRange r;
      PHAROS_RETURN_IF_ERROR(parse_range(item_node, items[i], member, &r));
      PHAROS_RETURN_IF_ERROR(check(item_node, items[i], r));
      out->push_back(r);
      ++i;
    }
    return absl::OkStatus();
  };
  auto parse_time = [&](const YAML::Node& node, const std::string& s, int* mins) -> absl::Status {
    // ^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)
    bool ok = s == "24:00" ||
              (s.size() == 5 && s[2] == ':' && std::isdigit(static_cast<unsigned char>(s[0])) &&
               std::isdigit(static_cast<unsigned char>(s[1])) &&
               std::isdigit(static_cast<unsigned char>(s[4])) && s[3] >= '0' && s[3] <= '5' &&
               ((s[0] <= '1') || (s[0] == '2' && s[1] <= '3')));
    if (!ok) return d_.Err(node, absl::StrCat("couldn't parse timestamp ", s, ", invalid format"));
    *mins = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
    return absl::OkStatus();
  };
  bool has_times = false;
  PHAROS_RETURN_IF_ERROR(d_.Map(n, "time interval", {
      {"times", [&](const YAML::Node& v) {
         has_times = !v.IsNull();
         return d_.List<TimeRange>(v, "times", &t->times, [&](const YAML::Node& x, TimeRange* tr) {
           std::string st, et;
           PHAROS_RETURN_IF_ERROR(d_.Map(x, "time range", {
               {"start_time", [&](const YAML::Node& y) { return d_.Scalar(y, "start_time", &st); }},
               {"end_time", [&](const YAML::Node& y) { return d_.Scalar(y, "end_time", &et); }},
           }));
           if (st.empty() || et.empty()) return d_.Err(x, "both start and end times must be provided");
           PHAROS_RETURN_IF_ERROR(parse_time(x, st, &tr->start_minute));
           PHAROS_RETURN_IF_ERROR(parse_time(x, et, &tr->end_minute));
           if (tr->start_minute >= tr->end_minute) {
             return d_.Err(x, "start time cannot be equal or greater than end time");
           }
           return absl::OkStatus();
         });
       }},
      {"weekdays", [&](const YAML::Node& v) {
         return ranges(v, "weekdays",
             [&](const YAML::Node& node, const std::string& s, int* out) -> absl::Status {
               auto it = kWeekdays.find(s);
               if (it == kWeekdays.end()) return d_.Err(node, absl::StrCat(s, " is not a valid weekday"));
               *out = it->second;
               return absl::OkStatus();
             },
             [&](const YAML::Node& node, const std::string&, IntRange& r) -> absl::Status {
               if (r.begin > r.end) return d_.Err(node, "start day cannot be before end day");
               return absl::OkStatus();
             },
             &t->weekdays);
       }},
      {"days_of_month", [&](const YAML::Node& v) {
         return ranges(v, "days_of_month", int_member,
             [&](const YAML::Node& node, const std::string&, IntRange& r) -> absl::Status {
               if (r.begin == 0 || r.begin < -31 || r.begin > 31) {
                 return d_.Err(node, absl::StrCat(r.begin, " is not a valid day of the month: out of range"));
               }
               if (r.end == 0 || r.end < -31 || r.end > 31) {
                 return d_.Err(node, absl::StrCat(r.end, " is not a valid day of the month: out of range"));
               }
               if (r.begin < 0 && r.end > 0) {
                 return d_.Err(node, "end day must be negative if start day is negative");
               }
               int cb = r.begin < 0 ? 28 + r.begin : r.begin, ce = r.end < 0 ? 28 + r.end : r.end;
               if (cb > ce) {
                 return d_.Err(node, absl::StrCat("end day ", r.end, " is always before start day ", r.begin));
               }
               return absl::OkStatus();
             },
             &t->days_of_month);
       }},
      {"months", [&](const YAML::Node& v) {
         return ranges(v, "months",
             [&](const YAML::Node& node, const std::string& s, int* out) -> absl::Status {
               auto it = kMonths.find(s);
               if (it != kMonths.end()) {
                 *out = it->second;
                 return absl::OkStatus();
               }
               if (!atoi(s, out)) return d_.Err(node, absl::StrCat(s, " is not a valid month"));
               return absl::OkStatus();
             },
             [&](const YAML::Node& node, const std::string& raw, IntRange& r) -> absl::Status {
               if (r.begin < 1 || r.begin > 12 || r.end < 1 || r.end > 12) {
                 // Alertmanager accepts these and never matches them; Pharos says so instead.
                 return d_.Err(node, absl::StrCat(raw, " is not a valid month: out of range"));
               }
               if (r.begin > r.end) {
                 return d_.Err(node, absl::StrCat("end month ", kMonthNames[r.end],
                                                  " is before start month ", kMonthNames[r.begin]));
               }
               return absl::OkStatus();
             },
             &t->months);
       }},
      {"years", [&](const YAML::Node& v) {
         return ranges(v, "years", int_member,
             [&](const YAML::Node& node, const std::string&, IntRange& r) -> absl::Status {
               if (r.begin > r.end) {
                 return d_.Err(node, absl::StrCat("end year ", r.end, " is before start year ", r.begin));
               }
               return absl::OkStatus();
             },
             &t->years);
       }},
      {"location", [&](const YAML::Node& v) {
         PHAROS_RETURN_IF_ERROR(d_.Scalar(v, "location", &t->location));
         absl::TimeZone tz;
         if (t->location.empty()) t->location = "UTC";
         if (!absl::LoadTimeZone(t->location, &tz)) {
           return d_.Err(v, absl::StrCat("unknown time zone ", t->location));
         }
         return absl::OkStatus();
       }},
  }));
  (void)has_times;
  return absl::OkStatus();
}

absl::Status Parser::DecodeTimeInterval(const YAML::Node& n, NamedTimeInterval* t,
                                        bool mute) const {
  PHAROS_RETURN_IF_ERROR(d_.Map(n, mute ? "mute time interval" : "time interval", {
      {"name", [&](const YAML::Node& v) { return d_.Scalar(v, "name", &t->name); }},
      {"time_intervals", [&](const YAML::Node& v) {
         return d_.List<TimeIntervalSpec>(v, "time_intervals", &t->intervals, [&](const YAML::Node& x, TimeIntervalSpec* s) { return DecodeTimeSpec(x, s); });
       }},
  }));
  if (t->name.empty()) {
    return d_.Err(n, mute ? "missing name in mute time interval" : "missing name in time interval");
  }
  return absl::OkStatus();
}

// Alertmanager checks all receivers of the tree (checkReceiver), then the time interval names
// (checkTimeInterval): one of the two sets is given per call. Children before the node itself.
absl::Status Parser::CheckRouteRefs(const Route& r, const std::set<std::string>* receivers,
                                    const std::set<std::string>* intervals) const {
  for (const Route& child : r.routes) PHAROS_RETURN_IF_ERROR(CheckRouteRefs(child, receivers, intervals));
  if (receivers && !r.receiver.empty() && !receivers->count(r.receiver)) {
    return d_.Err(RouteNode(r), absl::StrCat("undefined receiver ", GoQuote(r.receiver), " used in route"));
  }
  if (intervals) {
    for (const auto* list : {&r.active_time_intervals, &r.mute_time_intervals}) {
      for (const std::string& ti : *list) {
        if (!intervals->count(ti)) {
          return d_.Err(RouteNode(r), absl::StrCat("undefined time interval ", GoQuote(ti), " used in route"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::Parse(const YAML::Node& root, Config* c) {
  std::map<std::string, YAML::Node> sec;
  Fields top;
  for (const char* k : {"global", "route", "inhibit_rules", "receivers", "templates",
                        "mute_time_intervals", "time_intervals"}) {
    top[k] = Keep(&sec, k);
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    return d_.Err(root, "the configuration must be a mapping");
  }
  PHAROS_RETURN_IF_ERROR(d_.Map(root, "config", top));
  if (sec.count("global")) PHAROS_RETURN_IF_ERROR(DecodeGlobal(sec["global"]));
  c->global = g_;

  if (sec.count("templates")) PHAROS_RETURN_IF_ERROR(d_.StringList(sec["templates"], "templates", &c->templates));

  // Receivers (with the global defaults applied) and their unique names.
  std::set<std::string> names;
  if (sec.count("receivers")) {
    const YAML::Node& rs = sec["receivers"];
    if (!rs.IsNull()) {
      if (!rs.IsSequence()) return d_.Err(rs, "\"receivers\" must be a list");
      for (const auto& x : rs) {
        Receiver r;
        PHAROS_RETURN_IF_ERROR(DecodeReceiver(x, &r));
        if (!names.insert(r.name).second) {
          return d_.Err(x, absl::StrCat("notification config name ", GoQuote(r.name), " is not unique"));
        }
        c->receivers.push_back(std::move(r));
      }
    }
  }

  if (sec.count("inhibit_rules")) {
    PHAROS_RETURN_IF_ERROR(d_.List<InhibitRule>(sec["inhibit_rules"], "inhibit_rules", &c->inhibit_rules,
        [&](const YAML::Node& x, InhibitRule* r) { return DecodeInhibit(x, r); }));
  }

  std::vector<std::pair<YAML::Node, bool>> ti_nodes;
  if (sec.count("mute_time_intervals")) {
    PHAROS_RETURN_IF_ERROR(d_.List<NamedTimeInterval>(sec["mute_time_intervals"], "mute_time_intervals", &c->time_intervals,
        [&](const YAML::Node& x, NamedTimeInterval* t) { ti_nodes.emplace_back(x, true); return DecodeTimeInterval(x, t, true); }));
  }
  if (sec.count("time_intervals")) {
    PHAROS_RETURN_IF_ERROR(d_.List<NamedTimeInterval>(sec["time_intervals"], "time_intervals", &c->time_intervals,
        [&](const YAML::Node& x, NamedTimeInterval* t) { ti_nodes.emplace_back(x, false); return DecodeTimeInterval(x, t, false); }));
  }

  auto rit = sec.find("route");
  if (rit == sec.end() || rit->second.IsNull()) return d_.Err(root, "no route provided in config");
  const YAML::Node& rn = rit->second;
  PHAROS_RETURN_IF_ERROR(DecodeRoute(rn, &c->route));
  const Route& root_route = c->route;
  if (root_route.continue_) return d_.Err(rn, "cannot have continue in root route");
  if (root_route.receiver.empty()) return d_.Err(rn, "root route must specify a default receiver");
  if (!root_route.matchers.empty()) return d_.Err(rn, "root route must not have any matchers");
  if (!root_route.mute_time_intervals.empty()) {
    return d_.Err(rn, "root route must not have any mute time intervals");
  }
  if (!root_route.active_time_intervals.empty()) {
    return d_.Err(rn, "root route must not have any active time intervals");
  }
  PHAROS_RETURN_IF_ERROR(CheckRouteRefs(root_route, &names, nullptr));
  std::set<std::string> ti_names;
  for (size_t i = 0; i < c->time_intervals.size(); ++i) {
    if (!ti_names.insert(c->time_intervals[i].name).second) {
      const bool mute = i < ti_nodes.size() && ti_nodes[i].second;
      return d_.Err(i < ti_nodes.size() ? ti_nodes[i].first : root,
                    absl::StrCat(mute ? "mute time interval " : "time interval ",
                                 GoQuote(c->time_intervals[i].name), " is not unique"));
    }
  }
  return CheckRouteRefs(root_route, nullptr, &ti_names);
}

// ---- MaskedYaml ----

// Keys whose values are secrets wherever they appear (Alertmanager's Secret/SecretURL fields
// and prometheus/common's secrets).
const std::set<std::string>& SecretKeys() {
  static const std::set<std::string>* keys = new std::set<std::string>{
      "password", "credentials", "bearer_token", "client_secret", "key",
      "smtp_auth_password", "smtp_auth_secret", "auth_password", "auth_secret",
      "slack_api_url", "slack_app_token", "opsgenie_api_key", "victorops_api_key",
      "wechat_api_secret", "telegram_bot_token", "rocketchat_token", "rocketchat_token_id",
      "mattermost_webhook_url", "service_key", "api_key", "api_secret", "token", "token_id",
      "user_key", "bot_token", "app_token", "webhook_url", "secret_key", "alert_source_token"};
  return *keys;
}

YAML::Node Mask(const YAML::Node& n, const std::string& parent_list) {
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : n) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      bool secret = SecretKeys().count(k) > 0 ||
                    (k == "routing_key" && parent_list == "pagerduty_configs") ||
                    (k == "url" && (parent_list == "webhook_configs" || parent_list == "incidentio_configs")) ||
                    (k == "api_url" && parent_list == "slack_configs");
      if (secret && kv.second.IsScalar() && !kv.second.Scalar().empty()) {
        out[kv.first] = "<secret>";
      } else {
        out[kv.first] = Mask(kv.second, k.ends_with("_configs") ? k : parent_list);
      }
    }
    return out;
  }
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : n) out.push_back(Mask(item, parent_list));
    return out;
  }
  return YAML::Clone(n);
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text, std::string_view source) {
  Config c;
  Parser p(source);
  Decoder d(Av(source));
  PHAROS_RETURN_IF_ERROR(yaml::LoadAndDecode(d, std::string(yaml_text), [&](const YAML::Node& root) {
    return p.Parse(root, &c);
  }));
  c.source = std::string(source);
  c.text = std::string(yaml_text);
  return c;
}

absl::StatusOr<Config> ParseConfigAt(std::string_view yaml_text, std::string_view source,
                                     const std::vector<std::string>& path) {
  Config c;
  Parser p(source);
  Decoder d(Av(source));
  PHAROS_RETURN_IF_ERROR(yaml::LoadAndDecode(d, std::string(yaml_text), [&](const YAML::Node& root) {
    // Walked by recursion on const nodes: yaml-cpp's Node::operator= would overwrite the
    // tree rather than rebind, and non-const operator[] inserts missing keys.
    std::function<absl::Status(const YAML::Node&, size_t)> walk =
        [&](const YAML::Node& n, size_t i) -> absl::Status {
      if (i < path.size()) {
        if (!n.IsMap()) return absl::OkStatus();  // absent: an empty config
        const YAML::Node child = n[path[i]];
        if (!child) return absl::OkStatus();
        return walk(child, i + 1);
      }
      PHAROS_RETURN_IF_ERROR(p.Parse(n, &c));
      YAML::Emitter out;
      out << n;
      c.text = std::string(out.c_str()) + "\n";
      return absl::OkStatus();
    };
    return walk(root, 0);
  }));
  c.source = std::string(source);
  return c;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  PHAROS_ASSIGN_OR_RETURN(Config c, ParseConfig(ss.str(), path));
  // Template globs are relative to the config file's directory (config.resolveFilepaths).
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (std::string& t : c.templates) {
    if (!t.empty() && std::filesystem::path(t).is_relative()) t = (dir / t).string();
  }
  return c;
}

absl::Status CheckConfigFile(const std::string& path) { return LoadConfigFile(path).status(); }

std::string MaskedYaml(const Config& c) {
  try {
    YAML::Node root = YAML::Load(c.text);
    if (!root || root.IsNull()) return "{}\n";
    YAML::Emitter out;
    out << Mask(root, "");
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception&) {
    // The text was parsed when the config was loaded; this is unreachable for loaded configs.
    return "{}\n";
  }
}

}  // namespace pharos::alerting::am
