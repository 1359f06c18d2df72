// ScrapeManager end to end: a local HTTP server (pharos's own http::Server) as the target, a
// real DB, config from YAML; polls until the expected state appears.
#include "server/scrape/manager.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/targets_api.h"
#include "server/http/server.h"
#include "tests/server/scrape/test_util.h"

namespace pharos::scrape {
namespace {

using ::testing::HasSubstr;
using testing::QueryAll;

// A target: serves `body` at /metrics, records the last request's headers.
class FakeTarget {
 public:
  FakeTarget() {
    router_.Handle("/metrics", {http::Method::kGet}, [this](const http::Request& req) {
      absl::MutexLock l(&mu_);
      last_ = req;
      ++requests_;
      http::Response r = http::Response::Text(status_, body_);
      r.content_type = content_type_;
      if (!encoding_.empty()) r.headers.emplace_back("Content-Encoding", encoding_);
      return r;
    });
    router_.Handle(
        "/slow", {http::Method::kGet},
        [this](const http::Request&) {
          auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
          while (!release_ && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          return http::Response::Text(200, "late 1\n");
        },
        {.blocking = true, .metric_label = "", .max_inflight = 0});
    http::ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.io_threads = 1;
    o.worker_threads = 4;
    o.drain_timeout = std::chrono::milliseconds(100);
    o.registry = &registry_;
    o.log = testing::NullLogger();
    auto s = http::Server::Start(o, &router_);
    EXPECT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  ~FakeTarget() { Stop(); }
  void Stop() {
    release_ = true;
    if (server_) server_->Stop();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  void Set(std::string body, std::string content_type = "text/plain; version=0.0.4",
           std::string encoding = "", int status = 200) {
    absl::MutexLock l(&mu_);
    body_ = std::move(body);
    content_type_ = std::move(content_type);
    encoding_ = std::move(encoding);
    status_ = status;
  }
  http::Request last() {
    absl::MutexLock l(&mu_);
    return last_;
  }
  int requests() {
    absl::MutexLock l(&mu_);
    return requests_;
  }

 private:
  Registry registry_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> release_{false};
  absl::Mutex mu_;
  std::string body_ = "m 1\n";
  std::string content_type_ = "text/plain; version=0.0.4";
  std::string encoding_;
  int status_ = 200;
  http::Request last_;
  int requests_ = 0;
};

// A one-thread blocking HTTPS server answering every request with "tls_metric 1".
class TlsTarget {
 public:
  TlsTarget(const std::string& cert, const std::string& key)
      : ssl_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    ssl_.use_certificate_chain_file(cert);
    ssl_.use_private_key_file(key, boost::asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsTarget() {
    stop_ = true;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket wake(io);
    boost::system::error_code ec;
    wake.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    namespace bhttp = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket sock(io_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) break;
      boost::beast::ssl_stream<boost::asio::ip::tcp::socket&> s(sock, ssl_);
      s.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(s, buf, req, ec);
      if (ec) continue;
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
      res.body() = "tls_metric 1\n";
      res.prepare_payload();
      bhttp::write(s, res, ec);
      s.shutdown(ec);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path());
    db_ = testing::OpenDB(dir_.path() + "/db");
    ScrapeManagerOptions o;
    o.appendable = db_.get();
    o.log = testing::NullLogger();
    o.registry = &registry_;
    o.user_agent = "Pharos/test";
    o.sd_tick_ms = 20;
    auto m = ScrapeManager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status();
    mgr_ = std::move(*m);
  }
  void TearDown() override {
    target_.Stop();
    mgr_->Stop();
  }

  absl::Status Apply(const std::string& yaml) {
    auto c = config::ParseConfig(yaml, dir_.path() + "/pharos.yml");
    if (!c.ok()) return c.status();
    return mgr_->ApplyConfig(*c);
  }
  std::string JobYaml(const std::string& job, const std::string& extra = "",
                      const std::string& target = "") {
    return "  - job_name: " + job + "\n    scrape_interval: 100ms\n    scrape_timeout: 80ms\n" +
           extra + "    static_configs:\n      - targets: ['" +
           (target.empty() ? target_.addr() : target) + "']\n";
  }

  // Polls until `pred` holds (at most 10s).
  template <typename F>
  bool Eventually(F pred) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
  }
  testing::Dataset All() { return QueryAll(*db_, 0, std::numeric_limits<int64_t>::max() / 2); }
  std::vector<std::pair<int64_t, double>> Series(const std::string& name, const std::string& job) {
    for (auto& [k, v] : All()) {
      if (k.find("__name__=\"" + name + "\"") != std::string::npos &&
          k.find("job=\"" + job + "\"") != std::string::npos) {
        return v;
      }
    }
    return {};
  }
  std::optional<ActiveTargetInfo> Target(const std::string& pool) {
    for (auto& t : mgr_->Targets().active) {
      if (t.scrape_pool == pool) return t;
    }
    return std::nullopt;
  }

  testing::TempPath dir_;
  std::unique_ptr<storage::DB> db_;
  Registry registry_;
  std::unique_ptr<ScrapeManager> mgr_;
  FakeTarget target_;
};

TEST_F(ManagerTest, ScrapesTargetWithPrometheusHeaders) {
  target_.Set("# HELP m A gauge.\n# TYPE m gauge\nm{a=\"1\"} 7\n");
  ASSERT_TRUE(Apply("scrape_configs:\n" +
                    JobYaml("j", "    params:\n      foo: [bar]\n    authorization:\n"
                                 "      credentials: s3cret\n"))
                  .ok());
  ASSERT_TRUE(Eventually([&] { return !Series("m", "j").empty() && !Series("up", "j").empty(); }));
  EXPECT_EQ(Series("m", "j")[0].second, 7);
  EXPECT_EQ(Series("up", "j")[0].second, 1);
  http::Request r = target_.last();
  EXPECT_THAT(std::string(r.Header("accept")), HasSubstr("application/openmetrics-text;version=1.0.0"));
  EXPECT_EQ(r.Header("accept-encoding"), "gzip");
  EXPECT_EQ(r.Header("user-agent"), "Pharos/test");
  EXPECT_EQ(r.Header("x-prometheus-scrape-timeout-seconds"), "0.08");
  EXPECT_EQ(r.Header("authorization"), "Bearer s3cret");
  EXPECT_EQ(r.query, "foo=bar");
  auto t = Target("j");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(Eventually([&] { return Target("j")->status.health == Health::kUp; }));
  EXPECT_EQ(t->scrape_url, "http://" + target_.addr() + "/metrics?foo=bar");
  EXPECT_EQ(t->labels.String(), "{instance=\"" + target_.addr() + "\", job=\"j\"}");
  auto md = mgr_->Metadata();
  ASSERT_EQ(md.size(), 1u);
  ASSERT_EQ(md[0].metadata.size(), 1u);
  EXPECT_EQ(md[0].metadata[0].help, "A gauge.");
}

TEST_F(ManagerTest, GzipBasicAuthAndOpenMetrics) {
  target_.Set(testing::Gzip("# TYPE c counter\nc_total 3\n# EOF\n"),
              "application/openmetrics-text; version=1.0.0", "gzip");
  std::string pw = dir_.path() + "/pw";
  std::ofstream(pw) << "hunter2\n";
  ASSERT_TRUE(Apply("scrape_configs:\n" +
                    JobYaml("j", "    basic_auth:\n      username: u\n      password_file: pw\n"))
                  .ok());
  ASSERT_TRUE(Eventually([&] { return !Series("c_total", "j").empty(); }));
  EXPECT_EQ(target_.last().Header("authorization"), "Basic dTpodW50ZXIy");  // u:hunter2
}

TEST_F(ManagerTest, TimeoutMarksTargetDown) {
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("slow", "    metrics_path: /slow\n")).ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] {
    auto t = Target("slow");
    return t && t->status.health == Health::kDown;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_THAT(Target("slow")->status.last_error, HasSubstr("timeout"));
  EXPECT_TRUE(Eventually([&] {
    auto up = Series("up", "slow");
    return !up.empty() && up.back().second == 0;
  }));
  EXPECT_TRUE(Series("late", "slow").empty());
}

TEST_F(ManagerTest, BodySizeLimitAndHttpErrors) {
  std::string big;
  for (int i = 0; i < 200; ++i) big += "metric_" + std::to_string(i) + " 1\n";
  target_.Set(big);
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("j", "    body_size_limit: 1KB\n")).ok());
  ASSERT_TRUE(Eventually([&] {
    auto t = Target("j");
    return t && t->status.health == Health::kDown;
  }));
  EXPECT_THAT(Target("j")->status.last_error, HasSubstr("body size limit exceeded"));
  target_.Set("m 1\n", "text/plain", "", 500);
  EXPECT_TRUE(Eventually([&] {
    return Target("j")->status.last_error.find("HTTP status 500") != std::string::npos;
  }));
}

TEST_F(ManagerTest, StaleMarkersWhenTargetDiesAndWhenRemoved) {
  target_.Set("m 1\ngone 1\n");
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("j")).ok());
  ASSERT_TRUE(Eventually([&] { return !Series("gone", "j").empty(); }));
  target_.Set("m 2\n");
  ASSERT_TRUE(Eventually([&] {
    auto g = Series("gone", "j");
    return !g.empty() && storage::IsStaleNaN(g.back().second);
  }));
  target_.Stop();  // target down: m goes stale, up = 0
  ASSERT_TRUE(Eventually([&] {
    auto m = Series("m", "j");
    auto up = Series("up", "j");
    return !m.empty() && storage::IsStaleNaN(m.back().second) && up.back().second == 0;
  }));

  // Removing the job by reload: up itself ends with a stale marker.
  ASSERT_TRUE(Apply("scrape_configs: []\n").ok());
  EXPECT_TRUE(storage::IsStaleNaN(Series("up", "j").back().second));
  EXPECT_TRUE(mgr_->Targets().active.empty());
}

