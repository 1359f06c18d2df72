// Differential PromQL test against real Prometheus 2.42: demo-service-like data is
// remote-written into both servers, then every query of the upstream PromQL compliance list
// (../shared/conformance/compliance-queries-public.yml) runs as a range query and as instant
// queries against both, and the answers are compared (labels equal, values within 1e-9
// relative, same NaN/Inf). Sample timestamps sit 123/456/789 ms off the 5s grid and queries
// are evaluated at whole seconds, so no sample falls on a window boundary (where 2.42's
// closed windows and 3.x's left-open ones differ).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prometheus/remote.pb.h"
#include "snappy.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using nlohmann::json;

struct Query {
  std::string text;
  bool should_fail = false;
};

std::vector<Query> LoadQueries(const std::string& path) {
  std::ifstream in(path);
  std::vector<Query> out;
  std::string line;
  while (std::getline(in, line)) {
    size_t q = line.find("- query: ");
    if (q != std::string::npos) {
      std::string v = line.substr(q + 9);
      // Single-quoted YAML scalar: '' is a quote.
      if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
        std::string u;
        for (size_t i = 1; i + 1 < v.size(); ++i) {
          u.push_back(v[i]);
          if (v[i] == '\'' && v[i + 1] == '\'') ++i;
        }
        v = u;
      } else if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      out.push_back({v, false});
    } else if (line.find("should_fail: true") != std::string::npos && !out.empty()) {
      out.back().should_fail = true;
    }
  }
  return out;
}

// Demo-service-like series (github.com/juliusv/prometheus_demo_service's metric families),
// deterministic.
struct Generator {
  struct S {
    std::map<std::string, std::string> labels;
    double value;
    int kind;  // 0 gauge, 1 counter, 2 constant, 3 batch timestamp, 4 intermittent
    double rate;
  };
  std::vector<S> series;
  std::vector<int64_t> offsets;

  Generator() {
    const char* instances[] = {"demo.promlabs.com:10000", "demo.promlabs.com:10001",
                               "demo.promlabs.com:10002"};
    for (int i = 0; i < 3; ++i) {
      auto base = [&](const std::string& name) {
        return std::map<std::string, std::string>{
            {"__name__", name}, {"job", "demo"}, {"instance", instances[i]}};
      };
      int k = 0;
      for (const char* type : {"buffers", "cached", "free", "used"}) {
        auto l = base("demo_memory_usage_bytes");
        l["type"] = type;
        series.push_back({l, 1e9 * (1 + k++) + i * 1e7, 0, 0});
      }
      series.push_back({base("demo_num_cpus"), 4.0 + 2 * i, 2, 0});
      for (const char* mode : {"idle", "system", "user"}) {
        auto l = base("demo_cpu_usage_seconds_total");
        l["mode"] = mode;
        series.push_back({l, 1000.0 * (i + 1), 1, mode[0] == 'i' ? 3.2 : 0.45 + 0.1 * i});
      }
      series.push_back({base("demo_disk_usage_bytes"), 5e10 + i * 1e9, 0, 0});
      series.push_back({base("demo_disk_total_bytes"), 1e11, 2, 0});
      series.push_back({base("demo_batch_last_success_timestamp_seconds"), 0, 3, 0});
      series.push_back({base("demo_intermittent_metric"), 1, 4, 0});
      for (const char* method : {"GET", "POST"}) {
        for (const char* path : {"/api/foo", "/api/bar"}) {
          for (const char* status : {"200", "500"}) {
            double share = (status[0] == '2' ? 1.0 : 0.02) * (method[0] == 'G' ? 1 : 0.3);
            double bound = 0.0001;
            for (int b = 0; b <= 25; ++b) {
              auto l = base("demo_api_request_duration_seconds_bucket");
              l["method"] = method;
              l["path"] = path;
              l["status"] = status;
              char le[32];
              if (b == 25) {
                std::snprintf(le, sizeof le, "+Inf");
              } else {
                std::snprintf(le, sizeof le, "%.17g", bound);
                bound *= 1.5;
              }
              l["le"] = le;
              // Cumulative: the share of requests at or below the bound grows with b.
              double frac = std::min(1.0, std::pow(static_cast<double>(b + 1) / 18.0, 2.0));
              series.push_back({l, 0, 1, 20 * share * frac});
            }
            auto sum = base("demo_api_request_duration_seconds_sum");
            sum["method"] = method;
            sum["path"] = path;
            sum["status"] = status;
            series.push_back({sum, 0, 1, 20 * share * 0.035});
            auto count = base("demo_api_request_duration_seconds_count");
            count["method"] = method;
            count["path"] = path;
            count["status"] = status;
            series.push_back({count, 0, 1, 20 * share});
          }
        }
      }
      offsets.push_back(123 + 333 * i);
    }
  }

