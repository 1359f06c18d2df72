#pragma once

// Synthetic series shaped like node-exporter and service metrics, shared by the chunkenc tests
// and benchmarks.

#include <cstdint>
#include <string>
#include <vector>

namespace pharos::chunkenc::testing {

enum class SeriesKind {
  kConstant,         // up, *_info, filesystem size: one value forever.
  kIntCounter,       // bytes/packets totals: integer increments of varying size.
  kDecimalCounter,   // cpu seconds: increments with 2 decimals.
  kIntGauge,         // memory bytes: multiples of 1024 that wander by a few MiB.
  kDecimalGauge,     // load average 0.37, temperature 45.5: 1-2 decimals.
  kSparseCounter,    // error counters: mostly unchanged, rare increments, occasional reset.
  kFloatGauge,       // computed ratios: true floats.
};

struct Series {
  SeriesKind kind;
  std::vector<int64_t> ts;
  std::vector<double> vs;
};

const char* KindName(SeriesKind kind);

// Timestamps every 15 s from `start_ms`; if `jitter_ms` > 0, each sample is off the grid by a
// uniform random amount in [-jitter_ms, jitter_ms].
std::vector<int64_t> ScrapeTimestamps(int64_t start_ms, size_t n, int jitter_ms, uint64_t seed);

std::vector<double> Values(SeriesKind kind, size_t n, uint64_t seed);

// A node-exporter-like mix, where most series barely move within a 30-minute chunk (info
// metrics, sizes, idle interfaces and disks, rarely used CPU modes, error counters):
// constants 40%, sparse counters 20%, int counters 10% (rates log-uniform in 1..1e6 per scrape),
// decimal counters 10%, int gauges 10%, decimal gauges 5%, float gauges 5%. 30% of series have
// exactly regular timestamps (e.g. recording rules), the rest 1-5 ms of uniform jitter.
std::vector<Series> RealisticMix(size_t num_series, size_t samples_per_series, uint64_t seed);

}  // namespace pharos::chunkenc::testing
