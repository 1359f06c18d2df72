// Crash test: a child process appends batches and reports each committed batch over a pipe;
// the parent kill -9s it at a random moment, reopens the store, and checks that every
// reported batch is there and that no sample appears that was never appended.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "tests/storage/db/db_test_util.h"

namespace pharos::storage {
namespace {

using testing::QueryAll;
using testing::TempPath;

constexpr int kSeries = 20;
constexpr int kPerSeries = 10;
constexpr int64_t kBase = 1'700'000'000'000;

int64_t SampleTime(int batch, int j) { return kBase + (static_cast<int64_t>(batch) * kPerSeries + j) * 100; }
double SampleValue(int batch, int j, int s) { return batch * 1000.0 + j + s * 0.5; }

DBOptions CrashOpts(const std::string& path, WalSync sync) {
  DBOptions o;
  o.path = path;
  o.log = testing::NullLogger();
  o.retention_ms = 0;
  o.future_tolerance_ms = 0;
  o.wal_sync = sync;
  o.flush_interval_ms = 15;     // flushes and WAL truncation run during the test
  o.max_chunk_age_ms = 50;
  o.chunk_samples = 40;
  o.wal_segment_bytes = 64 << 10;
  return o;
}

[[noreturn]] void RunChild(const std::string& path, WalSync sync, int fd) {
  auto db = DB::Open(CrashOpts(path, sync));
  if (!db.ok()) _exit(3);
  for (int b = 0;; ++b) {
    auto app = (*db)->NewAppender();
    for (int s = 0; s < kSeries; ++s) {
      Labels l = Labels::FromStrings({"__name__", "crash", "s", std::to_string(s)});
      for (int j = 0; j < kPerSeries; ++j) {
        if (!app->Append(0, l, SampleTime(b, j), SampleValue(b, j, s)).ok()) _exit(4);
      }
    }
    if (!app->Commit().ok()) _exit(5);
    if (write(fd, &b, sizeof b) != sizeof b) _exit(6);
  }
}

void RunOnce(uint32_t seed, WalSync sync) {
  TempPath tmp;
  std::mt19937 rng(seed);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    RunChild(tmp.path(), sync, fds[1]);
  }
  close(fds[1]);
  // Wait for the first acknowledged batch (opening the store can be slow on a loaded
  // machine), then kill at a random moment.
  std::set<int> reported;
  int b;
  if (read(fds[0], &b, sizeof b) == sizeof b) reported.insert(b);
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 700));
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  while (read(fds[0], &b, sizeof b) == sizeof b) reported.insert(b);
  close(fds[0]);
  ASSERT_FALSE(reported.empty()) << "child committed nothing before the kill";

  auto db = DB::Open(CrashOpts(tmp.path(), sync));
  ASSERT_TRUE(db.ok()) << db.status();
  auto got = QueryAll(**db, kBase - 1, kBase + 1'000'000'000);
  int max_reported = *reported.rbegin();
  for (int s = 0; s < kSeries; ++s) {
    Labels l = Labels::FromStrings({"__name__", "crash", "s", std::to_string(s)});
    auto it = got.find(l.String());
    ASSERT_NE(it, got.end()) << l.String();
    std::map<int64_t, double> have(it->second.begin(), it->second.end());
    // Every reported batch is complete.
    for (int rb : reported) {
      for (int j = 0; j < kPerSeries; ++j) {
        auto h = have.find(SampleTime(rb, j));
        ASSERT_NE(h, have.end()) << "seed " << seed << ": batch " << rb << " sample " << j
                                 << " of series " << s << " lost";
        ASSERT_EQ(h->second, SampleValue(rb, j, s));
      }
    }
    // Nothing that was never appended: at most the one batch in flight at the kill.
    for (const auto& [t, v] : have) {
      int64_t k = (t - kBase) / 100;
      int batch = static_cast<int>(k / kPerSeries), j = static_cast<int>(k % kPerSeries);
      ASSERT_EQ((t - kBase) % 100, 0);
      ASSERT_LE(batch, max_reported + 1);
      ASSERT_EQ(v, SampleValue(batch, j, s));
    }
  }
}

TEST(CrashTest, KillNineLosesNothingAcknowledged) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE(seed);
    RunOnce(seed, WalSync::kBatch);
    if (HasFatalFailure()) return;
  }
}

TEST(CrashTest, KillNineWithSyncAlways) {
  for (uint32_t seed : {11u, 12u}) {
    SCOPED_TRACE(seed);
    RunOnce(seed, WalSync::kAlways);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace pharos::storage
