// Prometheus 2.42 (Debian's `prometheus`) as a peer: it scrapes Pharos's /metrics and
// remote-writes everything it scrapes to Pharos. Afterwards the same series selector answers
// identically from both.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

// The series objects of a /api/v1/series answer, as a set of their JSON texts.
std::set<std::string> SeriesSet(const std::string& body) {
  std::set<std::string> out;
  size_t p = body.find("\"data\":[");
  if (p == std::string::npos) return out;
  p += 8;
  while (true) {
    size_t open = body.find('{', p);
    if (open == std::string::npos) break;
    size_t close = body.find('}', open);
    if (close == std::string::npos) break;
    out.insert(body.substr(open, close - open + 1));
    p = close + 1;
  }
  return out;
}

// metric JSON -> value string of an instant-vector answer.
std::map<std::string, std::string> ResultItems(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t p = 0;
  while ((p = body.find("{\"metric\":", p)) != std::string::npos) {
    size_t mstart = p + 10;
    size_t mend = body.find('}', mstart);
    size_t v = body.find("\"value\":[", mend);
    if (mend == std::string::npos || v == std::string::npos) break;
    size_t q1 = body.find('"', body.find(',', v) + 1);
    size_t q2 = body.find('"', q1 + 1);
    out[body.substr(mstart, mend - mstart + 1)] = body.substr(q1 + 1, q2 - q1 - 1);
    p = q2;
  }
  return out;
}

TEST(PrometheusPeer, RemoteWriteFromPrometheusMatchesItsOwnView) {
  const std::string prom = "/usr/bin/prometheus";
  if (access(prom.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus not installed";
  TempDir dir;
  // No self-scrape: every job="pharos" series in Pharos must come from Prometheus.
  std::string pharos_cfg = dir.Write("pharos.yml", "scrape_configs: []\n");
  PharosProcess pharos(dir.path(), {"--storage.retention.time=10y", "--config.file=" + pharos_cfg});
  int port = pharos.WaitForPort();
  ASSERT_GT(port, 0) << pharos.Log();
  ASSERT_TRUE(pharos.WaitForLog("ready to receive web requests"));

  int prom_port = FreePort();
  std::string cfg = dir.Write("prometheus.yml",
                              "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                              "scrape_configs:\n  - job_name: pharos\n    static_configs:\n"
                              "      - targets: ['127.0.0.1:" + std::to_string(port) + "']\n"
                              "remote_write:\n  - url: http://127.0.0.1:" + std::to_string(port) +
                              "/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n"
                              "      min_backoff: 50ms\n      max_backoff: 1s\n");
  std::string log = dir.path() + "/prometheus.log";
  std::string cmd = prom + " --config.file=" + cfg + " --storage.tsdb.path=" + dir.path() +
                    "/prom --web.listen-address=127.0.0.1:" + std::to_string(prom_port) +
                    " > " + log + " 2>&1 & echo $! > " + dir.path() + "/prom.pid";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto stop_prom = [&] {
    std::string kill = "kill $(cat " + dir.path() + "/prom.pid) 2>/dev/null; sleep 0.2";
    (void)std::system(kill.c_str());
  };

  const std::string sel = "/api/v1/series?match[]=%7Bjob%3D%22pharos%22%7D";
  std::set<std::string> from_prom, from_pharos;
  bool equal = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto p = HttpGet(prom_port, sel);
    auto q = HttpGet(port, sel);
    if (p.status != 200 || q.status != 200) continue;
    from_prom = SeriesSet(p.body);
    from_pharos = SeriesSet(q.body);
    // Prometheus's view leads (it sends with a delay); wait for a stable, equal answer with
    // the synthetic series included.
    if (!from_prom.empty() && from_prom == from_pharos &&
        from_prom.count(R"({"__name__":"up","instance":"127.0.0.1:)" + std::to_string(port) +
                        R"(","job":"pharos"})")) {
      equal = true;
      break;
    }
  }
  ASSERT_TRUE(equal) << "prometheus: " << from_prom.size() << " series, pharos: "
                     << from_pharos.size() << "\n"
                     << pharos.Log();
  EXPECT_GT(from_prom.size(), 20u);

  // The same PromQL over the same samples gives the same answers. Evaluate half-way between
  // two scrapes (scrape timestamps share their millisecond offset), so no sample sits on a
  // window boundary, where Prometheus 2.42 (closed windows) and 3.x (left-open) differ. Range
  // windows are short and the series older than them: 3.x also changed rate()'s
  // extrapolation towards a counter's zero point when the series starts inside the window
  // (2.42 clamps to the zero point before the 1.1x-interval check, 3.x after it; seen here:
  // samples 1, 2 at t-1.5s, t-0.5s give rate(x[4s]) 0.625 in 2.42, 0.5 in 3.x).
  std::this_thread::sleep_for(std::chrono::seconds(9));
  auto ts = HttpGet(prom_port, "/api/v1/query?query=timestamp(up%7Bjob%3D%22pharos%22%7D)");
  size_t vpos = ts.body.find(",\"", ts.body.find("\"value\":["));
  ASSERT_NE(vpos, std::string::npos) << ts.body;
  double last_scrape = std::stod(ts.body.substr(vpos + 2));
  char tbuf[64];
  std::snprintf(tbuf, sizeof tbuf, "%.3f", last_scrape - 2.5);
  const std::string t = tbuf;
  const std::vector<std::string> queries = {
      "up",
      "rate(pharos_http_requests_total[4s])",
      "sum by (handler) (rate(pharos_http_requests_total[4s]))",
      "histogram_quantile(0.9, sum by (le) (rate(pharos_http_request_duration_seconds_bucket[4s])))",
      "count by (job) ({job=\"pharos\"})",
      "max_over_time(process_resident_memory_bytes[4s]) > 0",
      "increase(pharos_http_requests_total{handler=\"/metrics\"}[4s])",
      "topk(3, pharos_http_response_size_bytes_count)",
      "scrape_samples_scraped / on(instance) group_left up",
  };
  size_t non_empty = 0;
  for (const auto& query : queries) {
    std::string path = "/api/v1/query?time=" + t + "&query=" + UrlEncode(query);
    auto a = HttpGet(prom_port, path);
    auto b = HttpGet(port, path);
    ASSERT_EQ(a.status, 200) << query << ": " << a.body;
    ASSERT_EQ(b.status, 200) << query << ": " << b.body;
    auto ra = ResultItems(a.body), rb = ResultItems(b.body);
    if (!ra.empty()) ++non_empty;
    ASSERT_EQ(ra.size(), rb.size()) << query << "\nprometheus: " << a.body << "\npharos: " << b.body;
    for (const auto& [metric, value] : ra) {
      auto it = rb.find(metric);
      ASSERT_NE(it, rb.end()) << query << ": " << metric << " missing from pharos\n" << b.body;
      double x = std::stod(value), y = std::stod(it->second);
      EXPECT_TRUE(x == y || std::abs(x - y) <= 1e-9 * std::max(std::abs(x), std::abs(y)))
          << query << " " << metric << ": prometheus " << value << " pharos " << it->second;
    }
  }
  // On a loaded machine a 1s scrape can slip and leave a short window with one sample; most
  // answers must still have data for the comparison to mean something.
  EXPECT_GE(non_empty, queries.size() - 2);
  stop_prom();
  // Pharos counted the samples Prometheus sent.
  EXPECT_THAT(HttpGet(port, "/metrics").body,
              ::testing::HasSubstr("pharos_remote_write_requests_total{code=\"204\"}"));
}

}  // namespace
}  // namespace pharos::testing
