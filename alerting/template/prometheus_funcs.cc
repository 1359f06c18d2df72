// Prometheus's template function set (template/template.go in Prometheus 2.42) and the
// expansion of alerting-rule labels and annotations (rules/alerting.go).

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "alerting/template/internal/funcs.h"
#include "alerting/template/internal/gofmt.h"
#include "alerting/template/internal/value_access.h"
#include "alerting/template/template.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace pharos::alerting::tmpl {

using internal::ArgError;
using internal::CheckArity;
using internal::StringArg;
using internal::ToFloat;
using internal::TypeName;

namespace {

using Args = std::span<const Value>;

std::string Fmt4g(double v, std::string_view suffix) {
  Value f = Value::Float(v);
  return absl::StrCat(internal::Sprintf("%.4g", {&f, 1}), Av(suffix));
}

Value SampleValue(const QuerySample& s) {
  Value::Map labels;
  for (const auto& [k, v] : s.labels) labels.emplace(k, Value::String(v));
  Value::Map m;
  m.emplace("Labels", Value::MakeMap(std::move(labels)));
  m.emplace("Value", Value::Float(s.value));
  return Value::MakeMap(std::move(m));
}

// A query sample, as the *sample parameters of first/label/value/strvalue expect.
absl::StatusOr<const Value::Map*> SampleArg(const Value& v) {
  if (v.kind() != Value::Kind::kMap || !v.AsMap().contains("Labels")) {
    if (v.is_nil()) return ArgError("invalid value; expected *template.sample");
    return ArgError(absl::StrCat("wrong type for value; expected *template.sample; got ",
                                 TypeName(v)));
  }
  return &v.AsMap();
}

absl::StatusOr<const Value::List*> ResultArg(const Value& v) {
  if (v.kind() != Value::Kind::kList) {
    if (v.is_nil()) return ArgError("invalid value; expected template.queryResult");
    return ArgError(absl::StrCat("wrong type for value; expected template.queryResult; got ",
                                 TypeName(v)));
  }
  return &v.AsList();
}

std::string SampleLabel(const Value::Map& s, std::string_view name) {
  auto it = s.find("Labels");
  if (it == s.end()) return "";
  const Value::Map& labels = it->second.AsMap();
  auto l = labels.find(name);
  return l == labels.end() ? "" : l->second.AsString();
}

std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return Fmt4g(v, "");
  if (std::fabs(v) >= 1) {
    std::string_view prefix;
    for (std::string_view p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return Fmt4g(v, prefix);
  }
  std::string_view prefix;
  for (std::string_view p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Fmt4g(v, prefix);
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Fmt4g(v, "");
  std::string_view prefix;
  for (std::string_view p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Fmt4g(v, prefix);
}

// Go's url.URL.Path of a URL string (enough for pathPrefix).
std::string UrlPath(std::string_view url) {
  size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  size_t slash = scheme == std::string_view::npos ? 0 : rest.find('/');
  if (slash == std::string_view::npos) return "";
  rest = rest.substr(slash);
  size_t end = rest.find_first_of("?#");
  return std::string(rest.substr(0, end));
}

// net.SplitHostPort.
bool SplitHostPort(std::string_view hp, std::string* host, std::string* port) {
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h;
  if (!hp.empty() && hp[0] == '[') {
    size_t end = hp.find(']');
    if (end == std::string_view::npos || end + 1 != colon) return false;
    h = hp.substr(1, end - 1);
  } else {
    h = hp.substr(0, colon);
    if (h.find(':') != std::string_view::npos) return false;  // too many colons
  }
  if (h.find_first_of("[]") != std::string_view::npos) return false;
  std::string_view p = hp.substr(colon + 1);
  if (p.find_first_of("[]") != std::string_view::npos) return false;
  *host = std::string(h);
  *port = std::string(p);
  return true;
}

bool LooksLikeIp(std::string_view h) {
  if (h.find(':') != std::string_view::npos) return true;  // IPv6
  int dots = 0, digits = 0, octet = 0;
  for (char c : h) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
      octet = 0;
    } else if (c >= '0' && c <= '9') {
      octet = octet * 10 + (c - '0');
      if (++digits > 3 || octet > 255) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

// Prometheus model.ParseDuration: [0-9]+(y|w|d|h|m|s|ms) units in order, or "0".
absl::StatusOr<double> ParsePromDuration(std::string_view d) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid duration string: ", internal::GoQuote(d)));
  };
  if (d == "0") return 0.0;
  if (d.empty()) return bad();
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
      {"ms", 1},
  };
  int64_t total_ms = 0;
  size_t next_unit = 0;
  size_t i = 0;
  while (i < d.size()) {
    size_t start = i;
    while (i < d.size() && d[i] >= '0' && d[i] <= '9') ++i;
    if (i == start || i - start > 18) return bad();
    int64_t n = std::stoll(std::string(d.substr(start, i - start)));
    size_t ustart = i;
    while (i < d.size() && (d[i] < '0' || d[i] > '9')) ++i;
    std::string_view unit = d.substr(ustart, i - ustart);
    size_t k = next_unit;
    while (k < std::size(kUnits) && kUnits[k].first != unit) ++k;
    if (k == std::size(kUnits)) return bad();
    next_unit = k + 1;
    if (n > INT64_MAX / kUnits[k].second || total_ms > INT64_MAX - n * kUnits[k].second) {
      return absl::InvalidArgumentError("duration out of range");
    }
    total_ms += n * kUnits[k].second;
  }
  return static_cast<double>(total_ms) / 1000.0;
}

std::string HumanizeDurationImpl(double v) {
  if (std::isnan(v) || std::isinf(v)) return Fmt4g(v, "");
  if (v == 0) return Fmt4g(v, "s");
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    int64_t secs = static_cast<int64_t>(v);
    int64_t seconds = secs % 60, minutes = (secs / 60) % 60, hours = (secs / 3600) % 24,
            days = secs / 86400;
    if (days != 0) return absl::StrCat(sign, days, "d ", hours, "h ", minutes, "m ", seconds, "s");
    if (hours != 0) return absl::StrCat(sign, hours, "h ", minutes, "m ", seconds, "s");
    if (minutes != 0) return absl::StrCat(sign, minutes, "m ", seconds, "s");
    return sign + Fmt4g(v, "s");
  }
  std::string_view prefix;
  for (std::string_view p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Fmt4g(v, absl::StrCat(Av(prefix), "s"));
}

Value::Func FloatFunc(std::string name, std::string (*fn)(double)) {
  return [name, fn](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity(name, a, 1));
    PHAROS_ASSIGN_OR_RETURN(double v, ToFloat(a[0]));
    return Value::String(fn(v));
  };
}

