// Runs every upstream PromQL test script (conformance/promql/*.test) through the engine and
// prints a per-file table: passed / failed / skipped (native histograms) / skipped
// (experimental features not implemented).
//
// known_failures.txt lists evals (`file:line`) that are known to fail. The test fails on any
// failure not listed there and on a listed eval that now passes, so the list only shrinks.
//
// Environment:
//   PHAROS_PROMQL_CONFORMANCE_DIR      directory of the .test files (default: build setting)
//   PHAROS_PROMQL_CONFORMANCE_FILE     run only this file (e.g. functions.test)
//   PHAROS_PROMQL_CONFORMANCE_VERBOSE  print every failure with its diff
//   PHAROS_PROMQL_WRITE_KNOWN_FAILURES write the current failures to this path

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/query/engine/promqltest_runner.h"

namespace pharos::promql::testing {
namespace {

std::set<std::string> LoadKnownFailures(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string l;
  while (std::getline(in, l)) {
    size_t b = l.find_first_not_of(" \t");
    if (b == std::string::npos || l[b] == '#') continue;
    size_t e = l.find_first_of(" \t#", b);
    out.insert(l.substr(b, e == std::string::npos ? std::string::npos : e - b));
  }
  return out;
}

void RunAll(Backend backend) {
  const char* env = std::getenv("PHAROS_PROMQL_CONFORMANCE_DIR");
  std::filesystem::path dir = env != nullptr ? env : PHAROS_PROMQL_CONFORMANCE_DIR;
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no conformance data at " << dir;
  std::printf("backend: %s\n", backend == Backend::kDB ? "storage::DB" : "MemStorage");
  const char* only = std::getenv("PHAROS_PROMQL_CONFORMANCE_FILE");
  const bool verbose = std::getenv("PHAROS_PROMQL_CONFORMANCE_VERBOSE") != nullptr;

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    if (only != nullptr && entry.path().filename() != only) continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  RunnerOptions opts;
  opts.backend = backend;
  opts.eval_index_path = (dir / "EVAL_INDEX.tsv").string();
  const std::set<std::string> known = LoadKnownFailures(PHAROS_PROMQL_KNOWN_FAILURES);

  std::string table = absl::StrFormat("%-26s %7s %7s %9s %9s %8s %8s\n", "file", "passed",
                                      "failed", "skip-NH", "skip-exp", "range-ck", "@-ck");
  int tp = 0, tf = 0, tn = 0, te = 0, trc = 0, tac = 0;
  std::vector<std::string> current_failures;
  std::vector<std::string> new_failures;
  std::vector<std::string> now_passing;
  for (const auto& f : files) {
    auto summary = RunTestFile(f.string(), opts);
    ASSERT_TRUE(summary.ok()) << summary.status();
    absl::StrAppendFormat(&table, "%-26s %7d %7d %9d %9d %8d %8d\n", summary->file,
                          summary->passed, summary->failed, summary->skipped_native_histogram,
                          summary->skipped_experimental, summary->range_checks,
                          summary->at_checks);
    trc += summary->range_checks;
    tac += summary->at_checks;
    tp += summary->passed;
    tf += summary->failed;
    tn += summary->skipped_native_histogram;
    te += summary->skipped_experimental;
    for (const EvalOutcome& o : summary->outcomes) {
      std::string key = absl::StrCat(o.file, ":", o.line);
      if (o.status == EvalStatus::kFailed) {
        current_failures.push_back(absl::StrCat(key, "  # ", o.expr));
        if (!known.contains(key)) {
          new_failures.push_back(absl::StrCat(key, ": ", o.expr, "\n    ", o.diff));
        } else if (verbose) {
          std::printf("known failure %s: %s\n    %s\n", key.c_str(), o.expr.c_str(),
                      o.diff.c_str());
        }
      } else if (o.status == EvalStatus::kPassed && known.contains(key)) {
        now_passing.push_back(absl::StrCat(key, ": ", o.expr));
      }
    }
  }
  absl::StrAppendFormat(&table, "%-26s %7d %7d %9d %9d %8d %8d\n", "TOTAL", tp, tf, tn, te,
                        trc, tac);
  std::printf("%s", table.c_str());

  if (const char* out = std::getenv("PHAROS_PROMQL_WRITE_KNOWN_FAILURES")) {
    std::ofstream o(out);
    o << "# PromQL conformance evals known to fail (file:line  # expression). The conformance\n"
         "# test fails on any other failure and on a listed eval that passes: only remove lines.\n";
    for (const std::string& l : current_failures) o << l << "\n";
  }
  for (const std::string& f : new_failures) ADD_FAILURE() << "new failure " << f;
  if (only == nullptr) {
    for (const std::string& p : now_passing) {
      ADD_FAILURE() << "listed in known_failures.txt but passes now (remove it): " << p;
    }
  }
}

// Data in MemStorage (fast; the engine's semantics alone).
TEST(PromqlConformanceTest, AllScripts) { RunAll(Backend::kMemory); }

// The same scripts with the data in a real storage::DB (chunk encodings, stale markers,
// negative timestamps, out-of-order loads, the querier's merge).
TEST(PromqlConformanceTest, AllScriptsOnDB) { RunAll(Backend::kDB); }

}  // namespace
}  // namespace pharos::promql::testing
