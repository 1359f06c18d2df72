// Digest schedules (parsing, DST-correct next/prev times) and digest receivers end to end:
// recording flushes, one summary notification per period, persistence across a restart.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "alerting/am/digest.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/nflog.h"
#include "alerting/am/pipeline.h"
#include "alerting/state/state_store.h"
#include "am_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

using ::testing::ElementsAre;
using namespace ::pharos::alerting::am::testing;

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;

int64_t Utc(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return absl::ToUnixMillis(t);
}
std::string Fmt(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

TEST(DigestScheduleTest, ParseErrors) {
  EXPECT_TRUE(ParseDigestSchedule("daily 09:00").ok());
  EXPECT_TRUE(ParseDigestSchedule("Weekly Mon 23:59", "Europe/Berlin").ok());
  EXPECT_TRUE(ParseDigestSchedule("hourly :05").ok());
  EXPECT_EQ(ParseDigestSchedule("daily 9").status().message(),
            "invalid digest schedule \"daily 9\": time must be HH:MM, 00:00 to 23:59 (want "
            "\"daily HH:MM\", \"weekly <weekday> HH:MM\" or \"hourly :MM\")");
  EXPECT_FALSE(ParseDigestSchedule("daily 24:00").ok());
  EXPECT_FALSE(ParseDigestSchedule("hourly :60").ok());
  EXPECT_FALSE(ParseDigestSchedule("hourly 05").ok());
  EXPECT_FALSE(ParseDigestSchedule("weekly funday 09:00").ok());
  EXPECT_FALSE(ParseDigestSchedule("monthly 1 09:00").ok());
  EXPECT_FALSE(ParseDigestSchedule("").ok());
  EXPECT_EQ(ParseDigestSchedule("daily 09:00", "Mars/Olympus").status().message(),
            "invalid digest location \"Mars/Olympus\": unknown time zone");
}

TEST(DigestScheduleTest, DailyAcrossDst) {
  auto s = ParseDigestSchedule("daily 09:00", "America/New_York");
  ASSERT_TRUE(s.ok());
  // 2024-03-10: US clocks spring forward at 02:00 local.
  int64_t t = s->Next(Utc("2024-03-09T00:00:00Z"));
  EXPECT_EQ(Fmt(t), "2024-03-09T14:00:00Z");  // 09:00 EST
  t = s->Next(t);
  EXPECT_EQ(Fmt(t), "2024-03-10T13:00:00Z");  // 09:00 EDT
  EXPECT_EQ(Fmt(s->Prev(t - 1)), "2024-03-09T14:00:00Z");
  EXPECT_EQ(s->Prev(t), t);
  // 02:30 does not exist that night: fires when the gap ends, 03:00 EDT (07:00Z).
  auto gap = ParseDigestSchedule("daily 02:30", "America/New_York");
  EXPECT_EQ(Fmt(gap->Next(Utc("2024-03-09T12:00:00Z"))), "2024-03-10T07:00:00Z");
  EXPECT_EQ(Fmt(gap->Next(Utc("2024-03-10T07:00:00Z"))), "2024-03-11T06:30:00Z");
  // 01:30 happens twice on 2024-11-03: fires once, at the first (EDT, 05:30Z).
  auto rep = ParseDigestSchedule("daily 01:30", "America/New_York");
  t = rep->Next(Utc("2024-11-02T12:00:00Z"));
  EXPECT_EQ(Fmt(t), "2024-11-03T05:30:00Z");
  EXPECT_EQ(Fmt(rep->Next(t)), "2024-11-04T06:30:00Z");
}

TEST(DigestScheduleTest, WeeklyAndHourly) {
  auto w = ParseDigestSchedule("weekly monday 09:00", "Europe/Berlin");
  ASSERT_TRUE(w.ok());
  // 2024-03-31 (Sunday) Europe switches to CEST.
  int64_t t = w->Next(Utc("2024-03-27T00:00:00Z"));
  EXPECT_EQ(Fmt(t), "2024-04-01T07:00:00Z");  // 09:00 CEST
  EXPECT_EQ(Fmt(w->Prev(t - 1)), "2024-03-25T08:00:00Z");
  auto h = ParseDigestSchedule("hourly :15", "Asia/Kolkata");  // UTC+05:30
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Fmt(h->Next(Utc("2024-01-01T00:00:00Z"))), "2024-01-01T00:45:00Z");
  // Hourly in New York over the repeated 01:xx hour fires twice.
  auto ny = ParseDigestSchedule("hourly :15", "America/New_York");
  t = ny->Next(Utc("2024-11-03T05:00:00Z"));  // 01:00 EDT
  EXPECT_EQ(Fmt(t), "2024-11-03T05:15:00Z");
  t = ny->Next(t);
  EXPECT_EQ(Fmt(t), "2024-11-03T06:15:00Z");  // 01:15 EST
}

