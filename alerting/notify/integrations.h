#pragma once

// The receivers Pharos delivers to — webhook, PagerDuty (Events API v2), Slack (incoming
// webhook), email (SMTP) — with Alertmanager 0.25's payloads and retry classification.
//
//   auto ints = notify::BuildIntegrations(receiver, config.global);   // once per config load
//   auto tmpls = notify::LoadNotificationTemplates(config, config_dir); // same config
//   ctx.templates = tmpls->text.get(); ctx.html_templates = tmpls->html.get();
//   NotifyResult r = (*ints)[0]->Notify(ctx, alerts);

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"
#include "alerting/notify/notifier.h"

namespace pharos::alerting::notify {

// One Integration per *_config of the receiver, global defaults applied (smtp_*,
// slack_api_url, pagerduty_url, http_config). Receivers' unsupported integration types are
// not built here (see am::Receiver::unsupported). Errors: a config that can never send
// (no URL, no smarthost, email without `to`).
absl::StatusOr<std::vector<std::unique_ptr<Integration>>> BuildIntegrations(
    const am::Receiver& receiver, const am::GlobalConfig& global);

// ---- Payloads as sent, for tests and previews. Configs must have defaults applied
// (BuildIntegrations does); ctx.templates renders their template strings. ----

// Alertmanager's webhook message, version "4"; the first `max_alerts` alerts (0: all) with
// truncatedAlerts counting the rest.
std::string WebhookPayload(const NotificationContext& ctx, const std::vector<am::Alert>& alerts,
                           uint64_t max_alerts);
absl::StatusOr<std::string> PagerDutyPayload(const am::PagerDutyConfig& config,
                                             const NotificationContext& ctx,
                                             const std::vector<am::Alert>& alerts);
absl::StatusOr<std::string> SlackPayload(const am::SlackConfig& config,
                                         const NotificationContext& ctx,
                                         const std::vector<am::Alert>& alerts);
struct EmailMessage {
  std::string envelope_from;
  std::vector<std::string> recipients;
  std::vector<std::pair<std::string, std::string>> headers;  // rendered
  std::string text, html;                                    // rendered bodies
};
absl::StatusOr<EmailMessage> RenderEmail(const am::EmailConfig& config,
                                         const NotificationContext& ctx,
                                         const std::vector<am::Alert>& alerts);

// ---- Pieces of Alertmanager's behaviour, exposed for tests. ----

// notify.Key.Hash: hex SHA-256 of the group key (PagerDuty dedup_key).
std::string GroupKeyHash(std::string_view group_key);
// notify.Truncate: at most `n` runes, the last replaced by "…" when cut.
std::string TruncateRunes(std::string_view s, size_t n, bool* truncated = nullptr);
// A rendered PagerDuty severity: words mapped to critical/error/warning/info (crit, page,
// high → critical; warn → warning; information, low, none → info) and the highest kept;
// "error" when none is recognised.
std::string PagerDutySeverity(std::string_view rendered);

}  // namespace pharos::alerting::notify
