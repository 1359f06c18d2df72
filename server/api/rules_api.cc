#include "server/api/rules_api.h"

#include <charconv>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "alerting/rules/manager.h"
#include "common/json.h"
#include "common/units.h"
#include "server/api/api_util.h"

namespace pharos::api {

namespace {

using alerting::rules::ActiveAlert;
using alerting::rules::AlertState;
using alerting::rules::GroupInfo;
using alerting::rules::kZeroTime;
using alerting::rules::Manager;
using alerting::rules::RuleInfo;
using http::Method;
using http::Request;
using http::Response;

std::string Time(int64_t ms) { return FormatRfc3339NanoMs(ms == kZeroTime ? 0 : ms); }

void WriteLabels(JsonWriter& w, const Labels& ls) {
  w.BeginObject();
  for (const Label& l : ls) w.KV(l.name, l.value);
  w.EndObject();
}

void WritePairs(JsonWriter& w, const std::vector<std::pair<std::string, std::string>>& ls) {
  w.BeginObject();
  for (const auto& [k, v] : ls) w.KV(k, v);
  w.EndObject();
}

void WriteAlert(JsonWriter& w, const ActiveAlert& a) {
  w.BeginObject();
  w.Key("labels");
  WriteLabels(w, a.labels);
  w.Key("annotations");
  WriteLabels(w, a.annotations);
  w.KV("state", alerting::rules::AlertStateName(a.state));
  w.KV("activeAt", Time(a.active_at_ms));
  if (a.keep_firing_since_ms != kZeroTime) w.KV("keepFiringSince", Time(a.keep_firing_since_ms));
  w.KV("value", FormatAlertValue(a.value));
  w.EndObject();
}

// The alerts the API shows: pending and firing (resolved ones are kept only for sending).
std::vector<const ActiveAlert*> Active(const RuleInfo& r) {
  std::vector<const ActiveAlert*> out;
  for (const auto& a : r.alerts) {
    if (a.state != AlertState::kInactive) out.push_back(&a);
  }
  return out;
}

void WriteRule(JsonWriter& w, const RuleInfo& r) {
  w.BeginObject();
  if (r.alerting) {
    w.KV("state", alerting::rules::AlertStateName(r.state));
    w.KV("name", r.name);
    w.KV("query", r.query);
    w.Key("duration");
    w.Double(static_cast<double>(r.for_ms) / 1000.0);
    w.Key("keepFiringFor");
    w.Double(static_cast<double>(r.keep_firing_for_ms) / 1000.0);
    w.Key("labels");
    WritePairs(w, r.labels);
    w.Key("annotations");
    WriteLabels(w, r.annotations);
    w.Key("alerts");
    w.BeginArray();
    for (const ActiveAlert* a : Active(r)) WriteAlert(w, *a);
    w.EndArray();
  } else {
    w.KV("name", r.name);
    w.KV("query", r.query);
    if (!r.labels.empty()) {
      w.Key("labels");
      WritePairs(w, r.labels);
    }
  }
  w.KV("health", alerting::rules::RuleHealthName(r.status.health));
  if (!r.status.last_error.empty()) w.KV("lastError", r.status.last_error);
  w.Key("evaluationTime");
  w.Double(r.status.eval_seconds);
  w.KV("lastEvaluation", Time(r.status.last_eval_ms));
  w.KV("type", r.alerting ? "alerting" : "recording");
  w.EndObject();
}

Response Rules(Manager* m, const Request& req) {
  Params p(req);
  std::string type = p.Get("type").value_or("");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!type.empty() && type != "alert" && type != "record") {
    return ErrorResponse(ErrorType::kBadData,
                         absl::StrCat("invalid parameter \"type\": not supported value \"",
                                      p.Get("type").value_or(""), "\""));
  }
  auto to_set = [&](std::string_view name) {
    auto v = p.GetAll(name);
    return std::set<std::string>(v.begin(), v.end());
  };
  const std::set<std::string> names = to_set("rule_name[]");
  const std::set<std::string> groups = to_set("rule_group[]");
  const std::set<std::string> files = to_set("file[]");
  const bool filtered = !type.empty() || !names.empty() || !groups.empty() || !files.empty();

  JsonWriter w;
  w.BeginObject();
  w.Key("groups");
  w.BeginArray();
  for (const GroupInfo& g : m->Groups()) {
    if (!groups.empty() && !groups.count(g.name)) continue;
    if (!files.empty() && !files.count(g.file)) continue;
    std::vector<const RuleInfo*> rules;
    for (const RuleInfo& r : g.rules) {
      if (type == "alert" && !r.alerting) continue;
      if (type == "record" && r.alerting) continue;
      if (!names.empty() && !names.count(r.name)) continue;
      rules.push_back(&r);
    }
    // As Prometheus: a group whose rules were all filtered out is left out.
    if (filtered && rules.empty()) continue;
    w.BeginObject();
    w.KV("name", g.name);
    w.KV("file", g.file);
    w.Key("rules");
    w.BeginArray();
    for (const RuleInfo* r : rules) WriteRule(w, *r);
    w.EndArray();
    w.Key("interval");
    w.Double(static_cast<double>(g.interval_ms) / 1000.0);
    w.Key("limit");
    w.Int(static_cast<int64_t>(g.limit));
    w.Key("evaluationTime");
    w.Double(g.eval_seconds);
    w.KV("lastEvaluation", Time(g.last_eval_ms));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return SuccessResponse(w.str());
}

Response Alerts(Manager* m, const Request&) {
  JsonWriter w;
  w.BeginObject();
  w.Key("alerts");
  w.BeginArray();
  for (const GroupInfo& g : m->Groups()) {
    for (const RuleInfo& r : g.rules) {
      if (!r.alerting) continue;
      for (const ActiveAlert* a : Active(r)) WriteAlert(w, *a);
    }
  }
  w.EndArray();
  w.EndObject();
  return SuccessResponse(w.str());
}

http::Handler WithManager(std::function<Manager*()> get,
                          std::function<Response(Manager*, const Request&)> fn) {
  return [get = std::move(get), fn = std::move(fn)](const Request& req) {
    Manager* m = get();
    if (!m) return ErrorResponse(ErrorType::kUnavailable, "rule manager is still starting up");
    return fn(m, req);
  };
}

}  // namespace

std::string FormatAlertValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

void RegisterRulesApi(http::Router& router, const RulesApiOptions& o) {
  // Blocking: snapshots take the groups' locks and copy their alerts.
  const http::Router::RouteOptions blocking{.blocking = true, .metric_label = ""};
  router.Handle("/api/v1/rules", {Method::kGet, Method::kPost}, WithManager(o.manager, Rules),
                blocking);
  router.Handle("/api/v1/alerts", {Method::kGet, Method::kPost}, WithManager(o.manager, Alerts),
                blocking);
}

}  // namespace pharos::api
