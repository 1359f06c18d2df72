#pragma once

// Shared helpers for the scraper tests: a real DB in a temp dir, gzip, config snippets.

#include <zlib.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/config/config.h"
#include "storage/db/db.h"
#include "tests/storage/db/db_test_util.h"

namespace pharos::scrape::testing {

using storage::testing::Dataset;
using storage::testing::NullLogger;
using storage::testing::QueryAll;
using storage::testing::TempPath;

inline std::unique_ptr<storage::DB> OpenDB(const std::string& path) {
  storage::DBOptions o;
  o.path = path;
  o.log = NullLogger();
  o.retention_ms = 0;
  o.future_tolerance_ms = 0;
  o.flush_interval_ms = 0;
  auto db = storage::DB::Open(std::move(o));
  EXPECT_TRUE(db.ok()) << db.status();
  return std::move(*db);
}

inline std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A relabel rule (designated initializers would warn under -Wextra for the fields left out).
inline config::RelabelConfig Rule(std::vector<std::string> source_labels, std::string target_label,
                                  std::string regex = "(.*)", std::string replacement = "$1",
                                  std::string action = "replace", uint64_t modulus = 0) {
  config::RelabelConfig r;
  r.source_labels = std::move(source_labels);
  r.target_label = std::move(target_label);
  r.regex = std::move(regex);
  r.replacement = std::move(replacement);
  r.action = std::move(action);
  r.modulus = modulus;
  return r;
}

// A scrape config as the loader would produce it (defaults resolved).
inline config::ScrapeConfig Job(const std::string& name, const std::string& target = "") {
  config::ScrapeConfig c;
  c.job_name = name;
  c.scrape_interval_ms = 1000;
  c.scrape_timeout_ms = 1000;
  if (!target.empty()) c.static_configs.push_back({{target}, {}});
  return c;
}

}  // namespace pharos::scrape::testing
