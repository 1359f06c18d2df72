// Starts the real pharos binary on a loopback port and speaks HTTP to it.
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGoodConfig[] = R"(
global:
  scrape_interval: 30s
scrape_configs:
  - job_name: pharos
    static_configs: [{targets: ["localhost:9090"]}]
)";

int CountOccurrences(const std::string& s, const std::string& sub) {
  int n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args) {
    proc_ = std::make_unique<PharosProcess>(dir_.path(), std::move(args));
    port_ = proc_->WaitForPort();
    ASSERT_GT(port_, 0) << proc_->Log();
    ASSERT_TRUE(proc_->WaitForLog("ready to receive web requests")) << proc_->Log();
  }
  TempDir dir_;
  std::unique_ptr<PharosProcess> proc_;
  int port_ = 0;
};

TEST_F(ServerTest, HealthyReadyAndBuildInfo) {
  Start({kEmbeddedDefaultConfig});
  EXPECT_EQ(HttpGet(port_, "/-/healthy").status, 200);
  ASSERT_TRUE(proc_->WaitForLog("ready to receive web requests"));
  auto ready = HttpGet(port_, "/-/ready");
  EXPECT_EQ(ready.status, 200);
  auto bi = HttpGet(port_, "/api/v1/status/buildinfo");
  EXPECT_EQ(bi.status, 200);
  EXPECT_EQ(bi.headers["content-type"], "application/json");
  EXPECT_THAT(bi.body, HasSubstr(R"({"status":"success","data":{"version":")"));
  EXPECT_THAT(bi.body, HasSubstr(R"("revision":)"));
  // The embedded default config scrapes Pharos itself.
  auto targets = HttpGet(port_, "/api/v1/targets");
  EXPECT_THAT(targets.body, HasSubstr(R"("scrapePool":"pharos")"));
  EXPECT_THAT(targets.body, HasSubstr("\"__address__\":\"127.0.0.1:" + std::to_string(port_) + "\""));
  auto flags = HttpGet(port_, "/api/v1/status/flags");
  EXPECT_THAT(flags.body, HasSubstr(R"("storage.retention.time":"30d")"));
}

TEST_F(ServerTest, StatusAndUtilityEndpoints) {
  std::string cfg = dir_.Write("pharos.yml",
                               "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: hunter2}\n"
                               "storage:\n  retention: {time: 7d}\n");
  Start({"--config.file=" + cfg});
  auto c = HttpGet(port_, "/api/v1/status/config");
  EXPECT_EQ(c.status, 200);
  EXPECT_THAT(c.body, HasSubstr("<secret>"));
  EXPECT_THAT(c.body, Not(HasSubstr("hunter2")));
  EXPECT_THAT(c.body, HasSubstr("username: u"));
  auto ri = HttpGet(port_, "/api/v1/status/runtimeinfo");
  EXPECT_THAT(ri.body, HasSubstr(R"("storageRetention":"1w")"));
  EXPECT_THAT(ri.body, HasSubstr(R"("reloadConfigSuccess":true)"));
  auto f = HttpGet(port_, "/api/v1/format_query?query=sum%20by(job)%20(rate(x%5B5m%5D))");
  EXPECT_EQ(f.body, R"js({"status":"success","data":"sum by (job) (rate(x[5m]))"})js");
  auto bad = HttpGet(port_, "/api/v1/format_query?query=sum(");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"("errorType":"bad_data")"));
  auto ex = HttpGet(port_, "/api/v1/query_exemplars?query=test");
  EXPECT_EQ(ex.body, R"({"status":"success","data":[]})");
  EXPECT_THAT(HttpGet(port_, "/api/v1/status/walreplay").body, HasSubstr(R"("current":1)"));
}

