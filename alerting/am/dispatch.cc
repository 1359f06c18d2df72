#include "alerting/am/dispatch.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "alerting/am/alerts.h"
#include "alerting/am/internal/worker_pool.h"
#include "alerting/am/route.h"
#include "alerting/clock.h"
#include "common/metrics.h"

namespace pharos::alerting::am {
namespace {

// Go's strconv.Quote for the label values of a group key.
void AppendGoQuoted(std::string* out, const std::string& s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    switch (c) {
      case '"': out->append("\\\""); continue;
      case '\\': out->append("\\\\"); continue;
      case '\a': out->append("\\a"); continue;
      case '\b': out->append("\\b"); continue;
      case '\f': out->append("\\f"); continue;
      case '\n': out->append("\\n"); continue;
      case '\r': out->append("\\r"); continue;
      case '\t': out->append("\\t"); continue;
      case '\v': out->append("\\v"); continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out->append(buf);
      continue;
    }
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      continue;
    }
    // Multi-byte UTF-8 sequences are copied when well formed; stray bytes are escaped.
    int extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    bool ok = extra > 0 && i + extra < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (!ok) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out->append(buf);
      continue;
    }
    out->append(s, i, extra + 1);
    i += extra;
  }
  out->push_back('"');
}

// Go's LabelSet.Before: fewer labels first, then by values in label-name order.
bool LabelSetBefore(const LabelSet& a, const LabelSet& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  std::vector<std::string_view> names;
  for (const auto& [n, v] : a) names.push_back(n);
  for (const auto& [n, v] : b) names.push_back(n);
  std::sort(names.begin(), names.end());
  for (std::string_view n : names) {
    auto ia = a.find(n);
    if (ia == a.end()) return true;
    auto ib = b.find(n);
    if (ib == b.end()) return false;
    if (ia->second != ib->second) return ia->second < ib->second;
  }
  return false;
}

}  // namespace

