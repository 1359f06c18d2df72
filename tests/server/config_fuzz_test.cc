// Random mutations of valid configs never crash or hang the loader; they either parse or give
// an error naming the source.
#include <random>

#include "gtest/gtest.h"
#include "server/config/config.h"

namespace pharos::config {
namespace {

constexpr char kSeed[] = R"(global:
  scrape_interval: 15s
  external_labels: {a: b}
rule_files: ["r/*.yml"]
scrape_configs:
  - job_name: node
    basic_auth: {username: u, password: p}
    static_configs: [{targets: ["a:1"], labels: {x: y}}]
    relabel_configs:
      - {source_labels: [__address__], regex: "(.*):.*", target_label: host}
      - {action: hashmod, source_labels: [a], modulus: 3, target_label: h}
alerting:
  alertmanagers: [{static_configs: [{targets: ["am:9093"]}]}]
storage: {path: /d, retention: {time: 1d, size: 1GB}}
)";

TEST(ConfigFuzz, MutationsNeverCrash) {
  std::mt19937 rng(7);
  const std::string alphabet = " \n\t:-[]{}\"'#&*!|>%@`,?0123456789abcxyz_.";
  int ok = 0, errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = kSeed;
    int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (pos < s.size()) s.erase(pos, 1 + rng() % 8); break;
        case 2: if (pos < s.size()) s[pos] = static_cast<char>(rng() % 256); break;
      }
    }
    auto c = ParseConfig(s, "fuzz.yml");
    if (c.ok()) {
      ++ok;
    } else {
      ++errors;
      ASSERT_EQ(std::string(c.status().message()).rfind("fuzz.yml", 0), 0u) << c.status();
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(ok, 0);
}

}  // namespace
}  // namespace pharos::config
