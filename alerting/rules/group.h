#pragma once

// A rule group (Prometheus rules/group.go): rules evaluated in order at the same timestamp on
// the group's grid. Evaluation timestamps are aligned like Prometheus: the grid is offset by
// hash(name, file) % interval so that groups spread out over the interval, and the same group
// keeps the same phase across restarts and across Prometheus/Pharos.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "alerting/clock.h"
#include "alerting/rules/rule.h"
#include "alerting/rules/rulefmt.h"
#include "common/logging.h"
#include "storage/api/storage.h"

namespace pharos::alerting::rules {

// Per-group counters kept by the manager across reloads (pharos_rule_group_* metrics).
struct GroupMetrics {
  std::atomic<uint64_t> iterations{0};
  std::atomic<uint64_t> iterations_missed{0};
  std::atomic<uint64_t> evaluations{0};
  std::atomic<uint64_t> evaluation_failures{0};
  std::atomic<double> interval_seconds{0};
  std::atomic<double> last_eval_timestamp_seconds{0};
  std::atomic<double> last_duration_seconds{0};
  std::atomic<double> last_samples{0};
  std::atomic<double> rules{0};
};

// Settings shared by the groups of one manager configuration.
struct GroupOptions {
  EvalContext ctx;                       // query, external labels/URL, log
  storage::Appendable* appendable = nullptr;  // recorded series, ALERTS (required)
  storage::Queryable* queryable = nullptr;    // RestoreForState (optional)
  NotifyFunc notify;                     // optional
  const Clock* clock = nullptr;          // required
  int64_t resend_delay_ms = 60 * 1000;
  int64_t outage_tolerance_ms = 3600 * 1000;
  int64_t for_grace_period_ms = 600 * 1000;
};

class Group {
 public:
  // `interval_ms` is the effective interval (spec's or the default). Rules are built from the
  // validated spec; an expression that fails to parse is an error.
  static absl::StatusOr<std::unique_ptr<Group>> Make(const GroupSpec& spec,
                                                     std::string file, int64_t interval_ms,
                                                     std::shared_ptr<const GroupOptions> opts,
                                                     std::shared_ptr<GroupMetrics> metrics);

  const std::string& name() const { return spec_.name; }
  const std::string& file() const { return file_; }
  int64_t interval_ms() const { return interval_ms_; }
  const GroupSpec& spec() const { return spec_; }
  const GroupOptions& options() const { return *opts_; }
  const std::vector<std::unique_ptr<Rule>>& rules() const { return rules_; }
  // "file;name": the key of the group in the manager and its metrics' rule_group label.
  std::string Key() const { return absl_key_; }

  // The first evaluation time at or before `now_ms` on this group's grid.
  int64_t EvalTimestamp(int64_t now_ms) const;

  // One iteration as the scheduler runs it: Eval(ts); after the second iteration of a group
  // that must restore `for` state (first load after start-up), RestoreForState(ts).
  void Iterate(int64_t ts_ms);
  // Evaluates every rule at `ts_ms`, appends the results and stale markers, notifies.
  void Eval(int64_t ts_ms);
  // Prometheus RestoreForState: ActiveAt of alerts of rules with `for` from ALERTS_FOR_STATE.
  void RestoreForState(int64_t ts_ms);
  // A group loaded at start-up restores `for` state; until then its alerting rules write no
  // ALERTS series.
  void SetShouldRestore(bool v);

  // Takes over the state of the group it replaces (same name and file): series of the last
  // evaluation, active alerts of rules with the same name and labels, last evaluation.
  void CopyState(Group& from);
  // Appends stale markers at `ts_ms` for every series the group produced last time (the
  // group is removed).
  void MarkAllStale(int64_t ts_ms);
  // Same spec, interval and options-relevant settings: a reload leaves the group running.
  bool Equivalent(const Group& other) const;

  double last_eval_seconds() const;
  int64_t last_eval_ms() const;
  GroupMetrics& metrics() { return *metrics_; }

 private:
  Group(GroupSpec spec, std::string file, int64_t interval_ms,
        std::shared_ptr<const GroupOptions> opts, std::shared_ptr<GroupMetrics> metrics);
  void AppendSeries(const std::vector<Sample>& samples);

  GroupSpec spec_;
  std::string file_;
  std::string absl_key_;
  int64_t interval_ms_;
  std::shared_ptr<const GroupOptions> opts_;
  std::shared_ptr<GroupMetrics> metrics_;
  std::vector<std::unique_ptr<Rule>> rules_;

  // Owned by the evaluating thread (Eval/Iterate/CopyState are never concurrent).
  std::vector<std::map<std::string, Labels>> series_in_previous_eval_;  // per rule
  std::vector<Labels> stale_series_;  // of removed rules, marked at the next evaluation
  bool should_restore_ = false;
  uint64_t iterations_ = 0;

  mutable absl::Mutex status_mu_;
  double last_eval_seconds_ ABSL_GUARDED_BY(status_mu_) = 0;
  int64_t last_eval_ms_ ABSL_GUARDED_BY(status_mu_) = kZeroTime;
};

}  // namespace pharos::alerting::rules
