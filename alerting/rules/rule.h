#pragma once

// Recording and alerting rules (Prometheus rules/recording.go, rules/alerting.go).
//
// A rule is evaluated at a timestamp through a QueryFunc (an instant query) and returns the
// samples its group appends: the recorded series, or ALERTS / ALERTS_FOR_STATE for the
// alerts that are pending or firing. An alerting rule keeps its active alerts keyed by label
// set and moves them inactive -> pending -> firing -> inactive (resolved) honouring `for` and
// `keep_firing_for`; resolved alerts stay 15m so they are re-sent as resolved.
//
// Thread safety: Eval and the state-changing calls come from the owning group's thread; the
// snapshot accessors may be called from any thread (API handlers).

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/types.h"
#include "alerting/rules/rulefmt.h"
#include "common/logging.h"
#include "query/parser/ast.h"
#include "storage/api/storage.h"
#include "storage/labels/labels.h"

namespace pharos::promql {
class Engine;
}

namespace pharos::alerting::rules {

// "No time" (Go's zero time.Time): before every real timestamp.
inline constexpr int64_t kZeroTime = std::numeric_limits<int64_t>::min();

struct Sample {
  Labels labels;
  double value = 0;
  int64_t t_ms = 0;
};
using Vector = std::vector<Sample>;

// Runs an instant query; a scalar result is a one-sample vector without labels.
using QueryFunc = std::function<absl::StatusOr<Vector>(std::string_view expr, int64_t t_ms)>;
// Prometheus's EngineQueryFunc over Pharos's engine; both must outlive the function.
QueryFunc EngineQueryFunc(const promql::Engine* engine, storage::Queryable* queryable);

// Receives alerts to send (firing and resolved), already shaped as Prometheus's notifier
// sends them to Alertmanager: startsAt = fired time, endsAt = resolve time or now + 4 x
// max(resend delay, group interval), generatorURL, external labels added.
using NotifyFunc = std::function<void(std::vector<am::Alert>)>;

enum class AlertState { kInactive, kPending, kFiring };
std::string_view AlertStateName(AlertState s);  // "inactive", "pending", "firing"

enum class RuleHealth { kUnknown, kOk, kErr };
std::string_view RuleHealthName(RuleHealth h);  // "unknown", "ok", "err"

struct ActiveAlert {
  AlertState state = AlertState::kInactive;
  Labels labels;
  Labels annotations;
  double value = 0;
  int64_t active_at_ms = kZeroTime;
  int64_t fired_at_ms = kZeroTime;
  int64_t resolved_at_ms = kZeroTime;
  int64_t last_sent_at_ms = kZeroTime;
  int64_t valid_until_ms = kZeroTime;
  int64_t keep_firing_since_ms = kZeroTime;
};

// What a rule's evaluation needs besides the query.
struct EvalContext {
  QueryFunc query;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  LoggerPtr log;
};

// A rule's state for the API.
struct RuleStatus {
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;
  double eval_seconds = 0;
  int64_t last_eval_ms = kZeroTime;
};

class Rule {
 public:
  virtual ~Rule() = default;

  const std::string& name() const { return name_; }
  // The expression in canonical form (Prometheus rule.Query().String()).
  const std::string& query() const { return query_; }
  const Labels& labels() const { return labels_; }
  // The rule's labels as written (incl. group labels and empty values), sorted by name.
  const std::vector<std::pair<std::string, std::string>>& label_pairs() const {
    return label_pairs_;
  }
  const RuleSpec& spec() const { return spec_; }
  virtual bool is_alerting() const = 0;

  // Evaluates at `ts_ms` (the query runs at ts - query_offset) and returns the samples to
  // append. `limit` > 0 caps the series / alerts (exceeding it is an error).
  virtual absl::StatusOr<Vector> Eval(int64_t ts_ms, int64_t query_offset_ms,
                                      const EvalContext& ctx, uint64_t limit) = 0;

  void SetStatus(RuleHealth health, std::string last_error, double eval_seconds,
                 int64_t last_eval_ms);
  RuleStatus Status() const;

 protected:
  Rule(RuleSpec spec, const std::map<std::string, std::string>& group_labels,
       std::string query);

  RuleSpec spec_;
  std::string name_;
  std::string query_;
  Labels labels_;  // rule labels, group labels underneath (non-empty values)
  // The same, as written: an empty value removes the label from the result (Prometheus).
  std::vector<std::pair<std::string, std::string>> label_pairs_;

 private:
  mutable absl::Mutex status_mu_;
  RuleStatus status_ ABSL_GUARDED_BY(status_mu_);
};

// Builds a rule from a validated spec (the expression is parsed again here).
absl::StatusOr<std::unique_ptr<Rule>> NewRule(
    const RuleSpec& spec, const std::map<std::string, std::string>& group_labels);

class RecordingRule final : public Rule {
 public:
  RecordingRule(RuleSpec spec, const std::map<std::string, std::string>& group_labels,
                std::string query)
      : Rule(std::move(spec), group_labels, std::move(query)) {}
  bool is_alerting() const override { return false; }
  absl::StatusOr<Vector> Eval(int64_t ts_ms, int64_t query_offset_ms, const EvalContext& ctx,
                              uint64_t limit) override;
};

class AlertingRule final : public Rule {
 public:
  // How long resolved alerts are kept (and re-sent as resolved). Prometheus: 15m.
  static constexpr int64_t kResolvedRetentionMs = 15 * 60 * 1000;

  AlertingRule(RuleSpec spec, const std::map<std::string, std::string>& group_labels,
               std::string query)
      : Rule(std::move(spec), group_labels, std::move(query)) {}
  bool is_alerting() const override { return true; }
  absl::StatusOr<Vector> Eval(int64_t ts_ms, int64_t query_offset_ms, const EvalContext& ctx,
                              uint64_t limit) override;

  int64_t hold_ms() const { return spec_.for_ms; }
  int64_t keep_firing_for_ms() const { return spec_.keep_firing_for_ms; }

  // The alerts due for sending at `ts_ms` (Prometheus sendAlerts/needsSending), marking them
  // sent. `interval_ms` is the group's interval.
  std::vector<am::Alert> AlertsToSend(int64_t ts_ms, int64_t resend_delay_ms, int64_t interval_ms,
                                      const EvalContext& ctx);

  // Until restored (after a restart, once RestoreForState ran), no ALERTS series are written.
  void SetRestored(bool restored);
  bool restored() const;

  // Every alert in the active map (pending, firing, and resolved ones still retained).
  std::vector<ActiveAlert> ActiveAlerts() const;
  // Highest state of the active alerts.
  AlertState State() const;
  // Moves the alerts' state over from a rule with the same name and labels (config reload).
  void CopyStateFrom(const AlertingRule& other);
  // Applies `fn` to each active alert under the lock (RestoreForState).
  void ForEachActive(const std::function<void(ActiveAlert&)>& fn);

 private:
  mutable absl::Mutex mu_;
  std::map<uint64_t, ActiveAlert> active_ ABSL_GUARDED_BY(mu_);  // by labels hash
  bool restored_ ABSL_GUARDED_BY(mu_) = false;
};

// external_url + "/graph?g0.expr=<expr>&g0.tab=1" (Prometheus strutil.TableLinkForExpression).
std::string GeneratorUrl(std::string_view external_url, std::string_view expr);

}  // namespace pharos::alerting::rules