TEST(GoDurationTest, Formats) {
  EXPECT_EQ(GoDuration(0), "0s");
  EXPECT_EQ(GoDuration(500), "500ms");
  EXPECT_EQ(GoDuration(1500), "1.5s");
  EXPECT_EQ(GoDuration(90 * kMin), "1h30m0s");
  EXPECT_EQ(GoDuration(61 * kSec), "1m1s");
}

struct DigestRouter {
  std::string dir;
  FakeClock* clock;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Nflog> nflog;
  std::unique_ptr<Pipeline> pipeline;
  FakeIntegration* hook = nullptr;

  DigestRouter(const std::string& name, FakeClock* c) : dir(FreshDir(name)), clock(c) {}
  void Build() {
    pipeline.reset();
    nflog.reset();
    state.reset();
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok());
    state = std::move(*s);
    auto n = Nflog::Open({.store = state.get(), .clock = clock});
    ASSERT_TRUE(n.ok());
    nflog = std::move(*n);
    PipelineReceiver pr;
    pr.name = "ops";
    // send_resolved false: a digest still reports resolved alerts.
    auto fi = std::make_unique<FakeIntegration>(clock, "webhook", 0, false);
    hook = fi.get();
    pr.integrations.push_back(std::move(fi));
    pr.digest = DigestConfig{"daily 09:00", "Europe/Berlin"};
    std::vector<PipelineReceiver> rs;
    rs.push_back(std::move(pr));
    PipelineOptions po;
    po.clock = clock;
    po.nflog = nflog.get();
    po.state = state.get();
    FakeClock* fc = clock;
    po.sleep = [fc](int64_t ms) {
      fc->Advance(ms);
      return true;
    };
    auto p = Pipeline::Create(po, std::move(rs));
    ASSERT_TRUE(p.ok()) << p.status();
    pipeline = std::move(*p);
  }
  bool Flush(std::vector<Alert> alerts, const std::string& group) {
    FlushRequest req;
    req.receiver = "ops";
    req.group_key = "{}:{alertname=\"" + group + "\"}";
    req.alerts = std::move(alerts);
    req.now_ms = clock->NowMs();
    req.group_interval_ms = 5 * kMin;
    req.repeat_interval_ms = kHour;
    return pipeline->Exec(req);
  }
};

