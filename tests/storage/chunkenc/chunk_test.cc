#include "storage/chunkenc/chunk.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/chunkenc/internal/columnar.h"
#include "storage/chunkenc/xor.h"
#include "tests/storage/chunkenc/test_data.h"

namespace pharos::chunkenc {
namespace {

using testing::RealisticMix;
using testing::ScrapeTimestamps;
using testing::SeriesKind;
using testing::Values;

constexpr int64_t kStart = 1'700'000'000'000;

std::vector<double> SpecialFloats() {
  return {0.0, -0.0, 1.0, -1.0, std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
          std::bit_cast<double>(uint64_t{0x7ff0000000000002}),
          std::bit_cast<double>(uint64_t{0xfff8000000000001}),
          std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
          std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
          std::numeric_limits<double>::lowest(), 0.1 + 0.2, 1e300, -1e-300, 9007199254740993.0,
          1e18, 1.5e9, 0.37, 12.5};
}

void ExpectSame(const std::vector<int64_t>& ts, const std::vector<double>& vs,
                const std::vector<int64_t>& got_ts, const std::vector<double>& got_vs) {
  ASSERT_EQ(got_ts, ts);
  ASSERT_EQ(got_vs.size(), vs.size());
  for (size_t i = 0; i < vs.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(got_vs[i]), std::bit_cast<uint64_t>(vs[i]))
        << "i=" << i << " want " << vs[i] << " got " << got_vs[i];
  }
}

// Round-trips through EncodeChunk, DecodeChunk, the iterator and every applicable forced codec.
// Returns the chosen chunk.
std::string RoundTrip(const std::vector<int64_t>& ts, const std::vector<double>& vs) {
  std::string chunk = "prefix";
  EncodeChunk(ts, vs, &chunk);
  chunk.erase(0, 6);
  std::vector<int64_t> got_ts = {1};
  std::vector<double> got_vs = {2.0};
  const absl::Status s = DecodeChunk(chunk, &got_ts, &got_vs);
  EXPECT_TRUE(s.ok()) << s;
  // DecodeChunk appends.
  EXPECT_EQ(got_ts.front(), 1);
  EXPECT_EQ(got_vs.front(), 2.0);
  got_ts.erase(got_ts.begin());
  got_vs.erase(got_vs.begin());
  ExpectSame(ts, vs, got_ts, got_vs);

  auto h = ReadChunkHeader(chunk);
  EXPECT_TRUE(h.ok());
  EXPECT_EQ(h->num_samples, ts.size());
  if (!ts.empty()) {
    EXPECT_EQ(*MinTime(chunk), ts.front());
    EXPECT_EQ(*MaxTime(chunk), ts.back());
  }

  ChunkIterator it(chunk);
  std::vector<int64_t> it_ts;
  std::vector<double> it_vs;
  while (it.Next()) {
    it_ts.push_back(it.At().first);
    it_vs.push_back(it.At().second);
  }
  EXPECT_TRUE(it.Err().ok());
  ExpectSame(ts, vs, it_ts, it_vs);

  for (auto tc : {TimestampCodec::kRegular, TimestampCodec::kGrid, TimestampCodec::kDelta,
                  TimestampCodec::kDeltaOfDelta}) {
    for (auto vc : {ValueCodec::kConst, ValueCodec::kDecimalDelta, ValueCodec::kDecimalDoD,
                    ValueCodec::kXor}) {
      std::string forced;
      if (!internal::EncodeColumnarWith(ts, vs, tc, vc, &forced)) {
        EXPECT_TRUE(forced.empty());
        continue;
      }
      EXPECT_GE(forced.size(), chunk.size()) << "EncodeChunk did not pick the smallest";
      std::vector<int64_t> f_ts;
      std::vector<double> f_vs;
      const absl::Status fs = DecodeChunk(forced, &f_ts, &f_vs);
      EXPECT_TRUE(fs.ok()) << fs << " codecs " << int(tc) << "/" << int(vc);
      ExpectSame(ts, vs, f_ts, f_vs);
    }
  }
  std::string gorilla;
  EncodeXorChunk(ts, vs, &gorilla);
  std::vector<int64_t> g_ts;
  std::vector<double> g_vs;
  EXPECT_TRUE(DecodeChunk(gorilla, &g_ts, &g_vs).ok());
  ExpectSame(ts, vs, g_ts, g_vs);
  return chunk;
}

ChunkHeader Header(const std::string& chunk) { return *ReadChunkHeader(chunk); }

TEST(ChunkencChunkTest, Empty) {
  const std::string chunk = RoundTrip({}, {});
  EXPECT_EQ(chunk.size(), 3u);
  EXPECT_FALSE(MinTime(chunk).ok());
  ChunkIterator it(chunk);
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(0));
  EXPECT_TRUE(it.Err().ok());
}

