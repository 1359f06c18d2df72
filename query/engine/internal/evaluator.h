#pragma once

// The evaluator's internals shared by engine.cc, evaluator.cc, eval_functions.cc and
// eval_operators.cc (engine-internal; see engine.cc for the layout).

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "query/engine/engine.h"
#include "query/engine/internal/format.h"
#include "query/engine/internal/functions.h"
#include "query/engine/internal/value.h"
#include "query/parser/functions.h"
#include "query/parser/parser.h"
#include "query/parser/printer.h"
#include "re2/re2.h"

namespace pharos::promql::internal {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Errors with the engine's error-type payload and Prometheus's texts.
absl::Status WithType(absl::Status s, ErrorType type);
absl::Status ExecError(std::string msg);
absl::Status BadData(std::string msg);
absl::Status TooManySamples();

bool IsStale(double v);
bool IsMetadataLabel(std::string_view name);
// The label set without __name__, __type__ and __unit__.
Labels DropMetadata(const Labels& l);
// Identity of a label set's storage: copies of one Labels share it. Only meaningful while a
// copy is kept alive (the caches holding one), so the address cannot be reused.
const void* LabelsId(const Labels& l);
std::string GoQuote(std::string_view s);
bool IsValidLabelName(std::string_view name);
// Unwraps parentheses.
const Expr& Unparen(const Expr& e);

// ---------------------------------------------------------------------------------------
// Query context shared by the evaluators of one query (subqueries run nested evaluators).

struct LoadedSeries {
  Labels labels;
  std::vector<FPoint> raw;    // every sample, stale markers included
  std::vector<FPoint> clean;  // without stale markers; filled only if there are any
  bool has_stale = false;
  // Samples for range windows (stale markers dropped).
  const std::vector<FPoint>& points() const { return has_stale ? clean : raw; }
};

struct QueryContext {
  const EngineOptions* opts = nullptr;
  storage::Querier* querier = nullptr;
  std::string_view query;
  int64_t query_start = 0, query_end = 0, query_step = 0;
  bool is_range = false;
  int64_t deadline = -1;
  std::function<int64_t()> now;
  int64_t current_samples = 0;
  Annotations annos;
  absl::flat_hash_set<const Expr*> wrap;  // step-invariant subtrees, evaluated once
  // DropMetadata results by input identity (per-step operators would rebuild them each step).
  absl::flat_hash_map<const void*, std::pair<Labels, Labels>> drop_cache;

  Labels DropMetadataCached(const Labels& l) {
    const void* id = LabelsId(l);
    if (id == nullptr) return l;
    auto it = drop_cache.find(id);
    if (it != drop_cache.end()) return it->second.second;
    Labels out = DropMetadata(l);
    drop_cache.emplace(id, std::make_pair(l, out));
    return out;
  }

  const std::atomic<bool>* cancel = nullptr;

  absl::Status CheckDeadline() const {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return WithType(absl::CancelledError("query was canceled in expression evaluation"),
                      ErrorType::kCanceled);
    }
    if (deadline >= 0 && now() > deadline) {
      return WithType(absl::DeadlineExceededError("query timed out in expression evaluation"),
                      ErrorType::kTimeout);
    }
    return absl::OkStatus();
  }

