// The PromQL evaluator. Layout of this file:
//   errors ........... ErrorType payloads, Prometheus error texts
//   QueryContext ..... per-query state: querier, limits, deadline/cancel, annotations,
//                      streaming series decoding (ForEachSeries)
//   Preprocess ....... step-invariant subtrees (Prometheus preprocessExprHelper)
//   WalkTimes ........ the [mint, maxt] the querier must cover
//   Evaluator ........ Eval per node over all steps [start, end] / interval:
//                        selectors (series at a time: decode once, slide lookback/range
//                        windows over every step), subqueries (nested evaluator on the
//                        aligned sub-steps), functions (range functions per series; others per
//                        step via RangeEval/Combine), binary operators (vector matching with
//                        per-node caches), aggregations, info()
//   Engine ........... parse, preprocess, open the querier, evaluate, name cleanup, result
// The numeric kernels (rate, *_over_time, quantiles, date functions) are in functions.cc.

#include "query/engine/engine.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
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
#include "query/engine/internal/format.h"
#include "query/engine/internal/functions.h"
#include "query/engine/internal/value.h"
#include "query/parser/functions.h"
#include "query/parser/parser.h"
#include "query/parser/printer.h"
#include "re2/re2.h"

namespace pharos::promql {

using internal::Annotations;
using internal::FPoint;
using internal::Matrix;
using internal::MSeries;
using internal::Sample;
using internal::Vector;

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

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::Status WithType(absl::Status s, ErrorType type) {
  s.SetPayload(Av(kErrorTypePayload), absl::Cord(Av(ErrorTypeName(type))));
  return s;
}
absl::Status ExecError(std::string msg) {
  return WithType(absl::FailedPreconditionError(msg), ErrorType::kExecution);
}
absl::Status BadData(std::string msg) {
  return WithType(absl::InvalidArgumentError(msg), ErrorType::kBadData);
}
absl::Status TooManySamples() {
  return WithType(absl::ResourceExhaustedError(
                      "query processing would load too many samples into memory in query "
                      "execution"),
                  ErrorType::kExecution);
}

bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == storage::kStaleNaNBits; }

bool IsMetadataLabel(std::string_view name) {
  return name == kMetricName || name == "__type__" || name == "__unit__";
}

Labels DropMetadata(const Labels& l) {
  bool any = false;
  for (const Label& x : l) {
    if (IsMetadataLabel(x.name)) {
      any = true;
      break;
    }
  }
  if (!any) return l;
  LabelsBuilder b(l);
  b.Del(kMetricName).Del("__type__").Del("__unit__");
  return b.Labels();
}

// Identity of a label set's storage: copies of one Labels share it. Only meaningful while a
// copy is kept alive (the caches below hold one), so the address cannot be reused.
const void* LabelsId(const Labels& l) {
  return l.empty() ? nullptr : static_cast<const void*>((*l.begin()).name.data());
}

std::string GoQuote(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

bool IsValidLabelName(std::string_view name) { return !name.empty() && IsValidUtf8(name); }

// Unwraps parentheses.
const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind() == ExprKind::kParen) p = p->As<ParenExpr>().expr.get();
  return *p;
}

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

struct Value {
  bool is_string = false;
  std::string str;
  Matrix mat;
};

// Evaluates duration expressions in the query's context.
int64_t DurationMs(const DurationExpr* expr, int64_t literal_ms, const QueryContext& ctx) {
  if (expr == nullptr || expr->IsConstant()) return literal_ms;
  double s = EvalDurationSeconds(*expr, static_cast<double>(ctx.query_step) / 1000,
                                 static_cast<double>(ctx.query_end - ctx.query_start) / 1000);
  if (std::isnan(s)) return 0;
  return static_cast<int64_t>(std::round(s * 1e6) / 1000);
}

int64_t SelectorOffset(const VectorSelector& vs, const QueryContext& ctx) {
  return DurationMs(vs.offset_expr.get(), vs.original_offset_ms, ctx);
}
std::optional<int64_t> AtTime(AtKind at, int64_t at_ts, const QueryContext& ctx) {
  switch (at) {
    case AtKind::kNone:
      return std::nullopt;
    case AtKind::kTimestamp:
      return at_ts;
    case AtKind::kStart:
      return ctx.query_start;
    case AtKind::kEnd:
      return ctx.query_end;
  }
  return std::nullopt;
}

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

// Signature of a label set for vector matching: the values of `names` (on) or of all labels
// but `names` and __name__ (ignoring).
std::string MatchSignature(const Labels& l, const std::vector<std::string>& names, bool on) {
  std::string sig;
  for (const Label& x : l) {
    bool listed = std::find(names.begin(), names.end(), x.name) != names.end();
    if (on ? !listed : (listed || x.name == kMetricName)) continue;
    sig.append(x.name);
    sig.push_back('\xff');
    sig.append(x.value);
    sig.push_back('\xff');
  }
  return sig;
}

// Labels of `l` restricted to `names` (on) or without `names` (ignoring): MatchLabels.
Labels MatchLabels(const Labels& l, const std::vector<std::string>& names, bool on) {
  LabelsBuilder b(l);
  if (on) {
    std::vector<std::string_view> keep(names.begin(), names.end());
    b.Keep(std::span<const std::string_view>(keep));
  } else {
    for (const auto& n : names) b.Del(n);
    b.Del(kMetricName);
  }
  return b.Labels();
}

double ScalarBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kEql:
      return l == r;
    case BinaryOp::kNeq:
      return l != r;
    case BinaryOp::kGtr:
      return l > r;
    case BinaryOp::kLss:
      return l < r;
    case BinaryOp::kGte:
      return l >= r;
    case BinaryOp::kLte:
      return l <= r;
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    default:
      return kNaN;
  }
}

// Float-float element operation: value and whether to keep (comparisons filter).
std::pair<double, bool> ElemBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kEql:
      return {l, l == r};
    case BinaryOp::kNeq:
      return {l, l != r};
    case BinaryOp::kGtr:
      return {l, l > r};
    case BinaryOp::kLss:
      return {l, l < r};
    case BinaryOp::kGte:
      return {l, l >= r};
    case BinaryOp::kLte:
      return {l, l <= r};
    case BinaryOp::kTrimUpper:
    case BinaryOp::kTrimLower:
      return {0, false};
    default:
      return {ScalarBinop(op, l, r), true};
  }
}

bool ChangesMetricSchema(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kDiv:
    case BinaryOp::kMul:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2:
      return true;
    default:
      return false;
  }
}

// Go regexp.Expand for label_replace: $1, ${1}, $name, ${name}, $$.
std::string ExpandTemplate(std::string_view tmpl, const RE2& re,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  auto group_value = [&](std::string_view name) -> std::string_view {
    bool numeric = !name.empty() && std::all_of(name.begin(), name.end(),
                                                [](char c) { return c >= '0' && c <= '9'; });
    int idx = -1;
    if (numeric) {
      if (name.size() > 9) return {};
      idx = std::atoi(std::string(name).c_str());
    } else {
      auto it = names.find(std::string(name));
      if (it != names.end()) idx = it->second;
    }
    if (idx < 0 || idx >= static_cast<int>(groups.size())) return {};
    const re2::StringPiece& g = groups[idx];
    if (g.data() == nullptr) return {};
    return std::string_view(g.data(), g.size());
  };
  size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    if (c != '$' || i + 1 >= tmpl.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    char n = tmpl[i + 1];
    if (n == '$') {
      out.push_back('$');
      i += 2;
      continue;
    }
    auto is_name_char = [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_';
    };
    if (n == '{') {
      size_t close = tmpl.find('}', i + 2);
      if (close == std::string_view::npos) {
        out.push_back(c);
        ++i;
        continue;
      }
      std::string_view name = tmpl.substr(i + 2, close - i - 2);
      bool ok = !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
      if (!ok) {
        out.push_back(c);
        ++i;
        continue;
      }
      out.append(group_value(name));
      i = close + 1;
      continue;
    }
    size_t j = i + 1;
    while (j < tmpl.size() && is_name_char(tmpl[j])) ++j;
    if (j == i + 1) {
      out.push_back(c);
      ++i;
      continue;
    }
    out.append(group_value(tmpl.substr(i + 1, j - i - 1)));
    i = j;
  }
  return out;
}

bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string str(s);
  std::string lower;
  for (char c : str) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string_view l = lower;
  if (!l.empty() && (l[0] == '+' || l[0] == '-')) l.remove_prefix(1);
  if (l == "inf" || l == "infinity") {
    *out = str[0] == '-' ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    return true;
  }
  if (l == "nan") {
    *out = kNaN;
    return true;
  }
  if (l.find("inf") != std::string_view::npos || l.find("nan") != std::string_view::npos) {
    return false;
  }
  char* end = nullptr;
  *out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size();
}

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

absl::StatusOr<Value> Evaluator::Eval(const Expr& e) {
  PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
  if (start_ != end_ && ctx_->wrap.contains(&e)) return EvalStepInvariant(e);
  return EvalInner(e);
}

absl::StatusOr<Value> Evaluator::EvalStepInvariant(const Expr& e) {
  Evaluator once(ctx_, start_, start_, interval_);
  PHAROS_ASSIGN_OR_RETURN(Value v, once.EvalInner(e));
  const Expr& u = Unparen(e);
  if (v.is_string || u.kind() == ExprKind::kMatrixSelector ||
      u.kind() == ExprKind::kSubquery) {
    return v;
  }
  for (MSeries& s : v.mat) {
    if (s.floats.size() != 1) continue;
    double f = s.floats[0].f;
    for (int64_t ts = start_ + interval_; ts <= end_; ts += interval_) {
      s.floats.push_back(FPoint{ts, f});
    }
    PHAROS_RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(s.floats.size()) - 1));
  }
  return v;
}

