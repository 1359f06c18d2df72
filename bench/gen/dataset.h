#pragma once

// A deterministic, seeded, realistic metrics dataset for the ingest benchmarks: what a
// Prometheus server scraping N hosts every 15 s would forward over remote write.
//
// Each host runs two scrape targets:
//   job="node" (node-exporter-like): node_cpu_seconds_total{cpu,mode} (8 modes per CPU, 2–16
//     CPUs), node_memory_*_bytes, node_filesystem_{size,avail,free}_bytes{device,fstype,
//     mountpoint}, node_network_{receive,transmit}_bytes_total{device}, node_load{1,5,15},
//     node_boot_time_seconds;
//   job="api" (an HTTP service): http_requests_total{method,handler,status},
//     http_request_duration_seconds_{bucket,sum,count}{method,handler[,le]}, failed_logins_total,
//     process_* and go_goroutines;
// and Prometheus's own per-target series (up, scrape_duration_seconds, scrape_samples_scraped,
// scrape_samples_post_metric_relabeling, scrape_series_added).
//
// Values look like the real thing: CPU seconds in 1/100 s steps, bytes as integers (multiples
// of 1024 or 4096 where the kernel reports them that way), loads with two decimals, counters
// that grow by varying amounts (and sometimes not at all), gauges that jitter, histogram
// sums at full double precision, one service restart (counter reset) per 16 hosts.
//
// Timestamps: each target has a fixed offset inside the interval (Prometheus spreads targets
// by a hash of the target) and is scraped exactly on its grid, as Prometheus 2.x does when the
// scrape starts within its 2 ms timestamp tolerance; about 1 scrape in 400 lands a few
// milliseconds late instead (a slow scheduler), which is what a real scrape log shows.
//
// Everything is a pure function of DatasetOptions: same options, same bytes.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pharos::bench {

struct DatasetOptions {
  uint64_t seed = 1;
  // Approximate number of series: hosts are added until the total reaches this. Default 10.9k
  // (the dataset DESIGN.md's acceptance figures were measured on).
  int64_t series = 10'900;
  int64_t duration_ms = 2 * 3600 * 1000;   // Default 2h.
  int64_t interval_ms = 15'000;            // Default 15 s.
  // First grid point of the dataset (ms since the epoch). Must be set by the caller; tools
  // default it to the last full hour before now minus the duration, so servers with a
  // retention window relative to now accept every sample.
  int64_t start_ms = 0;
};

// One label pair; series label sets are sorted by name and include __name__.
using LabelPair = std::pair<std::string, std::string>;

struct SeriesInfo {
  std::vector<LabelPair> labels;  // sorted by name
  int target = 0;                 // index into Dataset::targets()
};

struct TargetInfo {
  std::string job;
  std::string instance;
  int64_t offset_ms = 0;      // scrape offset inside the interval
  int first_series = 0;       // this target's series are [first_series, first_series + count)
  int num_series = 0;
};

class TargetState;  // per-target generator state (dataset.cc)

// Produces one target's scrapes in time order.
class TargetGenerator {
 public:
  TargetGenerator(TargetGenerator&&) noexcept;
  TargetGenerator& operator=(TargetGenerator&&) noexcept;
  ~TargetGenerator();

  // Advances to the next scrape: `*t_ms` gets its timestamp and `values` (resized to the
  // target's series count) its values, in the target's series order. False after the last.
  bool Next(int64_t* t_ms, std::vector<double>* values);

 private:
  friend class Dataset;
  explicit TargetGenerator(std::unique_ptr<TargetState> state);
  std::unique_ptr<TargetState> state_;
};

class Dataset {
 public:
  explicit Dataset(const DatasetOptions& options);

  const DatasetOptions& options() const { return options_; }
  const std::vector<SeriesInfo>& series() const { return series_; }
  const std::vector<TargetInfo>& targets() const { return targets_; }
  int64_t num_scrapes() const { return num_scrapes_; }  // per target
  int64_t num_samples() const { return num_scrapes_ * static_cast<int64_t>(series_.size()); }
  // Timestamp range covered (inclusive), over all targets.
  int64_t min_time_ms() const;
  int64_t max_time_ms() const;

  // A fresh generator for target `t` (independent of every other target's).
  TargetGenerator Generator(int t) const;

 private:
  DatasetOptions options_;
  std::vector<SeriesInfo> series_;
  std::vector<TargetInfo> targets_;
  std::vector<int> host_cpus_;   // per host
  int64_t num_scrapes_ = 0;
};

// Aligns `now_ms` down to the hour and subtracts `duration_ms`: the default start.
int64_t DefaultStartMs(int64_t now_ms, int64_t duration_ms);

}  // namespace pharos::bench
