#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::storage::testing {

using SampleList = std::vector<std::pair<int64_t, double>>;
using Dataset = std::map<std::string, SampleList>;  // Labels::String() -> samples

inline LoggerPtr NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

class TempPath {
 public:
  TempPath() {
    path_ = (std::filesystem::temp_directory_path() /
             ("pharos-db-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~TempPath() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline std::atomic<int> counter_{0};
  std::string path_;
};

// Everything the querier returns for [mint, maxt], all series.
inline Dataset QueryAll(DB& db, int64_t mint, int64_t maxt,
                        std::vector<Matcher> matchers = {}) {
  Dataset out;
  auto q = db.NewQuerier(mint, maxt);
  EXPECT_TRUE(q.ok());
  if (matchers.empty()) matchers.push_back(Matcher::MustMake(MatchType::kRegexMatch, "__name__", ".+"));
  auto set = (*q)->Select(matchers);
  while (set->Next()) {
    const Series& s = set->At();
    auto it = s.Iterator();
    SampleList samples;
    while (it->Next()) samples.emplace_back(it->T(), it->V());
    if (!samples.empty()) out[s.labels().String()] = std::move(samples);
    EXPECT_TRUE(it->Err().ok()) << it->Err();
  }
  EXPECT_TRUE(set->Err().ok()) << set->Err();
  return out;
}

}  // namespace pharos::storage::testing
