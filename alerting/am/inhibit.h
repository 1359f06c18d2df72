#pragma once

// Inhibition (Alertmanager's inhibit.Inhibitor): an alert matching a rule's target matchers is
// muted while a firing alert matching the rule's source matchers exists with the same values of
// the `equal` labels (absent counts as ""). An alert matching both sides of a rule is not
// inhibited by itself, nor by another alert that also matches both sides.
//
// The alert store calls Observe() for every alert it stores; the inhibitor keeps, per rule, the
// latest version of each alert matching the rule's source side. Resolved sources (ends_at at or
// before the injected clock's now) stop inhibiting and are dropped by GC().

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "alerting/am/config.h"
#include "alerting/am/mute.h"
#include "alerting/am/types.h"
#include "alerting/clock.h"

namespace pharos::alerting::am {

class Inhibitor final : public Muter {
 public:
  // `marker` and `clock` must outlive the inhibitor; `marker` may be null.
  Inhibitor(std::vector<InhibitRule> rules, Marker* marker, const Clock* clock);

  // Records `alert` as a potential source (thread-safe).
  void Observe(const Alert& alert);
  // Forgets an alert (the store deleted it).
  void Forget(uint64_t fingerprint);

  // True when an inhibit rule mutes `labels`; records the inhibiting alert's fingerprint (hex)
  // in the marker, or clears it.
  bool Mutes(const LabelSet& labels) override;

  // Drops resolved sources; returns how many.
  int GC();

 private:
  struct Rule {
    InhibitRule config;
    std::map<uint64_t, Alert> sources;  // by fingerprint, ordered for deterministic answers
  };
  Marker* const marker_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::vector<Rule> rules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pharos::alerting::am
