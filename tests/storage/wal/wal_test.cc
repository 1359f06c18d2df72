#include "storage/wal/wal.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"

namespace pharos::storage {
namespace {

namespace fs = std::filesystem;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pharos-wal-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  WalOptions Opts() {
    WalOptions o;
    o.dir = dir_.string();
    o.log = std::make_shared<spdlog::logger>("wal", std::make_shared<spdlog::sinks::null_sink_mt>());
    return o;
  }
  std::vector<std::string> ReplayAll(Wal& w, Wal::ReplayStats* stats = nullptr) {
    std::vector<std::string> out;
    auto s = w.Replay([&](uint64_t, std::string_view r) {
      out.emplace_back(r);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.status();
    if (stats && s.ok()) *stats = *s;
    return out;
  }
  fs::path dir_;
};

TEST_F(WalTest, RoundTripAcrossReopenAndSegments) {
  std::vector<std::string> written;
  {
    WalOptions o = Opts();
    o.segment_bytes = 1000;  // forces many segments
    auto w = Wal::Open(o);
    ASSERT_TRUE(w.ok()) << w.status();
    std::mt19937 rng(1);
    for (int i = 0; i < 200; ++i) {
      std::string rec(rng() % 300, static_cast<char>('a' + i % 26));
      ASSERT_TRUE((*w)->Log(rec).ok());
      written.push_back(rec);
    }
    EXPECT_GT((*w)->CurrentSegment(), 10u);
  }
  auto w = Wal::Open(Opts());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(ReplayAll(**w), written);
}

TEST_F(WalTest, TornTailIsDetectedAndEverythingBeforeKept) {
  {
    auto w = Wal::Open(Opts());
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->Log("record-" + std::to_string(i)).ok());
  }
  // Tear the last record in half.
  fs::path seg = *fs::directory_iterator(dir_);
  auto size = fs::file_size(seg);
  fs::resize_file(seg, size - 3);
  auto w = Wal::Open(Opts());
  ASSERT_TRUE(w.ok());
  Wal::ReplayStats st;
  auto recs = ReplayAll(**w, &st);
  ASSERT_EQ(recs.size(), 9u);
  EXPECT_EQ(recs.back(), "record-8");
  EXPECT_EQ(st.corrupt_segments, 1u);
  // New records after recovery replay cleanly after the kept ones.
  ASSERT_TRUE((*w)->Log("after").ok());
  w->reset();
  auto w2 = Wal::Open(Opts());
  auto recs2 = ReplayAll(**w2, &st);
  EXPECT_EQ(recs2.size(), 10u);
  EXPECT_EQ(recs2.back(), "after");
  EXPECT_EQ(st.corrupt_segments, 0u);
}

TEST_F(WalTest, CorruptChecksumStopsThatSegment) {
  {
    auto w = Wal::Open(Opts());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*w)->Log("abcdefgh" + std::to_string(i)).ok());
  }
  fs::path seg = *fs::directory_iterator(dir_);
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    // Record 3 starts at 2 * (8 + 9); flip a payload byte.
    f.seekp(2 * 17 + 8 + 2);
    f.put('X');
  }
  auto w = Wal::Open(Opts());
  Wal::ReplayStats st;
  auto recs = ReplayAll(**w, &st);
  EXPECT_EQ(recs.size(), 2u);
  EXPECT_EQ(st.corrupt_segments, 1u);
}

TEST_F(WalTest, TruncateBeforeKeepsCurrentSegment) {
  auto w = Wal::Open(Opts());
  ASSERT_TRUE((*w)->Log("a").ok());
  auto s1 = (*w)->Cut();
  ASSERT_TRUE(s1.ok());
  ASSERT_TRUE((*w)->Log("b").ok());
  auto s2 = (*w)->Cut();
  ASSERT_TRUE((*w)->Log("c").ok());
  ASSERT_TRUE((*w)->TruncateBefore(*s2).ok());
  w->reset();
  auto w2 = Wal::Open(Opts());
  EXPECT_EQ(ReplayAll(**w2), std::vector<std::string>({"c"}));
  // Truncating past the current segment never deletes it.
  ASSERT_TRUE((*w2)->Log("d").ok());
  ASSERT_TRUE((*w2)->TruncateBefore(1000000).ok());
  w2->reset();
  auto w3 = Wal::Open(Opts());
  EXPECT_EQ(ReplayAll(**w3).back(), "d");
}

TEST_F(WalTest, ConcurrentGroupCommitLosesNothing) {
  for (WalSync sync : {WalSync::kBatch, WalSync::kAlways}) {
    fs::remove_all(dir_);
    {
      WalOptions o = Opts();
      o.sync = sync;
      auto w = Wal::Open(o);
      ASSERT_TRUE(w.ok());
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 250; ++i) {
            ASSERT_TRUE((*w)->Log(std::to_string(t) + ":" + std::to_string(i)).ok());
          }
        });
      }
      for (auto& th : threads) th.join();
    }
    auto w = Wal::Open(Opts());
    auto recs = ReplayAll(**w);
    ASSERT_EQ(recs.size(), 1000u);
    // Per writer, records are in order.
    std::vector<int> next(4, 0);
    for (const auto& r : recs) {
      int t = r[0] - '0';
      EXPECT_EQ(r, std::to_string(t) + ":" + std::to_string(next[t]++));
    }
  }
}

TEST_F(WalTest, OversizedRecordRefused) {
  WalOptions o = Opts();
  o.max_record_bytes = 10;
  auto w = Wal::Open(o);
  EXPECT_FALSE((*w)->Log(std::string(11, 'x')).ok());
  EXPECT_TRUE((*w)->Log(std::string(10, 'x')).ok());
}

}  // namespace
}  // namespace pharos::storage
