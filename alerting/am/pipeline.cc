#include "alerting/am/pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "alerting/am/internal/worker_pool.h"
#include "alerting/am/mute.h"
#include "alerting/clock.h"
#include "alerting/state/state_store.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace pharos::alerting::am {
namespace {

// Alertmanager's failure reasons (notifications_failed_total{reason}).
const char* FailureReason(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      return "clientError";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDataLoss:
      return "serverError";
    default:
      return "other";
  }
}

}  // namespace

struct Pipeline::Receiver {
  std::string name;
  std::vector<std::unique_ptr<notify::Integration>> integrations;
  std::optional<DigestSchedule> schedule;
  std::unique_ptr<DigestBuffer> buffer;
  int64_t retry_at_ms = 0;  // a failed digest is retried then
  int failures = 0;
};

struct Pipeline::Metrics {
  Family<Counter>* total = nullptr;
  Family<Counter>* failed = nullptr;
  Family<Histogram>* latency = nullptr;
};

Pipeline::Pipeline(const PipelineOptions& opts) : opts_(opts), metrics_(new Metrics) {
  rng_.seed(opts.seed != 0 ? opts.seed : std::random_device{}());
}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(
    const PipelineOptions& opts, std::vector<PipelineReceiver> receivers) {
  if (opts.clock == nullptr || opts.nflog == nullptr) {
    return absl::InvalidArgumentError("pipeline: clock and nflog are required");
  }
  std::unique_ptr<Pipeline> p(new Pipeline(opts));
  for (PipelineReceiver& pr : receivers) {
    auto r = std::make_unique<Receiver>();
    r->name = pr.name;
    r->integrations = std::move(pr.integrations);
    if (pr.digest.has_value()) {
      if (opts.state == nullptr) {
        return absl::InvalidArgumentError("pipeline: digest receivers need a state store");
      }
      auto sched = ParseDigestSchedule(pr.digest->schedule, pr.digest->location);
      if (!sched.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("receiver \"", pr.name, "\": ", sched.status().message()));
      }
      r->schedule = std::move(*sched);
      auto buf = DigestBuffer::Open(opts.state, pr.name);
      if (!buf.ok()) return buf.status();
      r->buffer = std::move(*buf);
    }
    if (!p->receivers_.emplace(pr.name, std::move(r)).second) {
      return absl::InvalidArgumentError(absl::StrCat("pipeline: duplicate receiver \"", pr.name, "\""));
    }
  }
  if (opts.registry != nullptr) {
    p->metrics_->total = &opts.registry->AddCounter("pharos_alertmanager_notifications_total",
                                                    "Notification attempts.", {"integration"});
    p->metrics_->failed = &opts.registry->AddCounter(
        "pharos_alertmanager_notifications_failed_total", "Failed notification attempts.",
        {"integration", "reason"});
    p->metrics_->latency = &opts.registry->AddHistogram(
        "pharos_alertmanager_notification_latency_seconds", "Latency of notification attempts.",
        {"integration"}, {1, 5, 10, 15, 20});
  }
  p->pool_ = std::make_unique<internal::WorkerPool>(std::max(1, opts.send_workers));
  return p;
}

Pipeline::~Pipeline() {
  Stop();
  pool_.reset();
}

