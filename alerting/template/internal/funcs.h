#pragma once

// Go's builtin template functions, per-kind methods, and helpers shared by the Prometheus
// and Alertmanager function sets.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "alerting/template/internal/parse.h"
#include "alerting/template/template.h"

namespace pharos::alerting::tmpl::internal {

// An argument-type error (Go's reflection check before a call): reported without the
// "error calling NAME:" prefix. Functions return these from the helpers below.
absl::Status ArgError(std::string_view msg);
bool IsArgError(const absl::Status& st);

// Go's argument conversion for a `string` parameter: "wrong type for value; expected string;
// got float64".
absl::StatusOr<std::string_view> StringArg(const Value& v);
// "wrong number of args for NAME: want N got M".
absl::Status CheckArity(std::string_view name, std::span<const Value> args, size_t want);
// Prometheus's convertToFloat: float, int, duration (seconds) or a string parsed as float.
absl::StatusOr<double> ToFloat(const Value& v);

absl::StatusOr<Value> CallBuiltin(Builtin b, std::string_view name, std::span<const Value> args);

// The value of a missing key: Go's zero value of the map's element type. Label and annotation
// maps (map[string]string; Prometheus and Alertmanager both run with missingkey=zero) give "",
// other maps nil ("<no value>").
Value MapZero(const Value::Map& m);

// time.Time methods: Format, Unix, UnixMilli, UnixNano, UTC, Local, String, IsZero, Year...
// An empty Func if `name` is not one.
Value::Func TimeMethod(const Value& t, std::string_view name);

// text/template's HTMLEscapeString; html/template escapes the same five characters.
std::string HtmlEscape(std::string_view s);
// html/template's escaping of text content: also '+' (&#43;) and NUL.
std::string HtmlTemplateEscape(std::string_view s);
std::string JsEscape(std::string_view s);
// url.QueryEscape.
std::string QueryEscape(std::string_view s);
// RE2 version of Go's Regexp.ReplaceAllString (with $1, ${1}, ${name} expansion).
absl::StatusOr<std::string> ReReplaceAll(std::string_view pattern, std::string_view repl,
                                         std::string_view text);
absl::StatusOr<bool> ReMatch(std::string_view pattern, std::string_view text);
// Go's strings.Title: upper-cases the first letter of each word (letters after a non-letter,
// non-digit, non-underscore, non-apostrophe rune).
std::string GoTitle(std::string_view s);

}  // namespace pharos::alerting::tmpl::internal

namespace pharos::alerting::tmpl::internal {

// Shared by the Prometheus and Alertmanager sets.
std::string HumanizeDuration(double seconds);
std::string ToUpper(std::string_view s);
std::string ToLower(std::string_view s);
FuncMap PrometheusFuncs(const RuleTemplateData& data, const QueryFunc& query);

}  // namespace pharos::alerting::tmpl::internal
