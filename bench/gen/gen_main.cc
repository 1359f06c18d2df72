// pharos_gen: writes the benchmark dataset (bench/gen/dataset.h) as pre-encoded remote-write
// requests and/or OpenMetrics text, and prints a one-line JSON summary on stdout.
//
//   pharos_gen --series=10900 --duration=2h --shards=4 --rw-out=/tmp/rw.bin --om-out=/tmp/d.om
//
// Flags (defaults in brackets):
//   --series=N                 approximate series count [10900]
//   --duration=D               2h, 30m, 90s, ... [2h]
//   --interval=D               scrape interval [15s]
//   --start=MS                 first grid point, ms since the epoch [last full hour - duration]
//   --seed=N                   [1]
//   --shards=K                 remote-write shards [4]
//   --max-samples-per-send=N   [2000]
//   --samples-per-series=N     samples per TimeSeries entry; 1 = Prometheus [1]
//   --rw-out=FILE              request file for pharos_loadgen
//   --om-out=FILE              OpenMetrics text for promtool tsdb create-blocks-from openmetrics

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/gen/dataset.h"
#include "bench/gen/encode.h"
#include "common/strings.h"
#include "common/units.h"

namespace pharos::bench {
namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "pharos_gen: %s\n(see the comment at the top of bench/gen/gen_main.cc)\n",
               msg.c_str());
  return 2;
}

int Main(int argc, char** argv) {
  DatasetOptions ds_opts;
  RemoteWriteOptions rw_opts;
  std::string rw_out, om_out;
  bool start_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    size_t eq = a.find('=');
    if (a.substr(0, 2) != "--" || eq == std::string_view::npos) return Usage("bad argument " + std::string(a));
    std::string name(a.substr(2, eq - 2));
    std::string value(a.substr(eq + 1));
    auto num = [&](int64_t* out) {
      char* end = nullptr;
      *out = std::strtoll(value.c_str(), &end, 10);
      return end != value.c_str() && *end == '\0';
    };
    auto dur = [&](int64_t* out) {
      auto d = ParseDurationMs(value);
      if (!d.ok()) return false;
      *out = *d;
      return true;
    };
    int64_t n = 0;
    bool ok = true;
    if (name == "series") {
      ok = num(&ds_opts.series);
    } else if (name == "duration") {
      ok = dur(&ds_opts.duration_ms);
    } else if (name == "interval") {
      ok = dur(&ds_opts.interval_ms) && ds_opts.interval_ms > 0;
    } else if (name == "start") {
      ok = num(&ds_opts.start_ms);
      start_set = true;
    } else if (name == "seed") {
      ok = num(&n);
      ds_opts.seed = static_cast<uint64_t>(n);
    } else if (name == "shards") {
      ok = num(&n) && n >= 1 && n <= 1024;
      rw_opts.shards = static_cast<int>(n);
    } else if (name == "max-samples-per-send") {
      ok = num(&n) && n >= 1;
      rw_opts.max_samples_per_send = static_cast<int>(n);
    } else if (name == "samples-per-series") {
      ok = num(&n) && n >= 1;
      rw_opts.samples_per_series = static_cast<int>(n);
    } else if (name == "rw-out") {
      rw_out = value;
    } else if (name == "om-out") {
      om_out = value;
    } else {
      return Usage("unknown flag --" + name);
    }
    if (!ok) return Usage("bad value for --" + name);
  }
  if (!start_set) {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    ds_opts.start_ms = DefaultStartMs(now, ds_opts.duration_ms);
  }

  auto t0 = std::chrono::steady_clock::now();
  Dataset ds(ds_opts);
  uint64_t requests = 0, body_bytes = 0, raw_bytes = 0;
  if (!rw_out.empty()) {
    RequestFileWriter w;
    absl::Status st = w.Open(rw_out);
    if (st.ok()) {
      st = GenerateRemoteWrite(ds, rw_opts, [&](EncodedRequest&& r) {
        ++requests;
        body_bytes += r.body.size();
        raw_bytes += r.raw_bytes;
        return w.Write(r);
      });
    }
    if (st.ok()) st = w.Close();
    if (!st.ok()) {
      std::fprintf(stderr, "pharos_gen: %s\n", std::string(Sv(st.message())).c_str());
      return 1;
    }
  }
  if (!om_out.empty()) {
    std::FILE* f = std::fopen(om_out.c_str(), "wb");
    if (f == nullptr) return Usage("cannot create " + om_out);
    absl::Status st = WriteOpenMetrics(ds, f);
    if (std::fclose(f) != 0 && st.ok()) st = absl::DataLossError("close failed");
    if (!st.ok()) {
      std::fprintf(stderr, "pharos_gen: %s\n", std::string(Sv(st.message())).c_str());
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"series\":%zu,\"targets\":%zu,\"scrapes_per_target\":%lld,\"samples\":%lld,"
      "\"start_ms\":%lld,\"min_time_ms\":%lld,\"max_time_ms\":%lld,\"shards\":%d,"
      "\"requests\":%llu,\"body_bytes\":%llu,\"raw_bytes\":%llu,\"seconds\":%.3f}\n",
      ds.series().size(), ds.targets().size(), static_cast<long long>(ds.num_scrapes()),
      static_cast<long long>(ds.num_samples()), static_cast<long long>(ds_opts.start_ms),
      static_cast<long long>(ds.min_time_ms()), static_cast<long long>(ds.max_time_ms()),
      rw_opts.shards, static_cast<unsigned long long>(requests),
      static_cast<unsigned long long>(body_bytes), static_cast<unsigned long long>(raw_bytes),
      secs);
  return 0;
}

}  // namespace
}  // namespace pharos::bench

int main(int argc, char** argv) { return pharos::bench::Main(argc, argv); }
