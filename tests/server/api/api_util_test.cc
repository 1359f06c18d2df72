#include "server/api/api_util.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace pharos::api {
namespace {

std::string F(double v) {
  std::string s;
  AppendPromFloat(&s, v);
  return s;
}

std::string T(int64_t t) {
  std::string s;
  AppendPromTimestamp(&s, t);
  return s;
}

TEST(PromFormat, FloatsAsPrometheusWritesThem) {
  EXPECT_EQ(F(0), "0");
  EXPECT_EQ(F(-0.0), "-0");
  EXPECT_EQ(F(1), "1");
  EXPECT_EQ(F(0.1), "0.1");
  EXPECT_EQ(F(1234567), "1234567");
  EXPECT_EQ(F(1e20), "100000000000000000000");
  EXPECT_EQ(F(1e21), "1e+21");
  EXPECT_EQ(F(0.000001), "0.000001");
  EXPECT_EQ(F(1e-7), "1e-07");
  EXPECT_EQ(F(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(F(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(F(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(F(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(F(std::nan("")), "NaN");
  EXPECT_EQ(F(0.1 + 0.2), "0.30000000000000004");
}

TEST(PromFormat, Timestamps) {
  EXPECT_EQ(T(0), "0");
  EXPECT_EQ(T(1500), "1.500");
  EXPECT_EQ(T(1435781451781), "1435781451.781");
  EXPECT_EQ(T(1005), "1.005");
  EXPECT_EQ(T(1050), "1.050");
  EXPECT_EQ(T(-1500), "-1.500");
}

TEST(Params, Times) {
  EXPECT_EQ(*ParseTimeParam("t", "1700000000"), 1700000000000);
  EXPECT_EQ(*ParseTimeParam("t", "1700000000.123"), 1700000000123);
  EXPECT_EQ(*ParseTimeParam("t", "-1.5"), -1500);
  EXPECT_EQ(*ParseTimeParam("t", "2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*ParseTimeParam("t", "2023-11-14T22:13:20.5+01:00"), 1699996400500);
  auto bad = ParseTimeParam("start", "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            "invalid parameter \"start\": cannot parse \"nope\" to a valid timestamp");
  EXPECT_EQ(*ParseDurationParam("step", "15"), 15000);
  EXPECT_EQ(*ParseDurationParam("step", "0.5"), 500);
  EXPECT_EQ(*ParseDurationParam("step", "1m30s"), 90000);
  EXPECT_FALSE(ParseDurationParam("step", "fast").ok());
}

TEST(Params, MatchSelectors) {
  auto m = ParseMatchParams({"up{job=\"a\"}", "{__name__=~\"x.*\"}"});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].size(), 2u);
  EXPECT_FALSE(ParseMatchParams({"{job=\"\"}"}).ok());
  EXPECT_FALSE(ParseMatchParams({"up{"}).ok());
  EXPECT_FALSE(ParseMatchParams({"rate(up[5m])"}).ok());
}

}  // namespace
}  // namespace pharos::api