TEST_F(ManagerTest, ApplyConfigFailureKeepsOldConfig) {
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("j")).ok());
  auto c = config::ParseConfig("scrape_configs:\n" + JobYaml("j2"), "<test>");
  ASSERT_TRUE(c.ok()) << c.status();
  config::RelabelConfig bad;
  bad.source_labels = {"a"};
  bad.target_label = "b";
  bad.regex = "(unclosed";
  c->scrape_configs[0].metric_relabel_configs.push_back(bad);
  absl::Status s = mgr_->ApplyConfig(*c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("job \"j2\""));
  auto snap = mgr_->Targets();
  ASSERT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(snap.active[0].scrape_pool, "j");
  int before = target_.requests();
  EXPECT_TRUE(Eventually([&] { return target_.requests() > before + 2; }));  // still scraping
}

TEST_F(ManagerTest, UnchangedJobKeepsRunningOnReload) {
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("j") + JobYaml("k")).ok());
  ASSERT_TRUE(Apply("scrape_configs:\n" + JobYaml("j") + JobYaml("k", "    honor_labels: true\n")).ok());
  std::string m = registry_.Expose();
  EXPECT_THAT(m, HasSubstr("pharos_scrape_pool_reloads_total{scrape_pool=\"j\"} 1"));
  EXPECT_THAT(m, HasSubstr("pharos_scrape_pool_reloads_total{scrape_pool=\"k\"} 2"));
  EXPECT_EQ(mgr_->Targets().active.size(), 2u);
}

