#include "storage/db/db.h"

#include <bit>
#include <cmath>
#include <random>
#include <thread>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/rocks/rocks_store.h"
#include "tests/storage/db/db_test_util.h"

namespace pharos::storage {
namespace {

using testing::Dataset;
using testing::QueryAll;
using testing::SampleList;
using testing::TempPath;

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kNow = 1'700'000'000'000;  // fixed "now" for the injected clock

class DBTest : public ::testing::Test {
 protected:
  DBOptions Opts() {
    DBOptions o;
    o.path = tmp_.path();
    o.log = testing::NullLogger();
    o.flush_interval_ms = 0;  // tests drive flushes
    o.now_ms = [this] { return now_.load(); };
    o.retention_ms = 0;
    o.future_tolerance_ms = 0;
    return o;
  }
  std::unique_ptr<DB> Open(DBOptions o) {
    auto db = DB::Open(std::move(o));
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }
  std::unique_ptr<DB> Open() { return Open(Opts()); }

  // Appends `data` in one batch per series.
  void AppendAll(DB& db, const std::map<Labels, SampleList>& data) {
    for (const auto& [labels, samples] : data) {
      auto app = db.NewAppender();
      SeriesRef ref = 0;
      for (const auto& [t, v] : samples) {
        auto r = app->Append(ref, labels, t, v);
        ASSERT_TRUE(r.ok()) << labels.String();
        ref = r.ref;
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }

  static Dataset ToDataset(const std::map<Labels, SampleList>& data) {
    Dataset d;
    for (const auto& [l, s] : data) d[l.String()] = s;
    return d;
  }

  TempPath tmp_;
  std::atomic<int64_t> now_{kNow};
};

std::map<Labels, SampleList> RandomData(int series, int samples, int64_t start, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::map<Labels, SampleList> out;
  for (int s = 0; s < series; ++s) {
    Labels l = Labels::FromStrings({"__name__", s % 3 == 0 ? "node_cpu_seconds_total" : "http_requests_total",
                                    "instance", "host-" + std::to_string(s % 7),
                                    "series", std::to_string(s)});
    SampleList& list = out[l];
    int64_t t = start + static_cast<int64_t>(rng() % 15000);
    double v = static_cast<double>(rng() % 1000);
    for (int i = 0; i < samples; ++i) {
      list.emplace_back(t, v);
      t += 15000 + static_cast<int64_t>(rng() % 5);
      switch (rng() % 10) {
        case 0: v = std::nan(""); break;
        case 1: v = std::bit_cast<double>(kStaleNaNBits); break;
        case 2: v = -0.0; break;
        default: v += static_cast<double>(rng() % 100) / 10.0;
      }
    }
  }
  return out;
}

void ExpectSameData(const Dataset& got, const Dataset& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, samples] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name;
    ASSERT_EQ(it->second.size(), samples.size()) << name;
    for (size_t i = 0; i < samples.size(); ++i) {
      ASSERT_EQ(it->second[i].first, samples[i].first) << name << " #" << i;
      ASSERT_EQ(std::bit_cast<uint64_t>(it->second[i].second),
                std::bit_cast<uint64_t>(samples[i].second))
          << name << " #" << i;
    }
  }
}

TEST_F(DBTest, AppendQueryInHead) {
  auto db = Open();
  auto data = RandomData(20, 300, kNow - kDay, 1);
  AppendAll(*db, data);
  ExpectSameData(QueryAll(*db, 0, kNow + kDay), ToDataset(data));
}

TEST_F(DBTest, AppendCloseReopenQuery) {
  // Spans several day partitions, several chunks per series.
  auto data = RandomData(30, 1500, kNow - 3 * kDay, 2);
  {
    auto db = Open();
    AppendAll(*db, data);
    ASSERT_TRUE(db->Flush(false).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();
  ExpectSameData(QueryAll(*db, std::numeric_limits<int64_t>::min() / 2, kNow + kDay),
                 ToDataset(data));
  // Again after a full flush and compaction.
  ASSERT_TRUE(db->FlushAndCompact().ok());
  ExpectSameData(QueryAll(*db, 0, kNow + kDay), ToDataset(data));
}

TEST_F(DBTest, RangeSelectionIsExactAndPartitioned) {
  auto db = Open();
  auto data = RandomData(5, 2000, kNow - 2 * kDay, 3);
  AppendAll(*db, data);
  ASSERT_TRUE(db->Flush(true).ok());
  const int64_t mint = kNow - 2 * kDay + 3600000 + 12345, maxt = kNow - 2 * kDay + 5 * 3600000;
  Dataset want;
  for (const auto& [l, s] : data) {
    SampleList& w = want[l.String()];
    for (const auto& p : s) {
      if (p.first >= mint && p.first <= maxt) w.push_back(p);
    }
    if (w.empty()) want.erase(l.String());
  }
  ExpectSameData(QueryAll(*db, mint, maxt), want);
  // A series that only has old data is not returned for a recent range.
  auto app = db->NewAppender();
  Labels old = Labels::FromStrings({"__name__", "old_metric"});
  ASSERT_TRUE(app->Append(0, old, kNow - 20 * kDay, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(QueryAll(*db, kNow - 3600000, kNow).count(old.String()), 0u);
  EXPECT_EQ(QueryAll(*db, kNow - 21 * kDay, kNow).count(old.String()), 1u);
}

TEST_F(DBTest, OutOfOrderDuplicatesAndLastWriteWins) {
  Labels l = Labels::FromStrings({"__name__", "m", "job", "j"});
  auto append = [&](DB& db, int64_t t, double v) {
    auto app = db.NewAppender();
    ASSERT_TRUE(app->Append(0, l, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  };
  std::map<int64_t, double> want;
  Registry reg;
  DBOptions o = Opts();
  o.registry = &reg;
  auto db = Open(o);
  const int64_t base = kNow - 10 * kDay;
  for (int i = 0; i < 300; ++i) {
    append(*db, base + i * 15000, i);
    want[base + i * 15000] = i;
  }
  // Inside the open chunk's range: a new timestamp, a duplicate, a replacement.
  append(*db, base + 299 * 15000 - 7000, 1000);
  want[base + 299 * 15000 - 7000] = 1000;
  append(*db, base + 298 * 15000, 298);   // exact duplicate
  append(*db, base + 297 * 15000, 2970);  // same timestamp, new value
  want[base + 297 * 15000] = 2970;
  // Older than everything in the head (sealed chunks), and older than the series' start.
  append(*db, base + 10 * 15000, -10);
  want[base + 10 * 15000] = -10;
  append(*db, base - 5 * kDay, 5);  // backfill, another partition
  want[base - 5 * kDay] = 5;
  auto check = [&](DB& d) {
    Dataset got = QueryAll(d, base - 6 * kDay, kNow);
    ASSERT_EQ(got.size(), 1u);
    const SampleList& s = got.begin()->second;
    ASSERT_EQ(s.size(), want.size());
    size_t i = 0;
    for (const auto& [t, v] : want) {
      EXPECT_EQ(s[i].first, t);
      EXPECT_EQ(s[i].second, v) << "t=" << t;
      ++i;
    }
  };
  check(*db);
  ASSERT_TRUE(db->Flush(true).ok());
  check(*db);
  // The out-of-order chunks were compacted into non-overlapping ones.
  EXPECT_THAT(reg.Expose(), ::testing::Not(::testing::HasSubstr("pharos_storage_compactions_total 0\n")));
  EXPECT_THAT(reg.Expose(), ::testing::HasSubstr("pharos_storage_compactions_total "));
  // Overwrite a flushed sample, flush again, reopen: the newest value still wins.
  append(*db, base + 10 * 15000, -11);
  want[base + 10 * 15000] = -11;
  check(*db);
  ASSERT_TRUE(db->Close().ok());
  db = Open();
  check(*db);
  ASSERT_TRUE(db->FlushAndCompact().ok());
  check(*db);
}

TEST_F(DBTest, Rejections) {
  Registry reg;
  DBOptions o = Opts();
  o.retention_ms = 2 * kDay;
  o.future_tolerance_ms = 3600000;
  o.registry = &reg;
  o.label_limits.max_value_length = 100;
  auto db = Open(o);
  auto app = db->NewAppender();
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "a"}), kNow - 3 * kDay, 1).reject,
            RejectReason::kOutOfRetention);
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "a"}), kNow + 7200000, 1).reject,
            RejectReason::kTooFarInFuture);
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "a", "x", "1", "x", "2"}), kNow, 1).reject,
            RejectReason::kInvalidLabels);
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "a", "bad", "\xff"}), kNow, 1).reject,
            RejectReason::kInvalidLabels);
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "a", "big", std::string(101, 'v')}), kNow, 1).reject,
            RejectReason::kInvalidLabels);
  EXPECT_EQ(app->Append(0, Labels(), kNow, 1).reject, RejectReason::kInvalidLabels);
  EXPECT_TRUE(app->Append(0, Labels::FromStrings({"__name__", "a", "ok", "1"}), kNow, 1).ok());
  EXPECT_EQ(app->NumRejected(), 6u);
  EXPECT_EQ(app->NumAccepted(), 1u);
  ASSERT_TRUE(app->Commit().ok());
  std::string m = reg.Expose();
  EXPECT_THAT(m, ::testing::HasSubstr("pharos_storage_samples_rejected_total{reason=\"invalid_labels\"} 4"));
  EXPECT_THAT(m, ::testing::HasSubstr("pharos_storage_samples_appended_total 1"));
  EXPECT_EQ(QueryAll(*db, 0, kNow * 2).size(), 1u);
}

