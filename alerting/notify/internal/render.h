#pragma once

// Renders an integration's config strings with the notification's template data, collecting
// the first error (Alertmanager's notify.TmplText style: render everything, check once).

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "alerting/notify/notifier.h"
#include "alerting/template/template.h"

namespace pharos::alerting::notify::internal {

class Renderer {
 public:
  Renderer(const NotificationContext& ctx, tmpl::Value data)
      : ctx_(ctx), data_(std::move(data)) {}
  std::string Text(std::string_view text) { return Render(text, false); }
  std::string Html(std::string_view text) { return Render(text, true); }
  const absl::Status& status() const { return status_; }
  const tmpl::Value& data() const { return data_; }

 private:
  std::string Render(std::string_view text, bool html);
  const NotificationContext& ctx_;
  tmpl::Value data_;
  absl::Status status_;
};

}  // namespace pharos::alerting::notify::internal
