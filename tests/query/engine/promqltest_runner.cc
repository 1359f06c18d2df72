#include "tests/query/engine/promqltest_runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "query/parser/ast.h"
#include "query/parser/functions.h"
#include "query/parser/parser.h"
#include "query/parser/printer.h"
#include "re2/re2.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::promql::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kStaleNaN = std::bit_cast<double>(storage::kStaleNaNBits);

// ---------------------------------------------------------------------------------------
// MemStorage.

class MemIterator : public storage::SampleIterator {
 public:
  MemIterator(const std::map<int64_t, double>* samples, int64_t mint, int64_t maxt)
      : it_(samples->lower_bound(mint)), end_(samples->upper_bound(maxt)) {}
  bool Next() override {
    if (started_) {
      if (it_ != end_) ++it_;
    }
    started_ = true;
    return it_ != end_;
  }
  bool Seek(int64_t t) override {
    started_ = true;
    while (it_ != end_ && it_->first < t) ++it_;
    return it_ != end_;
  }
  int64_t T() const override { return it_->first; }
  double V() const override { return it_->second; }
  absl::Status Err() const override { return absl::OkStatus(); }

 private:
  std::map<int64_t, double>::const_iterator it_, end_;
  bool started_ = false;
};

class MemSeries : public storage::Series {
 public:
  MemSeries(const Labels& l, const std::map<int64_t, double>* s, int64_t mint, int64_t maxt)
      : labels_(l), samples_(s), mint_(mint), maxt_(maxt) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<storage::SampleIterator> Iterator() const override {
    return std::make_unique<MemIterator>(samples_, mint_, maxt_);
  }

 private:
  Labels labels_;
  const std::map<int64_t, double>* samples_;
  int64_t mint_, maxt_;
};

class MemSeriesSet : public storage::SeriesSet {
 public:
  explicit MemSeriesSet(std::vector<std::unique_ptr<MemSeries>> s) : series_(std::move(s)) {}
  bool Next() override { return ++i_ < static_cast<int64_t>(series_.size()); }
  const storage::Series& At() const override { return *series_[i_]; }
  absl::Status Err() const override { return absl::OkStatus(); }

 private:
  std::vector<std::unique_ptr<MemSeries>> series_;
  int64_t i_ = -1;
};

class MemQuerier : public storage::Querier {
 public:
  MemQuerier(const MemStorage::Data* data, const std::set<Labels>* histograms, bool* touched,
             int64_t mint, int64_t maxt)
      : data_(data), histograms_(histograms), touched_(touched), mint_(mint), maxt_(maxt) {}
  std::unique_ptr<storage::SeriesSet> Select(std::span<const Matcher> matchers,
                                             const storage::SelectHints&) const override {
    for (const Labels& labels : *histograms_) {
      bool ok = true;
      for (const Matcher& m : matchers) ok = ok && m.Matches(labels.Get(m.name()));
      if (ok) *touched_ = true;
    }
    std::vector<std::unique_ptr<MemSeries>> out;
    for (const auto& [labels, samples] : *data_) {
      bool ok = true;
      for (const Matcher& m : matchers) {
        if (!m.Matches(labels.Get(m.name()))) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      auto lo = samples.lower_bound(mint_);
      if (lo == samples.end() || lo->first > maxt_) continue;
      out.push_back(std::make_unique<MemSeries>(labels, &samples, mint_, maxt_));
    }
    return std::make_unique<MemSeriesSet>(std::move(out));
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const Matcher>,
                                                      size_t) const override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view,
                                                       std::span<const Matcher>,
                                                       size_t) const override {
    return std::vector<std::string>{};
  }
  uint64_t EstimateSamples(std::span<const Matcher>) const override { return 0; }

 private:
  const MemStorage::Data* data_;
  const std::set<Labels>* histograms_;
  bool* touched_;
  int64_t mint_, maxt_;
};

// ---------------------------------------------------------------------------------------
// Parsing helpers.

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Prometheus model.ParseDuration (ms s m h d w y; compound; "0").
std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) return std::nullopt;
    int64_t n = std::stoll(std::string(s.substr(i, j - i)));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string_view unit = s.substr(j, k - j);
    int64_t mult;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60'000;
    } else if (unit == "h") {
      mult = 3'600'000;
    } else if (unit == "d") {
      mult = 86'400'000;
    } else if (unit == "w") {
      mult = 7 * 86'400'000LL;
    } else if (unit == "y") {
      mult = 365 * 86'400'000LL;
    } else {
      return std::nullopt;
    }
    total += n * mult;
    i = k;
  }
  return total;
}

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string str(s);
  std::string lower;
  for (char c : str) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string_view l = lower;
  bool neg = false;
  if (l[0] == '+' || l[0] == '-') {
    neg = l[0] == '-';
    l.remove_prefix(1);
  }
  if (l == "inf" || l == "infinity") {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (l == "nan") {
    *out = kNaN;
    return true;
  }
  if (l.find("0x") != std::string_view::npos || l.find("inf") != std::string_view::npos ||
      l.find("nan") != std::string_view::npos) {
    return false;
  }
  char* end = nullptr;
  *out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size();
}

// One slot of a value sequence: nullopt = no sample.
using Slot = std::optional<double>;

