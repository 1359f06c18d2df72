// The integrations' payloads (exact JSON fields), Alertmanager's template data model, Pharos's
// default templates and the factory's global defaults. No network.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "alerting/notify/default_templates.h"
#include "alerting/notify/integrations.h"
#include "alerting/notify/internal/effective_config.h"
#include "alerting/notify/template_data.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pharos::alerting::notify {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1700000000000;  // 2023-11-14T22:13:20Z

am::Alert MakeAlert(am::LabelSet labels, am::LabelSet annotations, int64_t starts, int64_t ends = 0) {
  am::Alert a;
  a.labels = std::move(labels);
  a.annotations = std::move(annotations);
  a.starts_at_ms = starts;
  a.ends_at_ms = ends;
  a.generator_url = "http://pharos:9090/graph?g0.expr=up";
  return a;
}

std::vector<am::Alert> TwoAlerts() {
  return {
      MakeAlert({{"alertname", "HighCPU"}, {"instance", "node1:9100"}, {"severity", "critical"}, {"job", "node"}},
                {{"summary", "CPU above 90%"}, {"description", "node1 CPU is 95%"}}, kNow - 600000),
      MakeAlert({{"alertname", "HighCPU"}, {"instance", "node2:9100"}, {"severity", "critical"}, {"job", "node"}},
                {{"summary", "CPU above 90%"}}, kNow - 3600000, kNow - 60000),
  };
}

NotificationContext Ctx() {
  NotificationContext ctx;
  ctx.receiver = "oncall";
  ctx.group_key = "{}:{alertname=\"HighCPU\"}";
  ctx.group_labels = {{"alertname", "HighCPU"}};
  ctx.external_url = "http://pharos.example:9093";
  ctx.now_ms = kNow;
  return ctx;
}

class NotifyTest : public ::testing::Test {
 protected:
  // Loads the default templates plus the receiver's strings and points ctx at them.
  void Load(const am::Receiver& r, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> texts = extra, html;
    internal::CollectTemplateStrings(internal::ApplyDefaults(r, am::GlobalConfig{}), &texts, &html);
    auto t = LoadTemplates({}, "", texts, html);
    ASSERT_TRUE(t.ok()) << t.status();
    templates_ = std::move(*t);
    ctx_.templates = templates_.text.get();
    ctx_.html_templates = templates_.html.get();
  }
  std::string Render(const std::string& text, const std::vector<am::Alert>& alerts) {
    auto out = templates_.text->Execute(ToTemplateValue(MakeTemplateData(ctx_, alerts)),
                                        InlineTemplateName(text));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  }
  NotificationContext ctx_ = Ctx();
  NotificationTemplates templates_;
};

TEST_F(NotifyTest, TemplateDataModel) {
  TemplateData d = MakeTemplateData(ctx_, TwoAlerts());
  EXPECT_EQ(d.receiver, "oncall");
  EXPECT_EQ(d.status, "firing");
  ASSERT_EQ(d.alerts.size(), 2u);
  EXPECT_EQ(d.alerts[0].status, "firing");
  EXPECT_EQ(d.alerts[0].ends_at_ms, 0);  // not exposed until resolved
  EXPECT_EQ(d.alerts[1].status, "resolved");
  EXPECT_EQ(d.alerts[1].ends_at_ms, kNow - 60000);
  EXPECT_EQ(d.alerts[0].fingerprint, am::FingerprintHex(am::Fingerprint(TwoAlerts()[0].labels)));
  EXPECT_EQ(d.common_labels, (am::LabelSet{{"alertname", "HighCPU"}, {"job", "node"}, {"severity", "critical"}}));
  EXPECT_EQ(d.common_annotations, (am::LabelSet{{"summary", "CPU above 90%"}}));
  auto resolved = TwoAlerts();
  resolved.erase(resolved.begin());
  EXPECT_EQ(MakeTemplateData(ctx_, resolved).status, "resolved");
}

