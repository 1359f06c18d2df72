#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos {
namespace {

using ::testing::HasSubstr;

TEST(FormatFloat, MatchesGoStrconvG) {
  EXPECT_EQ(FormatFloat(0), "0");
  EXPECT_EQ(FormatFloat(1), "1");
  EXPECT_EQ(FormatFloat(-1.5), "-1.5");
  EXPECT_EQ(FormatFloat(0.1), "0.1");
  EXPECT_EQ(FormatFloat(0.0005), "0.0005");
  EXPECT_EQ(FormatFloat(0.00005), "5e-05");
  EXPECT_EQ(FormatFloat(123456), "123456");
  EXPECT_EQ(FormatFloat(1234567), "1.234567e+06");
  EXPECT_EQ(FormatFloat(1e6), "1e+06");
  EXPECT_EQ(FormatFloat(1.795452154e9), "1.795452154e+09");
  EXPECT_EQ(FormatFloat(1e100), "1e+100");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatFloat(std::nan("")), "NaN");
  // Round trip.
  for (double v : {0.1 + 0.2, 1.0 / 3, 6.02214076e23, 5e-324, 1.7976931348623157e308}) {
    EXPECT_EQ(std::strtod(FormatFloat(v).c_str(), nullptr), v) << FormatFloat(v);
  }
}

TEST(Registry, ExposesCountersGaugesSortedWithEscapedLabels) {
  Registry r;
  auto& c = r.AddCounter("b_total", "Help with \\ and\nnewline.", {"path"});
  c.WithLabels({"/x\"y\\z\n"}).Inc(2);
  r.AddGauge("a_gauge", "A gauge.").Get().Set(-3.5);
  std::string out = r.Expose();
  EXPECT_EQ(out,
            "# HELP a_gauge A gauge.\n"
            "# TYPE a_gauge gauge\n"
            "a_gauge -3.5\n"
            "# HELP b_total Help with \\\\ and\\nnewline.\n"
            "# TYPE b_total counter\n"
            "b_total{path=\"/x\\\"y\\\\z\\n\"} 2\n");
}

TEST(Registry, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.AddCounter("x_total", "X.", {"l"});
  auto& b = r.AddCounter("x_total", "X.", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
}

TEST(Registry, HistogramIsCumulativeWithInfSumCount) {
  Registry r;
  auto& h = r.AddHistogram("lat_seconds", "Latency.", {"h"}, {0.1, 1});
  auto& child = h.WithLabels({"q"});
  child.Observe(0.05);
  child.Observe(0.1);  // upper bounds are inclusive
  child.Observe(0.5);
  child.Observe(5);
  std::string out = r.Expose();
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{h=\"q\",le=\"0.1\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{h=\"q\",le=\"1\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{h=\"q\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_sum{h=\"q\"} 5.65\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_count{h=\"q\"} 4\n"));
}

TEST(Registry, CollectorsRunAtExposition) {
  Registry r;
  int calls = 0;
  r.AddCollector([&](MetricWriter& w) {
    ++calls;
    w.Header("up_things", "Things.", MetricType::kGauge);
    w.Sample("up_things", calls, {{"k", "v"}});
  });
  EXPECT_THAT(r.Expose(), HasSubstr("up_things{k=\"v\"} 1\n"));
  EXPECT_THAT(r.Expose(), HasSubstr("up_things{k=\"v\"} 2\n"));
}

TEST(Registry, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.AddCounter("n_total", "N.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.WithLabels({"x"}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.WithLabels({"x"}).Value(), 40000);
}

TEST(Registry, WrongLabelCountAborts) {
  Registry r;
  auto& c = r.AddCounter("m_total", "M.", {"a", "b"});
  EXPECT_DEATH(c.WithLabels({"only-one"}), "check failed");
}

}  // namespace
}  // namespace pharos
