// Smoke test over the PromQL compliance-tester queries (conformance/
// compliance-queries-public.yml): on synthetic data shaped like the PromLabs demo service
// (3 instances, job="demo", 5s scrapes), every query must evaluate as a range query (end - 10m
// .. end, step 10s, as the tester runs them) without error unless marked should_fail, and the
// range query's last point must equal the instant query at the end. There is no reference
// Prometheus here, so values are not checked against expectations; this catches unsupported
// query shapes, errors and range/instant inconsistencies.

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/query/engine/promqltest_runner.h"

namespace pharos::promql::testing {
namespace {

struct Case {
  std::string query;
  bool should_fail = false;
};

std::vector<Case> LoadCases(const std::filesystem::path& path) {
  std::vector<Case> cases;
  std::ifstream in(path);
  std::string l;
  while (std::getline(in, l)) {
    size_t b = l.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    std::string t = l.substr(b);
    if (t.rfind("- query: '", 0) == 0) {
      // YAML single-quoted scalar: '' is a quote.
      std::string body = t.substr(10);
      if (!body.empty() && body.back() == '\'') body.pop_back();
      std::string q;
      for (size_t i = 0; i < body.size(); ++i) {
        q.push_back(body[i]);
        if (body[i] == '\'' && i + 1 < body.size() && body[i + 1] == '\'') ++i;
      }
      cases.push_back(Case{q, false});
    } else if (t.rfind("should_fail: true", 0) == 0 && !cases.empty()) {
      cases.back().should_fail = true;
    }
  }
  return cases;
}

constexpr int64_t kScrape = 5'000;
constexpr int64_t kEnd = 3600'000;

void LoadDemoData(MemStorage& s) {
  const char* instances[] = {"demo.promlabs.com:10000", "demo.promlabs.com:10001",
                             "demo.promlabs.com:10002"};
  for (int i = 0; i < 3; ++i) {
    auto add = [&](std::initializer_list<std::string_view> lbls, auto value) {
      std::vector<std::string_view> v(lbls);
      v.push_back("instance");
      v.push_back(instances[i]);
      v.push_back("job");
      v.push_back("demo");
      std::vector<Label> ls;
      for (size_t k = 0; k + 1 < v.size(); k += 2) ls.push_back(Label{v[k], v[k + 1]});
      Labels labels{std::span<const Label>(ls)};
      for (int64_t t = 0; t <= kEnd; t += kScrape) s.Add(labels, t, value(t));
    };
    for (const char* type : {"free", "buffers", "cached", "used"}) {
      add({"__name__", "demo_memory_usage_bytes", "type", type},
          [i](int64_t t) { return 1e9 + 1e6 * i + 1e3 * std::sin(t / 60000.0); });
    }
    for (const char* mode : {"idle", "user", "system"}) {
      add({"__name__", "demo_cpu_usage_seconds_total", "mode", mode},
          [i](int64_t t) { return (t / 1000.0) * (0.5 + 0.1 * i); });
    }
    add({"__name__", "demo_disk_usage_bytes"}, [](int64_t t) { return 5e10 + t; });
    add({"__name__", "demo_disk_total_bytes"}, [](int64_t) { return 1e11; });
    add({"__name__", "demo_num_cpus"}, [](int64_t) { return 4.0; });
    add({"__name__", "demo_batch_last_success_timestamp_seconds"},
        [](int64_t t) { return static_cast<double>((t / 300000) * 300); });
    for (const char* method : {"GET", "POST"}) {
      for (const char* path : {"/api/foo", "/api/bar"}) {
        double cum = 0;
        for (const char* le : {"0.0002", "0.001", "0.01", "0.1", "1", "+Inf"}) {
          cum += 1;
          double share = cum;
          add({"__name__", "demo_api_request_duration_seconds_bucket", "le", le, "method",
               method, "path", path, "status", "200"},
              [share](int64_t t) { return share * (t / 1000.0); });
        }
        add({"__name__", "demo_api_request_duration_seconds_count", "method", method, "path",
             path, "status", "200"},
            [cum](int64_t t) { return cum * (t / 1000.0); });
        add({"__name__", "demo_api_request_duration_seconds_sum", "method", method, "path", path,
             "status", "200"},
            [](int64_t t) { return 0.05 * (t / 1000.0); });
      }
    }
  }
}

bool Same(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

TEST(ComplianceSmokeTest, EveryQueryEvaluates) {
  const char* env = std::getenv("PHAROS_PROMQL_CONFORMANCE_DIR");
  std::filesystem::path dir = env != nullptr ? env : PHAROS_PROMQL_CONFORMANCE_DIR;
  std::filesystem::path file = dir.parent_path() / "compliance-queries-public.yml";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;
  std::vector<Case> cases = LoadCases(file);
  ASSERT_GT(cases.size(), 300u);

  MemStorage storage;
  LoadDemoData(storage);
  EngineOptions opts;
  opts.enable_delayed_name_removal = false;  // the tester's reference is a stock Prometheus
  Engine engine(opts);
  int evaluated = 0;
  for (const Case& c : cases) {
    auto r = engine.RangeQuery(storage, c.query, kEnd - 600'000, kEnd, 10'000);
    if (c.should_fail) {
      // The tester's expectations predate Prometheus 3's UTF-8 label names: "~invalid" is a
      // valid label name now, so label_replace to it succeeds (as in Prometheus 3).
      if (c.query.find("\"~invalid\"") == std::string::npos) {
        EXPECT_FALSE(r.ok()) << c.query;
      }
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.query << ": " << r.status();
    ++evaluated;
    auto inst = engine.InstantQuery(storage, c.query, kEnd);
    ASSERT_TRUE(inst.ok()) << c.query << ": " << inst.status();
    std::map<Labels, double> at_end;
    for (const Series& s : r->series) {
      if (!s.points.empty() && s.points.back().t == kEnd) at_end[s.labels] = s.points.back().v;
    }
    if (inst->type == ResultType::kScalar) {
      ASSERT_EQ(at_end.size(), 1u) << c.query;
      EXPECT_TRUE(Same(at_end.begin()->second, inst->scalar.v)) << c.query;
      continue;
    }
    ASSERT_EQ(at_end.size(), inst->series.size()) << c.query;
    for (const Series& s : inst->series) {
      auto it = at_end.find(s.labels);
      ASSERT_NE(it, at_end.end()) << c.query << ": " << s.labels.String();
      EXPECT_TRUE(Same(it->second, s.points[0].v))
          << c.query << " " << s.labels.String() << ": " << it->second << " vs "
          << s.points[0].v;
    }
  }
  std::printf("compliance queries evaluated: %d (+%zu expected failures)\n", evaluated,
              cases.size() - static_cast<size_t>(evaluated));
}

}  // namespace
}  // namespace pharos::promql::testing