TEST_F(DBTest, SeriesLimit) {
  DBOptions o = Opts();
  o.max_series = 2;
  auto db = Open(o);
  auto app = db->NewAppender();
  EXPECT_TRUE(app->Append(0, Labels::FromStrings({"__name__", "a"}), kNow, 1).ok());
  EXPECT_TRUE(app->Append(0, Labels::FromStrings({"__name__", "b"}), kNow, 1).ok());
  EXPECT_EQ(app->Append(0, Labels::FromStrings({"__name__", "c"}), kNow, 1).reject,
            RejectReason::kSeriesLimit);
  EXPECT_TRUE(app->Append(0, Labels::FromStrings({"__name__", "a"}), kNow + 1, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
}

TEST_F(DBTest, RetentionDropsExactlyTheExpiredPartitions) {
  DBOptions o = Opts();
  o.retention_ms = 3 * kDay;
  now_ = kNow;
  // One series per day, 6 days back; plus one series spanning all days. Written without
  // retention (as a backfill would be before retention is configured).
  std::map<Labels, SampleList> data;
  Labels span = Labels::FromStrings({"__name__", "span"});
  for (int d = 0; d < 6; ++d) {
    Labels l = Labels::FromStrings({"__name__", "daily", "day", std::to_string(d)});
    for (int i = 0; i < 10; ++i) {
      int64_t t = kNow - d * kDay - i * 60000;
      data[l].emplace_back(t, i);
      data[span].emplace_back(t, d);
    }
  }
  for (auto& [l, s] : data) std::sort(s.begin(), s.end());
  {
    auto db = Open();
    AppendAll(*db, data);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open(o);
  // Advance time by two days: the cutoff moves to kNow - 1 day.
  now_ = kNow + 2 * kDay;
  ASSERT_TRUE(db->EnforceRetention().ok());
  const int64_t cutoff = now_ - o.retention_ms;
  const int32_t first_kept = PartitionOf(cutoff);
  Dataset got = QueryAll(*db, 0, now_.load());
  for (const auto& [l, s] : data) {
    SampleList want;
    for (const auto& p : s) {
      if (PartitionOf(p.first) >= first_kept) want.push_back(p);
    }
    auto it = got.find(l.String());
    if (want.empty()) {
      EXPECT_EQ(it, got.end()) << l.String();
    } else {
      ASSERT_NE(it, got.end()) << l.String();
      EXPECT_EQ(it->second, want) << l.String();
    }
  }
  // Series without data left are gone from the index too.
  auto q = db->NewQuerier(0, now_.load());
  auto names = (*q)->LabelValues("day", {});
  ASSERT_TRUE(names.ok());
  for (const auto& v : *names) {
    int d = std::stoi(v);
    EXPECT_GE(PartitionOf(kNow - d * kDay), first_kept - 1) << v;
  }
  // And after a restart.
  ASSERT_TRUE(db->Close().ok());
  db = Open(o);
  EXPECT_EQ(QueryAll(*db, 0, now_.load()), got);
  DBStats st = db->Stats();
  EXPECT_EQ(st.num_series, got.size());
}

TEST_F(DBTest, LabelNamesValuesAndMatchers) {
  auto db = Open();
  std::map<Labels, SampleList> data;
  data[Labels::FromStrings({"__name__", "up", "job", "api", "instance", "a:1"})] = {{kNow, 1}};
  data[Labels::FromStrings({"__name__", "up", "job", "db", "instance", "b:1"})] = {{kNow, 0}};
  data[Labels::FromStrings({"__name__", "errors_total", "job", "api", "code", "500"})] = {{kNow, 3}};
  AppendAll(*db, data);
  auto q = db->NewQuerier(kNow - 1000, kNow + 1000);
  ASSERT_TRUE(q.ok());
  auto names = (*q)->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ::testing::ElementsAre("__name__", "code", "instance", "job"));
  std::vector<Matcher> m = {Matcher::MustMake(MatchType::kEqual, "job", "api")};
  auto vals = (*q)->LabelValues("__name__", m);
  EXPECT_THAT(*vals, ::testing::ElementsAre("errors_total", "up"));
  std::vector<Matcher> sel = {Matcher::MustMake(MatchType::kEqual, "__name__", "up"),
                              Matcher::MustMake(MatchType::kNotEqual, "job", "api")};
  Dataset got = QueryAll(*db, kNow - 1000, kNow + 1000, sel);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.begin()->first, R"({__name__="up", instance="b:1", job="db"})");
  // Series come back sorted by labels.
  auto set = (*q)->Select(std::vector<Matcher>{Matcher::MustMake(MatchType::kRegexMatch, "job", ".+")});
  std::vector<std::string> order;
  while (set->Next()) order.push_back(set->At().labels().String());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.size(), 3u);
  EXPECT_GE((*q)->EstimateSamples(m), 2u);
}

