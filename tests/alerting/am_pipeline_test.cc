// Notification pipeline with the dispatcher: dedup (needsUpdate), repeat_interval, resolved
// notifications, send_resolved filtering, retries, a hanging integration, muting, and restart
// with a persisted notification log.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "alerting/am/alerts.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/mute.h"
#include "alerting/am/nflog.h"
#include "alerting/am/pipeline.h"
#include "alerting/state/state_store.h"
#include "am_test_util.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

using ::testing::ElementsAre;
using namespace ::pharos::alerting::am::testing;

constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;

class LabelMuter final : public Muter {
 public:
  LabelMuter(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  bool Mutes(const LabelSet& ls) override {
    auto it = ls.find(name_);
    return it != ls.end() && it->second == value_;
  }

 private:
  std::string name_, value_;
};

// Everything a router needs, over one state directory; Restart() rebuilds it all from disk.
struct Router {
  std::string dir;
  FakeClock* clock;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Nflog> nflog;
  std::unique_ptr<AlertStore> store;
  std::unique_ptr<RouteNode> root;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Dispatcher> dispatcher;
  std::vector<FakeIntegration*> ints;  // owned by the pipeline
  Registry registry;
  Muter* inhibitor = nullptr;
  Muter* silencer = nullptr;
  std::function<bool(const std::string&, int64_t)> interval_active;
  RouteOpts ro;
  std::vector<bool> send_resolved = {true};

