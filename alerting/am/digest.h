#pragma once

// Digest receivers (Pharos extension, Receiver::digest): instead of one notification per group
// flush, a digest receiver's alerts are recorded in a persisted buffer, and at each scheduled
// time one notification lists what fired during the period (with how long it lasted) and what
// is still firing. The schedule is "daily HH:MM", "weekly <weekday> HH:MM" or "hourly :MM" in an
// IANA location; times follow DST (a daily 09:00 in Europe/Berlin is 08:00 UTC in winter and
// 07:00 UTC in summer; a time skipped by a DST jump fires when the gap ends, e.g. 02:30 on a
// US spring-forward night fires at 03:00; a repeated time fires once, at its first occurrence).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "alerting/am/digest_schedule.h"
#include "alerting/am/types.h"

namespace pharos::alerting {
class StateStore;
}

namespace pharos::alerting::am {


// What a digest remembers about one alert during a period.
struct DigestRecord {
  Alert alert;                  // labels, annotations, generator_url as last seen
  int64_t first_seen_ms = 0;    // first flush that recorded it in this period
  int64_t last_seen_ms = 0;
  bool resolved = false;        // resolved at its last flush (alert.ends_at_ms is then its end)
};

// The persisted buffer of one digest receiver: records under "digest/<receiver>/a/<fp>", the
// end of the last sent period under "digest/<receiver>/sent". Thread-safe.
class DigestBuffer {
 public:
  static absl::StatusOr<std::unique_ptr<DigestBuffer>> Open(StateStore* store,
                                                            std::string receiver);
  // Records a flush's alerts (firing ones have ends_at 0, resolved ones their end).
  absl::Status Record(const std::vector<Alert>& alerts, int64_t now_ms);
  std::vector<DigestRecord> Records() const;  // in fingerprint order
  // The end of the last period sent, 0 when none.
  int64_t last_sent_ms() const;
  // After the digest for the period ending `period_end_ms` was sent: clears the records that
  // were in it (alerts still firing are recorded again at their group's next flush).
  absl::Status MarkSent(int64_t period_end_ms, const std::vector<DigestRecord>& sent);

 private:
  DigestBuffer(StateStore* store, std::string receiver);
  std::string RecordKey(uint64_t fp) const;
  StateStore* store_;
  std::string receiver_, prefix_;
  mutable absl::Mutex mu_;
  std::vector<DigestRecord> records_ ABSL_GUARDED_BY(mu_);  // sorted by fingerprint
  int64_t last_sent_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

// The synthetic notification for one digest period.
struct DigestNotification {
  std::string group_key;   // digest/<receiver>/<period start, RFC 3339 UTC>
  LabelSet group_labels;   // {digest="daily"}
  // One alert per record: firing ones with ends_at 0, resolved ones with their end. Every alert
  // carries the same `digest_summary` annotation (so templates see it in CommonAnnotations) and
  // a `digest_duration` annotation ("1h30m0s" or "still firing since <time>").
  std::vector<Alert> alerts;
  std::string summary;
};
DigestNotification BuildDigest(const std::string& receiver, const DigestSchedule& schedule,
                               int64_t period_start_ms, int64_t period_end_ms,
                               const std::vector<DigestRecord>& records);

// Go's time.Duration.String() for whole milliseconds ("1h30m0s", "45s", "1.5s").
std::string GoDuration(int64_t ms);

}  // namespace pharos::alerting::am
