// Function calls: range-vector functions (series at a time), label_replace/label_join,
// info(), histogram_quantile(s)/histogram_fraction over classic buckets and the per-step
// instant-vector functions.

#include "query/engine/internal/evaluator.h"

namespace pharos::promql::internal {
namespace {

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

}  // namespace

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
  // For rate/increase: resets_upto[i] = counter resets among points 1..i of the series, so a
  // step knows in O(1) whether its window needs the reset scan (windows rarely do).
  const bool track_resets = is_rate && !anchored && !smoothed;
  std::vector<uint32_t> resets_upto;
  // Slides the window of one series across all steps.
  auto process = [&](const Labels& labels, const std::vector<FPoint>& pts,
                     bool src_drop_name) -> absl::Status {
    PHAROS_RETURN_IF_ERROR(ctx_->CheckDeadline());
    MSeries out;
    out.drop_name = !keeps_name || src_drop_name;
    out.metric = (!keeps_name && !delayed()) ? DropMetadata(labels) : labels;
    if (track_resets) {
      resets_upto.resize(pts.size());
      uint32_t n = 0;
      for (size_t i = 0; i < pts.size(); ++i) {
        if (i > 0 && pts[i].f < pts[i - 1].f) ++n;
        resets_upto[i] = n;
      }
    }
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
      if (track_resets) rc.has_reset = resets_upto[hi - 1] != resets_upto[lo] ? 1 : 0;
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
  // As Prometheus: series that now share a label set are merged (an error only if they
  // have points at the same time), with or without delayed name removal.
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
  // As Prometheus: series that now share a label set are merged (an error only if they
  // have points at the same time), with or without delayed name removal.
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
    // Element-wise math: series at a time, no per-step vectors.
    PHAROS_ASSIGN_OR_RETURN(Matrix mat, EvalMatrix(*call.args[0]));
    for (MSeries& s : mat) {
      if (!delayed_removal) s.metric = ctx_->DropMetadataCached(s.metric);
      s.drop_name = true;
      for (FPoint& p : s.floats) p.f = f(p.f);
    }
    if (!delayed_removal) return MergeSameLabelset(std::move(mat));
    return mat;
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

}  // namespace pharos::promql::internal