std::string LabelSetString(const LabelSet& ls) {
  std::vector<std::string> parts;
  parts.reserve(ls.size());
  for (const auto& [n, v] : ls) {
    std::string p = n + "=";
    AppendGoQuoted(&p, v);
    parts.push_back(std::move(p));
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

bool AlertLess(const Alert& a, const Alert& b) {
  for (const char* key : {"job", "instance"}) {
    auto ia = a.labels.find(key);
    auto ib = b.labels.find(key);
    bool ha = ia != a.labels.end(), hb = ib != b.labels.end();
    if (!ha && !hb) continue;
    if (!ha) return false;
    if (!hb) return true;
    if (ia->second != ib->second) return ia->second < ib->second;
  }
  return LabelSetBefore(a.labels, b.labels);
}

struct Dispatcher::Group {
  GroupId id;
  const RouteNode* route;
  LabelSet labels;
  std::string key;
  std::map<uint64_t, Alert> alerts;  // by fingerprint
  int64_t next_flush_ms = 0;
  bool has_flushed = false;
  bool flushing = false;
};

Dispatcher::Dispatcher(const RouteNode* root, AlertStore* store, const DispatcherOptions& opts)
    : root_(root), store_(store), opts_(opts) {
  if (opts_.registry != nullptr) {
    groups_gauge_ = &opts_.registry
                         ->AddGauge("pharos_alertmanager_aggregation_groups",
                                    "Aggregation groups held by the dispatcher.")
                         .Get();
  }
}

Dispatcher::~Dispatcher() {
  Stop();
  if (groups_gauge_) {
    absl::MutexLock l(&mu_);
    groups_gauge_->Add(-static_cast<double>(groups_.size()));
  }
}

void Dispatcher::Subscribe() {
  if (subscription_ != 0 || store_ == nullptr) return;
  subscription_ = store_->Subscribe([this](const Alert& a) { Ingest(a); });
}

void Dispatcher::Start() {
  Subscribe();
  absl::MutexLock l(&mu_);
  if (started_) return;
  started_ = true;
  pool_ = std::make_unique<internal::WorkerPool>(std::max(1, opts_.flush_workers));
  thread_ = std::thread([this] { Loop(); });
}

void Dispatcher::Stop() {
  if (subscription_ != 0) {
    store_->Unsubscribe(subscription_);
    subscription_ = 0;
  }
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // Waits for queued and running flushes (each bounded by its group_interval deadline).
  pool_.reset();
}

void Dispatcher::Schedule(Group* g, int64_t at) {
  timers_.erase({g->next_flush_ms, g});
  g->next_flush_ms = at;
  timers_.insert({at, g});
  wake_ = true;  // the loop may be sleeping towards a later deadline
}

void Dispatcher::DeleteGroup(Group* g) {
  timers_.erase({g->next_flush_ms, g});
  groups_.erase(g->id);  // destroys g
  if (groups_gauge_) groups_gauge_->Add(-1);
}

void Dispatcher::Ingest(const Alert& alert) {
  const int64_t now = opts_.clock->NowMs();
  const uint64_t fp = alert.fingerprint();
  absl::MutexLock l(&mu_);
  for (const RouteNode* route : root_->Match(alert.labels)) {
    const RouteOpts& ro = route->opts();
    LabelSet gl = ro.GroupLabels(alert.labels);
    GroupId id{route, Fingerprint(gl)};
    auto it = groups_.find(id);
    if (it == groups_.end()) {
      auto g = std::make_unique<Group>();
      g->id = id;
      g->route = route;
      g->key = absl::StrCat(route->Key(), ":", LabelSetString(gl));
      g->labels = std::move(gl);
      g->next_flush_ms = now + ro.group_wait_ms;
      timers_.insert({g->next_flush_ms, g.get()});
      wake_ = true;
      it = groups_.emplace(id, std::move(g)).first;
      if (groups_gauge_) groups_gauge_->Add(1);
    }
    Group* g = it->second.get();
    g->alerts[fp] = alert;
    // The group's wait is already over for this alert: flush at once (first flush only).
    if (!g->has_flushed && alert.starts_at_ms + ro.group_wait_ms < now &&
        g->next_flush_ms > now) {
      Schedule(g, now);
    }
  }
}

std::optional<int64_t> Dispatcher::NextDeadline() const {
  absl::MutexLock l(&mu_);
  for (const auto& [at, g] : timers_) {
    if (!g->flushing) return at;
  }
  return std::nullopt;
}

int Dispatcher::RunDue(int64_t now_ms) {
  std::vector<std::pair<Group*, std::shared_ptr<FlushRequest>>> due;
  bool async;
  {
    absl::MutexLock l(&mu_);
    async = pool_ != nullptr;
    std::vector<Group*> ready;
    for (const auto& [at, g] : timers_) {
      if (at > now_ms) break;
      if (!g->flushing) ready.push_back(g);
    }
    for (Group* g : ready) {
      if (g->alerts.empty()) {
        DeleteGroup(g);
        continue;
      }
      const RouteOpts& ro = g->route->opts();
      Schedule(g, now_ms + ro.group_interval_ms);
      g->has_flushed = true;
      g->flushing = true;
      auto req = std::make_shared<FlushRequest>();
      req->receiver = ro.receiver;
      req->group_key = g->key;
      req->route_id = g->route->ID();
      req->group_labels = g->labels;
      req->now_ms = now_ms;
      req->group_interval_ms = ro.group_interval_ms;
      req->repeat_interval_ms = ro.repeat_interval_ms;
      req->mute_time_intervals = ro.mute_time_intervals;
      req->active_time_intervals = ro.active_time_intervals;
      req->alerts.reserve(g->alerts.size());
      for (const auto& [fp, a] : g->alerts) {
        req->alerts.push_back(a);
        // Receivers see firing alerts without the resolve_timeout end time.
        if (!a.ResolvedAt(now_ms)) req->alerts.back().ends_at_ms = 0;
      }
      std::stable_sort(req->alerts.begin(), req->alerts.end(), AlertLess);
      ++in_flight_;
      due.emplace_back(g, std::move(req));
    }
  }
  for (auto& [g, req] : due) {
    if (async) {
      pool_->Submit([this, g = g, req = req] { Finish(g, *req, opts_.flush(*req)); });
    } else {
      Finish(g, *req, opts_.flush(*req));
    }
  }
  return static_cast<int>(due.size());
}

void Dispatcher::Finish(Group* g, const FlushRequest& req, bool ok) {
  absl::MutexLock l(&mu_);
  --in_flight_;
  g->flushing = false;
  if (ok) {
    // Drop the resolved alerts just notified, unless they were updated (e.g. fired again)
    // while the flush ran.
    for (const Alert& sent : req.alerts) {
      if (!sent.ResolvedAt(req.now_ms)) continue;
      auto it = g->alerts.find(sent.fingerprint());
      if (it != g->alerts.end() && it->second.updated_at_ms == sent.updated_at_ms) {
        g->alerts.erase(it);
      }
    }
  }
  if (g->alerts.empty()) DeleteGroup(g);
}

void Dispatcher::Loop() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    wake_ = false;
    const int64_t now = opts_.clock->NowMs();
    std::optional<int64_t> next;
    for (const auto& [at, g] : timers_) {
      if (!g->flushing) {
        next = at;
        break;
      }
    }
    if (next && *next <= now) {
      mu_.Unlock();
      RunDue(now);
      mu_.Lock();
      continue;
    }
    // Woken early when a flush is scheduled (new group, earlier deadline) or by Stop;
    // otherwise re-check at least every second (a flush finishing makes its group eligible
    // again).
    int64_t wait = next ? std::min<int64_t>(*next - now, 1000) : 1000;
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
    mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(wait));
  }
}

std::vector<Dispatcher::GroupInfo> Dispatcher::Groups() const {
  std::vector<GroupInfo> out;
  absl::MutexLock l(&mu_);
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) {
    GroupInfo info;
    info.labels = g->labels;
    info.receiver = g->route->opts().receiver;
    info.group_key = g->key;
    info.route_id = g->route->ID();
    for (const auto& [fp, a] : g->alerts) info.alerts.push_back(a);
    std::stable_sort(info.alerts.begin(), info.alerts.end(), AlertLess);
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const GroupInfo& a, const GroupInfo& b) { return a.group_key < b.group_key; });
  return out;
}

size_t Dispatcher::num_groups() const {
  absl::MutexLock l(&mu_);
  return groups_.size();
}

}  // namespace pharos::alerting::am
