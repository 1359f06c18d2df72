#pragma once

// Muting (Alertmanager's types.Muter and types.Marker): inhibition, silences and time
// intervals each decide whether an alert is muted; the marker remembers why, for the API.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/container/flat_hash_map.h"
#include "alerting/am/types.h"

namespace pharos::alerting::am {

class Muter {
 public:
  virtual ~Muter() = default;
  // True when the alert with these labels must not be notified now.
  virtual bool Mutes(const LabelSet& labels) = 0;
};

// Per-alert status shown by the API (active / suppressed, silenced_by, inhibited_by), keyed by
// fingerprint. Thread-safe.
class Marker {
 public:
  void SetSilenced(uint64_t fp, std::vector<std::string> silence_ids);
  void SetInhibited(uint64_t fp, std::vector<std::string> inhibiting_fps);
  // "active" when neither silenced nor inhibited, else "suppressed"; "unprocessed" when the
  // alert was never looked at.
  AlertStatus Status(uint64_t fp) const;
  void Delete(uint64_t fp);

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, AlertStatus> status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pharos::alerting::am
