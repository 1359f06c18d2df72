#include "server/app.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "alerting/am/router.h"
#include "alerting/clock.h"
#include "alerting/notify/http_client.h"
#include "alerting/rules/manager.h"
#include "alerting/rules/rulefmt.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/signal_set.hpp"
#include "common/json.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/units.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "query/engine/engine.h"
#include "server/api/alertmanager_api.h"
#include "server/api/api_util.h"
#include "server/api/query_api.h"
#include "server/api/read_api.h"
#include "server/api/rules_api.h"
#include "server/api/status_api.h"
#include "server/api/targets_api.h"
#include "server/api/write_api.h"
#include "server/build_info.h"
#include "server/config/config.h"
#include "server/config/default_rules.h"
#include "server/http/server.h"
#include "server/notifier/notifier.h"
#include "server/process_metrics.h"
#include "server/scrape/manager.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos {

namespace {

using http::Method;
using http::Request;
using http::Response;

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// host:port this server can be reached at from the same machine, for the self-scrape target.
std::string SelfTarget(const std::string& listen_address, int port) {
  std::string host = listen_address.substr(0, listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "localhost";
  return absl::StrCat(host, ":", port);
}

promql::EngineOptions EngineOptionsFromFlags(const Flags& f) {
  promql::EngineOptions o;
  o.timeout_ms = f.query_timeout_ms;
  o.max_samples = f.query_max_samples;
  o.lookback_delta_ms = f.query_lookback_delta_ms;
  std::string_view rest = f.enable_features;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view feature = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (feature == "promql-experimental-functions") o.enable_experimental_functions = true;
    if (feature == "promql-delayed-name-removal") o.enable_delayed_name_removal = true;
  }
  return o;
}

class App {
 public:
  explicit App(const Flags& flags)
      : flags_(flags),
        logs_(ParseLogLevel(flags.log_level).value_or(LogLevel::kInfo),
              ParseLogFormat(flags.log_format).value_or(LogFormat::kLogfmt)),
        log_(logs_.Get("main")),
        reload_ok_(registry_.AddGauge("pharos_config_last_reload_successful",
                                      "Whether the last configuration reload attempt was "
                                      "successful.").Get()),
        reload_time_(registry_.AddGauge("pharos_config_last_reload_success_timestamp_seconds",
                                        "Timestamp of the last successful configuration "
                                        "reload.").Get()),
        ready_gauge_(registry_.AddGauge("pharos_ready",
                                        "Whether Pharos has finished starting up and serves "
                                        "queries (1) or not (0).").Get()),
        engine_(EngineOptionsFromFlags(flags)) {
    const BuildInfo& b = GetBuildInfo();
    registry_.AddGauge("pharos_build_info",
                       "A metric with a constant '1' value labeled by version, revision, branch "
                       "and compiler from which Pharos was built.",
                       {"version", "revision", "branch", "compiler"})
        .WithLabels({b.version, b.revision, b.branch, b.compiler})
        .Set(1);
    RegisterProcessMetrics(registry_);
  }

