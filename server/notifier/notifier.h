#pragma once

// Sends the alerts Pharos's rules fire to the external Alertmanagers listed under
// `alerting.alertmanagers`, as Prometheus's notifier does: external labels added, then
// `alert_relabel_configs` applied; a bounded queue (oldest alerts dropped when full); batches
// of at most 64 alerts POSTed as JSON to every Alertmanager's `/api/v2/alerts` concurrently; a
// batch counts as sent when at least one Alertmanager accepted it. Alertmanager targets come
// from static_configs and file_sd_configs, relabelled with `__address__`, `__scheme__` and
// `__alerts_path__`.
//
// The HTTP POST is injected (production: libcurl via alerting/notify/http_client) so the queue
// and batching logic is tested without a network.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/types.h"
#include "common/logging.h"
#include "server/config/config.h"

namespace pharos {
class Registry;
}

namespace pharos::notifier {

// POSTs `body` (JSON) to `url`; returns the HTTP status, or an error when no response came.
using PostFn = std::function<absl::StatusOr<int>(
    const std::string& url, const std::string& body, const config::HttpClientConfig& http,
    int64_t timeout_ms)>;

struct Options {
  size_t queue_capacity = 10000;  // --alertmanager.notification-queue-capacity
  size_t max_batch = 64;
};

struct AlertmanagerTarget {
  std::string url;  // scheme://address/alerts_path
};

class Notifier {
 public:
  Notifier(Options opts, PostFn post, Registry& registry, LogFactory& logs);
  ~Notifier();  // stops the sender thread; queued alerts are dropped (counted)

  // Applies a new config (external labels, alert_relabel_configs, alertmanagers). On error
  // (a bad relabel rule) the old config stays in force.
  absl::Status ApplyConfig(const config::Config& cfg);

  // External labels, relabelling, then queued. Never blocks on the network.
  void Send(std::vector<alerting::am::Alert> alerts);

  std::vector<AlertmanagerTarget> Active() const;
  std::vector<AlertmanagerTarget> Dropped() const;
  size_t QueueLength() const;

  // Waits until the queue is empty and no batch is in flight, or `timeout_ms` passes.
  bool Drain(int64_t timeout_ms);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::notifier