absl::StatusOr<Value> Evaluator::EvalInner(const Expr& e) {
  Value out;
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: {
      MSeries s;
      double v = e.As<NumberLiteral>().value;
      for (int64_t ts = start_; ts <= end_; ts += interval_) s.floats.push_back(FPoint{ts, v});
      PHAROS_RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(s.floats.size())));
      out.mat.push_back(std::move(s));
      return out;
    }
    case ExprKind::kStringLiteral:
      out.is_string = true;
      out.str = e.As<StringLiteral>().value;
      return out;
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr);
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      PHAROS_ASSIGN_OR_RETURN(out, Eval(*u.expr));
      if (u.op == UnaryOp::kSub) {
        for (MSeries& s : out.mat) {
          s.metric = MaybeDropNow(s.metric);
          s.drop_name = true;
          for (FPoint& p : s.floats) p.f = -p.f;
        }
        if (!delayed()) {
          absl::flat_hash_set<Labels> seen;
          for (const MSeries& s : out.mat) {
            if (!seen.insert(s.metric).second) {
              return ExecError("vector cannot contain metrics with the same labelset");
            }
          }
        }
      }
      return out;
    }
    case ExprKind::kVectorSelector: {
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalVectorSelector(e.As<VectorSelector>(), false));
      return out;
    }
    case ExprKind::kMatrixSelector: {
      if (start_ != end_) return ExecError("cannot do range evaluation of matrix selector");
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalMatrixSelectorInstant(e.As<MatrixSelector>()));
      return out;
    }
    case ExprKind::kSubquery: {
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalSubqueryRaw(e.As<SubqueryExpr>()));
      return out;
    }
    case ExprKind::kCall: {
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalCall(e.As<Call>()));
      return out;
    }
    case ExprKind::kBinary: {
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalBinary(e.As<BinaryExpr>()));
      return out;
    }
    case ExprKind::kAggregate: {
      PHAROS_ASSIGN_OR_RETURN(out.mat, EvalAggregate(e.As<AggregateExpr>()));
      return out;
    }
  }
  return absl::InternalError("unhandled expression");
}

absl::StatusOr<Matrix> Evaluator::EvalVectorSelector(const VectorSelector& vs, bool timestamps) {
  const int64_t offset = SelectorOffset(vs, *ctx_);
  const std::optional<int64_t> at = AtTime(vs.at, vs.at_timestamp_ms, *ctx_);
  const int64_t lookback = ctx_->opts->lookback_delta_ms;
  Matrix mat;
  PHAROS_RETURN_IF_ERROR(ctx_->ForEachSeries(vs, [&](const LoadedSeries& s) -> absl::Status {
    MSeries out;
    out.metric = s.labels;
    if (vs.smoothed && !timestamps) {
      // Interpolated between the neighbours within one lookback delta on either side.
      const std::vector<FPoint>& pts = s.points();
      size_t lo = 0, hi = 0;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        const int64_t ref = (at ? *at : ts) - offset;
        while (hi < pts.size() && pts[hi].t <= ref + lookback) ++hi;
        while (lo < hi && pts[lo].t <= ref - lookback) ++lo;
        double v;
        if (lo < hi && internal::SmoothedValue(
                           std::span<const FPoint>(pts.data() + lo, hi - lo), ref, &v)) {
          out.floats.push_back(FPoint{ts, v});
          PHAROS_RETURN_IF_ERROR(AddSamples(1));
        }
      }
      if (!out.floats.empty()) mat.push_back(std::move(out));
      return absl::OkStatus();
    }
    if (timestamps) {
      out.metric = MaybeDropNow(out.metric);
      out.drop_name = true;
    }
    size_t j = 0;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      const int64_t ref = (at ? *at : ts) - offset;
      while (j < s.raw.size() && s.raw[j].t <= ref) ++j;
      if (j == 0) continue;
      const FPoint& p = s.raw[j - 1];
      if (p.t <= ref - lookback || IsStale(p.f)) continue;
      out.floats.push_back(FPoint{ts, timestamps ? static_cast<double>(p.t) / 1000 : p.f});
      PHAROS_RETURN_IF_ERROR(AddSamples(1));
    }
    if (!out.floats.empty()) mat.push_back(std::move(out));
    return absl::OkStatus();
  }));
  return mat;
}

absl::StatusOr<Matrix> Evaluator::EvalMatrixSelectorInstant(const MatrixSelector& ms) {
  const VectorSelector& vs = ms.selector();
  const int64_t offset = SelectorOffset(vs, *ctx_);
  const std::optional<int64_t> at = AtTime(vs.at, vs.at_timestamp_ms, *ctx_);
  const int64_t range = DurationMs(ms.range_expr.get(), ms.range_ms, *ctx_);
  const int64_t maxt = (at ? *at : start_) - offset;
  const int64_t mint = maxt - range;
  const int64_t lookback = ctx_->opts->lookback_delta_ms;
  const int64_t lo = (vs.anchored || vs.smoothed) ? mint - lookback : mint;
  const int64_t hi = vs.smoothed ? maxt + lookback : maxt;
  Matrix mat;
  PHAROS_RETURN_IF_ERROR(ctx_->ForEachSeries(vs, [&](const LoadedSeries& s) -> absl::Status {
    MSeries out;
    out.metric = s.labels;
    for (const FPoint& p : s.points()) {
      if (p.t > lo && p.t <= hi) out.floats.push_back(p);
    }
    if (vs.anchored || vs.smoothed) {
      out.floats = internal::ExtendFloats(out.floats, mint, maxt, vs.smoothed);
    }
    if (out.floats.empty()) return absl::OkStatus();
    PHAROS_RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(out.floats.size())));
    mat.push_back(std::move(out));
    return absl::OkStatus();
  }));
  return mat;
}

absl::StatusOr<Matrix> Evaluator::EvalSubqueryRaw(const SubqueryExpr& sq) {
  const int64_t offset = DurationMs(sq.offset_expr.get(), sq.original_offset_ms, *ctx_);
  const int64_t range = DurationMs(sq.range_expr.get(), sq.range_ms, *ctx_);
  int64_t step = DurationMs(sq.step_expr.get(), sq.step_ms, *ctx_);
  if (step <= 0) step = ctx_->opts->default_subquery_step_ms;
  const std::optional<int64_t> at = AtTime(sq.at, sq.at_timestamp_ms, *ctx_);
  const int64_t base_start = at ? *at : start_;
  const int64_t base_end = at ? *at : end_;
  int64_t sub_start = step * ((base_start - offset - range) / step);
  if (sub_start <= base_start - offset - range) sub_start += step;
  const int64_t sub_end = base_end - offset;
  if (sub_end < sub_start) return Matrix{};
  Evaluator sub(ctx_, sub_start, sub_end, step);
  return sub.EvalMatrix(*sq.expr);
}

// ---------------------------------------------------------------------------------------
// Functions.