TEST(DigestTest, OneSummaryPerPeriod) {
  // 2024-01-15 09:00 Berlin = 08:00Z.
  FakeClock clock(Utc("2024-01-15T08:00:00Z"));
  DigestRouter r("digest_period", &clock);
  r.Build();
  EXPECT_EQ(r.pipeline->RunDueDigests(clock.NowMs()), 0);  // nothing recorded
  EXPECT_EQ(Fmt(*r.pipeline->NextDigestDeadline()), "2024-01-16T08:00:00Z");
  const int64_t start = clock.NowMs();
  LabelSet disk = {{"alertname", "DiskFull"}, {"instance", "db1"}};
  LabelSet cpu = {{"alertname", "HighCPU"}, {"instance", "web1"}};
  clock.Set(start + kHour);
  ASSERT_TRUE(r.Flush({MakeAlert(disk, start + 50 * kMin)}, "DiskFull"));
  ASSERT_TRUE(r.Flush({MakeAlert(cpu, start + 55 * kMin)}, "HighCPU"));
  clock.Set(start + 3 * kHour);
  // DiskFull resolved after 1h40m; HighCPU still firing.
  ASSERT_TRUE(r.Flush({MakeAlert(disk, start + 50 * kMin, start + 150 * kMin)}, "DiskFull"));
  ASSERT_TRUE(r.Flush({MakeAlert(cpu, start + 55 * kMin)}, "HighCPU"));
  EXPECT_EQ(r.hook->num_calls(), 0u);  // no per-group notifications
  EXPECT_EQ(r.pipeline->RunDueDigests(start + 24 * kHour - 1), 0);
  EXPECT_EQ(r.pipeline->RunDueDigests(start + 24 * kHour), 1);
  ASSERT_EQ(r.hook->num_calls(), 1u);
  Call c = r.hook->calls()[0];
  EXPECT_EQ(c.group_key, "digest/ops/2024-01-15T08:00:00Z");
  EXPECT_EQ(c.group_labels, (LabelSet{{"digest", "daily"}}));
  ASSERT_EQ(c.alerts.size(), 2u);
  EXPECT_THAT(Names(c.alerts), ElementsAre("HighCPU", "DiskFull:r"));
  const std::string summary =
      "2 alerts fired between 2024-01-15 09:00 CET and 2024-01-16 09:00 CET; 1 still firing.";
  EXPECT_EQ(c.alerts[0].annotations.at("digest_summary"), summary);
  EXPECT_EQ(c.alerts[1].annotations.at("digest_summary"), summary);
  EXPECT_EQ(c.alerts[0].annotations.at("digest_duration"),
            "still firing since 2024-01-15 09:55 CET");
  EXPECT_EQ(c.alerts[1].annotations.at("digest_duration"), "1h40m0s");
  // Sent once: running again (or after a restart) does not resend.
  EXPECT_EQ(r.pipeline->RunDueDigests(start + 24 * kHour + kMin), 0);
  clock.Set(start + 24 * kHour + kMin);
  r.Build();
  EXPECT_EQ(r.pipeline->RunDueDigests(clock.NowMs()), 0);
  EXPECT_EQ(r.hook->num_calls(), 0u);
}

TEST(DigestTest, MissedWhileDownIsSentAfterRestart) {
  FakeClock clock(Utc("2024-01-15T08:00:00Z"));
  DigestRouter r("digest_restart", &clock);
  r.Build();
  r.pipeline->RunDueDigests(clock.NowMs());
  const int64_t start = clock.NowMs();
  clock.Set(start + kHour);
  ASSERT_TRUE(r.Flush({MakeAlert({{"alertname", "X"}}, start + kHour)}, "X"));
  // Down over the period end, back two hours later: the digest is due at once.
  clock.Set(start + 26 * kHour);
  r.Build();
  EXPECT_EQ(r.pipeline->NextDigestDeadline(), clock.NowMs());
  EXPECT_EQ(r.pipeline->RunDueDigests(clock.NowMs()), 1);
  ASSERT_EQ(r.hook->num_calls(), 1u);
  EXPECT_EQ(r.hook->calls()[0].group_key, "digest/ops/2024-01-15T08:00:00Z");
}

TEST(DigestTest, FailedSendIsRetried) {
  FakeClock clock(Utc("2024-01-15T08:00:00Z"));
  DigestRouter r("digest_retry", &clock);
  r.Build();
  r.pipeline->RunDueDigests(clock.NowMs());
  const int64_t start = clock.NowMs();
  clock.Set(start + kHour);
  ASSERT_TRUE(r.Flush({MakeAlert({{"alertname", "X"}}, start + kHour)}, "X"));
  r.hook->Script({absl::InvalidArgumentError("HTTP 400"), false});
  clock.Set(start + 24 * kHour);
  EXPECT_EQ(r.pipeline->RunDueDigests(clock.NowMs()), 0);
  ASSERT_TRUE(r.pipeline->NextDigestDeadline().has_value());
  const int64_t retry = *r.pipeline->NextDigestDeadline();
  EXPECT_GT(retry, clock.NowMs());
  EXPECT_LE(retry, clock.NowMs() + 10 * kSec);
  clock.Set(retry);
  EXPECT_EQ(r.pipeline->RunDueDigests(retry), 1);
  EXPECT_EQ(r.hook->num_calls(), 2u);
}

}  // namespace
}  // namespace pharos::alerting::am
