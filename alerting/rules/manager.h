#pragma once

// The rule manager (Prometheus rules/manager.go): runs each rule group on its own schedule
// (one thread per group, so a slow group never delays another), applies new rule files on
// config reload keeping the state of unchanged groups, and reports the groups for the API.
//
//   rules::ManagerOptions o;
//   o.query = rules::EngineQueryFunc(&engine, db);
//   o.appendable = db; o.queryable = db; o.notify = [](std::vector<am::Alert> a) {...};
//   o.log = logs.Get("rules"); o.registry = &registry;
//   PHAROS_ASSIGN_OR_RETURN(auto m, rules::Manager::Create(std::move(o)));
//   PHAROS_ASSIGN_OR_RETURN(auto files, rules::LoadRuleFiles(cfg.rule_files, config_dir));
//   PHAROS_RETURN_IF_ERROR(m->Update({cfg.global.evaluation_interval_ms,
//                                     cfg.global.external_labels, std::move(files)}));
//   ...
//   m->Stop();  // before storage closes
//
// Self-metrics (rule_group="<file>;<group>"): pharos_rule_group_iterations_total,
// pharos_rule_group_iterations_missed_total, pharos_rule_evaluations_total,
// pharos_rule_evaluation_failures_total, pharos_rule_group_interval_seconds,
// pharos_rule_group_last_evaluation_timestamp_seconds, pharos_rule_group_last_duration_seconds,
// pharos_rule_group_last_evaluation_samples, pharos_rule_group_rules.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "alerting/clock.h"
#include "alerting/rules/rule.h"
#include "alerting/rules/rulefmt.h"
#include "common/logging.h"
#include "storage/api/storage.h"

namespace pharos {
class Registry;
}

namespace pharos::alerting::rules {

class Group;

struct ManagerOptions {
  QueryFunc query;                          // required
  storage::Appendable* appendable = nullptr;  // required: recorded series, ALERTS
  storage::Queryable* queryable = nullptr;    // for `for` state restore; null: no restore
  NotifyFunc notify;                        // alerts to send; null: dropped
  const Clock* clock = nullptr;             // default: SystemClock
  // Base of generatorURL and $externalURL, e.g. "http://pharos.example:9090".
  std::string external_url;
  int64_t resend_delay_ms = 60 * 1000;            // --rules.alert.resend-delay (1m)
  int64_t outage_tolerance_ms = 3600 * 1000;      // --rules.alert.for-outage-tolerance (1h)
  int64_t for_grace_period_ms = 600 * 1000;       // --rules.alert.for-grace-period (10m)
  Registry* registry = nullptr;             // optional: pharos_rule_* metrics
  LoggerPtr log;                            // required
  // false: no scheduler threads; groups are evaluated only by EvalAt (tests). Default true.
  bool run_scheduler = true;
};

struct RulesConfig {
  int64_t default_interval_ms = 60 * 1000;  // global.evaluation_interval
  std::map<std::string, std::string> external_labels;
  std::vector<RuleFile> files;
};

// A rule as the API shows it.
struct RuleInfo {
  bool alerting = false;
  std::string name;
  std::string query;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::vector<std::pair<std::string, std::string>> labels;  // as written, sorted
  Labels annotations;
  AlertState state = AlertState::kInactive;  // alerting rules: highest alert state
  std::vector<ActiveAlert> alerts;           // sorted by labels; includes resolved ones
  RuleStatus status;
};

struct GroupInfo {
  std::string name;
  std::string file;
  int64_t interval_ms = 0;
  uint64_t limit = 0;
  std::vector<RuleInfo> rules;
  double eval_seconds = 0;
  int64_t last_eval_ms = kZeroTime;
};

class Manager {
 public:
  static absl::StatusOr<std::unique_ptr<Manager>> Create(ManagerOptions options);
  ~Manager();

  // Applies a new set of rule files. Groups (by file and name) whose definition and settings
  // are unchanged keep running untouched; changed ones are replaced and take over the old
  // group's alert state and series; removed ones stop and mark their series stale. An error
  // (e.g. a rule that does not build) changes nothing.
  [[nodiscard]] absl::Status Update(const RulesConfig& config);

  // Stops every group (waits for running evaluations). Idempotent.
  void Stop();

  // Evaluates every group once at `ts_ms` (scheduler iteration semantics, incl. the `for`
  // state restore after the second iteration at start-up). Only with run_scheduler = false.
  void EvalAt(int64_t ts_ms);

  // Sorted by file, then group name.
  std::vector<GroupInfo> Groups() const;

  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  struct Runner;
  struct MetricsState;

 private:
  explicit Manager(ManagerOptions options);
  void Start(Runner& r);

  ManagerOptions opts_;
  std::shared_ptr<MetricsState> metrics_;
  absl::Mutex update_mu_;  // serializes Update/Stop
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Runner>> groups_ ABSL_GUARDED_BY(mu_);  // by file;name
  bool loaded_once_ ABSL_GUARDED_BY(update_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(update_mu_) = false;
};

}  // namespace pharos::alerting::rules
