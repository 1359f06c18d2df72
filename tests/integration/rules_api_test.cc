// /api/v1/rules and /api/v1/alerts against Prometheus 2.42 with the same rule file: same
// groups, rules, queries (canonical PromQL form), states, labels, annotations (templates
// expanded), health and errors, field by field; times (evaluationTime, lastEvaluation,
// activeAt) are ignored. Skips when Prometheus is not installed.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test_util.h"

namespace pharos::testing {
namespace {

using nlohmann::json;

constexpr const char* kRules = R"RULES(groups:
  - name: g1
    interval: 1s
    rules:
      - record: job:one
        expr: vector(1)
        labels: {a: b}
      - alert: Always
        expr: vector(2) > 1
        for: 1h
        labels: {severity: warning, kind: "{{ $value }}"}
        annotations:
          summary: "value {{ $value }} {{ $value | humanizePercentage }}"
          description: '{{ with query "vector(42)" }}{{ . | first | value }}{{ end }}'
      - alert: Fire
        expr: label_replace(vector(3), "instance", "h1:9100", "", "")
        keep_firing_for: 5m
        annotations: {summary: "{{ $labels.instance }} is {{ $value | humanize }}"}
      - alert: Never
        expr: vector(0) > 1
  - name: g2
    limit: 1
    interval: 1s
    rules:
      - record: two
        expr: vector(2)
      - alert: TooMany
        expr: vector(1) or label_replace(vector(1), "a", "b", "", "")
      - record: dup
        expr: vector(1) or label_replace(vector(1), "a", "b", "", "")
        labels: {a: ""}
)RULES";

// Drops the fields that depend on timing.
json Normalize(json j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto& [k, v] : j.items()) {
      if (k == "evaluationTime" || k == "lastEvaluation" || k == "activeAt") continue;
      out[k] = Normalize(v);
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (auto& v : j) out.push_back(Normalize(v));
    return out;
  }
  return j;
}

