#pragma once

// Alertmanager's template.Data: what notification templates see as `.` and what the webhook
// payload carries.
//
//   .Receiver .Status .Alerts (.Firing .Resolved) .GroupLabels .CommonLabels
//   .CommonAnnotations .ExternalURL
//   each alert: .Status .Labels .Annotations .StartsAt .EndsAt .GeneratorURL .Fingerprint
//   label/annotation maps (KV): .SortedPairs (list of .Name/.Value) .Names .Values .Remove

#include <cstdint>
#include <string>
#include <vector>

#include "alerting/am/types.h"
#include "alerting/notify/notifier.h"
#include "alerting/template/template.h"

namespace pharos::alerting::notify {

struct AlertData {
  std::string status;  // "firing" or "resolved"
  am::LabelSet labels, annotations;
  int64_t starts_at_ms = 0;
  // As Alertmanager shows it (types.Alerts): the end time only once resolved, else 0 (Go's
  // zero time, "0001-01-01T00:00:00Z").
  int64_t ends_at_ms = 0;
  std::string generator_url;
  std::string fingerprint;  // 16 hex digits
};

struct TemplateData {
  std::string receiver;
  std::string status;  // "firing" if any alert is firing, else "resolved"
  std::vector<AlertData> alerts;
  am::LabelSet group_labels, common_labels, common_annotations;
  std::string external_url;
};

// Alerts' status is taken at ctx.now_ms. Common labels/annotations are those every alert has
// with the same value.
TemplateData MakeTemplateData(const NotificationContext& ctx, const std::vector<am::Alert>& alerts);

// The template value of the data (Go field and method names).
tmpl::Value ToTemplateValue(const TemplateData& data);
// A KV map (labels or annotations) with its methods.
tmpl::Value KVValue(const am::LabelSet& kv);

}  // namespace pharos::alerting::notify
