#pragma once

// Alertmanager's silences (silence.Silences) and the Silencer muter. Silences live in memory and
// in the StateStore under "silence/<id>" (JSON), loaded when opened; every change is written
// (synced) before it returns. Times are Unix milliseconds from the injected clock.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/config.h"
#include "alerting/am/mute.h"
#include "alerting/am/types.h"
#include "alerting/clock.h"
#include "alerting/state/state_store.h"

namespace pharos::alerting::am {

enum class SilenceState { kPending, kActive, kExpired };
std::string_view SilenceStateString(SilenceState s);  // "pending", "active", "expired"

struct Silence {
  std::string id;  // UUID v4; empty when creating
  Matchers matchers;
  int64_t starts_at_ms = 0, ends_at_ms = 0, updated_at_ms = 0;
  std::string created_by, comment;

  // pending before starts_at, expired from ends_at on, else active (Alertmanager's getState).
  SilenceState StateAt(int64_t now_ms) const;
};

struct SilenceQuery {
  std::optional<std::vector<std::string>> ids;
  std::optional<std::vector<SilenceState>> states;
  // The API's `filter`: matchers applied to the silence's own matchers seen as labels
  // (name -> value), as Alertmanager's /api/v2/silences does.
  Matchers filter;
};

struct SilencesOptions {
  StateStore* store = nullptr;           // null: in memory only (tests)
  const Clock* clock = nullptr;          // required
  int64_t retention_ms = 120LL * 3600 * 1000;  // --data.retention: kept this long after expiry
};

class Silences {
 public:
  static absl::StatusOr<std::unique_ptr<Silences>> Open(SilencesOptions opts);

  // Creates (empty id) or updates a silence; returns its id. An update keeps the id only when it
  // does not rewrite the silence's past (same matchers; an active silence keeps its start and
  // does not end before now; a pending one does not start before now); otherwise the old one is
  // expired (unless it already is) and a new id is created. A new silence starting in the past
  // starts now. NotFound for an unknown id; InvalidArgument with Alertmanager's messages.
  absl::StatusOr<std::string> Set(Silence s);
  // "silence <id> already expired" (InvalidArgument) / NotFound.
  absl::Status Expire(const std::string& id);
  absl::StatusOr<Silence> Get(const std::string& id) const;
  // Matching silences, ordered by id.
  std::vector<Silence> Query(const SilenceQuery& q) const;
  // Ids of the silences active now whose matchers all match `labels`, sorted.
  std::vector<std::string> ActiveMatching(const LabelSet& labels) const;
  // Deletes silences expired longer than the retention; returns how many.
  absl::StatusOr<int> GC();
  // Changes on every Set/Expire/GC (lets callers cache).
  uint64_t Version() const;

 private:
  explicit Silences(SilencesOptions opts) : opts_(opts) {}
  absl::Status Load();
  absl::Status Store(const Silence& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ExpireLocked(const std::string& id, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SilencesOptions opts_;
  mutable absl::Mutex mu_;
  std::map<std::string, Silence> silences_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

// Whether a silence passes an API filter (see SilenceQuery::filter).
bool SilenceMatchesFilter(const Silence& s, const Matchers& filter);

// Silences an alert when an active silence matches it; records the ids in the marker.
class Silencer final : public Muter {
 public:
  Silencer(const Silences* silences, Marker* marker) : silences_(silences), marker_(marker) {}
  bool Mutes(const LabelSet& labels) override;

 private:
  const Silences* const silences_;
  Marker* const marker_;
};

// Exposed for tests: a random UUID v4 in canonical form.
std::string NewUuidV4();
// The JSON stored for a silence, and back.
std::string SilenceToJson(const Silence& s);
absl::StatusOr<Silence> SilenceFromJson(std::string_view json);

}  // namespace pharos::alerting::am
