#include "storage/chunkenc/xor.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/chunkenc/chunk.h"

namespace pharos::chunkenc {
namespace {

std::vector<double> SpecialFloats() {
  return {0.0,
          -0.0,
          1.0,
          -1.0,
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::quiet_NaN(),
          std::bit_cast<double>(uint64_t{0x7ff0000000000002}),  // Prometheus staleness marker.
          std::bit_cast<double>(uint64_t{0xfff8000000000001}),  // Negative NaN with payload.
          std::bit_cast<double>(uint64_t{0x7ff4000000000000}),  // Signalling NaN.
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          std::numeric_limits<double>::min(),
          std::numeric_limits<double>::max(),
          std::numeric_limits<double>::lowest(),
          0.1 + 0.2,
          1e300,
          -1e-300};
}

void ExpectRoundTrip(const std::vector<int64_t>& ts, const std::vector<double>& vs) {
  XorAppender app;
  for (size_t i = 0; i < ts.size(); ++i) app.Append(ts[i], vs[i]);
  ASSERT_EQ(app.num_samples(), ts.size());
  XorIterator it = app.Iterator();
  for (size_t i = 0; i < ts.size(); ++i) {
    ASSERT_TRUE(it.Next()) << i;
    auto [t, v] = it.At();
    ASSERT_EQ(t, ts[i]) << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(v), std::bit_cast<uint64_t>(vs[i])) << i;
  }
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.Err().ok());

  // The sealed form decodes through the generic chunk API.
  std::string chunk;
  app.AppendSealedTo(&chunk);
  std::vector<int64_t> got_ts;
  std::vector<double> got_vs;
  ASSERT_TRUE(DecodeChunk(chunk, &got_ts, &got_vs).ok());
  ASSERT_EQ(got_ts, ts);
  ASSERT_EQ(got_vs.size(), vs.size());
  for (size_t i = 0; i < vs.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(got_vs[i]), std::bit_cast<uint64_t>(vs[i]));
  }
}

TEST(ChunkencXorTest, Empty) {
  XorAppender app;
  XorIterator it = app.Iterator();
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.Err().ok());
  ExpectRoundTrip({}, {});
}

TEST(ChunkencXorTest, SpecialFloatsRoundTrip) {
  std::vector<double> vs = SpecialFloats();
  // Each special value next to every other one.
  std::vector<double> all;
  for (double a : vs) {
    for (double b : vs) {
      all.push_back(a);
      all.push_back(b);
      all.push_back(b);
    }
  }
  std::vector<int64_t> ts(all.size());
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = 1000 + 15000 * static_cast<int64_t>(i);
  ExpectRoundTrip(ts, all);
}

TEST(ChunkencXorTest, ExtremeTimestamps) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  ExpectRoundTrip({kMin, kMax, kMin, 0, -1, kMax, kMax, kMin + 1},
                  {1, 2, 3, 4, 5, 6, 7, 8});
  ExpectRoundTrip({-5000, -4000, -3000, -3000, -10000, 8191, 8192 + 8191, -8192},
                  {1, 1, 1, 1, 1, 1, 1, 1});
}

TEST(ChunkencXorTest, DodBucketBoundaries) {
  std::vector<int64_t> ts = {0, 1000};
  for (int64_t dod : {int64_t{0}, int64_t{8191}, int64_t{-8192}, int64_t{8192}, int64_t{-8193},
                      int64_t{65535}, int64_t{-65536}, int64_t{65536}, int64_t{524287},
                      int64_t{-524288}, int64_t{524288}, int64_t{-524289},
                      int64_t{1} << 40, -(int64_t{1} << 40)}) {
    const int64_t delta = ts.back() - ts[ts.size() - 2] + dod;
    ts.push_back(ts.back() + delta);
  }
  ExpectRoundTrip(ts, std::vector<double>(ts.size(), 42.0));
}

TEST(ChunkencXorTest, RandomRoundTrip) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const size_t n = 1 + rng() % 300;
    std::vector<int64_t> ts(n);
    std::vector<double> vs(n);
    int64_t t = static_cast<int64_t>(rng());
    for (size_t i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0: t += 15000; break;
        case 1: t += 15000 + static_cast<int64_t>(rng() % 11) - 5; break;
        case 2: t = static_cast<int64_t>(rng()); break;
        default: t -= static_cast<int64_t>(rng() % 100000); break;
      }
      ts[i] = t;
      switch (rng() % 4) {
        case 0: vs[i] = std::bit_cast<double>(rng()); break;  // Any bit pattern, NaNs included.
        case 1: vs[i] = i > 0 ? vs[i - 1] : 0.0; break;
        case 2: vs[i] = static_cast<double>(rng() % 1000) / 10; break;
        default: vs[i] = SpecialFloats()[rng() % SpecialFloats().size()]; break;
      }
    }
    ExpectRoundTrip(ts, vs);
  }
}

TEST(ChunkencXorTest, IteratorWhileAppending) {
  XorAppender app;
  for (int i = 0; i < 500; ++i) {
    app.Append(i * 15000, i * 0.5);
    XorIterator it = app.Iterator();
    int count = 0;
    while (it.Next()) {
      ASSERT_EQ(it.At().first, count * 15000);
      ++count;
    }
    ASSERT_EQ(count, i + 1);
  }
}

TEST(ChunkencXorTest, Seek) {
  XorAppender app;
  for (int i = 0; i < 10; ++i) app.Append(i * 10, i);
  XorIterator it = app.Iterator();
  ASSERT_TRUE(it.Seek(25));
  EXPECT_EQ(it.At().first, 30);
  ASSERT_TRUE(it.Seek(5));  // Does not move backwards.
  EXPECT_EQ(it.At().first, 30);
  ASSERT_TRUE(it.Seek(30));
  EXPECT_EQ(it.At().first, 30);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().first, 40);
  EXPECT_FALSE(it.Seek(1000));
  EXPECT_FALSE(it.Seek(0));
  EXPECT_TRUE(it.Err().ok());
}

TEST(ChunkencXorTest, ResetReusesAppender) {
  XorAppender app;
  for (int i = 0; i < 100; ++i) app.Append(i, std::bit_cast<double>(~uint64_t{0} - i));
  app.Reset();
  EXPECT_EQ(app.num_samples(), 0u);
  app.Append(5, 1.5);
  app.Append(6, 2.5);
  XorIterator it = app.Iterator();
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At(), std::make_pair(int64_t{5}, 1.5));
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At(), std::make_pair(int64_t{6}, 2.5));
  EXPECT_FALSE(it.Next());
}

TEST(ChunkencXorTest, TruncatedStreamReportsError) {
  XorAppender app;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 120; ++i) app.Append(i * 15000 + static_cast<int>(rng() % 7), rng() % 100 / 7.0);
  const std::string_view full = app.stream();
  for (size_t len = 0; len < full.size(); ++len) {
    XorIterator it(full.substr(0, len), app.num_samples());
    size_t count = 0;
    while (it.Next()) ++count;
    EXPECT_LT(count, app.num_samples());
    EXPECT_FALSE(it.Err().ok()) << len;
  }
}

}  // namespace
}  // namespace pharos::chunkenc
