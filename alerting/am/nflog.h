#pragma once

// The notification log (Alertmanager's nflog): what was last sent, per receiver integration and
// aggregation group, so that the pipeline's dedup stage sends only what changed (or what is due
// again after repeat_interval), and so that a restart neither re-sends nor drops notifications.
// Entries are kept in memory and written through to the StateStore under "nflog/"; they expire
// after `retention` (Alertmanager's --data.retention, default 120h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace pharos::alerting {
class Clock;
class StateStore;
}  // namespace pharos::alerting

namespace pharos::alerting::am {

// Which integration of which receiver (Alertmanager's nflogpb.Receiver).
struct NflogReceiver {
  std::string receiver;     // receiver name
  std::string integration;  // "webhook", "email", ...
  int index = 0;            // position among the receiver's integrations of that type
};

struct NflogEntry {
  std::vector<uint64_t> firing;    // fingerprints of the firing alerts sent, sorted
  std::vector<uint64_t> resolved;  // fingerprints of the resolved alerts sent, sorted
  int64_t timestamp_ms = 0;        // when the notification was sent
  int64_t expires_at_ms = 0;

  // Whether every fingerprint in `fps` was in the firing (resolved) set of this entry.
  bool IsFiringSubset(const std::vector<uint64_t>& fps) const;
  bool IsResolvedSubset(const std::vector<uint64_t>& fps) const;
};

struct NflogOptions {
  StateStore* store = nullptr;  // required
  const Clock* clock = nullptr; // required
  int64_t retention_ms = 120LL * 3600 * 1000;
};

class Nflog {
 public:
  // Loads the persisted entries (expired ones are dropped).
  static absl::StatusOr<std::unique_ptr<Nflog>> Open(const NflogOptions& opts);

  std::optional<NflogEntry> Query(const NflogReceiver& r, std::string_view group_key) const;
  // Records a successful notification at the clock's now; synced before it returns.
  absl::Status Log(const NflogReceiver& r, std::string_view group_key,
                   std::vector<uint64_t> firing, std::vector<uint64_t> resolved);
  // Removes expired entries; returns how many.
  absl::StatusOr<int> GC();
  size_t size() const;

  // The StateStore key of an entry: "nflog/" + escaped parts, safe for any group key.
  static std::string StoreKey(const NflogReceiver& r, std::string_view group_key);

 private:
  explicit Nflog(const NflogOptions& opts) : opts_(opts) {}
  NflogOptions opts_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, NflogEntry> entries_ ABSL_GUARDED_BY(mu_);  // by StoreKey
};

// Percent-escapes everything but [A-Za-z0-9._-] (so '/' in names cannot forge key structure).
std::string EscapeKeyPart(std::string_view s);

}  // namespace pharos::alerting::am
