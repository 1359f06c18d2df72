#include "alerting/notify/integrations.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "alerting/notify/email.h"
#include "alerting/notify/http_client.h"
#include "alerting/notify/internal/curl_util.h"
#include "alerting/notify/internal/effective_config.h"
#include "alerting/notify/internal/render.h"
#include "alerting/notify/template_data.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/units.h"

namespace pharos::alerting::notify {

namespace {

void WriteKV(JsonWriter* w, const am::LabelSet& kv) {
  w->BeginObject();
  for (const auto& [k, v] : kv) w->KV(k, v);
  w->EndObject();
}

// Posts a JSON body and classifies the outcome as Alertmanager's Retrier does: 2xx success;
// 5xx and 429 retried; other codes not; transport errors retried.
NotifyResult PostJson(const std::string& what, const std::string& url, std::string body,
                      const am::HttpConfig& http, int64_t timeout_ms) {
  HttpRequest req;
  req.url = url;
  req.body = std::move(body);
  req.timeout_ms = timeout_ms;
  auto resp = HttpPost(req, http);
  if (!resp.ok()) {
    return {absl::Status(resp.status().code(),
                         absl::StrCat(what, ": ", resp.status().message())),
            IsRetryableError(resp.status())};
  }
  if (resp->status / 100 == 2) return {absl::OkStatus(), false};
  std::string msg = absl::StrCat(what, ": unexpected status code ", resp->status);
  std::string_view detail = internal::TrimSpace(resp->body);
  if (!detail.empty()) absl::StrAppend(&msg, ": ", Av(detail.substr(0, 1024)));
  bool retry = IsRetryableStatus(resp->status);
  return {retry ? absl::UnavailableError(msg) : absl::FailedPreconditionError(msg), retry};
}

NotifyResult NotRetryable(absl::Status s) { return {std::move(s), false}; }

absl::StatusOr<std::string> UrlOrFile(const std::string& url, const std::string& file,
                                      const char* field) {
  if (!file.empty()) {
    auto s = ReadSecretFile(file);
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat(field, "_file: ", s.status().message()));
    return *s;
  }
  if (url.empty()) return absl::FailedPreconditionError(absl::StrCat("no ", field, " configured"));
  return url;
}

// ---- webhook ----

class Webhook : public Integration {
 public:
  Webhook(am::WebhookConfig c, int index) : c_(std::move(c)), index_(index) {}
  std::string type() const override { return "webhook"; }
  int index() const override { return index_; }
  bool send_resolved() const override { return c_.send_resolved; }
  NotifyResult Notify(const NotificationContext& ctx, const std::vector<am::Alert>& alerts) override {
    auto url = UrlOrFile(c_.url, c_.url_file, "url");
    if (!url.ok()) return NotRetryable(url.status());
    int64_t timeout = c_.timeout_ms > 0 ? c_.timeout_ms : ctx.timeout_ms;
    return PostJson("webhook", *url, WebhookPayload(ctx, alerts, c_.max_alerts), c_.http_config,
                    timeout);
  }

 private:
  am::WebhookConfig c_;
  int index_;
};

// ---- PagerDuty ----

class PagerDuty : public Integration {
 public:
  PagerDuty(am::PagerDutyConfig c, int index) : c_(std::move(c)), index_(index) {}
  std::string type() const override { return "pagerduty"; }
  int index() const override { return index_; }
  bool send_resolved() const override { return c_.send_resolved; }
  NotifyResult Notify(const NotificationContext& ctx, const std::vector<am::Alert>& alerts) override {
    am::PagerDutyConfig c = c_;
    if (!c.routing_key_file.empty()) {
      auto key = ReadSecretFile(c.routing_key_file);
      if (!key.ok()) return NotRetryable(key.status());
      c.routing_key = *key;
    }
    auto body = PagerDutyPayload(c, ctx, alerts);
    if (!body.ok()) return NotRetryable(body.status());
    return PostJson("pagerduty", c.url, *std::move(body), c.http_config, ctx.timeout_ms);
  }