  Router(const std::string& name, FakeClock* c) : dir(FreshDir(name)), clock(c) {
    ro.receiver = "team";
    ro.group_by = {"alertname"};
    ro.group_wait_ms = 30 * kSec;
    ro.group_interval_ms = 5 * kMin;
    ro.repeat_interval_ms = 60 * kMin;
  }
  void Build() {
    dispatcher.reset();
    pipeline.reset();
    store.reset();
    nflog.reset();
    state.reset();
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    state = std::move(*s);
    auto n = Nflog::Open({.store = state.get(), .clock = clock});
    ASSERT_TRUE(n.ok()) << n.status();
    nflog = std::move(*n);
    store = std::make_unique<AlertStore>(AlertStoreOptions{.clock = clock});
    root = testing::Build(MakeRoute(ro));
    PipelineReceiver pr;
    pr.name = "team";
    ints.clear();
    for (size_t i = 0; i < send_resolved.size(); ++i) {
      auto fi = std::make_unique<FakeIntegration>(clock, "webhook", static_cast<int>(i),
                                                  send_resolved[i]);
      ints.push_back(fi.get());
      pr.integrations.push_back(std::move(fi));
    }
    std::vector<PipelineReceiver> rs;
    rs.push_back(std::move(pr));
    PipelineOptions po;
    po.clock = clock;
    po.nflog = nflog.get();
    po.state = state.get();
    po.registry = &registry;
    po.inhibitor = inhibitor;
    po.silencer = silencer;
    po.interval_active = interval_active;
    po.seed = 42;
    FakeClock* fc = clock;
    po.sleep = [fc](int64_t ms) {
      fc->Advance(ms);
      return true;
    };
    auto p = Pipeline::Create(po, std::move(rs));
    ASSERT_TRUE(p.ok()) << p.status();
    pipeline = std::move(*p);
    Pipeline* pp = pipeline.get();
    dispatcher = std::make_unique<Dispatcher>(
        root.get(), store.get(),
        DispatcherOptions{.clock = clock, .flush = [pp](const FlushRequest& r) { return pp->Exec(r); }});
    dispatcher->Subscribe();
  }
  void Put(std::vector<Alert> alerts) { ASSERT_TRUE(store->Put(std::move(alerts)).ok()); }
  // What the rule evaluator keeps sending (re-put at every At, as Prometheus re-sends firing
  // alerts; without it they resolve by resolve_timeout).
  std::vector<Alert> live;
  // Runs the dispatcher at `t` (sets the clock, re-puts `live` first).
  int At(int64_t t) {
    clock->Set(t);
    if (!live.empty()) Put(live);
    return dispatcher->RunDue(t);
  }
};

const LabelSet kA1 = {{"alertname", "A"}, {"instance", "1"}};
const LabelSet kA2 = {{"alertname", "A"}, {"instance", "2"}};

TEST(NeedsUpdateTest, AlertmanagerCases) {
  std::optional<NflogEntry> none;
  EXPECT_TRUE(Pipeline::NeedsUpdate(none, {1}, {}, true, 100, 1000));
  EXPECT_FALSE(Pipeline::NeedsUpdate(none, {}, {1}, true, 100, 1000));
  NflogEntry e;
  e.firing = {1, 2};
  e.timestamp_ms = 950;
  EXPECT_FALSE(Pipeline::NeedsUpdate(e, {1, 2}, {}, true, 100, 1000));
  EXPECT_FALSE(Pipeline::NeedsUpdate(e, {1}, {2}, false, 100, 1000));  // !send_resolved
  EXPECT_TRUE(Pipeline::NeedsUpdate(e, {1}, {2}, true, 100, 1000));
  EXPECT_TRUE(Pipeline::NeedsUpdate(e, {1, 3}, {}, false, 100, 1000));  // new firing alert
  EXPECT_TRUE(Pipeline::NeedsUpdate(e, {}, {1, 2}, false, 100, 1000));  // all resolved
  EXPECT_FALSE(Pipeline::NeedsUpdate(e, {1, 2}, {}, true, 50, 1000));   // exactly repeat: no
  EXPECT_TRUE(Pipeline::NeedsUpdate(e, {1, 2}, {}, true, 49, 1000));
  NflogEntry empty;
  EXPECT_FALSE(Pipeline::NeedsUpdate(empty, {}, {1}, true, 0, 1000));
}

TEST(PipelineTest, DedupRepeatAndResolve) {
  FakeClock clock(kT0);
  Router r("pipeline_dedup", &clock);
  r.Build();
  r.live = {MakeAlert(kA1, kT0)};
  r.At(kT0);  // the alerts arrive; group_wait runs from here
  int64_t t = kT0 + 30 * kSec;
  r.At(t);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  EXPECT_EQ(r.ints[0]->calls()[0].group_key, "{}:{alertname=\"A\"}");
  // Nothing changed: the next flushes send nothing until repeat_interval (60m) has passed;
  // at exactly +60m not yet (the last send must be strictly before now - repeat_interval).
  for (int i = 1; i <= 12; ++i) r.At(t + i * 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 1u);
  r.At(t + 13 * 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 2u);
  // A second alert: sent at the next group_interval.
  r.live = {MakeAlert(kA1, kT0), MakeAlert(kA2, t + 13 * 5 * kMin)};
  r.At(t + 14 * 5 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 3u);
  EXPECT_THAT(Names(r.ints[0]->calls()[2].alerts), ElementsAre("A", "A"));
  // kA2 resolves: send_resolved -> sent with it resolved.
  r.live = {MakeAlert(kA1, kT0)};
  r.Put({MakeAlert(kA2, kT0, t + 14 * 5 * kMin + kMin)});
  r.At(t + 15 * 5 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 4u);
  EXPECT_THAT(Names(r.ints[0]->calls()[3].alerts), ElementsAre("A", "A:r"));
  // Nothing more to say.
  r.At(t + 16 * 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 4u);
  // kA1 resolves: the group's last notification, then the group is gone.
  r.live.clear();
  r.Put({MakeAlert(kA1, kT0, t + 16 * 5 * kMin + kMin)});
  r.At(t + 17 * 5 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 5u);
  EXPECT_THAT(Names(r.ints[0]->calls()[4].alerts), ElementsAre("A:r"));
  EXPECT_EQ(r.dispatcher->num_groups(), 0u);
  EXPECT_THAT(r.registry.Expose(),
              ::testing::HasSubstr("pharos_alertmanager_notifications_total{integration=\"webhook\"} 5"));
}

TEST(PipelineTest, SendResolvedFalse) {
  FakeClock clock(kT0);
  Router r("pipeline_no_resolved", &clock);
  r.send_resolved = {false};
  r.Build();
  r.live = {MakeAlert(kA1, kT0), MakeAlert(kA2, kT0)};
  r.At(kT0);  // the alerts arrive; group_wait runs from here
  int64_t t = kT0 + 30 * kSec;
  r.At(t);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  // kA2 resolves: not worth a notification without send_resolved.
  r.live = {MakeAlert(kA1, kT0)};
  r.Put({MakeAlert(kA2, kT0, t + kMin)});
  r.At(t + 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 1u);
  // Repeat after 60m carries only the firing alert.
  for (int i = 2; i <= 13; ++i) r.At(t + i * 5 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 2u);
  EXPECT_THAT(Names(r.ints[0]->calls()[1].alerts), ElementsAre("A"));
  // All resolved: nothing sent, but the log forgets the firing alert, so a re-fire is new.
  r.live.clear();
  r.Put({MakeAlert(kA1, kT0, t + 13 * 5 * kMin + kMin)});
  r.At(t + 14 * 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 2u);
  auto e = r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->firing.empty());
  EXPECT_THAT(e->resolved, ElementsAre(Fingerprint(kA1)));
  EXPECT_EQ(r.dispatcher->num_groups(), 0u);
  r.live = {MakeAlert(kA1, clock.NowMs())};
  r.At(clock.NowMs());
  r.At(clock.NowMs() + 30 * kSec);
  EXPECT_EQ(r.ints[0]->num_calls(), 3u);
}

