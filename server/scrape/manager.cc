#include "server/scrape/manager.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/thread_pool.hpp"
#include "common/metrics.h"
#include "common/strings.h"
#include "server/scrape/file_sd.h"
#include "spdlog/spdlog.h"

namespace pharos::scrape {

namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Relative paths in a config are relative to the config file's directory, as in Prometheus.
void ResolvePath(const std::string& dir, std::string* p) {
  if (dir.empty() || p->empty() || (*p)[0] == '/') return;
  *p = (std::filesystem::path(dir) / *p).string();
}

config::ScrapeConfig WithResolvedPaths(config::ScrapeConfig c, const std::string& source) {
  std::string dir;
  if (!source.empty() && source[0] != '<') {
    dir = std::filesystem::path(source).parent_path().string();
  }
  for (auto& f : c.file_sd_configs) {
    for (auto& g : f.files) ResolvePath(dir, &g);
  }
  if (c.http.basic_auth) ResolvePath(dir, &c.http.basic_auth->password_file);
  if (c.http.authorization) ResolvePath(dir, &c.http.authorization->credentials_file);
  ResolvePath(dir, &c.http.tls_config.ca_file);
  ResolvePath(dir, &c.http.tls_config.cert_file);
  ResolvePath(dir, &c.http.tls_config.key_file);
  return c;
}

struct Deps {
  ScrapeManagerOptions* opts = nullptr;
  ScrapeMetrics* metrics = nullptr;
  std::vector<std::unique_ptr<boost::asio::io_context>>* ios = nullptr;
  boost::asio::thread_pool* workers = nullptr;
  std::atomic<size_t> next_io{0};  // round-robin io_context for new loops
};

// All targets of one job.
class ScrapePool {
 public:
  ScrapePool(std::string name, Deps* deps) : name_(std::move(name)), deps_(deps) {}

  // New settings (or the first): static groups, file SD read now, loops (re)started. An
  // unchanged job keeps running untouched (as Prometheus's reload does).
  void Update(std::shared_ptr<const JobSpec> job) {
    absl::MutexLock l(&mu_);
    if (job_ && job_->cfg == job->cfg) return;
    job_ = std::move(job);
    sds_.clear();
    for (const auto& f : job_->cfg.file_sd_configs) {
      sds_.push_back(std::make_unique<FileDiscovery>(f, deps_->opts->log));
    }
    RefreshSdLocked();
    next_refresh_ms_ = deps_->opts->now_ms() + RefreshIntervalLocked();
    SyncLocked(/*restart_all=*/true);
    deps_->metrics->pool_reloads.WithLabels({name_}).Inc();
  }

  // From the discovery thread: re-reads file SD when due; re-syncs targets on change.
  void MaybeRefresh(int64_t now_ms) {
    absl::MutexLock l(&mu_);
    if (sds_.empty() || now_ms < next_refresh_ms_) return;
    next_refresh_ms_ = now_ms + RefreshIntervalLocked();
    if (RefreshSdLocked()) SyncLocked(/*restart_all=*/false);
  }

  void Stop(bool stale) {
    absl::MutexLock l(&mu_);
    for (auto& [h, loop] : loops_) loop->Stop(stale);
    loops_.clear();
    deps_->metrics->targets.WithLabels({name_}).Set(0);
  }

  void Snapshot(TargetsSnapshot* out) const {
    absl::MutexLock l(&mu_);
    std::vector<ActiveTargetInfo> active;
    for (const auto& [h, loop] : loops_) {
      ActiveTargetInfo t;
      t.scrape_pool = name_;
      t.discovered_labels = loop->target().discovered;
      t.labels = loop->target().labels;
      t.scrape_url = loop->target().url;
      t.interval_ms = loop->target().interval_ms;
      t.timeout_ms = loop->target().timeout_ms;
      t.status = loop->Status();
      active.push_back(std::move(t));
    }
    std::sort(active.begin(), active.end(),
              [](const auto& a, const auto& b) { return a.labels < b.labels; });
    out->active.insert(out->active.end(), std::make_move_iterator(active.begin()),
                       std::make_move_iterator(active.end()));
    for (const auto& d : dropped_) out->dropped.push_back({name_, d});
    out->dropped_counts[name_] = dropped_count_;
  }

