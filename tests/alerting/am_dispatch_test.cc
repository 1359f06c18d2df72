// Alert store and dispatcher: merging, resolve_timeout, limits, GC; grouping, group keys, timers
// (group_wait, immediate first flush, group_interval), resolved alerts leaving groups, deletion.

#include <string>
#include <vector>

#include "alerting/am/alerts.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/mute.h"
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

TEST(AlertStoreTest, AppliesResolveTimeoutAndDefaults) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock, .resolve_timeout_ms = 5 * kMin});
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}}, 0)}).ok());
  auto a = store.Get(Fingerprint({{"alertname", "A"}}));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->starts_at_ms, kT0);
  EXPECT_EQ(a->ends_at_ms, kT0 + 5 * kMin);
  EXPECT_TRUE(a->timeout);
  EXPECT_EQ(a->updated_at_ms, kT0);
  // Only ends_at given: starts_at = ends_at.
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "B"}}, 0, kT0 - kSec)}).ok());
  auto b = store.Get(Fingerprint({{"alertname", "B"}}));
  EXPECT_EQ(b->starts_at_ms, kT0 - kSec);
  EXPECT_FALSE(b->timeout);
}

TEST(AlertStoreTest, MergesOverlappingUpdates) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  LabelSet ls = {{"alertname", "A"}};
  ASSERT_TRUE(store.Put({MakeAlert(ls, kT0 - 10 * kMin)}).ok());
  clock.Advance(kMin);
  // Re-sent by the rule evaluator with a later start: the earliest start is kept; the timeout
  // is pushed out.
  ASSERT_TRUE(store.Put({MakeAlert(ls, kT0 - 5 * kMin)}).ok());
  auto a = store.Get(Fingerprint(ls));
  EXPECT_EQ(a->starts_at_ms, kT0 - 10 * kMin);
  EXPECT_EQ(a->ends_at_ms, kT0 + kMin + 5 * kMin);
  EXPECT_EQ(a->updated_at_ms, kT0 + kMin);
  // Explicit resolve wins over the timeout.
  clock.Advance(kMin);
  ASSERT_TRUE(store.Put({MakeAlert(ls, kT0 - 5 * kMin, kT0 + 2 * kMin)}).ok());
  a = store.Get(Fingerprint(ls));
  EXPECT_EQ(a->starts_at_ms, kT0 - 10 * kMin);
  EXPECT_EQ(a->ends_at_ms, kT0 + 2 * kMin);
  EXPECT_FALSE(a->timeout);
  // A new firing after the resolve (no overlap) replaces it.
  clock.Advance(10 * kMin);
  ASSERT_TRUE(store.Put({MakeAlert(ls, clock.NowMs())}).ok());
  a = store.Get(Fingerprint(ls));
  EXPECT_EQ(a->starts_at_ms, clock.NowMs());
}

TEST(AlertStoreTest, MergeKeepsLaterExplicitEnd) {
  Alert old = MakeAlert({{"a", "b"}}, 100, 5000);
  old.updated_at_ms = 10;
  Alert newer = MakeAlert({{"a", "b"}}, 200, 3000);
  newer.updated_at_ms = 20;
  newer.timeout = true;
  Alert m = MergeAlerts(old, newer, 1000);
  EXPECT_EQ(m.starts_at_ms, 100);
  EXPECT_EQ(m.ends_at_ms, 5000);  // old's explicit later end beats newer's timeout end
  old.timeout = true;
  EXPECT_EQ(MergeAlerts(old, newer, 1000).ends_at_ms, 3000);
}

TEST(AlertStoreTest, RejectsInvalidAndOverLimit) {
  FakeClock clock(kT0);
  Registry reg;
  AlertStore store({.clock = &clock, .registry = &reg, .max_alerts = 2});
  absl::Status s = store.Put({MakeAlert({}, kT0), MakeAlert({{"1bad", "x"}}, kT0),
                              MakeAlert({{"alertname", "E"}}, kT0, kT0 - 1),
                              MakeAlert({{"alertname", "ok"}}, kT0)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "alert: at least one label pair required; alert: invalid label set: invalid name "
            "\"1bad\"; E: start time must be before end time");
  EXPECT_EQ(store.size(), 1u);
  s = store.Put({MakeAlert({{"alertname", "b"}}, kT0), MakeAlert({{"alertname", "c"}}, kT0)});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "1 alert(s) rejected: the router holds its limit of 2 alerts");
  EXPECT_EQ(store.size(), 2u);
  // Updates of held alerts still go in.
  EXPECT_TRUE(store.Put({MakeAlert({{"alertname", "b"}}, kT0)}).ok());
  std::string text = reg.Expose();
  EXPECT_THAT(text, ::testing::HasSubstr("pharos_alertmanager_alerts_received_total{status=\"firing\"} 3"));
  EXPECT_THAT(text, ::testing::HasSubstr("pharos_alertmanager_alerts_invalid_total 4"));
  EXPECT_THAT(text, ::testing::HasSubstr("pharos_alertmanager_alerts{state=\"unprocessed\"} 2"));
}