TEST_F(ManagerTest, FileSdReload) {
  const std::string f = dir_.path() + "/targets.json";
  auto write = [&](const std::string& s) {
    std::string tmp = f + ".tmp";
    std::ofstream(tmp) << s;
    std::filesystem::rename(tmp, f);
  };
  write("[{\"targets\": [\"" + target_.addr() + "\"], \"labels\": {\"team\": \"a\"}}]");
  ASSERT_TRUE(Apply("scrape_configs:\n  - job_name: sd\n    scrape_interval: 100ms\n"
                    "    scrape_timeout: 80ms\n    file_sd_configs:\n      - files: ['*.json']\n"
                    "        refresh_interval: 50ms\n")
                  .ok());
  ASSERT_TRUE(Eventually([&] { return !Series("m", "sd").empty(); }));
  auto t = Target("sd");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->labels.Get("team"), "a");
  EXPECT_EQ(t->discovered_labels.Get("__meta_filepath"), f);

  // A broken file keeps the last good targets.
  write("[{\"targets\": ");
  ASSERT_TRUE(Eventually([&] {
    return registry_.Expose().find("pharos_scrape_file_sd_read_errors_total{scrape_pool=\"sd\"} 1") !=
           std::string::npos;
  })) << registry_.Expose();
  ASSERT_TRUE(Target("sd"));

  // New labels: a different target; the old one's series go stale.
  write("[{\"targets\": [\"" + target_.addr() + "\"], \"labels\": {\"team\": \"b\"}}]");
  ASSERT_TRUE(Eventually([&] {
    auto t = Target("sd");
    return t && t->labels.Get("team") == "b";
  }));
  bool stale_a = false;
  for (auto& [k, v] : All()) {
    if (k.find("__name__=\"m\"") != std::string::npos && k.find("team=\"a\"") != std::string::npos) {
      stale_a = storage::IsStaleNaN(v.back().second);
    }
  }
  EXPECT_TRUE(stale_a);
  write("[]");
  ASSERT_TRUE(Eventually([&] { return !Target("sd"); }));
}