 private:
  am::PagerDutyConfig c_;
  int index_;
};

// ---- Slack ----

class Slack : public Integration {
 public:
  Slack(am::SlackConfig c, int index) : c_(std::move(c)), index_(index) {}
  std::string type() const override { return "slack"; }
  int index() const override { return index_; }
  bool send_resolved() const override { return c_.send_resolved; }
  NotifyResult Notify(const NotificationContext& ctx, const std::vector<am::Alert>& alerts) override {
    // A Slack App (bot token) posts to chat.postMessage with the token as a bearer credential;
    // otherwise the incoming-webhook URL.
    am::HttpConfig http = c_.http_config;
    std::string url;
    if (!c_.app_token.empty() || !c_.app_token_file.empty()) {
      auto token = UrlOrFile(c_.app_token, c_.app_token_file, "app_token");
      if (!token.ok()) return NotRetryable(token.status());
      http.authorization_type = "Bearer";
      http.authorization_credentials = *token;
      http.authorization_credentials_file.clear();
      url = c_.app_url;
    } else {
      auto u = UrlOrFile(c_.api_url, c_.api_url_file, "api_url");
      if (!u.ok()) return NotRetryable(u.status());
      url = *u;
    }
    auto body = SlackPayload(c_, ctx, alerts);
    if (!body.ok()) return NotRetryable(body.status());
    NotifyResult r = PostJson("slack", url, *std::move(body), http, ctx.timeout_ms);
    if (!r.status.ok() && !c_.channel.empty()) {
      r.status = absl::Status(r.status.code(),
                              absl::StrCat("channel \"", c_.channel, "\": ", r.status.message()));
    }
    return r;
  }

 private:
  am::SlackConfig c_;
  int index_;
};

// ---- email ----

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

class Email : public Integration {
 public:
  Email(am::EmailConfig c, int index) : c_(std::move(c)), index_(index), hostname_(Hostname()) {}
  std::string type() const override { return "email"; }
  int index() const override { return index_; }
  bool send_resolved() const override { return c_.send_resolved; }
  NotifyResult Notify(const NotificationContext& ctx, const std::vector<am::Alert>& alerts) override {
    auto msg = RenderEmail(c_, ctx, alerts);
    if (!msg.ok()) return NotRetryable(msg.status());
    SmtpOptions o;
    o.smarthost = c_.smarthost;
    o.hello = c_.hello;
    o.require_tls = c_.require_tls.value_or(true);
    o.username = c_.auth_username;
    o.password = c_.auth_password;
    if (!c_.auth_password_file.empty()) {
      auto p = ReadSecretFile(c_.auth_password_file);
      if (!p.ok()) return NotRetryable(absl::FailedPreconditionError(
          absl::StrCat("auth_password_file: ", p.status().message())));
      o.password = *p;
    }
    o.secret = c_.auth_secret;
    if (!c_.auth_secret_file.empty()) {
      auto p = ReadSecretFile(c_.auth_secret_file);
      if (!p.ok()) return NotRetryable(absl::FailedPreconditionError(
          absl::StrCat("auth_secret_file: ", p.status().message())));
      o.secret = *p;
    }
    o.identity = c_.auth_identity;
    o.tls_ca_file = c_.tls_ca_file;
    o.tls_cert_file = c_.tls_cert_file;
    o.tls_key_file = c_.tls_key_file;
    o.tls_server_name = c_.tls_server_name;
    o.tls_insecure_skip_verify = c_.tls_insecure_skip_verify;
    o.timeout_ms = ctx.timeout_ms;
    MimeParts parts;
    parts.headers = msg->headers;
    parts.text = msg->text;
    parts.html = msg->html;
    parts.date_ms = ctx.now_ms;
    parts.message_id_domain = hostname_;
    absl::Status s = SendMail(o, msg->envelope_from, msg->recipients, BuildMimeMessage(parts));
    if (s.ok()) return {s, false};
    bool retry = s.code() != absl::StatusCode::kInvalidArgument &&
                 s.code() != absl::StatusCode::kFailedPrecondition;
    return {absl::Status(s.code(), absl::StrCat("email: ", s.message())), retry};
  }

