#include "alerting/rules/rule.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "alerting/template/template.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "query/engine/engine.h"
#include "query/parser/parser.h"
#include "query/parser/printer.h"
#include "spdlog/spdlog.h"

namespace pharos::alerting::rules {

namespace {

constexpr std::string_view kAlertMetricName = "ALERTS";
constexpr std::string_view kAlertForStateMetricName = "ALERTS_FOR_STATE";
constexpr std::string_view kAlertNameLabel = "alertname";
constexpr std::string_view kAlertStateLabel = "alertstate";

std::map<std::string, std::string> ToMap(const Labels& ls) {
  std::map<std::string, std::string> m;
  for (const Label& l : ls) m.emplace(std::string(l.name), std::string(l.value));
  return m;
}

// Go's url.QueryEscape: unreserved bytes as-is, space as '+', everything else %XX.
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kInactive: return "inactive";
    case AlertState::kPending: return "pending";
    case AlertState::kFiring: return "firing";
  }
  return "unknown";
}

std::string_view RuleHealthName(RuleHealth h) {
  switch (h) {
    case RuleHealth::kUnknown: return "unknown";
    case RuleHealth::kOk: return "ok";
    case RuleHealth::kErr: return "err";
  }
  return "unknown";
}

std::string GeneratorUrl(std::string_view external_url, std::string_view expr) {
  while (!external_url.empty() && external_url.back() == '/') external_url.remove_suffix(1);
  return absl::StrCat(Av(external_url), "/graph?g0.expr=", QueryEscape(expr), "&g0.tab=1");
}

QueryFunc EngineQueryFunc(const promql::Engine* engine, storage::Queryable* queryable) {
  return [engine, queryable](std::string_view expr, int64_t t_ms) -> absl::StatusOr<Vector> {
    PHAROS_ASSIGN_OR_RETURN(promql::QueryResult r, engine->InstantQuery(*queryable, expr, t_ms));
    Vector out;
    switch (r.type) {
      case promql::ResultType::kVector:
        out.reserve(r.series.size());
        for (auto& s : r.series) {
          if (s.points.empty()) continue;
          out.push_back({std::move(s.labels), s.points.back().v, s.points.back().t});
        }
        return out;
      case promql::ResultType::kScalar:
        out.push_back({Labels(), r.scalar.v, r.scalar.t});
        return out;
      default:
        return absl::InvalidArgumentError("rule result is not a vector or scalar");
    }
  };
}

Rule::Rule(RuleSpec spec, const std::map<std::string, std::string>& group_labels,
           std::string query)
    : spec_(std::move(spec)), name_(spec_.name()), query_(std::move(query)) {
  std::map<std::string, std::string> merged = group_labels;
  for (const auto& [k, v] : spec_.labels) merged[k] = v;
  LabelsBuilder b;
  for (const auto& [k, v] : merged) {
    b.Set(k, v);
    label_pairs_.emplace_back(k, v);
  }
  labels_ = b.Labels();
}

void Rule::SetStatus(RuleHealth health, std::string last_error, double eval_seconds,
                     int64_t last_eval_ms) {
  absl::MutexLock l(&status_mu_);
  status_.health = health;
  status_.last_error = std::move(last_error);
  status_.eval_seconds = eval_seconds;
  status_.last_eval_ms = last_eval_ms;
}

RuleStatus Rule::Status() const {
  absl::MutexLock l(&status_mu_);
  return status_;
}

absl::StatusOr<std::unique_ptr<Rule>> NewRule(
    const RuleSpec& spec, const std::map<std::string, std::string>& group_labels) {
  PHAROS_ASSIGN_OR_RETURN(promql::ExprPtr expr, promql::ParseExpr(spec.expr));
  std::string query = promql::Format(*expr);
  if (spec.is_alert()) {
    return std::unique_ptr<Rule>(std::make_unique<AlertingRule>(spec, group_labels, query));
  }
  return std::unique_ptr<Rule>(std::make_unique<RecordingRule>(spec, group_labels, query));
}

// ---- recording ----

