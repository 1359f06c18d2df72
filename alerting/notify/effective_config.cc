#include <cctype>

#include "alerting/notify/internal/effective_config.h"

namespace pharos::alerting::notify::internal {

namespace {

// Go's textproto.CanonicalMIMEHeaderKey for the common case: "x-my-header" → "X-My-Header".
std::string CanonicalHeaderKey(const std::string& k) {
  std::string out = k;
  bool upper = true;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
    upper = c == '-';
  }
  return out;
}

}  // namespace

bool IsDefaultHttpConfig(const am::HttpConfig& c) {
  am::HttpConfig d;
  return c.basic_auth_username == d.basic_auth_username &&
         c.basic_auth_password == d.basic_auth_password &&
         c.basic_auth_password_file == d.basic_auth_password_file &&
         c.authorization_type == d.authorization_type &&
         c.authorization_credentials == d.authorization_credentials &&
         c.authorization_credentials_file == d.authorization_credentials_file &&
         c.bearer_token == d.bearer_token && c.bearer_token_file == d.bearer_token_file &&
         c.proxy_url == d.proxy_url && c.tls_ca_file == d.tls_ca_file &&
         c.tls_cert_file == d.tls_cert_file && c.tls_key_file == d.tls_key_file &&
         c.tls_server_name == d.tls_server_name &&
         c.tls_insecure_skip_verify == d.tls_insecure_skip_verify &&
         c.follow_redirects == d.follow_redirects && c.enable_http2 == d.enable_http2;
}

am::Receiver ApplyDefaults(const am::Receiver& in, const am::GlobalConfig& g) {
  am::Receiver r = in;
  // An integration without its own http_config uses the global one (Alertmanager: nil
  // HTTPConfig → global). A config identical to the defaults is taken as "not given".
  auto http = [&g](am::NotifierCommon* c) {
    if (IsDefaultHttpConfig(c->http_config)) c->http_config = g.http_config;
  };
  for (auto& w : r.webhook_configs) http(&w);
  for (auto& p : r.pagerduty_configs) {
    http(&p);
    if (p.url.empty()) p.url = g.pagerduty_url;
    if (p.routing_key.empty() && p.routing_key_file.empty()) {
      p.routing_key = p.service_key;
      p.routing_key_file = p.service_key_file;
    }
    if (p.severity.empty() || p.severity == "error") p.severity = kPharosPagerDutySeverity;
    static const std::pair<const char*, const char*> kDetails[] = {
        {"firing", "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}"},
        {"resolved", "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}"},
        {"num_firing", "{{ .Alerts.Firing | len }}"},
        {"num_resolved", "{{ .Alerts.Resolved | len }}"},
    };
    for (const auto& [k, v] : kDetails) p.details.emplace(k, v);  // keeps the user's
  }
  for (auto& s : r.slack_configs) {
    http(&s);
    if (s.app_token.empty() && s.app_token_file.empty()) {
      s.app_token = g.slack_app_token;
      s.app_token_file = g.slack_app_token_file;
    }
    const bool app = !s.app_token.empty() || !s.app_token_file.empty();
    if (app && s.app_url.empty()) s.app_url = g.slack_app_url;
    if (!app && s.api_url.empty() && s.api_url_file.empty()) {
      s.api_url = g.slack_api_url;
      s.api_url_file = g.slack_api_url_file;
    }
    if (s.color == kAlertmanagerSlackColor) s.color = kPharosSlackColor;
    if (s.mrkdwn_in.empty()) s.mrkdwn_in = {"fallback", "pretext", "text"};
  }
  for (auto& e : r.email_configs) {
    if (e.from.empty()) e.from = g.smtp.from;
    if (e.hello.empty()) e.hello = g.smtp.hello;
    if (e.smarthost.empty()) e.smarthost = g.smtp.smarthost;
    if (e.auth_username.empty()) e.auth_username = g.smtp.auth_username;
    if (e.auth_password.empty() && e.auth_password_file.empty()) {
      e.auth_password = g.smtp.auth_password;
      e.auth_password_file = g.smtp.auth_password_file;
    }
    if (e.auth_secret.empty() && e.auth_secret_file.empty()) {
      e.auth_secret = g.smtp.auth_secret;
      e.auth_secret_file = g.smtp.auth_secret_file;
    }
    if (e.auth_identity.empty()) e.auth_identity = g.smtp.auth_identity;
    if (!e.require_tls.has_value()) e.require_tls = g.smtp.require_tls;
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : e.headers) headers[CanonicalHeaderKey(k)] = v;
    headers.emplace("Subject", kEmailSubject);
    headers.emplace("To", e.to);
    headers.emplace("From", e.from);
    e.headers = std::move(headers);
    if (e.text.empty()) e.text = kPharosEmailText;
  }
  return r;
}

void CollectTemplateStrings(const am::Receiver& r, std::vector<std::string>* text,
                            std::vector<std::string>* html) {
  auto t = [text](const std::string& s) { text->push_back(s); };
  for (const auto& p : r.pagerduty_configs) {
    for (const auto* s : {&p.routing_key, &p.client, &p.client_url, &p.description, &p.severity,
                          &p.clazz, &p.component, &p.group, &p.source}) {
      t(*s);
    }
    for (const auto& [k, v] : p.details) t(v);
    for (const auto& l : p.links) { t(l.href); t(l.text); }
    for (const auto& i : p.images) { t(i.src); t(i.alt); t(i.href); }
  }
  for (const auto& s : r.slack_configs) {
    for (const auto* f : {&s.channel, &s.username, &s.color, &s.title, &s.title_link, &s.pretext,
                          &s.text, &s.fallback, &s.footer, &s.icon_emoji, &s.icon_url,
                          &s.callback_id, &s.image_url, &s.thumb_url}) {
      t(*f);
    }
    for (const auto& f : s.fields) { t(f.title); t(f.value); }
  }
  for (const auto& e : r.email_configs) {
    t(e.to);
    t(e.from);
    t(e.text);
    for (const auto& [k, v] : e.headers) t(v);
    html->push_back(e.html);
  }
}

}  // namespace pharos::alerting::notify::internal