  // Value of series s at step n; NaN-staleness for the intermittent metric's gaps.
  bool Value(size_t s, int64_t n, int64_t t_ms, double* v) const {
    const S& x = series[s];
    switch (x.kind) {
      case 0: *v = std::round(x.value * (1 + 0.05 * std::sin(n / 37.0 + s))); return true;
      case 1: *v = std::round((x.rate * 5 * n * (1 + 0.1 * std::sin(n / 11.0 + s))) * 1000) / 1000 +
                   (x.value > 0 ? x.value : 0);
        return true;
      case 2: *v = x.value; return true;
      case 3: *v = static_cast<double>((t_ms / 1000) / 300 * 300); return true;
      case 4: {
        bool on = (n / 60) % 3 != 2;
        if (!on) return false;
        *v = 1;
        return true;
      }
    }
    return false;
  }
};

struct Push {
  std::vector<std::string> bodies;
};

Push BuildRequests(const Generator& g, int64_t start_ms, int64_t steps) {
  Push p;
  prometheus::WriteRequest req;
  size_t samples = 0;
  std::vector<bool> was_on(g.series.size(), true);
  auto flush = [&] {
    if (samples == 0) return;
    std::string raw, comp;
    req.SerializeToString(&raw);
    snappy::Compress(raw.data(), raw.size(), &comp);
    p.bodies.push_back(std::move(comp));
    req.Clear();
    samples = 0;
  };
  for (int64_t n = 0; n < steps; ++n) {
    for (size_t s = 0; s < g.series.size(); ++s) {
      int inst = static_cast<int>(s * 3 / g.series.size());
      int64_t t = start_ms + n * 5000 + g.offsets[inst];
      double v;
      bool on = g.Value(s, n, t, &v);
      if (!on) {
        if (!was_on[s]) continue;
        v = std::bit_cast<double>(uint64_t{0x7ff0000000000002});  // staleness marker
      }
      was_on[s] = on;
      auto* ts = req.add_timeseries();
      for (const auto& [k, val] : g.series[s].labels) {
        auto* l = ts->add_labels();
        l->set_name(k);
        l->set_value(val);
      }
      auto* smp = ts->add_samples();
      smp->set_timestamp(t);
      smp->set_value(v);
      ++samples;
    }
    if (samples >= 2000) flush();
  }
  flush();
  return p;
}

bool SameValue(const json& a, const json& b) {
  std::string sa = a.get<std::string>(), sb = b.get<std::string>();
  if (sa == sb) return true;
  double x = std::strtod(sa.c_str(), nullptr), y = std::strtod(sb.c_str(), nullptr);
  if (std::isnan(x) && std::isnan(y)) return true;
  return std::abs(x - y) <= 1e-9 * std::max(std::abs(x), std::abs(y));
}

// "" when equal, else a description of the first difference.
std::string Compare(const json& a, const json& b) {
  if (a["resultType"] != b["resultType"]) {
    return "resultType " + a["resultType"].dump() + " vs " + b["resultType"].dump();
  }
  const json& ra = a["result"];
  const json& rb = b["result"];
  std::string type = a["resultType"];
  if (type == "scalar" || type == "string") {
    if (ra[0] != rb[0] || !SameValue(ra[1], rb[1])) return ra.dump() + " vs " + rb.dump();
    return "";
  }
  std::map<std::string, json> ma, mb;
  for (const auto& s : ra) ma[s["metric"].dump()] = s;
  for (const auto& s : rb) mb[s["metric"].dump()] = s;
  if (ma.size() != mb.size()) {
    return std::to_string(ma.size()) + " series vs " + std::to_string(mb.size());
  }
  for (const auto& [m, sa] : ma) {
    auto it = mb.find(m);
    if (it == mb.end()) return "series " + m + " missing";
    const char* key = type == "matrix" ? "values" : "value";
    json va = type == "matrix" ? sa[key] : json::array({sa[key]});
    json vb = type == "matrix" ? it->second[key] : json::array({it->second[key]});
    if (va.size() != vb.size()) {
      return m + ": " + std::to_string(va.size()) + " points vs " + std::to_string(vb.size());
    }
    for (size_t i = 0; i < va.size(); ++i) {
      if (va[i][0] != vb[i][0] || !SameValue(va[i][1], vb[i][1])) {
        return m + ": point " + va[i].dump() + " vs " + vb[i].dump();
      }
    }
  }
  return "";
}

// Where Prometheus 3.x semantics (Pharos's) differ from 2.42's on these queries, with why.
const std::map<std::string, std::string> kExpectedDifferences = {
    {R"q(label_replace(demo_num_cpus, "~invalid", "", "src", "(.*)"))q",
     "Prometheus 3.x accepts any UTF-8 label name; 2.42 rejects \"~invalid\""},
};

