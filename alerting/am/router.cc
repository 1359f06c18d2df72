#include "alerting/am/router.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/alerts.h"
#include "alerting/am/inhibit.h"
#include "alerting/am/mute.h"
#include "alerting/am/nflog.h"
#include "alerting/am/pipeline.h"
#include "alerting/am/route.h"
#include "alerting/am/timeinterval.h"
#include "alerting/clock.h"
#include "alerting/notify/default_templates.h"
#include "alerting/notify/integrations.h"
#include "alerting/state/state_store.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace pharos::alerting::am {

// Everything built from one config; replaced as a whole on reload.
struct Router::State {
  Config config;
  std::unique_ptr<RouteNode> root;
  std::unique_ptr<Inhibitor> inhibitor;
  std::unique_ptr<Silencer> silencer;
  notify::NotificationTemplates templates;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Dispatcher> dispatcher;
  int inhibitor_subscription = 0;
};

class Router::Impl {
 public:
  explicit Impl(RouterOptions opts) : opts_(std::move(opts)) {
    log_ = opts_.logs ? opts_.logs->Get("alertmanager") : spdlog::default_logger();
    start_ms_ = opts_.clock->NowMs();
  }

  ~Impl() { Stop(); }

  absl::Status Open() {
    PHAROS_ASSIGN_OR_RETURN(state_store_, StateStore::Open(opts_.data_dir));
    PHAROS_ASSIGN_OR_RETURN(silences_, Silences::Open({.store = state_store_.get(),
                                                       .clock = opts_.clock,
                                                       .retention_ms = opts_.data_retention_ms}));
    PHAROS_ASSIGN_OR_RETURN(nflog_, Nflog::Open({.store = state_store_.get(),
                                                 .clock = opts_.clock,
                                                 .retention_ms = opts_.data_retention_ms}));
    store_ = std::make_unique<AlertStore>(AlertStoreOptions{
        .clock = opts_.clock, .registry = opts_.registry, .marker = &marker_});
    maintenance_ = std::thread([this] { Maintenance(); });
    return absl::OkStatus();
  }

  absl::Status ApplyConfig(const Config& cfg, std::string_view base_dir) {
    absl::MutexLock reload(&reload_mu_);
    auto next = std::make_shared<State>();
    next->config = cfg;
    PHAROS_ASSIGN_OR_RETURN(next->root, RouteNode::Build(cfg.route));
    PHAROS_ASSIGN_OR_RETURN(next->templates, notify::LoadNotificationTemplates(cfg, base_dir));
    std::vector<PipelineReceiver> receivers;
    for (const Receiver& r : cfg.receivers) {
      PipelineReceiver pr;
      pr.name = r.name;
      pr.digest = r.digest;
      auto ints = notify::BuildIntegrations(r, cfg.global);
      if (!ints.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("receiver \"", r.name, "\": ", ints.status().message()));
      }
      pr.integrations = std::move(*ints);
      for (const std::string& type : r.unsupported) {
        log_->warn("msg=\"receiver integration not supported by Pharos; its notifications will "
                   "not be sent\" receiver={} integration={}",
                   r.name, type);
      }
      receivers.push_back(std::move(pr));
    }
    next->inhibitor = std::make_unique<Inhibitor>(cfg.inhibit_rules, &marker_, opts_.clock);
    next->silencer = std::make_unique<Silencer>(silences_.get(), &marker_);
    const std::vector<NamedTimeInterval> intervals = cfg.time_intervals;
    PipelineOptions po;
    po.clock = opts_.clock;
    po.nflog = nflog_.get();
    po.state = state_store_.get();
    po.registry = opts_.registry;
    po.logger = log_;
    po.inhibitor = next->inhibitor.get();
    po.silencer = next->silencer.get();
    po.interval_active = [intervals](const std::string& name, int64_t now) {
      auto active = AnyActive(intervals, {name}, now);
      return active.ok() && *active;
    };
    po.external_url = opts_.external_url;
    po.templates = next->templates.text.get();
    po.html_templates = next->templates.html.get();
    po.notify_timeout_ms = opts_.notify_timeout_ms;
    PHAROS_ASSIGN_OR_RETURN(next->pipeline, Pipeline::Create(po, std::move(receivers)));
    Pipeline* pipeline = next->pipeline.get();
    next->dispatcher = std::make_unique<Dispatcher>(
        next->root.get(), store_.get(),
        DispatcherOptions{.clock = opts_.clock,
                          .registry = opts_.registry,
                          .flush = [pipeline](const FlushRequest& r) { return pipeline->Exec(r); }});

