#include "query/engine/internal/functions.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace pharos::promql::internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Prometheus extrapolatedRate (promql/functions.go) for float samples.
bool ExtrapolatedRate(std::span<const FPoint> w, const RangeCall& c, bool is_counter,
                      bool is_rate, double* out) {
  if (w.size() < 2) return false;
  const size_t n1 = w.size() - 1;
  const int64_t first_t = w[0].t;
  const int64_t last_t = w[n1].t;
  double result = w[n1].f - w[0].f;
  if (is_counter && c.has_reset != 0) {
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i].f < w[i - 1].f) result += w[i - 1].f;
    }
  }
  double duration_to_start = static_cast<double>(first_t - c.range_start) / 1000;
  double duration_to_end = static_cast<double>(c.range_end - last_t) / 1000;
  const double sampled_interval = static_cast<double>(last_t - first_t) / 1000;
  const double avg_between = sampled_interval / static_cast<double>(n1);
  const double threshold = avg_between * 1.1;
  if (duration_to_start >= threshold) duration_to_start = avg_between / 2;
  if (is_counter) {
    double duration_to_zero = duration_to_start;
    if (result > 0 && w[0].f >= 0) duration_to_zero = sampled_interval * (w[0].f / result);
    if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
  }
  if (duration_to_end >= threshold) duration_to_end = avg_between / 2;
  double factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
  if (is_rate) factor /= static_cast<double>(c.range_ms) / 1000;
  *out = result * factor;
  return true;
}

bool InstantValue(std::span<const FPoint> w, bool is_rate, double* out) {
  if (w.size() < 2) return false;
  const FPoint& a = w[w.size() - 2];
  const FPoint& b = w[w.size() - 1];
  int64_t interval = b.t - a.t;
  if (interval == 0) return false;
  double result = b.f;
  if (!is_rate || !(b.f < a.f)) result = b.f - a.f;
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  *out = result;
  return true;
}

void LinearRegression(std::span<const FPoint> w, int64_t intercept_time, double* slope,
                      double* intercept) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0,
         c_x2 = 0;
  const double init_y = w[0].f;
  bool const_y = true;
  for (size_t i = 0; i < w.size(); ++i) {
    if (const_y && i > 0 && w[i].f != init_y) const_y = false;
    n += 1.0;
    double x = static_cast<double>(w[i].t - intercept_time) / 1e3;
    KahanInc(x, sum_x, c_x);
    KahanInc(w[i].f, sum_y, c_y);
    KahanInc(x * w[i].f, sum_xy, c_xy);
    KahanInc(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = kNaN;
      *intercept = kNaN;
      return;
    }
    *slope = 0;
    *intercept = init_y;
    return;
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  *slope = cov_xy / var_x;
  *intercept = sum_y / n - *slope * sum_x / n;
}

