// The default rules (deploy/rules/*.yml) driven with synthetic series through the real
// evaluator, storage and engine with a fake clock. For every rule: below the threshold it is
// silent; above it, it goes pending and stays pending for exactly its `for`; then it fires and
// the sink receives the firing alert; back below, it resolves and the sink receives the
// resolved alert.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "rules_test_util.h"

namespace pharos::alerting::rules {
namespace {

using testing::kMin;
using testing::kSec;
using testing::kT0;
using testing::RulesEnv;

namespace fs = std::filesystem;

constexpr int64_t kStep = 15 * kSec;  // the default config's evaluation (and scrape) interval

std::vector<std::pair<std::string, std::string>> DefaultRuleFiles() {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(fs::path(PHAROS_SOURCE_DIR) / "deploy/rules")) {
    if (e.path().extension() == ".yml") paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    out.emplace_back(p.string(), ss.str());
  }
  return out;
}

struct Scenario {
  std::string alert;
  int64_t for_ms;
  // Writes the series for time t: bad = the condition the rule alerts on.
  std::function<void(RulesEnv&, int64_t t, bool bad)> push;
  am::LabelSet labels;               // the firing alert's exact labels
  std::string summary;               // exact
  std::string description;           // exact
  std::set<std::string> also_fires;  // other default alerts the same data fires (e.g. warning+critical)
  int64_t max_lag_ms = 6 * kMin;     // from the switch to bad until pending (rate windows)
};

std::string State(RulesEnv& env, const std::string& alert) { return env.State(alert); }

void RunScenario(const Scenario& sc) {
  SCOPED_TRACE(sc.alert);
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load(DefaultRuleFiles(), kStep).ok());
  auto take = [&] {
    std::vector<am::Alert> mine;
    for (auto& a : env.TakeSent()) {
      const std::string name = a.labels["alertname"];
      if (name == sc.alert) {
        mine.push_back(std::move(a));
      } else {
        EXPECT_TRUE(sc.also_fires.count(name)) << "unexpected alert " << name;
      }
    }
    return mine;
  };
  // The series exist before the rules start (a 5m rate over a few samples of a young series
  // is extrapolated from too little data: Prometheus behaves the same).
  for (int64_t w = kT0 - 10 * kMin; w < kT0; w += kStep) sc.push(env, w, false);
  int64_t t = kT0;
  // 10 minutes healthy: silent.
  for (; t < kT0 + 10 * kMin; t += kStep) {
    sc.push(env, t, false);
    env.EvalAt(t);
    ASSERT_EQ(State(env, sc.alert), "inactive") << "t=" << (t - kT0) / kSec << "s";
    ASSERT_TRUE(take().empty());
  }
  // Bad: pending (within the rule's window), pending for exactly `for`, then firing.
  const int64_t bad_from = t;
  int64_t pending_at = 0;
  for (; t <= bad_from + sc.max_lag_ms; t += kStep) {
    sc.push(env, t, true);
    env.EvalAt(t);
    ASSERT_TRUE(take().empty());
    const std::string s = State(env, sc.alert);
    if (s == "pending") {
      pending_at = t;
      t += kStep;
      break;
    }
    ASSERT_EQ(s, "inactive");
  }
  ASSERT_NE(pending_at, 0) << "never went pending";
  for (; t < pending_at + sc.for_ms; t += kStep) {
    sc.push(env, t, true);
    env.EvalAt(t);
    ASSERT_EQ(State(env, sc.alert), "pending") << "after " << (t - pending_at) / kSec << "s";
    ASSERT_TRUE(take().empty()) << "a pending alert is not sent";
  }
  sc.push(env, t, true);
  env.EvalAt(t);
  ASSERT_EQ(State(env, sc.alert), "firing");
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].labels, sc.labels);
  EXPECT_EQ(sent[0].starts_at_ms, pending_at + sc.for_ms);
  EXPECT_EQ(sent[0].annotations["summary"], sc.summary);
  EXPECT_EQ(sent[0].annotations["description"], sc.description);
  EXPECT_EQ(sent[0].annotations["runbook_url"],
            "https://runbooks.example.com/pharos/" + sc.alert);
  EXPECT_EQ(sent[0].ends_at_ms, 0 + t + 4 * kMin);
  // Healthy again: resolved, and the resolution is sent.
  const int64_t good_from = t + kStep;
  int64_t resolved_at = 0;
  for (t = good_from; t <= good_from + 7 * kMin; t += kStep) {
    sc.push(env, t, false);
    env.EvalAt(t);
    const std::string s = State(env, sc.alert);
    if (s == "inactive") {
      resolved_at = t;
      break;
    }
    ASSERT_EQ(s, "firing");
  }
  ASSERT_NE(resolved_at, 0) << "never resolved";
  bool got_resolved = false;
  for (const auto& a : take()) {
    if (a.ends_at_ms == resolved_at) {
      EXPECT_EQ(a.labels, sc.labels);
      got_resolved = true;
    }
  }
  EXPECT_TRUE(got_resolved) << "resolved alert not sent";
}

