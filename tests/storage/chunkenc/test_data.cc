#include "tests/storage/chunkenc/test_data.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace pharos::chunkenc::testing {

const char* KindName(SeriesKind kind) {
  switch (kind) {
    case SeriesKind::kConstant: return "constant";
    case SeriesKind::kIntCounter: return "int_counter";
    case SeriesKind::kDecimalCounter: return "decimal_counter";
    case SeriesKind::kIntGauge: return "int_gauge";
    case SeriesKind::kDecimalGauge: return "decimal_gauge";
    case SeriesKind::kSparseCounter: return "sparse_counter";
    case SeriesKind::kFloatGauge: return "float_gauge";
  }
  return "?";
}

std::vector<int64_t> ScrapeTimestamps(int64_t start_ms, size_t n, int jitter_ms, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> jitter(-jitter_ms, jitter_ms);
  std::vector<int64_t> ts(n);
  for (size_t i = 0; i < n; ++i) {
    ts[i] = start_ms + static_cast<int64_t>(i) * 15000 + (jitter_ms > 0 ? jitter(rng) : 0);
  }
  return ts;
}

std::vector<double> Values(SeriesKind kind, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> vs(n);
  switch (kind) {
    case SeriesKind::kConstant: {
      const double v = std::round(unit(rng) * 4) * 1e9;  // Sizes, 0/1 flags.
      for (auto& x : vs) x = v;
      break;
    }
    case SeriesKind::kIntCounter: {
      const double rate = std::pow(10.0, unit(rng) * 6);  // 1 .. 1e6 per scrape.
      double v = std::round(unit(rng) * 1e10);
      for (auto& x : vs) {
        v += std::round(rate * (0.5 + unit(rng)));
        x = v;
      }
      break;
    }
    case SeriesKind::kDecimalCounter: {
      int64_t centis = static_cast<int64_t>(unit(rng) * 1e8);
      const int64_t rate = 100 + static_cast<int64_t>(unit(rng) * 1400);  // 1..15 s per 15 s.
      for (auto& x : vs) {
        centis += rate + static_cast<int64_t>(unit(rng) * 20) - 10;
        x = static_cast<double>(centis) / 100;
      }
      break;
    }
    case SeriesKind::kIntGauge: {
      // node_memory_*_bytes: /proc/meminfo kB * 1024, moving by up to +-4 MiB per scrape.
      double v = std::round(4e6 + unit(rng) * 4e6) * 1024;
      for (auto& x : vs) {
        v += std::round((unit(rng) - 0.5) * 8192) * 1024;
        x = v;
      }
      break;
    }
    case SeriesKind::kDecimalGauge: {
      const int decimals = 1 + static_cast<int>(unit(rng) * 2);
      const double scale = decimals == 1 ? 10 : 100;
      int64_t v = static_cast<int64_t>(unit(rng) * 100 * scale);
      for (auto& x : vs) {
        v += static_cast<int64_t>(std::round((unit(rng) - 0.5) * 6));
        if (v < 0) v = 0;
        x = static_cast<double>(v) / scale;
      }
      break;
    }
    case SeriesKind::kSparseCounter: {
      double v = std::round(unit(rng) * 100);
      for (auto& x : vs) {
        const double r = unit(rng);
        if (r < 0.002) {
          v = 0;  // Process restart.
        } else if (r < 0.05) {
          v += 1 + std::round(unit(rng) * 3);
        }
        x = v;
      }
      break;
    }
    case SeriesKind::kFloatGauge: {
      double v = unit(rng);
      for (auto& x : vs) {
        v = std::clamp(v + (unit(rng) - 0.5) * 0.01, 0.0, 1.0);
        x = v / 3.0;
      }
      break;
    }
  }
  return vs;
}

std::vector<Series> RealisticMix(size_t num_series, size_t samples_per_series, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Series> out;
  out.reserve(num_series);
  for (size_t s = 0; s < num_series; ++s) {
    const double r = unit(rng);
    SeriesKind kind = r < 0.40   ? SeriesKind::kConstant
                      : r < 0.50 ? SeriesKind::kIntCounter
                      : r < 0.60 ? SeriesKind::kDecimalCounter
                      : r < 0.70 ? SeriesKind::kIntGauge
                      : r < 0.75 ? SeriesKind::kDecimalGauge
                      : r < 0.95 ? SeriesKind::kSparseCounter
                                 : SeriesKind::kFloatGauge;
    const int jitter = unit(rng) < 0.3 ? 0 : 1 + static_cast<int>(unit(rng) * 5);
    const int64_t start = 1'700'000'000'000 + static_cast<int64_t>(unit(rng) * 15000);
    out.push_back(Series{kind, ScrapeTimestamps(start, samples_per_series, jitter, rng()),
                         Values(kind, samples_per_series, rng())});
  }
  return out;
}

}  // namespace pharos::chunkenc::testing
