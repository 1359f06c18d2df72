#pragma once

// One target's scraping: ScrapeProcessor turns a fetched body into appended samples (series
// cache, honor_labels/honor_timestamps, metric_relabel_configs, limits, staleness markers,
// synthetic series); ScrapeLoop runs it on a timer with an async HTTP fetch. Used by
// ScrapeManager; ScrapeProcessor is public so tests can drive it with fixed timestamps.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/thread_pool.hpp"
#include "common/logging.h"
#include "common/metrics.h"
#include "server/scrape/target.h"
#include "storage/api/storage.h"

namespace pharos::scrape {

namespace internal {
class FetchHandle;
struct FetchResult;
}

// Self-metrics shared by every loop (pharos_scrape_*). Registered once per registry.
struct ScrapeMetrics {
  explicit ScrapeMetrics(Registry& r);
  CounterFamily& scrapes;            // {job, result}: success, failure
  HistogramFamily& duration;         // {job}
  CounterFamily& samples_appended;   // {job}
  CounterFamily& samples_rejected;   // {job, reason}
  CounterFamily& stale_markers;      // {job}
  GaugeFamily& targets;              // {scrape_pool}
  CounterFamily& sd_read_errors;     // {scrape_pool}
  CounterFamily& pool_reloads;       // {scrape_pool}
};

enum class Health { kUnknown, kUp, kDown };
std::string_view HealthName(Health h);  // "unknown", "up", "down"

// # HELP / # TYPE / # UNIT of one metric family, as last scraped.
struct MetricMetadata {
  std::string metric;
  std::string type = "unknown";
  std::string help;
  std::string unit;
};

struct ScrapeOutcome {
  absl::Status status;  // non-OK: the scrape failed (up = 0)
  uint64_t samples_scraped = 0;
  uint64_t samples_post_relabel = 0;
  uint64_t series_added = 0;
  uint64_t appended = 0;
  uint64_t stale_markers = 0;
};

// The per-target append logic. Not thread-safe: one scrape at a time.
class ScrapeProcessor {
 public:
  // Bodies larger than this (after gunzip) fail when the job sets no body_size_limit.
  static constexpr uint64_t kDefaultMaxBodyBytes = 256ull << 20;

  ScrapeProcessor(std::shared_ptr<const JobSpec> job, Labels target_labels,
                  storage::Appendable* db, ScrapeMetrics* metrics);

  // Appends one scrape taken at `t_ms`: on `fetch_status` OK, the body's samples (parsed by
  // Content-Type, gunzipped if Content-Encoding says so); stale markers for series of the
  // previous scrape that are gone (all of them when the scrape failed); then up,
  // scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling and
  // scrape_series_added.
  ScrapeOutcome Process(const absl::Status& fetch_status, std::string_view body,
                        std::string_view content_type, std::string_view content_encoding,
                        int64_t t_ms, double duration_s);

  // Stale markers at `t_ms` for every series of the last scrape, synthetic ones included (the
  // target went away).
  void WriteEndOfRunStaleMarkers(int64_t t_ms);

  // Takes over the staleness state of a processor for the same target (config reload); the
  // series cache starts empty, so changed relabelling applies from the next scrape.
  void AdoptState(ScrapeProcessor& old);

  std::vector<MetricMetadata> Metadata() const;  // thread-safe

 private:
  struct CacheEntry {
    storage::SeriesRef ref = 0;
    Labels labels;
    uint64_t last_iter = 0;
    bool dropped = false;  // metric_relabel_configs dropped it
  };

  absl::Status AppendBody(storage::Appender& app, std::string_view body,
                          std::string_view content_type, std::string_view content_encoding,
                          int64_t t_ms, ScrapeOutcome* out,
                          std::vector<MetricMetadata>* metadata);
  // Target labels merged in (honor_labels), metric_relabel_configs applied; nullopt: dropped.
  std::optional<Labels> BuildLabels(std::span<const Label> scraped) const;
  absl::Status CheckLabelLimits(const Labels& ls) const;
  uint64_t AppendStale(storage::Appender& app, int64_t t_ms, bool all);
  void AppendReport(storage::Appender& app, int64_t t_ms, bool up, double duration_s,
                    const ScrapeOutcome& o);
  void CountRejected(storage::RejectReason r);