TEST(AlertStoreTest, GcRemovesResolvedAndMarker) {
  FakeClock clock(kT0);
  Marker marker;
  AlertStore store({.clock = &clock, .marker = &marker});
  LabelSet a = {{"alertname", "A"}}, b = {{"alertname", "B"}};
  ASSERT_TRUE(store.Put({MakeAlert(a, kT0, kT0 + kMin), MakeAlert(b, kT0)}).ok());
  marker.SetSilenced(Fingerprint(a), {"s1"});
  EXPECT_EQ(store.GC(), 0);
  clock.Advance(kMin);
  EXPECT_EQ(store.GC(), 1);
  EXPECT_FALSE(store.Get(Fingerprint(a)).has_value());
  EXPECT_TRUE(store.Get(Fingerprint(b)).has_value());
  EXPECT_EQ(marker.Status(Fingerprint(a)).state, "unprocessed");
}

TEST(AlertStoreTest, SubscribersSeeExistingThenNew) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}}, kT0)}).ok());
  std::vector<std::string> seen;
  int id = store.Subscribe([&](const Alert& a) { seen.push_back(a.Name()); });
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "B"}}, kT0)}).ok());
  store.Unsubscribe(id);
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "C"}}, kT0)}).ok());
  EXPECT_THAT(seen, ElementsAre("A", "B"));
}

TEST(LabelSetStringTest, MatchesGo) {
  EXPECT_EQ(LabelSetString({}), "{}");
  // Go sorts the "name=value" strings: "a1=" sorts before "a=".
  EXPECT_EQ(LabelSetString({{"a", "x\"y\n"}, {"a1", "z"}}), "{a1=\"z\", a=\"x\\\"y\\n\"}");
  EXPECT_EQ(LabelSetString({{"k", "\xc3\xa9\x01"}}), "{k=\"\xc3\xa9\\x01\"}");
}

// A tree: root (group_by alertname) -> {severity="critical"} (group_by alertname, cluster).
struct Tree {
  std::unique_ptr<RouteNode> root;
  const RouteNode* critical = nullptr;
  Tree() {
    RouteOpts ro;
    ro.receiver = "default";
    ro.group_by = {"alertname"};
    ro.group_wait_ms = 30 * kSec;
    ro.group_interval_ms = 5 * kMin;
    ro.repeat_interval_ms = 4 * 60 * kMin;
    Route r = MakeRoute(ro);
    RouteOpts co = ro;
    co.receiver = "pager";
    co.group_by = {"alertname", "cluster"};
    r.routes.push_back(
        MakeRoute(co, {Matcher::MustMake(MatchType::kEqual, "severity", "critical")}));
    root = Build(r);
    critical = root->children()[0].get();
  }
};

struct Recorder {
  std::vector<FlushRequest> flushes;
  bool ok = true;
  FlushFn fn() {
    return [this](const FlushRequest& r) {
      flushes.push_back(r);
      return ok;
    };
  }
};