  int Run() {
    const BuildInfo& b = GetBuildInfo();
    log_->info("msg=\"starting Pharos\" version={} revision={} branch={}", b.version,
               b.revision, b.branch);
    // Signals first: a SIGHUP or SIGTERM during startup must not kill the process. They are
    // acted on once the main loop runs, after storage recovery.
    boost::asio::signal_set signals(main_ctx_, SIGINT, SIGTERM, SIGHUP);
    WaitSignal(signals);
    BuildRoutes();

    http::ServerOptions opts;
    opts.listen_address = flags_.listen_address;
    opts.io_threads = flags_.io_threads;
    opts.max_request_bytes = static_cast<uint64_t>(flags_.max_request_bytes);
    opts.read_timeout = std::chrono::milliseconds(flags_.read_timeout_ms);
    opts.query_threads = flags_.query_max_concurrency;
    opts.registry = &registry_;
    opts.log = logs_.Get("http");
    auto server = http::Server::Start(opts, &router_);
    if (!server.ok()) {
      log_->error("msg=\"cannot start HTTP server\" err={}", server.status().message());
      return 1;
    }
    server_ = std::move(*server);
    self_target_ = SelfTarget(flags_.listen_address, server_->port());
    log_->info("msg=\"listening\" address={} port={}", flags_.listen_address, server_->port());

    // Config: a bad config at startup is fatal, as in Prometheus.
    if (absl::Status s = Reload(); !s.ok()) {
      log_->error("msg=\"error loading config\" err={}", s.message());
      server_->Stop();
      return 1;
    }

    // Storage recovery (WAL replay); until it has finished, /-/ready and the storage-backed
    // endpoints answer 503.
    if (absl::Status s = OpenStorage(); !s.ok()) {
      log_->error("msg=\"opening storage failed\" err={}", Quoted(s.message()));
      server_->Stop();
      return 1;
    }
    if (absl::Status s = StartScraping(); !s.ok()) {
      log_->error("msg=\"starting the scrape manager failed\" err={}", Quoted(s.message()));
      server_->Stop();
      return 1;
    }
    if (absl::Status s = StartAlertmanager(); !s.ok()) {
      log_->error("msg=\"starting the alertmanager failed\" err={}", Quoted(s.message()));
      server_->Stop();
      return 1;
    }
    if (absl::Status s = StartRules(); !s.ok()) {
      log_->error("msg=\"starting the rule manager failed\" err={}", Quoted(s.message()));
      server_->Stop();
      return 1;
    }
    ready_ = true;
    ready_gauge_.Set(1);
    log_->info("msg=\"server is ready to receive web requests\"");

    main_ctx_.run();

    log_->info("msg=\"shutting down\"");
    ready_ = false;
    if (scrape_) {
      // Before storage closes: no appends after this returns.
      scrape_ready_.store(nullptr, std::memory_order_release);
      scrape_->Stop();
      log_->info("msg=\"scrape manager stopped\"");
    }
    if (rules_) {
      // Before storage closes: no rule evaluation or ALERTS append after this returns.
      rules_ready_.store(nullptr, std::memory_order_release);
      rules_->Stop();
      log_->info("msg=\"rule manager stopped\"");
    }
    if (am_) {
      // Retries stop; the notification log keeps what was sent, so nothing is sent twice.
      am_ready_.store(nullptr, std::memory_order_release);
      am_->Stop();
      log_->info("msg=\"alertmanager stopped\"");
    }
    notifier_.reset();
    server_->Stop();
    if (db_) {
      if (absl::Status s = db_->Close(); !s.ok()) {
        log_->error("msg=\"closing storage failed\" err={}", Quoted(s.message()));
        return 1;
      }
      log_->info("msg=\"storage closed\"");
    }
    log_->info("msg=\"see you next time!\"");
    return 0;
  }