TEST(ChunkencChunkTest, SingleSample) {
  for (double v : SpecialFloats()) {
    for (int64_t t : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max(), kStart}) {
      RoundTrip({t}, {v});
    }
  }
}

TEST(ChunkencChunkTest, SpecialFloatsEverywhere) {
  const auto specials = SpecialFloats();
  std::mt19937_64 rng(11);
  for (size_t n : {2, 3, 120, 1000}) {
    for (int round = 0; round < 20; ++round) {
      auto ts = ScrapeTimestamps(kStart, n, round % 3, rng());
      std::vector<double> vs(n);
      for (auto& v : vs) v = specials[rng() % specials.size()];
      RoundTrip(ts, vs);
    }
  }
}

TEST(ChunkencChunkTest, StalenessMarkerInCounter) {
  auto ts = ScrapeTimestamps(kStart, 120, 2, 1);
  auto vs = Values(SeriesKind::kIntCounter, 120, 2);
  vs[119] = std::bit_cast<double>(uint64_t{0x7ff0000000000002});
  RoundTrip(ts, vs);
}

TEST(ChunkencChunkTest, RandomBitPatterns) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 100; ++round) {
    const size_t n = 1 + rng() % 400;
    std::vector<int64_t> ts(n);
    std::vector<double> vs(n);
    for (size_t i = 0; i < n; ++i) {
      ts[i] = static_cast<int64_t>(rng());
      vs[i] = std::bit_cast<double>(rng());
    }
    RoundTrip(ts, vs);
  }
}

TEST(ChunkencChunkTest, AdversarialTimestamps) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  RoundTrip({kMin, kMax}, {1, 2});
  RoundTrip({kMax, kMin, kMax}, {1, 2, 3});
  RoundTrip({kMin, kMin + 1, kMin + 2, kMin + 3}, {1, 1, 1, 1});
  RoundTrip({kMax - 3, kMax - 2, kMax - 1, kMax}, {1, 1, 1, 1});
  RoundTrip({0, kMax, kMin, -1, 0, kMax / 3}, {1, 2, 3, 4, 5, 6});
  RoundTrip({100, 90, 80, 70, 60}, {1, 2, 3, 4, 5});  // Decreasing.
  RoundTrip({5, 5, 5, 5}, {1, 2, 3, 4});             // Duplicates.
  std::mt19937_64 rng(17);
  for (int round = 0; round < 200; ++round) {
    const size_t n = 2 + rng() % 200;
    std::vector<int64_t> ts(n);
    int64_t t = static_cast<int64_t>(rng());
    for (auto& x : ts) {
      switch (rng() % 5) {
        case 0: t = static_cast<int64_t>(static_cast<uint64_t>(t) + 15000); break;
        case 1: t = static_cast<int64_t>(static_cast<uint64_t>(t) + 15000 + rng() % 9 - 4); break;
        case 2: t = static_cast<int64_t>(static_cast<uint64_t>(t) + 30000); break;  // Missed.
        case 3: t = static_cast<int64_t>(rng()); break;
        default: t = static_cast<int64_t>(static_cast<uint64_t>(t) - rng() % 1000); break;
      }
      x = t;
    }
    RoundTrip(ts, Values(SeriesKind::kDecimalGauge, n, rng()));
  }
}

TEST(ChunkencChunkTest, ValuesThatAreNotExactDecimals) {
  std::vector<double> vs = {0.1 + 0.2, 0.3, 1.0 / 3, 0.1, 0.7 * 3, 1e-300, 123.456};
  RoundTrip(ScrapeTimestamps(kStart, vs.size(), 0, 0), vs);
  // Decimal candidates that need a big scale or overflow 2^53 once scaled.
  vs = {0.1, 9007199254740991.0};
  RoundTrip(ScrapeTimestamps(kStart, vs.size(), 0, 0), vs);
  vs = {9007199254740991.0, -9007199254740991.0, 0.5};
  RoundTrip(ScrapeTimestamps(kStart, vs.size(), 0, 0), vs);
  vs = {1e-18, 1e-17, 123456789e-18, 0.000000000000000001, 5e-19};
  RoundTrip(ScrapeTimestamps(kStart, vs.size(), 0, 0), vs);
  vs = {-0.0, 0.0, 1.5};
  RoundTrip(ScrapeTimestamps(kStart, vs.size(), 0, 0), vs);
}

TEST(ChunkencChunkTest, RandomDecimals) {
  std::mt19937_64 rng(23);
  for (int round = 0; round < 300; ++round) {
    const size_t n = 1 + rng() % 300;
    const int k = static_cast<int>(rng() % 19);
    const double scale = std::pow(10.0, k);
    const int64_t range = int64_t{1} << (rng() % 54);
    std::vector<double> vs(n);
    for (auto& v : vs) v = static_cast<double>(static_cast<int64_t>(rng() % range) - range / 2) / scale;
    RoundTrip(ScrapeTimestamps(kStart, n, static_cast<int>(rng() % 4), rng()), vs);
  }
}

