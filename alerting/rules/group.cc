#include "alerting/rules/group.h"

#include <bit>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "storage/labels/matcher.h"

namespace pharos::alerting::rules {

namespace {

double StaleNaN() { return std::bit_cast<double>(storage::kStaleNaNBits); }

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Group::Group(GroupSpec spec, std::string file, int64_t interval_ms,
             std::shared_ptr<const GroupOptions> opts, std::shared_ptr<GroupMetrics> metrics)
    : spec_(std::move(spec)),
      file_(std::move(file)),
      absl_key_(absl::StrCat(file_, ";", spec_.name)),
      interval_ms_(interval_ms),
      opts_(std::move(opts)),
      metrics_(std::move(metrics)) {}

absl::StatusOr<std::unique_ptr<Group>> Group::Make(const GroupSpec& spec, std::string file,
                                                   int64_t interval_ms,
                                                   std::shared_ptr<const GroupOptions> opts,
                                                   std::shared_ptr<GroupMetrics> metrics) {
  if (interval_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("group \"", spec.name, "\": evaluation interval must be positive"));
  }
  if (!metrics) metrics = std::make_shared<GroupMetrics>();
  std::unique_ptr<Group> g(
      new Group(spec, std::move(file), interval_ms, std::move(opts), std::move(metrics)));
  for (const RuleSpec& r : spec.rules) {
    auto rule = NewRule(r, spec.labels);
    if (!rule.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(g->file_, ": group \"", spec.name,
                                                     "\", rule \"", r.name(),
                                                     "\": ", rule.status().message()));
    }
    if ((*rule)->is_alerting()) static_cast<AlertingRule&>(**rule).SetRestored(true);
    g->rules_.push_back(*std::move(rule));
  }
  g->series_in_previous_eval_.resize(g->rules_.size());
  g->metrics_->interval_seconds.store(static_cast<double>(interval_ms) / 1000.0);
  g->metrics_->rules.store(static_cast<double>(g->rules_.size()));
  return g;
}