TEST(DispatcherTest, GroupsAndKeys) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  Tree tree;
  Recorder rec;
  Registry reg;
  Dispatcher d(tree.root.get(), &store, {.clock = &clock, .registry = &reg, .flush = rec.fn()});
  d.Subscribe();
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "HighCPU"}, {"severity", "critical"},
                                    {"cluster", "eu"}, {"instance", "b"}}, kT0),
                         MakeAlert({{"alertname", "HighCPU"}, {"severity", "critical"},
                                    {"cluster", "eu"}, {"instance", "a"}}, kT0),
                         MakeAlert({{"alertname", "HighCPU"}, {"severity", "warning"}}, kT0),
                         MakeAlert({{"alertname", "DiskFull"}}, kT0)})
                  .ok());
  auto groups = d.Groups();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].group_key, "{}/{severity=\"critical\"}:{alertname=\"HighCPU\", cluster=\"eu\"}");
  EXPECT_EQ(groups[0].receiver, "pager");
  EXPECT_EQ(groups[0].route_id, "{}/{severity=\"critical\"}/0");
  EXPECT_EQ(groups[0].alerts.size(), 2u);
  EXPECT_EQ(groups[1].group_key, "{}:{alertname=\"DiskFull\"}");
  EXPECT_EQ(groups[2].group_key, "{}:{alertname=\"HighCPU\"}");
  EXPECT_EQ(groups[2].receiver, "default");
  EXPECT_THAT(reg.Expose(), ::testing::HasSubstr("pharos_alertmanager_aggregation_groups 3"));
}

TEST(DispatcherTest, GroupWaitThenGroupInterval) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  Tree tree;
  Recorder rec;
  Dispatcher d(tree.root.get(), &store, {.clock = &clock, .flush = rec.fn()});
  d.Subscribe();
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}, {"instance", "2"}}, kT0)}).ok());
  EXPECT_EQ(d.NextDeadline(), kT0 + 30 * kSec);
  clock.Advance(10 * kSec);
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}, {"instance", "1"}}, clock.NowMs())}).ok());
  EXPECT_EQ(d.RunDue(kT0 + 30 * kSec - 1), 0);
  EXPECT_EQ(d.RunDue(kT0 + 30 * kSec), 1);
  ASSERT_EQ(rec.flushes.size(), 1u);
  const FlushRequest& f = rec.flushes[0];
  EXPECT_EQ(f.receiver, "default");
  EXPECT_EQ(f.group_key, "{}:{alertname=\"A\"}");
  EXPECT_EQ(f.now_ms, kT0 + 30 * kSec);
  EXPECT_EQ(f.repeat_interval_ms, 4 * 60 * kMin);
  ASSERT_EQ(f.alerts.size(), 2u);
  EXPECT_EQ(f.alerts[0].labels.at("instance"), "1");  // sorted by instance
  EXPECT_EQ(f.alerts[0].ends_at_ms, 0);               // resolve_timeout hidden
  EXPECT_EQ(d.NextDeadline(), kT0 + 30 * kSec + 5 * kMin);
  // A new alert does not shorten group_interval once the group flushed.
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}, {"instance", "3"}}, kT0 - kMin)}).ok());
  EXPECT_EQ(d.NextDeadline(), kT0 + 30 * kSec + 5 * kMin);
  EXPECT_EQ(d.RunDue(kT0 + 30 * kSec + 5 * kMin), 1);
  EXPECT_EQ(rec.flushes.back().alerts.size(), 3u);
}

TEST(DispatcherTest, OldAlertFlushesImmediately) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  Tree tree;
  Recorder rec;
  Dispatcher d(tree.root.get(), &store, {.clock = &clock, .flush = rec.fn()});
  d.Subscribe();
  // Started 31s ago: its group_wait (30s) is over.
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}}, kT0 - 31 * kSec)}).ok());
  EXPECT_EQ(d.NextDeadline(), kT0);
  // Started exactly 30s ago: not yet "before now", waits the full group_wait.
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "B"}}, kT0 - 30 * kSec)}).ok());
  EXPECT_EQ(d.RunDue(kT0), 1);
  EXPECT_EQ(rec.flushes[0].group_key, "{}:{alertname=\"A\"}");
  EXPECT_EQ(d.NextDeadline(), kT0 + 30 * kSec);
}

