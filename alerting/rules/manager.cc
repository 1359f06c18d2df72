#include "alerting/rules/manager.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "alerting/rules/group.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace pharos::alerting::rules {

struct Manager::Runner {
  std::unique_ptr<Group> group;
  std::thread thread;
  absl::Mutex mu;
  absl::CondVar cv;
  bool stop ABSL_GUARDED_BY(mu) = false;

  // Sleeps until the clock reaches `t_ms`; false when stopped meanwhile.
  bool WaitUntil(const Clock& clock, int64_t t_ms) {
    absl::MutexLock l(&mu);
    while (!stop) {
      const int64_t now = clock.NowMs();
      if (now >= t_ms) return true;
      cv.WaitWithTimeout(&mu, absl::Milliseconds(std::min<int64_t>(t_ms - now, 1000)));
    }
    return false;
  }

  void StopAndJoin() {
    {
      absl::MutexLock l(&mu);
      stop = true;
      cv.Signal();
    }
    if (thread.joinable()) thread.join();
  }
};

// The pharos_rule_* metrics of the current groups, read at scrape time. Shared with the
// registry's collector, which can outlive the manager.
struct Manager::MetricsState {
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<GroupMetrics>> live ABSL_GUARDED_BY(mu);
  std::map<std::string, std::shared_ptr<GroupMetrics>> all ABSL_GUARDED_BY(mu);

  std::shared_ptr<GroupMetrics> For(const std::string& key) {
    absl::MutexLock l(&mu);
    auto& m = all[key];
    if (!m) m = std::make_shared<GroupMetrics>();
    return m;
  }

  void Collect(MetricWriter& w) {
    absl::MutexLock l(&mu);
    struct Def {
      const char* name;
      const char* help;
      MetricType type;
      double (*get)(const GroupMetrics&);
    };
    static const Def kDefs[] = {
        {"pharos_rule_group_iterations_total",
         "Number of scheduled evaluations of the rule group (including missed ones).",
         MetricType::kCounter,
         [](const GroupMetrics& m) { return double(m.iterations + m.iterations_missed); }},
        {"pharos_rule_group_iterations_missed_total",
         "Rule group evaluations skipped because an evaluation took longer than the interval.",
         MetricType::kCounter, [](const GroupMetrics& m) { return double(m.iterations_missed); }},
        {"pharos_rule_evaluations_total", "Number of rule evaluations.", MetricType::kCounter,
         [](const GroupMetrics& m) { return double(m.evaluations); }},
        {"pharos_rule_evaluation_failures_total", "Number of failed rule evaluations.",
         MetricType::kCounter, [](const GroupMetrics& m) { return double(m.evaluation_failures); }},
        {"pharos_rule_group_interval_seconds", "Evaluation interval of the rule group.",
         MetricType::kGauge, [](const GroupMetrics& m) { return m.interval_seconds.load(); }},
        {"pharos_rule_group_last_evaluation_timestamp_seconds",
         "Timestamp of the last evaluation of the rule group.", MetricType::kGauge,
         [](const GroupMetrics& m) { return m.last_eval_timestamp_seconds.load(); }},
        {"pharos_rule_group_last_duration_seconds",
         "Duration of the last evaluation of the rule group.", MetricType::kGauge,
         [](const GroupMetrics& m) { return m.last_duration_seconds.load(); }},
        {"pharos_rule_group_last_evaluation_samples",
         "Samples returned by the rules of the group in its last evaluation.",
         MetricType::kGauge, [](const GroupMetrics& m) { return m.last_samples.load(); }},
        {"pharos_rule_group_rules", "Number of rules in the group.", MetricType::kGauge,
         [](const GroupMetrics& m) { return m.rules.load(); }},
    };
    for (const Def& d : kDefs) {
      if (live.empty()) break;
      w.Header(d.name, d.help, d.type);
      for (const auto& [key, m] : live) w.Sample(d.name, d.get(*m), {{"rule_group", key}});
    }
  }
};

Manager::Manager(ManagerOptions options)
    : opts_(std::move(options)), metrics_(std::make_shared<MetricsState>()) {
  if (!opts_.clock) opts_.clock = SystemClock::Get();
}

absl::StatusOr<std::unique_ptr<Manager>> Manager::Create(ManagerOptions options) {
  if (!options.query) return absl::InvalidArgumentError("rules manager: query is required");
  if (!options.appendable) {
    return absl::InvalidArgumentError("rules manager: appendable is required");
  }
  if (!options.log) return absl::InvalidArgumentError("rules manager: log is required");
  std::unique_ptr<Manager> m(new Manager(std::move(options)));
  if (m->opts_.registry) {
    std::weak_ptr<MetricsState> w = m->metrics_;
    m->opts_.registry->AddCollector([w](MetricWriter& mw) {
      if (auto s = w.lock()) s->Collect(mw);
    });
  }
  return m;
}

Manager::~Manager() { Stop(); }

void Manager::Start(Runner& r) {
  if (!opts_.run_scheduler) return;
  r.thread = std::thread([this, &r] {
    Group& g = *r.group;
    const Clock& clock = *opts_.clock;
    const int64_t interval = g.interval_ms();
    int64_t next = g.EvalTimestamp(clock.NowMs()) + interval;
    while (r.WaitUntil(clock, next)) {
      g.Iterate(next);
      const int64_t now = clock.NowMs();
      const int64_t elapsed = (now - next) / interval;  // whole intervals since `next`
      if (elapsed >= 2) {
        // Evaluations overran: skip to the latest grid point and count the ones missed.
        g.metrics().iterations_missed.fetch_add(static_cast<uint64_t>(elapsed - 1));
        if (opts_.log) {
          opts_.log->warn("msg=\"rule group evaluation missed iterations\" group={} missed={}",
                          Quoted(g.name()), elapsed - 1);
        }
        next += elapsed * interval;
      } else {
        next += interval;
      }
    }
  });
}