absl::StatusOr<Matrix> Evaluator::EvalRangeCall(const Call& call, size_t matrix_arg) {
  const std::string_view name = call.func->name;
  const internal::RangeFn fn = internal::LookupRangeFn(name);
  if (fn == internal::RangeFn::kNone) {
    return ExecError(absl::StrCat("function ", Av(name), " does not take a range vector"));
  }
  const Expr& arg = Unparen(*call.args[matrix_arg]);

  // Scalar arguments, evaluated for every step.
  std::vector<Matrix> scalar_args;
  for (size_t i = 0; i < call.args.size(); ++i) {
    if (i == matrix_arg) continue;
    PHAROS_ASSIGN_OR_RETURN(Matrix m, EvalMatrix(*call.args[i]));
    scalar_args.push_back(std::move(m));
  }
  auto scalar_at = [&](size_t k, int step) -> double {
    if (k >= scalar_args.size() || scalar_args[k].empty()) return kNaN;
    const auto& pts = scalar_args[k][0].floats;
    return step < static_cast<int>(pts.size()) ? pts[step].f : kNaN;
  };

  // Source series: storage series decoded one at a time, or the subquery's output.
  const VectorSelector* stream_vs = nullptr;
  Matrix subquery_result;
  int64_t offset = 0, range = 0;
  bool anchored = false, smoothed = false;
  std::optional<int64_t> at;
  PosRange arg_pos = call.args[matrix_arg]->pos;
  if (arg.kind() == ExprKind::kMatrixSelector) {
    const auto& ms = arg.As<MatrixSelector>();
    const VectorSelector& vs = ms.selector();
    anchored = vs.anchored;
    smoothed = vs.smoothed;
    if (anchored && fn != internal::RangeFn::kResets && fn != internal::RangeFn::kChanges &&
        fn != internal::RangeFn::kRate && fn != internal::RangeFn::kIncrease &&
        fn != internal::RangeFn::kDelta) {
      return ExecError(absl::StrCat(
          "anchored modifier can only be used with: changes, delta, increase, rate, resets - "
          "not with ",
          Av(name)));
    }
    if (smoothed && fn != internal::RangeFn::kRate && fn != internal::RangeFn::kIncrease &&
        fn != internal::RangeFn::kDelta) {
      return ExecError(absl::StrCat(
          "smoothed modifier can only be used with: delta, increase, rate - not with ",
          Av(name)));
    }
    stream_vs = &vs;
    offset = SelectorOffset(vs, *ctx_);
    range = DurationMs(ms.range_expr.get(), ms.range_ms, *ctx_);
    at = AtTime(vs.at, vs.at_timestamp_ms, *ctx_);
  } else if (arg.kind() == ExprKind::kSubquery) {
    const auto& sq = arg.As<SubqueryExpr>();
    PHAROS_ASSIGN_OR_RETURN(subquery_result, EvalSubqueryRaw(sq));
    offset = DurationMs(sq.offset_expr.get(), sq.original_offset_ms, *ctx_);
    range = DurationMs(sq.range_expr.get(), sq.range_ms, *ctx_);
    at = AtTime(sq.at, sq.at_timestamp_ms, *ctx_);
  } else {
    return ExecError("expected a range vector argument");
  }

  if (fn == internal::RangeFn::kDoubleExponentialSmoothing) {
    for (int step = 0; step < NumSteps(); ++step) {
      double sf = scalar_at(0, step), tf = scalar_at(1, step);
      if (!(sf > 0 && sf < 1)) {
        return ExecError(absl::StrCat("invalid smoothing factor. Expected: 0 < sf < 1, got: ",
                                      absl::StrFormat("%f", sf)));
      }
      if (!(tf > 0 && tf < 1)) {
        return ExecError(absl::StrCat("invalid trend factor. Expected: 0 < tf < 1, got: ",
                                      absl::StrFormat("%f", tf)));
      }
    }
  }
  if (fn == internal::RangeFn::kQuantileOverTime) {
    for (int step = 0; step < NumSteps(); ++step) {
      double q = scalar_at(0, step);
      if (std::isnan(q) || q < 0 || q > 1) {
        ctx_->Warn(absl::StrCat("quantile value should be between 0 and 1, got ",
                                internal::FormatFloatG(q)),
                   call.args[0]->pos);
        break;
      }
    }
  }

  const bool keeps_name = fn == internal::RangeFn::kLastOverTime ||
                          fn == internal::RangeFn::kFirstOverTime;
  const bool is_rate = fn == internal::RangeFn::kRate || fn == internal::RangeFn::kIncrease;
  Matrix mat;
  std::vector<double> scratch;
  // Slides the window of one series across all steps.
  auto process = [&](const Labels& labels, const std::vector<FPoint>& pts,
                     bool src_drop_name) -> absl::Status {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    MSeries out;
    out.drop_name = !keeps_name || src_drop_name;
    out.metric = (!keeps_name && !delayed()) ? DropMetadata(labels) : labels;
    size_t lo = 0, hi = 0;
    int step = 0;
    for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
      const int64_t ref = (at ? *at : ts) - offset;
      const int64_t mint = ref - range;
      // Anchored/smoothed windows reach back (and, smoothed, ahead) one lookback delta.
      const int64_t lookback = ctx_->opts->lookback_delta_ms;
      const int64_t lo_bound = (anchored || smoothed) ? mint - lookback : mint;
      const int64_t hi_bound = smoothed ? ref + lookback : ref;
      while (hi < pts.size() && pts[hi].t <= hi_bound) ++hi;
      while (lo < hi && pts[lo].t <= lo_bound) ++lo;
      if (lo >= hi) continue;
      std::span<const FPoint> window(pts.data() + lo, hi - lo);
      if (ctx_->current_samples + static_cast<int64_t>(window.size()) >
          ctx_->opts->max_samples) {
        return TooManySamples();
      }
      internal::RangeCall rc;
      rc.range_start = mint;
      rc.range_end = ref;
      rc.range_ms = range;
      rc.eval_ts = ts;
      rc.arg0 = scalar_at(0, step);
      rc.arg1 = scalar_at(1, step);
      rc.scratch = &scratch;
      double v;
      if (anchored || smoothed) {
        if (!internal::EvalExtendedRangeFn(fn, window, rc, smoothed, &v)) continue;
      } else if (!internal::EvalRangeFn(fn, window, rc, &v)) {
        continue;
      }
      out.floats.push_back(FPoint{ts, v});
      PHAROS_RETURN_IF_ERROR(AddSamples(1));
    }
    if (is_rate && !out.floats.empty()) {
      std::string_view metric_name = labels.MetricName();
      auto ends_with = [&](std::string_view suf) {
        return metric_name.size() >= suf.size() &&
               metric_name.substr(metric_name.size() - suf.size()) == suf;
      };
      if (!metric_name.empty() && !ends_with("_total") && !ends_with("_sum") &&
          !ends_with("_count") && !ends_with("_bucket")) {
        ctx_->Info(absl::StrCat("metric might not be a counter, name does not end in "
                                "_total/_sum/_count/_bucket: ",
                                GoQuote(metric_name)),
                   arg_pos);
      }
    }
    if (!out.floats.empty()) mat.push_back(std::move(out));
    return absl::OkStatus();
  };
  if (stream_vs != nullptr) {
    PHAROS_RETURN_IF_ERROR(ctx_->ForEachSeries(*stream_vs, [&](const LoadedSeries& s) {
      return process(s.labels, s.points(), false);
    }));
  } else {
    for (const MSeries& s : subquery_result) {
      PHAROS_RETURN_IF_ERROR(process(s.metric, s.floats, s.drop_name));
    }
  }

  if (fn == internal::RangeFn::kAbsentOverTime) {
    const int steps = NumSteps();
    absl::flat_hash_set<int64_t> found;
    for (const MSeries& s : mat) {
      if (static_cast<int>(s.floats.size()) == steps) return Matrix{};
      for (const FPoint& p : s.floats) found.insert(p.t);
    }
    if (static_cast<int>(found.size()) == steps) return Matrix{};
    MSeries s;
    // Labels from the selector's equality matchers.
    const VectorSelector* vs = nullptr;
    if (arg.kind() == ExprKind::kMatrixSelector) vs = &arg.As<MatrixSelector>().selector();
    if (vs != nullptr) {
      LabelsBuilder b;
      absl::flat_hash_set<std::string> has;
      for (const LabelMatcher& m : vs->matchers) {
        if (m.name == kMetricName) continue;
        if (m.type == MatchType::kEqual && !has.contains(m.name)) {
          b.Set(m.name, m.value);
          has.insert(m.name);
        } else {
          b.Del(m.name);
        }
      }
      s.metric = b.Labels();
    }
    s.drop_name = true;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      if (!found.contains(ts)) s.floats.push_back(FPoint{ts, 1});
    }
    return Matrix{std::move(s)};
  }

  if (!delayed()) {
    absl::flat_hash_set<Labels> seen;
    for (const MSeries& s : mat) {
      if (!seen.insert(s.metric).second) {
        return ExecError("vector cannot contain metrics with the same labelset");
      }
    }
  }
  return mat;
}

Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const VectorSelector* vs = nullptr;
  if (e.kind() == ExprKind::kVectorSelector) vs = &e.As<VectorSelector>();
  if (e.kind() == ExprKind::kMatrixSelector) vs = &e.As<MatrixSelector>().selector();
  if (vs == nullptr) return Labels();
  LabelsBuilder b;
  absl::flat_hash_set<std::string> has;
  for (const LabelMatcher& m : vs->matchers) {
    if (m.name == kMetricName) continue;
    if (m.type == MatchType::kEqual && !has.contains(m.name)) {
      b.Set(m.name, m.value);
      has.insert(m.name);
    } else {
      b.Del(m.name);
    }
  }
  return b.Labels();
}

// Merges series of a matrix that ended up with the same labels (delayed name removal).
absl::StatusOr<Matrix> MergeSameLabelset(Matrix mat) {
  if (mat.size() <= 1) return mat;
  absl::flat_hash_map<Labels, size_t> index;
  bool dup = false;
  for (size_t i = 0; i < mat.size(); ++i) {
    if (!index.emplace(mat[i].metric, i).second) {
      dup = true;
      break;
    }
  }
  if (!dup) return mat;
  index.clear();
  Matrix out;
  for (MSeries& s : mat) {
    auto [it, inserted] = index.emplace(s.metric, out.size());
    if (inserted) {
      out.push_back(std::move(s));
      continue;
    }
    MSeries& base = out[it->second];
    base.floats.insert(base.floats.end(), s.floats.begin(), s.floats.end());
    std::stable_sort(base.floats.begin(), base.floats.end(),
                     [](const FPoint& a, const FPoint& b) { return a.t < b.t; });
    for (size_t i = 1; i < base.floats.size(); ++i) {
      if (base.floats[i].t == base.floats[i - 1].t) {
        return ExecError("vector cannot contain metrics with the same labelset");
      }
    }
  }
  return out;
}

absl::StatusOr<Matrix> Evaluator::EvalLabelReplace(const Call& call) {
  const std::string& dst = Unparen(*call.args[1]).As<StringLiteral>().value;
  const std::string& repl = Unparen(*call.args[2]).As<StringLiteral>().value;
  const std::string& src = Unparen(*call.args[3]).As<StringLiteral>().value;
  const std::string& regex = Unparen(*call.args[4]).As<StringLiteral>().value;
  RE2::Options ro;
  ro.set_log_errors(false);
  ro.set_dot_nl(true);
  RE2 re(absl::StrCat("^(?s:", regex, ")$"), ro);
  if (!re.ok()) {
    return ExecError(absl::StrCat("invalid regular expression in label_replace(): ", regex));
  }
  if (!IsValidLabelName(dst)) {
    return ExecError(absl::StrCat("invalid destination label name in label_replace(): ", dst));
  }
  PHAROS_ASSIGN_OR_RETURN(Matrix mat, EvalMatrix(*call.args[0]));
  std::vector<re2::StringPiece> groups(re.NumberOfCapturingGroups() + 1);
  for (MSeries& s : mat) {
    std::string src_val(s.metric.Get(src));
    if (!re.Match(src_val, 0, src_val.size(), RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
      continue;
    }
    std::string res = ExpandTemplate(repl, re, groups);
    LabelsBuilder b(s.metric);
    b.Set(dst, res);
    s.metric = b.Labels();
    if (dst == kMetricName) s.drop_name = false;
  }
  if (!delayed()) {
    absl::flat_hash_set<Labels> seen;
    for (const MSeries& s : mat) {
      if (!seen.insert(s.metric).second) {
        return ExecError("vector cannot contain metrics with the same labelset");
      }
    }
    return mat;
  }
  return MergeSameLabelset(std::move(mat));
}

absl::StatusOr<Matrix> Evaluator::EvalLabelJoin(const Call& call) {
  const std::string& dst = Unparen(*call.args[1]).As<StringLiteral>().value;
  const std::string& sep = Unparen(*call.args[2]).As<StringLiteral>().value;
  std::vector<std::string> srcs;
  for (size_t i = 3; i < call.args.size(); ++i) {
    const std::string& s = Unparen(*call.args[i]).As<StringLiteral>().value;
    if (!IsValidLabelName(s)) {
      return ExecError(absl::StrCat("invalid source label name in label_join(): ", s));
    }
    srcs.push_back(s);
  }
  if (!IsValidLabelName(dst)) {
    return ExecError(absl::StrCat("invalid destination label name in label_join(): ", dst));
  }
  PHAROS_ASSIGN_OR_RETURN(Matrix mat, EvalMatrix(*call.args[0]));
  for (MSeries& s : mat) {
    std::string joined;
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (i > 0) joined += sep;
      joined += s.metric.Get(srcs[i]);
    }
    LabelsBuilder b(s.metric);
    b.Set(dst, joined);
    s.metric = b.Labels();
    if (dst == kMetricName) s.drop_name = false;
  }
  if (!delayed()) {
    absl::flat_hash_set<Labels> seen;
    for (const MSeries& s : mat) {
      if (!seen.insert(s.metric).second) {
        return ExecError("vector cannot contain metrics with the same labelset");
      }
    }
    return mat;
  }
  return MergeSameLabelset(std::move(mat));
}

