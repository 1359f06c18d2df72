#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "alerting/am/config.h"
#include "alerting/am/inhibit.h"
#include "alerting/am/mute.h"
#include "alerting/am/silences.h"
#include "alerting/am/timeinterval.h"
#include "alerting/clock.h"
#include "alerting/state/state_store.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowMs() const override { return now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  int64_t now_;
};

int64_t Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

// ---- time intervals ----

TEST(TimeIntervalTest, BusinessHoursAcrossBerlinSpringForward) {
  TimeIntervalSpec t;
  t.times = {{9 * 60, 17 * 60}};
  t.weekdays = {{1, 5}};
  t.location = "Europe/Berlin";
  EXPECT_TRUE(Contains(t, Utc(2024, 3, 29, 8, 30)));    // Fri 09:30 CET (UTC+1)
  EXPECT_FALSE(Contains(t, Utc(2024, 3, 29, 7, 30)));   // Fri 08:30 CET
  EXPECT_TRUE(Contains(t, Utc(2024, 3, 29, 15, 59)));   // Fri 16:59 CET
  EXPECT_FALSE(Contains(t, Utc(2024, 3, 30, 10, 0)));   // Saturday
  EXPECT_TRUE(Contains(t, Utc(2024, 4, 1, 7, 0)));      // Mon 09:00 CEST (UTC+2)
  EXPECT_FALSE(Contains(t, Utc(2024, 4, 1, 6, 59)));    // Mon 08:59 CEST
  EXPECT_FALSE(Contains(t, Utc(2024, 4, 1, 15, 0)));    // Mon 17:00 CEST: end is exclusive
  EXPECT_TRUE(Contains(t, Utc(2024, 4, 1, 14, 59)));
}

TEST(TimeIntervalTest, SkippedAndRepeatedHours) {
  TimeIntervalSpec skipped;  // 02:00-03:00 does not exist in Berlin on 2024-03-31
  skipped.times = {{2 * 60, 3 * 60}};
  skipped.location = "Europe/Berlin";
  for (int64_t t = Utc(2024, 3, 30, 22, 0); t < Utc(2024, 3, 31, 6, 0); t += 60 * 1000) {
    ASSERT_FALSE(Contains(skipped, t)) << t;
  }
  EXPECT_TRUE(Contains(skipped, Utc(2024, 3, 30, 1, 30)));  // the day before: 02:30 CET

  TimeIntervalSpec repeated;  // 01:00-02:00 happens twice in New York on 2024-11-03
  repeated.times = {{60, 120}};
  repeated.location = "America/New_York";
  EXPECT_TRUE(Contains(repeated, Utc(2024, 11, 3, 5, 30)));   // 01:30 EDT
  EXPECT_TRUE(Contains(repeated, Utc(2024, 11, 3, 6, 30)));   // 01:30 EST
  EXPECT_FALSE(Contains(repeated, Utc(2024, 11, 3, 7, 0)));   // 02:00 EST
  EXPECT_FALSE(Contains(repeated, Utc(2024, 11, 3, 4, 59)));  // 00:59 EDT
}

TEST(TimeIntervalTest, NegativeDaysOfMonth) {
  TimeIntervalSpec last;
  last.days_of_month = {{-1, -1}};
  EXPECT_TRUE(Contains(last, Utc(2024, 2, 29, 12, 0)));   // leap year
  EXPECT_FALSE(Contains(last, Utc(2024, 2, 28, 12, 0)));
  EXPECT_TRUE(Contains(last, Utc(2023, 2, 28, 12, 0)));
  EXPECT_TRUE(Contains(last, Utc(2024, 4, 30, 0, 0)));
  EXPECT_FALSE(Contains(last, Utc(2024, 5, 30, 0, 0)));

  // Last three days of March in Berlin, a month with a DST change: 29, 30, 31 by the calendar.
  TimeIntervalSpec last3;
  last3.days_of_month = {{-3, -1}};
  last3.location = "Europe/Berlin";
  EXPECT_FALSE(Contains(last3, Utc(2024, 3, 28, 12, 0)));
  EXPECT_TRUE(Contains(last3, Utc(2024, 3, 29, 12, 0)));
  EXPECT_TRUE(Contains(last3, Utc(2024, 3, 31, 12, 0)));
  EXPECT_FALSE(Contains(last3, Utc(2024, 3, 31, 22, 30)));  // already April 1st in Berlin
}

