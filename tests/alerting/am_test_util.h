#pragma once

// Shared fakes for the router runtime tests: a settable clock, integrations that record calls
// and answer from a script, and a hand-built routing tree.

#include <atomic>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "alerting/am/route.h"
#include "alerting/am/types.h"
#include "alerting/clock.h"
#include "alerting/notify/notifier.h"
#include "alerting/state/state_store.h"
#include "fake_route.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t t) { now_.store(t); }
  void Advance(int64_t d) { now_.fetch_add(d); }

 private:
  std::atomic<int64_t> now_;
};

struct Call {
  std::string group_key;
  LabelSet group_labels;
  std::vector<Alert> alerts;
  int64_t now_ms = 0;
  int64_t at_ms = 0;  // clock when called
};

// Records every Notify; answers from `script` (front first), then `fallback`.
class FakeIntegration final : public notify::Integration {
 public:
  FakeIntegration(const Clock* clock, std::string type = "webhook", int index = 0,
                  bool send_resolved = true)
      : clock_(clock), type_(std::move(type)), index_(index), send_resolved_(send_resolved) {}
  std::string type() const override { return type_; }
  int index() const override { return index_; }
  bool send_resolved() const override { return send_resolved_; }
  notify::NotifyResult Notify(const notify::NotificationContext& ctx,
                              const std::vector<Alert>& alerts) override {
    absl::MutexLock l(&mu_);
    calls_.push_back({ctx.group_key, ctx.group_labels, alerts, ctx.now_ms, clock_->NowMs()});
    if (hang_) {
      mu_.Await(absl::Condition(+[](bool* h) { return !*h; }, &hang_));
    }
    if (!script_.empty()) {
      auto r = script_.front();
      script_.pop_front();
      return r;
    }
    return {};
  }
  void Script(notify::NotifyResult r) {
    absl::MutexLock l(&mu_);
    script_.push_back(std::move(r));
  }
  void SetHang(bool h) {
    absl::MutexLock l(&mu_);
    hang_ = h;
  }
  std::vector<Call> calls() const {
    absl::MutexLock l(&mu_);
    return calls_;
  }
  size_t num_calls() const {
    absl::MutexLock l(&mu_);
    return calls_.size();
  }
  // Waits (bounded, real time) until at least n calls were made.
  bool WaitCalls(size_t n) const {
    absl::MutexLock l(&mu_);
    struct Arg { const std::vector<Call>* c; size_t n; } arg{&calls_, n};
    return mu_.AwaitWithTimeout(
        absl::Condition(+[](Arg* a) { return a->c->size() >= a->n; }, &arg), absl::Seconds(10));
  }

 private:
  const Clock* clock_;
  std::string type_;
  int index_;
  bool send_resolved_;
  mutable absl::Mutex mu_;
  std::vector<Call> calls_;
  std::deque<notify::NotifyResult> script_;
  bool hang_ = false;
};

inline Alert MakeAlert(LabelSet labels, int64_t starts_at, int64_t ends_at = 0) {
  Alert a;
  a.labels = std::move(labels);
  a.starts_at_ms = starts_at;
  a.ends_at_ms = ends_at;
  return a;
}

inline std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// "alertname[:r]" per alert (":r" when ends_at is set), in order.
inline std::vector<std::string> Names(const std::vector<Alert>& alerts) {
  std::vector<std::string> out;
  for (const Alert& a : alerts) out.push_back(a.Name() + (a.ends_at_ms != 0 ? ":r" : ""));
  return out;
}

}  // namespace pharos::alerting::am::testing
