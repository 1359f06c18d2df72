#include "storage/chunkenc/internal/packed.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pharos::chunkenc::internal {
namespace {

void ExpectRoundTrip(const std::vector<int64_t>& values) {
  std::string buf;
  EncodePackedColumn(values, &buf);
  buf += "tail";
  ByteReader r(buf);
  std::vector<int64_t> out(values.size());
  ASSERT_TRUE(DecodePackedColumn(&r, values.size(), out.data()));
  EXPECT_EQ(out, values);
  EXPECT_EQ(r.Rest(), "tail");
}

TEST(ChunkencPackedTest, Widths) {
  std::mt19937_64 rng(1);
  for (int w = 0; w <= 64; ++w) {
    for (size_t n : {1, 2, 63, 128, 129, 1000}) {
      std::vector<int64_t> v(n);
      for (auto& x : v) x = static_cast<int64_t>(w == 64 ? rng() : rng() & ((uint64_t{1} << w) - 1));
      ExpectRoundTrip(v);
      for (auto& x : v) x = -x;
      ExpectRoundTrip(v);
    }
  }
}

TEST(ChunkencPackedTest, Extremes) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  ExpectRoundTrip({kMin, kMax, 0, -1, 1, kMin, kMax});
  ExpectRoundTrip(std::vector<int64_t>(300, kMin));
  ExpectRoundTrip(std::vector<int64_t>(300, kMax));
}

TEST(ChunkencPackedTest, OutliersBecomeExceptions) {
  std::vector<int64_t> v(120, 0);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i % 3) - 1;
  v[50] = 15000;
  v[51] = -15000;
  std::string buf;
  EncodePackedColumn(v, &buf);
  EXPECT_LT(buf.size(), 45u);  // 2-bit slots + two exceptions, not 16-bit slots.
  ExpectRoundTrip(v);
}

TEST(ChunkencPackedTest, CorruptInputNeverCrashes) {
  std::mt19937_64 rng(9);
  std::vector<int64_t> out(1000);
  for (int i = 0; i < 20000; ++i) {
    std::string buf(rng() % 64, '\0');
    for (auto& c : buf) c = static_cast<char>(rng());
    ByteReader r(buf);
    (void)DecodePackedColumn(&r, 1 + rng() % 1000, out.data());
  }
}

}  // namespace
}  // namespace pharos::chunkenc::internal
