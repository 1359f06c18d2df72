#pragma once

// Digest schedules (Receiver::digest, a Pharos extension): "daily HH:MM", "weekly <weekday>
// HH:MM" or "hourly :MM" in an IANA location, DST-correct. Config validation parses them; the
// digest runtime (alerting/am/digest.h) computes the send times.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pharos::alerting::am {

struct DigestSchedule {
  enum class Kind { kHourly, kDaily, kWeekly };
  Kind kind = Kind::kDaily;
  int weekday = 0;  // 0 = Sunday (weekly)
  int hour = 0;     // daily, weekly
  int minute = 0;
  absl::TimeZone tz;
  std::string location;  // as given
  std::string text;      // as given

  // The first scheduled time strictly after `after_ms`.
  int64_t Next(int64_t after_ms) const;
  // The last scheduled time at or before `at_ms`.
  int64_t Prev(int64_t at_ms) const;
  // "daily", "weekly" or "hourly" (the digest group label).
  std::string KindName() const;
};

// Parses a schedule ("daily 09:00", "weekly monday 09:00", "hourly :15"; weekday names in
// English, full or three letters, any case) and loads `location` (IANA name; "" means UTC).
// Errors say what is wrong and show the accepted forms. Config validation calls this too.
absl::StatusOr<DigestSchedule> ParseDigestSchedule(std::string_view schedule,
                                                   std::string_view location = "UTC");

}  // namespace pharos::alerting::am
