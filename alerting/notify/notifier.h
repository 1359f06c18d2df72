#pragma once

// One integration of a receiver (a PagerDuty service, a Slack webhook, an email address, a
// webhook URL): renders the notification for a group of alerts and sends it once. Retries,
// deduplication against the notification log and timeouts are the pipeline's job
// (alerting/am/pipeline); an integration says whether a failure is worth retrying.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "alerting/am/types.h"

namespace pharos::alerting::tmpl {
class Template;
}

namespace pharos::alerting::notify {

struct NotificationContext {
  std::string receiver;     // receiver name
  std::string group_key;    // Alertmanager's group key: route key + ":" + group labels
  am::LabelSet group_labels;
  std::string external_url; // the router's external URL (links in messages)
  int64_t now_ms = 0;
  int64_t timeout_ms = 10000;  // per attempt
  // Templates: Alertmanager's defaults (default.tmpl equivalents) plus the config's files.
  // notify::LoadNotificationTemplates (default_templates.h) builds both sets: `templates`
  // executes with text/template semantics, `html_templates` with html/template escaping (email
  // HTML bodies; falls back to `templates` when null).
  const tmpl::Template* templates = nullptr;
  const tmpl::Template* html_templates = nullptr;
};

struct NotifyResult {
  absl::Status status;  // OK: delivered
  bool retry = false;   // worth retrying (timeouts, 5xx, 429); 4xx and bad config are not
};

class Integration {
 public:
  virtual ~Integration() = default;
  // "webhook", "pagerduty", "slack", "email".
  virtual std::string type() const = 0;
  // Position among the receiver's integrations of this type (notification-log key).
  virtual int index() const = 0;
  virtual bool send_resolved() const = 0;
  // `alerts` holds firing and resolved alerts of the group (resolved ones only if
  // send_resolved, already filtered by the caller). Blocking; honours ctx.timeout_ms.
  virtual NotifyResult Notify(const NotificationContext& ctx,
                              const std::vector<am::Alert>& alerts) = 0;
};

}  // namespace pharos::alerting::notify
