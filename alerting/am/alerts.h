#pragma once

// The router's alert store (Alertmanager's provider/mem): alerts by fingerprint, merged on
// update, resolve_timeout applied, subscribers told of every stored alert, resolved alerts
// garbage-collected. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/types.h"

namespace pharos {
class Registry;
class Counter;
}  // namespace pharos

namespace pharos::alerting {
class Clock;
}

namespace pharos::alerting::am {

class Marker;

struct AlertStoreOptions {
  const Clock* clock = nullptr;   // required
  Registry* registry = nullptr;   // optional: pharos_alertmanager_alerts{,_received_total,...}
  Marker* marker = nullptr;       // optional: GC'd alerts are removed from it; alerts{state}
  // Applied to alerts put without ends_at (global.resolve_timeout).
  int64_t resolve_timeout_ms = 5 * 60 * 1000;
  // Most alerts held at once; new fingerprints beyond it are rejected (updates still go in).
  // 0: unlimited.
  size_t max_alerts = 100000;
};

class AlertStore {
 public:
  explicit AlertStore(const AlertStoreOptions& opts);
  ~AlertStore();

  // Stores alerts as POST /api/v2/alerts does: updated_at = now; starts_at defaults to now (or
  // ends_at when only that is set); no ends_at: ends_at = now + resolve_timeout, timeout = true.
  // An alert whose fingerprint is already stored with an overlapping active interval is merged
  // with it (earliest starts_at; the newer update wins otherwise, except that an explicit later
  // ends_at beats a timeout). Invalid alerts (no labels, bad label names, ends_at before
  // starts_at) and alerts past max_alerts are skipped; the rest are stored and the error says
  // what was skipped (InvalidArgument, or ResourceExhausted when the limit was hit).
  absl::Status Put(std::vector<Alert> alerts);

  // Called with every stored alert (after merging), synchronously from Put, in put order. A new
  // subscriber is first called with every alert already held (as Alertmanager's Subscribe).
  using Listener = std::function<void(const Alert&)>;
  int Subscribe(Listener fn);
  void Unsubscribe(int id);

  std::vector<Alert> List() const;  // in fingerprint order
  std::optional<Alert> Get(uint64_t fp) const;
  size_t size() const;

  // Deletes alerts resolved at now (and their Marker entries); returns how many. The server
  // calls it every gc_interval (Alertmanager: 30 min).
  int GC();
  static constexpr int64_t kDefaultGcIntervalMs = 30 * 60 * 1000;

  void SetResolveTimeout(int64_t ms);

 private:
  struct Collector;
  AlertStoreOptions opts_;
  // Serializes Put and Subscribe so listeners see alerts in order and a new subscriber misses
  // none. Held while listeners run; never taken by a listener.
  absl::Mutex put_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Alert> alerts_ ABSL_GUARDED_BY(mu_);
  int64_t resolve_timeout_ms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<int, Listener>> listeners_ ABSL_GUARDED_BY(put_mu_);
  int next_listener_ = 1;
  Counter* received_firing_ = nullptr;
  Counter* received_resolved_ = nullptr;
  Counter* invalid_ = nullptr;
  std::shared_ptr<Collector> collector_;
};

// Alertmanager's Alert.Merge: `b` into `a` (either order; the later updated_at wins).
Alert MergeAlerts(const Alert& a, const Alert& b, int64_t now_ms);
// Alertmanager's Alert.Validate (model + label name rules).
absl::Status ValidateAlert(const Alert& a);

}  // namespace pharos::alerting::am