TEST(DispatcherTest, ResolvedAlertsLeaveGroupAfterSuccess) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock, .resolve_timeout_ms = 60 * kMin});
  Tree tree;
  Recorder rec;
  Dispatcher d(tree.root.get(), &store, {.clock = &clock, .flush = rec.fn()});
  d.Subscribe();
  LabelSet a1 = {{"alertname", "A"}, {"instance", "1"}}, a2 = {{"alertname", "A"}, {"instance", "2"}};
  ASSERT_TRUE(store.Put({MakeAlert(a1, kT0), MakeAlert(a2, kT0)}).ok());
  clock.Set(kT0 + 30 * kSec);
  d.RunDue(clock.NowMs());
  // a1 resolves; the next flush carries it as resolved, a failed flush keeps it.
  clock.Advance(kMin);
  ASSERT_TRUE(store.Put({MakeAlert(a1, kT0, clock.NowMs())}).ok());
  rec.ok = false;
  clock.Set(kT0 + 30 * kSec + 5 * kMin);
  EXPECT_EQ(d.RunDue(clock.NowMs()), 1);
  EXPECT_EQ(rec.flushes.back().alerts.size(), 2u);
  EXPECT_THAT(Names(rec.flushes.back().alerts), ElementsAre("A:r", "A"));
  rec.ok = true;
  clock.Advance(5 * kMin);
  EXPECT_EQ(d.RunDue(clock.NowMs()), 1);
  EXPECT_EQ(d.Groups().at(0).alerts.size(), 1u);  // a1 gone after the successful flush
  // a2 resolves too: after its notification the group is empty and deleted.
  ASSERT_TRUE(store.Put({MakeAlert(a2, kT0, clock.NowMs())}).ok());
  clock.Advance(5 * kMin);
  EXPECT_EQ(d.RunDue(clock.NowMs()), 1);
  EXPECT_THAT(Names(rec.flushes.back().alerts), ElementsAre("A:r"));
  EXPECT_EQ(d.num_groups(), 0u);
  EXPECT_EQ(d.NextDeadline(), std::nullopt);
  // A new alert starts a new group with a fresh group_wait.
  ASSERT_TRUE(store.Put({MakeAlert(a1, clock.NowMs())}).ok());
  EXPECT_EQ(d.NextDeadline(), clock.NowMs() + 30 * kSec);
}

TEST(DispatcherTest, TimeoutResolvedAlertIsSentResolved) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock, .resolve_timeout_ms = 5 * kMin});
  Tree tree;
  Recorder rec;
  Dispatcher d(tree.root.get(), &store, {.clock = &clock, .flush = rec.fn()});
  d.Subscribe();
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}}, kT0)}).ok());
  d.RunDue(kT0 + 30 * kSec);
  EXPECT_EQ(rec.flushes.back().alerts[0].ends_at_ms, 0);
  // Not re-sent by the rule evaluator: resolved by resolve_timeout at kT0 + 5m.
  d.RunDue(kT0 + 30 * kSec + 5 * kMin);
  EXPECT_EQ(rec.flushes.back().alerts[0].ends_at_ms, kT0 + 5 * kMin);
  EXPECT_EQ(d.num_groups(), 0u);
}

TEST(DispatcherTest, ContinueRoutesToSeveralGroups) {
  FakeClock clock(kT0);
  AlertStore store({.clock = &clock});
  RouteOpts ro;
  ro.receiver = "default";
  Route r = MakeRoute(ro);
  RouteOpts a = ro, b = ro;
  a.receiver = "a";
  b.receiver = "b";
  r.routes.push_back(MakeRoute(a, {Matcher::MustMake(MatchType::kEqual, "team", "x")}, true));
  r.routes.push_back(MakeRoute(b, {Matcher::MustMake(MatchType::kRegexMatch, "team", "x|y")}));
  auto root = Build(r);
  Recorder rec;
  Dispatcher d(root.get(), &store, {.clock = &clock, .flush = rec.fn()});
  d.Subscribe();
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}, {"team", "x"}}, kT0)}).ok());
  auto groups = d.Groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group_key, "{}/{team=\"x\"}:{}");
  EXPECT_EQ(groups[1].group_key, "{}/{team=~\"x|y\"}:{}");
}

TEST(DispatcherTest, ThreadedStartFlushes) {
  // Real clock, tiny group_wait: the timer thread and flush workers deliver without RunDue.
  AlertStore store({.clock = SystemClock::Get()});
  RouteOpts ro;
  ro.receiver = "r";
  ro.group_wait_ms = 10;
  auto root = Build(MakeRoute(ro));
  absl::Mutex mu;
  int flushes = 0;
  Dispatcher d(root.get(), &store,
               {.clock = SystemClock::Get(), .flush = [&](const FlushRequest&) {
                  absl::MutexLock l(&mu);
                  ++flushes;
                  return true;
                }});
  d.Start();
  ASSERT_TRUE(store.Put({MakeAlert({{"alertname", "A"}}, 0)}).ok());
  absl::MutexLock l(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(+[](int* f) { return *f >= 1; }, &flushes),
                                  absl::Seconds(10)));
}

}  // namespace
}  // namespace pharos::alerting::am
