#pragma once

// The scrape manager: one scrape pool per job of the configuration; targets from
// static_configs and file_sd_configs; one ScrapeLoop per target on a small pool of
// io_contexts (timers and async HTTP), with parsing and appending on a worker pool.
//
//   ScrapeManagerOptions o;
//   o.appendable = db; o.log = logs.Get("scrape"); o.registry = &registry;
//   PHAROS_ASSIGN_OR_RETURN(auto mgr, ScrapeManager::Create(std::move(o)));
//   PHAROS_RETURN_IF_ERROR(mgr->ApplyConfig(cfg));   // at startup and on every reload
//   ...
//   mgr->Stop();                                      // before storage closes

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logging.h"
#include "server/config/config.h"
#include "server/scrape/scrape_loop.h"
#include "storage/api/storage.h"
#include "storage/labels/labels.h"

namespace pharos {
class Registry;
}

namespace pharos::scrape {

struct ScrapeManagerOptions {
  storage::Appendable* appendable = nullptr;  // required; outlives the manager's Stop()
  LoggerPtr log;                              // required
  Registry* registry = nullptr;               // optional: pharos_scrape_* metrics
  // Wall clock in ms for sample timestamps. Default: system clock.
  std::function<int64_t()> now_ms;
  int io_threads = 1;      // threads running timers and HTTP. Default 1.
  int worker_threads = 2;  // threads parsing bodies and appending. Default 2.
  // User-Agent of scrape requests. Default "Pharos".
  std::string user_agent = "Pharos";
  // Dropped targets kept per pool for /api/v1/targets (all are counted). Default 1000.
  size_t max_dropped_targets_per_pool = 1000;
  // How often file_sd files are checked for due refreshes. Default 250ms (each file_sd config
  // is re-read every refresh_interval; a changed mtime or size triggers a re-read).
  int64_t sd_tick_ms = 250;
};

struct ActiveTargetInfo {
  std::string scrape_pool;
  Labels discovered_labels;
  Labels labels;
  std::string scrape_url;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;
  TargetStatus status;
};

struct DroppedTargetInfo {
  std::string scrape_pool;
  Labels discovered_labels;
};

struct TargetsSnapshot {
  std::vector<ActiveTargetInfo> active;    // by pool, then by labels
  std::vector<DroppedTargetInfo> dropped;  // bounded per pool
  std::map<std::string, size_t> dropped_counts;  // pool -> all dropped targets
};

struct TargetMetadataInfo {
  Labels target;  // the target's labels
  std::vector<MetricMetadata> metadata;
};

class ScrapeManager {
 public:
  static absl::StatusOr<std::unique_ptr<ScrapeManager>> Create(ScrapeManagerOptions options);
  ~ScrapeManager();  // Stop()s

  ScrapeManager(const ScrapeManager&) = delete;
  ScrapeManager& operator=(const ScrapeManager&) = delete;

  // Validates and compiles every scrape config first (relabelling, intervals); on error
  // nothing changes. Then: pools of removed jobs stop (their targets get staleness markers),
  // new jobs start, kept jobs restart their loops with the new settings, carrying over each
  // target's staleness state. Relative file_sd and credential file paths are resolved against
  // the directory of `cfg.source`.
  [[nodiscard]] absl::Status ApplyConfig(const config::Config& cfg);

  // Stops every loop (waiting for in-flight scrapes; no staleness markers) and the threads.
  // Idempotent.
  void Stop();

  TargetsSnapshot Targets() const;
  std::vector<TargetMetadataInfo> Metadata() const;

  class Impl;

 private:
  explicit ScrapeManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::scrape
