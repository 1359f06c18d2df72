// Evaluator core: helpers, node dispatch, step invariance, selectors, subqueries and the
// per-step combination of argument matrices (Prometheus rangeEval).

#include "query/engine/internal/evaluator.h"

namespace pharos::promql::internal {

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
          PHAROS_ASSIGN_OR_RETURN(out.mat, MergeSameLabelset(std::move(out.mat)));
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

}  // namespace pharos::promql::internal