absl::Status Manager::Update(const RulesConfig& config) {
  absl::MutexLock ul(&update_mu_);
  if (stopped_) return absl::FailedPreconditionError("rules manager is stopped");
  auto gopts = std::make_shared<GroupOptions>();
  gopts->ctx.query = opts_.query;
  gopts->ctx.external_labels = config.external_labels;
  gopts->ctx.external_url = opts_.external_url;
  gopts->ctx.log = opts_.log;
  gopts->appendable = opts_.appendable;
  gopts->queryable = opts_.queryable;
  gopts->notify = opts_.notify;
  gopts->clock = opts_.clock;
  gopts->resend_delay_ms = opts_.resend_delay_ms;
  gopts->outage_tolerance_ms = opts_.outage_tolerance_ms;
  gopts->for_grace_period_ms = opts_.for_grace_period_ms;

  // Build everything first: an error leaves the running groups alone.
  std::map<std::string, std::unique_ptr<Group>> fresh;
  for (const RuleFile& f : config.files) {
    for (const GroupSpec& gs : f.groups) {
      const std::string key = absl::StrCat(f.source, ";", gs.name);
      if (fresh.count(key)) {
        return absl::InvalidArgumentError(
            absl::StrCat(f.source, ": groupname: \"", gs.name, "\" is repeated in the same file"));
      }
      const int64_t interval = gs.interval_ms > 0 ? gs.interval_ms : config.default_interval_ms;
      PHAROS_ASSIGN_OR_RETURN(auto g,
                              Group::Make(gs, f.source, interval, gopts, metrics_->For(key)));
      fresh.emplace(key, std::move(g));
    }
  }

  std::map<std::string, std::shared_ptr<Runner>> old;
  {
    absl::MutexLock l(&mu_);
    old = groups_;  // the API keeps seeing the old groups until the swap below
  }
  std::map<std::string, std::shared_ptr<Runner>> next;
  for (auto& [key, g] : fresh) {
    auto it = old.find(key);
    if (it != old.end() && it->second->group->Equivalent(*g)) {
      next.emplace(key, std::move(it->second));
      old.erase(it);
      continue;
    }
    auto r = std::make_shared<Runner>();
    r->group = std::move(g);
    if (it != old.end()) {
      it->second->StopAndJoin();
      r->group->CopyState(*it->second->group);
      old.erase(it);
    } else if (!loaded_once_) {
      r->group->SetShouldRestore(true);
    }
    next.emplace(key, std::move(r));
  }
  // Groups that are gone: stop, and end their series.
  for (auto& [key, r] : old) {
    r->StopAndJoin();
    r->group->MarkAllStale(opts_.clock->NowMs());
  }
  {
    absl::MutexLock l(&mu_);
    groups_ = next;
  }
  {
    absl::MutexLock l(&metrics_->mu);
    metrics_->live.clear();
    for (auto& [key, r] : next) metrics_->live[key] = metrics_->all[key];
  }
  for (auto& [key, r] : next) {
    if (!r->thread.joinable()) Start(*r);
  }
  loaded_once_ = true;
  opts_.log->info("msg=\"rule groups loaded\" groups={} files={}", next.size(),
                  config.files.size());
  return absl::OkStatus();
}

void Manager::Stop() {
  absl::MutexLock ul(&update_mu_);
  if (stopped_) return;
  stopped_ = true;
  std::map<std::string, std::shared_ptr<Runner>> gs;
  {
    absl::MutexLock l(&mu_);
    gs = groups_;
  }
  for (auto& [key, r] : gs) r->StopAndJoin();
}

void Manager::EvalAt(int64_t ts_ms) {
  std::map<std::string, std::shared_ptr<Runner>> gs;
  {
    absl::MutexLock l(&mu_);
    gs = groups_;
  }
  for (auto& [key, r] : gs) r->group->Iterate(ts_ms);
}

std::vector<GroupInfo> Manager::Groups() const {
  std::vector<std::shared_ptr<Runner>> gs;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [k, r] : groups_) gs.push_back(r);
  }
  std::vector<GroupInfo> out;
  out.reserve(gs.size());
  for (const auto& r : gs) {
    const Group& g = *r->group;
    GroupInfo gi;
    gi.name = g.name();
    gi.file = g.file();
    gi.interval_ms = g.interval_ms();
    gi.limit = g.spec().limit;
    gi.eval_seconds = g.last_eval_seconds();
    gi.last_eval_ms = g.last_eval_ms();
    for (const auto& rule : g.rules()) {
      RuleInfo ri;
      ri.alerting = rule->is_alerting();
      ri.name = rule->name();
      ri.query = rule->query();
      ri.labels = rule->label_pairs();
      ri.status = rule->Status();
      if (ri.alerting) {
        const auto& ar = static_cast<const AlertingRule&>(*rule);
        ri.for_ms = ar.hold_ms();
        ri.keep_firing_for_ms = ar.keep_firing_for_ms();
        LabelsBuilder ab;
        for (const auto& [k, v] : rule->spec().annotations) ab.Set(k, v);
        ri.annotations = ab.Labels();
        ri.alerts = ar.ActiveAlerts();
        ri.state = ar.State();
      }
      gi.rules.push_back(std::move(ri));
    }
    out.push_back(std::move(gi));
  }
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) {
    return a.file != b.file ? a.file < b.file : a.name < b.name;
  });
  return out;
}

}  // namespace pharos::alerting::rules
