#include "server/notifier/notifier.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "alerting/am/api_json.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "server/ingest/relabel.h"
#include "server/scrape/file_sd.h"
#include "spdlog/spdlog.h"
#include "storage/labels/labels.h"

namespace pharos::notifier {

namespace {

using alerting::am::Alert;

// One `alertmanagers` entry, compiled.
struct AmSet {
  config::AlertmanagerConfig cfg;
  std::vector<ingest::CompiledRelabel> relabel;
  std::vector<std::unique_ptr<scrape::FileDiscovery>> file_sd;
  std::vector<std::string> urls, dropped;
};

std::string JoinPath(const std::string& prefix, const std::string& suffix) {
  std::string p = prefix;
  if (p.empty() || p[0] != '/') p.insert(0, "/");
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p + suffix;
}

}  // namespace

class Notifier::Impl {
 public:
  Impl(Options opts, PostFn post, Registry& reg, LogFactory& logs)
      : opts_(opts),
        post_(std::move(post)),
        log_(logs.Get("notifier")),
        sent_(reg.AddCounter("pharos_notifications_sent_total",
                             "Alerts sent to external Alertmanagers.", {"alertmanager"})),
        errors_(reg.AddCounter("pharos_notifications_errors_total",
                               "Errors sending alert batches to external Alertmanagers.",
                               {"alertmanager"})),
        dropped_(reg.AddCounter("pharos_notifications_dropped_total",
                                "Alerts dropped: queue full, or no Alertmanager accepted them.")
                     .Get()),
        queue_len_(reg.AddGauge("pharos_notifications_queue_length",
                                "Alerts waiting to be sent to external Alertmanagers.")
                       .Get()),
        discovered_(reg.AddGauge("pharos_notifications_alertmanagers_discovered",
                                 "External Alertmanagers alerts are sent to.")
                        .Get()) {
    reg.AddGauge("pharos_notifications_queue_capacity",
                 "Capacity of the queue of alerts for external Alertmanagers.")
        .Get()
        .Set(static_cast<double>(opts_.queue_capacity));
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    dropped_.Inc(static_cast<double>(queue_.size()));
  }

  absl::Status ApplyConfig(const config::Config& cfg) {
    std::vector<ingest::CompiledRelabel> relabel;
    PHAROS_ASSIGN_OR_RETURN(relabel, ingest::CompileAll(cfg.alerting.alert_relabel_configs));
    std::vector<std::shared_ptr<AmSet>> sets;
    for (const auto& am : cfg.alerting.alertmanagers) {
      auto s = std::make_shared<AmSet>();
      s->cfg = am;
      PHAROS_ASSIGN_OR_RETURN(s->relabel, ingest::CompileAll(am.relabel_configs));
      for (const auto& f : am.file_sd_configs) {
        s->file_sd.push_back(std::make_unique<scrape::FileDiscovery>(f, log_));
      }
      sets.push_back(std::move(s));
    }
    std::lock_guard<std::mutex> l(mu_);
    external_labels_ = cfg.global.external_labels;
    alert_relabel_ = std::move(relabel);
    sets_ = std::move(sets);
    next_discovery_ = std::chrono::steady_clock::time_point();  // resolve now
    ResolveLocked();
    return absl::OkStatus();
  }

  void Send(std::vector<Alert> alerts) {
    std::lock_guard<std::mutex> l(mu_);
    if (sets_.empty()) return;  // nowhere to send: Prometheus drops them the same way
    for (Alert& a : alerts) {
      for (const auto& [k, v] : external_labels_) a.labels.emplace(k, v);
      if (!alert_relabel_.empty()) {
        LabelsBuilder lb;
        for (const auto& [k, v] : a.labels) lb.Set(k, v);
        if (!ingest::Relabel(alert_relabel_, lb)) continue;
        a.labels.clear();
        for (const Label& x : lb.Labels()) a.labels.emplace(x.name, x.value);
        if (a.labels.empty()) continue;
      }
      queue_.push_back(std::move(a));
    }
    if (queue_.size() > opts_.queue_capacity) {
      size_t n = queue_.size() - opts_.queue_capacity;
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      dropped_.Inc(static_cast<double>(n));
      log_->warn("msg=\"Alert notification queue full, dropping alerts\" num_dropped={}", n);
    }
    queue_len_.Set(static_cast<double>(queue_.size()));
    cv_.notify_all();
  }

  std::vector<AlertmanagerTarget> Targets(bool active) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<AlertmanagerTarget> out;
    for (const auto& s : sets_) {
      for (const auto& u : active ? s->urls : s->dropped) out.push_back({u});
    }
    return out;
  }

  size_t QueueLength() const {
    std::lock_guard<std::mutex> l(mu_);
    return queue_.size();
  }

