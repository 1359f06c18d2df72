#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "common/metrics.h"
#include "server/ingest/internal/numbers.h"

namespace pharos::ingest::internal {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [digits][.digits][(e|E)[+-]digits] with at least one mantissa digit, covering all of s.
bool IsDecimalSyntax(std::string_view s) {
  size_t i = 0, n = s.size();
  size_t mantissa_digits = 0;
  while (i < n && IsDigit(s[i])) ++i, ++mantissa_digits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && IsDigit(s[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < n && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

}  // namespace

bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool neg = false;
  bool has_sign = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    has_sign = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  if (!IsDigit(s[0]) && s[0] != '.') {
    if (EqualsIgnoreCase(s, "inf") || EqualsIgnoreCase(s, "infinity")) {
      *out = neg ? -std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::infinity();
      return true;
    }
    if (!has_sign && EqualsIgnoreCase(s, "nan")) {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    return false;
  }
  if (!IsDecimalSyntax(s)) return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports both overflow and underflow; strtod tells them apart.
    std::string copy(s);
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return false;
  } else if (ec != std::errc() || ptr != s.data() + s.size()) {
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  if (s[0] == '+') {
    s.remove_prefix(1);
    if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

void AppendOpenMetricsFloat(std::string* out, double v) {
  size_t start = out->size();
  AppendFloat(out, v);
  if (std::isnan(v) || std::isinf(v)) return;
  if (out->find_first_of(".e", start) == std::string::npos) out->append(".0");
}

}  // namespace pharos::ingest::internal