TEST(ChunkencChunkTest, RealisticKinds) {
  for (SeriesKind kind : {SeriesKind::kConstant, SeriesKind::kIntCounter,
                          SeriesKind::kDecimalCounter, SeriesKind::kIntGauge,
                          SeriesKind::kDecimalGauge, SeriesKind::kSparseCounter,
                          SeriesKind::kFloatGauge}) {
    for (size_t n : {1, 2, 3, 119, 120, 121, 1000, 5000}) {
      for (int jitter : {0, 1, 5}) {
        SCOPED_TRACE(testing::KindName(kind));
        RoundTrip(ScrapeTimestamps(kStart, n, jitter, n), Values(kind, n, n + jitter));
      }
    }
  }
}

TEST(ChunkencChunkTest, CounterResets) {
  auto vs = Values(SeriesKind::kIntCounter, 120, 3);
  for (size_t i = 60; i < 120; ++i) vs[i] -= vs[60];
  RoundTrip(ScrapeTimestamps(kStart, 120, 2, 4), vs);
}

TEST(ChunkencChunkTest, PicksExpectedEncoding) {
  const auto regular = ScrapeTimestamps(kStart, 120, 0, 0);
  const auto jittered = ScrapeTimestamps(kStart, 120, 3, 1);

  // Constant value, regular timestamps: a handful of bytes.
  std::string c = RoundTrip(regular, std::vector<double>(120, 1.0));
  EXPECT_EQ(Header(c).timestamp_codec, TimestampCodec::kRegular);
  EXPECT_LE(c.size(), 20u);

  // NaN constant: only kConst can hold it.
  c = RoundTrip(regular, std::vector<double>(120, std::nan("")));
  EXPECT_EQ(Header(c).value_codec, ValueCodec::kConst);

  // Jitter around a grid.
  c = RoundTrip(jittered, Values(SeriesKind::kDecimalCounter, 120, 2));
  EXPECT_EQ(Header(c).timestamp_codec, TimestampCodec::kGrid);
  EXPECT_TRUE(Header(c).value_codec == ValueCodec::kDecimalDelta ||
              Header(c).value_codec == ValueCodec::kDecimalDoD);

  // Perfectly linear counter: constant deltas pack to width 0.
  std::vector<double> linear(120);
  for (size_t i = 0; i < linear.size(); ++i) linear[i] = 1e9 + 1.25 * static_cast<double>(i);
  c = RoundTrip(regular, linear);
  EXPECT_NE(Header(c).value_codec, ValueCodec::kXor);
  EXPECT_LE(c.size(), 30u);

  // A smoothly accelerating integer series: only delta-of-delta is flat.
  std::vector<double> quadratic(120);
  for (size_t i = 0; i < quadratic.size(); ++i) {
    quadratic[i] = static_cast<double>(i * i * 1000 + i * 7);
  }
  c = RoundTrip(regular, quadratic);
  EXPECT_EQ(Header(c).value_codec, ValueCodec::kDecimalDoD);

  // Multiples of 1024 (memory bytes): the common factor is divided out.
  std::vector<double> kib(120);
  for (size_t i = 0; i < kib.size(); ++i) kib[i] = 8e9 + 1024.0 * static_cast<double>((i * 7919) % 251);
  c = RoundTrip(regular, kib);
  EXPECT_LE(c.size(), 20 + 120u);  // ~8 bits per sample, not ~18.

  // True floats fall back to XOR.
  c = RoundTrip(regular, Values(SeriesKind::kFloatGauge, 120, 3));
  EXPECT_EQ(Header(c).value_codec, ValueCodec::kXor);

  // A missed scrape: delta-of-delta keeps it to two exceptions.
  auto missed = regular;
  for (size_t i = 60; i < missed.size(); ++i) missed[i] += 15000;
  c = RoundTrip(missed, std::vector<double>(120, 1.0));
  EXPECT_NE(Header(c).timestamp_codec, TimestampCodec::kRegular);
  EXPECT_LE(c.size(), 30u);
}

TEST(ChunkencChunkTest, BeatsGorillaOnRealisticMix) {
  size_t ours = 0, gorilla = 0, samples = 0;
  for (const auto& s : RealisticMix(300, 120, 99)) {
    std::string a, b;
    EncodeChunk(s.ts, s.vs, &a);
    EncodeXorChunk(s.ts, s.vs, &b);
    ours += a.size();
    gorilla += b.size();
    samples += s.ts.size();
  }
  const double ours_bps = static_cast<double>(ours) / static_cast<double>(samples);
  const double gorilla_bps = static_cast<double>(gorilla) / static_cast<double>(samples);
  RecordProperty("bytes_per_sample", std::to_string(ours_bps));
  // About 1.2 vs 3.2 bytes/sample on this mix (see bench/storage/chunkenc_bench.cc).
  EXPECT_LT(ours_bps, 1.4);
  EXPECT_LT(ours_bps, 0.5 * gorilla_bps);
}