TEST(Compliance, PromQLAnswersEqualPrometheus242) {
  const std::string prom = "/usr/bin/prometheus";
  if (access(prom.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus not installed";
  const std::string qfile = std::string(PHAROS_CONFORMANCE_DIR) + "/compliance-queries-public.yml";
  std::vector<Query> queries = LoadQueries(qfile);
  if (queries.empty()) GTEST_SKIP() << "no compliance queries at " << qfile;

  TempDir dir;
  PharosProcess pharos(dir.path(), {});
  int port = pharos.WaitForPort();
  ASSERT_GT(port, 0) << pharos.Log();
  ASSERT_TRUE(pharos.WaitForLog("ready to receive web requests"));
  int prom_port = FreePort();
  std::string cmd = prom + " --config.file=" + dir.Write("prom.yml", "global: {}\n") +
                    " --storage.tsdb.path=" + dir.path() + "/prom --web.enable-remote-write-receiver" +
                    " --web.listen-address=127.0.0.1:" + std::to_string(prom_port) + " > " +
                    dir.path() + "/prom.log 2>&1 & echo $! > " + dir.path() + "/prom.pid";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  struct Stop {
    std::string pid;
    ~Stop() { (void)std::system(("kill $(cat " + pid + ") 2>/dev/null").c_str()); }
  } stop{dir.path() + "/prom.pid"};
  for (int i = 0; i < 100 && HttpGet(prom_port, "/-/ready").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(HttpGet(prom_port, "/-/ready").status, 200);

  // 2h of data ending now, on a 5s grid aligned to whole seconds.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t steps = 2 * 3600 / 5;
  const int64_t start_ms = (now_ms / 5000) * 5000 - steps * 5000;
  Generator g;
  Push push = BuildRequests(g, start_ms, steps);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/x-protobuf"},
      {"Content-Encoding", "snappy"},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  for (const auto& body : push.bodies) {
    auto a = HttpCall(prom_port, "POST", "/api/v1/write", body, headers);
    ASSERT_EQ(a.status / 100, 2) << a.body;
    auto b = HttpCall(port, "POST", "/api/v1/write", body, headers);
    ASSERT_EQ(b.status, 204) << b.body;
  }

  // The compliance tester's defaults: end = now - 12m, 10m range, 10s step; plus instant
  // queries at the end and 5 minutes before.
  const int64_t end_s = (start_ms + steps * 5000) / 1000 - 12 * 60;
  const std::vector<std::string> params = {
      "&start=" + std::to_string(end_s - 600) + "&end=" + std::to_string(end_s) + "&step=10",
      "&time=" + std::to_string(end_s), "&time=" + std::to_string(end_s - 300)};
  int passed = 0, failed = 0, expected_diff = 0, both_answered = 0, both_failed = 0;
  std::ostringstream report;
  for (const Query& q : queries) {
    auto diff = kExpectedDifferences.find(q.text);
    bool ok = true;
    std::string why;
    for (size_t i = 0; i < params.size() && ok; ++i) {
      std::string path = std::string(i == 0 ? "/api/v1/query_range" : "/api/v1/query") +
                         "?query=" + UrlEncode(q.text) + params[i];
      auto a = HttpGet(prom_port, path);
      auto b = HttpGet(port, path);
      bool a_ok = a.status == 200, b_ok = b.status == 200;
      if (diff != kExpectedDifferences.end()) break;
      if (a_ok != b_ok) {
        ok = false;
        why = "prometheus " + std::to_string(a.status) + " " + a.body.substr(0, 200) +
              " / pharos " + std::to_string(b.status) + " " + b.body.substr(0, 200);
        break;
      }
      if (!a_ok) {  // both failed: agreement (should_fail queries end here)
        ++both_failed;
        continue;
      }
      ++both_answered;
      json ja = json::parse(a.body, nullptr, false), jb = json::parse(b.body, nullptr, false);
      if (ja.is_discarded() || jb.is_discarded()) {
        ok = false;
        why = "unparseable answer: " + b.body.substr(0, 200);
        break;
      }
      why = Compare(ja["data"], jb["data"]);
      if (!why.empty()) ok = false;
    }
    if (diff != kExpectedDifferences.end()) {
      ++expected_diff;
    } else if (ok) {
      ++passed;
    } else {
      ++failed;
      report << "  " << q.text << "\n      " << why << "\n";
    }
  }
  std::printf("compliance queries: %zu; equal to Prometheus 2.42: %d; different: %d; "
              "expected 3.x differences: %d (evaluations: %d answered by both, %d refused "
              "by both)\n%s",
              queries.size(), passed, failed, expected_diff, both_answered, both_failed,
              report.str().c_str());
  EXPECT_GT(both_answered, 900);
  EXPECT_EQ(failed, 0) << report.str();
}

}  // namespace
}  // namespace pharos::testing