 private:
  void WaitSignal(boost::asio::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        if (absl::Status s = Reload(); !s.ok()) {
          log_->error("msg=\"error reloading config\" err={}", s.message());
        }
        WaitSignal(signals);
        return;
      }
      log_->info("msg=\"received signal, exiting gracefully\" signal={}",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
      main_ctx_.stop();
    });
  }

  absl::Status OpenStorage() {
    std::shared_ptr<const config::Config> cfg;
    {
      absl::MutexLock cl(&config_mu_);
      cfg = config_;
    }
    storage::DBOptions o;
    // Explicit flags win over the config file, which wins over flag defaults.
    o.path = flags_.storage_path;
    if (!flags_.IsSet("storage.path") && !cfg->storage.path.empty()) o.path = cfg->storage.path;
    db_path_ = o.path;
    o.retention_ms = flags_.retention_time_ms;
    if (!flags_.IsSet("storage.retention.time") && cfg->storage.retention_time_ms > 0) {
      o.retention_ms = cfg->storage.retention_time_ms;
    }
    o.retention_bytes = flags_.retention_size_bytes;
    if (!flags_.IsSet("storage.retention.size") && cfg->storage.retention_size_bytes > 0) {
      o.retention_bytes = cfg->storage.retention_size_bytes;
    }
    if (flags_.wal_sync == "always") {
      o.wal_sync = storage::WalSync::kAlways;
    } else if (flags_.wal_sync != "batch") {
      return absl::InvalidArgumentError(
          absl::StrCat("--storage.wal-sync: expected batch or always, got \"", flags_.wal_sync, "\""));
    }
    retention_ms_ = o.retention_ms;
    o.registry = &registry_;
    o.log = logs_.Get("storage");
    auto db = storage::DB::Open(std::move(o));
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    // The storage-backed routes were registered before the server started; from here on
    // they find the DB (during recovery they answered 503).
    db_ready_.store(db_.get(), std::memory_order_release);
    return absl::OkStatus();
  }

  // Creates the scrape manager once storage is open and applies the current config to it.
  absl::Status StartScraping() {
    absl::MutexLock lock(&reload_mu_);
    scrape::ScrapeManagerOptions so;
    so.appendable = db_.get();
    so.log = logs_.Get("scrape");
    so.registry = &registry_;
    so.user_agent = absl::StrCat("Pharos/", GetBuildInfo().version);
    auto m = scrape::ScrapeManager::Create(std::move(so));
    if (!m.ok()) return m.status();
    std::shared_ptr<const config::Config> cfg;
    {
      absl::MutexLock cl(&config_mu_);
      cfg = config_;
    }
    PHAROS_RETURN_IF_ERROR((*m)->ApplyConfig(*cfg));
    scrape_ = std::move(*m);
    scrape_ready_.store(scrape_.get(), std::memory_order_release);
    return absl::OkStatus();
  }

  // The rule files of `cfg`, loaded and validated: the embedded default rules with the
  // embedded default config, else `rule_files` globbed relative to the config file's directory.
  absl::StatusOr<alerting::rules::RulesConfig> LoadRules(const config::Config& cfg) {
    alerting::rules::RulesConfig rc;
    rc.default_interval_ms = cfg.global.evaluation_interval_ms;
    rc.external_labels = cfg.global.external_labels;
    if (flags_.config_file.empty()) {
      for (const auto& [name, text] : config::DefaultRuleFiles()) {
        PHAROS_ASSIGN_OR_RETURN(alerting::rules::RuleFile f,
                                alerting::rules::ParseRuleFile(text, name));
        rc.files.push_back(std::move(f));
      }
    }
    std::string dir = std::filesystem::path(flags_.config_file).parent_path().string();
    PHAROS_ASSIGN_OR_RETURN(std::vector<alerting::rules::RuleFile> files,
                            alerting::rules::LoadRuleFiles(cfg.rule_files, dir));
    for (auto& f : files) rc.files.push_back(std::move(f));
    return rc;
  }

  // Prometheus's default external URL: http://<hostname>:<port>.
  std::string ExternalUrl() const {
    if (!flags_.external_url.empty()) return flags_.external_url;
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0) std::snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    return absl::StrCat("http://", host, ":", server_ ? server_->port() : 9090);
  }

  // The sink of the alerts Pharos's rules fire (firing, re-sent, and resolved), shaped as
  // Prometheus's notifier sends them: to the built-in router, and to the external
  // Alertmanagers of `alerting.alertmanagers`.
  void OnAlerts(std::vector<alerting::am::Alert> alerts) {
    if (rules_log_->should_log(spdlog::level::debug)) {
      for (const auto& a : alerts) {
        rules_log_->debug("msg=\"alert to send\" alert={} fingerprint={} resolved={}",
                          Quoted(a.Name()), alerting::am::FingerprintHex(a.fingerprint()),
                          a.ends_at_ms != 0 &&
                              a.ends_at_ms <= static_cast<int64_t>(NowSeconds() * 1000));
      }
    }
    if (notifier_) notifier_->Send(alerts);
    if (alerting::am::Router* r = am_ready_.load(std::memory_order_acquire)) {
      if (absl::Status s = r->PutAlerts(std::move(alerts)); !s.ok()) {
        rules_log_->error("msg=\"built-in alertmanager rejected alerts\" err={}",
                          Quoted(s.message()));
      }
    }
  }

  // The built-in router's config: the config's `alertmanager` section, else one receiver that
  // sends nowhere (alerts are still kept and shown by /api/v2/alerts).
  static absl::StatusOr<alerting::am::Config> RouterConfig(const config::Config& cfg) {
    if (cfg.alertmanager.config) return *cfg.alertmanager.config;
    return alerting::am::ParseConfig("route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n",
                                     "<default alertmanager config>");
  }

  std::string ConfigDir() const {
    return std::filesystem::path(flags_.config_file).parent_path().string();
  }

  // Opens the built-in Alertmanager (state under <storage.path>/alerting) with the current
  // config, once storage is open.
  absl::Status StartAlertmanager() {
    absl::MutexLock lock(&reload_mu_);
    std::shared_ptr<const config::Config> cfg;
    {
      absl::MutexLock cl(&config_mu_);
      cfg = config_;
    }
    alerting::am::RouterOptions ro;
    ro.data_dir = (std::filesystem::path(db_path_) / "alerting").string();
    ro.clock = alerting::SystemClock::Get();
    ro.registry = &registry_;
    ro.logs = &logs_;
    ro.external_url = ExternalUrl();
    PHAROS_ASSIGN_OR_RETURN(auto r, alerting::am::Router::Open(std::move(ro)));
    PHAROS_ASSIGN_OR_RETURN(alerting::am::Config amc, RouterConfig(*cfg));
    PHAROS_RETURN_IF_ERROR(r->ApplyConfig(amc, ConfigDir()));
    am_ = std::move(r);
    am_ready_.store(am_.get(), std::memory_order_release);
    return absl::OkStatus();
  }

  // POST for the external-Alertmanager notifier, over the receivers' libcurl client.
  static absl::StatusOr<int> PostToAlertmanager(const std::string& url, const std::string& body,
                                                const config::HttpClientConfig& http,
                                                int64_t timeout_ms) {
    alerting::am::HttpConfig hc;
    if (http.basic_auth) {
      hc.basic_auth_username = http.basic_auth->username;
      hc.basic_auth_password = http.basic_auth->password;
      hc.basic_auth_password_file = http.basic_auth->password_file;
    }
    if (http.authorization) {
      hc.authorization_type = http.authorization->type;
      hc.authorization_credentials = http.authorization->credentials;
      hc.authorization_credentials_file = http.authorization->credentials_file;
    }
    hc.tls_ca_file = http.tls_config.ca_file;
    hc.tls_cert_file = http.tls_config.cert_file;
    hc.tls_key_file = http.tls_config.key_file;
    hc.tls_server_name = http.tls_config.server_name;
    hc.tls_insecure_skip_verify = http.tls_config.insecure_skip_verify;
    hc.follow_redirects = http.follow_redirects;
    alerting::notify::HttpRequest req;
    req.url = url;
    req.body = body;
    req.timeout_ms = timeout_ms;
    PHAROS_ASSIGN_OR_RETURN(alerting::notify::HttpResponse resp,
                            alerting::notify::HttpPost(req, hc));
    return resp.status;
  }

  // Creates the rule manager once storage is open and loads the current config's rules.
  absl::Status StartRules() {
    absl::MutexLock lock(&reload_mu_);
    alerting::rules::ManagerOptions ro;
    ro.query = alerting::rules::EngineQueryFunc(&engine_, db_.get());
    ro.appendable = db_.get();
    ro.queryable = db_.get();
    ro.notify = [this](std::vector<alerting::am::Alert> alerts) { OnAlerts(std::move(alerts)); };
    ro.external_url = ExternalUrl();
    ro.resend_delay_ms = flags_.rules_resend_delay_ms;
    ro.outage_tolerance_ms = flags_.rules_for_outage_tolerance_ms;
    ro.for_grace_period_ms = flags_.rules_for_grace_period_ms;
    ro.registry = &registry_;
    ro.log = rules_log_;
    PHAROS_ASSIGN_OR_RETURN(auto m, alerting::rules::Manager::Create(std::move(ro)));
    std::shared_ptr<const config::Config> cfg;
    {
      absl::MutexLock cl(&config_mu_);
      cfg = config_;
    }
    PHAROS_ASSIGN_OR_RETURN(alerting::rules::RulesConfig rc, LoadRules(*cfg));
    PHAROS_RETURN_IF_ERROR(m->Update(rc));
    rules_ = std::move(m);
    rules_ready_.store(rules_.get(), std::memory_order_release);
    return absl::OkStatus();
  }

  absl::Status Reload() {
    absl::MutexLock lock(&reload_mu_);
    absl::StatusOr<config::Config> c =
        flags_.config_file.empty()
            ? config::ParseConfig(config::DefaultConfigText(self_target_), "<default config>")
            : config::LoadConfigFile(flags_.config_file);
    if (!c.ok()) {
      reload_ok_.Set(0);
      return c.status();
    }
    // Components apply the new config here (scrape manager, rules, router) as they land; each
    // validates before anything is swapped, so a failure leaves the old config running.
    // Before storage is open the scrape manager does not exist yet; StartScraping applies
    // the config then. Rule files are loaded and validated first: a bad rule file fails the
    // reload like a bad config does, before anything is applied.
    absl::StatusOr<alerting::rules::RulesConfig> rules = LoadRules(*c);
    if (!rules.ok()) {
      reload_ok_.Set(0);
      return rules.status();
    }
    // The router first: it validates everything (templates, receivers) before swapping, so
    // a bad alertmanager config fails the reload before anything else changed.
    if (am_) {
      absl::StatusOr<alerting::am::Config> amc = RouterConfig(*c);
      absl::Status s = amc.ok() ? am_->ApplyConfig(*amc, ConfigDir()) : amc.status();
      if (!s.ok()) {
        reload_ok_.Set(0);
        return s;
      }
    }
    if (absl::Status s = notifier_->ApplyConfig(*c); !s.ok()) {
      reload_ok_.Set(0);
      return s;
    }
    if (scrape_) {
      if (absl::Status s = scrape_->ApplyConfig(*c); !s.ok()) {
        reload_ok_.Set(0);
        return s;
      }
    }
    if (rules_) {
      if (absl::Status s = rules_->Update(*rules); !s.ok()) {
        reload_ok_.Set(0);
        return s;
      }
    }
    {
      absl::MutexLock cl(&config_mu_);
      config_ = std::make_shared<const config::Config>(std::move(*c));
    }
    reload_ok_.Set(1);
    reload_time_.Set(NowSeconds());
    log_->info("msg=\"completed loading of configuration file\" filename=\"{}\"",
               flags_.config_file.empty() ? "<default config>" : flags_.config_file);
    return absl::OkStatus();
  }

  void BuildRoutes() {
    auto db = [this] { return db_ready_.load(std::memory_order_acquire); };
    api::ReadApiOptions ro;
    ro.db = db;
    ro.log = logs_.Get("api");
    api::RegisterReadApi(router_, ro);
    api::WriteApiOptions wo;
    wo.storage = [db]() -> storage::Appendable* { return db(); };
    wo.registry = &registry_;
    wo.log = logs_.Get("remote_write");
    api::RegisterWriteApi(router_, wo);
    api::QueryApiOptions qo;
    qo.engine = &engine_;
    qo.storage = [db]() -> storage::Queryable* { return db(); };
    qo.registry = &registry_;
    qo.log = logs_.Get("query");
    qo.now_ms = [] { return static_cast<int64_t>(NowSeconds() * 1000); };
    api::RegisterQueryApi(router_, qo);
    api::StatusApiOptions so;
    so.config_yaml = [this] {
      absl::MutexLock cl(&config_mu_);
      return config_ ? config_->text : std::string();
    };
    so.runtime_info = [this] {
      api::RuntimeInfo ri;
      ri.start_time_ms = start_time_ms_;
      char cwd[4096];
      if (getcwd(cwd, sizeof cwd)) ri.cwd = cwd;
      ri.reload_config_success = reload_ok_.Value() == 1;
      ri.last_config_time_ms = static_cast<int64_t>(reload_time_.Value() * 1000);
      ri.storage_retention = FormatDurationMs(retention_ms_.load());
      return ri;
    };
    so.storage_ready = [this] { return ready_.load(); };
    api::RegisterStatusApi(router_, so);
    api::AlertmanagerApiOptions amo;
    amo.router = [this] { return am_ready_.load(std::memory_order_acquire); };
    api::RegisterAlertmanagerApi(router_, amo);
    router_.Handle("/api/v1/alertmanagers", {Method::kGet}, [this](const Request&) {
      // Prometheus's shape: the external Alertmanagers alerts are sent to.
      JsonWriter w;
      w.BeginObject();
      for (bool active : {true, false}) {
        w.Key(active ? "activeAlertmanagers" : "droppedAlertmanagers");
        w.BeginArray();
        for (const auto& t : active ? notifier_->Active() : notifier_->Dropped()) {
          w.BeginObject();
          w.KV("url", t.url);
          w.EndObject();
        }
        w.EndArray();
      }
      w.EndObject();
      return api::SuccessResponse(w.str());
    });
    api::RulesApiOptions rao;
    rao.manager = [this] { return rules_ready_.load(std::memory_order_acquire); };
    rao.log = logs_.Get("api");
    api::RegisterRulesApi(router_, rao);
    api::TargetsApiOptions to;
    to.manager = [this] { return scrape_ready_.load(std::memory_order_acquire); };
    to.log = logs_.Get("api");
    api::RegisterTargetsApi(router_, to);

    router_.Handle("/-/healthy", {Method::kGet, Method::kHead}, [](const Request&) {
      return Response::Text(200, "Pharos is Healthy.\n");
    });
    router_.Handle("/-/ready", {Method::kGet, Method::kHead}, [this](const Request&) {
      if (!ready_) return Response::Text(503, "Service Unavailable\n");
      return Response::Text(200, "Pharos is Ready.\n");
    });
    auto lifecycle_disabled = [] {
      return Response::Text(403, "Lifecycle API is not enabled.\n");
    };
    router_.Handle(
        "/-/reload", {Method::kPost, Method::kPut},
        [this, lifecycle_disabled](const Request&) {
          if (!flags_.enable_lifecycle) return lifecycle_disabled();
          if (absl::Status s = Reload(); !s.ok()) {
            log_->error("msg=\"error reloading config\" err={}", s.message());
            return Response::Text(500, absl::StrCat("failed to reload config: ", s.message(), "\n"));
          }
          return Response::Text(200, "");
        },
        {.blocking = true, .metric_label = ""});
    router_.Handle("/-/quit", {Method::kPost, Method::kPut},
                   [this, lifecycle_disabled](const Request&) {
                     if (!flags_.enable_lifecycle) return lifecycle_disabled();
                     boost::asio::post(main_ctx_, [this] { main_ctx_.stop(); });
                     return Response::Text(200, "Requesting termination... Goodbye!\n");
                   });
    router_.Handle("/metrics", {Method::kGet}, [this](const Request&) {
      Response r = Response::Text(200, registry_.Expose());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    });
    router_.Handle("/api/v1/status/buildinfo", {Method::kGet}, [](const Request&) {
      const BuildInfo& b = GetBuildInfo();
      JsonWriter w;
      w.BeginObject();
      w.KV("status", "success");
      w.Key("data");
      w.BeginObject();
      w.KV("version", kPrometheusCompatVersion);
      w.KV("revision", b.revision);
      w.KV("branch", b.branch);
      w.KV("buildUser", "pharos");
      w.KV("buildDate", b.build_date);
      w.KV("goVersion", b.compiler);
      w.KV("pharosVersion", b.version);
      w.EndObject();
      w.EndObject();
      return Response::Json(200, std::move(w).Take());
    });
    router_.Handle("/api/v1/status/flags", {Method::kGet}, [this](const Request&) {
      JsonWriter w;
      w.BeginObject();
      w.KV("status", "success");
      w.Key("data");
      w.BeginObject();
      for (const auto& [k, v] : flags_.AsMap()) w.KV(k, v);
      w.EndObject();
      w.EndObject();
      return Response::Json(200, std::move(w).Take());
    });
  }

  Flags flags_;
  LogFactory logs_;
  LoggerPtr log_;
  Registry registry_;
  Gauge& reload_ok_;
  Gauge& reload_time_;
  Gauge& ready_gauge_;
  promql::Engine engine_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<storage::DB> db_;
  std::atomic<storage::DB*> db_ready_{nullptr};
  std::unique_ptr<scrape::ScrapeManager> scrape_;  // set under reload_mu_
  std::atomic<scrape::ScrapeManager*> scrape_ready_{nullptr};
  LoggerPtr rules_log_ = logs_.Get("rules");
  std::unique_ptr<alerting::rules::Manager> rules_;  // set under reload_mu_
  std::atomic<alerting::rules::Manager*> rules_ready_{nullptr};
  std::unique_ptr<alerting::am::Router> am_;  // set under reload_mu_
  std::atomic<alerting::am::Router*> am_ready_{nullptr};
  std::unique_ptr<notifier::Notifier> notifier_ = std::make_unique<notifier::Notifier>(
      notifier::Options{}, &App::PostToAlertmanager, registry_, logs_);
  std::string db_path_;
  boost::asio::io_context main_ctx_;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> retention_ms_{0};
  const int64_t start_time_ms_ = static_cast<int64_t>(NowSeconds() * 1000);
  std::string self_target_;
  absl::Mutex reload_mu_;
  absl::Mutex config_mu_;
  std::shared_ptr<const config::Config> config_ ABSL_GUARDED_BY(config_mu_);
};

}  // namespace

