// Head append throughput (in-process, batches of 2,000 samples, WAL on) and head memory per
// active series.
#include <malloc.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::storage {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

std::string TempDir() {
  static int n = 0;
  auto p = std::filesystem::temp_directory_path() /
           ("pharos-head-bench-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  return p.string();
}

DBOptions Options(const std::string& path) {
  DBOptions o;
  o.path = path;
  o.log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  o.retention_ms = 0;
  o.future_tolerance_ms = 0;
  o.flush_interval_ms = 1000;
  return o;
}

std::vector<Labels> MakeSeries(int n) {
  std::vector<Labels> out;
  const char* modes[] = {"user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"};
  for (int i = 0; i < n; ++i) {
    out.push_back(Labels::FromStrings({"__name__", "node_cpu_seconds_total", "cpu",
                                       std::to_string(i / 8 % 16), "mode", modes[i % 8],
                                       "instance", "host-" + std::to_string(i / 128) + ":9100",
                                       "job", "node"}));
  }
  return out;
}

// Samples/s appending batches of 2,000 over `series` series, refs cached as a remote-write
// receiver does.
void BM_HeadAppend(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  std::string path = TempDir();
  auto db = DB::Open(Options(path));
  if (!db.ok()) {
    state.SkipWithError("open failed");
    return;
  }
  auto labels = MakeSeries(series);
  std::vector<SeriesRef> refs(series, 0);
  std::mt19937_64 rng(1);
  int64_t step = 0;
  int next = 0;
  double v = 0;
  for (auto _ : state) {
    auto app = (*db)->NewAppender();
    for (int i = 0; i < 2000; ++i) {
      int s = next++;
      if (next == series) {
        next = 0;
        ++step;
      }
      v += static_cast<double>(rng() % 100) / 4;
      auto r = app->Append(refs[s], labels[s], kT0 + step * 15000, v);
      refs[s] = r.ref;
    }
    if (!app->Commit().ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations() * 2000);
  (void)(*db)->Close();
  std::filesystem::remove_all(path);
}
BENCHMARK(BM_HeadAppend)->Arg(10'000)->Arg(100'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// Heap bytes per active series: series created with 120 samples each (one full open chunk's
// worth), measured with mallinfo2 before and after.
void BM_HeadMemoryPerSeries(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::string path = TempDir();
    auto db = DB::Open(Options(path));
    auto labels = MakeSeries(series);
    size_t before = mallinfo2().uordblks;
    std::vector<SeriesRef> refs(series, 0);
    for (int step = 0; step < 120; ++step) {
      auto app = (*db)->NewAppender();
      for (int s = 0; s < series; ++s) {
        refs[s] = app->Append(refs[s], labels[s], kT0 + step * 15000, step * 1.5 + s).ref;
      }
      (void)app->Commit();
    }
    size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_series"] =
        static_cast<double>(after - before) / static_cast<double>(series);
    (void)(*db)->Close();
    std::filesystem::remove_all(path);
  }
}
BENCHMARK(BM_HeadMemoryPerSeries)->Arg(50'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pharos::storage

int main(int argc, char** argv) {
  // As in the pharos binary: no deadlock-detection graph updates on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