TEST_F(NotifyTest, TemplateMethods) {
  const std::string t1 = "{{ .Status }} {{ .Alerts | len }} {{ .Alerts.Firing | len }} {{ .Alerts.Resolved | len }} "
                         "{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ end }}";
  const std::string t2 = "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}";
  const std::string t3 = "{{ .CommonLabels.Names }} {{ .CommonLabels.Values }} "
                         "{{ (.CommonLabels.Remove .GroupLabels.Names).Names }} {{ len .CommonLabels }}";
  const std::string t4 = "{{ range $k, $v := .GroupLabels }}{{ $k }}:{{ $v }}{{ end }} {{ .Receiver }} {{ .ExternalURL }}";
  const std::string t5 = "{{ range .Alerts }}{{ .StartsAt.Unix }}/{{ .EndsAt.Unix }} {{ end }}";
  const std::string t6 = "{{ .CommonLabels.SortedPairs.Names }}";
  Load(am::Receiver{}, {t1, t2, t3, t4, t5, t6});
  auto alerts = TwoAlerts();
  EXPECT_EQ(Render(t1, alerts), "firing 2 1 1 node2:9100");
  EXPECT_EQ(Render(t2, alerts), "alertname=HighCPU;job=node;severity=critical;");  // alertname first
  EXPECT_EQ(Render(t3, alerts), "[alertname job severity] [HighCPU node critical] [job severity] 3");
  EXPECT_EQ(Render(t4, alerts), "alertname:HighCPU oncall http://pharos.example:9093");
  EXPECT_EQ(Render(t5, alerts), "1699999400/-62135596800 1699996400/1699999940 ");
  EXPECT_EQ(Render(t6, alerts), "[alertname job severity]");
}

