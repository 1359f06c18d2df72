#include "query/parser/functions.h"

#include <algorithm>
#include <array>

namespace pharos::promql {
namespace {

constexpr ValueType kV = ValueType::kVector;
constexpr ValueType kS = ValueType::kScalar;
constexpr ValueType kM = ValueType::kMatrix;
constexpr ValueType kStr = ValueType::kString;

// Sorted by name on first use (binary search in LookupFunction).
const std::vector<Function>& Table() {
  // Leaked on purpose: no non-trivial static destructors (STYLE.md).
  static auto* const kTable = new std::vector<Function>{
      {"abs", {kV}, 0, kV, false, false},
      {"absent", {kV}, 0, kV, false, false},
      {"absent_over_time", {kM}, 0, kV, false, false},
      {"acos", {kV}, 0, kV, false, false},
      {"acosh", {kV}, 0, kV, false, false},
      {"asin", {kV}, 0, kV, false, false},
      {"asinh", {kV}, 0, kV, false, false},
      {"atan", {kV}, 0, kV, false, false},
      {"atanh", {kV}, 0, kV, false, false},
      {"avg_over_time", {kM}, 0, kV, false, false},
      {"ceil", {kV}, 0, kV, false, false},
      {"changes", {kM}, 0, kV, false, false},
      {"clamp", {kV, kS, kS}, 0, kV, false, false},
      {"clamp_max", {kV, kS}, 0, kV, false, false},
      {"clamp_min", {kV, kS}, 0, kV, false, false},
      {"cos", {kV}, 0, kV, false, false},
      {"cosh", {kV}, 0, kV, false, false},
      {"count_over_time", {kM}, 0, kV, false, false},
      {"day_of_month", {kV}, 1, kV, false, false},
      {"day_of_week", {kV}, 1, kV, false, false},
      {"day_of_year", {kV}, 1, kV, false, false},
      {"days_in_month", {kV}, 1, kV, false, false},
      {"deg", {kV}, 0, kV, false, false},
      {"delta", {kM}, 0, kV, false, false},
      {"deriv", {kM}, 0, kV, false, false},
      {"double_exponential_smoothing", {kM, kS, kS}, 0, kV, true, false},
      {"end", {}, 0, kS, true, false},
      {"exp", {kV}, 0, kV, false, false},
      {"first_over_time", {kM}, 0, kV, true, false},
      {"floor", {kV}, 0, kV, false, false},
      {"histogram_avg", {kV}, 0, kV, false, true},
      {"histogram_count", {kV}, 0, kV, false, true},
      {"histogram_fraction", {kS, kS, kV}, 0, kV, false, true},
      {"histogram_quantile", {kS, kV}, 0, kV, false, true},
      {"histogram_quantiles", {kV, kStr, kS, kS}, 9, kV, true, true},
      {"histogram_stddev", {kV}, 0, kV, false, true},
      {"histogram_stdvar", {kV}, 0, kV, false, true},
      {"histogram_sum", {kV}, 0, kV, false, true},
      {"hour", {kV}, 1, kV, false, false},
      {"idelta", {kM}, 0, kV, false, false},
      {"increase", {kM}, 0, kV, false, false},
      {"info", {kV, kV}, 1, kV, true, false},
      {"integral", {kM, kS}, 1, kV, true, false},
      {"irate", {kM}, 0, kV, false, false},
      {"label_join", {kV, kStr, kStr, kStr}, -1, kV, false, false},
      {"label_replace", {kV, kStr, kStr, kStr, kStr}, 0, kV, false, false},
      {"last_over_time", {kM}, 0, kV, false, false},
      {"ln", {kV}, 0, kV, false, false},
      {"log10", {kV}, 0, kV, false, false},
      {"log2", {kV}, 0, kV, false, false},
      {"mad_over_time", {kM}, 0, kV, true, false},
      {"max_of", {kS, kS}, 0, kS, true, false},
      {"max_over_time", {kM}, 0, kV, false, false},
      {"min_over_time", {kM}, 0, kV, false, false},
      {"min_of", {kS, kS}, 0, kS, true, false},
      {"minute", {kV}, 1, kV, false, false},
      {"month", {kV}, 1, kV, false, false},
      {"pi", {}, 0, kS, false, false},
      {"predict_linear", {kM, kS}, 0, kV, false, false},
      {"present_over_time", {kM}, 0, kV, false, false},
      {"quantile_over_time", {kS, kM}, 0, kV, false, false},
      {"rad", {kV}, 0, kV, false, false},
      {"range", {}, 0, kS, true, false},
      {"rate", {kM}, 0, kV, false, false},
      {"resets", {kM}, 0, kV, false, false},
      {"round", {kV, kS}, 1, kV, false, false},
      {"scalar", {kV}, 0, kS, false, false},
      {"sgn", {kV}, 0, kV, false, false},
      {"sin", {kV}, 0, kV, false, false},
      {"sinh", {kV}, 0, kV, false, false},
      {"sort", {kV}, 0, kV, false, false},
      {"sort_by_label", {kV, kStr}, -1, kV, true, false},
      {"sort_by_label_desc", {kV, kStr}, -1, kV, true, false},
      {"sort_desc", {kV}, 0, kV, false, false},
      {"sqrt", {kV}, 0, kV, false, false},
      {"start", {}, 0, kS, true, false},
      {"start_timestamp", {kV}, 0, kV, true, false},
      {"stddev_over_time", {kM}, 0, kV, false, false},
      {"stdvar_over_time", {kM}, 0, kV, false, false},
      {"step", {}, 0, kS, true, false},
      {"sum_over_time", {kM}, 0, kV, false, false},
      {"tan", {kV}, 0, kV, false, false},
      {"tanh", {kV}, 0, kV, false, false},
      {"time", {}, 0, kS, false, false},
      {"timestamp", {kV}, 0, kV, false, false},
      {"ts_of_first_over_time", {kM}, 0, kV, true, false},
      {"ts_of_last_over_time", {kM}, 0, kV, true, false},
      {"ts_of_max_over_time", {kM}, 0, kV, true, false},
      {"ts_of_min_over_time", {kM}, 0, kV, true, false},
      {"vector", {kS}, 0, kV, false, false},
      {"year", {kV}, 1, kV, false, false},
  };
  static const bool kSorted = [] {
    std::sort(kTable->begin(), kTable->end(),
              [](const Function& a, const Function& b) { return a.name < b.name; });
    return true;
  }();
  (void)kSorted;
  return *kTable;
}

}  // namespace

const Function* LookupFunction(std::string_view name) {
  const auto& table = Table();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const Function& f, std::string_view n) { return f.name < n; });
  if (it == table.end() || it->name != name) return nullptr;
  return &*it;
}

std::span<const Function> AllFunctions() { return Table(); }

}  // namespace pharos::promql
