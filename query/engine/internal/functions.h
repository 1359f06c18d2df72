#pragma once

// PromQL function kernels on plain arrays (engine-internal): the *_over_time family and
// rate/increase/delta over one window of one series, instant-vector math, and the quantile
// helpers. The evaluator slides windows and calls these per step.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "query/engine/internal/value.h"

namespace pharos::promql::internal {

enum class RangeFn {
  kNone,
  kRate, kIncrease, kDelta, kIrate, kIdelta,
  kAvgOverTime, kSumOverTime, kCountOverTime, kMinOverTime, kMaxOverTime,
  kLastOverTime, kFirstOverTime, kPresentOverTime, kAbsentOverTime, kQuantileOverTime,
  kStddevOverTime, kStdvarOverTime, kMadOverTime, kChanges, kResets, kDeriv,
  kPredictLinear, kDoubleExponentialSmoothing,
  kTsOfFirstOverTime, kTsOfLastOverTime, kTsOfMaxOverTime, kTsOfMinOverTime,
};

// kNone for functions that do not take a range vector.
RangeFn LookupRangeFn(std::string_view name);

struct RangeCall {
  int64_t range_start = 0;  // window is (range_start, range_end]
  int64_t range_end = 0;
  int64_t range_ms = 0;     // the selector's range
  int64_t eval_ts = 0;      // evaluation time of the step
  double arg0 = 0;          // scalar arguments (quantile_over_time's q, predict_linear's t,
  double arg1 = 0;          // double_exponential_smoothing's sf/tf)
  std::vector<double>* scratch = nullptr;  // optional buffer for quantile/mad (reused)
  // Whether the window holds a counter reset (a sample below its predecessor): -1 unknown
  // (look), 0 none, 1 some. Lets rate/increase skip the reset scan on the common window.
  int has_reset = -1;
};

// Computes fn over the (non-empty) window. Returns false if the function yields no value.
bool EvalRangeFn(RangeFn fn, std::span<const FPoint> w, const RangeCall& call, double* out);

// rate/increase/delta/resets/changes over an `anchored` or `smoothed` range selector
// (experimental; Prometheus extendedRate). `w` holds the samples of (range_start - lookback,
// range_end] (anchored) or (range_start - lookback, range_end + lookback] (smoothed).
bool EvalExtendedRangeFn(RangeFn fn, std::span<const FPoint> w, const RangeCall& call,
                         bool smoothed, double* out);

// The points an anchored/smoothed matrix selector returns for (mint, maxt]: the boundary
// values (picked or interpolated) at mint and maxt around the samples strictly inside.
std::vector<FPoint> ExtendFloats(std::span<const FPoint> w, int64_t mint, int64_t maxt,
                                 bool smoothed);

// Value of a `smoothed` instant selector at t from samples of (t - lookback, t + lookback].
bool SmoothedValue(std::span<const FPoint> w, int64_t t, double* out);

// Instant-vector math: returns nullptr for names that are not simple float -> float functions.
using FloatFn = double (*)(double);
FloatFn LookupFloatFn(std::string_view name);

// quantile over values (sorted in place); NaN for empty input or NaN q, -Inf/+Inf for q<0/q>1.
double Quantile(double q, std::vector<double>& values);

struct Bucket {
  double upper_bound;
  double count;
};
// Prometheus bucketQuantile over classic buckets (sorted in place). *forced_monotonic is set
// when counts had to be made monotonic.
double BucketQuantile(double q, std::vector<Bucket>& buckets, bool* forced_monotonic);
// histogram_fraction over classic buckets.
double BucketFraction(double lower, double upper, std::vector<Bucket>& buckets);

// Days-since-epoch calendar helpers for the date functions (UTC).
double DateFunction(std::string_view name, double seconds);

}  // namespace pharos::promql::internal