// A counter that grows by `per_step` per evaluation step.
struct Counter {
  double v = 0;
  double Next(double per_step) { return v += per_step; }
};

TEST(DefaultRulesTest, HostHighCpuUsage) {
  auto idle = std::make_shared<Counter>();
  auto user = std::make_shared<Counter>();
  RunScenario({"HostHighCpuUsage", 5 * kMin,
       [=](RulesEnv& env, int64_t t, bool bad) {
         const double busy = bad ? 0.95 : 0.10;
         env.Push({"__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "h1:9100",
                   "job", "node", "mode", "idle"}, t, idle->Next(15 * (1 - busy)));
         env.Push({"__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "h1:9100",
                   "job", "node", "mode", "user"}, t, user->Next(15 * busy));
       },
       {{"alertname", "HostHighCpuUsage"}, {"instance", "h1:9100"}, {"severity", "warning"}},
       "High CPU usage on h1:9100",
       "CPU usage on h1:9100 has been above 80% for 5 minutes (currently 95%)."});
}

TEST(DefaultRulesTest, HostHighMemoryUsage) {
  RunScenario({"HostHighMemoryUsage", 5 * kMin,
       [](RulesEnv& env, int64_t t, bool bad) {
         env.Push({"__name__", "node_memory_MemTotal_bytes", "instance", "h1:9100", "job", "node"},
                  t, 16.0 * (1 << 30));
         env.Push({"__name__", "node_memory_MemAvailable_bytes", "instance", "h1:9100", "job",
                   "node"}, t, (bad ? 1.0 : 8.0) * (1 << 30));
       },
       {{"alertname", "HostHighMemoryUsage"}, {"instance", "h1:9100"}, {"job", "node"},
        {"severity", "warning"}},
       "High memory usage on h1:9100",
       "Memory usage on h1:9100 has been above 85% for 5 minutes (currently 93.75%).",
       {}, kStep});
}

TEST(DefaultRulesTest, HostHighDiskUsageIgnoresTmpfs) {
  RunScenario({"HostHighDiskUsage", 5 * kMin,
       [](RulesEnv& env, int64_t t, bool bad) {
         const double size = 100.0 * (1 << 30);
         env.Push({"__name__", "node_filesystem_size_bytes", "device", "/dev/sda1", "fstype",
                   "ext4", "instance", "h1:9100", "job", "node", "mountpoint", "/"}, t, size);
         env.Push({"__name__", "node_filesystem_avail_bytes", "device", "/dev/sda1", "fstype",
                   "ext4", "instance", "h1:9100", "job", "node", "mountpoint", "/"}, t,
                  bad ? size * 0.04 : size * 0.5);
         // Always full, never a disk alert.
         for (const char* fs : {"tmpfs", "overlay", "squashfs", "ramfs"}) {
           env.Push({"__name__", "node_filesystem_size_bytes", "device", fs, "fstype", fs,
                     "instance", "h1:9100", "job", "node", "mountpoint", "/run"}, t, 1 << 20);
           env.Push({"__name__", "node_filesystem_avail_bytes", "device", fs, "fstype", fs,
                     "instance", "h1:9100", "job", "node", "mountpoint", "/run"}, t, 0);
         }
       },
       {{"alertname", "HostHighDiskUsage"}, {"device", "/dev/sda1"}, {"fstype", "ext4"},
        {"instance", "h1:9100"}, {"job", "node"}, {"mountpoint", "/"}, {"severity", "warning"}},
       "Disk almost full on h1:9100 (/)",
       "Filesystem / (/dev/sda1) on h1:9100 is 96% full (threshold 90%).",
       {}, kStep});
}

// http_requests_total for job="api", service="checkout": 1000 good requests per step plus
// `errors` 5xx.
std::function<void(RulesEnv&, int64_t, bool)> HttpTraffic(double bad_errors) {
  auto ok = std::make_shared<Counter>();
  auto err = std::make_shared<Counter>();
  return [=](RulesEnv& env, int64_t t, bool bad) {
    env.Push({"__name__", "http_requests_total", "instance", "h1:8080", "job", "api", "service",
              "checkout", "status", "200"}, t, ok->Next(1000));
    env.Push({"__name__", "http_requests_total", "instance", "h1:8080", "job", "api", "service",
              "checkout", "status", "500"}, t, err->Next(bad ? bad_errors : 1));
  };
}

TEST(DefaultRulesTest, HttpHighErrorRate) {
  // 3% errors: warning only (the critical rule must stay silent).
  RunScenario({"HttpHighErrorRate", 5 * kMin, HttpTraffic(1000 * 0.03 / 0.97),
       {{"alertname", "HttpHighErrorRate"}, {"job", "api"}, {"service", "checkout"},
        {"severity", "warning"}},
       "HTTP 5xx error rate above 1% for api/checkout",
       "3% of the requests to api/checkout failed with a 5xx status over the last 5 minutes "
       "(threshold 1%)."});
}