    // Swap: stop the old generation (retries abort, in-flight sends finish), then start the
    // new one; subscribing replays the stored alerts into the new inhibitor and dispatcher.
    std::shared_ptr<State> old;
    {
      absl::MutexLock l(&mu_);
      old = state_;
    }
    if (old) StopState(*old);
    store_->SetResolveTimeout(cfg.global.resolve_timeout_ms);
    Inhibitor* inhibitor = next->inhibitor.get();
    next->inhibitor_subscription = store_->Subscribe([inhibitor](const Alert& a) {
      inhibitor->Observe(a);
    });
    next->pipeline->Start();
    next->dispatcher->Start();
    {
      absl::MutexLock l(&mu_);
      state_ = next;
    }
    log_->info("msg=\"alertmanager configuration applied\" source={} receivers={} inhibit_rules={}",
               cfg.source, cfg.receivers.size(), cfg.inhibit_rules.size());
    return absl::OkStatus();
  }

  bool configured() const {
    absl::MutexLock l(&mu_);
    return state_ != nullptr;
  }

  absl::Status PutAlerts(std::vector<Alert> alerts) { return store_->Put(std::move(alerts)); }

  std::vector<AlertView> Alerts() const {
    std::shared_ptr<State> st = Current();
    std::vector<AlertView> out;
    for (Alert& a : store_->List()) {
      AlertView v;
      const uint64_t fp = a.fingerprint();
      if (st) {
        // As Alertmanager's API: mute status evaluated now, recorded in the marker.
        st->silencer->Mutes(a.labels);
        st->inhibitor->Mutes(a.labels);
        std::set<std::string> seen;
        for (const RouteNode* n : st->root->Match(a.labels)) {
          if (seen.insert(n->opts().receiver).second) v.receivers.push_back(n->opts().receiver);
        }
      }
      v.status = marker_.Status(fp);
      v.alert = std::move(a);
      out.push_back(std::move(v));
    }
    return out;
  }

  std::vector<Dispatcher::GroupInfo> Groups() const {
    std::shared_ptr<State> st = Current();
    if (!st) return {};
    return st->dispatcher->Groups();
  }

  Silences& silences() { return *silences_; }

  std::string ConfigYaml() const {
    std::shared_ptr<State> st = Current();
    return st ? MaskedYaml(st->config) : std::string();
  }

  std::vector<std::string> Receivers() const {
    std::shared_ptr<State> st = Current();
    std::vector<std::string> out;
    if (st) {
      for (const Receiver& r : st->config.receivers) out.push_back(r.name);
    }
    return out;
  }

  int64_t start_time_ms() const { return start_ms_; }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(maint_mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    maint_cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    std::shared_ptr<State> st;
    {
      absl::MutexLock l(&mu_);
      st = std::move(state_);
    }
    if (st) StopState(*st);
  }

 private:
  std::shared_ptr<State> Current() const {
    absl::MutexLock l(&mu_);
    return state_;
  }

  void StopState(State& st) {
    if (st.inhibitor_subscription != 0) store_->Unsubscribe(st.inhibitor_subscription);
    st.inhibitor_subscription = 0;
    st.pipeline->Stop();     // retries and digest loop stop waiting
    st.dispatcher->Stop();   // waits for in-flight flushes
  }

  // Alertmanager's maintenance: GC of resolved alerts (30m), silences and notification log
  // (15m), inhibition sources.
  void Maintenance() {
    int64_t last_alert_gc = opts_.clock->NowMs();
    int64_t last_state_gc = last_alert_gc;
    std::unique_lock<std::mutex> l(maint_mu_);
    while (!stopped_) {
      maint_cv_.wait_for(l, std::chrono::seconds(30));
      if (stopped_) break;
      l.unlock();
      const int64_t now = opts_.clock->NowMs();
      if (now - last_alert_gc >= AlertStore::kDefaultGcIntervalMs) {
        store_->GC();
        if (std::shared_ptr<State> st = Current()) st->inhibitor->GC();
        last_alert_gc = now;
      }
      if (now - last_state_gc >= 15 * 60 * 1000) {
        if (auto s = silences_->GC(); !s.ok()) {
          log_->error("msg=\"silence GC failed\" err=\"{}\"", s.status().message());
        }
        if (auto s = nflog_->GC(); !s.ok()) {
          log_->error("msg=\"notification log GC failed\" err=\"{}\"", s.status().message());
        }
        last_state_gc = now;
      }
      l.lock();
    }
  }

  RouterOptions opts_;
  LoggerPtr log_;
  int64_t start_ms_ = 0;
  std::unique_ptr<StateStore> state_store_;
  Marker marker_;
  std::unique_ptr<Silences> silences_;
  std::unique_ptr<Nflog> nflog_;
  std::unique_ptr<AlertStore> store_;

  absl::Mutex reload_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<State> state_ ABSL_GUARDED_BY(mu_);

  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool stopped_ = false;
  std::thread maintenance_;
};

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

absl::StatusOr<std::unique_ptr<Router>> Router::Open(RouterOptions opts) {
  if (opts.clock == nullptr) opts.clock = SystemClock::Get();
  auto impl = std::make_unique<Impl>(std::move(opts));
  PHAROS_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

absl::Status Router::ApplyConfig(const Config& cfg, std::string_view base_dir) {
  return impl_->ApplyConfig(cfg, base_dir);
}
bool Router::configured() const { return impl_->configured(); }
absl::Status Router::PutAlerts(std::vector<Alert> alerts) {
  return impl_->PutAlerts(std::move(alerts));
}
std::vector<AlertView> Router::Alerts() const { return impl_->Alerts(); }
std::vector<Dispatcher::GroupInfo> Router::Groups() const { return impl_->Groups(); }
Silences& Router::silences() { return impl_->silences(); }
std::string Router::ConfigYaml() const { return impl_->ConfigYaml(); }
std::vector<std::string> Router::Receivers() const { return impl_->Receivers(); }
int64_t Router::start_time_ms() const { return impl_->start_time_ms(); }
void Router::Stop() { impl_->Stop(); }

}  // namespace pharos::alerting::am
