#include "alerting/notify/default_templates.h"

#include <glob.h>
#include <openssl/sha.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "alerting/notify/internal/effective_config.h"
#include "common/strings.h"

namespace pharos::alerting::notify {

namespace {

// Written for the person paged at 3am: what is broken (alert name, severity, where), what it
// means (summary, description), since when, and where to look next (source, runbook, router).
// Times are printed in UTC. Only text/template constructs Alertmanager users write are used.
constexpr std::string_view kDefaultTemplates = R"TMPL(
{{ define "__alertmanager" }}Pharos{{ end }}

{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}{{ end }}

{{/* The group's name: its alert name, else the values of its group labels. */}}
{{ define "__pharos_name" -}}
{{ with .CommonLabels.alertname }}{{ . }}{{ with $.GroupLabels.Remove (stringSlice "alertname") }} {{ .Values | join " " }}{{ end -}}
{{ else }}{{ .GroupLabels.Values | join " " }}{{ end -}}
{{ end }}

{{/* [FIRING:2] HighCPU prod (critical) on node-1:9100 */}}
{{ define "__subject" -}}
[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ template "__pharos_name" . -}}
{{ with .CommonLabels.severity }} ({{ . }}){{ end -}}
{{ with .CommonLabels.instance }} on {{ . }}{{ end -}}
{{ end }}

{{ define "__description" -}}
{{ with .CommonAnnotations.summary }}{{ . }}{{ else }}{{ with .CommonAnnotations.description }}{{ . }}{{ end }}{{ end -}}
{{ end }}

{{ define "__pharos_time" }}{{ .Format "2006-01-02 15:04:05 MST" }}{{ end }}

{{/* Dot: a list of alerts (.Alerts, .Alerts.Firing or .Alerts.Resolved). */}}
{{ define "__text_alert_list" -}}
{{ range . -}}
- {{ .Labels.alertname }}{{ with .Labels.severity }} [{{ . }}]{{ end }}{{ with .Labels.instance }} on {{ . }}{{ end }}
{{ with .Annotations.summary }}  Summary: {{ . }}
{{ end }}{{ with .Annotations.description }}  Description: {{ . }}
{{ end }}  Since: {{ template "__pharos_time" .StartsAt }}{{ if eq .Status "resolved" }}, resolved {{ template "__pharos_time" .EndsAt }}{{ end }}
  Labels:{{ range .Labels.SortedPairs }} {{ .Name }}={{ .Value }}{{ end }}
{{ with .Annotations.runbook_url }}  Runbook: {{ . }}
{{ end }}{{ with .GeneratorURL }}  Source: {{ . }}
{{ end }}{{ end -}}
{{ end }}

{{ define "__text_alert_list_markdown" -}}
{{ range . -}}
• *{{ .Labels.alertname }}*{{ with .Labels.severity }} `{{ . }}`{{ end }}{{ with .Labels.instance }} on `{{ . }}`{{ end }}
{{ with .Annotations.summary }}{{ . }}
{{ end }}{{ with .Annotations.description }}{{ . }}
{{ end }}Since {{ template "__pharos_time" .StartsAt }}{{ if eq .Status "resolved" }}, resolved {{ template "__pharos_time" .EndsAt }}{{ end }}{{ with .Annotations.runbook_url }} · <{{ . }}|Runbook>{{ end }}{{ with .GeneratorURL }} · <{{ . }}|Source>{{ end }}
{{ end -}}
{{ end }}

{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" -}}
{{ if .Alerts.Firing }}*Firing:*
{{ template "__text_alert_list_markdown" .Alerts.Firing }}{{ end -}}
{{ if .Alerts.Resolved }}*Resolved:*
{{ template "__text_alert_list_markdown" .Alerts.Resolved }}{{ end -}}
{{ end }}
{{ define "slack.default.footer" }}{{ template "__alertmanager" . }} · {{ .Receiver }}{{ end }}
{{/* Firing: red for critical (and unknown severities), yellow for warning, blue for info.
     Resolved: green. */}}
{{ define "slack.default.color" -}}
{{ if eq .Status "firing" -}}
{{ with .CommonLabels.severity }}{{ if eq . "warning" }}warning{{ else if eq . "info" }}#439FE0{{ else }}danger{{ end }}{{ else }}danger{{ end -}}
{{ else }}good{{ end -}}
{{ end }}

{{ define "pagerduty.default.description" }}{{ template "__subject" . }}{{ end }}
{{ define "pagerduty.default.client" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "pagerduty.default.clientURL" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "pagerduty.default.instances" }}{{ template "__text_alert_list" . }}{{ end }}
{{/* The severity labels of the firing alerts (all alerts when none fire); the PagerDuty
     notifier maps them to critical/error/warning/info and keeps the highest. */}}
{{ define "pagerduty.default.severity" -}}
{{ if .Alerts.Firing }}{{ range .Alerts.Firing }}{{ with .Labels.severity }}{{ . }} {{ end }}{{ end -}}
{{ else }}{{ range .Alerts }}{{ with .Labels.severity }}{{ . }} {{ end }}{{ end }}{{ end -}}
{{ end }}

{{ define "email.default.subject" }}{{ template "__subject" . }}{{ end }}
{{ define "email.default.text" -}}
{{ template "__subject" . }}
{{ if .Alerts.Firing }}
Firing ({{ .Alerts.Firing | len }}):
{{ template "__text_alert_list" .Alerts.Firing }}{{ end -}}
{{ if .Alerts.Resolved }}
Resolved ({{ .Alerts.Resolved | len }}):
{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}
-- 
Sent by {{ template "__alertmanager" . }} to receiver {{ .Receiver }}{{ if .ExternalURL }}: {{ template "__alertmanagerURL" . }}{{ end }}
{{ end }}

{{ define "__pharos_html_alert" -}}
<table width="100%" cellpadding="0" cellspacing="0" style="margin:0 0 12px;border:1px solid #dfe1e6;border-left:4px solid {{ if eq .Status "firing" }}#d04437{{ else }}#14892c{{ end }};border-radius:4px">
<tr><td style="padding:10px 12px">
<div style="font-size:15px;font-weight:600">{{ .Labels.alertname }}{{ with .Labels.severity }} <span style="font-size:12px;font-weight:normal;padding:1px 6px;border-radius:3px;background:#ebecf0">{{ . }}</span>{{ end }}</div>
{{ with .Labels.instance }}<div style="color:#6b778c">on {{ . }}</div>
{{ end }}{{ with .Annotations.summary }}<p style="margin:8px 0 0">{{ . }}</p>
{{ end }}{{ with .Annotations.description }}<p style="margin:6px 0 0;color:#42526e">{{ . }}</p>
{{ end }}<p style="margin:8px 0 0;font-size:12px;color:#6b778c">Since {{ template "__pharos_time" .StartsAt }}{{ if eq .Status "resolved" }} · resolved {{ template "__pharos_time" .EndsAt }}{{ end }}</p>
<p style="margin:6px 0 0;font-size:12px;color:#6b778c">{{ range .Labels.SortedPairs }}<code style="background:#f4f5f7;padding:0 4px">{{ .Name }}={{ .Value }}</code> {{ end }}</p>
{{ if or .GeneratorURL .Annotations.runbook_url }}<p style="margin:8px 0 0">{{ with .GeneratorURL }}<a href="{{ . }}">Source</a>{{ end }}{{ with .Annotations.runbook_url }} · <a href="{{ . }}">Runbook</a>{{ end }}</p>
{{ end }}</td></tr>
</table>
{{ end }}

{{ define "email.default.html" -}}
<!DOCTYPE html>
<html>
<head><meta charset="UTF-8"><meta name="viewport" content="width=device-width"><title>{{ template "__subject" . }}</title></head>
<body style="margin:0;padding:16px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;color:#172b4d">
<table width="100%" cellpadding="0" cellspacing="0" style="max-width:720px;margin:0 auto;background:#ffffff;border:1px solid #dfe1e6;border-radius:6px">
<tr><td style="padding:14px 18px;border-radius:6px 6px 0 0;color:#ffffff;font-size:16px;font-weight:600;background:{{ if eq .Status "firing" }}#d04437{{ else }}#14892c{{ end }}">{{ template "__subject" . }}</td></tr>
<tr><td style="padding:14px 18px">
{{ if .Alerts.Firing }}<h3 style="margin:0 0 8px;font-size:14px">{{ .Alerts.Firing | len }} firing</h3>
{{ range .Alerts.Firing }}{{ template "__pharos_html_alert" . }}{{ end }}{{ end -}}
{{ if .Alerts.Resolved }}<h3 style="margin:12px 0 8px;font-size:14px">{{ .Alerts.Resolved | len }} resolved</h3>
{{ range .Alerts.Resolved }}{{ template "__pharos_html_alert" . }}{{ end }}{{ end -}}
</td></tr>
<tr><td style="padding:10px 18px;font-size:12px;color:#6b778c;border-top:1px solid #dfe1e6">Sent by {{ template "__alertmanager" . }} to receiver {{ .Receiver }}{{ if .ExternalURL }} · <a href="{{ template "__alertmanagerURL" . }}">open in {{ template "__alertmanager" . }}</a>{{ end }}</td></tr>
</table>
</body>
</html>
{{ end }}
)TMPL";

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("template file ", path, ": cannot read"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::vector<std::string>> Glob(const std::string& pattern) {
  glob_t g{};
  int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return absl::InvalidArgumentError(absl::StrCat("templates: bad glob \"", pattern, "\""));
  }
  return out;  // glob(3) sorts the matches
}

}  // namespace