Value::Func StringFunc(std::string name, std::string (*fn)(std::string_view)) {
  return [name, fn](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity(name, a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    return Value::String(fn(s));
  };
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}
std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

namespace internal {

std::string HumanizeDuration(double v) { return HumanizeDurationImpl(v); }
std::string ToUpper(std::string_view s) { return AsciiUpper(s); }
std::string ToLower(std::string_view s) { return AsciiLower(s); }

FuncMap PrometheusFuncs(const RuleTemplateData& data, const QueryFunc& query) {
  FuncMap f;
  const int64_t eval_ms = data.eval_time_ms;
  const std::string external_url = data.external_url;
  f["query"] = [query](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("query", a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view q, StringArg(a[0]));
    if (!query) return absl::UnavailableError("query is not available here");
    PHAROS_ASSIGN_OR_RETURN(std::vector<QuerySample> samples, query(q));
    Value::List out;
    out.reserve(samples.size());
    for (const auto& s : samples) out.push_back(SampleValue(s));
    return Value::MakeList(std::move(out));
  };
  f["first"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("first", a, 1));
    PHAROS_ASSIGN_OR_RETURN(const Value::List* l, ResultArg(a[0]));
    if (l->empty()) return absl::InvalidArgumentError("first() called on vector with no elements");
    return (*l)[0];
  };
  f["label"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("label", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view name, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(const Value::Map* s, SampleArg(a[1]));
    return Value::String(SampleLabel(*s, name));
  };
  f["value"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("value", a, 1));
    PHAROS_ASSIGN_OR_RETURN(const Value::Map* s, SampleArg(a[0]));
    auto it = s->find("Value");
    return it == s->end() ? Value::Float(0) : it->second;
  };
  f["strvalue"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("strvalue", a, 1));
    PHAROS_ASSIGN_OR_RETURN(const Value::Map* s, SampleArg(a[0]));
    return Value::String(SampleLabel(*s, "__value__"));
  };
  f["args"] = [](Args a) -> absl::StatusOr<Value> {
    Value::Map m;
    for (size_t i = 0; i < a.size(); ++i) m.emplace(absl::StrCat("arg", i), a[i]);
    return Value::MakeMap(std::move(m));
  };
  f["reReplaceAll"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("reReplaceAll", a, 3));
    PHAROS_ASSIGN_OR_RETURN(std::string_view pattern, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view repl, StringArg(a[1]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view text, StringArg(a[2]));
    PHAROS_ASSIGN_OR_RETURN(std::string r, ReReplaceAll(pattern, repl, text));
    return Value::String(std::move(r));
  };
  f["safeHtml"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("safeHtml", a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    return ValueAccess::SafeHtml(std::string(s));
  };
  f["match"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("match", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view pattern, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[1]));
    PHAROS_ASSIGN_OR_RETURN(bool m, ReMatch(pattern, s));
    return Value::Bool(m);
  };
  f["title"] = StringFunc("title", [](std::string_view s) { return GoTitle(s); });
  f["toUpper"] = StringFunc("toUpper", [](std::string_view s) { return AsciiUpper(s); });
  f["toLower"] = StringFunc("toLower", [](std::string_view s) { return AsciiLower(s); });
  f["graphLink"] = StringFunc("graphLink", [](std::string_view s) {
    return absl::StrCat("/graph?g0.expr=", QueryEscape(s), "&g0.tab=0");
  });
  f["tableLink"] = StringFunc("tableLink", [](std::string_view s) {
    return absl::StrCat("/graph?g0.expr=", QueryEscape(s), "&g0.tab=1");
  });
  f["sortByLabel"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("sortByLabel", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view label, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(const Value::List* l, ResultArg(a[1]));
    Value::List sorted = *l;
    std::string key(label);
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& x, const Value& y) {
      return SampleLabel(x.AsMap(), key) < SampleLabel(y.AsMap(), key);
    });
    return Value::MakeList(std::move(sorted));
  };
  f["humanize"] = FloatFunc("humanize", Humanize);
  f["humanize1024"] = FloatFunc("humanize1024", Humanize1024);
  f["humanizeDuration"] = FloatFunc("humanizeDuration", HumanizeDurationImpl);
  f["humanizePercentage"] = FloatFunc("humanizePercentage", [](double v) {
    return Fmt4g(v * 100, "%");
  });
  f["humanizeTimestamp"] = FloatFunc("humanizeTimestamp", [](double v) {
    if (std::isnan(v) || std::isinf(v)) return Fmt4g(v, "");
    // model.TimeFromUnixNano(int64(v * 1e9)): milliseconds, truncated toward zero.
    double ns = v * 1e9;
    int64_t ms = ns >= 9.2e18 || ns <= -9.2e18 ? 0 : static_cast<int64_t>(ns) / 1000000;
    return TimeString(Value::Time(ms));
  });
  f["toTime"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("toTime", a, 1));
    PHAROS_ASSIGN_OR_RETURN(double v, ToFloat(a[0]));
    if (std::isnan(v) || std::isinf(v)) return absl::InvalidArgumentError("value is NaN or Inf");
    double ns = v * 1e9;
    if (ns > 9.2e18 || ns < -9.2e18) {
      return absl::InvalidArgumentError(absl::StrCat(
          FormatFloatG(v), " cannot be represented as a nanoseconds timestamp since it overflows int64"));
    }
    return Value::Time(static_cast<int64_t>(ns) / 1000000);
  };
  f["pathPrefix"] = [external_url](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("pathPrefix", a, 0));
    return Value::String(UrlPath(external_url));
  };
  f["externalURL"] = [external_url](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("externalURL", a, 0));
    return Value::String(external_url);
  };
  f["parseDuration"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("parseDuration", a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(double secs, ParsePromDuration(s));
    return Value::Float(secs);
  };
  f["stripPort"] = StringFunc("stripPort", [](std::string_view hp) {
    std::string host, port;
    if (!SplitHostPort(hp, &host, &port)) return std::string(hp);
    return host;
  });
  f["stripDomain"] = StringFunc("stripDomain", [](std::string_view hp) {
    std::string host, port;
    if (!SplitHostPort(hp, &host, &port)) host = std::string(hp);
    if (LooksLikeIp(host)) return std::string(hp);
    host = host.substr(0, host.find('.'));
    if (!port.empty()) {
      return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                                  : absl::StrCat(host, ":", port);
    }
    return host;
  });
  f["now"] = [eval_ms](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("now", a, 0));
    return Value::Time(eval_ms);
  };
  return f;
}

}  // namespace internal