// Splits value items by whitespace, keeping {{...}} together.
std::vector<std::string> SplitItems(std::string_view s) {
  std::vector<std::string> items;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    size_t j = i;
    int depth = 0;
    while (j < s.size()) {
      if (s.compare(j, 2, "{{") == 0) {
        depth++;
        j += 2;
        continue;
      }
      if (s.compare(j, 2, "}}") == 0) {
        depth--;
        j += 2;
        continue;
      }
      if (depth == 0 && std::isspace(static_cast<unsigned char>(s[j]))) break;
      ++j;
    }
    items.push_back(std::string(s.substr(i, j - i)));
    i = j;
  }
  return items;
}

// Expands value items; sets *histogram when a native histogram value appears.
bool ExpandValues(std::string_view text, std::vector<Slot>* out, bool* histogram) {
  for (const std::string& item : SplitItems(text)) {
    if (item.find("{{") != std::string::npos) {
      *histogram = true;
      // Count slots: {{H}}xK -> K+1, else 1.
      size_t close = item.rfind("}}");
      std::string tail = item.substr(close + 2);
      int n = 1;
      if (!tail.empty() && tail[0] == 'x') n = std::atoi(tail.c_str() + 1) + 1;
      for (int i = 0; i < n; ++i) out->push_back(std::nullopt);
      continue;
    }
    if (item == "_") {
      out->push_back(std::nullopt);
      continue;
    }
    if (item == "stale") {
      out->push_back(kStaleNaN);
      continue;
    }
    size_t x = item.rfind('x');
    if (x == std::string::npos) {
      double v;
      if (!ParseNumber(item, &v)) return false;
      out->push_back(v);
      continue;
    }
    std::string head = item.substr(0, x);
    std::string times_s = item.substr(x + 1);
    if (times_s.empty() || !std::all_of(times_s.begin(), times_s.end(), ::isdigit)) return false;
    int64_t times = std::stoll(times_s);
    if (head == "_") {
      for (int64_t i = 0; i < times; ++i) out->push_back(std::nullopt);
      continue;
    }
    // A+B or A-B (the operator is a sign not at the start and not after an exponent 'e').
    size_t op = std::string::npos;
    for (size_t i = 1; i < head.size(); ++i) {
      if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') {
        op = i;
        break;
      }
    }
    double a, b = 0;
    if (op == std::string::npos) {
      if (!ParseNumber(head, &a)) return false;
    } else {
      if (!ParseNumber(head.substr(0, op), &a)) return false;
      if (!ParseNumber(head.substr(op + 1), &b)) return false;
      if (head[op] == '-') b = -b;
    }
    for (int64_t i = 0; i <= times; ++i) {
      out->push_back(a);
      a += b;
    }
  }
  return true;
}

// Splits "<series> <values>" and parses the series into labels.
bool ParseSeriesLine(std::string_view line, Labels* labels, std::string* rest) {
  size_t end;
  size_t brace = line.find('{');
  size_t space = line.find_first_of(" \t");
  if (brace != std::string_view::npos && (space == std::string_view::npos || brace < space)) {
    bool in_quote = false;
    char quote = 0;
    end = std::string_view::npos;
    for (size_t i = brace; i < line.size(); ++i) {
      char c = line[i];
      if (in_quote) {
        if (c == '\\') {
          ++i;
          continue;
        }
        if (c == quote) in_quote = false;
        continue;
      }
      if (c == '"' || c == '\'' || c == '`') {
        in_quote = true;
        quote = c;
        continue;
      }
      if (c == '}') {
        end = i + 1;
        break;
      }
    }
    if (end == std::string_view::npos) return false;
  } else {
    end = space == std::string_view::npos ? line.size() : space;
    size_t at = line.substr(0, end).find('@');
    if (at != std::string_view::npos) end = at;
  }
  std::string series(line.substr(0, end));
  *rest = std::string(line.substr(end));
  if (series == "{}") {
    *labels = Labels();
    return true;
  }
  auto matchers = ParseMetricSelector(series);
  if (!matchers.ok()) return false;
  std::vector<Label> ls;
  for (const LabelMatcher& m : *matchers) {
    if (m.type != MatchType::kEqual) return false;
    ls.push_back(Label{m.name, m.value});
  }
  *labels = Labels(std::span<const Label>(ls));
  return true;
}

bool AlmostEqual(double a, double b) {
  const bool sa = std::bit_cast<uint64_t>(a) == storage::kStaleNaNBits;
  const bool sb = std::bit_cast<uint64_t>(b) == storage::kStaleNaNBits;
  if (sa || sb) return sa && sb;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  constexpr double kEps = 1e-6;
  double abs_sum = std::fabs(a) + std::fabs(b);
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEps * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEps;
}