TEST(DefaultRulesTest, HttpVeryHighErrorRate) {
  RunScenario({"HttpVeryHighErrorRate", 5 * kMin, HttpTraffic(1000 * 0.1 / 0.9),
       {{"alertname", "HttpVeryHighErrorRate"}, {"job", "api"}, {"service", "checkout"},
        {"severity", "critical"}},
       "HTTP 5xx error rate above 5% for api/checkout",
       "10% of the requests to api/checkout failed with a 5xx status over the last 5 minutes "
       "(threshold 5%).",
       {"HttpHighErrorRate"}});
}

TEST(DefaultRulesTest, HttpHighLatencyP95) {
  auto buckets = std::make_shared<std::map<std::string, Counter>>();
  RunScenario({"HttpHighLatencyP95", 10 * kMin,
       [=](RulesEnv& env, int64_t t, bool bad) {
         // 100 requests per step; healthy: all under 0.5s; slow: 90 of them take 2.5s-5s.
         const std::vector<std::pair<const char*, double>> good = {
             {"0.5", 100}, {"1", 100}, {"2.5", 100}, {"5", 100}, {"+Inf", 100}};
         const std::vector<std::pair<const char*, double>> slow = {
             {"0.5", 10}, {"1", 10}, {"2.5", 10}, {"5", 100}, {"+Inf", 100}};
         for (const auto& [le, n] : bad ? slow : good) {
           env.Push({"__name__", "http_request_duration_seconds_bucket", "instance", "h1:8080",
                     "job", "api", "le", le}, t, (*buckets)[le].Next(n));
         }
       },
       {{"alertname", "HttpHighLatencyP95"}, {"job", "api"}, {"severity", "warning"}},
       "p95 latency above 2s for api",
       "95th percentile request latency of api has been above 2s for 10 minutes (currently "
       "4.861s).",
       {}, 8 * kMin});
}

TEST(DefaultRulesTest, FailedLoginsHigh) {
  auto c = std::make_shared<Counter>();
  RunScenario({"FailedLoginsHigh", kMin,
       [=](RulesEnv& env, int64_t t, bool bad) {
         // 2 per minute healthy, 12 per minute under attack.
         env.Push({"__name__", "failed_logins_total", "instance", "h1:8080", "job", "api"}, t,
                  c->Next(bad ? 3 : 0.5));
       },
       {{"alertname", "FailedLoginsHigh"}, {"category", "security"}, {"instance", "h1:8080"},
        {"job", "api"}, {"severity", "critical"}},
       "Many failed logins on api (h1:8080)",
       "12 failed login attempts per minute on h1:8080 (threshold 5 per minute): possible "
       "brute-force attack."});
}

TEST(DefaultRulesTest, TargetDown) {
  RunScenario({"TargetDown", kMin,
       [](RulesEnv& env, int64_t t, bool bad) {
         env.Push({"__name__", "up", "instance", "h1:8080", "job", "api"}, t, bad ? 0 : 1);
         env.Push({"__name__", "up", "instance", "h2:8080", "job", "api"}, t, 1);
       },
       {{"alertname", "TargetDown"}, {"instance", "h1:8080"}, {"job", "api"},
        {"severity", "critical"}},
       "Target h1:8080 of job api is down",
       "h1:8080 (api) could not be scraped for more than 1 minute.",
       {}, kStep});
}

TEST(DefaultRulesTest, DatabaseConnectionFailures) {
  auto c = std::make_shared<Counter>();
  RunScenario({"DatabaseConnectionFailures", 2 * kMin,
       [=](RulesEnv& env, int64_t t, bool bad) {
         env.Push({"__name__", "db_connection_errors_total", "instance", "h1:8080", "job", "api"},
                  t, c->Next(bad ? 5 : 0));
       },
       {{"alertname", "DatabaseConnectionFailures"}, {"instance", "h1:8080"}, {"job", "api"},
        {"severity", "critical"}},
       "Database connection failures on api (h1:8080)",
       // At firing time 2m15s of the 5m window hold errors (45): 9 per minute on average.
       "h1:8080 is failing to connect to its database: 9 connection errors per minute."});
}

TEST(DefaultRulesTest, DatabaseDown) {
  RunScenario({"DatabaseDown", kMin,
       [](RulesEnv& env, int64_t t, bool bad) {
         env.Push({"__name__", "pg_up", "instance", "db1:9187", "job", "postgres"}, t, bad ? 0 : 1);
         env.Push({"__name__", "mysql_up", "instance", "db2:9104", "job", "mysql"}, t, 1);
       },
       {{"alertname", "DatabaseDown"}, {"instance", "db1:9187"}, {"job", "postgres"},
        {"severity", "critical"}},
       "Database behind db1:9187 is unreachable",
       "The database exporter db1:9187 (postgres) cannot connect to its database.",
       {}, kStep});
}

TEST(DefaultRulesTest, PromtoolAcceptsThem) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  std::string cmd = "promtool check rules";
  for (const auto& [path, text] : DefaultRuleFiles()) cmd += " '" + path + "'";
  cmd += " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace pharos::alerting::rules