namespace {

// Prometheus prepends these definitions (on the same line) to every label and annotation.
std::string WithRuleDefs(std::string_view text) {
  static constexpr std::string_view kDefs =
      "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
      "{{$externalURL := .ExternalURL}}{{$value := .Value}}";
  return absl::StrCat(Av(kDefs), Av(text));
}

}  // namespace

absl::Status ParseRuleTemplate(std::string_view name, std::string_view text) {
  return Template::Parse(name, WithRuleDefs(text), internal::PrometheusFuncs({}, nullptr))
      .status();
}

absl::StatusOr<std::string> ExpandRuleTemplate(std::string_view name, std::string_view text,
                                               const RuleTemplateData& data,
                                               const QueryFunc& query) {
  auto tmpl = Template::Parse(name, WithRuleDefs(text), internal::PrometheusFuncs(data, query));
  if (!tmpl.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error parsing template ", Av(name), ": ", tmpl.status().message()));
  }
  auto to_map = [](const std::map<std::string, std::string>& m) {
    Value::Map out;
    for (const auto& [k, v] : m) out.emplace(k, Value::String(v));
    return Value::MakeMap(std::move(out));
  };
  Value::Map dot;
  dot.emplace("Labels", to_map(data.labels));
  dot.emplace("ExternalLabels", to_map(data.external_labels));
  dot.emplace("ExternalURL", Value::String(data.external_url));
  dot.emplace("Value", Value::Float(data.value));
  auto out = tmpl->Execute(Value::MakeMap(std::move(dot)));
  if (!out.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error executing template ", Av(name), ": ", out.status().message()));
  }
  return out;
}

}  // namespace pharos::alerting::tmpl