TEST_F(ManagerTest, Https) {
  const std::string d = dir_.path();
  const std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d +
                          "/key.pem -out " + d + "/cert.pem -days 2 -subj /CN=localhost "
                          "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1";
  if (std::system(gen.c_str()) != 0) GTEST_SKIP() << "openssl cannot make a test certificate";
  TlsTarget tls(d + "/cert.pem", d + "/key.pem");
  auto job = [&](const std::string& name, const std::string& tls_yaml) {
    return "  - job_name: " + name + "\n    scheme: https\n    scrape_interval: 200ms\n"
           "    scrape_timeout: 150ms\n    tls_config:\n" + tls_yaml +
           "    static_configs:\n      - targets: ['" + tls.addr() + "']\n";
  };
  ASSERT_TRUE(Apply("scrape_configs:\n" + job("trusted", "      ca_file: cert.pem\n") +
                    job("untrusted", "      server_name: localhost\n") +
                    job("insecure", "      insecure_skip_verify: true\n") +
                    job("wrongname", "      ca_file: cert.pem\n      server_name: other.example\n") +
                    job("sni", "      ca_file: cert.pem\n      server_name: localhost\n"))
                  .ok());
  auto health = [&](const std::string& pool) {
    auto t = Target(pool);
    return t ? t->status.health : Health::kUnknown;
  };
  ASSERT_TRUE(Eventually([&] {
    for (const char* p : {"trusted", "untrusted", "insecure", "wrongname", "sni"}) {
      if (health(p) == Health::kUnknown) return false;
    }
    return true;
  }));
  EXPECT_EQ(health("trusted"), Health::kUp) << Target("trusted")->status.last_error;
  EXPECT_EQ(health("insecure"), Health::kUp) << Target("insecure")->status.last_error;
  EXPECT_EQ(health("sni"), Health::kUp) << Target("sni")->status.last_error;
  EXPECT_EQ(health("untrusted"), Health::kDown);
  EXPECT_THAT(Target("untrusted")->status.last_error, HasSubstr("TLS handshake"));
  EXPECT_EQ(health("wrongname"), Health::kDown);
  EXPECT_TRUE(Eventually([&] { return !Series("tls_metric", "trusted").empty(); }));
  EXPECT_EQ(Target("trusted")->scrape_url, "https://" + tls.addr() + "/metrics");

  // A CA file that does not exist fails ApplyConfig; the running jobs stay.
  absl::Status s = Apply("scrape_configs:\n" + job("x", "      ca_file: missing.pem\n"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("missing.pem"));
  EXPECT_TRUE(Target("trusted").has_value());
  mgr_->Stop();  // before the TLS server goes away
}

TEST_F(ManagerTest, DroppedTargetsAndTargetsApi) {
  ASSERT_TRUE(Apply("scrape_configs:\n" +
                    JobYaml("j", "    relabel_configs:\n      - source_labels: [__address__]\n"
                                 "        regex: '127.*'\n        action: keep\n") +
                    "      - targets: ['drop.example:1']\n")
                  .ok());
  http::Router router;
  api::TargetsApiOptions o;
  o.manager = [this] { return mgr_.get(); };
  o.log = testing::NullLogger();
  api::RegisterTargetsApi(router, o);
  auto call = [&](const std::string& path, const std::string& query) {
    http::Request req;
    req.path = path;
    req.query = query;
    auto m = router.Find(path, http::Method::kGet);
    EXPECT_NE(m.route, nullptr);
    return m.route->handler(req);
  };
  ASSERT_TRUE(Eventually([&] { return Target("j") && Target("j")->status.health == Health::kUp; }));
  http::Response r = call("/api/v1/targets", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"activeTargets\":[{\"discoveredLabels\":{\"__address__\":\"" +
                                target_.addr()));
  EXPECT_THAT(r.body, HasSubstr("\"scrapePool\":\"j\""));
  EXPECT_THAT(r.body, HasSubstr("\"health\":\"up\""));
  EXPECT_THAT(r.body, HasSubstr("\"scrapeInterval\":\"100ms\""));
  EXPECT_THAT(r.body, HasSubstr("\"droppedTargets\":[{\"discoveredLabels\":{\"__address__\":\"drop.example:1\""));
  EXPECT_THAT(r.body, HasSubstr("\"droppedTargetCounts\":{\"j\":1}"));
  r = call("/api/v1/targets", "state=dropped");
  EXPECT_THAT(r.body, HasSubstr("\"activeTargets\":[]"));
  r = call("/api/v1/targets", "state=active&scrapePool=other");
  EXPECT_THAT(r.body, HasSubstr("\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":null"));
  r = call("/api/v1/targets/metadata", "match_target=%7Bjob%3D%22j%22%7D&metric=m");
  EXPECT_EQ(r.status, 200) << r.body;
  r = call("/api/v1/metadata", "limit=1");
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace pharos::scrape
