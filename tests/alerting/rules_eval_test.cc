// Rule evaluation through the real engine and storage with a fake clock.
#include <cmath>

#include "alerting/rules/group.h"
#include "rules_test_util.h"

namespace pharos::alerting::rules {
namespace {

using testing::kMin;
using testing::kSec;
using testing::kT0;
using testing::RulesEnv;

bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == storage::kStaleNaNBits; }

TEST(RecordingRuleTest, RecordsRelabelledSeriesAndStaleMarkers) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"r.yml", R"(
groups:
  - name: rec
    rules:
      - record: job:a:sum
        expr: sum by (job, i) (a)
        labels: {team: ops, i: ""}
      - record: a_copy
        expr: a
        labels: {team: ops}
)"}}).ok());
  env.Push({"__name__", "a", "job", "j", "i", "1"}, kT0, 1);
  env.Push({"__name__", "a", "job", "j", "i", "2"}, kT0, 2);
  env.EvalAt(kT0 + 10 * kSec);
  EXPECT_EQ(env.Query("{__name__=~\"a_copy|job:a:sum\"}", kT0 + 10 * kSec),
            (std::vector<std::string>{
                "{__name__=\"a_copy\", i=\"1\", job=\"j\", team=\"ops\"} => 1",
                "{__name__=\"a_copy\", i=\"2\", job=\"j\", team=\"ops\"} => 2",
                // i: "" removes the label, so both inputs collapse into one series: an
                // error, nothing recorded for job:a:sum.
            }));
  auto gs = env.manager().Groups();
  const RuleInfo* r = env.FindRule(gs, "job:a:sum");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status.health, RuleHealth::kErr);
  EXPECT_EQ(r->status.last_error,
            "vector contains metrics with the same labelset after applying rule labels");
  EXPECT_EQ(r->query, "sum by (job, i) (a)");
  EXPECT_EQ(env.FindRule(gs, "a_copy")->status.health, RuleHealth::kOk);
  EXPECT_EQ(env.FindRule(gs, "a_copy")->status.last_eval_ms, kT0 + 10 * kSec);

  // a{i="2"} ends: the recorded copy gets a stale marker at the next evaluation.
  env.PushStale({"__name__", "a", "job", "j", "i", "2"}, kT0 + 15 * kSec);
  env.Push({"__name__", "a", "job", "j", "i", "1"}, kT0 + 15 * kSec, 3);
  env.EvalAt(kT0 + 25 * kSec);
  auto raw = env.Raw({"__name__", "a_copy", "i", "2", "job", "j", "team", "ops"}, kT0, kT0 + kMin);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0], std::make_pair(kT0 + 10 * kSec, 2.0));
  EXPECT_EQ(raw[1].first, kT0 + 25 * kSec);
  EXPECT_TRUE(IsStale(raw[1].second));
  EXPECT_EQ(env.Query("a_copy", kT0 + 25 * kSec),
            (std::vector<std::string>{"{__name__=\"a_copy\", i=\"1\", job=\"j\", team=\"ops\"} => 3"}));
}

TEST(RecordingRuleTest, ScalarResultAndLimit) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"r.yml", R"(
groups:
  - name: g
    limit: 1
    rules:
      - record: one
        expr: "1 + 1"
      - record: two_series
        expr: b
)"}}).ok());
  env.Push({"__name__", "b", "x", "1"}, kT0, 1);
  env.Push({"__name__", "b", "x", "2"}, kT0, 1);
  env.EvalAt(kT0 + kSec);
  EXPECT_EQ(env.Query("one", kT0 + kSec), (std::vector<std::string>{"{__name__=\"one\"} => 2"}));
  auto gs = env.manager().Groups();
  EXPECT_EQ(env.FindRule(gs, "two_series")->status.last_error, "exceeded limit of 1 with 2 series");
  EXPECT_TRUE(env.Query("two_series", kT0 + kSec).empty());
}

