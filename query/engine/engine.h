#pragma once

// The PromQL evaluation engine (Prometheus 3.x semantics for float samples).
//
//   promql::Engine engine({});
//   PHAROS_ASSIGN_OR_RETURN(promql::QueryResult r,
//                           engine.RangeQuery(db, "rate(x_total[5m])", start, end, step));
//
// The engine reads data only through storage::Queryable (storage/api/storage.h). Range
// queries are evaluated series-at-a-time across all steps: every selected series is decoded
// once into arrays and the lookback / range windows slide over them step by step; operators,
// aggregations and functions then combine the per-step vectors.
//
// Errors: a failed query returns a non-OK absl::Status whose message is Prometheus's error
// text (e.g. "query processing would load too many samples into memory in query execution").
// ErrorTypeOf(status) gives the Prometheus API errorType (bad_data, execution, timeout,
// canceled, internal); the engine records it in the status payload kErrorTypePayload.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/api/storage.h"
#include "storage/labels/labels.h"

namespace pharos::promql {

struct EngineOptions {
  // How far back an instant selector looks for the latest sample. Default: 5m.
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // Maximum number of samples held in memory at once by one query. Default: 50,000,000.
  int64_t max_samples = 50'000'000;
  // Wall-time limit per query. Default: 2m. 0: no limit.
  int64_t timeout_ms = 2 * 60 * 1000;
  // Resolution of a subquery written without a step (`x[5m:]`). Default: 1m.
  int64_t default_subquery_step_ms = 60 * 1000;
  // Drop __name__ at the end of evaluation rather than at each function/operator
  // (Prometheus --enable-feature=promql-delayed-name-removal). Default: false.
  bool enable_delayed_name_removal = false;
  // Experimental syntax and functions (limitk, limit_ratio, mad_over_time, sort_by_label,
  // double_exponential_smoothing, duration expressions, ...). Default: false.
  bool enable_experimental_functions = false;
  // Monotonic clock in milliseconds, used for the timeout deadline. Default: steady_clock.
  // Tests inject one to make timeouts deterministic.
  std::function<int64_t()> now_ms;
};

// Per-query options.
struct QueryOptions {
  // Overrides EngineOptions::lookback_delta_ms when > 0 (the API's lookback_delta parameter).
  int64_t lookback_delta_ms = 0;
  // When set, the query stops with a `canceled` error once *cancel becomes true (e.g. the HTTP
  // client went away). Checked as often as the deadline.
  const std::atomic<bool>* cancel = nullptr;
};

// Prometheus API errorType values.
enum class ErrorType { kNone, kBadData, kExecution, kTimeout, kCanceled, kInternal };
// "bad_data", "execution", "timeout", "canceled", "internal" ("" for kNone).
std::string_view ErrorTypeName(ErrorType type);
// Payload key under which the engine stores the error type name.
inline constexpr std::string_view kErrorTypePayload = "pharos.promql/error_type";
// The error type of a status returned by the engine (kNone for OK). Statuses without the
// payload are classified by code (InvalidArgument -> bad_data, DeadlineExceeded -> timeout,
// Cancelled -> canceled, otherwise internal).
ErrorType ErrorTypeOf(const absl::Status& status);

enum class ResultType { kMatrix, kVector, kScalar, kString };
std::string_view ResultTypeName(ResultType type);  // "matrix", "vector", "scalar", "string"

struct Point {
  int64_t t = 0;  // ms
  double v = 0;
};

struct Series {
  Labels labels;
  std::vector<Point> points;  // vector results: exactly one point at the evaluation time
};

struct QueryResult {
  ResultType type = ResultType::kVector;
  // kMatrix: series sorted by labels (range queries, or an instant query of a range vector).
  // kVector: one point per series, in evaluation order (sort(), topk() ... keep their order).
  std::vector<Series> series;
  // kScalar / kString: value at `t`.
  Point scalar;
  std::string string_value;
  int64_t t = 0;
  // Annotations, rendered as the API does: "PromQL warning: ... (1:6)".
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

class Engine {
 public:
  explicit Engine(EngineOptions options);

  // Evaluates `query` at `t_ms`.
  [[nodiscard]] absl::StatusOr<QueryResult> InstantQuery(storage::Queryable& queryable,
                                                         std::string_view query, int64_t t_ms,
                                                         const QueryOptions& qopts = {}) const;
  // Evaluates `query` at start, start+step, ... <= end. The result is always a matrix.
  [[nodiscard]] absl::StatusOr<QueryResult> RangeQuery(storage::Queryable& queryable,
                                                       std::string_view query, int64_t start_ms,
                                                       int64_t end_ms, int64_t step_ms,
                                                       const QueryOptions& qopts = {}) const;

  const EngineOptions& options() const { return options_; }

 private:
  [[nodiscard]] absl::StatusOr<QueryResult> Exec(storage::Queryable& queryable,
                                                 std::string_view query, int64_t start_ms,
                                                 int64_t end_ms, int64_t step_ms, bool instant,
                                                 const QueryOptions& qopts) const;
  EngineOptions options_;
};

}  // namespace pharos::promql
