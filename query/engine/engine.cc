// The PromQL evaluator. Files:
//   engine.cc ........ public API: error types, Engine (parse, step-invariance preprocessing,
//                      the querier's [mint, maxt], evaluate, name cleanup, result shape)
//   evaluator.cc ..... Evaluator core: Eval per node over all steps [start, end] / interval,
//                      step-invariant subtrees, selectors (series at a time: decode once,
//                      slide the lookback/range windows over every step), subqueries (nested
//                      evaluator on the aligned sub-steps), RangeEval/Combine (per-step
//                      combination of argument matrices)
//   eval_functions.cc  function calls (range functions per series, others per step),
//                      label_replace/label_join, info(), classic histogram functions
//   eval_operators.cc  binary operators (vector matching, per-node label caches) and
//                      aggregations
//   functions.cc ..... numeric kernels (rate, *_over_time, quantiles, date functions)
//   internal/evaluator.h  QueryContext (per-query state) and the Evaluator class

#include "query/engine/engine.h"

#include "query/engine/internal/evaluator.h"


namespace pharos::promql {

using internal::BadData;
using internal::DurationMs;
using internal::Evaluator;
using internal::FPoint;
using internal::Matrix;
using internal::MSeries;
using internal::QueryContext;
using internal::SelectorOffset;
using internal::AtTime;
using internal::Value;
using internal::kNaN;
using internal::DropMetadata;
using internal::MergeSameLabelset;
using internal::TooManySamples;
using internal::WithType;

// ---------------------------------------------------------------------------------------
// Errors.

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kNone:
      return "";
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kInternal:
      return "internal";
  }
  return "internal";
}

ErrorType ErrorTypeOf(const absl::Status& status) {
  if (status.ok()) return ErrorType::kNone;
  if (auto p = status.GetPayload(Av(kErrorTypePayload)); p.has_value()) {
    std::string s(*p);
    if (s == "bad_data") return ErrorType::kBadData;
    if (s == "execution") return ErrorType::kExecution;
    if (s == "timeout") return ErrorType::kTimeout;
    if (s == "canceled") return ErrorType::kCanceled;
    return ErrorType::kInternal;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    default:
      return ErrorType::kInternal;
  }
}

std::string_view ResultTypeName(ResultType type) {
  switch (type) {
    case ResultType::kMatrix:
      return "matrix";
    case ResultType::kVector:
      return "vector";
    case ResultType::kScalar:
      return "scalar";
    case ResultType::kString:
      return "string";
  }
  return "";
}

namespace {

// Step invariance (Prometheus preprocessExprHelper): marks the highest subtrees whose value
// does not depend on the evaluation step so they are evaluated once and repeated.
bool AtModifierUnsafe(std::string_view fn) {
  return fn == "days_in_month" || fn == "day_of_month" || fn == "day_of_week" ||
         fn == "day_of_year" || fn == "hour" || fn == "minute" || fn == "month" ||
         fn == "year" || fn == "predict_linear" || fn == "time" || fn == "timestamp";
}

std::pair<bool, bool> Preprocess(const Expr& e, absl::flat_hash_set<const Expr*>& wrap) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector: {
      bool inv = e.As<VectorSelector>().at != AtKind::kNone;
      return {inv, inv};
    }
    case ExprKind::kAggregate:
      return Preprocess(*e.As<AggregateExpr>().expr, wrap);
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      auto [li, lw] = Preprocess(*b.lhs, wrap);
      auto [ri, rw] = Preprocess(*b.rhs, wrap);
      if (li && ri) return {true, true};
      if (lw) wrap.insert(b.lhs.get());
      if (rw) wrap.insert(b.rhs.get());
      return {false, false};
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      bool inv = !AtModifierUnsafe(c.func->name);
      std::vector<bool> should(c.args.size());
      for (size_t i = 0; i < c.args.size(); ++i) {
        auto [ai, aw] = Preprocess(*c.args[i], wrap);
        should[i] = aw;
        inv = inv && ai;
      }
      if (inv) return {true, true};
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (should[i]) wrap.insert(c.args[i].get());
      }
      return {false, false};
    }
    case ExprKind::kMatrixSelector: {
      auto [inv, w] = Preprocess(*e.As<MatrixSelector>().vector_selector, wrap);
      (void)w;
      return {inv, false};
    }
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      auto [inv, w] = Preprocess(*s.expr, wrap);
      (void)w;
      if (inv) wrap.insert(s.expr.get());
      bool at = s.at != AtKind::kNone;
      return {at, at};
    }
    case ExprKind::kParen:
      return Preprocess(*e.As<ParenExpr>().expr, wrap);
    case ExprKind::kUnary:
      return Preprocess(*e.As<UnaryExpr>().expr, wrap);
    case ExprKind::kStringLiteral:
    case ExprKind::kNumberLiteral:
      return {true, false};
  }
  return {false, false};
}

