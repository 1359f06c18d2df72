#pragma once

// The router's configuration: Alertmanager's YAML format (alertmanager.yml), read strictly.
// Defaults are Alertmanager's; durations are milliseconds. Secrets are kept as read and masked
// only when the config is shown (MaskedYaml).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/labels/matcher.h"

namespace pharos::alerting::am {

// Alertmanager matchers (`foo="bar"`, `foo=~"a|b"`, `foo!=bar`, `{a="b", c=~"d"}`), matched on a
// label set where an absent label is "". Regexes are fully anchored.
using Matchers = std::vector<Matcher>;

// Parses one matcher or a brace-enclosed list, Alertmanager's UTF-8 matcher syntax (values may
// be unquoted). "matchers" config entries and amtool/API filters use this.
absl::StatusOr<Matchers> ParseMatchers(std::string_view text);
std::string MatcherString(const Matcher& m);  // foo=~"a|b"

struct HttpConfig {
  std::string basic_auth_username, basic_auth_password, basic_auth_password_file;
  std::string authorization_type = "Bearer", authorization_credentials,
              authorization_credentials_file;
  std::string bearer_token, bearer_token_file;  // deprecated forms, as read
  std::string proxy_url;
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  bool tls_insecure_skip_verify = false;
  bool follow_redirects = true;
  bool enable_http2 = true;
};

struct SmtpGlobal {
  std::string from, hello = "localhost", smarthost, auth_username, auth_password,
              auth_password_file, auth_secret, auth_secret_file, auth_identity;
  bool require_tls = true;
};

struct GlobalConfig {
  int64_t resolve_timeout_ms = 5 * 60 * 1000;
  HttpConfig http_config;
  SmtpGlobal smtp;
  std::string slack_api_url, slack_api_url_file;
  std::string slack_app_token, slack_app_token_file;
  std::string slack_app_url = "https://slack.com/api/chat.postMessage";
  std::string pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
  // Accepted so existing configs load; those integrations are not implemented by Pharos.
  std::map<std::string, std::string> other;
};

// ---- Integrations (receivers' *_configs) ----

struct NotifierCommon {
  bool send_resolved = false;  // per-integration default (webhook/pagerduty: true; email/slack: false)
  HttpConfig http_config;
};

struct WebhookConfig : NotifierCommon {
  std::string url, url_file;
  uint64_t max_alerts = 0;  // 0: all
  int64_t timeout_ms = 0;   // 0: the router's default
};

struct PagerDutyConfig : NotifierCommon {
  std::string routing_key, routing_key_file;  // Events API v2
  std::string service_key, service_key_file;  // v1 (accepted, sent as v2 with routing_key)
  std::string url;                            // default: global.pagerduty_url
  std::string client = "{{ template \"pagerduty.default.client\" . }}";
  std::string client_url = "{{ template \"pagerduty.default.clientURL\" . }}";
  std::string description = "{{ template \"pagerduty.default.description\" .}}";
  std::map<std::string, std::string> details;  // default: firing/resolved/num_* templates
  std::string severity = "error", clazz, component, group, source;
  struct Link { std::string href, text; };
  struct Image { std::string src, alt, href; };
  std::vector<Link> links;
  std::vector<Image> images;
};

struct SlackConfig : NotifierCommon {
  std::string api_url, api_url_file;  // default: global.slack_api_url
  // Slack App (bot) token: sent as "Authorization: Bearer" to app_url (chat.postMessage).
  std::string app_token, app_token_file, app_url;
  bool update_message = false;
  std::string channel, username = "{{ template \"slack.default.username\" . }}";
  std::string color = "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}";
  std::string title = "{{ template \"slack.default.title\" . }}";
  std::string title_link = "{{ template \"slack.default.titlelink\" . }}";
  std::string pretext = "{{ template \"slack.default.pretext\" . }}";
  std::string text = "{{ template \"slack.default.text\" . }}";
  std::string fallback = "{{ template \"slack.default.fallback\" . }}";
  std::string footer = "{{ template \"slack.default.footer\" . }}";
  std::string icon_emoji, icon_url, callback_id, image_url, thumb_url;
  bool short_fields = false, link_names = false;
  std::vector<std::string> mrkdwn_in = {"fallback", "pretext", "text"};
  struct Field { std::string title, value; bool short_ = false; };
  std::vector<Field> fields;
};

struct EmailConfig : NotifierCommon {
  std::string to, from, hello, smarthost;  // smarthost "host:port"; defaults from global.smtp
  std::string auth_username, auth_password, auth_password_file, auth_secret, auth_secret_file,
              auth_identity;
  std::optional<bool> require_tls;          // default: global.smtp.require_tls
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  bool tls_insecure_skip_verify = false;
  std::map<std::string, std::string> headers;  // Subject/To/From defaults filled in
  std::string html = "{{ template \"email.default.html\" . }}";
  std::string text;
};

// Schedule for a digest receiver: notifications are collected and a summary is sent at each
// scheduled time (Pharos extension; see alerting/README.md).
struct DigestConfig {
  // "daily 09:00", "weekly monday 09:00" or "hourly :15", in `location` (IANA name, default UTC).
  std::string schedule;
  std::string location = "UTC";
};

struct Receiver {
  std::string name;
  std::vector<WebhookConfig> webhook_configs;
  std::vector<PagerDutyConfig> pagerduty_configs;
  std::vector<SlackConfig> slack_configs;
  std::vector<EmailConfig> email_configs;
  // Integrations Alertmanager has and Pharos accepts in config but cannot deliver to
  // (opsgenie, victorops, ...): their type names, so startup logs a warning and sends fail loudly.
  std::vector<std::string> unsupported;
  std::optional<DigestConfig> digest;
};

struct Route {
  std::string receiver;                 // inherited from the parent when empty
  std::vector<std::string> group_by;    // label names; {"..."} groups by all labels
  bool group_by_all = false;
  Matchers matchers;                    // includes converted match/match_re
  bool continue_ = false;
  std::optional<int64_t> group_wait_ms, group_interval_ms, repeat_interval_ms;  // inherited
  std::vector<std::string> mute_time_intervals, active_time_intervals;
  std::vector<Route> routes;
};

struct InhibitRule {
  Matchers source_matchers, target_matchers;  // includes converted source_match(_re)/target_match(_re)
  std::vector<std::string> equal;
};

// One entry of a time_intervals list (Alertmanager timeinterval.TimeInterval).
struct TimeRange { int start_minute = 0, end_minute = 24 * 60; };    // [start, end) of the day
struct IntRange { int begin = 0, end = 0; };                          // inclusive
struct TimeIntervalSpec {
  std::vector<TimeRange> times;
  std::vector<IntRange> weekdays;        // 0 = Sunday
  std::vector<IntRange> days_of_month;   // may be negative (from the end of the month)
  std::vector<IntRange> months;          // 1..12
  std::vector<IntRange> years;
  std::string location = "UTC";
};
struct NamedTimeInterval {
  std::string name;
  std::vector<TimeIntervalSpec> intervals;  // active when any matches
};

struct Config {
  GlobalConfig global;
  Route route;  // the root: must have a receiver, no matchers
  std::vector<InhibitRule> inhibit_rules;
  std::vector<Receiver> receivers;
  std::vector<NamedTimeInterval> time_intervals;  // incl. deprecated mute_time_intervals
  std::vector<std::string> templates;             // globs, relative to the config's directory

  std::string source;  // file name, or where in Pharos's config it came from
  std::string text;    // the YAML as loaded
};

// Parses Alertmanager YAML. Errors name source:line:col, or for semantic errors use
// Alertmanager's exact wording (e.g. "undefined receiver \"x\" used in route").
absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view source);
absl::StatusOr<Config> LoadConfigFile(const std::string& path);
// LoadConfigFile's status, for `pharos check alertmanager-config FILE...`.
absl::Status CheckConfigFile(const std::string& path);
// The config as YAML with secrets replaced by <secret> (for /api/v2/status).
std::string MaskedYaml(const Config& c);

}  // namespace pharos::alerting::am
