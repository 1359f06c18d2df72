#include "server/scrape/target.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scrape/file_sd.h"
#include "server/scrape/internal/http_fetch.h"
#include "tests/server/scrape/test_util.h"

namespace pharos::scrape {
namespace {

using testing::Job;

std::shared_ptr<const JobSpec> MustCompile(const config::ScrapeConfig& c) {
  auto j = CompileJob(c);
  EXPECT_TRUE(j.ok()) << j.status();
  return *j;
}

TEST(PopulateTarget, PrometheusLabelsAndUrl) {
  config::ScrapeConfig c = Job("node");
  c.scrape_interval_ms = 15000;
  c.scrape_timeout_ms = 10000;
  c.params["module"] = {"http_2xx", "second"};
  c.params["a b"] = {"x&y"};
  auto job = MustCompile(c);
  auto t = PopulateTarget(*job, Labels::FromStrings({"env", "prod"}),
                          Labels::FromStrings({"__address__", "host:9100"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->dropped);
  EXPECT_EQ(t->discovered.String(),
            "{__address__=\"host:9100\", __metrics_path__=\"/metrics\", \"__param_a b\"=\"x&y\", "
            "__param_module=\"http_2xx\", __scheme__=\"http\", __scrape_interval__=\"15s\", "
            "__scrape_timeout__=\"10s\", env=\"prod\", job=\"node\"}");
  EXPECT_EQ(t->labels.String(), "{env=\"prod\", instance=\"host:9100\", job=\"node\"}");
  EXPECT_EQ(t->url, "http://host:9100/metrics?a+b=x%26y&module=http_2xx&module=second");
  EXPECT_EQ(t->interval_ms, 15000);
  EXPECT_EQ(t->timeout_ms, 10000);
  EXPECT_NE(t->hash, 0u);
}

TEST(PopulateTarget, RelabelConfigsDriveUrlAndLabels) {
  config::ScrapeConfig c = Job("bb");
  c.params["target"] = {"default"};
  // Blackbox-exporter style: __address__ -> __param_target, address replaced, instance set.
  c.relabel_configs.push_back(testing::Rule({"__address__"}, "__param_target"));
  c.relabel_configs.push_back(testing::Rule({"__param_target"}, "instance"));
  c.relabel_configs.push_back(testing::Rule({}, "__address__", "(.*)", "127.0.0.1:9115"));
  c.relabel_configs.push_back(testing::Rule({}, "__metrics_path__", "(.*)", "/probe"));
  c.relabel_configs.push_back(testing::Rule({}, "__scrape_interval__", "(.*)", "2s"));
  auto job = MustCompile(c);
  auto t = PopulateTarget(*job, Labels(), Labels::FromStrings({"__address__", "example.com"}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->url, "http://127.0.0.1:9115/probe?target=example.com");
  EXPECT_EQ(t->labels.String(), "{instance=\"example.com\", job=\"bb\"}");
  EXPECT_EQ(t->interval_ms, 2000);
}

TEST(PopulateTarget, DropAndErrors) {
  config::ScrapeConfig c = Job("j");
  c.relabel_configs.push_back(
      testing::Rule({"__address__"}, "", "drop.*", "$1", "drop"));
  auto job = MustCompile(c);
  auto t = PopulateTarget(*job, Labels(), Labels::FromStrings({"__address__", "drop-me:1"}));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->dropped);
  EXPECT_EQ(t->discovered.Get("__address__"), "drop-me:1");
  EXPECT_TRUE(t->labels.empty());

  auto bad = PopulateTarget(*job, Labels(), Labels::FromStrings({"__address__", "a/b"}));
  EXPECT_FALSE(bad.ok());
  // Group job label wins over the job name (set only when absent); instance kept when given.
  auto g = PopulateTarget(*job, Labels::FromStrings({"job", "custom", "instance", "i1"}),
                          Labels::FromStrings({"__address__", "h:1"}));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->labels.String(), "{instance=\"i1\", job=\"custom\"}");

  config::ScrapeConfig c2 = Job("j");
  c2.relabel_configs.push_back(testing::Rule({}, "__scrape_timeout__", "(.*)", "5s"));
  auto t2 = PopulateTarget(*MustCompile(c2), Labels(), Labels::FromStrings({"__address__", "h:1"}));
  EXPECT_FALSE(t2.ok());  // timeout 5s > interval 1s
}

TEST(CompileJob, RejectsBadRelabel) {
  config::ScrapeConfig c = Job("j");
  c.relabel_configs.push_back(testing::Rule({"a"}, "b", "(.*)", "$1", "hashmod", 0));
  auto j = CompileJob(c);
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(std::string(j.status().message()), ::testing::HasSubstr("job \"j\": relabel_configs"));
  config::ScrapeConfig m = Job("j");
  m.metric_relabel_configs.push_back(testing::Rule({"a"}, "x", "("));
  EXPECT_FALSE(CompileJob(m).ok());
}

TEST(ParseUrl, HostsPortsAndTargets) {
  auto u = internal::ParseUrl("http://h:9100/metrics?a=b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "h");
  EXPECT_EQ(u->port, "9100");
  EXPECT_EQ(u->host_header, "h:9100");
  EXPECT_EQ(u->target, "/metrics?a=b");
  auto v6 = internal::ParseUrl("https://[::1]:8443/m");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "8443");
  auto def = internal::ParseUrl("https://example.com");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->port, "443");
  EXPECT_EQ(def->target, "/");
  EXPECT_FALSE(internal::ParseUrl("http://h:99999/m").ok());
  EXPECT_FALSE(internal::ParseUrl("http://h:12345678901234567890/m").ok());
  EXPECT_FALSE(internal::ParseUrl("ftp://h/m").ok());
  EXPECT_FALSE(internal::ParseUrl("http:///m").ok());
}

TEST(FileSd, ParsesJsonAndYaml) {
  auto j = ParseTargetGroups(
      "/x/t.json",
      R"([{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}])");
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0].targets.size(), 2u);
  EXPECT_EQ((*j)[0].labels.String(), "{__meta_filepath=\"/x/t.json\", env=\"prod\"}");
  EXPECT_EQ((*j)[1].targets[0].Get("__address__"), "c:3");