  void Metadata(std::vector<TargetMetadataInfo>* out) const {
    absl::MutexLock l(&mu_);
    for (const auto& [h, loop] : loops_) {
      out->push_back({loop->target().labels, loop->Metadata()});
    }
  }

 private:
  int64_t RefreshIntervalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t iv = 5 * 60 * 1000;
    for (const auto& sd : sds_) iv = std::min(iv, std::max<int64_t>(sd->refresh_interval_ms(), 1));
    return iv;
  }

  bool RefreshSdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool changed = false;
    for (auto& sd : sds_) {
      uint64_t errors = 0;
      changed |= sd->Refresh(&errors);
      if (errors > 0) {
        deps_->metrics->sd_read_errors.WithLabels({name_}).Inc(static_cast<double>(errors));
      }
    }
    return changed;
  }

  void SyncLocked(bool restart_all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<TargetGroup> groups = StaticGroups(job_->cfg);
    for (const auto& sd : sds_) {
      std::vector<TargetGroup> g = sd->Groups();
      groups.insert(groups.end(), std::make_move_iterator(g.begin()),
                    std::make_move_iterator(g.end()));
    }
    std::map<uint64_t, PopulatedTarget> wanted;
    dropped_.clear();
    dropped_count_ = 0;
    size_t errors = 0;
    for (const TargetGroup& g : groups) {
      for (const Labels& t : g.targets) {
        absl::StatusOr<PopulatedTarget> pt = PopulateTarget(*job_, g.labels, t);
        if (!pt.ok()) {
          if (errors++ < 10) {
            deps_->opts->log->warn("msg=\"creating target failed\" scrape_pool={} group={} err={}",
                                   Quoted(name_), Quoted(g.source), Quoted(pt.status().message()));
          }
          continue;
        }
        if (pt->dropped) {
          ++dropped_count_;
          if (dropped_.size() < deps_->opts->max_dropped_targets_per_pool) {
            dropped_.push_back(std::move(pt->discovered));
          }
          continue;
        }
        wanted.emplace(pt->hash, std::move(*pt));
      }
    }
    // Gone targets: stale markers for their last series.
    for (auto it = loops_.begin(); it != loops_.end();) {
      if (!wanted.count(it->first)) {
        it->second->Stop(/*stale=*/true);
        it = loops_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [hash, pt] : wanted) {
      auto it = loops_.find(hash);
      if (it != loops_.end() && !restart_all) continue;
      LoopOptions lo;
      lo.job = job_;
      lo.target = std::move(pt);
      lo.db = deps_->opts->appendable;
      lo.io = (*deps_->ios)[deps_->next_io++ % deps_->ios->size()].get();
      lo.workers = deps_->workers;
      lo.metrics = deps_->metrics;
      lo.now_ms = deps_->opts->now_ms;
      lo.user_agent = deps_->opts->user_agent;
      lo.log = deps_->opts->log;
      auto loop = std::make_shared<ScrapeLoop>(std::move(lo));
      if (it != loops_.end()) {
        it->second->Stop(/*stale=*/false);
        loop->AdoptFrom(*it->second);
        it->second = loop;
      } else {
        loops_.emplace(hash, loop);
      }
      loop->Start();
    }
    deps_->metrics->targets.WithLabels({name_}).Set(static_cast<double>(loops_.size()));
  }

  const std::string name_;
  Deps* const deps_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const JobSpec> job_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<FileDiscovery>> sds_ ABSL_GUARDED_BY(mu_);
  int64_t next_refresh_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<ScrapeLoop>> loops_ ABSL_GUARDED_BY(mu_);
  std::vector<Labels> dropped_ ABSL_GUARDED_BY(mu_);
  size_t dropped_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

class ScrapeManager::Impl {
 public:
  explicit Impl(ScrapeManagerOptions o) : opts_(std::move(o)) {
    if (!opts_.now_ms) opts_.now_ms = SystemNowMs;
    if (!opts_.registry) {
      own_registry_ = std::make_unique<Registry>();
      opts_.registry = own_registry_.get();
    }
    metrics_ = std::make_unique<ScrapeMetrics>(*opts_.registry);
    const int n_io = std::max(1, opts_.io_threads);
    for (int i = 0; i < n_io; ++i) {
      ios_.push_back(std::make_unique<boost::asio::io_context>(1));
      guards_.emplace_back(boost::asio::make_work_guard(*ios_.back()));
    }
    for (auto& io : ios_) {
      threads_.emplace_back([ctx = io.get()] { ctx->run(); });
    }
    workers_ = std::make_unique<boost::asio::thread_pool>(std::max(1, opts_.worker_threads));
    deps_.opts = &opts_;
    deps_.metrics = metrics_.get();
    deps_.ios = &ios_;
    deps_.workers = workers_.get();
    sd_thread_ = std::thread([this] { SdLoop(); });
  }

  ~Impl() { Stop(); }

  absl::Status ApplyConfig(const config::Config& cfg) {
    std::vector<std::shared_ptr<const JobSpec>> jobs;
    for (const auto& sc : cfg.scrape_configs) {
      auto job = CompileJob(WithResolvedPaths(sc, cfg.source));
      if (!job.ok()) return job.status();
      for (const auto& j : jobs) {
        if (j->cfg.job_name == sc.job_name) {
          return absl::InvalidArgumentError(
              absl::StrCat("found multiple scrape configs with job name \"", sc.job_name, "\""));
        }
      }
      jobs.push_back(std::move(*job));
    }
    absl::MutexLock l(&mu_);
    if (stopped_) return absl::FailedPreconditionError("scrape manager is stopped");
    for (auto it = pools_.begin(); it != pools_.end();) {
      bool keep = std::any_of(jobs.begin(), jobs.end(),
                              [&](const auto& j) { return j->cfg.job_name == it->first; });
      if (!keep) {
        it->second->Stop(/*stale=*/true);
        it = pools_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& job : jobs) {
      auto& pool = pools_[job->cfg.job_name];
      if (!pool) pool = std::make_unique<ScrapePool>(job->cfg.job_name, &deps_);
      pool->Update(job);
    }
    opts_.log->info("msg=\"scrape configuration applied\" jobs={}", jobs.size());
    return absl::OkStatus();
  }

  void Stop() {
    {
      absl::MutexLock l(&mu_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& [name, pool] : pools_) pool->Stop(/*stale=*/false);
      pools_.clear();
    }
    if (sd_thread_.joinable()) sd_thread_.join();
    guards_.clear();
    for (auto& t : threads_) t.join();
    threads_.clear();
    workers_->join();
  }

  TargetsSnapshot Targets() const {
    TargetsSnapshot s;
    absl::MutexLock l(&mu_);
    for (const auto& [name, pool] : pools_) pool->Snapshot(&s);
    return s;
  }

  std::vector<TargetMetadataInfo> Metadata() const {
    std::vector<TargetMetadataInfo> out;
    absl::MutexLock l(&mu_);
    for (const auto& [name, pool] : pools_) pool->Metadata(&out);
    return out;
  }

 private:
  void SdLoop() {
    absl::MutexLock l(&mu_);
    while (!stopped_) {
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::Milliseconds(opts_.sd_tick_ms));
      if (stopped_) break;
      const int64_t now = opts_.now_ms();
      for (auto& [name, pool] : pools_) pool->MaybeRefresh(now);
    }
  }

  ScrapeManagerOptions opts_;
  std::unique_ptr<Registry> own_registry_;
  std::unique_ptr<ScrapeMetrics> metrics_;
  std::vector<std::unique_ptr<boost::asio::io_context>> ios_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::thread_pool> workers_;
  Deps deps_;
  std::thread sd_thread_;

  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::unique_ptr<ScrapePool>> pools_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<ScrapeManager>> ScrapeManager::Create(ScrapeManagerOptions o) {
  if (!o.appendable) return absl::InvalidArgumentError("ScrapeManagerOptions.appendable is required");
  if (!o.log) return absl::InvalidArgumentError("ScrapeManagerOptions.log is required");
  return std::unique_ptr<ScrapeManager>(new ScrapeManager(std::make_unique<Impl>(std::move(o))));
}

ScrapeManager::ScrapeManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScrapeManager::~ScrapeManager() = default;

absl::Status ScrapeManager::ApplyConfig(const config::Config& cfg) {
  return impl_->ApplyConfig(cfg);
}
void ScrapeManager::Stop() { impl_->Stop(); }
TargetsSnapshot ScrapeManager::Targets() const { return impl_->Targets(); }
std::vector<TargetMetadataInfo> ScrapeManager::Metadata() const { return impl_->Metadata(); }

}  // namespace pharos::scrape