absl::StatusOr<Vector> RecordingRule::Eval(int64_t ts_ms, int64_t query_offset_ms,
                                           const EvalContext& ctx, uint64_t limit) {
  const int64_t t = ts_ms - query_offset_ms;
  PHAROS_ASSIGN_OR_RETURN(Vector v, ctx.query(query_, t));
  std::set<uint64_t> seen;
  LabelsBuilder b;
  for (Sample& s : v) {
    b.Reset(s.labels);
    b.Set(kMetricName, name_);
    for (const auto& [k, val] : label_pairs_) b.Set(k, val);
    s.labels = b.Labels();
    s.t_ms = t;
    if (!seen.insert(s.labels.Hash()).second) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying rule labels");
    }
  }
  if (limit > 0 && v.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("exceeded limit of ", limit, " with ", v.size(), " series"));
  }
  return v;
}

// ---- alerting ----

void AlertingRule::SetRestored(bool restored) {
  absl::MutexLock l(&mu_);
  restored_ = restored;
}

bool AlertingRule::restored() const {
  absl::MutexLock l(&mu_);
  return restored_;
}

std::vector<ActiveAlert> AlertingRule::ActiveAlerts() const {
  absl::MutexLock l(&mu_);
  std::vector<ActiveAlert> out;
  out.reserve(active_.size());
  for (const auto& [h, a] : active_) out.push_back(a);
  std::sort(out.begin(), out.end(),
            [](const ActiveAlert& a, const ActiveAlert& b) { return a.labels < b.labels; });
  return out;
}

AlertState AlertingRule::State() const {
  absl::MutexLock l(&mu_);
  AlertState s = AlertState::kInactive;
  for (const auto& [h, a] : active_) {
    if (static_cast<int>(a.state) > static_cast<int>(s)) s = a.state;
  }
  return s;
}

void AlertingRule::CopyStateFrom(const AlertingRule& other) {
  std::map<uint64_t, ActiveAlert> copy;
  {
    absl::MutexLock l(&other.mu_);
    copy = other.active_;
  }
  absl::MutexLock l(&mu_);
  for (auto& [h, a] : copy) active_[h] = std::move(a);
}

void AlertingRule::ForEachActive(const std::function<void(ActiveAlert&)>& fn) {
  absl::MutexLock l(&mu_);
  for (auto& [h, a] : active_) fn(a);
}