TEST(TimeIntervalTest, RangesAtMonthEnds) {
  TimeIntervalSpec late;
  late.days_of_month = {{25, 31}};
  EXPECT_TRUE(Contains(late, Utc(2023, 2, 28, 0, 0)));   // clamped to February's length
  EXPECT_FALSE(Contains(late, Utc(2023, 3, 1, 0, 0)));
  TimeIntervalSpec end_only;
  end_only.days_of_month = {{30, 31}};
  EXPECT_FALSE(Contains(end_only, Utc(2023, 2, 28, 0, 0)));  // no 30th in February
  EXPECT_TRUE(Contains(end_only, Utc(2023, 1, 31, 23, 59)));

  // The local date decides: 23:30 UTC on Jan 31 is Feb 1 in Berlin.
  TimeIntervalSpec feb_first;
  feb_first.days_of_month = {{1, 1}};
  feb_first.months = {{2, 2}};
  feb_first.years = {{2024, 2024}};
  feb_first.location = "Europe/Berlin";
  EXPECT_TRUE(Contains(feb_first, Utc(2024, 1, 31, 23, 30)));
  feb_first.location = "UTC";
  EXPECT_FALSE(Contains(feb_first, Utc(2024, 1, 31, 23, 30)));
}

TEST(TimeIntervalTest, NamedIntervalsAndRouteMuting) {
  auto c = ParseConfig(R"(
route: {receiver: r}
receivers: [{name: r}]
time_intervals:
  - name: weekends
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
  - name: nights
    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}, {start_time: '22:00', end_time: '24:00'}]}]
)", "t.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& defs = c->time_intervals;
  const int64_t sat_noon = Utc(2024, 6, 1, 12, 0), mon_noon = Utc(2024, 6, 3, 12, 0),
                mon_night = Utc(2024, 6, 3, 23, 0);
  EXPECT_EQ(*AnyActive(defs, {"weekends"}, sat_noon), true);
  EXPECT_EQ(*AnyActive(defs, {"weekends", "nights"}, mon_night), true);
  EXPECT_EQ(*AnyActive(defs, {"weekends", "nights"}, mon_noon), false);
  EXPECT_EQ(AnyActive(defs, {"nope"}, mon_noon).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*MutedAt(defs, {"weekends"}, {}, sat_noon), true);
  EXPECT_EQ(*MutedAt(defs, {"weekends"}, {}, mon_noon), false);
  EXPECT_EQ(*MutedAt(defs, {}, {"nights"}, mon_noon), true);   // outside its active interval
  EXPECT_EQ(*MutedAt(defs, {}, {"nights"}, mon_night), false);
  EXPECT_EQ(*MutedAt(defs, {}, {}, mon_noon), false);
}

// ---- inhibition ----

Alert MakeAlert(LabelSet labels, int64_t ends_at = 0) {
  Alert a;
  a.labels = std::move(labels);
  a.ends_at_ms = ends_at;
  return a;
}

