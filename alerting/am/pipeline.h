#pragma once

// The notification pipeline (Alertmanager's notify.Pipeline) for one flush of an aggregation
// group: mute (inhibition, active/mute time intervals, silences) -> for each of the receiver's
// integrations, in parallel: dedup against the notification log -> drop resolved alerts unless
// send_resolved -> send with retries (exponential backoff with jitter, until the flush deadline;
// no retry when the integration says the failure is permanent) -> log to the nflog, only after
// success. Digest receivers (Receiver::digest) record the flush instead and send one summary
// per scheduled period (see digest.h).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/config.h"
#include "alerting/am/digest.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/nflog.h"
#include "alerting/notify/notifier.h"
#include "common/logging.h"

namespace pharos {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace pharos

namespace pharos::alerting {
class Clock;
class StateStore;
}  // namespace pharos::alerting

namespace pharos::alerting::tmpl {
class Template;
}

namespace pharos::alerting::am {

class Muter;
namespace internal {
class WorkerPool;
}

struct PipelineReceiver {
  std::string name;
  std::vector<std::unique_ptr<notify::Integration>> integrations;
  std::optional<DigestConfig> digest;
};

struct PipelineOptions {
  const Clock* clock = nullptr;  // required
  Nflog* nflog = nullptr;        // required
  StateStore* state = nullptr;   // required when a receiver has a digest
  Registry* registry = nullptr;  // optional: pharos_alertmanager_notification*
  LoggerPtr logger;              // optional: failed sends are logged
  Muter* inhibitor = nullptr;    // optional
  Muter* silencer = nullptr;     // optional
  // Whether the named time interval is active at now_ms; null: every interval is inactive.
  std::function<bool(const std::string& name, int64_t now_ms)> interval_active;
  std::string external_url;
  const tmpl::Template* templates = nullptr;
  int64_t notify_timeout_ms = 10000;   // per attempt (NotificationContext::timeout_ms)
  int64_t min_flush_timeout_ms = 10000;  // a flush may retry for max(group_interval, this)
  int64_t backoff_initial_ms = 1000;
  int64_t backoff_max_ms = 60000;
  int send_workers = 16;  // threads for parallel sends to a receiver's integrations
  // Waits between retries; false aborts (shutdown). Default: real time, cut short by Stop().
  // Tests pass one that advances their fake clock.
  std::function<bool(int64_t ms)> sleep;
  uint64_t seed = 0;  // jitter; 0: random
};

class Pipeline {
 public:
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(const PipelineOptions& opts,
                                                          std::vector<PipelineReceiver> receivers);
  ~Pipeline();

  // Runs one flush; true when every integration delivered (or had nothing to send). Blocking.
  // This is the Dispatcher's FlushFn.
  bool Exec(const FlushRequest& req);

  // Digests: sends those whose period ended by `now_ms` (and retries failed ones); returns how
  // many were sent. NextDigestDeadline is when to call it again.
  int RunDueDigests(int64_t now_ms);
  std::optional<int64_t> NextDigestDeadline() const;

  // Runs a thread calling RunDueDigests on time (only when some receiver has a digest).
  void Start();
  // Stops that thread and cuts retry waits short. Idempotent.
  void Stop();

  // Alertmanager's DedupStage.needsUpdate.
  static bool NeedsUpdate(const std::optional<NflogEntry>& entry,
                          const std::vector<uint64_t>& firing,
                          const std::vector<uint64_t>& resolved, bool send_resolved,
                          int64_t repeat_interval_ms, int64_t now_ms);

 private:
  struct Receiver;
  struct Metrics;
  explicit Pipeline(const PipelineOptions& opts);

  bool Mute(const FlushRequest& req, std::vector<Alert>* alerts);
  // Sends to one integration (dedup unless `digest`), retrying until `deadline_ms`.
  bool SendOne(notify::Integration* in, const std::string& receiver, const std::string& group_key,
               const LabelSet& group_labels, const std::vector<Alert>& alerts, int64_t now_ms,
               int64_t repeat_interval_ms, int64_t deadline_ms, bool digest);
  // Runs fn(i) for every integration in parallel; true when all returned true.
  bool Fanout(const Receiver& r, const std::function<bool(notify::Integration*)>& fn);
  bool Sleep(int64_t ms);
  int64_t Backoff(int attempt);
  void Loop();

  PipelineOptions opts_;
  std::map<std::string, std::unique_ptr<Receiver>, std::less<>> receivers_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<internal::WorkerPool> pool_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace pharos::alerting::am