  std::shared_ptr<const JobSpec> job_;
  Labels target_labels_;
  storage::Appendable* db_;
  ScrapeMetrics* metrics_;
  uint64_t iter_ = 0;
  absl::flat_hash_map<std::string, CacheEntry> cache_;
  // New cache entries of the scrape in progress; cached only once the batch is committed.
  std::vector<std::pair<std::string, CacheEntry>> pending_new_;
  // Series written by the last scrape / being written by this one (no explicit timestamps).
  absl::flat_hash_map<storage::SeriesRef, Labels> prev_series_, cur_series_;
  // up, scrape_duration_seconds, ... : refs cached.
  storage::SeriesRef report_refs_[5] = {0, 0, 0, 0, 0};
  Labels report_labels_[5];
  bool reported_ = false;  // report series written at least once
  std::string gunzipped_;
  absl::flat_hash_map<std::string, uint64_t> rejected_;  // per scrape, reason -> count

  mutable absl::Mutex md_mu_;
  std::vector<MetricMetadata> metadata_ ABSL_GUARDED_BY(md_mu_);
};

struct TargetStatus {
  Health health = Health::kUnknown;
  std::string last_error;
  int64_t last_scrape_ms = 0;  // wall time of the last scrape's start; 0: never
  double last_duration_s = 0;
};

struct LoopOptions {
  std::shared_ptr<const JobSpec> job;
  PopulatedTarget target;
  storage::Appendable* db = nullptr;
  boost::asio::io_context* io = nullptr;       // timers and HTTP
  boost::asio::thread_pool* workers = nullptr; // parsing, appending, credential files
  ScrapeMetrics* metrics = nullptr;
  std::function<int64_t()> now_ms;
  std::string user_agent;
  LoggerPtr log;
};

// Scrapes one target every interval until stopped. Owned through shared_ptr (async handlers
// keep it alive).
class ScrapeLoop : public std::enable_shared_from_this<ScrapeLoop> {
 public:
  explicit ScrapeLoop(LoopOptions o);
  ~ScrapeLoop();

  // Before Start: take over the state of the loop this one replaces (already stopped).
  void AdoptFrom(ScrapeLoop& old);
  void Start();
  // Stops the timer, cancels an in-flight fetch and waits until no scrape is running. Then,
  // with `stale`, writes stale markers for the target's last series.
  void Stop(bool stale);

  const PopulatedTarget& target() const { return o_.target; }
  const JobSpec& job() const { return *o_.job; }
  TargetStatus Status() const;
  std::vector<MetricMetadata> Metadata() const { return processor_.Metadata(); }

  // The start offset within the interval (from the target's hash) for a loop started at
  // `now_ms`: ms until the first scrape.
  static int64_t InitialDelayMs(uint64_t hash, int64_t interval_ms, int64_t now_ms);
  // The timestamp for a scrape starting at `now_ms` whose slot on the schedule is `ideal_ms`:
  // `ideal_ms` when within ±2ms (Prometheus's ScrapeTimestampTolerance, for intervals above
  // 200ms), else `now_ms`.
  static int64_t AlignedTimestampMs(int64_t now_ms, int64_t ideal_ms, int64_t interval_ms);

 private:
  void ScheduleNext();
  void OnTimer();
  void RunScrape();
  void OnFetched(internal::FetchResult r);

  LoopOptions o_;
  ScrapeProcessor processor_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point start_steady_;
  int64_t start_wall_ms_ = 0;
  int64_t iter_ = 0;  // index of the next scheduled scrape
  int64_t scrape_wall_ms_ = 0;
  std::chrono::steady_clock::time_point scrape_start_;

  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<internal::FetchHandle> fetch_ ABSL_GUARDED_BY(mu_);
  TargetStatus status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pharos::scrape