constexpr const char* kAlertRules = R"(
groups:
  - name: alerts
    interval: 15s
    rules:
      - alert: High
        expr: x > 10
        for: 1m
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.instance }} is high"
          description: "value {{ $value }}"
)";

TEST(AlertingRuleTest, InactivePendingFiringResolved) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"a.yml", kAlertRules}}, 15 * kSec, {{"cluster", "c1"}, {"severity", "x"}}).ok());
  auto push = [&](int64_t t, double v) { env.Push({"__name__", "x", "instance", "h1"}, t, v); };

  push(kT0, 5);
  env.EvalAt(kT0);
  EXPECT_EQ(env.State("High"), "inactive");
  EXPECT_TRUE(env.TakeSent().empty());

  const int64_t t1 = kT0 + 15 * kSec;
  push(t1, 20);
  env.EvalAt(t1);
  EXPECT_EQ(env.State("High"), "pending");
  EXPECT_TRUE(env.TakeSent().empty()) << "pending alerts are not sent";
  EXPECT_EQ(env.Query("ALERTS", t1),
            (std::vector<std::string>{"{__name__=\"ALERTS\", alertname=\"High\", alertstate=\"pending\", "
                                      "instance=\"h1\", severity=\"warning\"} => 1"}));
  EXPECT_EQ(env.Query("ALERTS_FOR_STATE", t1),
            (std::vector<std::string>{"{__name__=\"ALERTS_FOR_STATE\", alertname=\"High\", "
                                      "instance=\"h1\", severity=\"warning\"} => " +
                                      std::to_string(t1 / 1000)}));

  env.EvalAt(t1 + 45 * kSec);
  EXPECT_EQ(env.State("High"), "pending") << "45s < for: 1m";
  EXPECT_TRUE(env.TakeSent().empty());

  const int64_t t_fire = t1 + kMin;
  push(t_fire, 30);
  env.EvalAt(t_fire);
  EXPECT_EQ(env.State("High"), "firing");
  auto sent = env.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].labels, (am::LabelSet{{"alertname", "High"}, {"cluster", "c1"},
                                          {"instance", "h1"}, {"severity", "warning"}}))
      << "external labels added, alert labels win";
  EXPECT_EQ(sent[0].annotations,
            (am::LabelSet{{"description", "value 30"}, {"summary", "h1 is high"}}));
  EXPECT_EQ(sent[0].starts_at_ms, t_fire) << "startsAt is the time it fired";
  EXPECT_EQ(sent[0].ends_at_ms, t_fire + 4 * kMin) << "4 x max(resend delay 1m, interval 15s)";
  EXPECT_EQ(sent[0].generator_url, "http://pharos:9090/graph?g0.expr=x+%3E+10&g0.tab=1");
  EXPECT_EQ(env.Query("ALERTS", t_fire),
            (std::vector<std::string>{"{__name__=\"ALERTS\", alertname=\"High\", alertstate=\"firing\", "
                                      "instance=\"h1\", severity=\"warning\"} => 1"}));
  // The pending ALERTS series ended with a stale marker.
  auto pending = env.Raw({"__name__", "ALERTS", "alertname", "High", "alertstate", "pending",
                          "instance", "h1", "severity", "warning"}, kT0, t_fire);
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending.back().first, t_fire);
  EXPECT_TRUE(IsStale(pending.back().second));

  // Not re-sent before the resend delay, re-sent after it.
  env.EvalAt(t_fire + 15 * kSec);
  EXPECT_TRUE(env.TakeSent().empty());
  env.EvalAt(t_fire + 75 * kSec);
  sent = env.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ends_at_ms, t_fire + 75 * kSec + 4 * kMin);

  // Back below: resolved, sent once with endsAt = resolve time.
  const int64_t t_res = t_fire + 90 * kSec;
  push(t_res, 1);
  env.EvalAt(t_res);
  EXPECT_EQ(env.State("High"), "inactive");
  sent = env.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].starts_at_ms, t_fire);
  EXPECT_EQ(sent[0].ends_at_ms, t_res);
  EXPECT_TRUE(env.Query("ALERTS", t_res).empty());
  auto gs = env.manager().Groups();
  const RuleInfo* r = env.FindRule(gs, "High");
  ASSERT_EQ(r->alerts.size(), 1u) << "resolved alerts are kept (15m) to be re-sent";
  EXPECT_EQ(r->alerts[0].state, AlertState::kInactive);
  env.EvalAt(t_res + 15 * kSec);
  EXPECT_TRUE(env.TakeSent().empty());
  // Resolved alerts are re-sent every resend delay while retained, then forgotten.
  env.EvalAt(t_res + 90 * kSec);
  EXPECT_EQ(env.TakeSent().size(), 1u);
  env.EvalAt(t_res + 16 * kMin);
  gs = env.manager().Groups();
  EXPECT_TRUE(env.FindRule(gs, "High")->alerts.empty());
}