TEST_F(ServerTest, MetricsExposition) {
  Start({});
  HttpGet(port_, "/-/healthy");
  auto m = HttpGet(port_, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const char* want :
       {"pharos_build_info{version=", "process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds ", "process_start_time_seconds ",
        "pharos_http_requests_total{handler=\"/-/healthy\",code=\"200\"} 1\n",
        "pharos_http_request_duration_seconds_bucket{handler=\"/-/healthy\",le=\"+Inf\"} 1\n",
        "pharos_config_last_reload_successful 1\n"}) {
    EXPECT_THAT(m.body, HasSubstr(want));
  }
  std::string promtool = "/usr/bin/promtool";
  if (access(promtool.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "promtool not installed; exposition checked by substring only";
  }
  std::string file = dir_.Write("metrics.txt", m.body);
  std::string out;
  int rc = RunCommand({"sh", "-c", promtool + " check metrics < " + file}, &out);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(ServerTest, StatusCodes) {
  Start({"--web.max-request-size=1KB"});
  auto nf = HttpGet(port_, "/no/such/path");
  EXPECT_EQ(nf.status, 404);
  auto na = HttpCall(port_, "DELETE", "/-/healthy");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.headers["allow"], "GET, HEAD");
  // Over the body limit, with the body sent.
  auto big = HttpCall(port_, "POST", "/-/reload", std::string(2048, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_THAT(big.body, HasSubstr("exceeds the limit of 1024 bytes"));
  // Over the limit by Content-Length alone: rejected before the body is read.
  std::string raw = RawExchange(
      port_, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr("HTTP/1.1 413"));
  // Oversized headers.
  std::string huge_header = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: " +
                            std::string(100 * 1024, 'a') + "\r\n\r\n";
  EXPECT_THAT(RawExchange(port_, huge_header), HasSubstr("HTTP/1.1 431"));
  // Garbage.
  EXPECT_THAT(RawExchange(port_, "NOT HTTP AT ALL\r\n\r\n"), HasSubstr("HTTP/1.1 400"));
  // The server is still fine.
  EXPECT_EQ(HttpGet(port_, "/-/healthy").status, 200);
  auto m = HttpGet(port_, "/metrics");
  EXPECT_THAT(m.body, HasSubstr("pharos_http_requests_total{handler=\"not_found\",code=\"404\"} 1"));
}

TEST_F(ServerTest, KeepAliveAndPipelining) {
  Start({});
  std::string out = RawExchange(port_,
                                "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(CountOccurrences(out, "HTTP/1.1 200 OK"), 3) << out;
}

TEST_F(ServerTest, ExpectContinue) {
  Start({"--web.enable-lifecycle"});
  std::string out = RawExchange(port_,
                                "POST /-/reload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 100 Continue"));
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
}

TEST_F(ServerTest, ReloadGoodAndBadConfig) {
  std::string cfg = dir_.Write("pharos.yml", kGoodConfig);
  Start({"--config.file=" + cfg, "--web.enable-lifecycle"});
  EXPECT_EQ(HttpCall(port_, "POST", "/-/reload").status, 200);

  dir_.Write("pharos.yml", "global:\n  scrape_interval: 30s\n  bogus: 1\n");
  auto bad = HttpCall(port_, "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_THAT(bad.body, HasSubstr("pharos.yml:3:3: field \"bogus\" not found in global"));
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_config_last_reload_successful 0\n"));
  // Still serving with the old config.
  EXPECT_EQ(HttpGet(port_, "/-/ready").status, 200);

  dir_.Write("pharos.yml", kGoodConfig);
  EXPECT_EQ(HttpCall(port_, "PUT", "/-/reload").status, 200);
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_config_last_reload_successful 1\n"));

  // SIGHUP reloads too.
  dir_.Write("pharos.yml", "scrape_configs: 5\n");
  proc_->Signal(SIGHUP);
  ASSERT_TRUE(proc_->WaitForLog("must be a list")) << proc_->Log();
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_config_last_reload_successful 0\n"));
  dir_.Write("pharos.yml", kGoodConfig);
  proc_->Signal(SIGHUP);
  for (int i = 0; i < 200; ++i) {
    if (HttpGet(port_, "/metrics").body.find("pharos_config_last_reload_successful 1\n") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_config_last_reload_successful 1\n"));
}

TEST_F(ServerTest, LifecycleDisabledByDefault) {
  Start({});
  auto r = HttpCall(port_, "POST", "/-/reload");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(HttpCall(port_, "POST", "/-/quit").status, 403);
}

TEST_F(ServerTest, QuitEndpointExits) {
  Start({"--web.enable-lifecycle"});
  EXPECT_EQ(HttpCall(port_, "POST", "/-/quit").status, 200);
  auto rc = proc_->WaitExit(std::chrono::seconds(5));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0);
}

TEST_F(ServerTest, SigtermExitsZeroWithinFiveSecondsWithIdleConnectionOpen) {
  Start({});
  // An idle keep-alive connection must not hold up shutdown.
  std::thread idle([port = port_] {
    RawExchange(port, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(8));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  proc_->Signal(SIGTERM);
  auto rc = proc_->WaitExit(std::chrono::seconds(5));
  idle.join();
  ASSERT_TRUE(rc.has_value()) << "still running 5s after SIGTERM\n" << proc_->Log();
  EXPECT_EQ(*rc, 0) << proc_->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(proc_->Log(), HasSubstr("exiting gracefully"));
}

TEST_F(ServerTest, MalformedConfigAtStartupIsOneLineErrorAndNonZeroExit) {
  std::string cfg = dir_.Write("broken.yml", "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: [x\n");
  PharosProcess p(dir_.path(), {"--config.file=" + cfg});
  auto rc = p.WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
  std::string log = p.Log();
  EXPECT_THAT(log, HasSubstr("broken.yml:5:"));
  // The error is a single log line.
  size_t at = log.find("error loading config");
  ASSERT_NE(at, std::string::npos) << log;
  size_t eol = log.find('\n', at);
  EXPECT_THAT(log.substr(at, eol - at), HasSubstr("broken.yml:"));
}

TEST_F(ServerTest, BadFlagsExitTwo) {
  std::string out;
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "--no-such-flag"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("unknown flag --no-such-flag"));
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "--log.level=chatty", "--web.listen-address=127.0.0.1:0"}, &out), 2);
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "--help"}, &out), 0);
  EXPECT_THAT(out, HasSubstr("--storage.retention.time"));
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "--version"}, &out), 0);
  EXPECT_THAT(out, HasSubstr("pharos, version "));
}

TEST_F(ServerTest, ListenAddressInUseFails) {
  Start({});
  PharosProcess second(dir_.path() + "/..", {"--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                             "--storage.path=" + dir_.path() + "/data2"});
  auto rc = second.WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
}

TEST_F(ServerTest, CheckConfigCommand) {
  std::string good = dir_.Write("good.yml", kGoodConfig);
  std::string bad = dir_.Write("bad.yml", "scrape_configs:\n  - job_name: a\n    scrape_interval: often\n");
  std::string out;
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "check", "config", good}, &out), 0);
  EXPECT_THAT(out, HasSubstr("SUCCESS"));
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "check", "config", good, bad}, &out), 1);
  EXPECT_THAT(out, HasSubstr("bad.yml:3:22: \"scrape_interval\": not a valid duration string"));
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "check", "config", "/nonexistent.yml"}, &out), 1);
}

}  // namespace
}  // namespace pharos::testing
