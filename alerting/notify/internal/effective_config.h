#pragma once

// A receiver's integration configs with the global defaults applied, as Alertmanager's config
// loading does; shared by BuildIntegrations and the template loader (which must register the
// same template strings the integrations will render).

#include <string>
#include <vector>

#include "alerting/am/config.h"

namespace pharos::alerting::notify::internal {

// Alertmanager's default Slack colour, replaced by Pharos's severity-aware one.
inline constexpr char kAlertmanagerSlackColor[] =
    "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}";
inline constexpr char kPharosSlackColor[] = "{{ template \"slack.default.color\" . }}";
inline constexpr char kPharosPagerDutySeverity[] = "{{ template \"pagerduty.default.severity\" . }}";
inline constexpr char kPharosEmailText[] = "{{ template \"email.default.text\" . }}";
inline constexpr char kEmailSubject[] = "{{ template \"email.default.subject\" . }}";

am::Receiver ApplyDefaults(const am::Receiver& r, const am::GlobalConfig& g);

// Every string of the (defaulted) receiver that integrations render as a template: text mode
// into `text`, HTML mode into `html`.
void CollectTemplateStrings(const am::Receiver& r, std::vector<std::string>* text,
                            std::vector<std::string>* html);

bool IsDefaultHttpConfig(const am::HttpConfig& c);

}  // namespace pharos::alerting::notify::internal