  bool Drain(int64_t timeout_ms) {
    std::unique_lock<std::mutex> l(mu_);
    return idle_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                             [this] { return queue_.empty() && !in_flight_; });
  }

 private:
  // Recomputes every set's Alertmanager URLs from static and file targets plus relabelling.
  void ResolveLocked() {
    auto now = std::chrono::steady_clock::now();
    if (now < next_discovery_) return;
    int64_t refresh_ms = 30000;
    size_t total = 0;
    for (auto& s : sets_) {
      std::vector<Labels> targets;
      auto add_group = [&](const Labels& group, const std::vector<Labels>& ts) {
        for (const Labels& t : ts) {
          LabelsBuilder lb(group);
          for (const Label& x : t) lb.Set(x.name, x.value);
          targets.push_back(lb.Labels());
        }
      };
      for (const auto& sc : s->cfg.static_configs) {
        LabelsBuilder g;
        for (const auto& [k, v] : sc.labels) g.Set(k, v);
        std::vector<Labels> ts;
        for (const auto& t : sc.targets) ts.push_back(Labels({{"__address__", t}}));
        add_group(g.Labels(), ts);
      }
      for (auto& f : s->file_sd) {
        uint64_t errors = 0;
        f->Refresh(&errors);
        refresh_ms = std::min(refresh_ms, f->refresh_interval_ms());
        for (const auto& g : f->Groups()) add_group(g.labels, g.targets);
      }
      s->urls.clear();
      s->dropped.clear();
      const std::string alerts_path = JoinPath(s->cfg.path_prefix, "/api/v2/alerts");
      for (const Labels& t : targets) {
        LabelsBuilder lb(t);
        if (lb.Get("__scheme__").empty()) lb.Set("__scheme__", s->cfg.scheme);
        if (lb.Get("__alerts_path__").empty()) lb.Set("__alerts_path__", alerts_path);
        Labels before = lb.Labels();
        auto url_of = [](const Labels& l) {
          return absl::StrCat(Av(l.Get("__scheme__")), "://", Av(l.Get("__address__")),
                              Av(l.Get("__alerts_path__")));
        };
        if (!ingest::Relabel(s->relabel, lb) || lb.Get("__address__").empty()) {
          s->dropped.push_back(url_of(before));
          continue;
        }
        s->urls.push_back(url_of(lb.Labels()));
      }
      total += s->urls.size();
    }
    discovered_.Set(static_cast<double>(total));
    next_discovery_ = now + std::chrono::milliseconds(refresh_ms);
  }

  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait_for(l, std::chrono::seconds(5), [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      ResolveLocked();
      if (queue_.empty()) continue;
      size_t n = std::min(queue_.size(), opts_.max_batch);
      std::vector<Alert> batch(std::make_move_iterator(queue_.begin()),
                               std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      queue_len_.Set(static_cast<double>(queue_.size()));
      auto sets = sets_;
      in_flight_ = true;
      l.unlock();
      SendBatch(sets, batch);
      l.lock();
      in_flight_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }

  // Posts to every Alertmanager concurrently; true when at least one accepted the batch.
  void SendBatch(const std::vector<std::shared_ptr<AmSet>>& sets, const std::vector<Alert>& batch) {
    const std::string body = alerting::am::EncodePostableAlerts(batch);
    std::vector<std::pair<std::string, std::future<absl::StatusOr<int>>>> calls;
    for (const auto& s : sets) {
      for (const auto& url : s->urls) {
        calls.emplace_back(url, std::async(std::launch::async, [this, s, url, &body] {
                             return post_(url, body, s->cfg.http, s->cfg.timeout_ms);
                           }));
      }
    }
    bool any_ok = false;
    for (auto& [url, f] : calls) {
      absl::StatusOr<int> r = f.get();
      if (r.ok() && *r / 100 == 2) {
        any_ok = true;
        sent_.WithLabels({url}).Inc(static_cast<double>(batch.size()));
        continue;
      }
      errors_.WithLabels({url}).Inc();
      sent_.WithLabels({url}).Inc(static_cast<double>(batch.size()));
      log_->error("msg=\"Error sending alerts\" alertmanager={} count={} err=\"{}\"", url,
                  batch.size(),
                  r.ok() ? absl::StrCat("bad response status ", *r) : std::string(r.status().message()));
    }
    if (!any_ok) dropped_.Inc(static_cast<double>(batch.size()));
  }

  const Options opts_;
  const PostFn post_;
  LoggerPtr log_;
  CounterFamily& sent_;
  CounterFamily& errors_;
  Counter& dropped_;
  Gauge& queue_len_;
  Gauge& discovered_;

  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  bool stop_ = false;
  bool in_flight_ = false;
  std::deque<Alert> queue_;
  std::map<std::string, std::string> external_labels_;
  std::vector<ingest::CompiledRelabel> alert_relabel_;
  std::vector<std::shared_ptr<AmSet>> sets_;
  std::chrono::steady_clock::time_point next_discovery_;
  std::thread thread_;
};

Notifier::Notifier(Options opts, PostFn post, Registry& registry, LogFactory& logs)
    : impl_(std::make_unique<Impl>(opts, std::move(post), registry, logs)) {}
Notifier::~Notifier() = default;

absl::Status Notifier::ApplyConfig(const config::Config& cfg) { return impl_->ApplyConfig(cfg); }
void Notifier::Send(std::vector<alerting::am::Alert> alerts) { impl_->Send(std::move(alerts)); }
std::vector<AlertmanagerTarget> Notifier::Active() const { return impl_->Targets(true); }
std::vector<AlertmanagerTarget> Notifier::Dropped() const { return impl_->Targets(false); }
size_t Notifier::QueueLength() const { return impl_->QueueLength(); }
bool Notifier::Drain(int64_t timeout_ms) { return impl_->Drain(timeout_ms); }

}  // namespace pharos::notifier
