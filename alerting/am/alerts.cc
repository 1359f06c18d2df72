#include "alerting/am/alerts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "alerting/am/mute.h"
#include "alerting/clock.h"
#include "common/metrics.h"
#include "storage/labels/labels.h"

namespace pharos::alerting::am {
namespace {

absl::Status ValidateLabels(const LabelSet& ls) {
  for (const auto& [n, v] : ls) {
    if (!IsValidLegacyLabelName(n)) return absl::InvalidArgumentError(absl::StrCat("invalid name \"", n, "\""));
    if (!IsValidUtf8(v)) return absl::InvalidArgumentError(absl::StrCat("invalid value for \"", n, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAlert(const Alert& a) {
  if (a.starts_at_ms == 0) return absl::InvalidArgumentError("start time missing");
  if (a.ends_at_ms != 0 && a.ends_at_ms < a.starts_at_ms) {
    return absl::InvalidArgumentError("start time must be before end time");
  }
  if (auto s = ValidateLabels(a.labels); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid label set: ", s.message()));
  }
  if (a.labels.empty()) return absl::InvalidArgumentError("at least one label pair required");
  if (auto s = ValidateLabels(a.annotations); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid annotations: ", s.message()));
  }
  return absl::OkStatus();
}

Alert MergeAlerts(const Alert& a, const Alert& o, int64_t now_ms) {
  // `o` is the newer one.
  if (o.updated_at_ms < a.updated_at_ms) return MergeAlerts(o, a, now_ms);
  Alert res = o;
  if (a.starts_at_ms < o.starts_at_ms) res.starts_at_ms = a.starts_at_ms;
  if (o.ResolvedAt(now_ms)) {
    // The latest explicit resolve time wins when both are resolved.
    if (a.ResolvedAt(now_ms) && a.ends_at_ms > o.ends_at_ms) res.ends_at_ms = a.ends_at_ms;
  } else if (a.ends_at_ms > o.ends_at_ms && !a.timeout) {
    // A later ends_at that is not a timeout always rules.
    res.ends_at_ms = a.ends_at_ms;
  }
  return res;
}

// The alerts{state} gauge is computed at scrape time; the registry may outlive the store, so the
// collector reaches the store through this handle, cleared by the destructor.
struct AlertStore::Collector {
  absl::Mutex mu;
  AlertStore* store ABSL_GUARDED_BY(mu) = nullptr;
};

AlertStore::AlertStore(const AlertStoreOptions& opts)
    : opts_(opts), resolve_timeout_ms_(opts.resolve_timeout_ms) {
  if (opts_.registry != nullptr) {
    auto& received = opts_.registry->AddCounter("pharos_alertmanager_alerts_received_total",
                                                "Alerts received by the router.", {"status"});
    received_firing_ = &received.WithLabels({"firing"});
    received_resolved_ = &received.WithLabels({"resolved"});
    invalid_ = &opts_.registry->AddCounter("pharos_alertmanager_alerts_invalid_total",
                                           "Alerts rejected as invalid or over the limit.")
                    .Get();
    collector_ = std::make_shared<Collector>();
    {
      absl::MutexLock l(&collector_->mu);
      collector_->store = this;
    }
    std::weak_ptr<Collector> weak = collector_;
    opts_.registry->AddCollector([weak](MetricWriter& w) {
      auto c = weak.lock();
      if (!c) return;
      absl::MutexLock l(&c->mu);
      if (c->store == nullptr) return;
      AlertStore* s = c->store;
      int64_t now = s->opts_.clock->NowMs();
      double active = 0, suppressed = 0, unprocessed = 0;
      for (const Alert& a : s->List()) {
        if (a.ResolvedAt(now)) continue;
        std::string st = s->opts_.marker ? s->opts_.marker->Status(a.fingerprint()).state
                                         : std::string("unprocessed");
        (st == "active" ? active : st == "suppressed" ? suppressed : unprocessed) += 1;
      }
      w.Header("pharos_alertmanager_alerts", "Alerts held by the router, by state.",
               MetricType::kGauge);
      w.Sample("pharos_alertmanager_alerts", active, {{"state", "active"}});
      w.Sample("pharos_alertmanager_alerts", suppressed, {{"state", "suppressed"}});
      w.Sample("pharos_alertmanager_alerts", unprocessed, {{"state", "unprocessed"}});
    });
  }
}

AlertStore::~AlertStore() {
  if (collector_) {
    absl::MutexLock l(&collector_->mu);
    collector_->store = nullptr;
  }
}

void AlertStore::SetResolveTimeout(int64_t ms) {
  absl::MutexLock l(&mu_);
  resolve_timeout_ms_ = ms;
}

absl::Status AlertStore::Put(std::vector<Alert> alerts) {
  absl::MutexLock put_lock(&put_mu_);
  const int64_t now = opts_.clock->NowMs();
  std::vector<std::string> invalid;
  size_t over_limit = 0;
  std::vector<Alert> stored;
  stored.reserve(alerts.size());
  {
    absl::MutexLock l(&mu_);
    for (Alert& a : alerts) {
      a.updated_at_ms = now;
      if (a.starts_at_ms == 0) a.starts_at_ms = a.ends_at_ms != 0 ? a.ends_at_ms : now;
      if (a.ends_at_ms == 0) {
        a.timeout = true;
        a.ends_at_ms = now + resolve_timeout_ms_;
      }
      if (absl::Status s = ValidateAlert(a); !s.ok()) {
        invalid.push_back(absl::StrCat(a.Name().empty() ? "alert" : a.Name(), ": ", s.message()));
        continue;
      }
      const uint64_t fp = a.fingerprint();
      auto it = alerts_.find(fp);
      if (it != alerts_.end()) {
        const Alert& old = it->second;
        // Merge when the activity ranges overlap (Alertmanager's provider/mem Put).
        if ((a.ends_at_ms > old.starts_at_ms && a.ends_at_ms < old.ends_at_ms) ||
            (a.starts_at_ms > old.starts_at_ms && a.starts_at_ms < old.ends_at_ms)) {
          a = MergeAlerts(old, a, now);
        }
        it->second = a;
      } else {
        if (opts_.max_alerts != 0 && alerts_.size() >= opts_.max_alerts) {
          ++over_limit;
          continue;
        }
        alerts_.emplace(fp, a);
      }
      if (received_firing_) (a.ResolvedAt(now) ? received_resolved_ : received_firing_)->Inc();
      stored.push_back(std::move(a));
    }
  }
  for (const Alert& a : stored) {
    for (auto& [id, fn] : listeners_) fn(a);
  }
  if (invalid_ && (!invalid.empty() || over_limit)) invalid_->Inc(invalid.size() + over_limit);
  if (over_limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        over_limit, " alert(s) rejected: the router holds its limit of ", opts_.max_alerts,
        " alerts", invalid.empty() ? "" : "; invalid: ", absl::StrJoin(invalid, "; ")));
  }
  if (!invalid.empty()) return absl::InvalidArgumentError(absl::StrJoin(invalid, "; "));
  return absl::OkStatus();
}

int AlertStore::Subscribe(Listener fn) {
  absl::MutexLock put_lock(&put_mu_);
  for (const Alert& a : List()) fn(a);
  int id = next_listener_++;
  listeners_.emplace_back(id, std::move(fn));
  return id;
}

void AlertStore::Unsubscribe(int id) {
  absl::MutexLock put_lock(&put_mu_);
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [id](const auto& p) { return p.first == id; }),
                   listeners_.end());
}

std::vector<Alert> AlertStore::List() const {
  std::vector<Alert> out;
  {
    absl::MutexLock l(&mu_);
    out.reserve(alerts_.size());
    for (const auto& [fp, a] : alerts_) out.push_back(a);
  }
  std::sort(out.begin(), out.end(),
            [](const Alert& a, const Alert& b) { return a.fingerprint() < b.fingerprint(); });
  return out;
}

std::optional<Alert> AlertStore::Get(uint64_t fp) const {
  absl::MutexLock l(&mu_);
  auto it = alerts_.find(fp);
  if (it == alerts_.end()) return std::nullopt;
  return it->second;
}

size_t AlertStore::size() const {
  absl::MutexLock l(&mu_);
  return alerts_.size();
}

int AlertStore::GC() {
  const int64_t now = opts_.clock->NowMs();
  std::vector<uint64_t> removed;
  {
    absl::MutexLock l(&mu_);
    for (auto it = alerts_.begin(); it != alerts_.end();) {
      if (it->second.ResolvedAt(now)) {
        removed.push_back(it->first);
        alerts_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  if (opts_.marker) {
    for (uint64_t fp : removed) opts_.marker->Delete(fp);
  }
  return static_cast<int>(removed.size());
}

}  // namespace pharos::alerting::am