TEST(AlertingRuleTest, PendingAlertThatGoesAwayIsDropped) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"a.yml", kAlertRules}}).ok());
  env.Push({"__name__", "x", "instance", "h1"}, kT0, 20);
  env.EvalAt(kT0);
  EXPECT_EQ(env.State("High"), "pending");
  env.Push({"__name__", "x", "instance", "h1"}, kT0 + 15 * kSec, 1);
  env.EvalAt(kT0 + 15 * kSec);
  EXPECT_EQ(env.State("High"), "inactive");
  EXPECT_TRUE(env.manager().Groups()[0].rules[0].alerts.empty());
  EXPECT_TRUE(env.TakeSent().empty()) << "an alert that never fired is never sent";
}

TEST(AlertingRuleTest, KeepFiringFor) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"a.yml", R"(
groups:
  - name: g
    rules:
      - alert: K
        expr: x > 10
        keep_firing_for: 1m
)"}}).ok());
  env.Push({"__name__", "x"}, kT0, 20);
  env.EvalAt(kT0);
  EXPECT_EQ(env.State("K"), "firing") << "no `for`: fires at once";
  EXPECT_EQ(env.TakeSent().size(), 1u);
  env.Push({"__name__", "x"}, kT0 + 15 * kSec, 1);
  env.EvalAt(kT0 + 15 * kSec);
  EXPECT_EQ(env.State("K"), "firing") << "kept firing";
  auto gs = env.manager().Groups();
  EXPECT_EQ(gs[0].rules[0].alerts[0].keep_firing_since_ms, kT0 + 15 * kSec);
  env.EvalAt(kT0 + 60 * kSec);
  EXPECT_EQ(env.State("K"), "firing") << "45s < 1m";
  env.EvalAt(kT0 + 75 * kSec);
  EXPECT_EQ(env.State("K"), "inactive") << "60s since it stopped matching";
  auto sent = env.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ends_at_ms, kT0 + 75 * kSec);
}

TEST(AlertingRuleTest, LimitExceededClearsAlerts) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"a.yml", R"(
groups:
  - name: g
    limit: 1
    rules:
      - alert: L
        expr: x > 0
)"}}).ok());
  env.Push({"__name__", "x", "i", "1"}, kT0, 1);
  env.EvalAt(kT0);
  EXPECT_EQ(env.State("L"), "firing");
  env.TakeSent();
  env.Push({"__name__", "x", "i", "2"}, kT0 + 15 * kSec, 1);
  env.EvalAt(kT0 + 15 * kSec);
  auto gs = env.manager().Groups();
  EXPECT_EQ(gs[0].rules[0].status.health, RuleHealth::kErr);
  EXPECT_EQ(gs[0].rules[0].status.last_error, "exceeded limit of 1 with 2 alerts");
  EXPECT_TRUE(gs[0].rules[0].alerts.empty());
  EXPECT_TRUE(env.TakeSent().empty());
}

