#include "server/notifier/notifier.h"

#include <atomic>
#include <mutex>

#include "common/logging.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <nlohmann/json.hpp>

namespace pharos::notifier {
namespace {

using alerting::am::Alert;
using ::testing::ElementsAre;

struct Call {
  std::string url;
  nlohmann::json body;
};

class FakePoster {
 public:
  PostFn Fn() {
    return [this](const std::string& url, const std::string& body, const config::HttpClientConfig&,
                  int64_t) -> absl::StatusOr<int> {
      std::lock_guard<std::mutex> l(mu_);
      calls_.push_back({url, nlohmann::json::parse(body)});
      auto it = status_.find(url);
      if (it == status_.end()) return 200;
      if (it->second < 0) return absl::UnavailableError("connection refused");
      return it->second;
    };
  }
  void SetStatus(const std::string& url, int status) {
    std::lock_guard<std::mutex> l(mu_);
    status_[url] = status;
  }
  std::vector<Call> Calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<Call> calls_;
  std::map<std::string, int> status_;
};

config::Config ParseOrDie(const std::string& yaml) {
  auto c = config::ParseConfig(yaml, "test.yml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : config::Config();
}

Alert MakeAlert(const std::string& name, const std::string& severity = "critical") {
  Alert a;
  a.labels = {{"alertname", name}, {"severity", severity}};
  a.annotations = {{"summary", "s"}};
  a.starts_at_ms = 1700000000000;
  return a;
}

class NotifierTest : public ::testing::Test {
 protected:
  Registry registry_;
  LogFactory logs_{LogLevel::kError, LogFormat::kLogfmt};
  FakePoster poster_;
};

TEST_F(NotifierTest, RelabelsAddsExternalLabelsAndPostsToEveryAlertmanager) {
  Notifier n({}, poster_.Fn(), registry_, logs_);
  ASSERT_TRUE(n.ApplyConfig(ParseOrDie(R"(
global:
  external_labels: {cluster: eu1, severity: ignored}
alerting:
  alert_relabel_configs:
    - {action: drop, source_labels: [alertname], regex: Dropped}
    - {action: labeldrop, regex: tmp}
  alertmanagers:
    - static_configs: [{targets: ["am1:9093", "am2:9093"]}]
      path_prefix: /prefix/
    - scheme: https
      static_configs: [{targets: ["am3:443", "skip:1"]}]
      relabel_configs:
        - {action: drop, source_labels: [__address__], regex: "skip:.*"}
)")).ok());
  EXPECT_EQ(n.Active().size(), 3u);
  ASSERT_EQ(n.Dropped().size(), 1u);
  EXPECT_EQ(n.Dropped()[0].url, "https://skip:1/api/v2/alerts");

  Alert kept = MakeAlert("HighCPU");
  kept.labels["tmp"] = "x";
  n.Send({kept, MakeAlert("Dropped")});
  ASSERT_TRUE(n.Drain(5000));
  auto calls = poster_.Calls();
  std::vector<std::string> urls;
  for (const auto& c : calls) urls.push_back(c.url);
  std::sort(urls.begin(), urls.end());
  EXPECT_THAT(urls, ElementsAre("http://am1:9093/prefix/api/v2/alerts",
                                "http://am2:9093/prefix/api/v2/alerts",
                                "https://am3:443/api/v2/alerts"));
  ASSERT_EQ(calls[0].body.size(), 1u);
  EXPECT_EQ(calls[0].body[0]["labels"],
            nlohmann::json({{"alertname", "HighCPU"}, {"cluster", "eu1"}, {"severity", "critical"}}));
  EXPECT_EQ(calls[0].body[0]["startsAt"], "2023-11-14T22:13:20.000Z");
}

TEST_F(NotifierTest, BatchesOfAtMost64AndBoundedQueue) {
  Options o;
  o.queue_capacity = 100;
  Notifier n(o, poster_.Fn(), registry_, logs_);
  ASSERT_TRUE(n.ApplyConfig(ParseOrDie(R"(
alerting:
  alertmanagers: [{static_configs: [{targets: ["am:9093"]}]}]
)")).ok());
  poster_.SetStatus("http://am:9093/api/v2/alerts", 500);
  std::vector<Alert> many;
  for (int i = 0; i < 150; ++i) many.push_back(MakeAlert("A" + std::to_string(i)));
  n.Send(many);  // 50 oldest dropped at once: the queue holds 100
  ASSERT_TRUE(n.Drain(5000));
  size_t total = 0;
  for (const auto& c : poster_.Calls()) {
    EXPECT_LE(c.body.size(), 64u);
    total += c.body.size();
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(poster_.Calls()[0].body[0]["labels"]["alertname"], "A50");
  std::string metrics = registry_.Expose();
  // 50 dropped from the queue + 100 that no Alertmanager accepted (500).
  EXPECT_THAT(metrics, ::testing::HasSubstr("pharos_notifications_dropped_total 150"));
  EXPECT_THAT(metrics, ::testing::HasSubstr(
                           "pharos_notifications_errors_total{alertmanager=\"http://am:9093/api/v2/alerts\"} 2"));
}

TEST_F(NotifierTest, NoAlertmanagersMeansNothingQueued) {
  Notifier n({}, poster_.Fn(), registry_, logs_);
  ASSERT_TRUE(n.ApplyConfig(ParseOrDie("global: {}\n")).ok());
  n.Send({MakeAlert("X")});
  EXPECT_EQ(n.QueueLength(), 0u);
  EXPECT_TRUE(poster_.Calls().empty());
}

TEST_F(NotifierTest, BadRelabelKeepsOldConfig) {
  Notifier n({}, poster_.Fn(), registry_, logs_);
  ASSERT_TRUE(n.ApplyConfig(ParseOrDie(R"(
alerting:
  alertmanagers: [{static_configs: [{targets: ["am:9093"]}]}]
)")).ok());
  config::Config bad = ParseOrDie("global: {}\n");
  config::RelabelConfig r;
  r.action = "hashmod";  // no modulus: invalid
  r.target_label = "x";
  bad.alerting.alert_relabel_configs.push_back(r);
  EXPECT_FALSE(n.ApplyConfig(bad).ok());
  EXPECT_EQ(n.Active().size(), 1u);
}

}  // namespace
}  // namespace pharos::notifier
