#include "server/config/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::config {
namespace {

using ::testing::HasSubstr;

std::string Error(std::string_view yaml) {
  auto c = ParseConfig(yaml, "test.yml");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(Config, EmptyIsValidWithPrometheusDefaults) {
  auto c = ParseConfig("", "test.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global.scrape_interval_ms, 60000);
  EXPECT_EQ(c->global.scrape_timeout_ms, 10000);
  EXPECT_EQ(c->global.evaluation_interval_ms, 60000);
  EXPECT_TRUE(c->scrape_configs.empty());
}

TEST(Config, FullConfig) {
  auto c = ParseConfig(R"(
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    cluster: eu1
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: node
    scrape_interval: 5s
    metrics_path: /m
    params: {format: [prometheus]}
    honor_labels: true
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true}
    sample_limit: 1000
    body_size_limit: 10MB
    static_configs:
      - targets: ["a:9100", "b:9100"]
        labels: {env: prod}
    file_sd_configs:
      - files: [targets/*.json]
    relabel_configs:
      - source_labels: [__address__]
        regex: "(.*):.*"
        target_label: host
      - action: hashmod
        source_labels: [__address__]
        modulus: 4
        target_label: __tmp_hash
    metric_relabel_configs:
      - action: labeldrop
        regex: "tmp_.*"
  - job_name: app
    authorization: {credentials: secret}
alerting:
  alertmanagers:
    - static_configs: [{targets: ["am:9093"]}]
storage:
  path: /var/lib/pharos
  retention: {time: 15d, size: 10GB}
)",
                       "test.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global.scrape_interval_ms, 15000);
  EXPECT_EQ(c->global.external_labels.at("cluster"), "eu1");
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& node = c->scrape_configs[0];
  EXPECT_EQ(node.scrape_interval_ms, 5000);
  EXPECT_EQ(node.scrape_timeout_ms, 5000);  // global 10s capped by the job's interval
  EXPECT_EQ(node.metrics_path, "/m");
  EXPECT_TRUE(node.honor_labels);
  EXPECT_EQ(node.http.basic_auth->username, "u");
  EXPECT_TRUE(node.http.tls_config.insecure_skip_verify);
  EXPECT_EQ(node.body_size_limit, 10 << 20);
  EXPECT_EQ(node.static_configs[0].targets.size(), 2u);
  EXPECT_EQ(node.relabel_configs[1].modulus, 4u);
  EXPECT_EQ(node.metric_relabel_configs[0].action, "labeldrop");
  const ScrapeConfig& app = c->scrape_configs[1];
  EXPECT_EQ(app.scrape_interval_ms, 15000);
  EXPECT_EQ(app.http.authorization->type, "Bearer");
  EXPECT_EQ(c->alerting.alertmanagers[0].static_configs[0].targets[0], "am:9093");
  EXPECT_EQ(c->storage.path, "/var/lib/pharos");
  EXPECT_EQ(c->storage.retention_time_ms, 15LL * 86400000);
  EXPECT_EQ(c->storage.retention_size_bytes, 10LL << 30);
}

TEST(Config, UnknownKeyNamesFileLineColumn) {
  EXPECT_EQ(Error("global:\n  scrape_intervall: 15s\n"),
            "test.yml:2:3: field \"scrape_intervall\" not found in global");
  EXPECT_EQ(Error("scrape_configs:\n  - job_name: x\n    static_config: []\n"),
            "test.yml:3:5: field \"static_config\" not found in scrape_config");
  EXPECT_THAT(Error("foo: 1\n"), HasSubstr("test.yml:1:1: field \"foo\" not found in config"));
}

TEST(Config, WrongTypes) {
  EXPECT_THAT(Error("global:\n  scrape_interval: fast\n"),
              HasSubstr("test.yml:2:20: \"scrape_interval\": not a valid duration string"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: x\n    honor_labels: maybe\n"),
              HasSubstr("test.yml:3:19: \"honor_labels\" must be true or false"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: x\n    sample_limit: -1\n"),
              HasSubstr("must be a non-negative integer"));
  EXPECT_THAT(Error("scrape_configs: {a: b}\n"), HasSubstr("test.yml:1:17: \"scrape_configs\" must be a list"));
  EXPECT_THAT(Error("rule_files: [[a]]\n"), HasSubstr("must be a list of strings"));
  EXPECT_THAT(Error("- a\n- b\n"), HasSubstr("config must be a mapping"));
}

TEST(Config, YamlSyntaxErrorHasLine) {
  EXPECT_THAT(Error("global:\n  scrape_interval: [15s\n"), HasSubstr("test.yml:3:"));
  EXPECT_THAT(Error("a: b: c\n"), HasSubstr("test.yml:1:"));
}

TEST(Config, Validation) {
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n  - job_name: a\n"),
              HasSubstr("found multiple scrape configs with job name \"a\""));
  EXPECT_THAT(Error("scrape_configs:\n  - scrape_interval: 5s\n"), HasSubstr("job_name is empty"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n"),
              HasSubstr("scrape timeout greater than scrape interval"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    scheme: ftp\n"), HasSubstr("scheme \"ftp\""));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: explode}]\n"),
              HasSubstr("unknown relabel action \"explode\""));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    relabel_configs: [{regex: \"(\"}]\n"),
              HasSubstr("invalid regular expression"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: hashmod, target_label: x}]\n"),
              HasSubstr("requires non-zero modulus"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: replace}]\n"),
              HasSubstr("requires 'target_label' value"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: labeldrop, regex: x, target_label: y}]\n"),
              HasSubstr("labeldrop action requires only 'regex'"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    basic_auth: {password: a, password_file: b}\n"),
              HasSubstr("at most one of basic_auth password & password_file"));
  EXPECT_THAT(Error("scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [x.txt]}]\n"),
              HasSubstr("invalid file extension"));
  EXPECT_THAT(Error("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n"),
              HasSubstr("global scrape timeout greater than scrape interval"));
  EXPECT_THAT(Error("global:\n  external_labels: {__x: y}\n"), HasSubstr("invalid external label name"));
  EXPECT_THAT(Error("global: {scrape_interval: 1s}\nglobal: {scrape_interval: 2s}\n"),
              HasSubstr("test.yml:"));
}

TEST(Config, GlobalDefaultsApplyWhateverTheKeyOrder) {
  auto c = ParseConfig("scrape_configs: [{job_name: a}]\nglobal: {scrape_interval: 7s}\n", "t.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scrape_configs[0].scrape_interval_ms, 7000);
  EXPECT_EQ(c->scrape_configs[0].scrape_timeout_ms, 7000);
}

TEST(Config, DefaultConfigParsesAndScrapesSelf) {
  std::string text = DefaultConfigText("localhost:1234");
  auto c = ParseConfig(text, "<default config>");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  EXPECT_EQ(c->scrape_configs[0].job_name, "pharos");
  EXPECT_EQ(c->scrape_configs[0].scrape_interval_ms, 15000);
  EXPECT_EQ(c->scrape_configs[0].static_configs[0].targets[0], "localhost:1234");
}

TEST(Config, MissingFile) {
  auto c = LoadConfigFile("/nonexistent/pharos.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/nonexistent/pharos.yml"));
}

}  // namespace
}  // namespace pharos::config