TEST(PipelineTest, RetriesThenDeliversOnce) {
  FakeClock clock(kT0);
  Router r("pipeline_retry", &clock);
  r.Build();
  r.ints[0]->Script({absl::UnavailableError("HTTP 500"), true});
  r.live = {MakeAlert(kA1, kT0)};
  r.At(kT0);  // the alerts arrive; group_wait runs from here
  int64_t t = kT0 + 30 * kSec;
  r.At(t);
  auto calls = r.ints[0]->calls();
  ASSERT_EQ(calls.size(), 2u);
  // Backoff starts at ~1s (jittered 0.5-1.5x).
  EXPECT_GE(calls[1].at_ms - calls[0].at_ms, 500);
  EXPECT_LE(calls[1].at_ms - calls[0].at_ms, 1500);
  EXPECT_TRUE(r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}").has_value());
  r.At(t + 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 2u);  // delivered once; no resend
  std::string m = r.registry.Expose();
  EXPECT_THAT(m, ::testing::HasSubstr(
                     "pharos_alertmanager_notifications_failed_total{integration=\"webhook\","
                     "reason=\"serverError\"} 1"));
}

TEST(PipelineTest, NonRetryableErrorIsNotRetried) {
  FakeClock clock(kT0);
  Router r("pipeline_noretry", &clock);
  r.Build();
  r.ints[0]->Script({absl::InvalidArgumentError("HTTP 400"), false});
  r.live = {MakeAlert(kA1, kT0)};
  r.At(kT0);  // the alerts arrive; group_wait runs from here
  r.At(kT0 + 30 * kSec);
  EXPECT_EQ(r.ints[0]->num_calls(), 1u);
  EXPECT_EQ(clock.NowMs(), kT0 + 30 * kSec);  // no backoff wait
  EXPECT_FALSE(r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}").has_value());
  // Tried again at the next flush.
  r.At(kT0 + 30 * kSec + 5 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 2u);
}