  auto y = ParseTargetGroups("/x/t.yml", "- targets: ['a:1']\n  labels:\n    team: db\n");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)[0].labels.Get("team"), "db");

  auto bad = ParseTargetGroups("/x/t.json", "[{\"targets\": [\"a:1\"], \"bogus\": 1}]");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("/x/t.json"));
  EXPECT_FALSE(ParseTargetGroups("/x/t.json", "[{").ok());
  EXPECT_FALSE(ParseTargetGroups("/x/t.txt", "[]").ok());
  auto empty = ParseTargetGroups("/x/t.yaml", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(FileSd, RefreshKeepsLastGoodOnError) {
  testing::TempPath dir;
  std::filesystem::create_directories(dir.path());
  const std::string f = dir.path() + "/targets.json";
  auto write = [&](const std::string& s) {
    std::ofstream(f, std::ios::trunc) << s;
  };
  write(R"([{"targets": ["a:1"]}])");
  config::FileSdConfig cfg;
  cfg.files = {dir.path() + "/*.json"};
  FileDiscovery d(cfg, testing::NullLogger());
  uint64_t errors = 0;
  EXPECT_TRUE(d.Refresh(&errors));
  ASSERT_EQ(d.Groups().size(), 1u);
  EXPECT_FALSE(d.Refresh(&errors));  // unchanged
  write(R"([{"targets": ["a:1", "b:22"]}])");
  EXPECT_TRUE(d.Refresh(&errors));
  EXPECT_EQ(d.Groups()[0].targets.size(), 2u);
  write("not json [");
  EXPECT_FALSE(d.Refresh(&errors));
  EXPECT_EQ(errors, 1u);
  EXPECT_EQ(d.Groups()[0].targets.size(), 2u);  // last good kept
  std::filesystem::remove(f);
  EXPECT_TRUE(d.Refresh(&errors));
  EXPECT_TRUE(d.Groups().empty());
}

}  // namespace
}  // namespace pharos::scrape