std::string Fmt(double v) {
  if (std::bit_cast<uint64_t>(v) == storage::kStaleNaNBits) return "stale";
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Walks the AST for features the engine does not implement.
bool UsesUnsupportedFeature(const Expr& e) {
  if (e.kind() == ExprKind::kCall) {
    std::string_view n = e.As<Call>().func->name;
    if (n == "start_timestamp") return true;
  }
  for (const Expr* c : Children(e)) {
    if (UsesUnsupportedFeature(*c)) return true;
  }
  return false;
}


// Whether an expression uses a function/feature the extra checks must skip.
bool UsesAnyFunction(const Expr& e, std::initializer_list<std::string_view> names) {
  if (e.kind() == ExprKind::kCall) {
    std::string_view n = e.As<Call>().func->name;
    for (std::string_view x : names) {
      if (n == x) return true;
    }
  }
  for (const Expr* c : Children(e)) {
    if (UsesAnyFunction(*c, names)) return true;
  }
  return false;
}

bool UsesDurationFunctions(const Expr& e);
bool DurationUsesStepOrRange(const DurationExpr* d) { return d != nullptr && !d->IsConstant(); }
bool UsesDurationFunctions(const Expr& e) {
  switch (e.kind()) {
    case ExprKind::kVectorSelector:
      if (DurationUsesStepOrRange(e.As<VectorSelector>().offset_expr.get())) return true;
      break;
    case ExprKind::kMatrixSelector:
      if (DurationUsesStepOrRange(e.As<MatrixSelector>().range_expr.get())) return true;
      break;
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      if (DurationUsesStepOrRange(s.range_expr.get()) ||
          DurationUsesStepOrRange(s.step_expr.get()) ||
          DurationUsesStepOrRange(s.offset_expr.get())) {
        return true;
      }
      break;
    }
    default:
      break;
  }
  for (const Expr* c : Children(e)) {
    if (UsesDurationFunctions(*c)) return true;
  }
  return false;
}

bool UsesAtStartEnd(const Expr& e) {
  if (e.kind() == ExprKind::kVectorSelector) {
    AtKind a = e.As<VectorSelector>().at;
    if (a == AtKind::kStart || a == AtKind::kEnd) return true;
  }
  if (e.kind() == ExprKind::kSubquery) {
    AtKind a = e.As<SubqueryExpr>().at;
    if (a == AtKind::kStart || a == AtKind::kEnd) return true;
  }
  for (const Expr* c : Children(e)) {
    if (UsesAtStartEnd(*c)) return true;
  }
  return false;
}

// Adds `@ t` to every selector and subquery without one.
void AddAt(Expr& e, int64_t t) {
  if (e.kind() == ExprKind::kVectorSelector) {
    auto& vs = e.As<VectorSelector>();
    if (vs.at == AtKind::kNone) {
      vs.at = AtKind::kTimestamp;
      vs.at_timestamp_ms = t;
    }
  }
  if (e.kind() == ExprKind::kSubquery) {
    auto& sq = e.As<SubqueryExpr>();
    if (sq.at == AtKind::kNone) {
      sq.at = AtKind::kTimestamp;
      sq.at_timestamp_ms = t;
    }
    // Selectors inside a subquery are evaluated relative to it: leave them.
    return;
  }
  for (Expr* c : Children(e)) AddAt(*c, t);
}

// Compares two results of the same query; "" if equal.
std::string SameResult(const QueryResult& a, const QueryResult& b) {
  if (a.type != b.type) {
    return absl::StrCat("type ", Av(ResultTypeName(a.type)), " vs ", Av(ResultTypeName(b.type)));
  }
  if (a.type == ResultType::kScalar) {
    return AlmostEqual(a.scalar.v, b.scalar.v)
               ? ""
               : absl::StrCat("scalar ", Fmt(a.scalar.v), " vs ", Fmt(b.scalar.v));
  }
  if (a.type == ResultType::kString) return a.string_value == b.string_value ? "" : "string";
  std::map<Labels, const Series*> m;
  for (const Series& s : a.series) m[s.labels] = &s;
  if (a.series.size() != b.series.size()) {
    return absl::StrCat(a.series.size(), " vs ", b.series.size(), " series");
  }
  for (const Series& s : b.series) {
    auto it = m.find(s.labels);
    if (it == m.end()) return absl::StrCat("series ", s.labels.String(), " missing");
    const Series& o = *it->second;
    if (o.points.size() != s.points.size()) {
      return absl::StrCat(s.labels.String(), ": ", o.points.size(), " vs ", s.points.size(),
                          " points");
    }
    for (size_t i = 0; i < s.points.size(); ++i) {
      if (!AlmostEqual(o.points[i].v, s.points[i].v)) {
        return absl::StrCat(s.labels.String(), ": ", Fmt(o.points[i].v), " vs ",
                            Fmt(s.points[i].v));
      }
    }
  }
  return "";
}

// The range-query check (b): the point at t of a t-1m..t+1m range query equals the instant
// result.
std::string RangeCheck(const Engine& engine, storage::Queryable& storage, const std::string& expr,
                       int64_t t, const QueryResult& instant) {
  auto r = engine.RangeQuery(storage, expr, t - 60000, t + 60000, 60000);
  if (!r.ok()) return absl::StrCat("[range check] error: ", r.status().message());
  std::map<Labels, double> at_t;
  for (const Series& s : r->series) {
    for (const Point& p : s.points) {
      if (p.t == t) at_t[s.labels] = p.v;
    }
  }
  if (instant.type == ResultType::kScalar) {
    auto it = at_t.find(Labels());
    if (it == at_t.end() || !AlmostEqual(it->second, instant.scalar.v)) {
      return "[range check] scalar differs";
    }
    return "";
  }
  if (instant.type != ResultType::kVector) return "";
  if (at_t.size() != instant.series.size()) {
    return absl::StrCat("[range check] ", at_t.size(), " series at t, instant has ",
                        instant.series.size());
  }
  for (const Series& s : instant.series) {
    auto it = at_t.find(s.labels);
    if (it == at_t.end()) return absl::StrCat("[range check] missing ", s.labels.String());
    if (!AlmostEqual(it->second, s.points[0].v)) {
      return absl::StrCat("[range check] ", s.labels.String(), ": ", Fmt(it->second), " vs ",
                          Fmt(s.points[0].v));
    }
  }
  return "";
}