TEST(AlertingRuleTest, DuplicateLabelsetIsAnError) {
  RulesEnv env;
  env.NewManager();
  ASSERT_TRUE(env.Load({{"a.yml", R"(
groups:
  - name: g
    rules:
      - alert: D
        expr: x > 0
        labels: {i: same}
)"}}).ok());
  env.Push({"__name__", "x", "i", "1"}, kT0, 1);
  env.Push({"__name__", "x", "i", "2"}, kT0, 1);
  env.EvalAt(kT0);
  auto gs = env.manager().Groups();
  EXPECT_EQ(gs[0].rules[0].status.last_error,
            "vector contains metrics with the same labelset after applying alert labels");
}

TEST(GroupTest, EvalTimestampIsOnTheGroupsGrid) {
  auto opts = std::make_shared<GroupOptions>();
  GroupSpec spec;
  spec.name = "example";
  auto g = Group::Make(spec, "rules.yml", 60 * kSec, opts, nullptr);
  ASSERT_TRUE(g.ok());
  const int64_t ts = (*g)->EvalTimestamp(kT0);
  EXPECT_LE(ts, kT0);
  EXPECT_GT(ts, kT0 - 60 * kSec);
  // Same phase at any later time.
  for (int64_t d : {1LL, 59'999LL, 3'600'000LL, 86'400'123LL}) {
    const int64_t t2 = (*g)->EvalTimestamp(kT0 + d);
    EXPECT_EQ(((t2 - ts) % (60 * kSec) + 60 * kSec) % (60 * kSec), 0) << d;
  }
  // Prometheus's offset: Labels{file, name}.Hash() % interval (ns), computed independently.
  const uint64_t h = Labels({{"name", "example"}, {"file", "rules.yml"}}).Hash();
  const int64_t offset_ms = static_cast<int64_t>(h % 60'000'000'000ull) / 1'000'000;
  EXPECT_EQ((ts - offset_ms) % (60 * kSec), 0);
}

TEST(ManagerTest, UpdateKeepsUnchangedGroupsAndCopiesState) {
  RulesEnv env;
  env.NewManager();
  const std::string other = "groups:\n  - name: other\n    rules:\n      - record: r\n        expr: '1'\n";
  ASSERT_TRUE(env.Load({{"a.yml", kAlertRules}, {"b.yml", other}}).ok());
  env.Push({"__name__", "x", "instance", "h1"}, kT0, 20);
  env.EvalAt(kT0);
  EXPECT_EQ(env.State("High"), "pending");
  // Reload with an unrelated change: the alert keeps its ActiveAt.
  ASSERT_TRUE(env.Load({{"a.yml", kAlertRules}, {"b.yml", other + "        labels: {x: y}\n"}}).ok());
  auto gs = env.manager().Groups();
  ASSERT_EQ(env.FindRule(gs, "High")->alerts.size(), 1u);
  EXPECT_EQ(env.FindRule(gs, "High")->alerts[0].active_at_ms, kT0);
  // Change the alert group itself (annotation): state copied to the new group.
  std::string changed = kAlertRules;
  changed += "      - record: extra\n        expr: '2'\n";
  ASSERT_TRUE(env.Load({{"a.yml", changed}, {"b.yml", other}}).ok());
  gs = env.manager().Groups();
  ASSERT_EQ(env.FindRule(gs, "High")->alerts.size(), 1u);
  EXPECT_EQ(env.FindRule(gs, "High")->alerts[0].active_at_ms, kT0);
  env.Push({"__name__", "x", "instance", "h1"}, kT0 + kMin, 20);
  env.EvalAt(kT0 + kMin);
  EXPECT_EQ(env.State("High"), "firing") << "pending time before the reload counts";
  // A broken file fails the update and keeps the running groups.
  EXPECT_FALSE(env.Load({{"a.yml", "groups:\n  - name: a\n    rules:\n      - record: x\n"}}).ok());
  EXPECT_EQ(env.manager().Groups().size(), 2u);
  // Removing the group stops it and marks its series stale.
  ASSERT_TRUE(env.Load({{"b.yml", other}}).ok());
  EXPECT_EQ(env.manager().Groups().size(), 1u);
  auto extra = env.Raw({"__name__", "extra"}, kT0, kT0 + 2 * kMin);
  ASSERT_FALSE(extra.empty());
  EXPECT_TRUE(IsStale(extra.back().second));
}

TEST(ManagerTest, RestoresForStateAfterRestart) {
  RulesEnv env;
  env.NewManager(/*skip_restore=*/false);
  const std::string rules = R"(
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Long
        expr: y > 0
        for: 30m
)";
  ASSERT_TRUE(env.Load({{"a.yml", rules}}, kMin).ok());
  // Before the restore (second iteration) no ALERTS series are written.
  env.Push({"__name__", "y"}, kT0, 1);
  env.EvalAt(kT0);
  EXPECT_TRUE(env.Query("ALERTS", kT0).empty());
  for (int i = 1; i <= 10; ++i) {
    env.Push({"__name__", "y"}, kT0 + i * kMin, 1);
    env.EvalAt(kT0 + i * kMin);
  }
  EXPECT_EQ(env.State("Long"), "pending");
  EXPECT_EQ(env.Query("ALERTS_FOR_STATE", kT0 + 10 * kMin),
            (std::vector<std::string>{"{__name__=\"ALERTS_FOR_STATE\", alertname=\"Long\"} => " +
                                      std::to_string(kT0 / 1000)}));
  // "Restart" 5 minutes later with a new manager over the same storage.
  const int64_t down_at = kT0 + 10 * kMin;
  const int64_t up_at = down_at + 5 * kMin;
  env.NewManager(/*skip_restore=*/false);
  ASSERT_TRUE(env.Load({{"a.yml", rules}}, kMin).ok());
  env.Push({"__name__", "y"}, up_at, 1);
  env.EvalAt(up_at);
  env.Push({"__name__", "y"}, up_at + kMin, 1);
  env.EvalAt(up_at + kMin);  // restore runs after this one
  auto gs = env.manager().Groups();
  ASSERT_EQ(env.FindRule(gs, "Long")->alerts.size(), 1u);
  // 10m were spent pending; 20m remain after the restart: ActiveAt shifted by the downtime
  // (restore time - last ALERTS_FOR_STATE sample).
  EXPECT_EQ(env.FindRule(gs, "Long")->alerts[0].active_at_ms, kT0 + (up_at + kMin - down_at));
}

TEST(ManagerTest, RestoreWithinGracePeriod) {
  RulesEnv env;
  env.NewManager(/*skip_restore=*/true);
  const std::string rules = R"(
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Long
        expr: y > 0
        for: 15m
)";
  ASSERT_TRUE(env.Load({{"a.yml", rules}}, kMin).ok());
  for (int i = 0; i <= 12; ++i) {
    env.Push({"__name__", "y"}, kT0 + i * kMin, 1);
    env.EvalAt(kT0 + i * kMin);
  }
  // Down 12m after it became active: 3m left < grace period 10m -> fires 10m after restore.
  const int64_t restore_at = kT0 + 31 * kMin;
  env.NewManager(/*skip_restore=*/false);
  ASSERT_TRUE(env.Load({{"a.yml", rules}}, kMin).ok());
  env.Push({"__name__", "y"}, restore_at - kMin, 1);
  env.EvalAt(restore_at - kMin);
  env.Push({"__name__", "y"}, restore_at, 1);
  env.EvalAt(restore_at);
  auto gs = env.manager().Groups();
  ASSERT_EQ(env.FindRule(gs, "Long")->alerts.size(), 1u);
  EXPECT_EQ(env.FindRule(gs, "Long")->alerts[0].active_at_ms, restore_at + 10 * kMin - 15 * kMin);
}

}  // namespace
}  // namespace pharos::alerting::rules
