#include "server/api/alertmanager_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "alerting/am/api_json.h"
#include "alerting/am/config.h"
#include "alerting/am/router.h"
#include "alerting/am/silences.h"
#include "common/strings.h"
#include "common/units.h"
#include "re2/re2.h"
#include "server/api/api_util.h"
#include "server/build_info.h"

namespace pharos::api {

namespace {

using alerting::am::Alert;
using alerting::am::AlertView;
using alerting::am::LabelSet;
using alerting::am::Router;
using alerting::am::Silence;
using alerting::am::SilenceState;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

Response JsonResponse(int status, const json& j) {
  return Response::Json(status, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

// go-openapi error bodies are JSON strings.
Response Error(int status, absl::string_view msg) { return JsonResponse(status, json(std::string(msg))); }

json LabelsJson(const LabelSet& ls) {
  json o = json::object();
  for (const auto& [k, v] : ls) o[k] = v;
  return o;
}

json StringList(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

json AlertJson(const AlertView& v) {
  const Alert& a = v.alert;
  json o = json::object();
  o["annotations"] = LabelsJson(a.annotations);
  o["endsAt"] = FormatRfc3339MillisMs(a.ends_at_ms);
  o["fingerprint"] = alerting::am::FingerprintHex(a.fingerprint());
  json recv = json::array();
  for (const auto& r : v.receivers) recv.push_back({{"name", r}});
  o["receivers"] = recv;
  o["startsAt"] = FormatRfc3339MillisMs(a.starts_at_ms);
  o["status"] = {{"inhibitedBy", StringList(v.status.inhibited_by)},
                 {"silencedBy", StringList(v.status.silenced_by)},
                 {"state", v.status.state}};
  o["updatedAt"] = FormatRfc3339MillisMs(a.updated_at_ms);
  if (!a.generator_url.empty()) o["generatorURL"] = a.generator_url;
  o["labels"] = LabelsJson(a.labels);
  return o;
}

json SilenceJson(const Silence& s, int64_t now) {
  json ms = json::array();
  for (const Matcher& m : s.matchers) {
    ms.push_back({{"isEqual", !m.IsNegative()},
                  {"isRegex", m.IsRegex()},
                  {"name", m.name()},
                  {"value", m.value()}});
  }
  return {{"id", s.id},
          {"status", {{"state", std::string(alerting::am::SilenceStateString(s.StateAt(now)))}}},
          {"updatedAt", FormatRfc3339MillisMs(s.updated_at_ms)},
          {"comment", s.comment},
          {"createdBy", s.created_by},
          {"endsAt", FormatRfc3339MillisMs(s.ends_at_ms)},
          {"matchers", ms},
          {"startsAt", FormatRfc3339MillisMs(s.starts_at_ms)}};
}

// Boolean query parameter with a default; anything but true/false is an error.
absl::StatusOr<bool> BoolParam(const Params& p, std::string_view name, bool def) {
  auto v = p.Get(name);
  if (!v) return def;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(Av(name), " in query must be of type boolean: \"", *v, "\""));
}

// The `filter` parameters: each one matcher (or a {...} list).
absl::StatusOr<alerting::am::Matchers> FilterParam(const Params& p) {
  alerting::am::Matchers out;
  for (const std::string& f : p.GetAll("filter")) {
    auto ms = alerting::am::ParseMatchers(f);
    if (!ms.ok()) return ms.status();
    out.insert(out.end(), ms->begin(), ms->end());
  }
  return out;
}

bool MatchesFilter(const alerting::am::Matchers& filter, const LabelSet& labels) {
  for (const Matcher& m : filter) {
    auto it = labels.find(m.name());
    if (!m.Matches(it == labels.end() ? std::string_view() : std::string_view(it->second))) {
      return false;
    }
  }
  return true;
}

struct AlertFilter {
  bool active = true, silenced = true, inhibited = true, unprocessed = true;
  alerting::am::Matchers matchers;
  std::unique_ptr<RE2> receiver;

  static absl::StatusOr<AlertFilter> From(const Params& p) {
    AlertFilter f;
    auto get = [&](std::string_view name, bool* out) -> absl::Status {
      auto v = BoolParam(p, name, true);
      if (!v.ok()) return v.status();
      *out = *v;
      return absl::OkStatus();
    };
    if (auto s = get("active", &f.active); !s.ok()) return s;
    if (auto s = get("silenced", &f.silenced); !s.ok()) return s;
    if (auto s = get("inhibited", &f.inhibited); !s.ok()) return s;
    if (auto s = get("unprocessed", &f.unprocessed); !s.ok()) return s;
    auto m = FilterParam(p);
    if (!m.ok()) return m.status();
    f.matchers = *std::move(m);
    if (auto r = p.Get("receiver"); r && !r->empty()) {
      f.receiver = std::make_unique<RE2>(absl::StrCat("^(?:", *r, ")$"));
      if (!f.receiver->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("failed to parse receiver param: ", f.receiver->error()));
      }
    }
    return f;
  }

  bool Keep(const AlertView& v) const {
    const std::string& st = v.status.state;
    if (!active && st == "active") return false;
    if (!unprocessed && st == "unprocessed") return false;
    if (!silenced && !v.status.silenced_by.empty()) return false;
    if (!inhibited && !v.status.inhibited_by.empty()) return false;
    if (!MatchesFilter(matchers, v.alert.labels)) return false;
    if (receiver) {
      bool any = std::any_of(v.receivers.begin(), v.receivers.end(),
                             [&](const std::string& r) { return RE2::FullMatch(r, *receiver); });
      if (!any) return false;
    }
    return true;
  }
};

class Api {
 public:
  explicit Api(AlertmanagerApiOptions o) : o_(std::move(o)) {
    if (!o_.now_ms) {
      o_.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
  }

  Response PostAlerts(const Request& req, Router& r) {
    const int64_t now = o_.now_ms();
    auto decoded = alerting::am::DecodePostableAlerts(req.body, now);
    if (!decoded.ok()) return Error(400, decoded.status().message());
    std::vector<std::string> errors = decoded->errors;
    if (absl::Status s = r.PutAlerts(std::move(decoded->alerts)); !s.ok()) {
      if (s.code() == absl::StatusCode::kResourceExhausted) return Error(503, s.message());
      errors.push_back(std::string(s.message()));
    }
    if (!errors.empty()) return Error(400, absl::StrJoin(errors, "; "));
    return Response::Json(200, "");
  }

  Response GetAlerts(const Request& req, Router& r) {
    auto f = AlertFilter::From(Params(req));
    if (!f.ok()) return Error(400, f.status().message());
    const int64_t now = o_.now_ms();
    json out = json::array();
    for (const AlertView& v : r.Alerts()) {
      if (v.alert.ResolvedAt(now)) continue;  // Alertmanager lists only unresolved alerts
      if (!f->Keep(v)) continue;
      out.push_back(AlertJson(v));
    }
    return JsonResponse(200, out);
  }

  Response GetGroups(const Request& req, Router& r) {
    auto f = AlertFilter::From(Params(req));
    if (!f.ok()) return Error(400, f.status().message());
    const int64_t now = o_.now_ms();
    // Status per alert from the same evaluation as GET /alerts.
    std::map<uint64_t, AlertView> views;
    for (AlertView& v : r.Alerts()) views.emplace(v.alert.fingerprint(), std::move(v));
    json out = json::array();
    for (const auto& g : r.Groups()) {
      json alerts = json::array();
      for (const Alert& a : g.alerts) {
        if (a.ResolvedAt(now)) continue;
        auto it = views.find(a.fingerprint());
        if (it == views.end()) continue;
        AlertView v = it->second;
        if (!f->Keep(v)) continue;
        alerts.push_back(AlertJson(v));
      }
      if (alerts.empty()) continue;
      out.push_back({{"alerts", alerts},
                     {"labels", LabelsJson(g.labels)},
                     {"receiver", {{"name", g.receiver}}}});
    }
    return JsonResponse(200, out);
  }

  Response GetSilences(const Request& req, Router& r) {
    auto filter = FilterParam(Params(req));
    if (!filter.ok()) return Error(400, filter.status().message());
    const int64_t now = o_.now_ms();
    std::vector<Silence> sils = r.silences().Query({});
    sils.erase(std::remove_if(sils.begin(), sils.end(),
                              [&](const Silence& s) {
                                return !alerting::am::SilenceMatchesFilter(s, *filter);
                              }),
               sils.end());
    // Alertmanager's order: active (ending soonest first), pending (starting soonest first),
    // expired (most recently ended first).
    auto rank = [&](const Silence& s) {
      switch (s.StateAt(now)) {
        case SilenceState::kActive: return 0;
        case SilenceState::kPending: return 1;
        case SilenceState::kExpired: return 2;
      }
      return 3;
    };
    std::stable_sort(sils.begin(), sils.end(), [&](const Silence& a, const Silence& b) {
      int ra = rank(a), rb = rank(b);
      if (ra != rb) return ra < rb;
      if (ra == 0) return a.ends_at_ms < b.ends_at_ms;
      if (ra == 1) return a.starts_at_ms < b.starts_at_ms;
      return a.ends_at_ms > b.ends_at_ms;
    });
    json out = json::array();
    for (const Silence& s : sils) out.push_back(SilenceJson(s, now));
    return JsonResponse(200, out);
  }

  Response PostSilence(const Request& req, Router& r) {
    json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return Error(400, "body must be a JSON object");
    Silence s;
    auto str = [&](const char* key, std::string* out) -> bool {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) return true;
      if (!it->is_string()) return false;
      *out = it->get<std::string>();
      return true;
    };
    std::string starts, ends;
    if (!str("id", &s.id) || !str("createdBy", &s.created_by) || !str("comment", &s.comment) ||
        !str("startsAt", &starts) || !str("endsAt", &ends)) {
      return Error(400, "id, createdBy, comment, startsAt and endsAt must be strings");
    }
    if (s.created_by.empty()) return Error(400, "createdBy in body is required");
    if (s.comment.empty()) return Error(400, "comment in body is required");
    if (starts.empty()) return Error(400, "startsAt in body is required");
    if (ends.empty()) return Error(400, "endsAt in body is required");
    auto st = ParseRfc3339Ms(starts);
    if (!st.ok()) return Error(400, absl::StrCat("startsAt: ", st.status().message()));
    auto en = ParseRfc3339Ms(ends);
    if (!en.ok()) return Error(400, absl::StrCat("endsAt: ", en.status().message()));
    s.starts_at_ms = *st;
    s.ends_at_ms = *en;
    auto ms = j.find("matchers");
    if (ms == j.end() || !ms->is_array() || ms->empty()) {
      return Error(400, "matchers in body is required");
    }
    for (const json& m : *ms) {
      if (!m.is_object() || !m.contains("name") || !m["name"].is_string() ||
          !m.contains("value") || !m["value"].is_string() || !m.contains("isRegex") ||
          !m["isRegex"].is_boolean()) {
        return Error(400, "each matcher needs name, value (strings) and isRegex (boolean)");
      }
      bool is_equal = true;
      if (m.contains("isEqual") && !m["isEqual"].is_null()) {
        if (!m["isEqual"].is_boolean()) return Error(400, "isEqual must be a boolean");
        is_equal = m["isEqual"].get<bool>();
      }
      const bool is_regex = m["isRegex"].get<bool>();
      MatchType t = is_regex ? (is_equal ? MatchType::kRegexMatch : MatchType::kRegexNoMatch)
                             : (is_equal ? MatchType::kEqual : MatchType::kNotEqual);
      auto mm = Matcher::Make(t, m["name"].get<std::string>(), m["value"].get<std::string>());
      if (!mm.ok()) return Error(400, mm.status().message());
      s.matchers.push_back(*std::move(mm));
    }
    if (s.starts_at_ms > s.ends_at_ms) {
      return Error(400, "Failed to create silence: start time must be before end time");
    }
    if (s.ends_at_ms < o_.now_ms()) {
      return Error(400, "Failed to create silence: end time can't be in the past");
    }
    auto id = r.silences().Set(std::move(s));
    if (!id.ok()) {
      if (id.status().code() == absl::StatusCode::kNotFound) return Error(404, id.status().message());
      return Error(400, id.status().message());
    }
    return JsonResponse(200, {{"silenceID", *id}});
  }

  Response SilenceById(const Request& req, Router& r) {
    const std::string prefix = "/api/v2/silence/";
    std::string id = req.path.substr(prefix.size());
    if (id.empty() || id.find('/') != std::string::npos) return Error(404, "silence not found");
    if (req.method == Method::kDelete) {
      absl::Status s = r.silences().Expire(id);
      if (s.code() == absl::StatusCode::kNotFound) return Error(404, s.message());
      if (!s.ok()) return Error(500, s.message());
      return Response::Json(200, "");
    }
    auto s = r.silences().Get(id);
    if (!s.ok()) {
      if (s.status().code() == absl::StatusCode::kNotFound) return Error(404, s.status().message());
      return Error(500, s.status().message());
    }
    return JsonResponse(200, SilenceJson(*s, o_.now_ms()));
  }

  Response Status(Router& r) {
    const BuildInfo& b = GetBuildInfo();
    json out = {
        {"cluster", {{"name", ""}, {"peers", json::array()}, {"status", "disabled"}}},
        {"config", {{"original", r.ConfigYaml()}}},
        {"uptime", FormatRfc3339MillisMs(r.start_time_ms())},
        {"versionInfo",
         {{"branch", b.branch}, {"buildDate", b.build_date}, {"buildUser", "pharos"},
          {"goVersion", b.compiler}, {"revision", b.revision},
          {"version", kAlertmanagerCompatVersion}}}};
    return JsonResponse(200, out);
  }

  Response Receivers(Router& r) {
    json out = json::array();
    for (const auto& name : r.Receivers()) out.push_back({{"name", name}});
    return JsonResponse(200, out);
  }

  // Wraps a handler: 503 until the router is ready.
  static http::Handler With(std::shared_ptr<Api> self,
                            std::function<Response(const Request&, Router&)> fn) {
    return [self, fn = std::move(fn)](const Request& req) {
      Router* r = self->o_.router ? self->o_.router() : nullptr;
      if (r == nullptr) return Error(503, "alertmanager is not ready");
      return fn(req, *r);
    };
  }

 private:
  AlertmanagerApiOptions o_;
};

}  // namespace

void RegisterAlertmanagerApi(http::Router& router, const AlertmanagerApiOptions& opts) {
  // Owned jointly by the handlers (each lambda holds a reference).
  auto api = std::make_shared<Api>(opts);
  // Blocking: store, silences (synced disk writes) and config reload hold locks.
  const http::Router::RouteOptions blocking{.blocking = true, .metric_label = ""};
  router.Handle("/api/v2/alerts", {Method::kGet, Method::kPost},
                Api::With(api, [a = api.get()](const Request& req, Router& r) {
                  return req.method == Method::kPost ? a->PostAlerts(req, r)
                                                     : a->GetAlerts(req, r);
                }),
                blocking);
  router.Handle("/api/v2/alerts/groups", {Method::kGet},
                Api::With(api, [a = api.get()](const Request& req, Router& r) { return a->GetGroups(req, r); }),
                blocking);
  router.Handle("/api/v2/silences", {Method::kGet, Method::kPost},
                Api::With(api, [a = api.get()](const Request& req, Router& r) {
                  return req.method == Method::kPost ? a->PostSilence(req, r)
                                                     : a->GetSilences(req, r);
                }),
                blocking);
  router.Handle("/api/v2/silence/", {Method::kGet, Method::kDelete},
                Api::With(api, [a = api.get()](const Request& req, Router& r) { return a->SilenceById(req, r); }),
                http::Router::RouteOptions{.blocking = true, .metric_label = "/api/v2/silence/:id"});
  router.Handle("/api/v2/status", {Method::kGet},
                Api::With(api, [a = api.get()](const Request&, Router& r) { return a->Status(r); }), blocking);
  router.Handle("/api/v2/receivers", {Method::kGet},
                Api::With(api, [a = api.get()](const Request&, Router& r) { return a->Receivers(r); }),
                blocking);
}

}  // namespace pharos::api
