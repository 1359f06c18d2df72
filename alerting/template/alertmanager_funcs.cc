// Alertmanager's template functions (template/template.go DefaultFuncs).

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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
using internal::TypeName;
using internal::ValueAccess;

namespace {

using Args = std::span<const Value>;

absl::StatusOr<Value> TimeArg(const Value& v) {
  if (v.kind() == Value::Kind::kTime) return v;
  if (v.is_nil()) return ArgError("invalid value; expected time.Time");
  return ArgError(absl::StrCat("wrong type for value; expected time.Time; got ", TypeName(v)));
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// golang.org/x/text/cases.Title(language.AmericanEnglish): the first letter of each word
// upper-cased, the rest lower-cased; an apostrophe inside a word does not start a new one.
std::string CasesTitle(std::string_view s) {
  std::string out(s);
  bool in_word = false;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c >= 0x80;
    if (letter) {
      if (!in_word) {
        if (c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
      } else if (c >= 'A' && c <= 'Z') {
        out[i] = static_cast<char>(c - 'A' + 'a');
      }
      in_word = true;
    } else if (!(in_word && (c == '\'' || c == 0x27) && i + 1 < out.size() &&
                 std::isalpha(static_cast<unsigned char>(out[i + 1])))) {
      in_word = false;
    }
  }
  return out;
}

// url.QueryUnescape.
absl::StatusOr<std::string> QueryUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      auto hex = [](char h, int* v) {
        if (h >= '0' && h <= '9') *v = h - '0';
        else if (h >= 'a' && h <= 'f') *v = h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') *v = h - 'A' + 10;
        else return false;
        return true;
      };
      int hi, lo;
      if (i + 2 >= s.size() + 0 || !hex(s[i + 1], &hi) || !hex(s[i + 2], &lo)) {
        std::string_view bad = s.substr(i, 3);
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape ", internal::GoQuote(bad)));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Value::Func Str1(std::string name, std::string (*fn)(std::string_view)) {
  return [name, fn](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity(name, a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    return Value::String(fn(s));
  };
}

}  // namespace

FuncMap AlertmanagerFuncs() {
  FuncMap f;
  f["toUpper"] = Str1("toUpper", [](std::string_view s) { return internal::ToUpper(s); });
  f["toLower"] = Str1("toLower", [](std::string_view s) { return internal::ToLower(s); });
  f["title"] = Str1("title", [](std::string_view s) { return CasesTitle(s); });
  f["trimSpace"] = Str1("trimSpace", [](std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && IsAsciiSpace(s[b])) ++b;
    while (e > b && IsAsciiSpace(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
  });
  f["join"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("join", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view sep, StringArg(a[0]));
    if (a[1].kind() != Value::Kind::kList && !a[1].is_nil()) {
      return ArgError(absl::StrCat("wrong type for value; expected []string; got ",
                                   TypeName(a[1])));
    }
    std::vector<std::string_view> parts;
    for (const Value& v : a[1].AsList()) {
      if (v.kind() != Value::Kind::kString) {
        return ArgError(absl::StrCat("wrong type for value; expected []string; got ",
                                     TypeName(a[1])));
      }
      parts.emplace_back(v.AsString());
    }
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out.append(sep);
      out.append(parts[i]);
    }
    return Value::String(std::move(out));
  };
  f["match"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("match", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view pattern, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[1]));
    PHAROS_ASSIGN_OR_RETURN(bool m, internal::ReMatch(pattern, s));
    return Value::Bool(m);
  };
  f["safeHtml"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("safeHtml", a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    return ValueAccess::SafeHtml(std::string(s));
  };
  // html/template.URL: only trusted in URL attributes, which this engine does not model; in
  // text it is escaped like any string.
  f["safeUrl"] = Str1("safeUrl", [](std::string_view s) { return std::string(s); });
  f["urlUnescape"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("urlUnescape", a, 1));
    PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(std::string r, QueryUnescape(s));
    return Value::String(std::move(r));
  };
  f["reReplaceAll"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("reReplaceAll", a, 3));
    PHAROS_ASSIGN_OR_RETURN(std::string_view pattern, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view repl, StringArg(a[1]));
    PHAROS_ASSIGN_OR_RETURN(std::string_view text, StringArg(a[2]));
    PHAROS_ASSIGN_OR_RETURN(std::string r, internal::ReReplaceAll(pattern, repl, text));
    return Value::String(std::move(r));
  };
  f["stringSlice"] = [](Args a) -> absl::StatusOr<Value> {
    Value::List l;
    for (const Value& v : a) {
      PHAROS_ASSIGN_OR_RETURN(std::string_view s, StringArg(v));
      l.push_back(Value::String(std::string(s)));
    }
    return Value::MakeList(std::move(l));
  };
  f["date"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("date", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view layout, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(Value t, TimeArg(a[1]));
    return Value::String(internal::FormatTime(t, layout));
  };
  f["tz"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("tz", a, 2));
    PHAROS_ASSIGN_OR_RETURN(std::string_view name, StringArg(a[0]));
    PHAROS_ASSIGN_OR_RETURN(Value t, TimeArg(a[1]));
    auto zone = std::make_shared<internal::ZoneRep>();
    // time.LoadLocation: "" and "UTC" are UTC, "Local" the host zone (UTC here).
    if (name.empty() || name == "UTC" || name == "Local") {
      return Value::Time(t.AsTimeMs());
    }
    if (name.find("..") != std::string_view::npos || name[0] == '/' ||
        !absl::LoadTimeZone(std::string(name), &zone->tz)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown time zone ", Av(name)));
    }
    zone->name = std::string(name);
    return ValueAccess::TimeIn(t.AsTimeMs(), std::move(zone));
  };
  f["since"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("since", a, 1));
    PHAROS_ASSIGN_OR_RETURN(Value t, TimeArg(a[0]));
    int64_t now_ms = absl::ToUnixMillis(absl::Now());
    return ValueAccess::Duration((now_ms - t.AsTimeMs()) * 1000000);
  };
  f["humanizeDuration"] = [](Args a) -> absl::StatusOr<Value> {
    PHAROS_RETURN_IF_ERROR(CheckArity("humanizeDuration", a, 1));
    PHAROS_ASSIGN_OR_RETURN(double v, internal::ToFloat(a[0]));
    return Value::String(internal::HumanizeDuration(v));
  };
  return f;
}

}  // namespace pharos::alerting::tmpl