// Earliest and latest sample timestamps a query may read (Prometheus FindMinMaxTime, widened
// generously: duration expressions are evaluated with the query's step and range).
struct TimeRange {
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = std::numeric_limits<int64_t>::min();
};

void WalkTimes(const Expr& e, const QueryContext& ctx, int64_t start, int64_t end,
               int64_t eval_range, TimeRange& tr) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      int64_t s = start, en = end;
      if (auto at = AtTime(vs.at, vs.at_timestamp_ms, ctx)) s = en = *at;
      int64_t off = SelectorOffset(vs, ctx);
      const int64_t lookback = ctx.opts->lookback_delta_ms;
      s -= off + (eval_range > 0 ? eval_range : lookback);
      en -= off;
      // Anchored/smoothed selectors also read one lookback delta before (and after) the range.
      if (eval_range > 0 && (vs.anchored || vs.smoothed)) s -= lookback;
      if (vs.smoothed) en += lookback;
      tr.min = std::min(tr.min, s);
      tr.max = std::max(tr.max, en);
      return;
    }
    case ExprKind::kMatrixSelector: {
      const auto& ms = e.As<MatrixSelector>();
      WalkTimes(*ms.vector_selector, ctx, start, end,
                std::max<int64_t>(1, DurationMs(ms.range_expr.get(), ms.range_ms, ctx)), tr);
      return;
    }
    case ExprKind::kSubquery: {
      const auto& sq = e.As<SubqueryExpr>();
      int64_t s = start, en = end;
      if (auto at = AtTime(sq.at, sq.at_timestamp_ms, ctx)) s = en = *at;
      int64_t off = DurationMs(sq.offset_expr.get(), sq.original_offset_ms, ctx);
      int64_t range = DurationMs(sq.range_expr.get(), sq.range_ms, ctx);
      WalkTimes(*sq.expr, ctx, s - off - range, en - off, 0, tr);
      return;
    }
    case ExprKind::kCall:
      for (const Expr* c : Children(e)) WalkTimes(*c, ctx, start, end, 0, tr);
      // info() looks its info series up one lookback delta before the base data's times.
      if (e.As<Call>().func->name == "info" && tr.min != std::numeric_limits<int64_t>::max()) {
        tr.min -= ctx.opts->lookback_delta_ms;
      }
      return;
    default:
      for (const Expr* c : Children(e)) WalkTimes(*c, ctx, start, end, 0, tr);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Engine.

