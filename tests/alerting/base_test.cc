#include <filesystem>
#include <string>

#include "alerting/am/types.h"
#include "alerting/state/state_store.h"
#include "gtest/gtest.h"

namespace pharos::alerting {
namespace {

TEST(FingerprintTest, MatchesAlertmanager) {
  // Values from Go: model.LabelSet{...}.Fingerprint() (prometheus/common), FNV-1a 64.
  EXPECT_EQ(am::Fingerprint({}), 14695981039346656037ull);
  EXPECT_EQ(am::FingerprintHex(am::Fingerprint({})), "cbf29ce484222325");
  // Order of insertion does not matter; values and names are separated.
  am::LabelSet a = {{"a", "bc"}}, b = {{"ab", "c"}};
  EXPECT_NE(am::Fingerprint(a), am::Fingerprint(b));
  EXPECT_EQ(am::FingerprintHex(1), "0000000000000001");
}

TEST(StateStoreTest, PersistsAcrossReopen) {
  std::string dir = ::testing::TempDir() + "/state_store_test";
  std::filesystem::remove_all(dir);
  {
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Put("silence/1", "one").ok());
    ASSERT_TRUE((*s)->Put("silence/2", "two").ok());
    ASSERT_TRUE((*s)->Put("nflog/x", "log").ok());
    ASSERT_TRUE((*s)->Apply({{"silence/2", std::nullopt}, {"silence/3", "three"}}).ok());
  }
  auto s = StateStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  std::string seen;
  ASSERT_TRUE((*s)->Scan("silence/", [&](std::string_view k, std::string_view v) {
                  seen += std::string(k) + "=" + std::string(v) + ";";
                  return true;
                }).ok());
  EXPECT_EQ(seen, "silence/1=one;silence/3=three;");
  auto g = (*s)->Get("nflog/x");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ(**g, "log");
  auto missing = (*s)->Get("nflog/y");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pharos::alerting

#include "alerting/am/api_json.h"

namespace pharos::alerting::am {
namespace {

TEST(ApiJsonTest, DecodesPrometheusAlerts) {
  // The shape Prometheus 2.42's notifier posts.
  auto d = DecodePostableAlerts(R"([
    {"labels":{"alertname":"HighCPU","instance":"a:9100"},"annotations":{"summary":"hot"},
     "startsAt":"2024-01-02T03:04:05.123Z","endsAt":"2024-01-02T03:08:05.123Z",
     "generatorURL":"http://p/graph"},
    {"labels":{},"annotations":{}},
    {"labels":{"alertname":"Bad","0x":"y"}},
    {"labels":{"alertname":"Backwards"},"startsAt":"2024-01-02T03:04:05Z","endsAt":"2024-01-02T03:00:00Z"},
    {"labels":{"alertname":"NoTimes"}}
  ])", 1700000000000);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->alerts.size(), 2u);
  const Alert& a = d->alerts[0];
  EXPECT_EQ(a.labels.at("instance"), "a:9100");
  EXPECT_EQ(a.annotations.at("summary"), "hot");
  EXPECT_EQ(a.starts_at_ms, 1704164645123);
  EXPECT_EQ(a.ends_at_ms, 1704164885123);
  EXPECT_EQ(a.generator_url, "http://p/graph");
  EXPECT_EQ(d->alerts[1].starts_at_ms, 1700000000000);
  EXPECT_EQ(d->alerts[1].ends_at_ms, 0);
  ASSERT_EQ(d->errors.size(), 3u);
  EXPECT_EQ(d->errors[0], "alert #1: at least one label pair required");
  EXPECT_EQ(d->errors[1], "alert Bad: invalid label set: invalid name \"0x\"");
  EXPECT_EQ(d->errors[2], "alert Backwards: start time must be before end time");
  EXPECT_FALSE(DecodePostableAlerts("{}", 0).ok());
  EXPECT_FALSE(DecodePostableAlerts("[", 0).ok());
}

TEST(ApiJsonTest, RoundTrips) {
  Alert a;
  a.labels = {{"alertname", "X"}, {"severity", "critical"}};
  a.annotations = {{"summary", "s \"q\""}};
  a.starts_at_ms = 1704164645123;
  a.generator_url = "http://g";
  std::string json = EncodePostableAlerts({a});
  EXPECT_EQ(json,
            R"([{"annotations":{"summary":"s \"q\""},"generatorURL":"http://g",)"
            R"("labels":{"alertname":"X","severity":"critical"},"startsAt":"2024-01-02T03:04:05.123Z"}])");
  auto d = DecodePostableAlerts(json, 1);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->alerts.size(), 1u);
  EXPECT_EQ(d->alerts[0].labels, a.labels);
  EXPECT_EQ(d->alerts[0].starts_at_ms, a.starts_at_ms);
}

}  // namespace
}  // namespace pharos::alerting::am
