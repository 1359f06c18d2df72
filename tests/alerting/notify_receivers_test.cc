// The integrations end to end on 127.0.0.1: BuildIntegrations + Notify against a capture
// server standing in for a webhook consumer, PagerDuty and Slack (JSON validated), the retry
// classification (500 retry, 400 not, hang → bounded timeout), and email through aiosmtpd.

#include <chrono>
#include <filesystem>

#include "alerting/notify/default_templates.h"
#include "alerting/notify/integrations.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/alerting/notify_process.h"
#include "tests/integration/test_util.h"

namespace pharos::alerting::notify {
namespace {

using json = nlohmann::json;
using pharos::testing::CaptureServer;

constexpr int64_t kNow = 1700000000000;

std::vector<am::Alert> Alerts() {
  am::Alert a;
  a.labels = {{"alertname", "TargetDown"}, {"instance", "db1:9187"}, {"severity", "critical"}};
  a.annotations = {{"summary", "db1 is down"}};
  a.starts_at_ms = kNow - 120000;
  return {a};
}

class ReceiversTest : public ::testing::Test {
 protected:
  // Builds the receiver's integrations and templates the way the router does.
  std::vector<std::unique_ptr<Integration>> Build(const am::Receiver& r) {
    am::Config cfg;
    cfg.receivers = {r};
    auto t = LoadNotificationTemplates(cfg, "");
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) templates_ = std::move(*t);
    auto ints = BuildIntegrations(r, cfg.global);
    EXPECT_TRUE(ints.ok()) << ints.status();
    ctx_.receiver = r.name;
    ctx_.group_key = "{}/{severity=\"critical\"}:{alertname=\"TargetDown\"}";
    ctx_.group_labels = {{"alertname", "TargetDown"}};
    ctx_.external_url = "http://pharos:9093";
    ctx_.now_ms = kNow;
    ctx_.timeout_ms = 5000;
    ctx_.templates = templates_.text.get();
    ctx_.html_templates = templates_.html.get();
    return ints.ok() ? std::move(*ints) : std::vector<std::unique_ptr<Integration>>{};
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }
  CaptureServer server_;
  NotificationTemplates templates_;
  NotificationContext ctx_;
};

TEST_F(ReceiversTest, WebhookPagerDutySlackDeliver) {
  am::Receiver r;
  r.name = "critical";
  r.webhook_configs.push_back({});
  r.webhook_configs[0].url = Url("/webhook");
  r.pagerduty_configs.push_back({});
  r.pagerduty_configs[0].routing_key = "R0UT1NGKEY";
  r.pagerduty_configs[0].url = Url("/v2/enqueue");
  r.slack_configs.push_back({});
  r.slack_configs[0].api_url = Url("/services/T/B/X");
  r.slack_configs[0].channel = "#oncall";
  server_.Plan({{200, "ok"}, {202, "{\"status\":\"success\"}"}, {200, "ok"}});
  auto ints = Build(r);
  ASSERT_EQ(ints.size(), 3u);
  for (auto& i : ints) {
    NotifyResult res = i->Notify(ctx_, Alerts());
    EXPECT_TRUE(res.status.ok()) << i->type() << ": " << res.status;
  }
  auto reqs = server_.Requests();
  ASSERT_EQ(reqs.size(), 3u);

  EXPECT_EQ(reqs[0].target, "/webhook");
  json wh = json::parse(reqs[0].body);
  EXPECT_EQ(wh["version"], "4");
  EXPECT_EQ(wh["receiver"], "critical");
  EXPECT_EQ(wh["status"], "firing");
  EXPECT_EQ(wh["alerts"][0]["labels"]["instance"], "db1:9187");
  EXPECT_EQ(wh["alerts"][0]["startsAt"], "2023-11-14T22:11:20Z");
  EXPECT_EQ(wh["groupKey"], ctx_.group_key);

  EXPECT_EQ(reqs[1].target, "/v2/enqueue");
  EXPECT_EQ(reqs[1].headers["content-type"], "application/json");
  json pd = json::parse(reqs[1].body);
  EXPECT_EQ(pd["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(pd["event_action"], "trigger");
  EXPECT_EQ(pd["dedup_key"], GroupKeyHash(ctx_.group_key));
  EXPECT_EQ(pd["payload"]["severity"], "critical");
  EXPECT_EQ(pd["payload"]["summary"], "[FIRING:1] TargetDown (critical) on db1:9187");

  EXPECT_EQ(reqs[2].target, "/services/T/B/X");
  json sl = json::parse(reqs[2].body);
  EXPECT_EQ(sl["channel"], "#oncall");
  EXPECT_EQ(sl["attachments"][0]["color"], "danger");
  EXPECT_EQ(sl["attachments"][0]["title"], "[FIRING:1] TargetDown (critical) on db1:9187");
}

TEST_F(ReceiversTest, RetryClassificationAndTimeout) {
  am::Receiver r;
  r.name = "hook";
  r.webhook_configs.push_back({});
  r.webhook_configs[0].url = Url("/webhook");
  auto ints = Build(r);
  ASSERT_EQ(ints.size(), 1u);
  server_.Plan({{500, "boom"}, {400, "bad payload"}, {429, "slow down"}, {200, "", true}});
  NotifyResult r500 = ints[0]->Notify(ctx_, Alerts());
  EXPECT_FALSE(r500.status.ok());
  EXPECT_TRUE(r500.retry);
  EXPECT_EQ(std::string(r500.status.message()), "webhook: unexpected status code 500: boom");
  NotifyResult r400 = ints[0]->Notify(ctx_, Alerts());
  EXPECT_FALSE(r400.status.ok());
  EXPECT_FALSE(r400.retry);
  NotifyResult r429 = ints[0]->Notify(ctx_, Alerts());
  EXPECT_TRUE(r429.retry);
  ctx_.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  NotifyResult hang = ints[0]->Notify(ctx_, Alerts());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(hang.status.code(), absl::StatusCode::kDeadlineExceeded) << hang.status;
  EXPECT_TRUE(hang.retry);
}

TEST_F(ReceiversTest, EmailThroughAiosmtpdWithStartTls) {
  if (!testing::HaveAiosmtpd()) GTEST_SKIP() << "/usr/bin/python3 has no aiosmtpd module";
  if (!testing::HaveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
  pharos::testing::TempDir dir;
  ASSERT_TRUE(testing::MakeSelfSignedCert(dir.path()));
  std::filesystem::create_directories(dir.path() + "/out");
  testing::HelperProcess smtp({"/usr/bin/python3", testing::TestDataDir() + "/smtp_server.py",
                               "--out", dir.path() + "/out", "--mode", "starttls", "--cert",
                               dir.path() + "/cert.pem", "--key", dir.path() + "/key.pem",
                               "--auth", "pharos:pw"},
                              dir.path() + "/smtp.log");
  int port = smtp.WaitReady();
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(dir.path() + "/smtp.log");
  am::Receiver r;
  r.name = "mail";
  r.email_configs.push_back({});
  auto& e = r.email_configs[0];
  e.to = "ops@example.com";
  e.from = "pharos@example.com";
  e.smarthost = "localhost:" + std::to_string(port);
  e.auth_username = "pharos";
  e.auth_password = "pw";
  e.tls_ca_file = dir.path() + "/cert.pem";
  auto ints = Build(r);
  ASSERT_EQ(ints.size(), 1u);
  NotifyResult res = ints[0]->Notify(ctx_, Alerts());
  ASSERT_TRUE(res.status.ok()) << res.status;
  ASSERT_TRUE(testing::WaitForFile(dir.path() + "/out/1.json", std::chrono::seconds(5)));
  json got = json::parse(testing::ReadFileOrEmpty(dir.path() + "/out/1.json"));
  EXPECT_EQ(got["mail_from"], "pharos@example.com");
  EXPECT_EQ(got["rcpt_tos"], json::array({"ops@example.com"}));
  EXPECT_EQ(got["tls"], true);
  std::string data = got["data"];
  EXPECT_NE(data.find("Subject: [FIRING:1] TargetDown (critical) on db1:9187\r\n"), std::string::npos) << data;
  EXPECT_NE(data.find("Content-Type: multipart/alternative; boundary="), std::string::npos);
  EXPECT_NE(data.find("Content-Type: text/plain; charset=UTF-8"), std::string::npos);
  EXPECT_NE(data.find("Content-Type: text/html; charset=UTF-8"), std::string::npos);
  EXPECT_NE(data.find("db1 is down"), std::string::npos);
}

}  // namespace
}  // namespace pharos::alerting::notify