int RunServer(const Flags& flags) {
  // Flag values were validated by ParseFlags except these two.
  if (!ParseLogLevel(flags.log_level).ok() || !ParseLogFormat(flags.log_format).ok()) {
    auto s = !ParseLogLevel(flags.log_level).ok() ? ParseLogLevel(flags.log_level).status()
                                                   : ParseLogFormat(flags.log_format).status();
    std::fprintf(stderr, "pharos: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  // Signals are handled by the main loop's signal_set; block them in every thread started
  // from here on so only that set receives them.
  App app(flags);
  return app.Run();
}

int CheckRulesCommand(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "usage: pharos check rules <file>...\n");
    return 2;
  }
  int rc = 0;
  for (const auto& f : files) {
    std::printf("Checking %s\n", f.c_str());
    auto r = alerting::rules::LoadRuleFile(f);
    if (!r.ok()) {
      std::fprintf(stderr, "  FAILED:\n%s\n", std::string(r.status().message()).c_str());
      std::printf("\n");
      rc = 1;
      continue;
    }
    std::printf("  SUCCESS: %zu rules found\n\n", r->NumRules());
  }
  return rc;
}

int CheckConfigCommand(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "usage: pharos check config <file>...\n");
    return 2;
  }
  int rc = 0;
  for (const auto& f : files) {
    auto c = config::LoadConfigFile(f);
    if (!c.ok()) {
      std::fprintf(stderr, "FAILED: %s\n", std::string(c.status().message()).c_str());
      rc = 1;
      continue;
    }
    std::printf("SUCCESS: %s is valid (%zu scrape configs, %zu rule files)\n", f.c_str(),
                c->scrape_configs.size(), c->rule_files.size());
  }
  return rc;
}

int CheckAlertmanagerConfigCommand(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "usage: pharos check alertmanager-config <file>...\n");
    return 2;
  }
  int rc = 0;
  for (const auto& f : files) {
    auto c = alerting::am::LoadConfigFile(f);
    if (!c.ok()) {
      std::fprintf(stderr, "FAILED: %s\n", std::string(c.status().message()).c_str());
      rc = 1;
      continue;
    }
    // amtool check-config's summary.
    std::printf("SUCCESS: %s is valid (%zu receivers, %zu inhibit rules, %zu templates)\n",
                f.c_str(), c->receivers.size(), c->inhibit_rules.size(), c->templates.size());
  }
  return rc;
}

}  // namespace pharos