double AvgOverTime(std::span<const FPoint> w) {
  double sum = w[0].f, count = 1, mean = 0, kahan_c = 0;
  bool incremental = false;
  for (size_t i = 1; i < w.size(); ++i) {
    count = static_cast<double>(i + 1);
    const double f = w[i].f;
    if (!incremental) {
      double new_sum = sum, new_c = kahan_c;
      KahanInc(f, new_sum, new_c);
      if (!std::isinf(new_sum)) {
        sum = new_sum;
        kahan_c = new_c;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      kahan_c /= (count - 1);
    }
    double q = (count - 1) / count;
    double m = q * mean, cc = q * kahan_c;
    KahanInc(f / count, m, cc);
    mean = m;
    kahan_c = cc;
  }
  if (incremental) return mean + kahan_c;
  return sum / count + kahan_c / count;
}

double Variance(std::span<const FPoint> w) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const FPoint& p : w) {
    count++;
    double delta = p.f - (mean + c_mean);
    KahanInc(delta / count, mean, c_mean);
    KahanInc(delta * (p.f - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

double CalcTrendValue(int i, double tf, double s0, double s1, double b) {
  if (i == 0) return b;
  return tf * (s1 - s0) + (1 - tf) * b;
}

double Sgn(double v) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}
double Deg(double v) { return v * 180 / M_PI; }
double Rad(double v) { return v * M_PI / 180; }
double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Log2(double v) { return std::log2(v); }
double Log10(double v) { return std::log10(v); }
double Sin(double v) { return std::sin(v); }
double Cos(double v) { return std::cos(v); }
double Tan(double v) { return std::tan(v); }
double Asin(double v) { return std::asin(v); }
double Acos(double v) { return std::acos(v); }
double Atan(double v) { return std::atan(v); }
double Sinh(double v) { return std::sinh(v); }
double Cosh(double v) { return std::cosh(v); }
double Tanh(double v) { return std::tanh(v); }
double Asinh(double v) { return std::asinh(v); }
double Acosh(double v) { return std::acosh(v); }
double Atanh(double v) { return std::atanh(v); }

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// sort.Search(n, f[i].T > t) etc. over [0, n).
size_t SearchFirst(std::span<const FPoint> w, size_t n, const std::function<bool(const FPoint&)>& pred) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (pred(w[mid])) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

double Interpolate(const FPoint& p1, const FPoint& p2, int64_t t, bool is_counter) {
  double y1 = p1.f, y2 = p2.f;
  if (is_counter && y2 < y1) y1 = 0;
  return y1 + (y2 - y1) * static_cast<double>(t - p1.t) / static_cast<double>(p2.t - p1.t);
}

double PickLeft(std::span<const FPoint> f, size_t first, int64_t range_start, bool smoothed,
                bool is_counter) {
  if (smoothed && f[first].t < range_start) {
    return Interpolate(f[first], f[first + 1], range_start, is_counter);
  }
  return f[first].f;
}

double PickRight(std::span<const FPoint> f, size_t last, int64_t range_end, bool smoothed,
                 bool is_counter) {
  if (smoothed && last > 0 && f[last].t > range_end) {
    return Interpolate(f[last - 1], f[last], range_end, is_counter);
  }
  return f[last].f;
}

}  // namespace

bool EvalExtendedRangeFn(RangeFn fn, std::span<const FPoint> f, const RangeCall& c,
                         bool smoothed, double* out) {
  if (f.empty()) return false;
  if (fn == RangeFn::kResets || fn == RangeFn::kChanges) {
    // Anchored: start from the last sample at or before the range start.
    if (f.back().t <= c.range_start) return false;
    size_t first = SearchFirst(f, f.size() - 1, [&](const FPoint& p) { return p.t > c.range_start; });
    first = first == 0 ? 0 : first - 1;
    int n = 0;
    for (size_t i = first + 1; i < f.size(); ++i) {
      double prev = f[i - 1].f, cur = f[i].f;
      if (fn == RangeFn::kResets) {
        if (cur < prev) n++;
      } else if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) {
        n++;
      }
    }
    *out = n;
    return true;
  }
  const bool is_counter = fn == RangeFn::kRate || fn == RangeFn::kIncrease;
  const bool is_rate = fn == RangeFn::kRate;
  if (!is_counter && fn != RangeFn::kDelta) return false;
  size_t last = f.size() - 1;
  size_t first = SearchFirst(f, last, [&](const FPoint& p) { return p.t > c.range_start; });
  first = first == 0 ? 0 : first - 1;
  if (smoothed) last = SearchFirst(f, last, [&](const FPoint& p) { return p.t >= c.range_end; });
  if (f[last].t <= c.range_start) return false;
  // Smoothed: no value when every sample lies after the range.
  if (smoothed && f[first].t > c.range_end) return false;
  const double left = PickLeft(f, first, c.range_start, smoothed, is_counter);
  const double right = PickRight(f, last, c.range_end, smoothed, is_counter);
  double result = right - left;
  if (is_counter) {
    int64_t fi = static_cast<int64_t>(first), li = static_cast<int64_t>(last);
    if (f[first].t <= c.range_start) fi++;
    if (f[last].t >= c.range_end) li--;
    double correction = 0, prev = left;
    for (int64_t i = fi; i <= li; ++i) {
      if (f[i].f < prev) correction += prev;
      prev = f[i].f;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (is_rate) result /= static_cast<double>(c.range_ms) / 1000;
  *out = result;
  return true;
}

std::vector<FPoint> ExtendFloats(std::span<const FPoint> f, int64_t mint, int64_t maxt,
                                 bool smoothed) {
  if (f.empty()) return {};
  size_t last = f.size() - 1;
  size_t first = SearchFirst(f, last, [&](const FPoint& p) { return p.t > mint; });
  first = first == 0 ? 0 : first - 1;
  if (smoothed) last = SearchFirst(f, last, [&](const FPoint& p) { return p.t >= maxt; });
  if (f[last].t <= mint) return {};
  const double left = PickLeft(f, first, mint, smoothed, false);
  const double right = PickRight(f, last, maxt, smoothed, false);
  int64_t fi = static_cast<int64_t>(first), li = static_cast<int64_t>(last);
  if (f[first].t <= mint) fi++;
  if (f[last].t >= maxt) li--;
  std::vector<FPoint> out;
  out.push_back(FPoint{mint, left});
  for (int64_t i = fi; i <= li; ++i) out.push_back(f[i]);
  out.push_back(FPoint{maxt, right});
  return out;
}

bool SmoothedValue(std::span<const FPoint> f, int64_t t, double* out) {
  if (f.empty()) return false;
  size_t i = SearchFirst(f, f.size(), [&](const FPoint& p) { return p.t >= t; });
  if (i < f.size() && f[i].t == t) {
    *out = f[i].f;
    return true;
  }
  if (i > 0 && i < f.size()) {
    *out = Interpolate(f[i - 1], f[i], t, false);
    return true;
  }
  if (i > 0) {
    *out = f[i - 1].f;
    return true;
  }
  return false;
}

RangeFn LookupRangeFn(std::string_view name) {
  static const auto* const kMap = new absl::flat_hash_map<std::string, RangeFn>{
      {"rate", RangeFn::kRate},
      {"increase", RangeFn::kIncrease},
      {"delta", RangeFn::kDelta},
      {"irate", RangeFn::kIrate},
      {"idelta", RangeFn::kIdelta},
      {"avg_over_time", RangeFn::kAvgOverTime},
      {"sum_over_time", RangeFn::kSumOverTime},
      {"count_over_time", RangeFn::kCountOverTime},
      {"min_over_time", RangeFn::kMinOverTime},
      {"max_over_time", RangeFn::kMaxOverTime},
      {"last_over_time", RangeFn::kLastOverTime},
      {"first_over_time", RangeFn::kFirstOverTime},
      {"present_over_time", RangeFn::kPresentOverTime},
      {"absent_over_time", RangeFn::kAbsentOverTime},
      {"quantile_over_time", RangeFn::kQuantileOverTime},
      {"stddev_over_time", RangeFn::kStddevOverTime},
      {"stdvar_over_time", RangeFn::kStdvarOverTime},
      {"mad_over_time", RangeFn::kMadOverTime},
      {"changes", RangeFn::kChanges},
      {"resets", RangeFn::kResets},
      {"deriv", RangeFn::kDeriv},
      {"predict_linear", RangeFn::kPredictLinear},
      {"double_exponential_smoothing", RangeFn::kDoubleExponentialSmoothing},
      {"ts_of_first_over_time", RangeFn::kTsOfFirstOverTime},
      {"ts_of_last_over_time", RangeFn::kTsOfLastOverTime},
      {"ts_of_max_over_time", RangeFn::kTsOfMaxOverTime},
      {"ts_of_min_over_time", RangeFn::kTsOfMinOverTime},
  };
  auto it = kMap->find(std::string(name));
  return it == kMap->end() ? RangeFn::kNone : it->second;
}

bool EvalRangeFn(RangeFn fn, std::span<const FPoint> w, const RangeCall& c, double* out) {
  switch (fn) {
    case RangeFn::kNone:
      return false;
    case RangeFn::kRate:
      return ExtrapolatedRate(w, c, true, true, out);
    case RangeFn::kIncrease:
      return ExtrapolatedRate(w, c, true, false, out);
    case RangeFn::kDelta:
      return ExtrapolatedRate(w, c, false, false, out);
    case RangeFn::kIrate:
      return InstantValue(w, true, out);
    case RangeFn::kIdelta:
      return InstantValue(w, false, out);
    case RangeFn::kAvgOverTime:
      *out = AvgOverTime(w);
      return true;
    case RangeFn::kSumOverTime: {
      double sum = 0, cc = 0;
      for (const FPoint& p : w) KahanInc(p.f, sum, cc);
      *out = std::isinf(sum) ? sum : sum + cc;
      return true;
    }
    case RangeFn::kCountOverTime:
      *out = static_cast<double>(w.size());
      return true;
    case RangeFn::kMinOverTime:
    case RangeFn::kMaxOverTime:
    case RangeFn::kTsOfMaxOverTime:
    case RangeFn::kTsOfMinOverTime: {
      double best = w[0].f;
      int64_t best_t = w[0].t;
      for (const FPoint& p : w) {
        bool take;
        switch (fn) {
          case RangeFn::kMaxOverTime:
            take = p.f > best || std::isnan(best);
            break;
          case RangeFn::kMinOverTime:
            take = p.f < best || std::isnan(best);
            break;
          case RangeFn::kTsOfMaxOverTime:
            take = p.f >= best || std::isnan(best);
            break;
          default:
            take = p.f <= best || std::isnan(best);
            break;
        }
        if (take) {
          best = p.f;
          best_t = p.t;
        }
      }
      if (fn == RangeFn::kMaxOverTime || fn == RangeFn::kMinOverTime) {
        *out = best;
      } else {
        *out = static_cast<double>(best_t) / 1000;
      }
      return true;
    }
    case RangeFn::kLastOverTime:
      *out = w.back().f;
      return true;
    case RangeFn::kFirstOverTime:
      *out = w.front().f;
      return true;
    case RangeFn::kTsOfFirstOverTime:
      *out = static_cast<double>(w.front().t) / 1000;
      return true;
    case RangeFn::kTsOfLastOverTime:
      *out = static_cast<double>(w.back().t) / 1000;
      return true;
    case RangeFn::kPresentOverTime:
    case RangeFn::kAbsentOverTime:
      *out = 1;
      return true;
    case RangeFn::kQuantileOverTime: {
      std::vector<double> local;
      std::vector<double>& values = c.scratch != nullptr ? *c.scratch : local;
      values.clear();
      for (const FPoint& p : w) values.push_back(p.f);
      *out = Quantile(c.arg0, values);
      return true;
    }
    case RangeFn::kStddevOverTime:
      *out = std::sqrt(Variance(w));
      return true;
    case RangeFn::kStdvarOverTime:
      *out = Variance(w);
      return true;
    case RangeFn::kMadOverTime: {
      for (const FPoint& p : w) {
        if (std::isnan(p.f)) {
          *out = kNaN;
          return true;
        }
      }
      std::vector<double> local;
      std::vector<double>& values = c.scratch != nullptr ? *c.scratch : local;
      values.clear();
      for (const FPoint& p : w) values.push_back(p.f);
      double median = Quantile(0.5, values);
      values.clear();
      for (const FPoint& p : w) values.push_back(std::fabs(p.f - median));
      *out = Quantile(0.5, values);
      return true;
    }
    case RangeFn::kChanges: {
      int changes = 0;
      for (size_t i = 1; i < w.size(); ++i) {
        double prev = w[i - 1].f, cur = w[i].f;
        if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) changes++;
      }
      *out = changes;
      return true;
    }
    case RangeFn::kResets: {
      int resets = 0;
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i].f < w[i - 1].f) resets++;
      }
      *out = resets;
      return true;
    }
    case RangeFn::kDeriv: {
      if (w.size() < 2) return false;
      double slope, intercept;
      LinearRegression(w, w[0].t, &slope, &intercept);
      *out = slope;
      return true;
    }
    case RangeFn::kPredictLinear: {
      if (w.size() < 2) return false;
      double slope, intercept;
      LinearRegression(w, c.eval_ts, &slope, &intercept);
      *out = slope * c.arg0 + intercept;
      return true;
    }
    case RangeFn::kDoubleExponentialSmoothing: {
      if (w.size() < 2) return false;
      const double sf = c.arg0, tf = c.arg1;
      double s0 = 0, s1 = w[0].f, b = w[1].f - w[0].f;
      for (size_t i = 1; i < w.size(); ++i) {
        double x = sf * w[i].f;
        b = CalcTrendValue(static_cast<int>(i) - 1, tf, s0, s1, b);
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      *out = s1;
      return true;
    }
  }
  return false;
}

