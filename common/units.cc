#include "common/units.h"

#include <cctype>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace pharos {

absl::StatusOr<int64_t> ParseDurationMs(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid duration string: \"", Av(s), "\""));
  };
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration string");
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},        {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},               {"s", 1000},
                                    {"ms", 1}};
  size_t next_unit = 0;  // units must appear in decreasing order, each once
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return bad();
    int64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return bad();
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view unit = s.substr(i, j - i);
    i = j;
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].name != unit) ++u;
    if (u == std::size(kUnits)) return bad();
    next_unit = u + 1;
    if (n != 0 && kUnits[u].ms > std::numeric_limits<int64_t>::max() / n) {
      return absl::InvalidArgumentError(absl::StrCat("duration out of range: \"", Av(s), "\""));
    }
    int64_t add = n * kUnits[u].ms;
    if (total > std::numeric_limits<int64_t>::max() - add) {
      return absl::InvalidArgumentError(absl::StrCat("duration out of range: \"", Av(s), "\""));
    }
    total += add;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  auto take = [&](int64_t unit, const char* name) {
    if (ms >= unit) {
      absl::StrAppend(&out, ms / unit, name);
      ms %= unit;
    }
  };
  // Like Prometheus: years and weeks only when they divide evenly.
  const int64_t kDay = 24LL * 3600 * 1000;
  if (ms % (365 * kDay) == 0) take(365 * kDay, "y");
  if (ms % (7 * kDay) == 0) take(7 * kDay, "w");
  take(kDay, "d");
  take(3600LL * 1000, "h");
  take(60LL * 1000, "m");
  take(1000, "s");
  take(1, "ms");
  return out;
}

absl::StatusOr<int64_t> ParseBytes(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid byte size: \"", Av(s), "\""));
  };
  if (s == "0") return 0;
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return bad();
    n = n * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0) return bad();
  std::string_view unit = s.substr(i);
  int shift;
  if (unit == "B") shift = 0;
  else if (unit == "KB" || unit == "KiB") shift = 10;
  else if (unit == "MB" || unit == "MiB") shift = 20;
  else if (unit == "GB" || unit == "GiB") shift = 30;
  else if (unit == "TB" || unit == "TiB") shift = 40;
  else if (unit == "PB" || unit == "PiB") shift = 50;
  else if (unit == "EB" || unit == "EiB") shift = 60;
  else return bad();
  if (shift > 0 && n > (std::numeric_limits<int64_t>::max() >> shift)) return bad();
  return n << shift;
}

namespace {

std::string FormatRfc3339(int64_t ms, bool fixed_millis) {
  if (ms == 0) return fixed_millis ? "0001-01-01T00:00:00.000Z" : "0001-01-01T00:00:00Z";
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (fixed_millis) {
    out += absl::StrFormat(".%03d", frac);
  } else if (frac != 0) {
    std::string f = absl::StrFormat(".%03d", frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += "Z";
  return out;
}

}  // namespace

std::string FormatRfc3339NanoMs(int64_t ms) { return FormatRfc3339(ms, false); }
std::string FormatRfc3339MillisMs(int64_t ms) { return FormatRfc3339(ms, true); }

absl::StatusOr<int64_t> ParseRfc3339Ms(std::string_view s) {
  if (s.substr(0, 10) == "0001-01-01") return 0;  // Go's zero time: "not set"
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, Av(s), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse \"", Av(s), "\" as an RFC 3339 time: ", err));
  }
  return absl::ToUnixMillis(t);
}

}  // namespace pharos
