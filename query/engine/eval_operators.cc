// Binary operators (vector matching, set operators, scalar operands) and aggregations.

#include "query/engine/internal/evaluator.h"

namespace pharos::promql::internal {
namespace {

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

}  // namespace

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
  // Vector-scalar: series at a time (no per-step vectors). A scalar has a value at every
  // step, so the i-th step's value is scalar[i].
  const bool swap = lt == ValueType::kScalar;
  const int64_t original = ctx_->current_samples;
  PHAROS_ASSIGN_OR_RETURN(Matrix lhs_m, EvalMatrix(*b.lhs));
  PHAROS_ASSIGN_OR_RETURN(Matrix rhs_m, EvalMatrix(*b.rhs));
  Matrix& vec = swap ? rhs_m : lhs_m;
  const Matrix& scalar_m = swap ? lhs_m : rhs_m;
  const std::vector<FPoint>* scalar_pts = scalar_m.empty() ? nullptr : &scalar_m[0].floats;
  const bool drops_name = ChangesMetricSchema(b.op) || b.return_bool;
  Matrix out;
  out.reserve(vec.size());
  int64_t total = 0;
  for (MSeries& s : vec) {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    MSeries o;
    o.metric = (drops_name && !delayed_removal) ? ctx_->DropMetadataCached(s.metric) : s.metric;
    o.drop_name = s.drop_name || drops_name;
    o.floats.reserve(s.floats.size());
    for (const FPoint& p : s.floats) {
      const size_t step = static_cast<size_t>((p.t - start_) / interval_);
      const double scalar =
          scalar_pts != nullptr && step < scalar_pts->size() ? (*scalar_pts)[step].f : kNaN;
      double l = p.f, r = scalar;
      if (swap) std::swap(l, r);
      auto [value, keep] = ElemBinop(b.op, l, r);
      if (IsComparisonOp(b.op) && swap) value = r;
      if (b.return_bool) {
        value = keep ? 1.0 : 0.0;
        keep = true;
      }
      if (keep) o.floats.push_back(FPoint{p.t, value});
    }
    if (o.floats.empty()) continue;
    total += static_cast<int64_t>(o.floats.size());
    out.push_back(std::move(o));
  }
  ctx_->current_samples = original + total;
  if (ctx_->current_samples > ctx_->opts->max_samples) return TooManySamples();
  if (!delayed_removal && drops_name) return MergeSameLabelset(std::move(out));
  return out;
}

// ---------------------------------------------------------------------------------------
// Aggregations.


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

}  // namespace pharos::promql::internal