TEST(InhibitorTest, SourceInhibitsTargetWithEqualLabels) {
  auto c = ParseConfig(R"(
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_match: {severity: warning}
    equal: [alertname, cluster]
)", "i.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  FakeClock clock(1'000'000);
  Marker marker;
  Inhibitor ih(c->inhibit_rules, &marker, &clock);
  Alert src = MakeAlert({{"alertname", "Down"}, {"severity", "critical"}, {"cluster", "a"}});
  ih.Observe(src);
  LabelSet target = {{"alertname", "Down"}, {"severity", "warning"}, {"cluster", "a"}};
  EXPECT_TRUE(ih.Mutes(target));
  EXPECT_EQ(marker.Status(Fingerprint(target)).state, "suppressed");
  EXPECT_EQ(marker.Status(Fingerprint(target)).inhibited_by,
            std::vector<std::string>{FingerprintHex(src.fingerprint())});
  EXPECT_FALSE(ih.Mutes({{"alertname", "Down"}, {"severity", "warning"}, {"cluster", "b"}}));
  EXPECT_FALSE(ih.Mutes({{"alertname", "Other"}, {"severity", "warning"}, {"cluster", "a"}}));
  EXPECT_FALSE(ih.Mutes({{"alertname", "Down"}, {"severity", "info"}, {"cluster", "a"}}));
  // Absent on both sides counts as equal.
  ih.Observe(MakeAlert({{"alertname", "NoCluster"}, {"severity", "critical"}}));
  EXPECT_TRUE(ih.Mutes({{"alertname", "NoCluster"}, {"severity", "warning"}}));
  EXPECT_FALSE(ih.Mutes({{"alertname", "NoCluster"}, {"severity", "warning"}, {"cluster", "x"}}));

  // Resolving the source lifts the inhibition, and the marker says so.
  src.ends_at_ms = clock.NowMs() + 1000;
  ih.Observe(src);
  EXPECT_TRUE(ih.Mutes(target));  // ends in the future: still firing
  clock.Advance(1000);
  EXPECT_FALSE(ih.Mutes(target));
  EXPECT_EQ(marker.Status(Fingerprint(target)).state, "active");
  EXPECT_TRUE(marker.Status(Fingerprint(target)).inhibited_by.empty());
  EXPECT_EQ(ih.GC(), 1);
  EXPECT_EQ(ih.GC(), 0);
}

TEST(InhibitorTest, AlertMatchingBothSidesDoesNotInhibitItselfOrPeers) {
  InhibitRule r;
  r.source_matchers = *ParseMatchers("alertname=A");
  r.target_matchers = *ParseMatchers("alertname=A");
  FakeClock clock(1000);
  Inhibitor ih({r}, nullptr, &clock);
  LabelSet a1 = {{"alertname", "A"}, {"instance", "1"}};
  LabelSet a2 = {{"alertname", "A"}, {"instance", "2"}};
  ih.Observe(MakeAlert(a1));
  ih.Observe(MakeAlert(a2));
  EXPECT_FALSE(ih.Mutes(a1));
  EXPECT_FALSE(ih.Mutes(a2));

  // A source that matches only the source side does inhibit a two-sided alert.
  InhibitRule r2;
  r2.source_matchers = *ParseMatchers("severity=~\"critical|page\"");
  r2.target_matchers = *ParseMatchers("severity=~\"page|warning\"");
  Inhibitor ih2({r2}, nullptr, &clock);
  LabelSet page = {{"severity", "page"}};
  ih2.Observe(MakeAlert(page));
  EXPECT_FALSE(ih2.Mutes(page));
  ih2.Observe(MakeAlert({{"severity", "critical"}}));
  EXPECT_TRUE(ih2.Mutes(page));
  EXPECT_TRUE(ih2.Mutes({{"severity", "warning"}}));
  ih2.Forget(Fingerprint({{"severity", "critical"}}));
  EXPECT_FALSE(ih2.Mutes(page));                    // only two-sided sources remain
  EXPECT_TRUE(ih2.Mutes({{"severity", "warning"}}));  // which still inhibit one-sided targets
}

// ---- silences ----

Silence MakeSilence(const std::string& matchers, int64_t starts, int64_t ends) {
  Silence s;
  s.matchers = *ParseMatchers(matchers);
  s.starts_at_ms = starts;
  s.ends_at_ms = ends;
  s.created_by = "me";
  s.comment = "maintenance";
  return s;
}

constexpr int64_t kHour = 3600 * 1000;