// First difference between a and b as "path: a vs b", or "".
std::string Diff(const json& a, const json& b, const std::string& path = "") {
  if (a.type() != b.type()) return path + ": " + a.dump() + " vs " + b.dump();
  if (a.is_object()) {
    for (auto& [k, v] : a.items()) {
      if (!b.contains(k)) return path + "." + k + ": missing in pharos";
      if (auto d = Diff(v, b[k], path + "." + k); !d.empty()) return d;
    }
    for (auto& [k, v] : b.items()) {
      if (!a.contains(k)) return path + "." + k + ": only in pharos (" + v.dump() + ")";
    }
    return "";
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return path + ": " + a.dump() + " vs " + b.dump();
    for (size_t i = 0; i < a.size(); ++i) {
      if (auto d = Diff(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
    }
    return "";
  }
  return a == b ? "" : path + ": " + a.dump() + " vs " + b.dump();
}

TEST(RulesApi, SameShapesAsPrometheus) {
  const std::string prom = "/usr/bin/prometheus";
  if (access(prom.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus not installed";
  TempDir dir;
  const std::string rules = dir.Write("rules.yml", kRules);
  const std::string cfg_text =
      "global:\n  evaluation_interval: 1s\nrule_files: ['" + rules + "']\n";
  const std::string pharos_cfg = dir.Write("pharos.yml", cfg_text);
  const std::string prom_cfg = dir.Write("prometheus.yml", cfg_text);

  PharosProcess pharos(dir.path(), {"--config.file=" + pharos_cfg});
  const int port = pharos.WaitForPort();
  ASSERT_GT(port, 0) << pharos.Log();
  const int prom_port = FreePort();
  const std::string cmd = prom + " --config.file=" + prom_cfg + " --storage.tsdb.path=" +
                          dir.path() + "/prom --web.listen-address=127.0.0.1:" +
                          std::to_string(prom_port) + " > " + dir.path() +
                          "/prometheus.log 2>&1 & echo $! > " + dir.path() + "/prom.pid";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  struct KillProm {
    std::string dir;
    ~KillProm() { (void)std::system(("kill $(cat " + dir + "/prom.pid) 2>/dev/null").c_str()); }
  } kill_prom{dir.path()};

  const std::vector<std::string> endpoints = {"/api/v1/rules", "/api/v1/alerts",
                                              "/api/v1/rules?type=alert",
                                              "/api/v1/rules?type=record"};
  std::string diff = "not compared yet";
  // Both evaluate every second; wait (bounded) until their answers agree.
  for (int attempt = 0; attempt < 40 && !diff.empty(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    diff.clear();
    for (const auto& ep : endpoints) {
      auto a = HttpGet(prom_port, ep);
      auto b = HttpGet(port, ep);
      if (a.status != 200 || b.status != 200) {
        diff = ep + ": status " + std::to_string(a.status) + " vs " + std::to_string(b.status);
        break;
      }
      json ja = Normalize(json::parse(a.body, nullptr, false));
      json jb = Normalize(json::parse(b.body, nullptr, false));
      if (ep.find("type=") != std::string::npos) {
        // Prometheus 2.42 lists groups whose rules were all filtered out; 3.x (and Pharos)
        // leave them out.
        json& gs = ja["data"]["groups"];
        json kept = json::array();
        for (auto& g : gs) {
          if (!g["rules"].empty()) kept.push_back(g);
        }
        gs = kept;
      }
      if (std::string d = Diff(ja, jb); !d.empty()) {
        diff = ep + d + "\nprometheus: " + a.body + "\npharos: " + b.body;
        break;
      }
      // Guard against comparing two empty answers.
      if (ep == "/api/v1/alerts" && ja["data"]["alerts"].size() != 2) diff = "alerts not yet active";
    }
  }
  EXPECT_EQ(diff, "");
}

// A bad rule file fails /-/reload like a bad config and keeps the running rules; a good one
// is applied.
TEST(RulesApi, ReloadKeepsRulesOnError) {
  TempDir dir;
  const std::string rules = dir.Write("rules.yml", "groups:\n  - name: a\n    rules:\n"
                                                   "      - record: r1\n        expr: '1'\n");
  const std::string cfg = dir.Write("pharos.yml", "rule_files: [rules.yml]\n");
  PharosProcess pharos(dir.path(), {"--config.file=" + cfg, "--web.enable-lifecycle"});
  const int port = pharos.WaitForPort();
  ASSERT_GT(port, 0) << pharos.Log();
  ASSERT_TRUE(pharos.WaitForLog("ready to receive web requests"));
  auto names = [&] {
    json j = json::parse(HttpGet(port, "/api/v1/rules").body, nullptr, false);
    std::string out;
    for (auto& g : j["data"]["groups"]) {
      for (auto& r : g["rules"]) out += g["name"].get<std::string>() + "/" + r["name"].get<std::string>() + " ";
    }
    return out;
  };
  EXPECT_EQ(names(), "a/r1 ");
  dir.Write("rules.yml", "groups:\n  - name: a\n    rules:\n      - record: r1\n");
  auto r = HttpCall(port, "POST", "/-/reload");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("rules.yml:4:9: group \"a\", rule 1, \"r1\": field 'expr' must be set in rule"),
            std::string::npos) << r.body;
  EXPECT_EQ(names(), "a/r1 ");
  EXPECT_NE(HttpGet(port, "/metrics").body.find("pharos_config_last_reload_successful 0"),
            std::string::npos);
  dir.Write("rules.yml", "groups:\n  - name: b\n    rules:\n      - alert: A\n        expr: '1'\n");
  EXPECT_EQ(HttpCall(port, "POST", "/-/reload").status, 200);
  EXPECT_EQ(names(), "b/A ");
}

TEST(RulesApi, CheckRulesCommand) {
  TempDir dir;
  const std::string good = dir.Write("good.yml", kRules);
  const std::string bad = dir.Write("bad.yml", "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: rate(x)\n");
  std::string out;
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "check", "rules", good}, &out), 0) << out;
  EXPECT_EQ(out, "Checking " + good + "\n  SUCCESS: 7 rules found\n\n");
  EXPECT_EQ(RunCommand({PHAROS_BINARY_PATH, "check", "rules", bad}, &out), 1) << out;
  EXPECT_NE(out.find(bad + ":5:15: group \"a\", rule 1, \"x\": could not parse expression: 1:6: "
                           "parse error: expected type range vector in call to function \"rate\", "
                           "got instant vector"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace pharos::testing