absl::StatusOr<Vector> AlertingRule::Eval(int64_t ts_ms, int64_t query_offset_ms,
                                          const EvalContext& ctx, uint64_t limit) {
  const int64_t t = ts_ms - query_offset_ms;
  PHAROS_ASSIGN_OR_RETURN(Vector res, ctx.query(query_, t));

  // Template `query` runs at the evaluation time, as Prometheus's expander does.
  tmpl::QueryFunc tmpl_query =
      [&ctx, ts_ms](std::string_view expr) -> absl::StatusOr<std::vector<tmpl::QuerySample>> {
    PHAROS_ASSIGN_OR_RETURN(Vector v, ctx.query(expr, ts_ms));
    std::vector<tmpl::QuerySample> out;
    out.reserve(v.size());
    for (const Sample& s : v) out.push_back({ToMap(s.labels), s.value});
    return out;
  };
  const std::string tmpl_name = absl::StrCat("__alert_", name_);

  // New alerts from this evaluation, by label hash. Computed without the lock: templates may
  // run queries.
  std::map<uint64_t, ActiveAlert> fresh;
  LabelsBuilder lb;
  for (const Sample& s : res) {
    tmpl::RuleTemplateData data;
    data.labels = ToMap(s.labels);
    data.external_labels = ctx.external_labels;
    data.external_url = ctx.external_url;
    data.value = s.value;
    data.eval_time_ms = ts_ms;
    auto expand = [&](std::string_view text) -> std::string {
      if (text.find("{{") == std::string_view::npos) return std::string(text);
      auto r = tmpl::ExpandRuleTemplate(tmpl_name, text, data, tmpl_query);
      if (r.ok()) return *std::move(r);
      if (ctx.log) {
        ctx.log->warn("msg=\"expanding alert template failed\" alert={} err={}", Quoted(name_),
                      Quoted(r.status().message()));
      }
      return absl::StrCat("<error expanding template: ", r.status().message(), ">");
    };
    lb.Reset(s.labels);
    lb.Del(kMetricName);
    for (const auto& [k, val] : label_pairs_) lb.Set(k, expand(val));
    lb.Set(kAlertNameLabel, name_);
    LabelsBuilder ab;
    for (const auto& [k, v] : spec_.annotations) ab.Set(k, expand(v));
    ActiveAlert a;
    a.state = AlertState::kPending;
    a.labels = lb.Labels();
    a.annotations = ab.Labels();
    a.value = s.value;
    a.active_at_ms = ts_ms;
    const uint64_t h = a.labels.Hash();
    if (!fresh.emplace(h, std::move(a)).second) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }

  absl::MutexLock l(&mu_);
  for (auto& [h, a] : fresh) {
    auto it = active_.find(h);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = a.annotations;
      continue;
    }
    active_[h] = a;
  }

  Vector vec;
  size_t num_active = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    ActiveAlert& a = it->second;
    if (fresh.find(it->first) == fresh.end()) {
      bool keep_firing = false;
      if (a.state == AlertState::kFiring && spec_.keep_firing_for_ms > 0) {
        if (a.keep_firing_since_ms == kZeroTime) a.keep_firing_since_ms = ts_ms;
        if (ts_ms - a.keep_firing_since_ms < spec_.keep_firing_for_ms) keep_firing = true;
      }
      // Pending alerts go at once; resolved ones after the retention, so that they are
      // re-sent as resolved meanwhile.
      const bool drop = a.state == AlertState::kPending ||
                        (a.resolved_at_ms != kZeroTime &&
                         ts_ms - a.resolved_at_ms > kResolvedRetentionMs);
      if (a.state != AlertState::kInactive && !keep_firing) {
        a.state = AlertState::kInactive;
        a.resolved_at_ms = ts_ms;
      }
      if (drop) {
        it = active_.erase(it);
        continue;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since_ms = kZeroTime;
    }
    ++num_active;
    if (a.state == AlertState::kPending && ts_ms - a.active_at_ms >= spec_.for_ms) {
      a.state = AlertState::kFiring;
      a.fired_at_ms = ts_ms;
    }
    if (restored_) {
      LabelsBuilder sb(a.labels);
      sb.Set(kMetricName, kAlertMetricName);
      sb.Set(kAlertNameLabel, name_);
      sb.Set(kAlertStateLabel, AlertStateName(a.state));
      vec.push_back({sb.Labels(), 1, t});
      LabelsBuilder fb(a.labels);
      fb.Set(kMetricName, kAlertForStateMetricName);
      fb.Set(kAlertNameLabel, name_);
      // Whole seconds, as Prometheus writes float64(ActiveAt.Unix()).
      const double active_s = std::floor(static_cast<double>(a.active_at_ms) / 1000.0);
      vec.push_back({fb.Labels(), active_s, t});
    }
    ++it;
  }
  if (limit > 0 && num_active > limit) {
    active_.clear();
    return absl::InvalidArgumentError(
        absl::StrCat("exceeded limit of ", limit, " with ", num_active, " alerts"));
  }
  return vec;
}

std::vector<am::Alert> AlertingRule::AlertsToSend(int64_t ts_ms, int64_t resend_delay_ms,
                                                  int64_t interval_ms, const EvalContext& ctx) {
  std::vector<am::Alert> out;
  absl::MutexLock l(&mu_);
  for (auto& [h, a] : active_) {
    if (a.state == AlertState::kPending) continue;
    // Resolved since the last send, or not sent for a resend delay.
    const bool due = a.resolved_at_ms > a.last_sent_at_ms ||
                     (a.last_sent_at_ms == kZeroTime ||
                      a.last_sent_at_ms + resend_delay_ms < ts_ms);
    if (!due) continue;
    a.last_sent_at_ms = ts_ms;
    // Valid for four intervals: two failed evaluations or sends do not resolve it.
    a.valid_until_ms = ts_ms + 4 * std::max(resend_delay_ms, interval_ms);
    am::Alert x;
    for (const Label& lab : a.labels) x.labels.emplace(std::string(lab.name), std::string(lab.value));
    for (const auto& [k, v] : ctx.external_labels) {
      if (x.labels.find(k) == x.labels.end() && !v.empty()) x.labels.emplace(k, v);
    }
    for (const Label& an : a.annotations) {
      x.annotations.emplace(std::string(an.name), std::string(an.value));
    }
    x.starts_at_ms = a.fired_at_ms == kZeroTime ? a.active_at_ms : a.fired_at_ms;
    x.ends_at_ms = a.resolved_at_ms != kZeroTime ? a.resolved_at_ms : a.valid_until_ms;
    x.generator_url = GeneratorUrl(ctx.external_url, query_);
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace pharos::alerting::rules
