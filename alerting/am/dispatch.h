#pragma once

// The dispatcher (Alertmanager's dispatch.Dispatcher): routes every stored alert through the
// routing tree into aggregation groups, one per (route node, group labels), and flushes each
// group to its receiver's pipeline: first after group_wait (at once when the alert already
// started more than group_wait ago and the group never flushed), then every group_interval while
// the group holds alerts. After a successful flush, the resolved alerts that were sent (and not
// updated since) leave the group; an empty group is deleted.
//
// Timers are driven by RunDue(now) / NextDeadline(): Start() runs a thread that sleeps until the
// next deadline and flushes on a small worker pool; tests call RunDue with a fake clock and get
// the flushes inline.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/types.h"

namespace pharos {
class Registry;
class Gauge;
}  // namespace pharos

namespace pharos::alerting {
class Clock;
}

namespace pharos::alerting::am {

class AlertStore;
class RouteNode;
namespace internal {
class WorkerPool;
}

// One flush of an aggregation group, handed to the notification pipeline.
struct FlushRequest {
  std::string receiver;
  std::string group_key;  // route.Key() + ":" + group labels, e.g. {}/{a="b"}:{alertname="X"}
  std::string route_id;
  LabelSet group_labels;
  // The group's alerts, sorted as Alertmanager sorts them (job, instance, then labels). Firing
  // alerts have ends_at_ms = 0 (a resolve_timeout ends_at is not shown to receivers).
  std::vector<Alert> alerts;
  int64_t now_ms = 0;
  int64_t group_interval_ms = 0;  // the pipeline's deadline for this flush
  int64_t repeat_interval_ms = 0;
  std::vector<std::string> mute_time_intervals, active_time_intervals;
};

// Delivers a flush; true when it succeeded (resolved alerts then leave the group). Blocking.
using FlushFn = std::function<bool(const FlushRequest&)>;

struct DispatcherOptions {
  const Clock* clock = nullptr;   // required
  Registry* registry = nullptr;   // optional: pharos_alertmanager_aggregation_groups
  FlushFn flush;                  // required (normally Pipeline::Exec)
  int flush_workers = 8;          // threads flushing groups after Start()
};

class Dispatcher {
 public:
  // `root` and `store` must outlive the dispatcher. Does not subscribe yet (see Start).
  Dispatcher(const RouteNode* root, AlertStore* store, const DispatcherOptions& opts);
  ~Dispatcher();

  // Subscribes to the store (existing alerts are ingested at once). Start() does this too.
  void Subscribe();
  // Subscribes, then runs the timer thread and the flush workers.
  void Start();
  // Stops the timer thread, waits for running flushes and unsubscribes. Idempotent.
  void Stop();

  // Routes one alert into its groups (what the store subscription calls).
  void Ingest(const Alert& alert);

  // Flushes every group whose timer is due at `now_ms`; returns how many flushes started.
  // Inline (returning after they finish) unless Start() was called.
  int RunDue(int64_t now_ms);
  // The earliest group timer, if any group exists.
  std::optional<int64_t> NextDeadline() const;

  // For /api/v2/alerts/groups: every group with its alerts as stored (unfiltered).
  struct GroupInfo {
    LabelSet labels;
    std::string receiver;
    std::string group_key;
    std::string route_id;
    std::vector<Alert> alerts;
  };
  std::vector<GroupInfo> Groups() const;
  size_t num_groups() const;

 private:
  struct Group;
  void Schedule(Group* g, int64_t at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeleteGroup(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(Group* g, const FlushRequest& req, bool ok);
  void Loop();

  const RouteNode* root_;
  AlertStore* store_;
  DispatcherOptions opts_;
  Gauge* groups_gauge_ = nullptr;

  mutable absl::Mutex mu_;
  struct GroupId {
    const RouteNode* route;
    uint64_t labels_fp;
    bool operator==(const GroupId& o) const { return route == o.route && labels_fp == o.labels_fp; }
    template <typename H>
    friend H AbslHashValue(H h, const GroupId& id) {
      return H::combine(std::move(h), id.route, id.labels_fp);
    }
  };
  absl::flat_hash_map<GroupId, std::unique_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, Group*>> timers_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // a timer was (re)scheduled: the loop re-checks
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  int subscription_ = 0;
  std::unique_ptr<internal::WorkerPool> pool_;
  std::thread thread_;
};

// Go's model.LabelSet.String(): {a="b", c="d"}, entries sorted as strings, values %q-quoted.
std::string LabelSetString(const LabelSet& ls);
// Alertmanager's AlertSlice order: by job, then instance (present before absent), then labels.
bool AlertLess(const Alert& a, const Alert& b);

}  // namespace pharos::alerting::am