TEST(ChunkencChunkTest, IteratorSeek) {
  std::vector<int64_t> ts = {10, 20, 30, 40, 50};
  std::vector<double> vs = {1, 2, 3, 4, 5};
  std::string chunk;
  EncodeChunk(ts, vs, &chunk);

  ChunkIterator it(chunk);
  ASSERT_TRUE(it.Seek(5));  // Before the first sample: lands on it.
  EXPECT_EQ(it.At(), std::make_pair(int64_t{10}, 1.0));
  ASSERT_TRUE(it.Seek(10));  // Current qualifies: stays.
  EXPECT_EQ(it.At().first, 10);
  ASSERT_TRUE(it.Seek(31));
  EXPECT_EQ(it.At(), std::make_pair(int64_t{40}, 4.0));
  ASSERT_TRUE(it.Seek(20));  // Never backwards.
  EXPECT_EQ(it.At().first, 40);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().first, 50);
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(0));  // Exhausted stays exhausted.
  EXPECT_TRUE(it.Err().ok());

  it.Reset(chunk);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.At().first, 10);
  EXPECT_FALSE(it.Seek(51));
  EXPECT_FALSE(it.Next());

  it.Reset(chunk);
  ASSERT_TRUE(it.Seek(50));
  EXPECT_EQ(it.At().first, 50);
  EXPECT_FALSE(it.Next());

  // Over a kXor chunk too.
  XorAppender app;
  for (size_t i = 0; i < ts.size(); ++i) app.Append(ts[i], vs[i]);
  std::string sealed;
  app.AppendSealedTo(&sealed);
  ChunkIterator xit(sealed);
  ASSERT_TRUE(xit.Seek(35));
  EXPECT_EQ(xit.At(), std::make_pair(int64_t{40}, 4.0));
}

// Every truncation and random corruption of valid chunks either decodes or returns an error;
// it never crashes or reads out of bounds (run under ASan).
TEST(ChunkencChunkTest, CorruptionAndTruncation) {
  std::vector<std::string> chunks;
  for (const auto& s : RealisticMix(40, 120, 7)) {
    chunks.emplace_back();
    EncodeChunk(s.ts, s.vs, &chunks.back());
    chunks.emplace_back();
    EncodeXorChunk(s.ts, s.vs, &chunks.back());
  }
  std::vector<int64_t> ts;
  std::vector<double> vs;
  for (const auto& chunk : chunks) {
    for (size_t len = 0; len < chunk.size(); ++len) {
      // Truncation always loses data, so it must be detected.
      ts.clear();
      vs.clear();
      std::string_view cut(chunk.data(), len);
      const absl::Status s = DecodeChunk(cut, &ts, &vs);
      EXPECT_FALSE(s.ok()) << "len " << len << " of " << chunk.size();
      EXPECT_TRUE(ts.empty());
      EXPECT_TRUE(vs.empty());
      ChunkIterator it(cut);
      while (it.Next()) {
      }
      EXPECT_FALSE(it.Err().ok());
    }
  }
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20000; ++round) {
    std::string chunk = chunks[rng() % chunks.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) chunk[rng() % chunk.size()] ^= static_cast<char>(1 << (rng() % 8));
    ts.clear();
    vs.clear();
    if (DecodeChunk(chunk, &ts, &vs).ok()) {
      EXPECT_EQ(ts.size(), *NumSamples(chunk));
    }
    ChunkIterator it(chunk);
    while (it.Next()) {
    }
    (void)it.Seek(rng());
  }
  for (int round = 0; round < 20000; ++round) {
    std::string chunk(rng() % 80, '\0');
    for (auto& c : chunk) c = static_cast<char>(rng());
    if (!chunk.empty() && rng() % 2) chunk[0] = static_cast<char>(1 + rng() % 2);
    ts.clear();
    vs.clear();
    (void)DecodeChunk(chunk, &ts, &vs);
    (void)ReadChunkHeader(chunk);
  }
}

TEST(ChunkencChunkTest, RejectsHugeSampleCounts) {
  std::string chunk;
  chunk.push_back(static_cast<char>(Encoding::kColumnar));
  chunk.push_back(0);  // kRegular / kConst.
  chunk += "\xff\xff\xff\xff\x0f";  // ~4G samples.
  chunk += std::string(10, '\0');
  std::vector<int64_t> ts;
  std::vector<double> vs;
  EXPECT_FALSE(DecodeChunk(chunk, &ts, &vs).ok());
}

}  // namespace
}  // namespace pharos::chunkenc