// The @ check (a).
std::string AtCheck(const Engine& engine, storage::Queryable& storage, const Expr& parsed, int64_t t,
                    const QueryResult& instant) {
  ExprPtr copy = Clone(parsed);
  AddAt(*copy, t);
  std::string q = Format(*copy);
  std::vector<int64_t> times;
  if (t == 0) {
    times = {-1000, 0, 1000};
  } else {
    times = {-10 * t, 0, t / 5, t, 10 * t};
  }
  for (int64_t at : times) {
    auto r = engine.InstantQuery(storage, q, at);
    if (!r.ok()) return absl::StrCat("[@ check] ", q, " at ", at, ": ", r.status().message());
    std::string d = SameResult(instant, *r);
    if (!d.empty()) return absl::StrCat("[@ check] ", q, " at ", at, ": ", d);
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// Eval commands.

struct ExpectedSeries {
  Labels labels;
  std::vector<Slot> values;
  int line = 0;
};

struct AnnoExpect {
  std::string type;  // warn, info, no_warn, no_info
  std::string msg;   // empty: any
  bool regex = false;
};

struct EvalCmd {
  int line = 0;
  std::string expr;
  bool range = false;
  int64_t start = 0, end = 0, step = 0;
  bool expect_fail = false;
  std::string fail_msg;
  bool fail_regex = false;
  bool ordered = false;
  std::optional<double> scalar;
  std::optional<std::string> string_value;
  bool has_range_vector_expect = false;
  int64_t rv_start = 0, rv_end = 0, rv_step = 0;
  std::vector<ExpectedSeries> series;
  std::vector<AnnoExpect> annos;
  bool histogram = false;  // {{...}} in expected output
  bool bad = false;        // malformed expectation
  std::string bad_reason;
};

bool MatchText(const AnnoExpect& e, const std::string& text) {
  if (e.msg.empty()) return true;
  if (e.regex) return RE2::FullMatch(text, RE2(e.msg));
  return text == e.msg;
}

std::string CheckAnnotations(const EvalCmd& cmd, const QueryResult& r) {
  for (const char* kind : {"warn", "info"}) {
    const std::vector<std::string>& got = std::string(kind) == "warn" ? r.warnings : r.infos;
    std::vector<const AnnoExpect*> exp;
    bool none = false;
    for (const AnnoExpect& a : cmd.annos) {
      if (a.type == kind) exp.push_back(&a);
      if (a.type == std::string("no_") + kind) none = true;
    }
    if (none && !got.empty()) {
      return absl::StrCat("unexpected ", kind, " annotation: ", got[0]);
    }
    if (exp.empty()) continue;
    for (const AnnoExpect* a : exp) {
      bool found = false;
      for (const std::string& g : got) found = found || MatchText(*a, g);
      if (!found) {
        return absl::StrCat("expected ", kind, " annotation ", a->msg.empty() ? "(any)" : a->msg,
                            got.empty() ? ", got none" : absl::StrCat(", got: ", got[0]));
      }
    }
    bool any_specific = false;
    for (const AnnoExpect* a : exp) any_specific = any_specific || !a->msg.empty();
    if (any_specific) {
      for (const std::string& g : got) {
        bool matched = false;
        for (const AnnoExpect* a : exp) matched = matched || MatchText(*a, g);
        if (!matched) return absl::StrCat("unexpected ", kind, " annotation: ", g);
      }
    }
  }
  return "";
}

std::string LabelsStr(const Labels& l) { return l.empty() ? "{}" : l.String(); }

std::string CompareResult(const EvalCmd& cmd, const QueryResult& r) {
  if (cmd.string_value) {
    if (r.type != ResultType::kString) return "expected a string result";
    if (r.string_value != *cmd.string_value) {
      return absl::StrCat("string: got \"", r.string_value, "\", want \"", *cmd.string_value,
                          "\"");
    }
    return "";
  }
  if (cmd.scalar) {
    if (r.type != ResultType::kScalar) {
      return absl::StrCat("expected scalar ", Fmt(*cmd.scalar), ", got ",
                          Av(ResultTypeName(r.type)));
    }
    if (!AlmostEqual(*cmd.scalar, r.scalar.v)) {
      return absl::StrCat("scalar: got ", Fmt(r.scalar.v), ", want ", Fmt(*cmd.scalar));
    }
    return "";
  }
  if (r.type == ResultType::kScalar) {
    return absl::StrCat("got scalar ", Fmt(r.scalar.v), ", expected a vector");
  }
  if (r.type == ResultType::kString) return "got a string, expected a vector";

  const bool matrix = r.type == ResultType::kMatrix;
  // Index expected by labels.
  std::map<Labels, const ExpectedSeries*> want;
  for (const ExpectedSeries& e : cmd.series) {
    if (!want.emplace(e.labels, &e).second) {
      return absl::StrCat("duplicate expected series ", LabelsStr(e.labels));
    }
  }
  if (!matrix) {
    if (r.series.size() != cmd.series.size()) {
      std::string got;
      for (size_t i = 0; i < r.series.size() && i < 4; ++i) {
        absl::StrAppend(&got, " ", LabelsStr(r.series[i].labels), "=",
                        Fmt(r.series[i].points[0].v));
      }
      return absl::StrCat("got ", r.series.size(), " series, want ", cmd.series.size(), ":",
                          got);
    }
    for (size_t i = 0; i < r.series.size(); ++i) {
      const Series& s = r.series[i];
      auto it = want.find(s.labels);
      if (it == want.end()) return absl::StrCat("unexpected series ", LabelsStr(s.labels));
      const ExpectedSeries& e = *it->second;
      if (cmd.ordered && &cmd.series[i] != &e) {
        return absl::StrCat("order: position ", i, " got ", LabelsStr(s.labels), ", want ",
                            LabelsStr(cmd.series[i].labels));
      }
      if (e.values.size() != 1 || !e.values[0]) {
        return absl::StrCat("expected series ", LabelsStr(e.labels), " must have one value");
      }
      if (!AlmostEqual(*e.values[0], s.points[0].v)) {
        return absl::StrCat(LabelsStr(s.labels), ": got ", Fmt(s.points[0].v), ", want ",
                            Fmt(*e.values[0]));
      }
    }
    return "";
  }
  // Matrix.
  int64_t start = cmd.start, step = cmd.step;
  if (!cmd.range) {
    start = cmd.rv_start;
    step = cmd.rv_step;
  }
  size_t nonempty_expected = 0;
  for (const ExpectedSeries& e : cmd.series) {
    bool any = false;
    for (const Slot& v : e.values) any = any || v.has_value();
    if (any) nonempty_expected++;
  }
  for (const Series& s : r.series) {
    auto it = want.find(s.labels);
    if (it == want.end()) return absl::StrCat("unexpected series ", LabelsStr(s.labels));
    const ExpectedSeries& e = *it->second;
    std::vector<std::pair<int64_t, double>> exp_pts;
    for (size_t i = 0; i < e.values.size(); ++i) {
      if (e.values[i]) exp_pts.push_back({start + static_cast<int64_t>(i) * step, *e.values[i]});
    }
    if (!cmd.range && !cmd.has_range_vector_expect) {
      // Without `expect range vector`, compare values in order.
      if (exp_pts.size() != s.points.size()) {
        return absl::StrCat(LabelsStr(s.labels), ": got ", s.points.size(), " points, want ",
                            exp_pts.size());
      }
      for (size_t i = 0; i < exp_pts.size(); ++i) {
        if (!AlmostEqual(exp_pts[i].second, s.points[i].v)) {
          return absl::StrCat(LabelsStr(s.labels), " point ", i, ": got ", Fmt(s.points[i].v),
                              ", want ", Fmt(exp_pts[i].second));
        }
      }
      continue;
    }
    if (exp_pts.size() != s.points.size()) {
      std::string got;
      for (const Point& p : s.points) absl::StrAppend(&got, " ", Fmt(p.v), "@", p.t);
      return absl::StrCat(LabelsStr(s.labels), ": got ", s.points.size(), " points, want ",
                          exp_pts.size(), ";", got);
    }
    for (size_t i = 0; i < exp_pts.size(); ++i) {
      if (s.points[i].t != exp_pts[i].first || !AlmostEqual(exp_pts[i].second, s.points[i].v)) {
        return absl::StrCat(LabelsStr(s.labels), " point ", i, ": got ", Fmt(s.points[i].v), "@",
                            s.points[i].t, ", want ", Fmt(exp_pts[i].second), "@",
                            exp_pts[i].first);
      }
    }
  }
  if (r.series.size() != nonempty_expected) {
    return absl::StrCat("got ", r.series.size(), " series, want ", nonempty_expected);
  }
  return "";
}

struct Line {
  int number;
  std::string text;  // trimmed; comments turned into ""
};

// Parses the header of an eval command.
bool ParseEvalHeader(const std::string& text, EvalCmd* cmd) {
  std::istringstream in(text);
  std::string word, kind;
  in >> word >> kind;
  if (word == "eval_fail") cmd->expect_fail = true;
  if (word == "eval_warn") cmd->annos.push_back({"warn", "", false});
  if (word == "eval_info") cmd->annos.push_back({"info", "", false});
  if (word == "eval_ordered") cmd->ordered = true;
  auto rest_after = [&](int words) {
    size_t pos = 0;
    for (int i = 0; i < words; ++i) {
      pos = text.find_first_not_of(" \t", pos);
      pos = text.find_first_of(" \t", pos);
      if (pos == std::string::npos) return std::string();
    }
    return Trim(text.substr(pos));
  };
  if (kind == "instant") {
    std::string at, t;
    in >> at >> t;
    auto d = ParseDuration(t);
    if (at != "at" || !d) return false;
    cmd->start = cmd->end = *d;
    cmd->expr = rest_after(4);
    return true;
  }
  if (kind == "range") {
    std::string from, s, to, e, stepw, st;
    in >> from >> s >> to >> e >> stepw >> st;
    auto ds = ParseDuration(s), de = ParseDuration(e), dst = ParseDuration(st);
    if (from != "from" || to != "to" || stepw != "step" || !ds || !de || !dst) return false;
    cmd->range = true;
    cmd->start = *ds;
    cmd->end = *de;
    cmd->step = *dst;
    cmd->expr = rest_after(8);
    return true;
  }
  return false;
}

struct EvalIndexEntry {
  bool nh = false;
  bool start_ts = false;
};

std::map<std::pair<std::string, int>, EvalIndexEntry> LoadEvalIndex(const std::string& path) {
  std::map<std::pair<std::string, int>, EvalIndexEntry> out;
  if (path.empty()) return out;
  std::ifstream in(path);
  std::string l;
  while (std::getline(in, l)) {
    if (l.empty() || l[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(l);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() < 8) continue;
    EvalIndexEntry e;
    e.nh = cols[5] == "1" || cols[6] == "1";
    e.start_ts = cols[7] == "1";
    out[{cols[0], std::atoi(cols[1].c_str())}] = e;
  }
  return out;
}

// Forwards to another querier and tells MemStorage about every Select (histogram tracking).
class NotingQuerier : public storage::Querier {
 public:
  NotingQuerier(std::unique_ptr<storage::Querier> inner, MemStorage* mem)
      : inner_(std::move(inner)), mem_(mem) {}
  std::unique_ptr<storage::SeriesSet> Select(std::span<const Matcher> matchers,
                                             const storage::SelectHints& hints) const override {
    mem_->NoteSelect(matchers);
    return inner_->Select(matchers, hints);
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const Matcher> m,
                                                      size_t limit) const override {
    return inner_->LabelNames(m, limit);
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view name,
                                                       std::span<const Matcher> m,
                                                       size_t limit) const override {
    return inner_->LabelValues(name, m, limit);
  }
  uint64_t EstimateSamples(std::span<const Matcher> m) const override {
    return inner_->EstimateSamples(m);
  }

 private:
  std::unique_ptr<storage::Querier> inner_;
  MemStorage* mem_;
};

// A storage::DB holding a copy of MemStorage's data, rebuilt when the data changed.
class DBBackend : public storage::Queryable {
 public:
  explicit DBBackend(MemStorage* mem) : mem_(mem) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("pharos-promqltest-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter++)))
                .string();
  }
  ~DBBackend() override {
    db_.reset();
    std::filesystem::remove_all(path_);
  }
  absl::Status Sync() {
    if (db_ != nullptr && version_ == mem_->version()) return absl::OkStatus();
    if (db_ != nullptr) {
      auto s = db_->Close();
      db_.reset();
      if (!s.ok()) return s;
    }
    std::filesystem::remove_all(path_);
    storage::DBOptions o;
    o.path = path_;
    o.log = std::make_shared<spdlog::logger>("promqltest",
                                             std::make_shared<spdlog::sinks::null_sink_mt>());
    o.flush_interval_ms = 0;
    o.retention_ms = 0;
    o.future_tolerance_ms = 0;
    auto db = storage::DB::Open(std::move(o));
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    for (const auto& [labels, samples] : mem_->data()) {
      auto app = db_->NewAppender();
      storage::SeriesRef ref = 0;
      for (const auto& [t, v] : samples) {
        auto r = app->Append(ref, labels, t, v);
        if (!r.ok()) {
          return absl::InternalError(absl::StrCat("DB rejected a sample of ", labels.String(),
                                                  ": ", Av(storage::RejectReasonName(r.reject))));
        }
        ref = r.ref;
      }
      auto s = app->Commit();
      if (!s.ok()) return s;
    }
    version_ = mem_->version();
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<storage::Querier>> NewQuerier(int64_t mint,
                                                               int64_t maxt) override {
    auto q = db_->NewQuerier(mint, maxt);
    if (!q.ok()) return q.status();
    return std::unique_ptr<storage::Querier>(std::make_unique<NotingQuerier>(std::move(*q), mem_));
  }

 private:
  MemStorage* mem_;
  std::string path_;
  std::unique_ptr<storage::DB> db_;
  uint64_t version_ = 0;
};

}  // namespace

void MemStorage::NoteSelect(std::span<const Matcher> matchers) {
  for (const Labels& labels : histograms_) {
    bool ok = true;
    for (const Matcher& m : matchers) ok = ok && m.Matches(labels.Get(m.name()));
    if (ok) touched_ = true;
  }
}

absl::StatusOr<std::unique_ptr<storage::Querier>> MemStorage::NewQuerier(int64_t mint,
                                                                         int64_t maxt) {
  return std::unique_ptr<storage::Querier>(
      std::make_unique<MemQuerier>(&data_, &histograms_, &touched_, mint, maxt));
}

EngineOptions ConformanceEngineOptions() {
  EngineOptions o;
  o.lookback_delta_ms = 5 * 60 * 1000;
  o.max_samples = 10000;
  o.timeout_ms = 100 * 1000;
  o.default_subquery_step_ms = 60 * 1000;
  o.enable_delayed_name_removal = true;
  o.enable_experimental_functions = true;
  // Exploration aid: run the scripts with immediate name removal (expect differences in the
  // evals that depend on delayed removal).
  if (std::getenv("PHAROS_PROMQL_IMMEDIATE_NAME_REMOVAL") != nullptr) {
    o.enable_delayed_name_removal = false;
  }
  return o;
}

absl::StatusOr<FileSummary> RunTestFile(const std::string& path, const RunnerOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const std::string base = std::filesystem::path(path).filename().string();
  const auto index = LoadEvalIndex(options.eval_index_path);

  std::vector<Line> lines;
  {
    std::string l;
    int n = 0;
    while (std::getline(in, l)) {
      ++n;
      std::string t = Trim(l);
      if (!t.empty() && t[0] == '#') t.clear();
      lines.push_back({n, t});
    }
  }

  FileSummary summary;
  summary.file = base;
  MemStorage storage;
  std::unique_ptr<DBBackend> db;
  if (options.backend == Backend::kDB) db = std::make_unique<DBBackend>(&storage);
  storage::Queryable& queryable = db != nullptr ? static_cast<storage::Queryable&>(*db)
                                                : static_cast<storage::Queryable&>(storage);
  Engine engine(ConformanceEngineOptions());

  size_t i = 0;
  while (i < lines.size()) {
    const Line& hl = lines[i];
    if (hl.text.empty()) {
      ++i;
      continue;
    }
    std::string word = hl.text.substr(0, hl.text.find_first_of(" \t"));
    std::transform(word.begin(), word.end(), word.begin(), ::tolower);
    if (word == "clear") {
      storage.Clear();
      ++i;
      continue;
    }
    if (word == "load" || word == "load_with_nhcb") {
      std::string step_s = Trim(hl.text.substr(word.size()));
      auto step = ParseDuration(step_s);
      if (!step) return absl::InvalidArgumentError(absl::StrCat(base, ":", hl.number, ": bad load step"));
      ++i;
      std::vector<Labels> block;
      while (i < lines.size() && !lines[i].text.empty()) {
        const Line& l = lines[i++];
        Labels labels;
        std::string rest;
        if (!ParseSeriesLine(l.text, &labels, &rest)) {
          return absl::InvalidArgumentError(
              absl::StrCat(base, ":", l.number, ": bad series line: ", l.text));
        }
        // Start-timestamp lines (`metric{...}@st ...`) are not supported: skip them.
        if (!rest.empty() && rest[0] == '@') continue;
        std::vector<Slot> values;
        bool hist = false;
        if (!ExpandValues(rest, &values, &hist)) {
          return absl::InvalidArgumentError(
              absl::StrCat(base, ":", l.number, ": bad values: ", rest));
        }
        for (size_t k = 0; k < values.size(); ++k) {
          if (values[k]) storage.Add(labels, static_cast<int64_t>(k) * *step, *values[k]);
        }
        if (hist) storage.MarkHistogram(labels);
        block.push_back(labels);
      }
      if (word == "load_with_nhcb") {
        // The classic histograms of the block also become native histograms (schema -53)
        // under the base name: mark those series.
        for (const Labels& l : block) {
          std::string_view name = l.MetricName();
          for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
            if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
              LabelsBuilder b(l);
              b.Set(kMetricName, name.substr(0, name.size() - suffix.size()));
              b.Del("le");
              storage.MarkHistogram(b.Labels());
            }
          }
        }
      }
      continue;
    }
    if (word.rfind("eval", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(base, ":", hl.number, ": unknown command: ", hl.text));
    }
    EvalCmd cmd;
    cmd.line = hl.number;
    if (!ParseEvalHeader(hl.text, &cmd)) {
      return absl::InvalidArgumentError(
          absl::StrCat(base, ":", hl.number, ": bad eval header: ", hl.text));
    }
    ++i;
    while (i < lines.size() && !lines[i].text.empty()) {
      const Line& l = lines[i++];
      const std::string& t = l.text;
      if (t.rfind("expected_fail_message", 0) == 0) {
        cmd.expect_fail = true;
        cmd.fail_msg = Trim(t.substr(21));
        continue;
      }
      if (t.rfind("expected_fail_regexp", 0) == 0) {
        cmd.expect_fail = true;
        cmd.fail_msg = Trim(t.substr(20));
        cmd.fail_regex = true;
        continue;
      }
      if (t.rfind("expect range vector", 0) == 0) {
        std::istringstream ss(t.substr(19));
        std::string from, a, to, b, stepw, s;
        ss >> from >> a >> to >> b >> stepw >> s;
        auto da = ParseDuration(a), db = ParseDuration(b), ds = ParseDuration(s);
        if (!da || !db || !ds) {
          cmd.bad = true;
          cmd.bad_reason = "bad expect range vector";
          continue;
        }
        cmd.has_range_vector_expect = true;
        cmd.rv_start = *da;
        cmd.rv_end = *db;
        cmd.rv_step = *ds;
        continue;
      }
      if (t.rfind("expect string", 0) == 0) {
        std::string v = Trim(t.substr(13));
        if (v.size() >= 2) v = v.substr(1, v.size() - 2);
        cmd.string_value = v;
        continue;
      }
      if (t.rfind("expect ", 0) == 0) {
        std::string rest = Trim(t.substr(7));
        std::string type = rest.substr(0, rest.find_first_of(" \t"));
        std::string after = Trim(rest.substr(type.size()));
        AnnoExpect a;
        a.type = type;
        if (after.rfind("msg:", 0) == 0) {
          a.msg = Trim(after.substr(4));
        } else if (after.rfind("regex:", 0) == 0) {
          a.msg = Trim(after.substr(6));
          a.regex = true;
        }
        if (type == "fail") {
          cmd.expect_fail = true;
          cmd.fail_msg = a.msg;
          cmd.fail_regex = a.regex;
        } else if (type == "ordered") {
          cmd.ordered = true;
        } else {
          cmd.annos.push_back(a);
        }
        continue;
      }
      double num;
      if (ParseNumber(t, &num)) {
        cmd.scalar = num;
        break;  // a scalar line ends the body
      }
      ExpectedSeries es;
      es.line = l.number;
      std::string rest;
      if (!ParseSeriesLine(t, &es.labels, &rest)) {
        cmd.bad = true;
        cmd.bad_reason = absl::StrCat("bad expected series: ", t);
        continue;
      }
      bool hist = false;
      if (!ExpandValues(rest, &es.values, &hist)) {
        cmd.bad = true;
        cmd.bad_reason = absl::StrCat("bad expected values: ", rest);
      }
      if (hist) cmd.histogram = true;
      cmd.series.push_back(std::move(es));
    }

    EvalOutcome out;
    out.file = base;
    out.line = cmd.line;
    out.expr = cmd.expr;
    auto idx = index.find({base, cmd.line});
    bool nh = cmd.histogram;
    bool start_ts = idx != index.end() && idx->second.start_ts;
    storage.ResetTouched();
    ParserOptions popts;
    popts.enable_experimental = true;
    auto parsed = ParseExpr(cmd.expr, popts);
    if (nh) {
      out.status = EvalStatus::kSkippedNativeHistogram;
    } else if (start_ts || (parsed.ok() && UsesUnsupportedFeature(**parsed))) {
      out.status = EvalStatus::kSkippedExperimental;
    } else if (cmd.bad) {
      out.status = EvalStatus::kFailed;
      out.diff = cmd.bad_reason;
    } else {
      if (db != nullptr) {
        absl::Status st = db->Sync();
        if (!st.ok()) return st;
      }
      absl::StatusOr<QueryResult> r =
          cmd.range ? engine.RangeQuery(queryable, cmd.expr, cmd.start, cmd.end, cmd.step)
                    : engine.InstantQuery(queryable, cmd.expr, cmd.start);
      if (cmd.expect_fail) {
        if (r.ok()) {
          out.status = EvalStatus::kFailed;
          out.diff = "expected the query to fail, it succeeded";
        } else if (!cmd.fail_msg.empty()) {
          std::string got(r.status().message());
          // Errors Prometheus raises in the engine may come from Pharos's parser, with a
          // "1:1: parse error: " position prefix: compare the text after it too.
          std::string bare = got;
          static const RE2 kParsePrefix("^\\d+:\\d+: parse error: ");
          RE2::Replace(&bare, kParsePrefix, "");
          bool ok = cmd.fail_regex ? (RE2::PartialMatch(got, RE2(cmd.fail_msg)) ||
                                      RE2::PartialMatch(bare, RE2(cmd.fail_msg)))
                                   : (got == cmd.fail_msg || bare == cmd.fail_msg);
          out.status = ok ? EvalStatus::kPassed : EvalStatus::kFailed;
          if (!ok) out.diff = absl::StrCat("error \"", got, "\", want \"", cmd.fail_msg, "\"");
        } else {
          out.status = EvalStatus::kPassed;
        }
      } else if (!r.ok()) {
        out.status = EvalStatus::kFailed;
        out.diff = absl::StrCat("error: ", r.status().message());
      } else {
        std::string diff = CompareResult(cmd, *r);
        if (diff.empty()) diff = CheckAnnotations(cmd, *r);
        const bool skip_extra = !parsed.ok() || cmd.range || cmd.ordered ||
                                cmd.string_value.has_value() || cmd.has_range_vector_expect ||
                                UsesAnyFunction(**parsed, {"start", "end", "range", "step"}) ||
                                UsesAtStartEnd(**parsed) || UsesDurationFunctions(**parsed);
        if (diff.empty() && options.range_check && !skip_extra &&
            r->type != ResultType::kMatrix) {
          diff = RangeCheck(engine, queryable, cmd.expr, cmd.start, *r);
          out.range_checked = true;
        }
        if (diff.empty() && options.at_modifier_check && !skip_extra &&
            !UsesAnyFunction(**parsed, {"time", "timestamp", "predict_linear", "days_in_month",
                                        "day_of_month", "day_of_week", "day_of_year", "hour",
                                        "minute", "month", "year"})) {
          diff = AtCheck(engine, queryable, **parsed, cmd.start, *r);
          out.at_checked = true;
        }
        out.status = diff.empty() ? EvalStatus::kPassed : EvalStatus::kFailed;
        out.diff = diff;
      }
    }
    if (storage.TouchedHistogram() && out.status != EvalStatus::kSkippedExperimental) {
      // The query read series whose native histogram samples were not loaded.
      out.status = EvalStatus::kSkippedNativeHistogram;
      out.diff.clear();
    }
    switch (out.status) {
      case EvalStatus::kPassed:
        summary.passed++;
        if (out.range_checked) summary.range_checks++;
        if (out.at_checked) summary.at_checks++;
        break;
      case EvalStatus::kFailed:
        summary.failed++;
        break;
      case EvalStatus::kSkippedNativeHistogram:
        summary.skipped_native_histogram++;
        break;
      case EvalStatus::kSkippedExperimental:
        summary.skipped_experimental++;
        break;
    }
    summary.outcomes.push_back(std::move(out));
  }
  return summary;
}

}  // namespace pharos::promql::testing
