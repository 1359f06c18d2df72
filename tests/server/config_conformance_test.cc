// Runs Pharos's config loader over Prometheus's own config fixtures
// (../shared/conformance/prometheus-config/EXPECTATIONS.tsv). Skips when they are absent.
//
// What must hold:
//  - every fixture Prometheus rejects, Pharos rejects too (never accept a bad config);
//  - every fixture Prometheus accepts, Pharos accepts, unless it uses a feature Pharos does
//    not implement (service discoveries, remote_write, ...), which Pharos must reject by
//    naming the unknown field, never by a different, wrong error.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "server/config/config.h"

namespace pharos::config {
namespace {

namespace fs = std::filesystem;

TEST(ConfigConformance, PrometheusFixtures) {
  fs::path dir = fs::path(PHAROS_CONFORMANCE_DIR) / "prometheus-config";
  std::ifstream tsv(dir / "EXPECTATIONS.tsv");
  if (!tsv) GTEST_SKIP() << "no conformance data at " << dir;
  std::string line;
  int ok_accepted = 0, ok_unsupported = 0, err_rejected = 0, err_same_message = 0, total = 0;
  while (std::getline(tsv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (cols.size() < 2) continue;
    const std::string& path = cols[0];
    const std::string& expect = cols[1];
    std::string message = cols.size() > 3 ? cols[3] : "";
    std::string note = cols.size() > 4 ? cols[4] : "";
    if (path.rfind("config/", 0) != 0) continue;   // rule files belong to the rules loader
    if (note.find("agent mode") != std::string::npos) continue;  // no agent mode in Pharos
    ++total;
    auto c = LoadConfigFile((dir / path).string());
    std::string err = c.ok() ? "" : std::string(c.status().message());
    if (expect == "ok") {
      if (c.ok()) {
        ++ok_accepted;
      } else {
        EXPECT_NE(err.find("not found in"), std::string::npos)
            << path << ": valid Prometheus config rejected for a reason other than an "
            << "unsupported field: " << err;
        ++ok_unsupported;
      }
    } else if (expect == "error") {
      EXPECT_FALSE(c.ok()) << path << ": invalid config accepted (Prometheus: " << message << ")";
      if (!c.ok()) ++err_rejected;
      if (!c.ok() && !message.empty() && err.find(message) != std::string::npos) ++err_same_message;
    }
  }
  std::printf("config fixtures: %d; valid accepted %d, valid using unsupported features %d; "
              "invalid rejected %d (same message as Prometheus: %d)\n",
              total, ok_accepted, ok_unsupported, err_rejected, err_same_message);
}

}  // namespace
}  // namespace pharos::config
