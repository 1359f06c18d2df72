// Runs the rule-file parser over Prometheus's own rule fixtures
// (../shared/conformance/prometheus-config/EXPECTATIONS.tsv, rows rules/ and model/rulefmt/).
// Skips when they are absent. Every fixture Prometheus accepts must parse; every one it
// rejects must be rejected with Prometheus's message.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "alerting/rules/rulefmt.h"
#include "gtest/gtest.h"

namespace pharos::alerting::rules {
namespace {

namespace fs = std::filesystem;

TEST(RulesConformance, PrometheusFixtures) {
  fs::path dir = fs::path(PHAROS_CONFORMANCE_DIR) / "prometheus-config";
  std::ifstream tsv(dir / "EXPECTATIONS.tsv");
  if (!tsv) GTEST_SKIP() << "no conformance data at " << dir;
  std::string line;
  int total = 0;
  while (std::getline(tsv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (cols.size() < 2) continue;
    const std::string& path = cols[0];
    if (path.rfind("rules/", 0) != 0 && path.rfind("model/rulefmt/", 0) != 0) continue;
    const std::string& expect = cols[1];
    const std::string message = cols.size() > 3 ? cols[3] : "";
    const std::string note = cols.size() > 4 ? cols[4] : "";
    ParseOptions o;
    o.legacy_names = note.find("legacy name validation") != std::string::npos;
    ++total;
    auto f = LoadRuleFile((dir / path).string(), o);
    if (expect == "ok") {
      EXPECT_TRUE(f.ok()) << path << ": " << f.status();
    } else {
      ASSERT_FALSE(f.ok()) << path << ": accepted; Prometheus: " << message;
      EXPECT_NE(std::string(f.status().message()).find(message), std::string::npos)
          << path << ": got " << f.status().message() << "; Prometheus: " << message;
    }
  }
  EXPECT_GE(total, 30);
}

}  // namespace
}  // namespace pharos::alerting::rules
