#include "alerting/notify/internal/render.h"

#include "absl/strings/str_cat.h"
#include "alerting/notify/default_templates.h"
#include "common/strings.h"

namespace pharos::alerting::notify::internal {

std::string Renderer::Render(std::string_view text, bool html) {
  if (!status_.ok() || text.empty()) return "";
  if (!HasTemplateActions(text)) return std::string(text);  // renders as itself
  const tmpl::Template* set = html && ctx_.html_templates != nullptr ? ctx_.html_templates
                                                                      : ctx_.templates;
  std::string name = InlineTemplateName(text);
  if (set == nullptr || !set->Has(name)) {
    status_ = absl::FailedPreconditionError(absl::StrCat(
        "template \"", Av(text),
        "\" is not loaded (load the templates from the same config as the receivers)"));
    return "";
  }
  auto out = set->Execute(data_, name);
  if (!out.ok()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("template \"", Av(text), "\": ", out.status().message()));
    return "";
  }
  return *std::move(out);
}

}  // namespace pharos::alerting::notify::internal
