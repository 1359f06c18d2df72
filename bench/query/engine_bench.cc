// PromQL range queries over a dashboard-like dataset held in a real storage::DB:
// 600 series (50 instances x 4 codes x 3 methods of http_requests_total) plus `up`, 6h at a
// 15s scrape interval (864k samples), queried over 6h at a 60s step.
//   build/release/bench/query/promql_engine_bench --benchmark_min_time=0.5
// items/s counts raw samples in the queried range per second.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "query/engine/engine.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::promql {
namespace {

constexpr int64_t kScrape = 15'000;
constexpr int64_t kSpan = 6 * 3600 * 1000;
constexpr int kInstances = 50;

struct Dataset {
  std::string path;
  std::unique_ptr<storage::DB> db;
  int64_t samples = 0;

  Dataset() {
    path = (std::filesystem::temp_directory_path() /
            ("pharos-engine-bench-" + std::to_string(::getpid())))
               .string();
    std::filesystem::remove_all(path);
    storage::DBOptions o;
    o.path = path;
    o.log = std::make_shared<spdlog::logger>("bench",
                                             std::make_shared<spdlog::sinks::null_sink_mt>());
    o.flush_interval_ms = 0;
    o.retention_ms = 0;
    o.future_tolerance_ms = 0;
    db = std::move(*storage::DB::Open(std::move(o)));
    const char* codes[] = {"200", "404", "500", "503"};
    const char* methods[] = {"GET", "POST", "PUT"};
    for (int i = 0; i < kInstances; ++i) {
      std::string inst = "host-" + std::to_string(i) + ":9100";
      auto app = db->NewAppender();
      storage::SeriesRef up_ref = 0;
      Labels up = Labels::FromStrings({"__name__", "up", "instance", inst, "job", "api"});
      for (int64_t t = 0; t <= kSpan; t += kScrape) {
        up_ref = app->Append(up_ref, up, t, 1).ref;
        samples++;
      }
      for (const char* c : codes) {
        for (const char* m : methods) {
          Labels l = Labels::FromStrings({"__name__", "http_requests_total", "code", c,
                                          "instance", inst, "job", "api", "method", m});
          storage::SeriesRef ref = 0;
          double v = 0;
          for (int64_t t = 0; t <= kSpan; t += kScrape) {
            v += (t / kScrape) % 7 + i % 3;
            ref = app->Append(ref, l, t, v).ref;
            samples++;
          }
        }
      }
      (void)app->Commit();
    }
    (void)db->Flush(true);
  }
  ~Dataset() {
    db.reset();
    std::filesystem::remove_all(path);
  }
};

Dataset& Data() {
  static auto* d = new Dataset();
  return *d;
}

void RunRange(benchmark::State& state, const char* query) {
  Dataset& d = Data();
  Engine engine({});
  for (auto _ : state) {
    auto r = engine.RangeQuery(*d.db, query, 0, kSpan, 60'000);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(r->series.size());
  }
  state.SetItemsProcessed(state.iterations() * d.samples);
}

void BM_SumRate(benchmark::State& s) { RunRange(s, "sum by (code) (rate(http_requests_total[5m]))"); }
void BM_Selector(benchmark::State& s) { RunRange(s, "http_requests_total"); }
void BM_ScalarOp(benchmark::State& s) { RunRange(s, "http_requests_total * 2"); }
void BM_GroupLeft(benchmark::State& s) {
  RunRange(s, "rate(http_requests_total[5m]) * on(instance, job) group_left up");
}
void BM_Quantile(benchmark::State& s) {
  RunRange(s, "quantile_over_time(0.9, http_requests_total[10m])");
}
void BM_TopK(benchmark::State& s) { RunRange(s, "topk(5, rate(http_requests_total[5m]))"); }
void BM_Subquery(benchmark::State& s) {
  RunRange(s, "max_over_time(sum(rate(http_requests_total[5m]))[30m:1m])");
}
BENCHMARK(BM_SumRate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Selector)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScalarOp)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GroupLeft)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quantile)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopK)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Subquery)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pharos::promql

BENCHMARK_MAIN();