  // "(line:col)" of a position in the query text.
  std::string Pos(const PosRange& pos) const {
    int line = 1;
    int col = 1;
    for (int32_t i = 0; i < pos.start && i < static_cast<int32_t>(query.size()); ++i) {
      if (query[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    return absl::StrCat("(", line, ":", col, ")");
  }
  void Warn(std::string_view text, const PosRange& pos) {
    annos.Warn(absl::StrCat("PromQL warning: ", Av(text), " ", Pos(pos)));
  }
  void Info(std::string_view text, const PosRange& pos) {
    annos.Info(absl::StrCat("PromQL info: ", Av(text), " ", Pos(pos)));
  }

  // Selects the matching series and decodes them one at a time into `buf` (reused, so memory
  // holds one series), calling fn(buf) for each.
  absl::Status ForEachSeries(std::span<const Matcher> matchers, LoadedSeries& buf,
                             const std::function<absl::Status(const LoadedSeries&)>& fn) {
    auto set = querier->Select(matchers);
    while (set->Next()) {
      PHAROS_RETURN_IF_ERROR(CheckDeadline());
      const storage::Series& s = set->At();
      buf.labels = s.labels();
      buf.raw.clear();
      buf.clean.clear();
      buf.has_stale = false;
      auto sit = s.Iterator();
      while (sit->Next()) {
        FPoint p{sit->T(), sit->V()};
        buf.raw.push_back(p);
        buf.has_stale = buf.has_stale || IsStale(p.f);
      }
      PHAROS_RETURN_IF_ERROR(sit->Err());
      if (buf.has_stale) {
        for (const FPoint& p : buf.raw) {
          if (!IsStale(p.f)) buf.clean.push_back(p);
        }
      }
      PHAROS_RETURN_IF_ERROR(fn(buf));
    }
    PHAROS_RETURN_IF_ERROR(set->Err());
    for (const std::string& w : set->Warnings()) annos.Warn(w);
    return absl::OkStatus();
  }

  absl::Status ForEachSeries(const VectorSelector& vs,
                             const std::function<absl::Status(const LoadedSeries&)>& fn) {
    std::vector<Matcher> matchers;
    matchers.reserve(vs.matchers.size());
    for (const LabelMatcher& m : vs.matchers) {
      auto mm = Matcher::Make(static_cast<pharos::MatchType>(m.type), m.name, m.value);
      if (!mm.ok()) return BadData(std::string(mm.status().message()));
      matchers.push_back(*std::move(mm));
    }
    LoadedSeries buf;
    return ForEachSeries(matchers, buf, fn);
  }
};

struct Value {
  bool is_string = false;
  std::string str;
  Matrix mat;
};

// Duration expressions in the query's context (step(), range()), in ms.
int64_t DurationMs(const DurationExpr* expr, int64_t literal_ms, const QueryContext& ctx);
int64_t SelectorOffset(const VectorSelector& vs, const QueryContext& ctx);
std::optional<int64_t> AtTime(AtKind at, int64_t at_ts, const QueryContext& ctx);

// Signature of a label set for vector matching: the values of `names` (on) or of all labels
// but `names` and __name__ (ignoring).
std::string MatchSignature(const Labels& l, const std::vector<std::string>& names, bool on);

// Merges series of a matrix that ended up with the same labels (delayed name removal); an
// error if two of them have a point at the same time.
absl::StatusOr<Matrix> MergeSameLabelset(Matrix mat);

// ---------------------------------------------------------------------------------------
// The evaluator: evaluates an expression for every step start, start+interval, ... <= end.

class Evaluator {
 public:
  Evaluator(QueryContext* ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  absl::StatusOr<Value> Eval(const Expr& e);

 private:
  int NumSteps() const { return static_cast<int>((end_ - start_) / interval_) + 1; }
  bool delayed() const { return ctx_->opts->enable_delayed_name_removal; }
  Labels MaybeDropNow(const Labels& l) const {
    return delayed() ? l : ctx_->DropMetadataCached(l);
  }
  absl::Status AddSamples(int64_t n) {
    ctx_->current_samples += n;
    if (ctx_->current_samples > ctx_->opts->max_samples) return TooManySamples();
    return absl::OkStatus();
  }

  absl::StatusOr<Matrix> EvalMatrix(const Expr& e) {
    PHAROS_ASSIGN_OR_RETURN(Value v, Eval(e));
    return std::move(v.mat);
  }
  absl::StatusOr<Value> EvalStepInvariant(const Expr& e);
  absl::StatusOr<Value> EvalInner(const Expr& e);
  absl::StatusOr<Matrix> EvalVectorSelector(const VectorSelector& vs, bool timestamps);
  absl::StatusOr<Matrix> EvalMatrixSelectorInstant(const MatrixSelector& ms);
  absl::StatusOr<Matrix> EvalSubqueryRaw(const SubqueryExpr& sq);
  absl::StatusOr<Matrix> EvalRangeCall(const Call& call, size_t matrix_arg);
  absl::StatusOr<Matrix> EvalCall(const Call& call);
  absl::StatusOr<Matrix> EvalLabelReplace(const Call& call);
  absl::StatusOr<Matrix> EvalLabelJoin(const Call& call);
  absl::StatusOr<Matrix> EvalInfo(const Call& call);
  bool InfoReferencePath(const Expr& e,
                         std::vector<std::pair<std::optional<int64_t>, int64_t>>& path) const;
  absl::StatusOr<Matrix> EvalBinary(const BinaryExpr& b);
  absl::StatusOr<Matrix> EvalAggregate(const AggregateExpr& a);
  absl::StatusOr<Matrix> EvalAggregateK(const AggregateExpr& a, Matrix input,
                                        const std::vector<double>& params,
                                        const std::vector<size_t>& series_to_group,
                                        size_t num_groups);

  // Per-step combination of argument matrices (Prometheus rangeEval). `fn` gets the vectors
  // at step ts (and, with `matching`, each sample's signature ordinal) and returns the output.
  using StepFn = std::function<absl::StatusOr<Vector>(
      std::vector<Vector>& args, const std::vector<std::vector<int>>& sigs, int64_t ts)>;
  absl::StatusOr<Matrix> RangeEval(const std::vector<const Expr*>& exprs,
                                   const VectorMatching* matching, const StepFn& fn);
  absl::StatusOr<Matrix> Combine(std::vector<Matrix> inputs, const VectorMatching* matching,
                                 int* num_sigs, const StepFn& fn);

  // Result labels of a vector-vector operation by (lhs, rhs) identity, kept across steps.
  struct ResultMetricCache {
    struct Entry {
      Labels lhs, rhs, result;
      uint64_t hash;
    };
    absl::flat_hash_map<std::pair<const void*, const void*>, Entry> entries;
    // Per-step scratch maps, cleared (capacity kept) at every step.
    absl::flat_hash_map<int, size_t> right;  // sig -> index in rhs
    std::vector<int> right_order;
    absl::flat_hash_map<int, absl::flat_hash_set<uint64_t>> matched;
    absl::flat_hash_set<int> matched_one;
  };
  absl::StatusOr<Vector> VectorBinop(const BinaryExpr& b, const Vector& lhs, const Vector& rhs,
                                     const std::vector<int>& lsig, const std::vector<int>& rsig,
                                     ResultMetricCache& cache);

  QueryContext* ctx_;
  int64_t start_, end_, interval_;
};


}  // namespace pharos::promql::internal
