// Engine tests beyond the conformance scripts: error types and texts, limits (max samples,
// timeout with an injected clock), @ and offset edge cases, lookback/range boundaries and
// range-query step alignment. Data lives in a real storage::DB.

#include "query/engine/engine.h"

#include <bit>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/storage/db/db_test_util.h"

namespace pharos::promql {
namespace {

using storage::DB;
using storage::DBOptions;

constexpr int64_t kMin = 60'000;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOptions o;
    o.path = tmp_.path();
    o.log = storage::testing::NullLogger();
    o.flush_interval_ms = 0;
    o.retention_ms = 0;
    o.future_tolerance_ms = 0;
    auto db = DB::Open(std::move(o));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // Appends value(i) at i*step for i in [0, n).
  void Add(const Labels& l, int64_t step, int n, const std::function<double(int)>& value) {
    auto app = db_->NewAppender();
    storage::SeriesRef ref = 0;
    for (int i = 0; i < n; ++i) {
      auto r = app->Append(ref, l, i * step, value(i));
      ASSERT_TRUE(r.ok());
      ref = r.ref;
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  void AddAt(const Labels& l, int64_t t, double v) {
    auto app = db_->NewAppender();
    ASSERT_TRUE(app->Append(0, l, t, v).ok());
    ASSERT_TRUE(app->Commit().ok());
  }

  absl::StatusOr<QueryResult> Instant(const std::string& q, int64_t t,
                                      EngineOptions o = EngineOptions()) {
    Engine e(std::move(o));
    return e.InstantQuery(*db_, q, t);
  }
  absl::StatusOr<QueryResult> Range(const std::string& q, int64_t s, int64_t e, int64_t step,
                                    EngineOptions o = EngineOptions()) {
    Engine engine(std::move(o));
    return engine.RangeQuery(*db_, q, s, e, step);
  }
  // Value of the only series of a vector result.
  double One(const std::string& q, int64_t t) {
    auto r = Instant(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return NAN;
    if (r->type == ResultType::kScalar) return r->scalar.v;
    EXPECT_EQ(r->series.size(), 1u) << q;
    return r->series.empty() ? NAN : r->series[0].points[0].v;
  }
  size_t Count(const std::string& q, int64_t t) {
    auto r = Instant(q, t);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    return r.ok() ? r->series.size() : 0;
  }

  storage::testing::TempPath tmp_;
  std::unique_ptr<DB> db_;
};

TEST_F(EngineTest, ResultTypes) {
  Add(Labels::FromStrings({"__name__", "x", "job", "a"}), kMin, 10, [](int i) { return i; });
  auto v = Instant("x", 5 * kMin);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->type, ResultType::kVector);
  ASSERT_EQ(v->series.size(), 1u);
  EXPECT_EQ(v->series[0].labels, Labels::FromStrings({"__name__", "x", "job", "a"}));
  EXPECT_EQ(v->series[0].points[0].t, 5 * kMin);
  EXPECT_EQ(v->series[0].points[0].v, 5);

  auto s = Instant("1 + 2", 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, ResultType::kScalar);
  EXPECT_EQ(s->scalar.v, 3);

  auto str = Instant("\"hello\"", 0);
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(str->type, ResultType::kString);
  EXPECT_EQ(str->string_value, "hello");

  auto m = Instant("x[3m]", 5 * kMin);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, ResultType::kMatrix);
  ASSERT_EQ(m->series.size(), 1u);
  // Left-open window (2m, 5m]: samples at 3m, 4m, 5m.
  ASSERT_EQ(m->series[0].points.size(), 3u);
  EXPECT_EQ(m->series[0].points[0].t, 3 * kMin);
}

TEST_F(EngineTest, ParseErrorIsBadData) {
  auto r = Instant("sum(", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kBadData);
  EXPECT_EQ(ErrorTypeName(ErrorTypeOf(r.status())), "bad_data");
}

TEST_F(EngineTest, RangeQueryOfRangeVectorIsBadData) {
  auto r = Range("x[5m]", 0, kMin, kMin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kBadData);
  EXPECT_EQ(r.status().message(),
            "invalid expression type \"range vector\" for range query, must be Scalar or "
            "instant Vector");
  auto z = Range("1", 0, kMin, 0);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(ErrorTypeOf(z.status()), ErrorType::kBadData);
}

TEST_F(EngineTest, ManyToManyErrorText) {
  AddAt(Labels::FromStrings({"__name__", "a", "l", "1"}), 0, 1);
  AddAt(Labels::FromStrings({"__name__", "b", "l", "1", "x", "y"}), 0, 1);
  AddAt(Labels::FromStrings({"__name__", "b", "l", "1", "x", "z"}), 0, 2);
  auto r = Instant("a + on(l) b", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kExecution);
  EXPECT_EQ(r.status().message(),
            "found duplicate series for the match group {l=\"1\"} on the right hand-side of the "
            "operation: [{__name__=\"b\", l=\"1\", x=\"y\"}, {__name__=\"b\", l=\"1\", "
            "x=\"z\"}];many-to-many matching not allowed: matching labels must be unique on "
            "one side");
}

TEST_F(EngineTest, SameLabelsetError) {
  AddAt(Labels::FromStrings({"__name__", "a", "l", "1"}), 0, 1);
  AddAt(Labels::FromStrings({"__name__", "b", "l", "1"}), 0, 1);
  EngineOptions o;  // immediate name removal
  auto r = Instant("abs({l=\"1\"})", 0, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kExecution);
  o.enable_delayed_name_removal = true;
  r = Instant("abs({l=\"1\"})", 0, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, LabelReplaceMergesNonOverlappingSeries) {
  // Two series that become one label set after label_replace, with points at different times:
  // merged (as Prometheus does), in both name-removal modes.
  AddAt(Labels::FromStrings({"__name__", "s", "idx", "0"}), 0, 1);
  AddAt(Labels::FromStrings({"__name__", "s", "idx", "1"}), 10 * kMin, 2);
  for (bool delayed : {false, true}) {
    EngineOptions o;
    o.enable_delayed_name_removal = delayed;
    auto r = Range("label_replace(s, \"idx\", \"x\", \"idx\", \".*\")", 0, 10 * kMin,
                   5 * kMin, o);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->series.size(), 1u);
    EXPECT_EQ(r->series[0].points.size(), 2u);  // 0 from idx=0, 10m from idx=1
  }
  // Overlapping points are an error.
  AddAt(Labels::FromStrings({"__name__", "t", "idx", "0"}), 0, 1);
  AddAt(Labels::FromStrings({"__name__", "t", "idx", "1"}), 0, 2);
  auto r = Instant("label_replace(t, \"idx\", \"x\", \"idx\", \".*\")", kMin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, LimitKAndLimitRatio) {
  for (int i = 0; i < 20; ++i) {
    AddAt(Labels::FromStrings({"__name__", "l", "i", std::to_string(i)}), 0, i);
  }
  EngineOptions o;
  o.enable_experimental_functions = true;
  auto k = Instant("limitk(5, l)", 0, o);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->series.size(), 5u);
  // limit_ratio(r) and limit_ratio(r - 1) pick complementary sets (hash-based sampling).
  auto a = Instant("limit_ratio(0.3, l)", 0, o);
  auto b = Instant("limit_ratio(-0.7, l)", 0, o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->series.size() + b->series.size(), 20u);
  for (const Series& x : a->series) {
    for (const Series& y : b->series) EXPECT_NE(x.labels, y.labels);
  }
  // Without the experimental flag the parser rejects them.
  EXPECT_EQ(ErrorTypeOf(Instant("limitk(5, l)", 0).status()), ErrorType::kBadData);
}

TEST_F(EngineTest, MaxSamples) {
  for (int s = 0; s < 10; ++s) {
    Add(Labels::FromStrings({"__name__", "m", "s", std::to_string(s)}), 10'000, 100,
        [](int i) { return i; });
  }
  EngineOptions o;
  o.max_samples = 50;
  auto r = Instant("sum_over_time(m[10m])", 15 * kMin, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "query processing would load too many samples into memory in query execution");
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kExecution);
  // A range query keeping one point per step and series over the limit fails too.
  r = Range("m", 0, 15 * kMin, 10'000, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kExecution);
  // Within the limit it works.
  o.max_samples = 1000;
  r = Instant("sum(m)", 15 * kMin, o);
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(EngineTest, TimeoutWithInjectedClock) {
  for (int s = 0; s < 5; ++s) {
    Add(Labels::FromStrings({"__name__", "m", "s", std::to_string(s)}), kMin, 60,
        [](int i) { return i; });
  }
  // Every clock reading advances one second; the query needs many readings.
  auto ticks = std::make_shared<int64_t>(0);
  EngineOptions o;
  o.timeout_ms = 10'000;
  o.now_ms = [ticks] { return (*ticks)++ * 1000; };
  auto r = Range("rate(m[5m])", 0, 60 * kMin, kMin, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kTimeout);
  EXPECT_EQ(r.status().message(), "query timed out in expression evaluation");
  // A frozen clock never times out.
  o.now_ms = [] { return int64_t{0}; };
  EXPECT_TRUE(Range("rate(m[5m])", 0, 60 * kMin, kMin, o).ok());
}

TEST_F(EngineTest, Cancellation) {
  Add(Labels::FromStrings({"__name__", "m"}), kMin, 60, [](int i) { return i; });
  std::atomic<bool> cancel{true};
  QueryOptions qo;
  qo.cancel = &cancel;
  Engine e({});
  auto r = e.RangeQuery(*db_, "rate(m[5m])", 0, 60 * kMin, kMin, qo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeOf(r.status()), ErrorType::kCanceled);
  cancel = false;
  EXPECT_TRUE(e.RangeQuery(*db_, "rate(m[5m])", 0, 60 * kMin, kMin, qo).ok());
}

TEST_F(EngineTest, PerQueryLookback) {
  AddAt(Labels::FromStrings({"__name__", "g"}), 0, 1);
  Engine e({});
  QueryOptions qo;
  qo.lookback_delta_ms = 10 * kMin;
  auto r = e.InstantQuery(*db_, "g", 8 * kMin, qo);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series.size(), 1u);
  r = e.InstantQuery(*db_, "g", 8 * kMin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series.size(), 0u);
}

TEST_F(EngineTest, LookbackAndStaleness) {
  const Labels l = Labels::FromStrings({"__name__", "g"});
  AddAt(l, 0, 1);
  AddAt(l, 2 * kMin, 2);
  // Lookback is (t-5m, t]: the sample at 2m is visible until 7m exclusive.
  EXPECT_EQ(One("g", 6 * kMin), 2);
  EXPECT_EQ(Count("g", 7 * kMin), 0u);
  EXPECT_EQ(One("g", 7 * kMin - 1), 2);
  // A staleness marker ends the series immediately.
  AddAt(l, 3 * kMin, std::bit_cast<double>(storage::kStaleNaNBits));
  EXPECT_EQ(One("g", 2 * kMin + 30'000), 2);
  EXPECT_EQ(Count("g", 3 * kMin), 0u);
  EXPECT_EQ(Count("g", 4 * kMin), 0u);
  // Stale markers are dropped from range windows.
  EXPECT_EQ(One("count_over_time(g[10m])", 5 * kMin), 2);
}

TEST_F(EngineTest, RangeWindowIsLeftOpen) {
  Add(Labels::FromStrings({"__name__", "c_total"}), kMin, 11, [](int i) { return 10.0 * i; });
  // (4m, 5m] holds only the sample at 5m.
  EXPECT_EQ(One("count_over_time(c_total[1m])", 5 * kMin), 1);
  EXPECT_EQ(One("count_over_time(c_total[2m])", 5 * kMin), 2);
  // rate over a regular counter: 10 per minute.
  EXPECT_DOUBLE_EQ(One("rate(c_total[5m])", 10 * kMin), 10.0 / 60);
  EXPECT_DOUBLE_EQ(One("increase(c_total[5m])", 10 * kMin), 50);
}

TEST_F(EngineTest, RateExtrapolationAndCounterReset) {
  // Samples at 15s intervals with a reset; window does not align with samples.
  const Labels l = Labels::FromStrings({"__name__", "r_total"});
  std::vector<double> v = {0, 10, 20, 30, 5, 15, 25};
  auto app = db_->NewAppender();
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_TRUE(app->Append(0, l, 5'000 + static_cast<int64_t>(i) * 15'000, v[i]).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  // Window (0s, 100s]: samples 5s..95s. Increase: 25 - 0 + 30 (reset) = 55 over 90s of
  // samples; start: 5s to the boundary but the zero point is at 5s (value 0) -> 0;
  // end: 5s < 1.1*15s -> extrapolate fully. 55 * (90+0+5)/90.
  EXPECT_DOUBLE_EQ(One("increase(r_total[100s])", 100'000), 55.0 * 95 / 90);
  EXPECT_DOUBLE_EQ(One("rate(r_total[100s])", 100'000), 55.0 * 95 / 90 / 100);
  EXPECT_DOUBLE_EQ(One("resets(r_total[100s])", 100'000), 1);
  EXPECT_DOUBLE_EQ(One("delta(r_total[100s])", 100'000), 25.0 * 100 / 90);
}

TEST_F(EngineTest, AtAndOffset) {
  Add(Labels::FromStrings({"__name__", "x"}), kMin, 61, [](int i) { return i; });
  EXPECT_EQ(One("x @ 600", 0), 10);
  EXPECT_EQ(One("x @ 600", 3600'000), 10);
  EXPECT_EQ(One("x offset 5m", 20 * kMin), 15);
  EXPECT_EQ(One("x offset -5m", 20 * kMin), 25);
  EXPECT_EQ(One("x @ 600 offset 2m", 0), 8);
  EXPECT_EQ(One("x @ 600 offset -2m", 0), 12);
  EXPECT_EQ(One("sum_over_time(x[2m] @ 300)", 3600'000), 4 + 5);
  EXPECT_EQ(One("max_over_time(x[10m:1m] @ 1200)", 0), 20);

  // In a range query, @ start() / end() pin the value for every step.
  auto r = Range("x @ end()", 10 * kMin, 20 * kMin, 5 * kMin);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);
  ASSERT_EQ(r->series[0].points.size(), 3u);
  for (const Point& p : r->series[0].points) EXPECT_EQ(p.v, 20);
  r = Range("x @ start()", 10 * kMin, 20 * kMin, 5 * kMin);
  ASSERT_TRUE(r.ok());
  for (const Point& p : r->series[0].points) EXPECT_EQ(p.v, 10);
  // time() is not step invariant: the @ on the selector does not freeze it.
  r = Range("x @ start() + time()", 10 * kMin, 20 * kMin, 5 * kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series[0].points.size(), 3u);
  EXPECT_EQ(r->series[0].points[2].v, 10 + 1200);
}

TEST_F(EngineTest, RangeQueryStepAlignment) {
  Add(Labels::FromStrings({"__name__", "y_total"}), 10'000, 200, [](int i) { return i * 3.0; });
  const int64_t start = 123'456, end = 1'500'000, step = 37'000;
  auto r = Range("rate(y_total[1m])", start, end, step);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type, ResultType::kMatrix);
  ASSERT_EQ(r->series.size(), 1u);
  const auto& pts = r->series[0].points;
  ASSERT_EQ(pts.size(), static_cast<size_t>((end - start) / step + 1));
  for (size_t i = 0; i < pts.size(); ++i) {
    EXPECT_EQ(pts[i].t, start + static_cast<int64_t>(i) * step);
    // Every step equals the instant query at that time.
    EXPECT_DOUBLE_EQ(pts[i].v, One("rate(y_total[1m])", pts[i].t)) << pts[i].t;
  }
  // Subqueries align their steps to multiples of the subquery step.
  auto sq = Instant("y_total[1m:25s]", 200'000);
  ASSERT_TRUE(sq.ok());
  ASSERT_EQ(sq->series.size(), 1u);
  std::vector<int64_t> ts;
  for (const Point& p : sq->series[0].points) ts.push_back(p.t);
  EXPECT_EQ(ts, (std::vector<int64_t>{150'000, 175'000, 200'000}));
}

TEST_F(EngineTest, RangeQueryResultSortedAndNameDropping) {
  for (const char* job : {"c", "a", "b"}) {
    Add(Labels::FromStrings({"__name__", "z", "job", job}), kMin, 5, [](int i) { return i; });
  }
  auto r = Range("z * 2", 0, 4 * kMin, kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 3u);
  EXPECT_EQ(r->series[0].labels, Labels::FromStrings({"job", "a"}));
  EXPECT_EQ(r->series[2].labels, Labels::FromStrings({"job", "c"}));
  // sort() in a range query is ineffective: warning, result still ordered by labels.
  r = Range("sort(z)", 0, 4 * kMin, kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0],
            "PromQL warning: sort is ineffective for range queries since results are always "
            "ordered by labels (1:1)");
}

TEST_F(EngineTest, RateInfoAnnotation) {
  Add(Labels::FromStrings({"__name__", "gauge"}), kMin, 10, [](int i) { return i; });
  auto r = Instant("rate(gauge[5m])", 9 * kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->infos.size(), 1u);
  EXPECT_EQ(r->infos[0],
            "PromQL info: metric might not be a counter, name does not end in "
            "_total/_sum/_count/_bucket: \"gauge\" (1:6)");
}

}  // namespace
}  // namespace pharos::promql
