#pragma once

// Pharos's default notification templates and the loader of a router config's templates.
//
// The defaults define the template names of Alertmanager's default.tmpl (`__subject`,
// `__description`, `__text_alert_list`, `slack.default.title`, `pagerduty.default.description`,
// `email.default.subject`, `email.default.html`, ...) so configs that refer to them work, with
// Pharos's own content; plus `slack.default.color`, `pagerduty.default.severity` and
// `email.default.text`.
//
// Integrations render config strings such as `{{ template "slack.default.title" . }}` against
// the set. The engine executes named templates of a parsed set only, so the loader also parses
// every such string of the config into the set under a name derived from its text
// (InlineTemplateName); integrations execute that name. A string without actions renders as
// itself and needs no registration.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"
#include "alerting/template/template.h"

namespace pharos::alerting::notify {

// The text of the default templates (one .tmpl file of {{ define }}s).
std::string_view DefaultTemplatesText();

struct NotificationTemplates {
  std::unique_ptr<tmpl::Template> text;  // text/template semantics
  std::unique_ptr<tmpl::Template> html;  // html/template escaping (email HTML bodies)
};

// The defaults, then the files matching `globs` (relative paths are taken from `base_dir`;
// Alertmanager's `templates:`), then `inline_texts` and `inline_html` (config strings) into the
// text and HTML sets. Errors name the file: "template file /x/y.tmpl: template: ...:3:5: ...".
// A glob matching nothing is not an error (as in Alertmanager).
absl::StatusOr<NotificationTemplates> LoadTemplates(
    const std::vector<std::string>& globs, std::string_view base_dir,
    const std::vector<std::string>& inline_texts = {},
    const std::vector<std::string>& inline_html = {});

// LoadTemplates for a router config: its `templates` plus every template string of its
// receivers (global defaults applied as BuildIntegrations applies them).
absl::StatusOr<NotificationTemplates> LoadNotificationTemplates(const am::Config& config,
                                                                std::string_view base_dir);

// The name an inline template string is registered under ("__pharos_inline_" + hash).
std::string InlineTemplateName(std::string_view text);
// Whether `text` contains template actions (else it renders as itself).
bool HasTemplateActions(std::string_view text);

}  // namespace pharos::alerting::notify
