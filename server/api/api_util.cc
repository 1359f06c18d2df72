#include "server/api/api_util.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/units.h"
#include "query/parser/parser.h"

namespace pharos::api {

std::string_view ErrorTypeName(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData: return "bad_data";
    case ErrorType::kExecution: return "execution";
    case ErrorType::kTimeout: return "timeout";
    case ErrorType::kCanceled: return "canceled";
    case ErrorType::kInternal: return "internal";
    case ErrorType::kUnavailable: return "unavailable";
    case ErrorType::kNotFound: return "not_found";
  }
  return "internal";
}

int ErrorStatus(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData: return 400;
    case ErrorType::kExecution: return 422;
    case ErrorType::kTimeout: return 503;
    case ErrorType::kCanceled: return 499;
    case ErrorType::kInternal: return 500;
    case ErrorType::kUnavailable: return 503;
    case ErrorType::kNotFound: return 404;
  }
  return 500;
}

http::Response ErrorResponse(ErrorType type, std::string_view message) {
  JsonWriter w;
  w.BeginObject();
  w.KV("status", "error");
  w.KV("errorType", ErrorTypeName(type));
  w.KV("error", message);
  w.EndObject();
  return http::Response::Json(ErrorStatus(type), std::move(w).Take());
}

http::Response SuccessResponse(std::string_view data_json, const std::vector<std::string>& warnings,
                               const std::vector<std::string>& infos) {
  std::string body = "{\"status\":\"success\",\"data\":";
  body.append(data_json);
  auto list = [&](const char* key, const std::vector<std::string>& items) {
    if (items.empty()) return;
    body.append(",\"");
    body.append(key);
    body.append("\":[");
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) body.push_back(',');
      AppendJsonEscaped(&body, items[i]);
    }
    body.push_back(']');
  };
  list("warnings", warnings);
  list("infos", infos);
  body.push_back('}');
  return http::Response::Json(200, std::move(body));
}

void AppendPromFloat(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[400];
  double a = std::abs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    // to_chars writes "1e-07" / "1.5e+21" already in Go's form (sign, at least two digits).
    out->append(buf, end);
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out->append(buf, end);
}

void AppendPromTimestamp(std::string* out, int64_t t) {
  if (t < 0) {
    out->push_back('-');
    t = -t;
  }
  absl::StrAppend(out, t / 1000);
  int64_t frac = t % 1000;
  if (frac != 0) {
    out->push_back('.');
    if (frac < 100) out->push_back('0');
    if (frac < 10) out->push_back('0');
    absl::StrAppend(out, frac);
  }
}

std::optional<std::string> Params::Get(std::string_view name) const {
  for (const auto& [k, v] : params_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Params::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : params_) {
    if (k == name) out.push_back(v);
  }
  return out;
}

absl::StatusOr<int64_t> ParseTimeParam(std::string_view param, std::string_view value) {
  std::string s(value);
  double secs;
  char* end = nullptr;
  secs = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(secs)) {
    // As Prometheus: whole seconds, plus the fraction rounded to milliseconds.
    double whole;
    double frac = std::modf(secs, &whole);
    if (std::abs(whole) < 9.2e15) {
      return static_cast<int64_t>(whole) * 1000 + static_cast<int64_t>(std::round(frac * 1000));
    }
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid parameter \"", Av(param), "\": cannot parse \"", s,
                   "\" to a valid timestamp"));
}

absl::StatusOr<int64_t> ParseDurationParam(std::string_view param, std::string_view value) {
  std::string s(value);
  char* end = nullptr;
  double secs = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size()) {
    double ms = std::round(secs * 1000);
    if (!std::isfinite(ms) || ms > 9.2e18 || ms < -9.2e18) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid parameter \"", Av(param), "\": cannot parse \"", s,
          "\" to a valid duration. It overflows int64"));
    }
    return static_cast<int64_t>(ms);
  }
  auto d = ParseDurationMs(value);
  if (d.ok()) return *d;
  return absl::InvalidArgumentError(absl::StrCat("invalid parameter \"", Av(param),
                                                 "\": cannot parse \"", s,
                                                 "\" to a valid duration"));
}

absl::StatusOr<std::vector<std::vector<Matcher>>> ParseMatchParams(
    const std::vector<std::string>& selectors) {
  std::vector<std::vector<Matcher>> out;
  for (const auto& sel : selectors) {
    auto parsed = promql::ParseMetricSelector(sel);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(std::string(parsed.status().message()));
    }
    std::vector<Matcher> ms;
    bool any_nonempty = false;
    for (const auto& lm : *parsed) {
      MatchType t = MatchType::kEqual;
      switch (lm.type) {
        case promql::MatchType::kEqual: t = MatchType::kEqual; break;
        case promql::MatchType::kNotEqual: t = MatchType::kNotEqual; break;
        case promql::MatchType::kRegexMatch: t = MatchType::kRegexMatch; break;
        case promql::MatchType::kRegexNoMatch: t = MatchType::kRegexNoMatch; break;
      }
      auto m = Matcher::Make(t, lm.name, lm.value);
      if (!m.ok()) return absl::InvalidArgumentError(std::string(m.status().message()));
      if (!m->MatchesEmpty()) any_nonempty = true;
      ms.push_back(std::move(*m));
    }
    if (!any_nonempty) {
      return absl::InvalidArgumentError(
          "match[] must contain at least one non-empty matcher");
    }
    out.push_back(std::move(ms));
  }
  return out;
}

absl::StatusOr<size_t> ParseLimitParam(const Params& p) {
  auto v = p.Get("limit");
  if (!v || v->empty()) return 0;
  int64_t n;
  if (!absl::SimpleAtoi(*v, &n) || n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid parameter \"limit\": cannot parse \"", *v, "\" to a valid limit"));
  }
  return static_cast<size_t>(n);
}

}  // namespace pharos::api
