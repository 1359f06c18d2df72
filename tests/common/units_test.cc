#include "common/units.h"

#include "gtest/gtest.h"

namespace pharos {
namespace {

TEST(ParseDurationMs, PrometheusForms) {
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("15s"), 15000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*ParseDurationMs("10s53ms"), 10053);
  EXPECT_EQ(*ParseDurationMs("30d"), 30LL * 86400000);
  EXPECT_EQ(*ParseDurationMs("1y2w"), 379LL * 86400000);
  EXPECT_EQ(*ParseDurationMs("100ms"), 100);
}

TEST(ParseDurationMs, Rejects) {
  for (const char* bad : {"", "1", "s", "1.5s", "-1s", "1m1h", "1s1s", "1x", " 1s", "1s ",
                          "99999999999999999999y", "9999999999999y"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
}

TEST(FormatDurationMs, CanonicalAndRoundTrips) {
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(15000), "15s");
  EXPECT_EQ(FormatDurationMs(5400000), "1h30m");
  EXPECT_EQ(FormatDurationMs(30LL * 86400000), "30d");
  EXPECT_EQ(FormatDurationMs(14LL * 86400000), "2w");
  EXPECT_EQ(FormatDurationMs(365LL * 86400000), "1y");
  EXPECT_EQ(FormatDurationMs(10053), "10s53ms");
  for (int64_t ms : {1LL, 999LL, 61001LL, 86400001LL, 8LL * 86400000}) {
    EXPECT_EQ(*ParseDurationMs(FormatDurationMs(ms)), ms) << ms;
  }
}

TEST(ParseBytes, Base2Units) {
  EXPECT_EQ(*ParseBytes("0"), 0);
  EXPECT_EQ(*ParseBytes("512B"), 512);
  EXPECT_EQ(*ParseBytes("1KB"), 1024);
  EXPECT_EQ(*ParseBytes("10MB"), 10LL << 20);
  EXPECT_EQ(*ParseBytes("2GiB"), 2LL << 30);
  EXPECT_EQ(*ParseBytes("1TB"), 1LL << 40);
  for (const char* bad : {"", "MB", "1", "1.5GB", "1ZB", "-1MB", "99999999999EB"}) {
    EXPECT_FALSE(ParseBytes(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pharos

namespace pharos {
namespace {

TEST(Rfc3339Test, FormatsLikeGo) {
  EXPECT_EQ(FormatRfc3339NanoMs(1700000000120), "2023-11-14T22:13:20.12Z");
  EXPECT_EQ(FormatRfc3339NanoMs(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339MillisMs(1700000000000), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(FormatRfc3339MillisMs(1700000000120), "2023-11-14T22:13:20.120Z");
}

TEST(Rfc3339Test, Parses) {
  EXPECT_EQ(*ParseRfc3339Ms("2023-11-14T22:13:20.12Z"), 1700000000120);
  EXPECT_EQ(*ParseRfc3339Ms("2023-11-14T23:13:20.120999999+01:00"), 1700000000120);
  EXPECT_EQ(*ParseRfc3339Ms("0001-01-01T00:00:00Z"), 0);
  EXPECT_FALSE(ParseRfc3339Ms("yesterday").ok());
}

}  // namespace
}  // namespace pharos
