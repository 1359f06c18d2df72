#pragma once

// Go text/template (and the html/template escaping Alertmanager's email bodies use), as
// Prometheus rule annotations and Alertmanager notification templates are written:
//
//   {{ $labels.instance }} is at {{ $value | humanizePercentage }}
//   {{ range .Alerts.Firing }}{{ .Labels.alertname }}: {{ .Annotations.summary }}{{ end }}
//   {{ define "slack.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}
//
// Data is a dynamic `Value` (nil, bool, int, float, string, time, list, map, function). Go
// methods on data (`.Alerts.Firing`, `.StartsAt.Format "..."`, `.Labels.SortedPairs`) are map
// entries or per-kind methods holding a `Func`: a field chain that reaches a Func calls it, with
// the remaining arguments of the command when it is the last element of the chain.
//
// Parse errors name the template, line and column like Go ("template: summary:1:12: ...");
// execution errors name the template and line and never abort the process.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos::alerting::tmpl {

namespace internal {
struct ValueAccess;  // engine-private markers (safe HTML, durations, time zones, "no value")
}  // namespace internal

class Value {
 public:
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kTime, kList, kMap, kFunc };
  using List = std::vector<Value>;
  // Keys sorted, as Go's text/template ranges over maps in key order.
  using Map = std::map<std::string, Value, std::less<>>;
  using Func = std::function<absl::StatusOr<Value>(std::span<const Value> args)>;

  Value() = default;  // nil
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  // A point in time, milliseconds since the epoch (Go time.Time; methods Format, Unix, UTC...).
  static Value Time(int64_t unix_ms);
  static Value MakeList(List l);
  static Value MakeMap(Map m);
  static Value MakeFunc(Func f);
  // A list or map that also has Go methods (`.Alerts.Firing`, `.Labels.SortedPairs`): field
  // lookup tries `methods` first (as Go does), `range`/`len`/`index` see only the elements,
  // and a "String" method, if present, is what printing the value shows (Go's fmt.Stringer).
  static Value WithMethods(Value list_or_map, Map methods);

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::kNil; }
  bool AsBool() const { return b_; }
  int64_t AsInt() const { return i_; }
  double AsFloat() const { return f_; }
  int64_t AsTimeMs() const { return i_; }
  const std::string& AsString() const;
  const List& AsList() const;
  const Map& AsMap() const;
  const Func& AsFunc() const;

  // Go template truth: false, 0, "", nil, empty list/map are false.
  bool Truth() const;
  // fmt.Sprint formatting (%v): floats as Go's strconv 'g' shortest, maps as map[k:v ...].
  std::string ToString() const;

 private:
  Kind kind_ = Kind::kNil;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const void> p_;  // string, list, map, func or time zone, by kind
  friend struct internal::ValueAccess;
};

using FuncMap = std::map<std::string, Value::Func, std::less<>>;

enum class Mode {
  kText,  // text/template
  kHtml,  // html/template-style escaping of action output (email HTML bodies)
};

// A set of named templates that can refer to each other ({{ template "x" . }}): one template
// parsed from a string, plus any {{ define }}d in it or in added files.
class Template {
 public:
  // Parses `text` as the template called `name`. `funcs` are the functions beyond Go's
  // builtins (and, or, not, len, index, print, printf, println, eq, ne, lt, le, gt, ge, html,
  // js, urlquery, slice, call).
  static absl::StatusOr<Template> Parse(std::string_view name, std::string_view text,
                                        FuncMap funcs, Mode mode = Mode::kText);
  // Parses more text into the same set (e.g. a .tmpl file full of {{ define }}s); definitions
  // replace earlier ones with the same name.
  absl::Status Add(std::string_view name, std::string_view text);
  // Executes the template `name` (default: the one given to Parse) with `dot` as data.
  absl::StatusOr<std::string> Execute(const Value& dot, std::string_view name = {}) const;
  bool Has(std::string_view name) const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

 private:
  struct Impl;
  explicit Template(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- Prometheus rule templates (labels and annotations of alerting rules) ----

// One element of a `query` result: {{ range query "up" }}{{ .Labels.job }} {{ .Value }}{{ end }}.
struct QuerySample {
  std::map<std::string, std::string> labels;
  double value = 0;
};
// Runs a PromQL instant query at the evaluation time; errors become template errors.
using QueryFunc =
    std::function<absl::StatusOr<std::vector<QuerySample>>(std::string_view expr)>;

struct RuleTemplateData {
  std::map<std::string, std::string> labels;           // $labels
  std::map<std::string, std::string> external_labels;  // $externalLabels
  std::string external_url;                            // $externalURL
  double value = 0;                                    // $value
  int64_t eval_time_ms = 0;
};

// Expands one label or annotation value as Prometheus does (template.Expander): defines
// $labels, $externalLabels, $externalURL and $value, with Prometheus's function set (humanize,
// humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, printf, query, first,
// value, label, strvalue, sortByLabel, title, toUpper, toLower, reReplaceAll, match, args,
// safeHtml, graphLink, tableLink, pathPrefix, externalURL, parseDuration, stripPort,
// stripDomain, toTime, now). `query` may be null (then calling it is an error).
absl::StatusOr<std::string> ExpandRuleTemplate(std::string_view name, std::string_view text,
                                               const RuleTemplateData& data,
                                               const QueryFunc& query);

// Parses a label or annotation template as ExpandRuleTemplate would (same variables and
// functions) without executing it: rule-file validation (Prometheus's testTemplateParsing).
absl::Status ParseRuleTemplate(std::string_view name, std::string_view text);

// Alertmanager's function set (toUpper, toLower, title, trimSpace, join, match, safeHtml,
// safeUrl, urlUnescape, reReplaceAll, stringSlice, date, tz, since, humanizeDuration).
FuncMap AlertmanagerFuncs();

}  // namespace pharos::alerting::tmpl
