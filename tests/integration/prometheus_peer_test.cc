// Prometheus 2.42 (Debian's `prometheus`) as a peer: it scrapes Pharos's /metrics and
// remote-writes everything it scrapes to Pharos. Afterwards the same series selector answers
// identically from both.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

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

TEST(PrometheusPeer, RemoteWriteFromPrometheusMatchesItsOwnView) {
  const std::string prom = "/usr/bin/prometheus";
  if (access(prom.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus not installed";
  TempDir dir;
  // No self-scrape: Pharos's own scrape of job "pharos" would add series under the same labels,
  // with `le` normalised as Prometheus 3 does ("1.0") where Prometheus 2.42 keeps "1", so the
  // two views would differ for reasons that have nothing to do with remote write.
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
  stop_prom();
  ASSERT_TRUE(equal) << "prometheus: " << from_prom.size() << " series, pharos: "
                     << from_pharos.size() << "\n"
                     << pharos.Log();
  EXPECT_GT(from_prom.size(), 20u);
  // Pharos counted the samples Prometheus sent.
  EXPECT_THAT(HttpGet(port, "/metrics").body,
              ::testing::HasSubstr("pharos_remote_write_requests_total{code=\"204\"}"));
}

}  // namespace
}  // namespace pharos::testing
