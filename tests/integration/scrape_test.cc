// The real pharos binary scrapes Debian's prometheus-node-exporter every second: its series
// appear with `up`; when node-exporter stops, the target turns "down" with an error. A failed
// reload keeps the old targets; PromQL sees up == 1, then up == 0 and the node series ended by
// staleness markers.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using ::testing::HasSubstr;

template <typename F>
bool Eventually(F pred, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return pred();
}

// The activeTargets entry of /api/v1/targets whose scrapePool is `pool` (JSON text).
std::string TargetJson(int port, const std::string& pool) {
  std::string body = HttpGet(port, "/api/v1/targets?state=active").body;
  size_t p = body.find("\"scrapePool\":\"" + pool + "\"");
  if (p == std::string::npos) return "";
  size_t start = body.rfind("{\"discoveredLabels\"", p);
  size_t end = body.find("\"scrapeTimeout\"", p);
  return body.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(ScrapeIntegration, NodeExporter) {
  const std::string ne = "/usr/bin/prometheus-node-exporter";
  if (access(ne.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus-node-exporter not installed";
  TempDir dir;
  const int ne_port = FreePort();
  const std::string ne_addr = "127.0.0.1:" + std::to_string(ne_port);
  const std::string pidfile = dir.path() + "/ne.pid";
  std::string cmd = ne + " --web.listen-address=" + ne_addr +
                    " --collector.disable-defaults --collector.cpu --collector.meminfo"
                    " --collector.loadavg --collector.filesystem > " + dir.path() +
                    "/ne.log 2>&1 & echo $! > " + pidfile;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto stop_ne = [&] {
    std::string kill = "kill $(cat " + pidfile + ") 2>/dev/null; sleep 0.3";
    (void)std::system(kill.c_str());
  };
  struct Guard {
    std::function<void()> f;
    ~Guard() { f(); }
  } guard{stop_ne};

  const std::string cfg_text =
      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['" +
      ne_addr + "']\n        labels: {env: test}\n";
  std::string cfg = dir.Write("pharos.yml", cfg_text);
  PharosProcess pharos(dir.path(), {"--config.file=" + cfg, "--web.enable-lifecycle",
                                    "--storage.retention.time=10y"});
  int port = pharos.WaitForPort();
  ASSERT_GT(port, 0) << pharos.Log();
  ASSERT_TRUE(pharos.WaitForLog("ready to receive web requests")) << pharos.Log();

  const std::string node_sel = "/api/v1/series?match[]=%7Bjob%3D%22node%22%7D";
  ASSERT_TRUE(Eventually([&] {
    std::string b = HttpGet(port, node_sel).body;
    return b.find("\"__name__\":\"node_load1\"") != std::string::npos &&
           b.find("\"__name__\":\"node_memory_MemTotal_bytes\"") != std::string::npos &&
           b.find("\"__name__\":\"up\"") != std::string::npos;
  })) << HttpGet(port, node_sel).body << "\n" << pharos.Log();
  std::string series = HttpGet(port, node_sel).body;
  EXPECT_THAT(series, HasSubstr("{\"__name__\":\"up\",\"env\":\"test\",\"instance\":\"" + ne_addr +
                                "\",\"job\":\"node\"}"));
  EXPECT_THAT(series, HasSubstr("\"__name__\":\"scrape_samples_scraped\""));
  EXPECT_THAT(series, HasSubstr("\"__name__\":\"node_cpu_seconds_total\""));

  ASSERT_TRUE(Eventually([&] { return TargetJson(port, "node").find("\"health\":\"up\"") != std::string::npos; }));
  // PromQL sees up == 1 and the node series' values.
  EXPECT_THAT(HttpGet(port, "/api/v1/query?query=up%7Bjob%3D%22node%22%7D").body,
              HasSubstr("\"value\":["));
  EXPECT_THAT(HttpGet(port, "/api/v1/query?query=up%7Bjob%3D%22node%22%7D").body,
              HasSubstr(",\"1\"]"));
  EXPECT_THAT(HttpGet(port, "/api/v1/query?query=count(node_load1)").body, HasSubstr(",\"1\"]"));
  std::string t = TargetJson(port, "node");
  EXPECT_THAT(t, HasSubstr("\"scrapeUrl\":\"http://" + ne_addr + "/metrics\""));
  EXPECT_THAT(t, HasSubstr("\"lastError\":\"\""));
  EXPECT_THAT(t, HasSubstr("\"scrapeInterval\":\"1s\""));

  std::string md = HttpGet(port, "/api/v1/metadata?metric=node_load1").body;
  EXPECT_THAT(md, HasSubstr("\"node_load1\":[{\"type\":\"gauge\",\"help\":\"1m load average.\""));
  std::string tmd = HttpGet(port, "/api/v1/targets/metadata?match_target=%7Bjob%3D%22node%22%7D&metric=node_load1").body;
  EXPECT_THAT(tmd, HasSubstr("\"target\":{\"env\":\"test\",\"instance\":\"" + ne_addr));

  std::string metrics = HttpGet(port, "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("pharos_scrape_scrapes_total{job=\"node\",result=\"success\"}"));
  EXPECT_THAT(metrics, HasSubstr("pharos_scrape_targets{scrape_pool=\"node\"} 1"));

  // A failed reload (an invalid metric_relabel regex) keeps the running target.
  dir.Write("pharos.yml", cfg_text + "    metric_relabel_configs:\n      - source_labels: [a]\n"
                                     "        regex: '(unclosed'\n        target_label: b\n");
  HttpResult r = HttpCall(port, "POST", "/-/reload");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_THAT(HttpGet(port, "/metrics").body, HasSubstr("pharos_config_last_reload_successful 0"));
  EXPECT_THAT(TargetJson(port, "node"), HasSubstr("\"health\":\"up\""));

  // node-exporter goes away: the target turns down with an error.
  stop_ne();
  ASSERT_TRUE(Eventually([&] {
    return TargetJson(port, "node").find("\"health\":\"down\"") != std::string::npos;
  })) << TargetJson(port, "node");
  EXPECT_THAT(TargetJson(port, "node"), HasSubstr("connect: Connection refused"));
  EXPECT_THAT(HttpGet(port, "/metrics").body,
              HasSubstr("pharos_scrape_scrapes_total{job=\"node\",result=\"failure\"}"));
  // up == 0, and the node series end with staleness markers: an instant query no longer
  // finds them (well inside the 5m lookback).
  ASSERT_TRUE(Eventually([&] {
    return HttpGet(port, "/api/v1/query?query=up%7Bjob%3D%22node%22%7D").body.find(",\"0\"]") !=
           std::string::npos;
  })) << HttpGet(port, "/api/v1/query?query=up%7Bjob%3D%22node%22%7D").body;
  ASSERT_TRUE(Eventually([&] {
    return HttpGet(port, "/api/v1/query?query=node_load1").body ==
           R"({"status":"success","data":{"resultType":"vector","result":[]}})";
  })) << HttpGet(port, "/api/v1/query?query=node_load1").body;
  // ...while the samples before the marker are still there.
  EXPECT_THAT(HttpGet(port, "/api/v1/query?query=count_over_time(node_load1%5B1m%5D)").body,
              HasSubstr("\"value\":["));

  pharos.Signal(SIGTERM);
  EXPECT_EQ(pharos.WaitExit(std::chrono::seconds(15)), 0) << pharos.Log();
}

}  // namespace
}  // namespace pharos::testing