void Pipeline::Start() {
  bool any_digest = std::any_of(receivers_.begin(), receivers_.end(),
                                [](const auto& kv) { return kv.second->schedule.has_value(); });
  if (!any_digest || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Pipeline::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Pipeline::Sleep(int64_t ms) {
  if (opts_.sleep) return opts_.sleep(ms);
  absl::MutexLock l(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(ms));
  return !stopping_;
}

int64_t Pipeline::Backoff(int attempt) {
  // Exponential from backoff_initial (x2 per attempt), capped, with +-50% jitter so that
  // receivers failing together do not retry in lockstep.
  double d = static_cast<double>(opts_.backoff_initial_ms);
  for (int i = 0; i < attempt && d < opts_.backoff_max_ms; ++i) d *= 2;
  d = std::min(d, static_cast<double>(opts_.backoff_max_ms));
  absl::MutexLock l(&mu_);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return std::max<int64_t>(1, static_cast<int64_t>(d * jitter(rng_)));
}

bool Pipeline::NeedsUpdate(const std::optional<NflogEntry>& entry,
                           const std::vector<uint64_t>& firing,
                           const std::vector<uint64_t>& resolved, bool send_resolved,
                           int64_t repeat_interval_ms, int64_t now_ms) {
  // Never notified: only when something fires.
  if (!entry.has_value()) return !firing.empty();
  if (!entry->IsFiringSubset(firing)) return true;
  // Everything resolved: notify (whatever send_resolved says, so the log forgets the firing
  // alerts) unless the last notification had nothing firing either.
  if (firing.empty()) return !entry->firing.empty();
  if (send_resolved && !entry->IsResolvedSubset(resolved)) return true;
  // Nothing changed: only once repeat_interval has passed.
  return entry->timestamp_ms < now_ms - repeat_interval_ms;
}

bool Pipeline::Mute(const FlushRequest& req, std::vector<Alert>* alerts) {
  // Alertmanager's order: inhibition, active time intervals, mute time intervals, silences.
  auto filter = [alerts](Muter* m) {
    if (m == nullptr) return;
    alerts->erase(std::remove_if(alerts->begin(), alerts->end(),
                                 [m](const Alert& a) { return m->Mutes(a.labels); }),
                  alerts->end());
  };
  filter(opts_.inhibitor);
  auto active = [&](const std::string& name) {
    return opts_.interval_active && opts_.interval_active(name, req.now_ms);
  };
  if (!req.active_time_intervals.empty() &&
      std::none_of(req.active_time_intervals.begin(), req.active_time_intervals.end(), active)) {
    alerts->clear();
  }
  if (std::any_of(req.mute_time_intervals.begin(), req.mute_time_intervals.end(), active)) {
    alerts->clear();
  }
  filter(opts_.silencer);
  return !alerts->empty();
}

bool Pipeline::Exec(const FlushRequest& req) {
  auto it = receivers_.find(req.receiver);
  if (it == receivers_.end()) {
    if (opts_.logger) {
      opts_.logger->error("msg=\"no pipeline for receiver\" receiver=\"{}\" group_key=\"{}\"",
                          req.receiver, req.group_key);
    }
    return false;
  }
  Receiver& r = *it->second;
  std::vector<Alert> alerts = req.alerts;
  if (!Mute(req, &alerts)) return true;  // all muted: nothing to send, and that is success
  if (r.buffer) {
    absl::Status s = r.buffer->Record(alerts, req.now_ms);
    if (!s.ok() && opts_.logger) {
      opts_.logger->error("msg=\"recording digest failed\" receiver=\"{}\" err=\"{}\"", r.name,
                          s.message());
    }
    return s.ok();
  }
  const int64_t deadline =
      req.now_ms + std::max(req.group_interval_ms, opts_.min_flush_timeout_ms);
  return Fanout(r, [&](notify::Integration* in) {
    return SendOne(in, r.name, req.group_key, req.group_labels, alerts, req.now_ms,
                   req.repeat_interval_ms, deadline, /*digest=*/false);
  });
}

bool Pipeline::Fanout(const Receiver& r, const std::function<bool(notify::Integration*)>& fn) {
  const size_t n = r.integrations.size();
  if (n == 0) return true;
  if (n == 1) return fn(r.integrations[0].get());
  // The first integration runs on this thread, the others on the pool, so one hanging
  // integration delays none of the others' deliveries.
  struct State {
    absl::Mutex mu;
    size_t pending ABSL_GUARDED_BY(mu) = 0;
    bool ok ABSL_GUARDED_BY(mu) = true;
  };
  auto st = std::make_shared<State>();
  {
    absl::MutexLock l(&st->mu);
    st->pending = n - 1;
  }
  for (size_t i = 1; i < n; ++i) {
    notify::Integration* in = r.integrations[i].get();
    pool_->Submit([st, in, &fn] {
      bool ok = fn(in);
      absl::MutexLock l(&st->mu);
      st->ok = st->ok && ok;
      --st->pending;
    });
  }
  bool ok = fn(r.integrations[0].get());
  absl::MutexLock l(&st->mu);
  st->mu.Await(absl::Condition(
      +[](State* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->pending == 0; }, st.get()));
  return ok && st->ok;
}

bool Pipeline::SendOne(notify::Integration* in, const std::string& receiver,
                       const std::string& group_key, const LabelSet& group_labels,
                       const std::vector<Alert>& alerts, int64_t now_ms,
                       int64_t repeat_interval_ms, int64_t deadline_ms, bool digest) {
  const std::string type = in->type();
  NflogReceiver nr{receiver, type, in->index()};
  std::vector<uint64_t> firing, resolved;
  for (const Alert& a : alerts) {
    (a.ResolvedAt(now_ms) ? resolved : firing).push_back(a.fingerprint());
  }
  std::sort(firing.begin(), firing.end());
  std::sort(resolved.begin(), resolved.end());
  std::optional<NflogEntry> entry = opts_.nflog->Query(nr, group_key);
  if (digest) {
    if (entry.has_value()) return true;  // this period's digest already went out here
  } else if (!NeedsUpdate(entry, firing, resolved, in->send_resolved(), repeat_interval_ms,
                          now_ms)) {
    return true;
  }
  std::vector<Alert> send;
  if (digest || in->send_resolved()) {
    send = alerts;
  } else {
    for (const Alert& a : alerts) {
      if (!a.ResolvedAt(now_ms)) send.push_back(a);
    }
  }
  bool delivered = send.empty();  // only resolved alerts and !send_resolved: just log them
  for (int attempt = 0; !delivered; ++attempt) {
    const int64_t start = opts_.clock->NowMs();
    notify::NotificationContext ctx;
    ctx.receiver = receiver;
    ctx.group_key = group_key;
    ctx.group_labels = group_labels;
    ctx.external_url = opts_.external_url;
    ctx.now_ms = now_ms;
    ctx.templates = opts_.templates;
    ctx.timeout_ms = std::max<int64_t>(1000, std::min(opts_.notify_timeout_ms, deadline_ms - start));
    const auto wall_start = std::chrono::steady_clock::now();
    notify::NotifyResult res = in->Notify(ctx, send);
    if (metrics_->total) {
      metrics_->latency->WithLabels({type}).Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
      metrics_->total->WithLabels({type}).Inc();
    }
    if (res.status.ok()) {
      delivered = true;
      break;
    }
    if (metrics_->failed) metrics_->failed->WithLabels({type, FailureReason(res.status)}).Inc();
    if (!res.retry) {
      if (opts_.logger) {
        opts_.logger->error(
            "msg=\"notify failed, not retrying\" receiver=\"{}\" integration=\"{}[{}]\" "
            "group_key=\"{}\" attempts={} err=\"{}\"",
            receiver, type, in->index(), group_key, attempt + 1, res.status.message());
      }
      return false;
    }
    const int64_t delay = Backoff(attempt);
    if (opts_.clock->NowMs() + delay >= deadline_ms || !Sleep(delay)) {
      if (opts_.logger) {
        opts_.logger->error(
            "msg=\"notify retries exhausted\" receiver=\"{}\" integration=\"{}[{}]\" "
            "group_key=\"{}\" attempts={} err=\"{}\"",
            receiver, type, in->index(), group_key, attempt + 1, res.status.message());
      }
      return false;
    }
  }
  if (absl::Status s = opts_.nflog->Log(nr, group_key, std::move(firing), std::move(resolved));
      !s.ok()) {
    if (opts_.logger) {
      opts_.logger->error("msg=\"writing notification log failed\" group_key=\"{}\" err=\"{}\"",
                          group_key, s.message());
    }
    return false;
  }
  return true;
}

int Pipeline::RunDueDigests(int64_t now_ms) {
  int sent = 0;
  for (auto& [name, rp] : receivers_) {
    Receiver& r = *rp;
    if (!r.schedule) continue;
    const int64_t period_end = r.schedule->Prev(now_ms);
    const int64_t last = r.buffer->last_sent_ms();
    if (period_end <= last || now_ms < r.retry_at_ms) continue;
    std::vector<DigestRecord> records = r.buffer->Records();
    // Only what was recorded up to the end of the period; later records wait for the next one.
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [&](const DigestRecord& d) { return d.first_seen_ms > period_end; }),
                  records.end());
    bool ok = true;
    if (!records.empty()) {
      const int64_t prev = r.schedule->Prev(period_end - 1);
      const int64_t period_start = last > 0 && last > prev ? last : prev;
      DigestNotification n = BuildDigest(r.name, *r.schedule, period_start, period_end, records);
      const int64_t deadline = now_ms + std::max<int64_t>(opts_.min_flush_timeout_ms, 5 * 60 * 1000);
      ok = Fanout(r, [&](notify::Integration* in) {
        return SendOne(in, r.name, n.group_key, n.group_labels, n.alerts, now_ms, 0, deadline,
                       /*digest=*/true);
      });
      if (ok) ++sent;
    }
    if (ok) {
      absl::Status s = r.buffer->MarkSent(period_end, records);
      ok = s.ok();
      if (!ok && opts_.logger) {
        opts_.logger->error("msg=\"digest state write failed\" receiver=\"{}\" err=\"{}\"",
                            r.name, s.message());
      }
    }
    if (ok) {
      r.failures = 0;
      r.retry_at_ms = 0;
    } else {
      r.retry_at_ms = now_ms + Backoff(std::min(++r.failures, 10));
    }
  }
  return sent;
}

std::optional<int64_t> Pipeline::NextDigestDeadline() const {
  std::optional<int64_t> next;
  const int64_t now = opts_.clock->NowMs();
  for (const auto& [name, rp] : receivers_) {
    const Receiver& r = *rp;
    if (!r.schedule) continue;
    int64_t t;
    if (r.retry_at_ms != 0) {
      t = r.retry_at_ms;
    } else {
      const int64_t last = r.buffer->last_sent_ms();
      // A period that ended while we were down is due now.
      t = r.schedule->Prev(now) > last ? now : r.schedule->Next(std::max(last, now));
    }
    if (!next || t < *next) next = t;
  }
  return next;
}

void Pipeline::Loop() {
  for (;;) {
    const int64_t now = opts_.clock->NowMs();
    std::optional<int64_t> next = NextDigestDeadline();
    if (next && *next <= now) {
      RunDueDigests(now);
      continue;
    }
    int64_t wait = next ? std::min<int64_t>(*next - now, 60 * 1000) : 60 * 1000;
    absl::MutexLock l(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(wait))) return;
  }
}

}  // namespace pharos::alerting::am