// The (@, offset) adjustments from the evaluation time to the reference time of the first
// vector selector in `e` (depth first), through the subqueries on the way.
bool Evaluator::InfoReferencePath(
    const Expr& e, std::vector<std::pair<std::optional<int64_t>, int64_t>>& path) const {
  if (e.kind() == ExprKind::kVectorSelector) {
    const auto& vs = e.As<VectorSelector>();
    path.push_back({AtTime(vs.at, vs.at_timestamp_ms, *ctx_), SelectorOffset(vs, *ctx_)});
    return true;
  }
  if (e.kind() == ExprKind::kSubquery) {
    const auto& sq = e.As<SubqueryExpr>();
    path.push_back({AtTime(sq.at, sq.at_timestamp_ms, *ctx_),
                    DurationMs(sq.offset_expr.get(), sq.original_offset_ms, *ctx_)});
    if (InfoReferencePath(*sq.expr, path)) return true;
    path.pop_back();
    return false;
  }
  for (const Expr* c : Children(e)) {
    if (InfoReferencePath(*c, path)) return true;
  }
  return false;
}

// info(v, {data selector}) (experimental, Prometheus promql/info.go): adds the data labels of
// info series (default target_info) that share the identifying labels instance and job.
absl::StatusOr<Matrix> Evaluator::EvalInfo(const Call& call) {
  static constexpr std::string_view kIdentifying[] = {"instance", "job"};
  PHAROS_ASSIGN_OR_RETURN(Matrix mat, EvalMatrix(*call.args[0]));

  // Data label matchers by label name; matchers on __name__ choose the info metrics.
  std::map<std::string, std::vector<Matcher>> data_matchers;
  std::vector<Matcher> info_name_matchers;
  auto make = [](const LabelMatcher& m) {
    return Matcher::Make(static_cast<pharos::MatchType>(m.type), m.name, m.value);
  };
  if (call.args.size() > 1) {
    const Expr& sel = Unparen(*call.args[1]);
    if (sel.kind() != ExprKind::kVectorSelector) {
      return ExecError("expected a label selector as the second argument of info()");
    }
    for (const LabelMatcher& lm : sel.As<VectorSelector>().matchers) {
      auto m = make(lm);
      if (!m.ok()) return BadData(std::string(m.status().message()));
      data_matchers[lm.name].push_back(*m);
      if (lm.name == kMetricName) info_name_matchers.push_back(*m);
    }
  } else {
    info_name_matchers.push_back(Matcher::MustMake(pharos::MatchType::kEqual, kMetricName,
                                                   "target_info"));
  }
  // Only negative __name__ matchers: info metrics are still only the *_info metrics.
  bool positive_name = false;
  for (const Matcher& m : info_name_matchers) positive_name = positive_name || !m.IsNegative();
  std::optional<Matcher> info_suffix;
  if (!info_name_matchers.empty() && !positive_name) {
    info_suffix = Matcher::MustMake(pharos::MatchType::kRegexMatch, kMetricName, ".+_info");
    info_name_matchers.push_back(*info_suffix);
  }
  auto all_match = [](const std::vector<Matcher>& ms, std::string_view v) {
    for (const Matcher& m : ms) {
      if (!m.Matches(v)) return false;
    }
    return true;
  };
  // Info series themselves are not enriched.
  std::vector<bool> ignore(mat.size(), false);
  for (size_t i = 0; i < mat.size(); ++i) {
    ignore[i] = !info_name_matchers.empty() &&
                all_match(info_name_matchers, mat[i].metric.MetricName());
  }
  // Identifying label values of the series to enrich.
  std::map<std::string, std::set<std::string>> id_values;
  for (size_t i = 0; i < mat.size(); ++i) {
    if (ignore[i]) continue;
    for (std::string_view l : kIdentifying) {
      std::string_view v = mat[i].metric.Get(l);
      if (!v.empty()) id_values[std::string(l)].insert(std::string(v));
    }
  }
  bool has_name_matcher = data_matchers.contains(std::string(kMetricName));
  std::vector<Matcher> select;
  for (const auto& [name, ms] : data_matchers) {
    for (const Matcher& m : ms) select.push_back(m);
  }
  if (has_name_matcher && info_suffix) select.push_back(*info_suffix);
  data_matchers.erase(std::string(kMetricName));

  Matrix info_mat;
  if (!id_values.empty()) {
    for (const auto& [name, vals] : id_values) {
      std::string re;
      for (const std::string& v : vals) {
        if (!re.empty()) re += "|";
        re += RE2::QuoteMeta(v);
      }
      auto m = Matcher::Make(pharos::MatchType::kRegexMatch, name, re);
      if (!m.ok()) return ExecError(std::string(m.status().message()));
      select.push_back(*m);
    }
    if (!has_name_matcher) {
      select.insert(select.begin(), Matcher::MustMake(pharos::MatchType::kEqual, kMetricName,
                                                      "target_info"));
    }
    // Info series are looked up as of the base data's reference time: the @ and offsets of the
    // subqueries and of the first selector in the argument.
    std::vector<std::pair<std::optional<int64_t>, int64_t>> path;
    InfoReferencePath(*call.args[0], path);
    auto reference = [&](int64_t ts) {
      int64_t ref = ts;
      for (const auto& [at, offset] : path) {
        if (at) ref = *at;
        ref -= offset;
      }
      return ref;
    };
    // Value of an info series at a step: the timestamp of the sample found (newest wins).
    const int64_t lookback = ctx_->opts->lookback_delta_ms;
    LoadedSeries buf;
    PHAROS_RETURN_IF_ERROR(ctx_->ForEachSeries(select, buf, [&](const LoadedSeries& s) -> absl::Status {
      MSeries out;
      out.metric = s.labels;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        const int64_t ref = reference(ts);
        auto it = std::upper_bound(s.raw.begin(), s.raw.end(), ref,
                                   [](int64_t t, const FPoint& p) { return t < p.t; });
        if (it == s.raw.begin()) continue;
        const FPoint& p = *(it - 1);
        if (p.t <= ref - lookback || IsStale(p.f)) continue;
        out.floats.push_back(FPoint{ts, static_cast<double>(p.t)});
        PHAROS_RETURN_IF_ERROR(AddSamples(1));
      }
      if (!out.floats.empty()) info_mat.push_back(std::move(out));
      return absl::OkStatus();
    }));
  }

  // Signatures: info metric name + identifying labels.
  auto signature = [&](std::string_view name, const Labels& l) {
    std::string sig(name);
    for (std::string_view id : kIdentifying) {
      sig.push_back('\xff');
      sig.append(id);
      sig.push_back('\xff');
      sig.append(l.Get(id));
    }
    return sig;
  };
  std::set<std::string> info_names;
  for (const MSeries& s : info_mat) info_names.insert(std::string(s.metric.MetricName()));
  std::vector<std::vector<std::pair<std::string, std::string>>> base_sigs(mat.size());
  for (size_t i = 0; i < mat.size(); ++i) {
    for (const std::string& n : info_names) base_sigs[i].push_back({n, signature(n, mat[i].metric)});
  }
  std::vector<std::string> info_sigs;
  for (const MSeries& s : info_mat) info_sigs.push_back(signature(s.metric.MetricName(), s.metric));
  bool any_not_empty = false;
  for (const auto& [name, ms] : data_matchers) {
    for (const Matcher& m : ms) any_not_empty = any_not_empty || !m.Matches("");
  }

  Matrix out;
  absl::flat_hash_map<Labels, std::pair<size_t, int64_t>> index;
  std::vector<size_t> bc(mat.size(), 0), ic(info_mat.size(), 0);
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    // Newest info sample per signature at this step.
    absl::flat_hash_map<std::string, std::pair<size_t, int64_t>> right;
    for (size_t k = 0; k < info_mat.size(); ++k) {
      const MSeries& s = info_mat[k];
      if (ic[k] >= s.floats.size() || s.floats[ic[k]].t != ts) continue;
      int64_t orig_t = static_cast<int64_t>(s.floats[ic[k]].f);
      ++ic[k];
      auto [it, inserted] = right.emplace(info_sigs[k], std::make_pair(k, orig_t));
      if (inserted) continue;
      if (it->second.second < orig_t) {
        it->second = {k, orig_t};
      } else if (it->second.second == orig_t) {
        return ExecError(absl::StrCat("found duplicate series for info metric: existing ",
                                      info_mat[it->second.first].metric.String(), " @ ",
                                      it->second.second, ", new ", s.metric.String(), " @ ",
                                      orig_t));
      }
    }
    for (size_t i = 0; i < mat.size(); ++i) {
      const MSeries& bs = mat[i];
      if (bc[i] >= bs.floats.size() || bs.floats[bc[i]].t != ts) continue;
      const double f = bs.floats[bc[i]].f;
      ++bc[i];
      Labels result = bs.metric;
      if (!ignore[i]) {
        LabelsBuilder info_labels;
        bool seen = false;
        for (const auto& [info_name, sig] : base_sigs[i]) {
          auto it = right.find(sig);
          if (it == right.end()) continue;
          seen = true;
          for (const Label& l : info_mat[it->second.first].metric) {
            if (l.name == kMetricName) continue;
            if (!data_matchers.empty() && !data_matchers.contains(std::string(l.name))) continue;
            std::string_view have = info_labels.Get(l.name);
            if (!have.empty() && have != l.value) {
              return ExecError(absl::StrCat("conflicting label: ", Av(l.name)));
            }
            if (bs.metric.Has(l.name)) continue;
            info_labels.Set(l.name, l.value);
          }
        }
        if (!seen && any_not_empty) continue;
        LabelsBuilder b(bs.metric);
        for (const Label& l : info_labels.Labels()) b.Set(l.name, l.value);
        result = b.Labels();
      }
      auto [it, inserted] = index.emplace(result, std::make_pair(out.size(), ts));
      if (inserted) {
        out.push_back(MSeries{result, {}, bs.drop_name});
      } else {
        if (it->second.second == ts) {
          return ExecError("vector cannot contain metrics with the same labelset");
        }
        it->second.second = ts;
      }
      out[it->second.first].floats.push_back(FPoint{ts, f});
      PHAROS_RETURN_IF_ERROR(AddSamples(1));
    }
  }
  return out;
}

