#include "alerting/am/timeinterval.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace pharos::alerting::am {
namespace {

int DaysInMonth(const absl::CivilDay& d) {
  const absl::CivilMonth m(d);
  return static_cast<int>(absl::CivilDay(m + 1) - absl::CivilDay(m));
}

int SundayBasedWeekday(const absl::CivilDay& d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::sunday: return 0;
    case absl::Weekday::monday: return 1;
    case absl::Weekday::tuesday: return 2;
    case absl::Weekday::wednesday: return 3;
    case absl::Weekday::thursday: return 4;
    case absl::Weekday::friday: return 5;
    case absl::Weekday::saturday: return 6;
  }
  return 0;
}

}  // namespace

bool Contains(const TimeIntervalSpec& spec, int64_t unix_ms) {
  absl::TimeZone tz = absl::UTCTimeZone();
  if (!spec.location.empty() && spec.location != "UTC") {
    if (!absl::LoadTimeZone(spec.location, &tz)) tz = absl::UTCTimeZone();
  }
  const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixMillis(unix_ms), tz);
  const int minute_of_day = cs.hour() * 60 + cs.minute();
  if (!spec.times.empty()) {
    bool in = std::any_of(spec.times.begin(), spec.times.end(), [&](const TimeRange& r) {
      return minute_of_day >= r.start_minute && minute_of_day < r.end_minute;
    });
    if (!in) return false;
  }
  const absl::CivilDay day(cs);
  if (!spec.days_of_month.empty()) {
    // Negative days count from the end of the month (-1 is the last day). The month length is
    // the calendar's: Alertmanager derives it from elapsed hours, which in a month with a DST
    // change comes out a day short in zones that spring forward; Pharos does not copy that.
    const int dim = DaysInMonth(day);
    bool in = false;
    for (const IntRange& r : spec.days_of_month) {
      int begin = r.begin < 0 ? dim + r.begin + 1 : r.begin;
      int end = r.end < 0 ? dim + r.end + 1 : r.end;
      if (begin > dim) continue;  // e.g. 30:31 in February
      begin = std::clamp(begin, -dim, dim);
      end = std::clamp(end, -dim, dim);
      if (cs.day() >= begin && cs.day() <= end) {
        in = true;
        break;
      }
    }
    if (!in) return false;
  }
  if (!spec.months.empty()) {
    bool in = std::any_of(spec.months.begin(), spec.months.end(), [&](const IntRange& r) {
      return cs.month() >= r.begin && cs.month() <= r.end;
    });
    if (!in) return false;
  }
  if (!spec.weekdays.empty()) {
    const int wd = SundayBasedWeekday(day);
    bool in = std::any_of(spec.weekdays.begin(), spec.weekdays.end(), [&](const IntRange& r) {
      return wd >= r.begin && wd <= r.end;
    });
    if (!in) return false;
  }
  if (!spec.years.empty()) {
    bool in = std::any_of(spec.years.begin(), spec.years.end(), [&](const IntRange& r) {
      return cs.year() >= r.begin && cs.year() <= r.end;
    });
    if (!in) return false;
  }
  return true;
}

bool Contains(const NamedTimeInterval& interval, int64_t unix_ms) {
  return std::any_of(interval.intervals.begin(), interval.intervals.end(),
                     [&](const TimeIntervalSpec& s) { return Contains(s, unix_ms); });
}

absl::StatusOr<bool> AnyActive(const std::vector<NamedTimeInterval>& defs,
                               const std::vector<std::string>& names, int64_t unix_ms) {
  bool active = false;
  for (const std::string& name : names) {
    auto it = std::find_if(defs.begin(), defs.end(),
                           [&](const NamedTimeInterval& d) { return d.name == name; });
    if (it == defs.end()) {
      return absl::NotFoundError(absl::StrCat("time interval \"", name, "\" doesn't exist in config"));
    }
    if (!active && Contains(*it, unix_ms)) active = true;
  }
  return active;
}

absl::StatusOr<bool> MutedAt(const std::vector<NamedTimeInterval>& defs,
                             const std::vector<std::string>& mute,
                             const std::vector<std::string>& active, int64_t unix_ms) {
  auto in_mute = AnyActive(defs, mute, unix_ms);
  if (!in_mute.ok()) return in_mute.status();
  if (*in_mute) return true;
  if (active.empty()) return false;
  auto in_active = AnyActive(defs, active, unix_ms);
  if (!in_active.ok()) return in_active.status();
  return !*in_active;
}

}  // namespace pharos::alerting::am