TEST(SilencesTest, CreateQueryAndMute) {
  FakeClock clock(100 * kHour);
  auto sil = Silences::Open({nullptr, &clock});
  ASSERT_TRUE(sil.ok()) << sil.status();
  auto id = (*sil)->Set(MakeSilence(R"({job="api",instance=~"a.*"})", 99 * kHour, 101 * kHour));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(std::regex_match(*id, std::regex(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  auto got = (*sil)->Get(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->starts_at_ms, 100 * kHour);  // a start in the past becomes now
  EXPECT_EQ(got->updated_at_ms, 100 * kHour);
  EXPECT_EQ(got->StateAt(clock.NowMs()), SilenceState::kActive);

  Marker marker;
  Silencer silencer(sil->get(), &marker);
  LabelSet hit = {{"job", "api"}, {"instance", "ab"}};
  LabelSet miss = {{"job", "api"}, {"instance", "ba"}};
  EXPECT_TRUE(silencer.Mutes(hit));
  EXPECT_FALSE(silencer.Mutes(miss));
  EXPECT_EQ(marker.Status(Fingerprint(hit)).silenced_by, std::vector<std::string>{*id});
  EXPECT_EQ(marker.Status(Fingerprint(hit)).state, "suppressed");
  EXPECT_EQ(marker.Status(Fingerprint(miss)).state, "active");
  EXPECT_EQ(marker.Status(12345).state, "unprocessed");

  SilenceQuery q;
  q.states = std::vector<SilenceState>{SilenceState::kActive};
  EXPECT_EQ((*sil)->Query(q).size(), 1u);
  q.filter = *ParseMatchers(R"(job="api")");
  EXPECT_EQ((*sil)->Query(q).size(), 1u);
  q.filter = *ParseMatchers(R"(job="web")");
  EXPECT_EQ((*sil)->Query(q).size(), 0u);
  q.filter = *ParseMatchers(R"(instance=~"a.*")");  // the silence's matcher value, as a label
  EXPECT_EQ((*sil)->Query(q).size(), 1u);
  q.filter.clear();
  q.states = std::vector<SilenceState>{SilenceState::kPending};
  EXPECT_EQ((*sil)->Query(q).size(), 0u);

  clock.Advance(kHour);  // ends_at reached
  EXPECT_FALSE(silencer.Mutes(hit));
  EXPECT_TRUE(marker.Status(Fingerprint(hit)).silenced_by.empty());
}

TEST(SilencesTest, Validation) {
  FakeClock clock(100 * kHour);
  auto sil = *Silences::Open({nullptr, &clock});
  auto err = [&](Silence s) { return std::string(sil->Set(std::move(s)).status().message()); };
  Silence none = MakeSilence("a=b", 100 * kHour, 101 * kHour);
  none.matchers.clear();
  EXPECT_EQ(err(none), "at least one matcher required");
  EXPECT_EQ(err(MakeSilence(R"({a="", b=~".*"})", 100 * kHour, 101 * kHour)),
            "at least one matcher must not match the empty string");
  EXPECT_EQ(err(MakeSilence("a=b", 101 * kHour, 100 * kHour)), "start time must be before end time");
  EXPECT_EQ(err(MakeSilence("a=b", 90 * kHour, 99 * kHour)), "end time can't be in the past");
  Silence unknown = MakeSilence("a=b", 100 * kHour, 101 * kHour);
  unknown.id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(sil->Set(unknown).status().code(), absl::StatusCode::kNotFound);
}

TEST(SilencesTest, UpdateSemantics) {
  FakeClock clock(100 * kHour);
  auto sil = *Silences::Open({nullptr, &clock});
  // Active: extending the end and changing the comment keeps the id.
  Silence s = MakeSilence("a=b", 100 * kHour, 101 * kHour);
  const std::string id = *sil->Set(s);
  s = *sil->Get(id);
  s.ends_at_ms = 105 * kHour;
  s.comment = "longer";
  EXPECT_EQ(*sil->Set(s), id);
  EXPECT_EQ(sil->Get(id)->comment, "longer");

  // Changing the matchers replaces it: the old one is expired now, the new one has a new id.
  clock.Advance(kHour);
  s = *sil->Get(id);
  s.matchers = *ParseMatchers("a=c");
  const std::string id2 = *sil->Set(s);
  EXPECT_NE(id2, id);
  EXPECT_EQ(sil->Get(id)->StateAt(clock.NowMs()), SilenceState::kExpired);
  EXPECT_EQ(sil->Get(id)->ends_at_ms, 101 * kHour);
  EXPECT_EQ(sil->Get(id2)->StateAt(clock.NowMs()), SilenceState::kActive);

  // Moving an active silence's start rewrites the past: replaced too.
  s = *sil->Get(id2);
  s.starts_at_ms -= kHour;
  const std::string id3 = *sil->Set(s);
  EXPECT_NE(id3, id2);

  // Pending: its start may move as long as it stays in the future.
  Silence p = MakeSilence("x=y", 110 * kHour, 120 * kHour);
  const std::string pid = *sil->Set(p);
  EXPECT_EQ(sil->Get(pid)->StateAt(clock.NowMs()), SilenceState::kPending);
  p = *sil->Get(pid);
  p.starts_at_ms = 108 * kHour;
  EXPECT_EQ(*sil->Set(p), pid);
  p.starts_at_ms = 100 * kHour;  // into the past: replaced, and the new one starts now
  const std::string pid2 = *sil->Set(p);
  EXPECT_NE(pid2, pid);
  EXPECT_EQ(sil->Get(pid2)->starts_at_ms, clock.NowMs());
  EXPECT_EQ(sil->Get(pid)->StateAt(clock.NowMs()), SilenceState::kExpired);

  // Updating an expired silence always creates a new one and leaves the old one alone.
  Silence old = *sil->Get(id);
  old.ends_at_ms = 130 * kHour;
  const std::string id4 = *sil->Set(old);
  EXPECT_NE(id4, id);
  EXPECT_EQ(sil->Get(id)->ends_at_ms, 101 * kHour);
}

TEST(SilencesTest, Expire) {
  FakeClock clock(100 * kHour);
  auto sil = *Silences::Open({nullptr, &clock});
  const std::string id = *sil->Set(MakeSilence("a=b", 100 * kHour, 101 * kHour));
  clock.Advance(1000);
  ASSERT_TRUE(sil->Expire(id).ok());
  EXPECT_EQ(sil->Get(id)->ends_at_ms, 100 * kHour + 1000);
  EXPECT_EQ(sil->Get(id)->StateAt(clock.NowMs()), SilenceState::kExpired);
  absl::Status again = sil->Expire(id);
  EXPECT_EQ(again.message(), "silence " + id + " already expired");
  EXPECT_EQ(sil->Expire("nope").code(), absl::StatusCode::kNotFound);
  // A pending silence expires with start = end = now.
  const std::string pid = *sil->Set(MakeSilence("a=b", 110 * kHour, 111 * kHour));
  ASSERT_TRUE(sil->Expire(pid).ok());
  EXPECT_EQ(sil->Get(pid)->starts_at_ms, clock.NowMs());
  EXPECT_EQ(sil->Get(pid)->StateAt(clock.NowMs()), SilenceState::kExpired);
}

TEST(SilencesTest, PersistsAcrossReopenAndGarbageCollects) {
  const std::string dir = ::testing::TempDir() + "/am_silences_test";
  std::filesystem::remove_all(dir);
  FakeClock clock(100 * kHour);
  std::string id, id2;
  {
    auto store = StateStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    auto sil = *Silences::Open({store->get(), &clock});
    id = *sil->Set(MakeSilence(R"({a="b",c!~"d|e"})", 100 * kHour, 101 * kHour));
    id2 = *sil->Set(MakeSilence("x=y", 100 * kHour, 200 * kHour));
  }
  {
    auto store = StateStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    auto sil = *Silences::Open({store->get(), &clock});
    auto got = sil->Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->matchers, *ParseMatchers(R"({a="b",c!~"d|e"})"));
    EXPECT_EQ(got->ends_at_ms, 101 * kHour);
    EXPECT_EQ(got->created_by, "me");
    EXPECT_EQ(got->comment, "maintenance");
    // Expired at 101h; retention 120h: still kept at 220h, gone after 221h.
    clock.Advance(120 * kHour);
    EXPECT_EQ(*sil->GC(), 0);
    clock.Advance(kHour + 1);
    EXPECT_EQ(*sil->GC(), 1);
    EXPECT_EQ(sil->Get(id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(sil->Get(id2).ok());
  }
  {
    auto store = StateStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    auto sil = *Silences::Open({store->get(), &clock});
    EXPECT_EQ(sil->Get(id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(sil->Query({}).size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

TEST(SilencesTest, JsonRoundTripAndBadRecords) {
  Silence s = MakeSilence(R"({a="q\"x", b=~"1|2", c!="", d!~"z"})", 5, 10);
  s.id = "id-1";
  s.updated_at_ms = 7;
  auto back = SilenceFromJson(SilenceToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->matchers, s.matchers);
  EXPECT_EQ(back->updated_at_ms, 7);
  EXPECT_FALSE(SilenceFromJson("{").ok());
  EXPECT_FALSE(SilenceFromJson(R"({"id": 3})").ok());
}

}  // namespace
}  // namespace pharos::alerting::am