 private:
  am::EmailConfig c_;
  int index_;
  std::string hostname_;
};

}  // namespace

std::string WebhookPayload(const NotificationContext& ctx, const std::vector<am::Alert>& alerts,
                           uint64_t max_alerts) {
  uint64_t truncated = 0;
  std::vector<am::Alert> kept;
  const std::vector<am::Alert>* use = &alerts;
  if (max_alerts != 0 && alerts.size() > max_alerts) {
    kept.assign(alerts.begin(), alerts.begin() + static_cast<std::ptrdiff_t>(max_alerts));
    truncated = alerts.size() - max_alerts;
    use = &kept;
  }
  TemplateData d = MakeTemplateData(ctx, *use);
  JsonWriter w;
  w.BeginObject();
  w.KV("receiver", d.receiver);
  w.KV("status", d.status);
  w.Key("alerts");
  w.BeginArray();
  for (const AlertData& a : d.alerts) {
    w.BeginObject();
    w.KV("status", a.status);
    w.Key("labels");
    WriteKV(&w, a.labels);
    w.Key("annotations");
    WriteKV(&w, a.annotations);
    w.KV("startsAt", FormatRfc3339NanoMs(a.starts_at_ms));
    w.KV("endsAt", FormatRfc3339NanoMs(a.ends_at_ms));
    w.KV("generatorURL", a.generator_url);
    w.KV("fingerprint", a.fingerprint);
    w.EndObject();
  }
  w.EndArray();
  w.Key("groupLabels");
  WriteKV(&w, d.group_labels);
  w.Key("commonLabels");
  WriteKV(&w, d.common_labels);
  w.Key("commonAnnotations");
  WriteKV(&w, d.common_annotations);
  w.KV("externalURL", d.external_url);
  w.KV("version", "4");
  w.KV("groupKey", ctx.group_key);
  w.Key("truncatedAlerts");
  w.Int(static_cast<int64_t>(truncated));
  w.EndObject();
  return std::move(w).Take();
}

