// Scrape ingestion throughput: ScrapeProcessor::Process on a node-exporter-like text body
// (parse, series cache, target labels, append to a real DB with the WAL on, staleness
// tracking, synthetic series). The first iteration fills the series cache; the rest measure
// the steady state of a target scraped every interval.
#include <unistd.h>

#include <filesystem>

#include "benchmark/benchmark.h"
#include "common/metrics.h"
#include "server/scrape/scrape_loop.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::scrape {
namespace {

std::string Body(int series) {
  std::string b = "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
                  "# TYPE node_cpu_seconds_total counter\n";
  const char* modes[] = {"user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"};
  for (int i = 0; i < series; ++i) {
    b += "node_cpu_seconds_total{cpu=\"" + std::to_string(i / 8) + "\",mode=\"" + modes[i % 8] +
         "\"} " + std::to_string(1000.25 + i) + "\n";
  }
  return b;
}

void BM_ScrapeProcess(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  auto path = std::filesystem::temp_directory_path() /
              ("pharos-scrape-bench-" + std::to_string(getpid()));
  std::filesystem::remove_all(path);
  storage::DBOptions o;
  o.path = path.string();
  o.log = std::make_shared<spdlog::logger>("b", std::make_shared<spdlog::sinks::null_sink_mt>());
  o.retention_ms = 0;
  o.future_tolerance_ms = 0;
  o.flush_interval_ms = 1000;
  auto db = storage::DB::Open(std::move(o));
  if (!db.ok()) {
    state.SkipWithError("cannot open DB");
    return;
  }
  Registry registry;
  ScrapeMetrics metrics(registry);
  config::ScrapeConfig cfg;
  cfg.job_name = "node";
  cfg.scrape_interval_ms = cfg.scrape_timeout_ms = 15000;
  auto job = CompileJob(cfg);
  ScrapeProcessor p(*job, Labels::FromStrings({"instance", "host:9100", "job", "node"}),
                    db->get(), &metrics);
  const std::string body = Body(series);
  int64_t t = 1'700'000'000'000;
  (void)p.Process(absl::OkStatus(), body, "text/plain; version=0.0.4", "", t, 0.01);
  for (auto _ : state) {
    t += 15000;
    ScrapeOutcome out = p.Process(absl::OkStatus(), body, "text/plain; version=0.0.4", "", t, 0.01);
    if (!out.status.ok()) state.SkipWithError("scrape failed");
  }
  state.SetItemsProcessed(state.iterations() * series);
  db->reset();
  std::filesystem::remove_all(path);
}
BENCHMARK(BM_ScrapeProcess)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pharos::scrape

BENCHMARK_MAIN();