FloatFn LookupFloatFn(std::string_view name) {
  static const auto* const kMap = new absl::flat_hash_map<std::string, FloatFn>{
      {"abs", &Abs},     {"ceil", &Ceil},   {"floor", &Floor}, {"exp", &Exp},
      {"sqrt", &Sqrt},   {"ln", &Ln},       {"log2", &Log2},   {"log10", &Log10},
      {"sin", &Sin},     {"cos", &Cos},     {"tan", &Tan},     {"asin", &Asin},
      {"acos", &Acos},   {"atan", &Atan},   {"sinh", &Sinh},   {"cosh", &Cosh},
      {"tanh", &Tanh},   {"asinh", &Asinh}, {"acosh", &Acosh}, {"atanh", &Atanh},
      {"rad", &Rad},     {"deg", &Deg},     {"sgn", &Sgn},
  };
  auto it = kMap->find(std::string(name));
  return it == kMap->end() ? nullptr : it->second;
}

double Quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  // NaN sorts first (Prometheus vectorByValueHeap.Less).
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

namespace {
void SortAndCoalesce(std::vector<Bucket>& buckets) {
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  size_t i = 0;
  Bucket last = buckets[0];
  for (size_t j = 1; j < buckets.size(); ++j) {
    if (buckets[j].upper_bound == last.upper_bound) {
      last.count += buckets[j].count;
    } else {
      buckets[i++] = last;
      last = buckets[j];
    }
  }
  buckets[i++] = last;
  buckets.resize(i);
}

bool EnsureMonotonicAndIgnoreSmallDeltas(std::vector<Bucket>& buckets, double tolerance) {
  bool forced = false;
  double prev = buckets[0].count;
  for (size_t i = 1; i < buckets.size(); ++i) {
    double curr = buckets[i].count;
    if (curr == prev) continue;
    // almost.Equal(prev, curr, tolerance)
    bool almost_equal = false;
    if (!std::isnan(prev) && !std::isnan(curr)) {
      double diff = std::fabs(prev - curr);
      if (diff == 0) {
        almost_equal = true;
      } else {
        constexpr double kMinNormal = 2.2250738585072014e-308;
        double sum = std::fabs(prev) + std::fabs(curr);
        if (prev == 0 || curr == 0 || sum < kMinNormal) {
          almost_equal = diff < tolerance * kMinNormal;
        } else {
          almost_equal = diff / std::min(sum, std::numeric_limits<double>::max()) < tolerance;
        }
      }
    }
    if (almost_equal) {
      buckets[i].count = prev;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  return forced;
}
}  // namespace

double BucketQuantile(double q, std::vector<Bucket>& buckets, bool* forced_monotonic) {
  *forced_monotonic = false;
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (buckets.empty()) return kNaN;
  SortAndCoalesce(buckets);
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return kNaN;
  *forced_monotonic = EnsureMonotonicAndIgnoreSmallDeltas(buckets, 1e-12);
  if (buckets.size() < 2) return kNaN;
  double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t n = buckets.size() - 1;
  size_t b = 0;
  {
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (buckets[mid].count >= rank) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    b = lo;
  }
  if (b == n) return buckets[n - 1].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double bucket_start = 0;
  double bucket_end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

double BucketFraction(double lower, double upper, std::vector<Bucket>& buckets) {
  if (buckets.empty()) return kNaN;
  SortAndCoalesce(buckets);
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return kNaN;
  EnsureMonotonicAndIgnoreSmallDeltas(buckets, 1e-12);
  double total = buckets.back().count;
  if (total == 0 || std::isnan(lower) || std::isnan(upper)) return kNaN;
  if (lower >= upper) return 0;
  double rank = 0, lower_rank = 0, upper_rank = 0;
  bool lower_set = false, upper_set = false;
  for (size_t i = 0; i < buckets.size(); ++i) {
    double b_lower;
    if (i == 0) {
      b_lower = buckets[0].upper_bound > 0 ? 0 : -kInf;
    } else {
      b_lower = buckets[i - 1].upper_bound;
    }
    double b_upper = buckets[i].upper_bound;
    double b_count = buckets[i].count - (i > 0 ? buckets[i - 1].count : 0);
    if (!lower_set && b_lower >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && b_lower >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    // Observations in a bucket of infinite width sit at its infinite end: no interpolation.
    auto rank_at = [&](double x) {
      if (std::isinf(b_upper)) return rank;
      if (std::isinf(b_lower)) return rank + b_count;
      return rank + b_count * (x - b_lower) / (b_upper - b_lower);
    };
    if (!lower_set && b_lower < lower && b_upper > lower) {
      lower_rank = rank_at(lower);
      lower_set = true;
    }
    if (!upper_set && b_lower < upper && b_upper > upper) {
      upper_rank = rank_at(upper);
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    rank += b_count;
  }
  if (!lower_set || lower_rank > total) lower_rank = total;
  if (!upper_set || upper_rank > total) upper_rank = total;
  return (upper_rank - lower_rank) / total;
}

double DateFunction(std::string_view name, double seconds) {
  // Go: time.Unix(int64(f), 0).UTC().
  int64_t secs;
  if (std::isnan(seconds) || seconds >= 9.2e18 || seconds <= -9.2e18) {
    secs = std::numeric_limits<int64_t>::min();
  } else {
    secs = static_cast<int64_t>(seconds);
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (name == "year") return static_cast<double>(y);
  if (name == "month") return m;
  if (name == "day_of_month") return d;
  if (name == "hour") return static_cast<double>(rem / 3600);
  if (name == "minute") return static_cast<double>((rem % 3600) / 60);
  if (name == "day_of_week") {
    int64_t wd = (days + 4) % 7;  // 1970-01-01 was a Thursday
    if (wd < 0) wd += 7;
    return static_cast<double>(wd);
  }
  static constexpr int kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (name == "day_of_year") {
    return kCum[m - 1] + d + ((m > 2 && IsLeap(y)) ? 1 : 0);
  }
  if (name == "days_in_month") {
    return kDays[m - 1] + ((m == 2 && IsLeap(y)) ? 1 : 0);
  }
  return kNaN;
}

}  // namespace pharos::promql::internal
