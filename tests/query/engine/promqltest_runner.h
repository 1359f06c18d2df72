#pragma once

// Runner for Prometheus's PromQL test scripts (conformance/promql/*.test; the DSL is described
// in conformance/README.md section 1): load / load_with_nhcb / clear / eval with `expect`
// lines. Data is loaded into a small in-memory storage::Queryable (MemStorage) and evaluated
// with pharos::promql::Engine configured as the README's section 1.1 requires.
//
// Evals are counted per file as passed, failed, skipped because they involve native
// histograms (`{{...}}` in the expected output, or the query selected a series that holds
// native histogram samples in the loaded data, including load_with_nhcb's converted
// histograms), or skipped because they use an experimental feature the engine does not
// implement (start timestamps).

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "query/engine/engine.h"
#include "storage/api/storage.h"
#include "storage/labels/labels.h"

namespace pharos::promql::testing {

// An in-memory Queryable: label set -> samples by time. Select returns series sorted by labels.
class MemStorage : public storage::Queryable {
 public:
  void Add(const Labels& labels, int64_t t, double v) {
    data_[labels][t] = v;
    ++version_;
  }
  // Marks a series that holds native histogram samples (not stored: the engine reads floats
  // only). A Select that matches it sets TouchedHistogram().
  void MarkHistogram(const Labels& labels) { histograms_.insert(labels); }
  bool TouchedHistogram() const { return touched_; }
  // Records a Select with these matchers (sets TouchedHistogram() if one matches a histogram
  // series). MemStorage's own querier calls it; wrappers around other storages do too.
  void NoteSelect(std::span<const Matcher> matchers);
  // Incremented on every change, so a copy in another storage can be rebuilt when stale.
  uint64_t version() const { return version_; }
  void ResetTouched() { touched_ = false; }
  void Clear() {
    data_.clear();
    histograms_.clear();
    ++version_;
  }
  const std::set<Labels>& histograms() const { return histograms_; }
  std::vector<Labels> SeriesLabels() const {
    std::vector<Labels> out;
    for (const auto& [l, s] : data_) out.push_back(l);
    return out;
  }
  absl::StatusOr<std::unique_ptr<storage::Querier>> NewQuerier(int64_t mint,
                                                               int64_t maxt) override;

  using Data = std::map<Labels, std::map<int64_t, double>>;
  const Data& data() const { return data_; }

 private:
  Data data_;
  std::set<Labels> histograms_;
  bool touched_ = false;
  uint64_t version_ = 0;
};

enum class EvalStatus { kPassed, kFailed, kSkippedNativeHistogram, kSkippedExperimental };

struct EvalOutcome {
  std::string file;  // base name, e.g. "functions.test"
  int line = 0;      // 1-based line of the eval header
  std::string expr;
  EvalStatus status = EvalStatus::kPassed;
  std::string diff;  // for failures: what differed
  bool range_checked = false;  // extra checks (b) / (a) ran
  bool at_checked = false;
};

struct FileSummary {
  std::string file;
  int passed = 0;
  int failed = 0;
  int skipped_native_histogram = 0;
  int skipped_experimental = 0;
  int range_checks = 0;  // passed evals that also passed extra check (b) / (a)
  int at_checks = 0;
  std::vector<EvalOutcome> outcomes;  // every eval, in file order
};

enum class Backend {
  kMemory,  // MemStorage
  kDB,      // storage::DB in a temporary directory (retention 0), rebuilt after each load
};

struct RunnerOptions {
  Backend backend = Backend::kMemory;
  // conformance/promql/EVAL_INDEX.tsv; evals flagged there as start-timestamp dependent are
  // skipped as experimental.
  std::string eval_index_path;
  // Prometheus's extra checks on every passing instant eval (conformance/README.md 1.7):
  // (a) the query with `@ t` added to every selector and subquery gives the same result when
  //     evaluated at -10t, 0, t/5, t and 10t (at -1s, 0, 1s when t = 0);
  // (b) the query run as a range query from t-1m to t+1m, step 1m, gives the same point at t.
  // A mismatch fails the eval. Default: on.
  bool at_modifier_check = true;
  bool range_check = true;
};

// Runs one .test file.
absl::StatusOr<FileSummary> RunTestFile(const std::string& path, const RunnerOptions& options);

// The engine options the scripts assume (lookback 5m, 10000 max samples, 100s timeout,
// 1m subquery step, delayed name removal and experimental functions on).
EngineOptions ConformanceEngineOptions();

}  // namespace pharos::promql::testing