absl::StatusOr<std::string> PagerDutyPayload(const am::PagerDutyConfig& c,
                                             const NotificationContext& ctx,
                                             const std::vector<am::Alert>& alerts) {
  TemplateData d = MakeTemplateData(ctx, alerts);
  internal::Renderer r(ctx, ToTemplateValue(d));
  const bool resolve = d.status == "resolved";
  std::map<std::string, std::string> details;
  for (const auto& [k, v] : c.details) details[k] = r.Text(v);
  std::string summary = TruncateRunes(r.Text(c.description), 1024);
  std::string source = r.Text(c.source.empty() ? c.client : c.source);
  std::string severity = PagerDutySeverity(r.Text(c.severity));
  std::string routing_key = r.Text(c.routing_key);
  std::string client = r.Text(c.client), client_url = r.Text(c.client_url);
  std::string clazz = r.Text(c.clazz), component = r.Text(c.component), group = r.Text(c.group);
  std::vector<am::PagerDutyConfig::Image> images;
  for (const auto& i : c.images) {
    am::PagerDutyConfig::Image out{r.Text(i.src), r.Text(i.alt), r.Text(i.href)};
    if (!out.src.empty()) images.push_back(std::move(out));
  }
  std::vector<am::PagerDutyConfig::Link> links;
  for (const auto& l : c.links) {
    am::PagerDutyConfig::Link out{r.Text(l.href), r.Text(l.text)};
    if (!out.href.empty()) links.push_back(std::move(out));
  }
  if (!r.status().ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("failed to template PagerDuty message: ", r.status().message()));
  }
  if (routing_key.empty()) return absl::FailedPreconditionError("routing key cannot be empty");
  if (source.empty()) source = "Pharos";

  JsonWriter w;
  w.BeginObject();
  w.KV("routing_key", routing_key);
  w.KV("dedup_key", GroupKeyHash(ctx.group_key));
  w.KV("event_action", resolve ? "resolve" : "trigger");
  w.Key("payload");
  w.BeginObject();
  w.KV("summary", summary);
  w.KV("source", source);
  w.KV("severity", severity);
  w.KV("timestamp", FormatRfc3339NanoMs(ctx.now_ms));
  if (!clazz.empty()) w.KV("class", clazz);
  if (!component.empty()) w.KV("component", component);
  if (!group.empty()) w.KV("group", group);
  if (!details.empty()) {
    w.Key("custom_details");
    w.BeginObject();
    for (const auto& [k, v] : details) w.KV(k, v);
    w.EndObject();
  }
  w.EndObject();
  if (!client.empty()) w.KV("client", client);
  if (!client_url.empty()) w.KV("client_url", client_url);
  if (!images.empty()) {
    w.Key("images");
    w.BeginArray();
    for (const auto& i : images) {
      w.BeginObject();
      w.KV("src", i.src);
      w.KV("alt", i.alt);
      w.KV("href", i.href);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!links.empty()) {
    w.Key("links");
    w.BeginArray();
    for (const auto& l : links) {
      w.BeginObject();
      w.KV("href", l.href);
      w.KV("text", l.text);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::move(w).Take();
}

absl::StatusOr<std::string> SlackPayload(const am::SlackConfig& c, const NotificationContext& ctx,
                                         const std::vector<am::Alert>& alerts) {
  TemplateData d = MakeTemplateData(ctx, alerts);
  internal::Renderer r(ctx, ToTemplateValue(d));
  std::string channel = r.Text(c.channel), username = r.Text(c.username);
  std::string icon_emoji = r.Text(c.icon_emoji), icon_url = r.Text(c.icon_url);
  std::string title = TruncateRunes(r.Text(c.title), 1024);
  std::string title_link = r.Text(c.title_link), pretext = r.Text(c.pretext);
  std::string text = r.Text(c.text), fallback = r.Text(c.fallback);
  std::string callback_id = r.Text(c.callback_id), image_url = r.Text(c.image_url);
  std::string thumb_url = r.Text(c.thumb_url), footer = r.Text(c.footer), color = r.Text(c.color);
  struct Field { std::string title, value; bool short_; };
  std::vector<Field> fields;
  for (const auto& f : c.fields) {
    fields.push_back({r.Text(f.title), r.Text(f.value), f.short_ || c.short_fields});
  }
  if (!r.status().ok()) return r.status();

  JsonWriter w;
  w.BeginObject();
  if (!channel.empty()) w.KV("channel", channel);
  if (!username.empty()) w.KV("username", username);
  if (!icon_emoji.empty()) w.KV("icon_emoji", icon_emoji);
  if (!icon_url.empty()) w.KV("icon_url", icon_url);
  if (c.link_names) {
    w.Key("link_names");
    w.Bool(true);
  }
  w.Key("attachments");
  w.BeginArray();
  w.BeginObject();
  if (!title.empty()) w.KV("title", title);
  if (!title_link.empty()) w.KV("title_link", title_link);
  if (!pretext.empty()) w.KV("pretext", pretext);
  w.KV("text", text);
  w.KV("fallback", fallback);
  w.KV("callback_id", callback_id);
  if (!fields.empty()) {
    w.Key("fields");
    w.BeginArray();
    for (const auto& f : fields) {
      w.BeginObject();
      w.KV("title", f.title);
      w.KV("value", f.value);
      w.Key("short");
      w.Bool(f.short_);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!image_url.empty()) w.KV("image_url", image_url);
  if (!thumb_url.empty()) w.KV("thumb_url", thumb_url);
  w.KV("footer", footer);
  if (!color.empty()) w.KV("color", color);
  if (!c.mrkdwn_in.empty()) {
    w.Key("mrkdwn_in");
    w.BeginArray();
    for (const auto& m : c.mrkdwn_in) w.String(m);
    w.EndArray();
  }
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::move(w).Take();
}

absl::StatusOr<EmailMessage> RenderEmail(const am::EmailConfig& c, const NotificationContext& ctx,
                                         const std::vector<am::Alert>& alerts) {
  TemplateData d = MakeTemplateData(ctx, alerts);
  internal::Renderer r(ctx, ToTemplateValue(d));
  EmailMessage m;
  std::string from = r.Text(c.from), to = r.Text(c.to);
  if (!r.status().ok()) {
    return absl::Status(r.status().code(), absl::StrCat("failed to template 'from' or 'to': ",
                                                        r.status().message()));
  }
  auto from_addrs = ParseAddressList(from);
  if (!from_addrs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("parsing from addresses: ", from_addrs.status().message()));
  }
  if (from_addrs->size() != 1) return absl::InvalidArgumentError("must be exactly one from address");
  m.envelope_from = (*from_addrs)[0].address;
  auto to_addrs = ParseAddressList(to);
  if (!to_addrs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("parsing to addresses: ", to_addrs.status().message()));
  }
  for (const auto& a : *to_addrs) m.recipients.push_back(a.address);
  // From, To, Subject first (as mail clients list them), then the rest by name.
  for (const char* h : {"From", "To", "Subject"}) {
    auto it = c.headers.find(h);
    if (it != c.headers.end()) m.headers.emplace_back(h, r.Text(it->second));
  }
  for (const auto& [k, v] : c.headers) {
    if (k != "From" && k != "To" && k != "Subject") m.headers.emplace_back(k, r.Text(v));
  }
  m.text = r.Text(c.text);
  m.html = r.Html(c.html);
  if (!r.status().ok()) return r.status();
  return m;
}

absl::StatusOr<std::vector<std::unique_ptr<Integration>>> BuildIntegrations(
    const am::Receiver& receiver, const am::GlobalConfig& global) {
  am::Receiver r = internal::ApplyDefaults(receiver, global);
  std::vector<std::unique_ptr<Integration>> out;
  auto where = [&r](const char* type, size_t i) {
    return absl::StrCat("receiver \"", r.name, "\": ", type, "_configs[", i, "]: ");
  };
  for (size_t i = 0; i < r.webhook_configs.size(); ++i) {
    const auto& c = r.webhook_configs[i];
    if (c.url.empty() && c.url_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("webhook", i), "one of url or url_file must be configured"));
    }
    out.push_back(std::make_unique<Webhook>(c, static_cast<int>(i)));
  }
  for (size_t i = 0; i < r.pagerduty_configs.size(); ++i) {
    const auto& c = r.pagerduty_configs[i];
    if (c.routing_key.empty() && c.routing_key_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("pagerduty", i), "missing service or routing key in PagerDuty config"));
    }
    if (c.url.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("pagerduty", i), "no url and no global pagerduty_url"));
    }
    out.push_back(std::make_unique<PagerDuty>(c, static_cast<int>(i)));
  }
  for (size_t i = 0; i < r.slack_configs.size(); ++i) {
    const auto& c = r.slack_configs[i];
    if (c.api_url.empty() && c.api_url_file.empty() && c.app_token.empty() &&
        c.app_token_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("slack", i), "no global Slack API URL set either inline or in a file"));
    }
    out.push_back(std::make_unique<Slack>(c, static_cast<int>(i)));
  }
  for (size_t i = 0; i < r.email_configs.size(); ++i) {
    const auto& c = r.email_configs[i];
    if (c.to.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("email", i), "missing to address in email config"));
    }
    if (c.smarthost.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("email", i), "no global SMTP smarthost set"));
    }
    if (c.from.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where("email", i), "no global SMTP from set"));
    }
    out.push_back(std::make_unique<Email>(c, static_cast<int>(i)));
  }
  return out;
}

}  // namespace pharos::alerting::notify