std::string_view DefaultTemplatesText() { return kDefaultTemplates; }

bool HasTemplateActions(std::string_view text) { return text.find("{{") != std::string_view::npos; }

std::string InlineTemplateName(std::string_view text) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "__pharos_inline_";
  for (int i = 0; i < 12; ++i) {
    name.push_back(kHex[md[i] >> 4]);
    name.push_back(kHex[md[i] & 15]);
  }
  return name;
}

absl::StatusOr<NotificationTemplates> LoadTemplates(const std::vector<std::string>& globs,
                                                    std::string_view base_dir,
                                                    const std::vector<std::string>& inline_texts,
                                                    const std::vector<std::string>& inline_html) {
  auto text = tmpl::Template::Parse("default.tmpl", kDefaultTemplates, tmpl::AlertmanagerFuncs(),
                                    tmpl::Mode::kText);
  if (!text.ok()) return absl::InternalError(absl::StrCat("default templates: ", text.status().message()));
  auto html = tmpl::Template::Parse("default.tmpl", kDefaultTemplates, tmpl::AlertmanagerFuncs(),
                                    tmpl::Mode::kHtml);
  if (!html.ok()) return absl::InternalError(absl::StrCat("default templates: ", html.status().message()));
  for (const std::string& pattern : globs) {
    std::string full = pattern;
    if (!pattern.empty() && pattern[0] != '/' && !base_dir.empty()) {
      full = absl::StrCat(Av(base_dir), "/", pattern);
    }
    auto files = Glob(full);
    if (!files.ok()) return files.status();
    for (const std::string& f : *files) {
      auto content = ReadFile(f);
      if (!content.ok()) return content.status();
      for (tmpl::Template* set : {&*text, &*html}) {
        if (auto s = set->Add(f, *content); !s.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("template file ", f, ": ", s.message()));
        }
      }
    }
  }
  std::set<std::string> seen;
  auto add_inline = [&seen](tmpl::Template* set, const std::string& t, const char* kind) -> absl::Status {
    if (!HasTemplateActions(t)) return absl::OkStatus();
    std::string name = InlineTemplateName(t);
    if (!seen.insert(absl::StrCat(kind, name)).second) return absl::OkStatus();
    if (auto s = set->Add(name, t); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("receiver template \"", t, "\": ", s.message()));
    }
    return absl::OkStatus();
  };
  for (const std::string& t : inline_texts) {
    if (auto s = add_inline(&*text, t, "t"); !s.ok()) return s;
  }
  for (const std::string& t : inline_html) {
    if (auto s = add_inline(&*html, t, "h"); !s.ok()) return s;
  }
  NotificationTemplates out;
  out.text = std::make_unique<tmpl::Template>(std::move(*text));
  out.html = std::make_unique<tmpl::Template>(std::move(*html));
  return out;
}

absl::StatusOr<NotificationTemplates> LoadNotificationTemplates(const am::Config& config,
                                                                std::string_view base_dir) {
  std::vector<std::string> texts, html;
  for (const am::Receiver& r : config.receivers) {
    internal::CollectTemplateStrings(internal::ApplyDefaults(r, config.global), &texts, &html);
  }
  return LoadTemplates(config.templates, base_dir, texts, html);
}

}  // namespace pharos::alerting::notify
