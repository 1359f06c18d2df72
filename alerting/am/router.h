#pragma once

// Pharos's built-in Alertmanager: the composition of the alert store, routing tree,
// dispatcher, inhibitor, silences, time intervals, notification log, pipeline and receivers,
// with config reload. The server's API handlers and the rule evaluator talk to this class only.
//
//   auto router = Router::Open({.data_dir = "data/alerting", .clock = SystemClock::Get(), ...});
//   (*router)->ApplyConfig(cfg, "/etc/pharos");   // on start and on every reload
//   (*router)->PutAlerts(alerts);                  // POST /api/v2/alerts, Pharos's rules
//
// State that survives restarts (silences, notification log, digest buffers) lives in a
// StateStore under `data_dir`; alerts themselves are re-sent by their sources (Prometheus
// re-sends every minute, Pharos's rules on every evaluation) as in Alertmanager.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/silences.h"
#include "alerting/am/types.h"
#include "common/logging.h"

namespace pharos {
class Registry;
}

namespace pharos::alerting {
class Clock;
}

namespace pharos::alerting::am {

struct RouterOptions {
  std::string data_dir;            // required: the StateStore directory
  const Clock* clock = nullptr;    // required
  Registry* registry = nullptr;    // optional: pharos_alertmanager_* metrics
  LogFactory* logs = nullptr;      // optional
  std::string external_url;        // links in notifications (.ExternalURL)
  int64_t data_retention_ms = 120LL * 3600 * 1000;  // silences and nflog kept after expiry
  int64_t notify_timeout_ms = 10000;                // per attempt
};

// An alert as GET /api/v2/alerts shows it.
struct AlertView {
  Alert alert;
  AlertStatus status;
  std::vector<std::string> receivers;
};

class Router {
 public:
  static absl::StatusOr<std::unique_ptr<Router>> Open(RouterOptions opts);
  ~Router();  // Stop()

  // Builds templates, receivers, routing tree, inhibitor and pipeline from `cfg` and swaps
  // them in; alerts, silences and the notification log are kept. On error nothing changes.
  // `base_dir` resolves relative template paths.
  absl::Status ApplyConfig(const Config& cfg, std::string_view base_dir);
  bool configured() const;

  // Validated alerts are stored (and routed); invalid ones are reported in the error while the
  // valid ones are kept (Alertmanager's POST /api/v2/alerts behaviour).
  absl::Status PutAlerts(std::vector<Alert> alerts);

  // Alerts with their current status (silenced / inhibited evaluated now) and receivers.
  std::vector<AlertView> Alerts() const;
  std::vector<Dispatcher::GroupInfo> Groups() const;
  Silences& silences();
  // The config as loaded, secrets masked; and the receiver names.
  std::string ConfigYaml() const;
  std::vector<std::string> Receivers() const;
  int64_t start_time_ms() const;

  // Stops dispatching and notification (in-flight sends are aborted at their next retry).
  void Stop();

 private:
  struct State;
  class Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::alerting::am