// natsort.Compare (github.com/facette/natsort): true if a < b in natural order.
bool NatLess(std::string_view a, std::string_view b) {
  auto chunk = [](std::string_view s, size_t& i) {
    size_t start = i;
    bool digit = i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0) == digit) ++i;
    return std::pair<std::string_view, bool>(s.substr(start, i - start), digit);
  };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    auto [ca, da] = chunk(a, i);
    auto [cb, db] = chunk(b, j);
    if (ca == cb) continue;
    if (da && db) {
      std::string_view ta = ca, tb = cb;
      while (ta.size() > 1 && ta[0] == '0') ta.remove_prefix(1);
      while (tb.size() > 1 && tb[0] == '0') tb.remove_prefix(1);
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      return ca < cb;
    }
    return ca < cb;
  }
  return a.size() - i < b.size() - j ? true : (i >= a.size() && j < b.size());
}

absl::StatusOr<Matrix> Evaluator::EvalCall(const Call& call) {
  const std::string_view name = call.func->name;
  if (call.func->experimental && !ctx_->opts->enable_experimental_functions) {
    return BadData(absl::StrCat("function \"", Av(name), "\" is not enabled"));
  }
  if (name == "label_replace") return EvalLabelReplace(call);
  if (name == "label_join") return EvalLabelJoin(call);
  if (name == "info") return EvalInfo(call);
  if (name == "start_timestamp") {
    return ExecError(absl::StrCat("function ", Av(name), " is not supported"));
  }
  if (name == "timestamp") {
    const Expr& a = Unparen(*call.args[0]);
    if (a.kind() == ExprKind::kVectorSelector) {
      return EvalVectorSelector(a.As<VectorSelector>(), true);
    }
  }
  for (size_t i = 0; i < call.args.size(); ++i) {
    ExprKind k = Unparen(*call.args[i]).kind();
    if (k == ExprKind::kMatrixSelector || k == ExprKind::kSubquery) return EvalRangeCall(call, i);
  }
  if ((name == "sort" || name == "sort_desc" || name == "sort_by_label" ||
       name == "sort_by_label_desc") &&
      ctx_->is_range) {
    ctx_->Warn("sort is ineffective for range queries since results are always ordered by labels",
               call.pos);
  }

  std::vector<const Expr*> args;
  for (const auto& a : call.args) args.push_back(a.get());
  const bool delayed_removal = delayed();
  QueryContext* ctx = ctx_;
  auto float_out = [delayed_removal, ctx](const Sample& s, double v) {
    Sample o;
    o.metric = delayed_removal ? s.metric : ctx->DropMetadataCached(s.metric);
    o.f = v;
    o.drop_name = true;
    return o;
  };

  if (internal::FloatFn f = internal::LookupFloatFn(name)) {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out;
      out.reserve(v[0].size());
      for (const Sample& s : v[0]) out.push_back(float_out(s, f(s.f)));
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "time" || name == "pi" || name == "start" || name == "end" || name == "range" ||
      name == "step") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>&, const auto&, int64_t ts) {
      double v = 0;
      if (name == "time") v = static_cast<double>(ts) / 1000;
      if (name == "pi") v = M_PI;
      if (name == "start") v = static_cast<double>(ctx->query_start) / 1000;
      if (name == "end") v = static_cast<double>(ctx->query_end) / 1000;
      if (name == "range") v = static_cast<double>(ctx->query_end - ctx->query_start) / 1000;
      if (name == "step") v = static_cast<double>(ctx->query_step) / 1000;
      return absl::StatusOr<Vector>(Vector{Sample{Labels(), v, ts, false}});
    });
  }
  if (name == "min_of" || name == "max_of") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      double a = v[0].empty() ? kNaN : v[0][0].f, b = v[1].empty() ? kNaN : v[1][0].f;
      double r = (std::isnan(a) || std::isnan(b)) ? kNaN
                 : name == "min_of"               ? std::min(a, b)
                                                  : std::max(a, b);
      return absl::StatusOr<Vector>(Vector{Sample{Labels(), r, 0, false}});
    });
  }
  if (name == "vector") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      return absl::StatusOr<Vector>(Vector{Sample{Labels(), v[0][0].f, 0, false}});
    });
  }
  if (name == "scalar") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      double value = v[0].size() == 1 ? v[0][0].f : kNaN;
      return absl::StatusOr<Vector>(Vector{Sample{Labels(), value, 0, false}});
    });
  }
  if (name == "timestamp") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t ts) {
      Vector out;
      for (const Sample& s : v[0]) out.push_back(float_out(s, static_cast<double>(ts) / 1000));
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      double lo = -std::numeric_limits<double>::infinity();
      double hi = std::numeric_limits<double>::infinity();
      if (name == "clamp") {
        lo = v[1][0].f;
        hi = v[2][0].f;
      } else if (name == "clamp_min") {
        lo = v[1][0].f;
      } else {
        hi = v[1][0].f;
      }
      Vector out;
      if (hi < lo) return absl::StatusOr<Vector>(std::move(out));
      for (const Sample& s : v[0]) out.push_back(float_out(s, std::fmax(lo, std::fmin(hi, s.f))));
      // Go's math.Max/Min propagate NaN.
      for (size_t i = 0; i < out.size(); ++i) {
        if (std::isnan(v[0][i].f) || std::isnan(lo) || std::isnan(hi)) out[i].f = kNaN;
      }
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "round") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      double to_nearest = v.size() >= 2 ? v[1][0].f : 1;
      double inv = 1.0 / to_nearest;
      Vector out;
      for (const Sample& s : v[0]) out.push_back(float_out(s, std::floor(s.f * inv + 0.5) / inv));
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "days_in_month" || name == "day_of_month" || name == "day_of_week" ||
      name == "day_of_year" || name == "hour" || name == "minute" || name == "month" ||
      name == "year") {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t ts) {
      Vector out;
      if (v.empty()) {
        out.push_back(Sample{Labels(),
                             internal::DateFunction(name, static_cast<double>(ts / 1000)), 0,
                             false});
      } else {
        for (const Sample& s : v[0]) out.push_back(float_out(s, internal::DateFunction(name, s.f)));
      }
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "sort" || name == "sort_desc") {
    const bool desc = name == "sort_desc";
    return RangeEval(args, nullptr, [desc](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out = v[0];
      std::stable_sort(out.begin(), out.end(), [desc](const Sample& a, const Sample& b) {
        // NaN sorts last in both directions.
        if (std::isnan(a.f)) return false;
        if (std::isnan(b.f)) return true;
        return desc ? a.f > b.f : a.f < b.f;
      });
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "sort_by_label" || name == "sort_by_label_desc") {
    std::vector<std::string> labels;
    for (size_t i = 1; i < call.args.size(); ++i) {
      labels.push_back(Unparen(*call.args[i]).As<StringLiteral>().value);
    }
    const bool desc = name == "sort_by_label_desc";
    std::vector<const Expr*> a0{call.args[0].get()};
    return RangeEval(a0, nullptr, [labels, desc](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out = v[0];
      std::stable_sort(out.begin(), out.end(), [&](const Sample& a, const Sample& b) {
        for (const std::string& l : labels) {
          std::string_view x = a.metric.Get(l), y = b.metric.Get(l);
          if (x == y) continue;
          return desc ? NatLess(y, x) : NatLess(x, y);
        }
        int c = Compare(a.metric, b.metric);
        return desc ? c > 0 : c < 0;
      });
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "absent") {
    Labels absent_labels = AbsentLabels(*call.args[0]);
    return RangeEval(args, nullptr, [absent_labels](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out;
      if (v[0].empty()) out.push_back(Sample{absent_labels, 1, 0, true});
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "histogram_quantiles") {
    // histogram_quantiles(v, "label", q0, q1, ...) (experimental): histogram_quantile for each
    // q, the quantile recorded in `label` (OpenMetrics float form: 0.0, 0.25, 1.0).
    const std::string label = Unparen(*call.args[1]).As<StringLiteral>().value;
    PosRange vec_pos = call.args[0]->pos;
    std::vector<PosRange> q_pos;
    for (size_t i = 2; i < call.args.size(); ++i) q_pos.push_back(call.args[i]->pos);
    return RangeEval(args, nullptr, [=](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out;
      std::vector<double> qs;
      for (size_t i = 2; i < v.size(); ++i) {
        double q = v[i].empty() ? kNaN : v[i][0].f;
        if (std::isnan(q) || q < 0 || q > 1) {
          ctx->Warn(absl::StrCat("quantile value should be between 0 and 1, got ",
                                 internal::FormatFloatG(q)),
                    q_pos[i - 2]);
        }
        qs.push_back(q);
      }
      struct Group {
        Labels metric;
        std::vector<internal::Bucket> buckets;
      };
      absl::flat_hash_map<Labels, size_t> index;
      std::vector<Group> groups;
      for (const Sample& s : v[0]) {
        double ub;
        if (!ParseGoFloat(s.metric.Get("le"), &ub)) {
          std::string msg = absl::StrCat(
              "bucket label \"le\" is missing or has a malformed value of ",
              GoQuote(s.metric.Get("le")));
          std::string_view mn = s.metric.MetricName();
          if (delayed_removal && !mn.empty()) absl::StrAppend(&msg, " for metric name ", GoQuote(mn));
          ctx->Warn(msg, vec_pos);
          continue;
        }
        LabelsBuilder kb(s.metric);
        kb.Del("le");
        auto [it, inserted] = index.emplace(kb.Labels(), groups.size());
        if (inserted) {
          LabelsBuilder mb(s.metric);
          mb.Del("le");
          if (!delayed_removal) mb.Del(kMetricName);
          groups.push_back(Group{mb.Labels(), {}});
        }
        groups[it->second].buckets.push_back(internal::Bucket{ub, s.f});
      }
      for (double q : qs) {
        std::string qs_label = internal::FormatFloatG(q);
        if (q == 0) qs_label = "0.0";
        if (qs_label.find_first_of("e.") == std::string::npos && !std::isnan(q) &&
            !std::isinf(q)) {
          qs_label += ".0";
        }
        for (Group& g : groups) {
          if (g.buckets.empty()) continue;
          std::vector<internal::Bucket> buckets = g.buckets;
          bool forced = false;
          double value = internal::BucketQuantile(q, buckets, &forced);
          if (forced) {
            std::string msg =
                "input to histogram_quantile needed to be fixed for monotonicity (see "
                "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                "#histogram_quantile)";
            std::string_view mn = g.metric.MetricName();
            if (delayed_removal && !mn.empty()) {
              absl::StrAppend(&msg, " for metric name ", GoQuote(mn));
            }
            ctx->Info(msg, vec_pos);
          }
          LabelsBuilder b(g.metric);
          b.Set(label, qs_label);
          out.push_back(Sample{b.Labels(), value, 0, true});
        }
      }
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (name == "histogram_quantile" || name == "histogram_fraction") {
    const bool is_quantile = name == "histogram_quantile";
    const size_t vec_arg = is_quantile ? 1 : 2;
    PosRange vec_pos = call.args[vec_arg]->pos;
    PosRange q_pos = call.args[0]->pos;
    return RangeEval(args, nullptr, [=](std::vector<Vector>& v, const auto&, int64_t) {
      Vector out;
      if (v[0].empty()) return absl::StatusOr<Vector>(std::move(out));
      double q = v[0][0].f;
      double upper = is_quantile ? 0 : (v[1].empty() ? kNaN : v[1][0].f);
      if (is_quantile && (std::isnan(q) || q < 0 || q > 1)) {
        ctx->Warn(absl::StrCat("quantile value should be between 0 and 1, got ",
                               internal::FormatFloatG(q)),
                  q_pos);
      }
      struct Group {
        Labels metric;
        std::vector<internal::Bucket> buckets;
      };
      absl::flat_hash_map<Labels, size_t> index;
      std::vector<Group> groups;
      for (const Sample& s : v[vec_arg]) {
        double ub;
        if (!ParseGoFloat(s.metric.Get("le"), &ub)) {
          std::string msg = absl::StrCat(
              "bucket label \"le\" is missing or has a malformed value of ",
              GoQuote(s.metric.Get("le")));
          std::string_view mn = s.metric.MetricName();
          if (delayed_removal && !mn.empty()) {
            absl::StrAppend(&msg, " for metric name ", GoQuote(mn));
          }
          ctx->Warn(msg, vec_pos);
          continue;
        }
        LabelsBuilder kb(s.metric);
        kb.Del("le");
        Labels key = kb.Labels();
        auto [it, inserted] = index.emplace(key, groups.size());
        if (inserted) {
          LabelsBuilder mb(s.metric);
          mb.Del("le");
          if (!delayed_removal) mb.Del(kMetricName);
          groups.push_back(Group{mb.Labels(), {}});
        }
        groups[it->second].buckets.push_back(internal::Bucket{ub, s.f});
      }
      for (Group& g : groups) {
        if (g.buckets.empty()) continue;
        double value;
        if (is_quantile) {
          bool forced = false;
          value = internal::BucketQuantile(q, g.buckets, &forced);
          if (forced) {
            std::string msg =
                "input to histogram_quantile needed to be fixed for monotonicity (see "
                "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                "#histogram_quantile)";
            std::string_view mn = g.metric.MetricName();
            if (delayed_removal && !mn.empty()) {
              absl::StrAppend(&msg, " for metric name ", GoQuote(mn));
            }
            ctx->Info(msg, vec_pos);
          }
        } else {
          value = internal::BucketFraction(q, upper, g.buckets);
        }
        Sample o;
        o.metric = g.metric;
        o.f = value;
        o.drop_name = true;
        out.push_back(std::move(o));
      }
      return absl::StatusOr<Vector>(std::move(out));
    });
  }
  if (call.func->native_histogram) {
    // histogram_count, histogram_sum, ...: native histograms only; floats are ignored.
    return RangeEval(args, nullptr, [](std::vector<Vector>&, const auto&, int64_t) {
      return absl::StatusOr<Vector>(Vector{});
    });
  }
  return ExecError(absl::StrCat("function ", Av(name), " is not supported"));
}

// ---------------------------------------------------------------------------------------
// Per-step combination (rangeEval).

absl::StatusOr<Matrix> Evaluator::RangeEval(const std::vector<const Expr*>& exprs,
                                            const VectorMatching* matching, const StepFn& fn) {
  const int64_t original = ctx_->current_samples;
  std::vector<Matrix> inputs;
  for (const Expr* e : exprs) {
    if (TypeOf(*e) == ValueType::kString) {
      inputs.emplace_back();
      continue;
    }
    PHAROS_ASSIGN_OR_RETURN(Matrix m, EvalMatrix(*e));
    inputs.push_back(std::move(m));
  }
  int num_sigs = 0;
  PHAROS_ASSIGN_OR_RETURN(Matrix out, Combine(std::move(inputs), matching, &num_sigs, fn));
  int64_t total = 0;
  for (const MSeries& s : out) total += static_cast<int64_t>(s.floats.size());
  ctx_->current_samples = original + total;
  return out;
}

absl::StatusOr<Matrix> Evaluator::Combine(std::vector<Matrix> inputs,
                                          const VectorMatching* matching, int* num_sigs,
                                          const StepFn& fn) {
  const size_t n = inputs.size();
  // Signature ordinals for vector matching.
  std::vector<std::vector<int>> series_sigs(n);
  if (matching != nullptr) {
    absl::flat_hash_map<std::string, int> ordinals;
    for (size_t i = 0; i < n; ++i) {
      for (const MSeries& s : inputs[i]) {
        std::string sig = MatchSignature(s.metric, matching->matching_labels, matching->on);
        auto [it, inserted] = ordinals.emplace(std::move(sig), *num_sigs);
        if (inserted) ++*num_sigs;
        series_sigs[i].push_back(it->second);
      }
    }
  }
  std::vector<std::vector<size_t>> cursors(n);
  for (size_t i = 0; i < n; ++i) cursors[i].assign(inputs[i].size(), 0);
  std::vector<Vector> vectors(n);
  std::vector<std::vector<int>> sigs(n);

  Matrix out;
  absl::flat_hash_map<Labels, std::pair<size_t, int64_t>> index;  // -> (out idx, last ts)
  // Fast path by label-set identity (out[] keeps a copy alive); falls back to `index`.
  absl::flat_hash_map<const void*, size_t> by_id;
  std::vector<int64_t> last_ts;
  const int64_t temp = ctx_->current_samples;
  int64_t produced = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_) {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    for (size_t i = 0; i < n; ++i) {
      vectors[i].clear();
      sigs[i].clear();
      for (size_t si = 0; si < inputs[i].size(); ++si) {
        const MSeries& s = inputs[i][si];
        size_t& c = cursors[i][si];
        if (c < s.floats.size() && s.floats[c].t == ts) {
          vectors[i].push_back(Sample{s.metric, s.floats[c].f, ts, s.drop_name});
          if (matching != nullptr) sigs[i].push_back(series_sigs[i][si]);
          ++c;
        }
      }
    }
    PHAROS_ASSIGN_OR_RETURN(Vector result, fn(vectors, sigs, ts));
    produced += static_cast<int64_t>(result.size());
    ctx_->current_samples = temp + produced;
    if (ctx_->current_samples > ctx_->opts->max_samples) return TooManySamples();
    if (start_ == end_) {
      // Instant evaluation: keep the function's order.
      if (!delayed()) {
        absl::flat_hash_set<Labels> seen;
        for (const Sample& s : result) {
          if (!seen.insert(s.metric).second) {
            return ExecError("vector cannot contain metrics with the same labelset");
          }
        }
      }
      for (Sample& s : result) {
        out.push_back(MSeries{std::move(s.metric), {FPoint{ts, s.f}}, s.drop_name});
      }
      return out;
    }
    for (Sample& s : result) {
      const void* id = LabelsId(s.metric);
      size_t idx;
      auto fast = id != nullptr ? by_id.find(id) : by_id.end();
      if (fast != by_id.end()) {
        idx = fast->second;
      } else {
        auto [it, inserted] = index.emplace(s.metric, std::make_pair(out.size(), ts));
        if (inserted) {
          out.push_back(MSeries{s.metric, {}, s.drop_name});
          last_ts.push_back(std::numeric_limits<int64_t>::min());
        }
        idx = it->second.first;
        if (id != nullptr && LabelsId(out[idx].metric) == id) by_id.emplace(id, idx);
      }
      if (last_ts[idx] == ts) {
        return ExecError("vector cannot contain metrics with the same labelset");
      }
      last_ts[idx] = ts;
      out[idx].floats.push_back(FPoint{ts, s.f});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Binary operators.

absl::StatusOr<Vector> Evaluator::VectorBinop(const BinaryExpr& b, const Vector& lhs_in,
                                              const Vector& rhs_in,
                                              const std::vector<int>& lsig_in,
                                              const std::vector<int>& rsig_in,
                                              ResultMetricCache& cache) {
  const VectorMatching& m = *b.matching;
  const bool fill = m.fill_lhs.has_value() || m.fill_rhs.has_value();
  if ((lhs_in.empty() && rhs_in.empty()) || ((lhs_in.empty() || rhs_in.empty()) && !fill)) {
    return Vector{};
  }
  const bool swap = m.card == VectorMatchCard::kOneToMany;
  const Vector& lhs = swap ? rhs_in : lhs_in;
  const Vector& rhs = swap ? lhs_in : rhs_in;
  const std::vector<int>& lsig = swap ? rsig_in : lsig_in;
  const std::vector<int>& rsig = swap ? lsig_in : rsig_in;
  // As in Prometheus, the fill values are not swapped with the sides for group_right.
  const std::optional<double> fill_for_rhs = m.fill_rhs;
  const std::optional<double> fill_for_lhs = m.fill_lhs;

  auto& right = cache.right;
  auto& right_order = cache.right_order;
  right.clear();
  right_order.clear();
  for (size_t i = 0; i < rhs.size(); ++i) {
    auto [it, inserted] = right.emplace(rsig[i], i);
    if (!inserted) {
      const Sample* a = &rhs[it->second];
      const Sample* c = &rhs[i];
      if (c->metric < a->metric) std::swap(a, c);  // stable, sorted order
      Labels matched = MatchLabels(c->metric, m.matching_labels, m.on);
      return ExecError(absl::StrCat(
          "found duplicate series for the match group ", matched.String(), " on the ",
          swap ? "left" : "right", " hand-side of the operation: [", a->metric.String(), ", ",
          c->metric.String(),
          "];many-to-many matching not allowed: matching labels must be unique on one side"));
    }
    right_order.push_back(rsig[i]);
  }
  auto& matched = cache.matched;
  auto& matched_one = cache.matched_one;
  matched.clear();
  matched_one.clear();
  Vector out;
  auto build_metric = [&](const Labels& l, const Labels& r) {
    LabelsBuilder lb(l);
    if (ChangesMetricSchema(b.op)) lb.Del(kMetricName).Del("__type__").Del("__unit__");
    if (m.card == VectorMatchCard::kOneToOne) {
      if (m.on) {
        std::vector<std::string_view> keep(m.matching_labels.begin(), m.matching_labels.end());
        lb.Keep(std::span<const std::string_view>(keep));
      } else {
        for (const auto& n : m.matching_labels) lb.Del(n);
      }
    }
    for (const auto& n : m.include) {
      std::string_view v = r.Get(n);
      if (!v.empty()) {
        lb.Set(n, v);
      } else {
        lb.Del(n);
      }
    }
    return lb.Labels();
  };
  // Result labels and their hash (many-to-one duplicate detection compares hashes, as
  // Prometheus does).
  auto result_metric = [&](const Labels& l, const Labels& r) -> std::pair<Labels, uint64_t> {
    const void* lid = LabelsId(l);
    const void* rid = LabelsId(r);
    if (lid == nullptr || rid == nullptr) {
      Labels res = build_metric(l, r);
      uint64_t h = res.Hash();
      return {std::move(res), h};
    }
    auto key = std::make_pair(lid, rid);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end()) return {it->second.result, it->second.hash};
    Labels res = build_metric(l, r);
    uint64_t h = res.Hash();
    cache.entries.emplace(key, ResultMetricCache::Entry{l, r, res, h});
    return {std::move(res), h};
  };
  auto do_op = [&](const Sample& ls, const Sample& rs, int sig) -> absl::Status {
    double fl = ls.f, fr = rs.f;
    if (swap) std::swap(fl, fr);
    auto [value, keep] = ElemBinop(b.op, fl, fr);
    if (b.op == BinaryOp::kTrimUpper || b.op == BinaryOp::kTrimLower) {
      ctx_->Info(absl::StrCat("incompatible sample types encountered for binary operator ",
                              GoQuote(BinaryOpString(b.op)), ": float ",
                              Av(BinaryOpString(b.op)), " float"),
                 b.pos);
    }
    if (b.return_bool) value = keep ? 1.0 : 0.0;
    auto [metric, metric_hash] = result_metric(ls.metric, rs.metric);
    if (!delayed() && b.return_bool) metric = ctx_->DropMetadataCached(metric);
    if (m.card == VectorMatchCard::kOneToOne) {
      if (!matched_one.insert(sig).second) {
        return ExecError(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else {
      if (!matched[sig].insert(metric_hash).second) {
        return ExecError("multiple matches for labels: grouping labels must ensure unique matches");
      }
      matched_one.insert(sig);
    }
    if (!keep && !b.return_bool) return absl::OkStatus();
    Sample o;
    o.metric = std::move(metric);
    o.f = value;
    o.drop_name = b.return_bool || ls.drop_name;
    out.push_back(std::move(o));
    return absl::OkStatus();
  };
  for (size_t i = 0; i < lhs.size(); ++i) {
    const Sample& ls = lhs[i];
    auto it = right.find(lsig[i]);
    if (it == right.end()) {
      if (!fill_for_rhs) continue;
      Sample rs;
      rs.metric = MatchLabels(ls.metric, m.matching_labels, m.on);
      rs.f = *fill_for_rhs;
      PHAROS_RETURN_IF_ERROR(do_op(ls, rs, lsig[i]));
      continue;
    }
    PHAROS_RETURN_IF_ERROR(do_op(ls, rhs[it->second], lsig[i]));
  }
  if (fill_for_lhs) {
    for (int sig : right_order) {
      if (matched_one.contains(sig)) continue;
      const Sample& rs = rhs[right[sig]];
      Sample ls;
      ls.metric = MatchLabels(rs.metric, m.matching_labels, m.on);
      ls.f = *fill_for_lhs;
      PHAROS_RETURN_IF_ERROR(do_op(ls, rs, sig));
    }
  }
  return out;
}

absl::StatusOr<Matrix> Evaluator::EvalBinary(const BinaryExpr& b) {
  const ValueType lt = TypeOf(*b.lhs), rt = TypeOf(*b.rhs);
  std::vector<const Expr*> args{b.lhs.get(), b.rhs.get()};
  const bool delayed_removal = delayed();
  if (lt == ValueType::kScalar && rt == ValueType::kScalar) {
    return RangeEval(args, nullptr, [&](std::vector<Vector>& v, const auto&, int64_t) {
      return absl::StatusOr<Vector>(
          Vector{Sample{Labels(), ScalarBinop(b.op, v[0][0].f, v[1][0].f), 0, false}});
    });
  }
  if (lt == ValueType::kVector && rt == ValueType::kVector) {
    const VectorMatching* m = &*b.matching;
    if (b.op == BinaryOp::kAnd || b.op == BinaryOp::kOr || b.op == BinaryOp::kUnless) {
      const BinaryOp op = b.op;
      return RangeEval(args, m, [op](std::vector<Vector>& v, const auto& sigs, int64_t) {
        Vector out;
        const Vector& lhs = v[0];
        const Vector& rhs = v[1];
        if (op == BinaryOp::kAnd) {
          if (lhs.empty() || rhs.empty()) return absl::StatusOr<Vector>(std::move(out));
          absl::flat_hash_set<int> right(sigs[1].begin(), sigs[1].end());
          for (size_t i = 0; i < lhs.size(); ++i) {
            if (right.contains(sigs[0][i])) out.push_back(lhs[i]);
          }
        } else if (op == BinaryOp::kOr) {
          absl::flat_hash_set<int> left(sigs[0].begin(), sigs[0].end());
          out = lhs;
          for (size_t i = 0; i < rhs.size(); ++i) {
            if (!left.contains(sigs[1][i])) out.push_back(rhs[i]);
          }
        } else {
          absl::flat_hash_set<int> right(sigs[1].begin(), sigs[1].end());
          for (size_t i = 0; i < lhs.size(); ++i) {
            if (!right.contains(sigs[0][i])) out.push_back(lhs[i]);
          }
        }
        return absl::StatusOr<Vector>(std::move(out));
      });
    }
    ResultMetricCache cache;
    return RangeEval(args, m, [&](std::vector<Vector>& v, const auto& sigs, int64_t) {
      return VectorBinop(b, v[0], v[1], sigs[0], sigs[1], cache);
    });
  }
  // Vector-scalar.
  const bool swap = lt == ValueType::kScalar;
  return RangeEval(args, nullptr, [&, swap, delayed_removal](std::vector<Vector>& v, const auto&,
                                                             int64_t) {
    const Vector& vec = swap ? v[1] : v[0];
    const double scalar = swap ? v[0][0].f : v[1][0].f;
    Vector out;
    for (const Sample& s : vec) {
      double l = s.f, r = scalar;
      if (swap) std::swap(l, r);
      auto [value, keep] = ElemBinop(b.op, l, r);
      if (IsComparisonOp(b.op) && swap) value = r;
      if (b.return_bool) {
        value = keep ? 1.0 : 0.0;
        keep = true;
      }
      if (!keep) continue;
      Sample o = s;
      o.f = value;
      if (ChangesMetricSchema(b.op) || b.return_bool) {
        if (!delayed_removal) o.metric = ctx_->DropMetadataCached(o.metric);
        o.drop_name = true;
      }
      out.push_back(std::move(o));
    }
    return absl::StatusOr<Vector>(std::move(out));
  });
}

// ---------------------------------------------------------------------------------------
// Aggregations.

struct Group {
  bool seen = false;
  double value = 0;
  double mean = 0;
  double kahan_c = 0;
  double count = 0;
  bool incremental_mean = false;
  bool drop_name = false;
  std::vector<double> values;  // quantile
};

absl::StatusOr<Matrix> Evaluator::EvalAggregate(const AggregateExpr& a) {
  std::vector<std::string> grouping = a.grouping;
  std::sort(grouping.begin(), grouping.end());

  if (a.op == AggregateOp::kCountValues) {
    const std::string& value_label = Unparen(*a.param).As<StringLiteral>().value;
    if (!IsValidLabelName(value_label)) {
      return ExecError(absl::StrCat("invalid label name ", GoQuote(value_label)));
    }
    if (!a.without) {
      grouping.push_back(value_label);
      std::sort(grouping.begin(), grouping.end());
    }
    std::vector<const Expr*> args{a.expr.get()};
    const bool without = a.without;
    return RangeEval(args, nullptr, [=](std::vector<Vector>& v, const auto&, int64_t) {
      absl::flat_hash_map<Labels, size_t> index;
      Vector out;
      for (const Sample& s : v[0]) {
        LabelsBuilder b(s.metric);
        b.Set(value_label, internal::FormatFloatF(s.f));
        Labels metric = b.Labels();
        LabelsBuilder g(metric);
        if (without) {
          for (const auto& n : grouping) g.Del(n);
          g.Del(kMetricName);
        } else {
          std::vector<std::string_view> keep(grouping.begin(), grouping.end());
          g.Keep(std::span<const std::string_view>(keep));
        }
        Labels key = g.Labels();
        auto [it, inserted] = index.emplace(key, out.size());
        if (inserted) {
          out.push_back(Sample{key, 1, 0, false});
        } else {
          out[it->second].f += 1;
        }
      }
      return absl::StatusOr<Vector>(std::move(out));
    });
  }

  // Parameter for topk/bottomk/limitk/limit_ratio/quantile, per step.
  std::vector<double> params;
  if (a.param != nullptr) {
    PHAROS_ASSIGN_OR_RETURN(Matrix pm, EvalMatrix(*a.param));
    for (int i = 0; i < NumSteps(); ++i) {
      params.push_back(!pm.empty() && i < static_cast<int>(pm[0].floats.size())
                           ? pm[0].floats[i].f
                           : kNaN);
    }
  }
  const int64_t original = ctx_->current_samples;
  PHAROS_ASSIGN_OR_RETURN(Matrix input, EvalMatrix(*a.expr));

  // Groups.
  std::vector<size_t> series_to_group(input.size());
  std::vector<Labels> group_labels;
  {
    absl::flat_hash_map<Labels, size_t> index;
    std::vector<std::string_view> keep(grouping.begin(), grouping.end());
    for (size_t i = 0; i < input.size(); ++i) {
      LabelsBuilder g(input[i].metric);
      if (a.without) {
        for (const auto& n : grouping) g.Del(n);
        g.Del(kMetricName);
      } else if (!grouping.empty()) {
        g.Keep(std::span<const std::string_view>(keep));
      } else {
        g.Reset(Labels());
      }
      Labels key = g.Labels();
      auto [it, inserted] = index.emplace(key, group_labels.size());
      if (inserted) group_labels.push_back(key);
      series_to_group[i] = it->second;
    }
  }

  const AggregateOp op = a.op;
  if (op == AggregateOp::kTopK || op == AggregateOp::kBottomK || op == AggregateOp::kLimitK ||
      op == AggregateOp::kLimitRatio) {
    return EvalAggregateK(a, std::move(input), params, series_to_group, group_labels.size());
  }
  if (op == AggregateOp::kQuantile && !params.empty()) {
    double mx = -std::numeric_limits<double>::infinity();
    double mn = std::numeric_limits<double>::infinity();
    bool any_nan = false;
    for (double p : params) {
      if (std::isnan(p)) {
        any_nan = true;
        continue;
      }
      mx = std::max(mx, p);
      mn = std::min(mn, p);
    }
    auto warn = [&](double q) {
      ctx_->Warn(absl::StrCat("quantile value should be between 0 and 1, got ",
                              internal::FormatFloatG(q)),
                 a.param->pos);
    };
    if (any_nan) warn(kNaN);
    if (mx > 1) warn(mx);
    if (mn < 0) warn(mn);
  }

  std::vector<MSeries> result(group_labels.size());
  for (size_t i = 0; i < group_labels.size(); ++i) result[i].metric = group_labels[i];
  std::vector<Group> groups(group_labels.size());
  std::vector<size_t> cursor(input.size(), 0);
  int step = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    for (Group& g : groups) g.seen = false;
    for (size_t si = 0; si < input.size(); ++si) {
      const MSeries& s = input[si];
      size_t& c = cursor[si];
      if (c >= s.floats.size() || s.floats[c].t != ts) continue;
      const double f = s.floats[c].f;
      ++c;
      Group& g = groups[series_to_group[si]];
      if (!g.seen) {
        g = Group();
        g.seen = true;
        g.value = f;
        g.mean = f;
        g.count = 1;
        g.drop_name = s.drop_name;
        switch (op) {
          case AggregateOp::kStddev:
          case AggregateOp::kStdvar:
            g.value = (std::isnan(f) || std::isinf(f)) ? kNaN : 0;
            break;
          case AggregateOp::kQuantile:
            g.values.push_back(f);
            break;
          case AggregateOp::kGroup:
            g.value = 1;
            break;
          default:
            break;
        }
        continue;
      }
      if (s.drop_name) g.drop_name = true;
      switch (op) {
        case AggregateOp::kSum:
          internal::KahanInc(f, g.value, g.kahan_c);
          break;
        case AggregateOp::kAvg: {
          g.count++;
          if (!g.incremental_mean) {
            double nv = g.value, nc = g.kahan_c;
            internal::KahanInc(f, nv, nc);
            if (!std::isinf(nv)) {
              g.value = nv;
              g.kahan_c = nc;
              break;
            }
            g.incremental_mean = true;
            g.mean = g.value / (g.count - 1);
            g.kahan_c /= g.count - 1;
          }
          double q = (g.count - 1) / g.count;
          double mean = q * g.mean, c2 = q * g.kahan_c;
          internal::KahanInc(f / g.count, mean, c2);
          g.mean = mean;
          g.kahan_c = c2;
          break;
        }
        case AggregateOp::kGroup:
          break;
        case AggregateOp::kMax:
          if (g.value < f || std::isnan(g.value)) g.value = f;
          break;
        case AggregateOp::kMin:
          if (g.value > f || std::isnan(g.value)) g.value = f;
          break;
        case AggregateOp::kCount:
          g.count++;
          break;
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar: {
          g.count++;
          double delta = f - g.mean;
          g.mean += delta / g.count;
          g.value += delta * (f - g.mean);
          break;
        }
        case AggregateOp::kQuantile:
          g.values.push_back(f);
          break;
        default:
          break;
      }
    }
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      Group& g = groups[gi];
      if (!g.seen) continue;
      double v = g.value;
      switch (op) {
        case AggregateOp::kAvg:
          v = g.incremental_mean ? g.mean + g.kahan_c : g.value / g.count + g.kahan_c / g.count;
          break;
        case AggregateOp::kCount:
          v = g.count;
          break;
        case AggregateOp::kStdvar:
          v = g.value / g.count;
          break;
        case AggregateOp::kStddev:
          v = std::sqrt(g.value / g.count);
          break;
        case AggregateOp::kQuantile:
          v = internal::Quantile(params[step], g.values);
          break;
        case AggregateOp::kSum:
          v = g.value + g.kahan_c;
          break;
        default:
          break;
      }
      result[gi].floats.push_back(FPoint{ts, v});
      result[gi].drop_name = g.drop_name;
      PHAROS_RETURN_IF_ERROR(AddSamples(1));
    }
  }
  Matrix out;
  int64_t total = 0;
  for (MSeries& s : result) {
    if (s.floats.empty()) continue;
    total += static_cast<int64_t>(s.floats.size());
    out.push_back(std::move(s));
  }
  ctx_->current_samples = original + total;
  return out;
}

absl::StatusOr<Matrix> Evaluator::EvalAggregateK(const AggregateExpr& a, Matrix input,
                                                 const std::vector<double>& params,
                                                 const std::vector<size_t>& series_to_group,
                                                 size_t num_groups) {
  const AggregateOp op = a.op;
  double pmax = -std::numeric_limits<double>::infinity();
  double pmin = std::numeric_limits<double>::infinity();
  bool any_nan = false;
  for (double p : params) {
    if (std::isnan(p)) {
      any_nan = true;
    } else {
      pmax = std::max(pmax, p);
      pmin = std::min(pmin, p);
    }
  }
  if (op == AggregateOp::kLimitRatio) {
    if (!any_nan && pmax == 0 && pmin == 0) return Matrix{};
    if (any_nan) return ExecError("Ratio value is NaN");
    if (pmax > 1.0) {
      ctx_->Warn(absl::StrCat("ratio value should be between -1 and 1, got ",
                              internal::FormatFloatG(pmax), ", capping to 1"),
                 a.param->pos);
    }
    if (pmin < -1.0) {
      ctx_->Warn(absl::StrCat("ratio value should be between -1 and 1, got ",
                              internal::FormatFloatG(pmin), ", capping to -1"),
                 a.param->pos);
    }
  } else {
    if (!any_nan && pmax < 1) return Matrix{};
    if (any_nan) return ExecError("Parameter value is NaN");
    if (pmin <= -9.223372036854775808e18) {
      return ExecError(absl::StrCat("Scalar value ", internal::FormatFloatG(pmin),
                                    " underflows int64"));
    }
    if (pmax >= 9.223372036854775807e18) {
      return ExecError(absl::StrCat("Scalar value ", internal::FormatFloatG(pmax),
                                    " overflows int64"));
    }
  }

  struct Entry {
    size_t series;
    double f;
  };
  Matrix out;
  absl::flat_hash_map<Labels, size_t> index;
  std::vector<size_t> cursor(input.size(), 0);
  int step = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    const double fparam = params.empty() ? kNaN : params[step];
    std::vector<std::vector<Entry>> groups(num_groups);
    std::vector<bool> seen(num_groups, false);
    for (size_t si = 0; si < input.size(); ++si) {
      const MSeries& s = input[si];
      size_t& c = cursor[si];
      if (c >= s.floats.size() || s.floats[c].t != ts) continue;
      double f = s.floats[c].f;
      ++c;
      groups[series_to_group[si]].push_back(Entry{si, f});
      seen[series_to_group[si]] = true;
    }
    int64_t k = 0;
    double ratio = 0;
    if (op == AggregateOp::kLimitRatio) {
      ratio = std::clamp(fparam, -1.0, 1.0);
      if (fparam == 0) continue;
    } else {
      k = std::min<int64_t>(static_cast<int64_t>(fparam), static_cast<int64_t>(input.size()));
      if (k < 1) continue;
    }
    std::vector<Entry> selected;
    for (size_t gi = 0; gi < num_groups; ++gi) {
      std::vector<Entry>& g = groups[gi];
      if (g.empty()) continue;
      std::vector<Entry> picked;
      switch (op) {
        case AggregateOp::kTopK:
        case AggregateOp::kBottomK: {
          const bool top = op == AggregateOp::kTopK;
          // Order: best first; NaN last; ties keep input order.
          std::stable_sort(g.begin(), g.end(), [top](const Entry& x, const Entry& y) {
            if (std::isnan(x.f)) return false;
            if (std::isnan(y.f)) return true;
            return top ? x.f > y.f : x.f < y.f;
          });
          for (int64_t i = 0; i < k && i < static_cast<int64_t>(g.size()); ++i) {
            picked.push_back(g[i]);
          }
          break;
        }
        case AggregateOp::kLimitK:
          for (int64_t i = 0; i < k && i < static_cast<int64_t>(g.size()); ++i) {
            picked.push_back(g[i]);
          }
          break;
        case AggregateOp::kLimitRatio:
          for (const Entry& e : g) {
            double offset = static_cast<double>(input[e.series].metric.Hash()) /
                            static_cast<double>(std::numeric_limits<uint64_t>::max());
            bool add = ratio >= 0 ? offset < ratio : offset >= 1 + ratio;
            if (add) picked.push_back(e);
          }
          break;
        default:
          break;
      }
      selected.insert(selected.end(), picked.begin(), picked.end());
    }
    for (const Entry& e : selected) {
      const MSeries& s = input[e.series];
      auto [it, inserted] = index.emplace(s.metric, out.size());
      if (inserted) out.push_back(MSeries{s.metric, {}, s.drop_name});
      out[it->second].floats.push_back(FPoint{ts, e.f});
      PHAROS_RETURN_IF_ERROR(AddSamples(1));
    }
  }
  return out;
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
