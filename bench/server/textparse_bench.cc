// Exposition parsing throughput (samples/s as items, MB/s as bytes) and allocations per sample,
// on the conformance sample pages and a generated node-exporter-like page; relabelling cost.
//   build/release/bench/server/textparse_bench --benchmark_min_time=0.5
// $PHAROS_CONFORMANCE_DIR overrides where the sample pages are read from.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "server/ingest/relabel.h"
#include "server/ingest/textparse.h"
#include "storage/labels/labels.h"

// Counting allocator: allocations per sample are reported as a counter. (GCC cannot see that
// these new/delete replacements pair malloc with free.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<uint64_t> g_allocs{0};
}  // namespace
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace pharos::ingest {
namespace {

std::string ReadConformance(const std::string& rel) {
  std::filesystem::path dir = PHAROS_CONFORMANCE_DIR;
  if (const char* env = std::getenv("PHAROS_CONFORMANCE_DIR"); env && *env) dir = env;
  std::ifstream f(dir / "exposition" / rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// About 2,000 series in node_exporter's shapes: per-CPU mode counters, filesystem and network
// device gauges with several labels, a histogram and plain gauges, with HELP and TYPE.
std::string NodeExporterBody() {
  std::string b;
  auto family = [&](const std::string& name, const char* type) {
    b += "# HELP " + name + " Help text for " + name + ".\n# TYPE " + name + " " + type + "\n";
  };
  family("node_cpu_seconds_total", "counter");
  const char* modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
  for (int cpu = 0; cpu < 64; ++cpu) {
    for (const char* m : modes) {
      b += "node_cpu_seconds_total{cpu=\"" + std::to_string(cpu) + "\",mode=\"" + m + "\"} " +
           std::to_string(1234567.89 + cpu * 17.31) + "\n";
    }
  }
  const char* fs_metrics[] = {"node_filesystem_avail_bytes", "node_filesystem_size_bytes",
                              "node_filesystem_files", "node_filesystem_files_free",
                              "node_filesystem_readonly", "node_filesystem_device_error"};
  for (const char* m : fs_metrics) {
    family(m, "gauge");
    for (int i = 0; i < 40; ++i) {
      b += std::string(m) + "{device=\"/dev/nvme0n1p" + std::to_string(i) +
           "\",fstype=\"ext4\",mountpoint=\"/var/lib/kubelet/pods/" + std::to_string(i * 7919) +
           "/volumes\"} " + std::to_string(1.0e11 + i * 4096.0) + "\n";
    }
  }
  const char* net_metrics[] = {"node_network_receive_bytes_total", "node_network_transmit_bytes_total",
                               "node_network_receive_packets_total", "node_network_transmit_packets_total",
                               "node_network_receive_errs_total", "node_network_transmit_errs_total"};
  for (const char* m : net_metrics) {
    family(m, "counter");
    for (int i = 0; i < 50; ++i) {
      b += std::string(m) + "{device=\"veth" + std::to_string(i * 31337) + "\"} " +
           std::to_string(987654321 + i) + "\n";
    }
  }
  family("node_disk_io_time_seconds_total", "counter");
  for (int i = 0; i < 16; ++i) {
    b += "node_disk_io_time_seconds_total{device=\"sd" + std::string(1, 'a' + i) + "\"} " +
         std::to_string(1e4 + i * 0.125) + "\n";
  }
  family("node_schedstat_running_seconds_total", "counter");
  for (int cpu = 0; cpu < 64; ++cpu) {
    b += "node_schedstat_running_seconds_total{cpu=\"" + std::to_string(cpu) + "\"} 5.5e+06\n";
  }
  family("http_request_duration_seconds", "histogram");
  const char* les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"};
  for (int h = 0; h < 20; ++h) {
    std::string lbl = "handler=\"/api/v1/h" + std::to_string(h) + "\",method=\"GET\"";
    int count = 0;
    for (const char* le : les) {
      count += 3;
      b += "http_request_duration_seconds_bucket{" + lbl + ",le=\"" + le + "\"} " +
           std::to_string(count) + "\n";
    }
    b += "http_request_duration_seconds_sum{" + lbl + "} 17.5\n";
    b += "http_request_duration_seconds_count{" + lbl + "} " + std::to_string(count) + "\n";
  }
  for (int i = 0; i < 300; ++i) {
    std::string m = "node_misc_gauge_" + std::to_string(i);
    family(m, "gauge");
    b += m + " " + std::to_string(i * 1.5) + "\n";
  }
  return b;
}

// Parses the whole body; with build_labels, also builds a Labels per sample (what the scraper
// does on a series-cache miss).
void RunParse(benchmark::State& state, const std::string& body, ExpositionFormat f,
              bool build_labels) {
  if (body.empty()) {
    state.SkipWithError("no input (conformance data missing?)");
    return;
  }
  int64_t samples = 0;
  uint64_t allocs = 0;
  for (auto _ : state) {
    uint64_t a0 = g_allocs.load(std::memory_order_relaxed);
    TextParser p(body, f);
    double sum = 0;
    while (true) {
      absl::StatusOr<EntryType> e = p.Next();
      if (!e.ok()) {
        state.SkipWithError(std::string(e.status().message()).c_str());
        return;
      }
      if (*e == EntryType::kEof) break;
      if (*e != EntryType::kSeries) continue;
      ++samples;
      sum += p.Value();
      if (build_labels) {
        Labels ls(p.Labels());
        benchmark::DoNotOptimize(ls);
      } else {
        benchmark::DoNotOptimize(p.Labels().data());
      }
    }
    benchmark::DoNotOptimize(sum);
    allocs += g_allocs.load(std::memory_order_relaxed) - a0;
  }
  state.SetItemsProcessed(samples);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["allocs_per_sample"] =
      samples ? static_cast<double>(allocs) / static_cast<double>(samples) : 0;
  state.counters["samples_per_page"] =
      static_cast<double>(samples) / static_cast<double>(state.iterations());
}

void BM_Parse(benchmark::State& state, const char* file, ExpositionFormat f, bool build) {
  static std::vector<std::pair<std::string, std::string>>* cache =
      new std::vector<std::pair<std::string, std::string>>();
  std::string* body = nullptr;
  for (auto& [k, v] : *cache) {
    if (k == file) body = &v;
  }
  if (!body) {
    cache->emplace_back(file, std::string(file) == "node_exporter" ? NodeExporterBody()
                                                                    : ReadConformance(file));
    body = &cache->back().second;
  }
  RunParse(state, *body, f, build);
}

constexpr auto kText = ExpositionFormat::kPrometheusText;
constexpr auto kOm = ExpositionFormat::kOpenMetrics;

BENCHMARK_CAPTURE(BM_Parse, node_exporter, "node_exporter", kText, false);
BENCHMARK_CAPTURE(BM_Parse, node_exporter_labels, "node_exporter", kText, true);
BENCHMARK_CAPTURE(BM_Parse, alltypes_237mfs, "prometheus-textparse/alltypes.237mfs.prom.txt", kText, false);
BENCHMARK_CAPTURE(BM_Parse, alltypes_237mfs_labels, "prometheus-textparse/alltypes.237mfs.prom.txt", kText, true);
BENCHMARK_CAPTURE(BM_Parse, alltypes_237mfs_nometa, "prometheus-textparse/alltypes.237mfs.nometa.prom.txt", kText, false);
BENCHMARK_CAPTURE(BM_Parse, promtestdata, "prometheus-textparse-legacy/promtestdata.txt", kText, false);
BENCHMARK_CAPTURE(BM_Parse, om_alltypes_5mfs, "prometheus-textparse/alltypes.5mfs.om.txt", kOm, false);
BENCHMARK_CAPTURE(BM_Parse, om_1histogram, "prometheus-textparse/1histogram.om.txt", kOm, false);
BENCHMARK_CAPTURE(BM_Parse, expfmt_text, "common-expfmt/testdata/text", kText, false);

// A typical metric_relabel_configs: drop a family by name, drop a label, rewrite a label.
void BM_Relabel(benchmark::State& state) {
  std::vector<config::RelabelConfig> cfgs(3);
  cfgs[0].source_labels = {"__name__"};
  cfgs[0].regex = "go_gc_.*|node_scrape_collector_.*";
  cfgs[0].action = "drop";
  cfgs[1].regex = "fstype";
  cfgs[1].action = "labeldrop";
  cfgs[2].source_labels = {"device"};
  cfgs[2].regex = "/dev/(.*)";
  cfgs[2].target_label = "disk";
  cfgs[2].replacement = "$1";
  absl::StatusOr<std::vector<CompiledRelabel>> rules = CompileAll(cfgs);
  if (!rules.ok()) {
    state.SkipWithError("compile failed");
    return;
  }
  Labels in = Labels::FromStrings({"__name__", "node_filesystem_avail_bytes", "device",
                                   "/dev/nvme0n1p1", "fstype", "ext4", "instance", "host:9100",
                                   "job", "node", "mountpoint", "/var"});
  LabelsBuilder lb;
  for (auto _ : state) {
    lb.Reset(in);
    bool keep = Relabel(*rules, lb);
    benchmark::DoNotOptimize(keep);
    Labels out = lb.Labels();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Relabel);

}  // namespace
}  // namespace pharos::ingest

BENCHMARK_MAIN();