int64_t Group::EvalTimestamp(int64_t now_ms) const {
  // Prometheus works in nanoseconds: offset = hash(name, file) % interval, then the start
  // of the interval containing now on the grid shifted by offset.
  const uint64_t hash = Labels({{"name", spec_.name}, {"file", file_}}).Hash();
  const int64_t interval_ns = interval_ms_ * 1'000'000;
  const int64_t offset = static_cast<int64_t>(hash % static_cast<uint64_t>(interval_ns));
  const int64_t adj = now_ms * 1'000'000 - offset;
  int64_t base = adj - (adj % interval_ns);
  if (adj < 0 && adj % interval_ns != 0) base -= interval_ns;
  const int64_t ns = base + offset;
  return ns >= 0 ? ns / 1'000'000 : -((-ns + 999'999) / 1'000'000);
}

void Group::SetShouldRestore(bool v) {
  should_restore_ = v;
  for (auto& r : rules_) {
    if (r->is_alerting()) static_cast<AlertingRule&>(*r).SetRestored(!v);
  }
}

void Group::Iterate(int64_t ts_ms) {
  Eval(ts_ms);
  ++iterations_;
  metrics_->iterations.fetch_add(1);
  // As Prometheus: restore after the second evaluation, so that the recording rules and
  // scrapes the alerts depend on have produced fresh data first.
  if (should_restore_ && iterations_ >= 2) {
    RestoreForState(ts_ms);
    should_restore_ = false;
  }
}

void Group::AppendSeries(const std::vector<Sample>& samples) {
  if (samples.empty() || !opts_->appendable) return;
  auto app = opts_->appendable->NewAppender();
  for (const Sample& s : samples) app->Append(0, s.labels, s.t_ms, s.value);
  if (absl::Status st = app->Commit(); !st.ok() && opts_->ctx.log) {
    opts_->ctx.log->warn("msg=\"appending rule results failed\" group={} err={}",
                         Quoted(spec_.name), Quoted(st.message()));
  }
}

void Group::Eval(int64_t ts_ms) {
  const auto start = std::chrono::steady_clock::now();
  const EvalContext& ctx = opts_->ctx;
  const int64_t sample_ts = ts_ms - spec_.query_offset_ms;
  uint64_t samples_total = 0;
  for (size_t i = 0; i < rules_.size(); ++i) {
    Rule& rule = *rules_[i];
    const auto rule_start = std::chrono::steady_clock::now();
    metrics_->evaluations.fetch_add(1);
    absl::StatusOr<Vector> v = rule.Eval(ts_ms, spec_.query_offset_ms, ctx, spec_.limit);
    if (!v.ok()) {
      // The rule's previous series are left alone: an evaluation error is not staleness.
      metrics_->evaluation_failures.fetch_add(1);
      rule.SetStatus(RuleHealth::kErr, std::string(v.status().message()),
                     SecondsSince(rule_start), ts_ms);
      if (ctx.log) {
        ctx.log->warn("msg=\"evaluating rule failed\" group={} rule={} err={}",
                      Quoted(spec_.name), Quoted(rule.name()), Quoted(v.status().message()));
      }
      continue;
    }
    samples_total += v->size();
    if (rule.is_alerting()) {
      std::vector<am::Alert> alerts = static_cast<AlertingRule&>(rule).AlertsToSend(
          ts_ms, opts_->resend_delay_ms, interval_ms_, ctx);
      if (!alerts.empty() && opts_->notify) opts_->notify(std::move(alerts));
    }
    std::string last_error;
    RuleHealth health = RuleHealth::kOk;
    if (opts_->appendable) {
      auto app = opts_->appendable->NewAppender();
      std::map<std::string, Labels> returned;
      size_t rejected = 0;
      for (const Sample& s : *v) {
        if (!app->Append(0, s.labels, s.t_ms, s.value).ok()) ++rejected;
        returned.emplace(s.labels.String(), s.labels);
      }
      for (const auto& [key, ls] : series_in_previous_eval_[i]) {
        if (returned.find(key) == returned.end()) app->Append(0, ls, sample_ts, StaleNaN());
      }
      series_in_previous_eval_[i] = std::move(returned);
      if (absl::Status st = app->Commit(); !st.ok()) {
        health = RuleHealth::kErr;
        last_error = std::string(st.message());
      } else if (rejected > 0) {
        health = RuleHealth::kErr;
        last_error = absl::StrCat(rejected, " samples of the rule's result were rejected by storage");
      }
      if (health == RuleHealth::kErr && ctx.log) {
        ctx.log->warn("msg=\"storing rule results failed\" group={} rule={} err={}",
                      Quoted(spec_.name), Quoted(rule.name()), Quoted(last_error));
      }
    }
    rule.SetStatus(health, std::move(last_error), SecondsSince(rule_start), ts_ms);
  }
  if (!stale_series_.empty()) {
    std::vector<Sample> stale;
    for (const Labels& ls : stale_series_) stale.push_back({ls, StaleNaN(), sample_ts});
    AppendSeries(stale);
    stale_series_.clear();
  }
  const double took = SecondsSince(start);
  {
    absl::MutexLock l(&status_mu_);
    last_eval_seconds_ = took;
    last_eval_ms_ = ts_ms;
  }
  metrics_->last_duration_seconds.store(took);
  metrics_->last_eval_timestamp_seconds.store(static_cast<double>(ts_ms) / 1000.0);
  metrics_->last_samples.store(static_cast<double>(samples_total));
}

void Group::RestoreForState(int64_t ts_ms) {
  const int64_t mint = ts_ms - opts_->outage_tolerance_ms;
  std::unique_ptr<storage::Querier> q;
  if (opts_->queryable) {
    auto qr = opts_->queryable->NewQuerier(mint, ts_ms);
    if (qr.ok()) {
      q = *std::move(qr);
    } else if (opts_->ctx.log) {
      opts_->ctx.log->error("msg=\"cannot restore for state: no querier\" group={} err={}",
                            Quoted(spec_.name), Quoted(qr.status().message()));
    }
  }
  for (auto& r : rules_) {
    if (!r->is_alerting()) continue;
    auto& ar = static_cast<AlertingRule&>(*r);
    const int64_t hold = ar.hold_ms();
    if (!q || hold < opts_->for_grace_period_ms) {
      // Nothing to restore: an alert this short re-fires within the grace period anyway.
      ar.SetRestored(true);
      continue;
    }
    ar.ForEachActive([&](ActiveAlert& a) {
      std::vector<Matcher> ms;
      ms.push_back(Matcher::MustMake(MatchType::kEqual, kMetricName, "ALERTS_FOR_STATE"));
      for (const Label& l : a.labels) {
        ms.push_back(Matcher::MustMake(MatchType::kEqual, l.name, l.value));
      }
      LabelsBuilder want(a.labels);
      want.Set(kMetricName, "ALERTS_FOR_STATE");
      const Labels want_labels = want.Labels();
      auto set = q->Select(ms);
      bool found = false;
      int64_t t = 0;
      double v = 0;
      while (set->Next()) {
        const storage::Series& s = set->At();
        if (!(s.labels() == want_labels)) continue;
        auto it = s.Iterator();
        if (!it->Seek(mint)) continue;
        do {
          if (it->T() > ts_ms) break;
          t = it->T();
          v = it->V();
          found = true;
        } while (it->Next());
      }
      if (!found || std::isnan(v)) return;  // never active, or ended with a stale marker
      const int64_t down_at = (t / 1000) * 1000;
      int64_t restored_active_at = static_cast<int64_t>(v) * 1000;
      const int64_t spent_pending = down_at - restored_active_at;
      const int64_t remaining = hold - spent_pending;
      if (remaining <= 0) {
        // It was firing when Pharos went down; the next evaluation fires it again.
      } else if (remaining < opts_->for_grace_period_ms) {
        restored_active_at = ts_ms + opts_->for_grace_period_ms - hold;
      } else {
        // Shift by the downtime: the alert still needs its remaining pending time.
        restored_active_at += ts_ms - down_at;
      }
      a.active_at_ms = restored_active_at;
    });
    ar.SetRestored(true);
  }
}

void Group::CopyState(Group& from) {
  {
    absl::MutexLock l(&from.status_mu_);
    absl::MutexLock m(&status_mu_);
    last_eval_seconds_ = from.last_eval_seconds_;
    last_eval_ms_ = from.last_eval_ms_;
  }
  auto key = [](const Rule& r) { return absl::StrCat(r.name(), r.labels().String()); };
  std::map<std::string, std::vector<size_t>> from_rules;
  for (size_t i = 0; i < from.rules_.size(); ++i) from_rules[key(*from.rules_[i])].push_back(i);
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto it = from_rules.find(key(*rules_[i]));
    if (it == from_rules.end() || it->second.empty()) continue;
    const size_t fi = it->second.front();
    it->second.erase(it->second.begin());
    series_in_previous_eval_[i] = from.series_in_previous_eval_[fi];
    if (rules_[i]->is_alerting() && from.rules_[fi]->is_alerting()) {
      static_cast<AlertingRule&>(*rules_[i])
          .CopyStateFrom(static_cast<const AlertingRule&>(*from.rules_[fi]));
    }
  }
  // Series of rules that are gone are marked stale at the next evaluation.
  stale_series_ = from.stale_series_;
  for (const auto& [k, idx] : from_rules) {
    for (size_t fi : idx) {
      for (const auto& [s, ls] : from.series_in_previous_eval_[fi]) stale_series_.push_back(ls);
    }
  }
}

void Group::MarkAllStale(int64_t ts_ms) {
  std::vector<Sample> stale;
  for (const auto& m : series_in_previous_eval_) {
    for (const auto& [k, ls] : m) stale.push_back({ls, StaleNaN(), ts_ms});
  }
  for (const Labels& ls : stale_series_) stale.push_back({ls, StaleNaN(), ts_ms});
  AppendSeries(stale);
  for (auto& m : series_in_previous_eval_) m.clear();
  stale_series_.clear();
}

bool Group::Equivalent(const Group& other) const {
  return spec_ == other.spec_ && file_ == other.file_ && interval_ms_ == other.interval_ms_ &&
         opts_->ctx.external_labels == other.opts_->ctx.external_labels &&
         opts_->ctx.external_url == other.opts_->ctx.external_url;
}

double Group::last_eval_seconds() const {
  absl::MutexLock l(&status_mu_);
  return last_eval_seconds_;
}

int64_t Group::last_eval_ms() const {
  absl::MutexLock l(&status_mu_);
  return last_eval_ms_;
}

}  // namespace pharos::alerting::rules
