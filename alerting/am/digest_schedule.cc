#include "alerting/am/digest_schedule.h"

#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace pharos::alerting::am {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

absl::Time ToTime(int64_t ms) { return absl::FromUnixMillis(ms); }
int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

int ToSundayZero(absl::Weekday w) {
  switch (w) {
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

bool ParseHourMinute(absl::string_view s, int* h, int* m) {
  std::vector<absl::string_view> p = absl::StrSplit(s, ':');
  if (p.size() != 2 || p[0].empty() || p[0].size() > 2 || p[1].size() != 2) return false;
  for (absl::string_view x : p) {
    for (char c : x) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(p[0], h) && absl::SimpleAtoi(p[1], m) && *h >= 0 && *h < 24 &&
         *m >= 0 && *m < 60;
}

}  // namespace

std::string DigestSchedule::KindName() const {
  switch (kind) {
    case Kind::kHourly: return "hourly";
    case Kind::kDaily: return "daily";
    case Kind::kWeekly: return "weekly";
  }
  return "daily";
}

absl::StatusOr<DigestSchedule> ParseDigestSchedule(std::string_view schedule,
                                                   std::string_view location) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid digest schedule \"", Av(schedule), "\": ", Av(why),
        " (want \"daily HH:MM\", \"weekly <weekday> HH:MM\" or \"hourly :MM\")"));
  };
  DigestSchedule s;
  s.text = std::string(schedule);
  s.location = location.empty() ? "UTC" : std::string(location);
  std::vector<std::string> f = absl::StrSplit(Av(schedule), ' ', absl::SkipWhitespace());
  if (f.empty()) return bad("empty");
  std::string kind = absl::AsciiStrToLower(f[0]);
  if (kind == "hourly") {
    s.kind = DigestSchedule::Kind::kHourly;
    if (f.size() != 2) return bad("hourly takes one argument, :MM");
    int h = 0;
    if (f[1].size() != 3 || f[1][0] != ':' || !ParseHourMinute("0" + f[1], &h, &s.minute)) {
      return bad("minute must be :00 to :59");
    }
  } else if (kind == "daily") {
    s.kind = DigestSchedule::Kind::kDaily;
    if (f.size() != 2) return bad("daily takes one argument, HH:MM");
    if (!ParseHourMinute(f[1], &s.hour, &s.minute)) return bad("time must be HH:MM, 00:00 to 23:59");
  } else if (kind == "weekly") {
    s.kind = DigestSchedule::Kind::kWeekly;
    if (f.size() != 3) return bad("weekly takes a weekday and HH:MM");
    static const char* kDays[] = {"sunday", "monday", "tuesday", "wednesday",
                                  "thursday", "friday", "saturday"};
    std::string d = absl::AsciiStrToLower(f[1]);
    s.weekday = -1;
    for (int i = 0; i < 7; ++i) {
      if (d == kDays[i] || d == std::string(kDays[i], 3)) s.weekday = i;
    }
    if (s.weekday < 0) return bad(absl::StrCat("unknown weekday \"", f[1], "\""));
    if (!ParseHourMinute(f[2], &s.hour, &s.minute)) return bad("time must be HH:MM, 00:00 to 23:59");
  } else {
    return bad(absl::StrCat("unknown period \"", f[0], "\""));
  }
  if (!absl::LoadTimeZone(s.location, &s.tz)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest location \"", s.location, "\": unknown time zone"));
  }
  return s;
}

int64_t DigestSchedule::Next(int64_t after_ms) const {
  if (kind == Kind::kHourly) {
    // Walk absolute minutes: correct across DST changes and half-hour offsets (a repeated
    // local hour fires twice, a skipped one not at all). At most a day of steps.
    int64_t t = (after_ms >= 0 ? after_ms / kMinuteMs : (after_ms - kMinuteMs + 1) / kMinuteMs) *
                    kMinuteMs + kMinuteMs;
    for (int i = 0; i < 24 * 60; ++i, t += kMinuteMs) {
      if (tz.At(ToTime(t)).cs.minute() == minute) return t;
    }
    return t;
  }
  absl::CivilDay d(tz.At(ToTime(after_ms)).cs);
  for (int i = 0; i < 9; ++i, ++d) {
    if (kind == Kind::kWeekly && ToSundayZero(absl::GetWeekday(d)) != weekday) continue;
    int64_t t = ToMs(absl::FromCivil(
        absl::CivilMinute(d.year(), d.month(), d.day(), hour, minute), tz));
    if (t > after_ms) return t;
  }
  return after_ms + 7 * 24 * 3600 * 1000LL;  // unreachable for valid schedules
}

int64_t DigestSchedule::Prev(int64_t at_ms) const {
  if (kind == Kind::kHourly) {
    int64_t t = (at_ms >= 0 ? at_ms / kMinuteMs : (at_ms - kMinuteMs + 1) / kMinuteMs) * kMinuteMs;
    for (int i = 0; i < 24 * 60; ++i, t -= kMinuteMs) {
      if (tz.At(ToTime(t)).cs.minute() == minute) return t;
    }
    return t;
  }
  absl::CivilDay d(tz.At(ToTime(at_ms)).cs);
  for (int i = 0; i < 9; ++i, --d) {
    if (kind == Kind::kWeekly && ToSundayZero(absl::GetWeekday(d)) != weekday) continue;
    int64_t t = ToMs(absl::FromCivil(
        absl::CivilMinute(d.year(), d.month(), d.day(), hour, minute), tz));
    if (t <= at_ms) return t;
  }
  return at_ms - 7 * 24 * 3600 * 1000LL;
}

}  // namespace pharos::alerting::am