Engine::Engine(EngineOptions options) : options_(std::move(options)) {
  if (!options_.now_ms) {
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

absl::StatusOr<QueryResult> Engine::InstantQuery(storage::Queryable& queryable,
                                                 std::string_view query, int64_t t_ms,
                                                 const QueryOptions& qopts) const {
  return Exec(queryable, query, t_ms, t_ms, 0, true, qopts);
}

absl::StatusOr<QueryResult> Engine::RangeQuery(storage::Queryable& queryable,
                                               std::string_view query, int64_t start_ms,
                                               int64_t end_ms, int64_t step_ms,
                                               const QueryOptions& qopts) const {
  if (step_ms <= 0) {
    return BadData(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  if (end_ms < start_ms) return BadData("end timestamp must not be before start time");
  return Exec(queryable, query, start_ms, end_ms, step_ms, false, qopts);
}

absl::StatusOr<QueryResult> Engine::Exec(storage::Queryable& queryable, std::string_view query,
                                         int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                         bool instant, const QueryOptions& qopts) const {
  EngineOptions opts = options_;
  if (qopts.lookback_delta_ms > 0) opts.lookback_delta_ms = qopts.lookback_delta_ms;
  ParserOptions popts;
  popts.enable_experimental = options_.enable_experimental_functions;
  auto parsed = ParseExpr(query, popts);
  if (!parsed.ok()) return BadData(std::string(parsed.status().message()));
  const Expr& expr = **parsed;
  const ValueType type = TypeOf(expr);
  if (!instant && type != ValueType::kVector && type != ValueType::kScalar) {
    return BadData(absl::StrCat("invalid expression type \"", Av(DocumentedType(type)),
                                "\" for range query, must be Scalar or instant Vector"));
  }

  QueryContext ctx;
  ctx.opts = &opts;
  ctx.cancel = qopts.cancel;
  ctx.query = query;
  ctx.query_start = start_ms;
  ctx.query_end = end_ms;
  ctx.query_step = step_ms;
  ctx.is_range = !instant;
  ctx.now = options_.now_ms;
  if (options_.timeout_ms > 0) ctx.deadline = ctx.now() + options_.timeout_ms;

  auto [inv, wrap] = Preprocess(expr, ctx.wrap);
  (void)inv;
  if (wrap) ctx.wrap.insert(&expr);

  TimeRange tr;
  WalkTimes(expr, ctx, start_ms, end_ms, 0, tr);
  if (tr.max == std::numeric_limits<int64_t>::min()) tr.min = tr.max = 0;
  PHAROS_ASSIGN_OR_RETURN(std::unique_ptr<storage::Querier> querier,
                          queryable.NewQuerier(tr.min, tr.max));
  ctx.querier = querier.get();

  Evaluator ev(&ctx, start_ms, end_ms, instant ? 1 : step_ms);
  auto value = ev.Eval(expr);
  if (!value.ok()) {
    absl::Status s = value.status();
    if (!s.GetPayload(Av(kErrorTypePayload)).has_value()) {
      s = WithType(s, ErrorTypeOf(s) == ErrorType::kBadData ? ErrorType::kBadData
                                                            : ErrorType::kInternal);
    }
    return s;
  }
  QueryResult result;
  result.warnings = ctx.annos.warnings();
  result.infos = ctx.annos.infos();
  if (value->is_string) {
    result.type = ResultType::kString;
    result.string_value = value->str;
    result.t = start_ms;
    return result;
  }
  Matrix mat = std::move(value->mat);
  if (options_.enable_delayed_name_removal) {
    for (MSeries& s : mat) {
      if (s.drop_name) s.metric = DropMetadata(s.metric);
    }
    PHAROS_ASSIGN_OR_RETURN(mat, MergeSameLabelset(std::move(mat)));
  }
  if (ctx.current_samples > options_.max_samples) return TooManySamples();

  auto to_series = [](MSeries& s) {
    Series out;
    out.labels = std::move(s.metric);
    out.points.reserve(s.floats.size());
    for (const FPoint& p : s.floats) out.points.push_back(Point{p.t, p.f});
    return out;
  };
  if (instant && type == ValueType::kScalar) {
    result.type = ResultType::kScalar;
    result.t = start_ms;
    result.scalar = Point{start_ms, mat.empty() || mat[0].floats.empty() ? kNaN
                                                                          : mat[0].floats[0].f};
    return result;
  }
  if (instant && type == ValueType::kVector) {
    result.type = ResultType::kVector;
    result.t = start_ms;
    for (MSeries& s : mat) {
      if (s.floats.empty()) continue;
      Series out = to_series(s);
      out.points.resize(1);
      out.points[0].t = start_ms;
      result.series.push_back(std::move(out));
    }
    return result;
  }
  result.type = ResultType::kMatrix;
  result.t = end_ms;
  std::sort(mat.begin(), mat.end(),
            [](const MSeries& a, const MSeries& b) { return a.metric < b.metric; });
  for (MSeries& s : mat) result.series.push_back(to_series(s));
  return result;
}

}  // namespace pharos::promql
