#include "server/api/targets_api.h"

#include <time.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/units.h"
#include "server/api/api_util.h"
#include "server/scrape/manager.h"

namespace pharos::api {

namespace {

using http::Method;
using http::Request;
using http::Response;

void WriteLabels(JsonWriter& w, const Labels& ls) {
  w.BeginObject();
  for (const Label& l : ls) w.KV(l.name, l.value);
  w.EndObject();
}

http::Handler WithManager(std::function<scrape::ScrapeManager*()> get,
                          std::function<Response(scrape::ScrapeManager*, const Request&)> fn) {
  return [get = std::move(get), fn = std::move(fn)](const Request& req) {
    scrape::ScrapeManager* m = get();
    if (!m) return ErrorResponse(ErrorType::kUnavailable, "scrape manager is still starting up");
    return fn(m, req);
  };
}

bool MatchesAll(const std::vector<Matcher>& ms, const Labels& ls) {
  for (const Matcher& m : ms) {
    if (!m.Matches(ls.Get(m.name()))) return false;
  }
  return true;
}

// An optional non-negative integer parameter; absent or empty gives `dflt`.
absl::StatusOr<int64_t> IntParam(const Params& p, std::string_view name, int64_t dflt) {
  auto v = p.Get(name);
  if (!v || v->empty()) return dflt;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0') {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", Av(name), ": \"", *v, "\""));
  }
  return static_cast<int64_t>(n);
}

Response Targets(scrape::ScrapeManager* m, const Request& req) {
  Params p(req);
  std::string state = p.Get("state").value_or("");
  for (char& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool any = state.empty() || state == "any";
  const bool show_active = any || state == "active";
  const bool show_dropped = any || state == "dropped";
  std::vector<std::string> pools = p.GetAll("scrapePool");
  auto pool_ok = [&](const std::string& pool) {
    return pools.empty() || std::find(pools.begin(), pools.end(), pool) != pools.end();
  };
  scrape::TargetsSnapshot snap = m->Targets();
  JsonWriter w;
  w.BeginObject();
  w.Key("activeTargets");
  w.BeginArray();
  if (show_active) {
    for (const auto& t : snap.active) {
      if (!pool_ok(t.scrape_pool)) continue;
      w.BeginObject();
      w.Key("discoveredLabels");
      WriteLabels(w, t.discovered_labels);
      w.Key("labels");
      WriteLabels(w, t.labels);
      w.KV("scrapePool", t.scrape_pool);
      w.KV("scrapeUrl", t.scrape_url);
      w.KV("globalUrl", t.scrape_url);
      w.KV("lastError", t.status.last_error);
      w.KV("lastScrape", FormatRfc3339NanoMs(t.status.last_scrape_ms));
      w.Key("lastScrapeDuration");
      w.Double(t.status.last_duration_s);
      w.KV("health", scrape::HealthName(t.status.health));
      w.KV("scrapeInterval", FormatDurationMs(t.interval_ms));
      w.KV("scrapeTimeout", FormatDurationMs(t.timeout_ms));
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("droppedTargets");
  w.BeginArray();
  if (show_dropped) {
    for (const auto& d : snap.dropped) {
      if (!pool_ok(d.scrape_pool)) continue;
      w.BeginObject();
      w.Key("discoveredLabels");
      WriteLabels(w, d.discovered_labels);
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("droppedTargetCounts");
  if (show_dropped) {
    w.BeginObject();
    for (const auto& [pool, n] : snap.dropped_counts) {
      if (!pool_ok(pool)) continue;
      w.Key(pool);
      w.Int(static_cast<int64_t>(n));
    }
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return SuccessResponse(w.str());
}

Response TargetMetadata(scrape::ScrapeManager* m, const Request& req) {
  Params p(req);
  auto limit = IntParam(p, "limit", -1);
  if (!limit.ok()) return ErrorResponse(ErrorType::kBadData, Sv(limit.status().message()));
  std::vector<Matcher> matchers;
  if (auto mt = p.Get("match_target"); mt && !mt->empty()) {
    auto sets = ParseMatchParams({*mt});
    if (!sets.ok()) return ErrorResponse(ErrorType::kBadData, Sv(sets.status().message()));
    matchers = std::move((*sets)[0]);
  }
  const std::string metric = p.Get("metric").value_or("");
  JsonWriter w;
  w.BeginArray();
  int64_t n = 0;
  for (const auto& t : m->Metadata()) {
    if (*limit >= 0 && n >= *limit) break;
    if (!MatchesAll(matchers, t.target)) continue;
    for (const auto& md : t.metadata) {
      if (*limit >= 0 && n >= *limit) break;
      if (!metric.empty() && md.metric != metric) continue;
      w.BeginObject();
      w.Key("target");
      WriteLabels(w, t.target);
      if (metric.empty()) w.KV("metric", md.metric);
      w.KV("type", md.type);
      w.KV("help", md.help);
      w.KV("unit", md.unit);
      w.EndObject();
      ++n;
    }
  }
  w.EndArray();
  return SuccessResponse(w.str());
}

Response Metadata(scrape::ScrapeManager* m, const Request& req) {
  Params p(req);
  auto limit = IntParam(p, "limit", -1);
  if (!limit.ok()) return ErrorResponse(ErrorType::kBadData, Sv(limit.status().message()));
  auto per_metric = IntParam(p, "limit_per_metric", -1);
  if (!per_metric.ok()) return ErrorResponse(ErrorType::kBadData, Sv(per_metric.status().message()));
  const std::string metric = p.Get("metric").value_or("");
  // metric -> distinct (type, help, unit), in first-seen order.
  std::map<std::string, std::vector<std::tuple<std::string, std::string, std::string>>> all;
  for (const auto& t : m->Metadata()) {
    for (const auto& md : t.metadata) {
      if (!metric.empty() && md.metric != metric) continue;
      auto& v = all[md.metric];
      auto entry = std::make_tuple(md.type, md.help, md.unit);
      if (std::find(v.begin(), v.end(), entry) == v.end()) v.push_back(std::move(entry));
    }
  }
  JsonWriter w;
  w.BeginObject();
  int64_t n = 0;
  for (const auto& [name, entries] : all) {
    if (*limit >= 0 && n >= *limit) break;
    w.Key(name);
    w.BeginArray();
    int64_t k = 0;
    for (const auto& [type, help, unit] : entries) {
      if (*per_metric > 0 && k >= *per_metric) break;
      w.BeginObject();
      w.KV("type", type);
      w.KV("help", help);
      w.KV("unit", unit);
      w.EndObject();
      ++k;
    }
    w.EndArray();
    ++n;
  }
  w.EndObject();
  return SuccessResponse(w.str());
}

}  // namespace

void RegisterTargetsApi(http::Router& router, const TargetsApiOptions& o) {
  // Blocking: snapshots take the manager's locks, which a reload holds while it restarts loops.
  const http::Router::RouteOptions blocking{.blocking = true, .metric_label = ""};
  router.Handle("/api/v1/targets", {Method::kGet}, WithManager(o.manager, Targets), blocking);
  router.Handle("/api/v1/targets/metadata", {Method::kGet},
                WithManager(o.manager, TargetMetadata), blocking);
  router.Handle("/api/v1/metadata", {Method::kGet}, WithManager(o.manager, Metadata), blocking);
}

}  // namespace pharos::api