TEST_F(NotifyTest, WebhookPayloadIsAlertmanagerVersion4) {
  auto alerts = TwoAlerts();
  std::string body = WebhookPayload(ctx_, alerts, 0);
  // Alertmanager's field order.
  EXPECT_EQ(body.rfind("{\"receiver\":\"oncall\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",", 0), 0u) << body;
  json j = json::parse(body);
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["groupKey"], "{}:{alertname=\"HighCPU\"}");
  EXPECT_EQ(j["truncatedAlerts"], 0);
  EXPECT_EQ(j["externalURL"], "http://pharos.example:9093");
  EXPECT_EQ(j["groupLabels"], json({{"alertname", "HighCPU"}}));
  EXPECT_EQ(j["commonLabels"], json({{"alertname", "HighCPU"}, {"job", "node"}, {"severity", "critical"}}));
  EXPECT_EQ(j["commonAnnotations"], json({{"summary", "CPU above 90%"}}));
  ASSERT_EQ(j["alerts"].size(), 2u);
  const json& a0 = j["alerts"][0];
  EXPECT_EQ(a0["status"], "firing");
  EXPECT_EQ(a0["startsAt"], "2023-11-14T22:03:20Z");
  EXPECT_EQ(a0["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a0["generatorURL"], "http://pharos:9090/graph?g0.expr=up");
  EXPECT_EQ(a0["fingerprint"], am::FingerprintHex(am::Fingerprint(alerts[0].labels)));
  EXPECT_EQ(a0["labels"]["instance"], "node1:9100");
  EXPECT_EQ(a0["annotations"]["description"], "node1 CPU is 95%");
  EXPECT_EQ(j["alerts"][1]["status"], "resolved");
  EXPECT_EQ(j["alerts"][1]["endsAt"], "2023-11-14T22:12:20Z");
  std::vector<std::string> keys;
  for (auto it = a0.begin(); it != a0.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys.size(), 7u);

  json truncated = json::parse(WebhookPayload(ctx_, alerts, 1));
  EXPECT_EQ(truncated["alerts"].size(), 1u);
  EXPECT_EQ(truncated["truncatedAlerts"], 1);
  EXPECT_EQ(truncated["commonAnnotations"],
            json({{"summary", "CPU above 90%"}, {"description", "node1 CPU is 95%"}}));
}

TEST_F(NotifyTest, PagerDutyTriggerWithDefaults) {
  am::Receiver r;
  r.name = "oncall";
  am::PagerDutyConfig pd;
  pd.routing_key = "0123456789abcdef0123456789abcdef";
  pd.links = {{"http://runbooks/{{ .CommonLabels.alertname }}", "Runbook"}};
  r.pagerduty_configs.push_back(pd);
  Load(r);
  am::Receiver eff = internal::ApplyDefaults(r, am::GlobalConfig{});
  auto alerts = TwoAlerts();
  auto body = PagerDutyPayload(eff.pagerduty_configs[0], ctx_, alerts);
  ASSERT_TRUE(body.ok()) << body.status();
  json j = json::parse(*body);
  EXPECT_EQ(j["routing_key"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["event_action"], "trigger");
  EXPECT_EQ(j["dedup_key"], "9f2a099adf99adbf3e1d24abbd84835468e75b8b96fca010db3f2b763340e4c1");
  EXPECT_EQ(j["payload"]["summary"], "[FIRING:1] HighCPU (critical)");
  EXPECT_EQ(j["payload"]["severity"], "critical");
  EXPECT_EQ(j["payload"]["source"], "Pharos");
  EXPECT_EQ(j["payload"]["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["client"], "Pharos");
  EXPECT_EQ(j["client_url"], "http://pharos.example:9093/#/alerts?receiver=oncall");
  EXPECT_EQ(j["payload"]["custom_details"]["num_firing"], "1");
  EXPECT_EQ(j["payload"]["custom_details"]["num_resolved"], "1");
  std::string firing = j["payload"]["custom_details"]["firing"];
  EXPECT_EQ(firing,
            "- HighCPU [critical] on node1:9100\n"
            "  Summary: CPU above 90%\n"
            "  Description: node1 CPU is 95%\n"
            "  Since: 2023-11-14 22:03:20 UTC\n"
            "  Labels: alertname=HighCPU instance=node1:9100 job=node severity=critical\n"
            "  Source: http://pharos:9090/graph?g0.expr=up\n");
  EXPECT_EQ(j["links"], json::array({{{"href", "http://runbooks/HighCPU"}, {"text", "Runbook"}}}));
  EXPECT_FALSE(j.contains("images"));
  EXPECT_FALSE(j["payload"].contains("class"));

  // All resolved: a resolve event with the same dedup key.
  alerts.erase(alerts.begin());
  json resolve = json::parse(*PagerDutyPayload(eff.pagerduty_configs[0], ctx_, alerts));
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], j["dedup_key"]);
}

TEST_F(NotifyTest, PagerDutySeverityFromLabelsAndSummaryTruncated) {
  am::Receiver r;
  am::PagerDutyConfig pd;
  pd.routing_key = "k";
  pd.description = "{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}";
  r.pagerduty_configs.push_back(pd);
  am::PagerDutyConfig explicit_sev = pd;
  explicit_sev.severity = "{{ .CommonLabels.priority }}";
  r.pagerduty_configs.push_back(explicit_sev);
  Load(r);
  am::Receiver eff = internal::ApplyDefaults(r, am::GlobalConfig{});
  std::vector<am::Alert> alerts = {
      MakeAlert({{"alertname", "A"}, {"severity", "warning"}, {"priority", "info"}}, {{"summary", std::string(700, 'a')}}, kNow - 1000),
      MakeAlert({{"alertname", "B"}, {"severity", "critical"}, {"priority", "info"}}, {{"summary", std::string(700, 'b')}}, kNow - 1000),
  };
  json j = json::parse(*PagerDutyPayload(eff.pagerduty_configs[0], ctx_, alerts));
  EXPECT_EQ(j["payload"]["severity"], "critical");  // the highest of the firing alerts
  EXPECT_EQ(j["payload"]["summary"], std::string(700, 'a') + std::string(323, 'b') + "…");
  json k = json::parse(*PagerDutyPayload(eff.pagerduty_configs[1], ctx_, alerts));
  EXPECT_EQ(k["payload"]["severity"], "info");
  alerts[1].labels["severity"] = "unknown";
  alerts[0].labels.erase("severity");
  j = json::parse(*PagerDutyPayload(eff.pagerduty_configs[0], ctx_, alerts));
  EXPECT_EQ(j["payload"]["severity"], "error");
}

TEST_F(NotifyTest, SlackAttachmentColourBySeverity) {
  am::Receiver r;
  am::SlackConfig s;
  s.api_url = "http://127.0.0.1:1/hook";
  s.fields = {{"Instance", "{{ .CommonLabels.job }}", true}};
  r.slack_configs.push_back(s);
  Load(r);
  am::Receiver eff = internal::ApplyDefaults(r, am::GlobalConfig{});
  const am::SlackConfig& c = eff.slack_configs[0];
  auto alerts = TwoAlerts();
  json j = json::parse(*SlackPayload(c, ctx_, alerts));
  EXPECT_FALSE(j.contains("channel"));
  EXPECT_FALSE(j.contains("icon_emoji"));
  EXPECT_EQ(j["username"], "Pharos");
  ASSERT_EQ(j["attachments"].size(), 1u);
  const json& a = j["attachments"][0];
  EXPECT_EQ(a["title"], "[FIRING:1] HighCPU (critical)");
  EXPECT_EQ(a["title_link"], "http://pharos.example:9093/#/alerts?receiver=oncall");
  EXPECT_EQ(a["color"], "danger");
  EXPECT_EQ(a["fallback"], "[FIRING:1] HighCPU (critical) | http://pharos.example:9093/#/alerts?receiver=oncall");
  EXPECT_EQ(a["footer"], "Pharos · oncall");
  EXPECT_EQ(a["mrkdwn_in"], json::array({"fallback", "pretext", "text"}));
  EXPECT_EQ(a["fields"], json::array({{{"title", "Instance"}, {"value", "node"}, {"short", true}}}));
  EXPECT_FALSE(a.contains("pretext"));
  std::string text = a["text"];
  EXPECT_EQ(text.rfind("*Firing:*\n• *HighCPU* `critical` on `node1:9100`\nCPU above 90%\n", 0), 0u) << text;
  EXPECT_NE(text.find("*Resolved:*\n• *HighCPU* `critical` on `node2:9100`"), std::string::npos) << text;

  for (auto& al : alerts) al.labels["severity"] = "warning";
  EXPECT_EQ(json::parse(*SlackPayload(c, ctx_, alerts))["attachments"][0]["color"], "warning");
  for (auto& al : alerts) al.labels["severity"] = "info";
  EXPECT_EQ(json::parse(*SlackPayload(c, ctx_, alerts))["attachments"][0]["color"], "#439FE0");
  alerts.erase(alerts.begin());
  EXPECT_EQ(json::parse(*SlackPayload(c, ctx_, alerts))["attachments"][0]["color"], "good");

  am::SlackConfig with_channel = c;
  with_channel.channel = "#ops";
  with_channel.icon_emoji = ":fire:";
  json k = json::parse(*SlackPayload(with_channel, ctx_, alerts));
  EXPECT_EQ(k["channel"], "#ops");
  EXPECT_EQ(k["icon_emoji"], ":fire:");
}

TEST_F(NotifyTest, EmailHeadersAndEscapedHtml) {
  am::Receiver r;
  am::EmailConfig e;
  e.to = "ops@example.com, Jane <jane@example.com>";
  e.from = "Pharos <pharos@example.com>";
  e.smarthost = "localhost:25";
  e.headers = {{"x-team", "{{ .CommonLabels.job }}"}};
  r.email_configs.push_back(e);
  Load(r);
  am::Receiver eff = internal::ApplyDefaults(r, am::GlobalConfig{});
  auto alerts = TwoAlerts();
  alerts[0].annotations["description"] = "<script>alert(1)</script>";
  auto m = RenderEmail(eff.email_configs[0], ctx_, alerts);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->envelope_from, "pharos@example.com");
  EXPECT_EQ(m->recipients, (std::vector<std::string>{"ops@example.com", "jane@example.com"}));
  std::vector<std::pair<std::string, std::string>> want = {
      {"From", "Pharos <pharos@example.com>"},
      {"To", "ops@example.com, Jane <jane@example.com>"},
      {"Subject", "[FIRING:1] HighCPU (critical)"},
      {"X-Team", "node"}};
  EXPECT_EQ(m->headers, want);
  EXPECT_NE(m->html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(m->html.find("<script>"), std::string::npos);
  EXPECT_NE(m->html.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(m->text.find("Firing (1):\n- HighCPU [critical] on node1:9100\n"), std::string::npos) << m->text;
  EXPECT_NE(m->text.find("<script>alert(1)</script>"), std::string::npos);  // text part unescaped
}

TEST_F(NotifyTest, UnloadedTemplateIsAClearError) {
  am::PagerDutyConfig pd;
  pd.routing_key = "k";
  pd.description = "{{ .Status }} never loaded";
  NotificationContext ctx = Ctx();  // no templates
  auto body = PagerDutyPayload(pd, ctx, TwoAlerts());
  ASSERT_FALSE(body.ok());
  EXPECT_NE(std::string(body.status().message()).find("is not loaded"), std::string::npos) << body.status();
}

TEST(BuildIntegrationsTest, GlobalDefaultsAndErrors) {
  am::GlobalConfig g;
  g.slack_api_url = "http://127.0.0.1:1/slack";
  g.smtp.smarthost = "localhost:25";
  g.smtp.from = "pharos@example.com";
  am::Receiver r;
  r.name = "team";
  r.webhook_configs.push_back({});
  r.webhook_configs[0].url = "http://127.0.0.1:1/a";
  r.webhook_configs.push_back(r.webhook_configs[0]);
  r.pagerduty_configs.push_back({});
  r.pagerduty_configs[0].routing_key = "k";
  r.slack_configs.push_back({});
  r.email_configs.push_back({});
  r.email_configs[0].to = "ops@example.com";
  auto ints = BuildIntegrations(r, g);
  ASSERT_TRUE(ints.ok()) << ints.status();
  ASSERT_EQ(ints->size(), 5u);
  EXPECT_EQ((*ints)[0]->type(), "webhook");
  EXPECT_EQ((*ints)[1]->index(), 1);
  EXPECT_EQ((*ints)[2]->type(), "pagerduty");
  EXPECT_EQ((*ints)[3]->type(), "slack");
  EXPECT_EQ((*ints)[4]->type(), "email");

  am::Receiver eff = internal::ApplyDefaults(r, g);
  EXPECT_EQ(eff.pagerduty_configs[0].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(eff.slack_configs[0].api_url, "http://127.0.0.1:1/slack");
  EXPECT_EQ(eff.email_configs[0].from, "pharos@example.com");
  EXPECT_EQ(eff.email_configs[0].headers.at("Subject"), "{{ template \"email.default.subject\" . }}");
  EXPECT_EQ(eff.email_configs[0].headers.at("To"), "ops@example.com");

  am::Receiver no_slack_url;
  no_slack_url.name = "x";
  no_slack_url.slack_configs.push_back({});
  auto bad = BuildIntegrations(no_slack_url, am::GlobalConfig{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            "receiver \"x\": slack_configs[0]: no global Slack API URL set either inline or in a file");
}

TEST(LoadTemplatesTest, FilesAndErrorsNameTheFile) {
  std::string dir = ::testing::TempDir() + "/notify_tmpl";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/a.tmpl") << "{{ define \"slack.default.title\" }}custom {{ .Status }}{{ end }}";
    std::ofstream(dir + "/bad.tmpl.broken") << "{{ define \"x\" }}{{ .Status }}{{ end }}{{ end }}";
  }
  auto t = LoadTemplates({"*.tmpl"}, dir, {"{{ template \"slack.default.title\" . }}"});
  ASSERT_TRUE(t.ok()) << t.status();
  NotificationContext ctx = Ctx();
  auto out = t->text->Execute(ToTemplateValue(MakeTemplateData(ctx, TwoAlerts())),
                              InlineTemplateName("{{ template \"slack.default.title\" . }}"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "custom firing");
  auto bad = LoadTemplates({dir + "/*.broken"}, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("template file " + dir + "/bad.tmpl.broken: "),
            std::string::npos)
      << bad.status();
  EXPECT_TRUE(LoadTemplates({"nothing-matches-*.tmpl"}, dir).ok());
}

}  // namespace
}  // namespace pharos::alerting::notify
