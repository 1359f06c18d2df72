#include "server/api/status_api.h"

#include <set>

#include "absl/time/time.h"
#include "common/json.h"
#include "common/strings.h"
#include "query/parser/parser.h"
#include "query/parser/printer.h"
#include "server/api/api_util.h"
#include "yaml-cpp/yaml.h"

namespace pharos::api {

namespace {

using http::Method;
using http::Request;
using http::Response;

void Mask(YAML::Node node) {
  static const std::set<std::string> kSecrets = {
      "password", "credentials", "bearer_token", "client_secret", "api_key", "auth_token",
      "secret_key", "routing_key", "service_key", "api_url", "webhook_url", "key"};
  if (node.IsMap()) {
    for (auto kv : node) {
      if (kv.first.IsScalar() && kSecrets.count(kv.first.Scalar()) && kv.second.IsScalar() &&
          !kv.second.Scalar().empty()) {
        kv.second = "<secret>";
      } else {
        Mask(kv.second);
      }
    }
  } else if (node.IsSequence()) {
    for (auto item : node) Mask(item);
  }
}

std::string Rfc3339(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace

std::string MaskSecrets(const std::string& yaml) {
  try {
    YAML::Node root = YAML::Load(yaml);
    Mask(root);
    YAML::Emitter out;
    out << root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception&) {
    return "";  // the config in force always parsed; nothing sensible to show otherwise
  }
}

void RegisterStatusApi(http::Router& router, const StatusApiOptions& o) {
  router.Handle("/api/v1/status/config", {Method::kGet}, [o](const Request&) {
    JsonWriter w;
    w.BeginObject();
    w.KV("yaml", MaskSecrets(o.config_yaml()));
    w.EndObject();
    return SuccessResponse(w.str());
  });

  router.Handle("/api/v1/status/runtimeinfo", {Method::kGet}, [o](const Request&) {
    RuntimeInfo ri = o.runtime_info();
    JsonWriter w;
    w.BeginObject();
    w.KV("startTime", Rfc3339(ri.start_time_ms));
    w.KV("CWD", ri.cwd);
    w.Key("reloadConfigSuccess");
    w.Bool(ri.reload_config_success);
    w.KV("lastConfigTime", Rfc3339(ri.last_config_time_ms));
    w.Key("corruptionCount");
    w.Int(0);
    w.KV("storageRetention", ri.storage_retention);
    w.EndObject();
    return SuccessResponse(w.str());
  });

  router.Handle("/api/v1/status/walreplay", {Method::kGet}, [o](const Request&) {
    // Pharos replays its WAL before it serves queries; once storage is ready, replay is done.
    bool done = o.storage_ready();
    JsonWriter w;
    w.BeginObject();
    w.Key("min");
    w.Int(0);
    w.Key("max");
    w.Int(done ? 1 : 0);
    w.Key("current");
    w.Int(done ? 1 : 0);
    w.EndObject();
    return SuccessResponse(w.str());
  });

  router.Handle("/api/v1/format_query", {Method::kGet, Method::kPost}, [](const Request& req) {
    Params p(req);
    auto q = p.Get("query");
    auto expr = promql::ParseExpr(q.value_or(""));
    if (!expr.ok()) return ErrorResponse(ErrorType::kBadData, Sv(expr.status().message()));
    JsonWriter w;
    w.String(promql::Format(**expr));
    return SuccessResponse(w.str());
  });

  // Pharos does not store exemplars (remote write counts and reports them); an empty answer
  // for a valid query is what a server without exemplars for it returns.
  router.Handle("/api/v1/query_exemplars", {Method::kGet, Method::kPost}, [](const Request& req) {
    Params p(req);
    auto q = p.Get("query");
    auto expr = promql::ParseExpr(q.value_or(""));
    if (!expr.ok()) return ErrorResponse(ErrorType::kBadData, Sv(expr.status().message()));
    for (const char* name : {"start", "end"}) {
      if (auto v = p.Get(name); v && !v->empty()) {
        auto t = ParseTimeParam(name, *v);
        if (!t.ok()) return ErrorResponse(ErrorType::kBadData, Sv(t.status().message()));
      }
    }
    return SuccessResponse("[]");
  });
}

}  // namespace pharos::api