TEST_F(DBTest, ConcurrentAppendsAndQueries) {
  DBOptions o = Opts();
  o.flush_interval_ms = 5;  // the background flusher races with everything
  o.max_chunk_age_ms = 0;
  auto db = Open(o);
  constexpr int kWriters = 3, kBatches = 60, kPerBatch = 50;
  std::atomic<bool> done{false};
  std::atomic<int64_t> committed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int b = 0; b < kBatches; ++b) {
        auto app = db->NewAppender();
        for (int i = 0; i < kPerBatch; ++i) {
          Labels l = Labels::FromStrings({"__name__", "c", "w", std::to_string(w), "i", std::to_string(i % 5)});
          ASSERT_TRUE(app->Append(0, l, kNow + b * kPerBatch + i, b).ok());
        }
        ASSERT_TRUE(app->Commit().ok());
        committed.fetch_add(kPerBatch);
      }
    });
  }
  // Every query sees at least what was committed before it started, while the flusher moves
  // chunks from the head to RocksDB under it (one Select reads all series with one reader).
  std::thread reader([&] {
    while (!done) {
      const int64_t before = committed.load();
      Dataset d = QueryAll(*db, kNow, kNow + 1000000);
      int64_t seen = 0;
      for (const auto& [n, s] : d) {
        seen += static_cast<int64_t>(s.size());
        for (size_t i = 1; i < s.size(); ++i) ASSERT_LT(s[i - 1].first, s[i].first);
      }
      ASSERT_GE(seen, before);
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  Dataset d = QueryAll(*db, kNow, kNow + 1000000);
  size_t total = 0;
  for (const auto& [n, s] : d) total += s.size();
  EXPECT_EQ(total, static_cast<size_t>(kWriters * kBatches * kPerBatch));
  EXPECT_EQ(d.size(), static_cast<size_t>(kWriters * 5));
}

TEST_F(DBTest, ReopenWithoutFlushReplaysWal) {
  auto data = RandomData(10, 200, kNow - kDay, 9);
  {
    DBOptions o = Opts();
    auto db = Open(o);
    AppendAll(*db, data);
    // Snapshot the on-disk state before Close() flushes: copy the directory.
    std::filesystem::copy(tmp_.path(), tmp_.path() + "-copy",
                          std::filesystem::copy_options::recursive);
  }
  DBOptions o = Opts();
  o.path = tmp_.path() + "-copy";
  {
    auto db = Open(o);
    ExpectSameData(QueryAll(*db, 0, kNow + kDay), ToDataset(data));
  }
  std::filesystem::remove_all(o.path);
}

TEST_F(DBTest, StatsAndSnapshot) {
  auto db = Open();
  auto data = RandomData(12, 100, kNow - 3600000, 4);
  AppendAll(*db, data);
  DBStats st = db->Stats(3);
  EXPECT_EQ(st.num_series, 12u);
  ASSERT_FALSE(st.series_by_metric.empty());
  EXPECT_EQ(st.series_by_metric[0].name, "http_requests_total");
  EXPECT_EQ(st.series_by_metric[0].value, 8u);
  EXPECT_GT(st.head_bytes, 0u);
  std::string snap = tmp_.path() + "-snap";
  ASSERT_TRUE(db->Snapshot(snap).ok());
  {
    DBOptions o = Opts();
    o.path = tmp_.path() + "-snapdb";
    std::filesystem::create_directories(o.path);
    std::filesystem::rename(snap, o.path + "/rocksdb");
    auto copy = Open(o);
    ExpectSameData(QueryAll(*copy, 0, kNow + kDay), ToDataset(data));
    std::filesystem::remove_all(o.path);
  }
}

}  // namespace
}  // namespace pharos::storage