TEST(PipelineTest, RetriesStopAtTheFlushDeadline) {
  FakeClock clock(kT0);
  Router r("pipeline_deadline", &clock);
  r.Build();
  for (int i = 0; i < 100; ++i) r.ints[0]->Script({absl::UnavailableError("HTTP 503"), true});
  r.Put({MakeAlert(kA1, kT0)});
  const int64_t t = kT0 + 30 * kSec;
  r.At(t);
  auto calls = r.ints[0]->calls();
  ASSERT_GE(calls.size(), 4u);
  ASSERT_LT(calls.size(), 20u);
  EXPECT_LT(calls.back().at_ms, t + 5 * kMin);  // bounded by group_interval
  EXPECT_FALSE(r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}").has_value());
}

TEST(PipelineTest, HangingIntegrationDoesNotDelayAnother) {
  FakeClock clock(kT0);
  Router r("pipeline_hang", &clock);
  r.send_resolved = {true, true};
  r.Build();
  r.ints[0]->SetHang(true);
  r.Put({MakeAlert(kA1, kT0)});
  clock.Set(kT0 + 30 * kSec);
  std::thread flusher([&] { r.dispatcher->RunDue(kT0 + 30 * kSec); });
  // The second integration delivers and logs while the first is still blocked.
  ASSERT_TRUE(r.ints[1]->WaitCalls(1));
  ASSERT_TRUE(r.ints[0]->WaitCalls(1));
  bool logged = false;
  for (int i = 0; i < 1000 && !logged; ++i) {
    logged = r.nflog->Query({"team", "webhook", 1}, "{}:{alertname=\"A\"}").has_value();
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(logged);
  EXPECT_FALSE(r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}").has_value());
  r.ints[0]->SetHang(false);
  flusher.join();
  EXPECT_TRUE(r.nflog->Query({"team", "webhook", 0}, "{}:{alertname=\"A\"}").has_value());
}

TEST(PipelineTest, MutersFilterAlerts) {
  FakeClock clock(kT0);
  Router r("pipeline_mute", &clock);
  LabelMuter inhibit("instance", "1"), silence("instance", "2");
  r.inhibitor = &inhibit;
  r.silencer = &silence;
  r.Build();
  LabelSet a3 = {{"alertname", "A"}, {"instance", "3"}};
  r.Put({MakeAlert(kA1, kT0), MakeAlert(kA2, kT0), MakeAlert(a3, kT0)});
  r.At(kT0 + 30 * kSec);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  ASSERT_EQ(r.ints[0]->calls()[0].alerts.size(), 1u);
  EXPECT_EQ(r.ints[0]->calls()[0].alerts[0].labels, a3);
}

TEST(PipelineTest, TimeIntervals) {
  FakeClock clock(kT0);
  Router r("pipeline_intervals", &clock);
  bool business_hours = false, maintenance = false;
  r.interval_active = [&](const std::string& name, int64_t) {
    return name == "business-hours" ? business_hours : name == "maintenance" ? maintenance : false;
  };
  r.ro.active_time_intervals = {"business-hours"};
  r.ro.mute_time_intervals = {"maintenance"};
  r.Build();
  r.live = {MakeAlert(kA1, kT0)};
  r.At(kT0);  // the alerts arrive; group_wait runs from here
  const int64_t t = kT0 + 30 * kSec;
  r.At(t);  // outside business hours: muted
  EXPECT_EQ(r.ints[0]->num_calls(), 0u);
  business_hours = maintenance = true;
  r.At(t + 5 * kMin);  // in a maintenance window: muted
  EXPECT_EQ(r.ints[0]->num_calls(), 0u);
  maintenance = false;
  r.At(t + 10 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 1u);
}

TEST(PipelineTest, RestartNeitherResendsNorDrops) {
  FakeClock clock(kT0);
  Router r("pipeline_restart", &clock);
  r.Build();
  r.Put({MakeAlert(kA1, kT0)});
  const int64_t t = kT0 + 30 * kSec;
  r.At(t);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  // Restart: the rule evaluator re-sends the same alert. Its group_wait is over, so the new
  // group flushes at once, and the persisted log says it was already sent.
  clock.Set(t + kMin);
  r.Build();
  r.Put({MakeAlert(kA1, kT0)});
  EXPECT_EQ(r.dispatcher->NextDeadline(), t + kMin);
  r.At(t + kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 0u);
  // A second alert arrives, then a crash before its flush: after the restart it is sent.
  r.Put({MakeAlert(kA1, kT0), MakeAlert(kA2, t + kMin)});
  clock.Set(t + 2 * kMin);
  r.Build();
  r.Put({MakeAlert(kA1, kT0), MakeAlert(kA2, t + kMin)});
  r.At(t + 2 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  EXPECT_THAT(Names(r.ints[0]->calls()[0].alerts), ElementsAre("A", "A"));
  // A send that failed before the restart (no log entry) is also sent after it.
  r.ints[0]->Script({absl::InvalidArgumentError("HTTP 400"), false});
  LabelSet a3 = {{"alertname", "A"}, {"instance", "3"}};
  r.live = {MakeAlert(kA1, kT0), MakeAlert(kA2, t + kMin), MakeAlert(a3, t + 2 * kMin)};
  r.At(t + 7 * kMin);
  EXPECT_EQ(r.ints[0]->num_calls(), 2u);
  clock.Set(t + 8 * kMin);
  r.Build();
  r.Put({MakeAlert(kA1, kT0), MakeAlert(kA2, t + kMin), MakeAlert(a3, t + 2 * kMin)});
  r.At(t + 8 * kMin);
  ASSERT_EQ(r.ints[0]->num_calls(), 1u);
  EXPECT_EQ(r.ints[0]->calls()[0].alerts.size(), 3u);
}

TEST(NflogTest, PersistsEscapesAndExpires) {
  FakeClock clock(kT0);
  std::string dir = FreshDir("nflog_persist");
  const std::string gk = "{}/{a=\"x/y\"}:{b=\"%2F\"}";
  {
    auto st = StateStore::Open(dir);
    ASSERT_TRUE(st.ok());
    auto log = Nflog::Open({.store = st->get(), .clock = &clock, .retention_ms = 10 * kMin});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Log({"rcv/1", "webhook", 0}, gk, {3, 1}, {2}).ok());
    ASSERT_TRUE((*log)->Log({"rcv", "webhook", 0}, "other", {5}, {}).ok());
    EXPECT_EQ(Nflog::StoreKey({"rcv/1", "webhook", 0}, gk),
              "nflog/rcv%2F1/webhook/0/%7B%7D%2F%7Ba%3D%22x%2Fy%22%7D%3A%7Bb%3D%22%252F%22%7D");
  }
  clock.Advance(5 * kMin);
  auto st = StateStore::Open(dir);
  ASSERT_TRUE(st.ok());
  auto log = Nflog::Open({.store = st->get(), .clock = &clock, .retention_ms = 10 * kMin});
  ASSERT_TRUE(log.ok());
  auto e = (*log)->Query({"rcv/1", "webhook", 0}, gk);
  ASSERT_TRUE(e.has_value());
  EXPECT_THAT(e->firing, ElementsAre(1, 3));
  EXPECT_THAT(e->resolved, ElementsAre(2));
  EXPECT_EQ(e->timestamp_ms, kT0);
  EXPECT_EQ(e->expires_at_ms, kT0 + 10 * kMin);
  EXPECT_FALSE((*log)->Query({"rcv", "webhook", 1}, "other").has_value());
  clock.Advance(5 * kMin);
  auto gc = (*log)->GC();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(*gc, 2);
  EXPECT_EQ((*log)->size(), 0u);
  int keys = 0;
  ASSERT_TRUE((*st)->Scan("nflog/", [&](std::string_view, std::string_view) {
                      ++keys;
                      return true;
                    }).ok());
  EXPECT_EQ(keys, 0);
}

}  // namespace
}  // namespace pharos::alerting::am
