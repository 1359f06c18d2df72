#include "server/api/query_api.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/json.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "query/engine/engine.h"
#include "server/api/api_util.h"
#include "spdlog/spdlog.h"

namespace pharos::api {

namespace {

using http::Method;
using http::Request;
using http::Response;

void AppendPoint(std::string* out, int64_t t, double v) {
  out->push_back('[');
  AppendPromTimestamp(out, t);
  out->append(",\"");
  AppendPromFloat(out, v);
  out->append("\"]");
}

void AppendMetric(std::string* out, const Labels& labels) {
  out->push_back('{');
  bool first = true;
  for (const Label& l : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonEscaped(out, l.name);
    out->push_back(':');
    AppendJsonEscaped(out, l.value);
  }
  out->push_back('}');
}

std::string RenderResult(const promql::QueryResult& r) {
  std::string out = "{\"resultType\":\"";
  out.append(promql::ResultTypeName(r.type));
  out.append("\",\"result\":");
  switch (r.type) {
    case promql::ResultType::kScalar:
      AppendPoint(&out, r.scalar.t, r.scalar.v);
      break;
    case promql::ResultType::kString:
      out.push_back('[');
      AppendPromTimestamp(&out, r.t);
      out.push_back(',');
      AppendJsonEscaped(&out, r.string_value);
      out.push_back(']');
      break;
    case promql::ResultType::kVector:
    case promql::ResultType::kMatrix: {
      const bool matrix = r.type == promql::ResultType::kMatrix;
      out.push_back('[');
      for (size_t i = 0; i < r.series.size(); ++i) {
        if (i) out.push_back(',');
        const auto& s = r.series[i];
        out.append("{\"metric\":");
        AppendMetric(&out, s.labels);
        if (matrix) {
          out.append(",\"values\":[");
          for (size_t j = 0; j < s.points.size(); ++j) {
            if (j) out.push_back(',');
            AppendPoint(&out, s.points[j].t, s.points[j].v);
          }
          out.push_back(']');
        } else if (!s.points.empty()) {
          out.append(",\"value\":");
          AppendPoint(&out, s.points[0].t, s.points[0].v);
        }
        out.push_back('}');
      }
      out.push_back(']');
      break;
    }
  }
  out.push_back('}');
  return out;
}

ErrorType ToApiError(promql::ErrorType t) {
  switch (t) {
    case promql::ErrorType::kBadData: return ErrorType::kBadData;
    case promql::ErrorType::kExecution: return ErrorType::kExecution;
    case promql::ErrorType::kTimeout: return ErrorType::kTimeout;
    case promql::ErrorType::kCanceled: return ErrorType::kCanceled;
    default: return ErrorType::kInternal;
  }
}

class QueryHandler {
 public:
  explicit QueryHandler(const QueryApiOptions& o) : opts_(o) {
    auto& r = *o.registry;
    duration_ = &r.AddHistogram("pharos_query_duration_seconds",
                                "PromQL query evaluation time, by endpoint.", {"endpoint"},
                                DefaultLatencyBuckets());
    errors_ = &r.AddCounter("pharos_query_errors_total", "PromQL queries that failed, by type.",
                            {"type"});
  }

  Response Instant(const Request& req) {
    Params p(req);
    auto query = p.Get("query");
    int64_t t = opts_.now_ms();
    if (auto v = p.Get("time"); v && !v->empty()) {
      auto parsed = ParseTimeParam("time", *v);
      if (!parsed.ok()) return Bad(parsed.status());
      t = *parsed;
    }
    if (auto to = CheckTimeout(p); !to.ok()) return Bad(to);
    return Run("query", [&](storage::Queryable& q) {
      return opts_.engine->InstantQuery(q, query.value_or(""), t);
    });
  }

  Response Range(const Request& req) {
    Params p(req);
    auto query = p.Get("query");
    auto start = ParseTimeParam("start", p.Get("start").value_or(""));
    if (!start.ok()) return Bad(start.status());
    auto end = ParseTimeParam("end", p.Get("end").value_or(""));
    if (!end.ok()) return Bad(end.status());
    if (*end < *start) {
      return ErrorResponse(ErrorType::kBadData,
                           "invalid parameter \"end\": end timestamp must not be before start time");
    }
    auto step = ParseDurationParam("step", p.Get("step").value_or(""));
    if (!step.ok()) return Bad(step.status());
    if (*step <= 0) {
      return ErrorResponse(ErrorType::kBadData,
                           "invalid parameter \"step\": zero or negative query resolution step "
                           "widths are not accepted. Try a positive integer");
    }
    if ((*end - *start) / *step > opts_.max_points_per_series) {
      return ErrorResponse(ErrorType::kBadData,
                           "exceeded maximum resolution of 11,000 points per timeseries. Try "
                           "decreasing the query resolution (?step=XX)");
    }
    if (auto to = CheckTimeout(p); !to.ok()) return Bad(to);
    return Run("query_range", [&](storage::Queryable& q) {
      return opts_.engine->RangeQuery(q, query.value_or(""), *start, *end, *step);
    });
  }

 private:
  absl::Status CheckTimeout(const Params& p) {
    if (auto v = p.Get("timeout"); v && !v->empty()) {
      auto d = ParseDurationParam("timeout", *v);
      if (!d.ok()) return d.status();
    }
    return absl::OkStatus();
  }

  Response Bad(const absl::Status& s) { return ErrorResponse(ErrorType::kBadData, Sv(s.message())); }

  template <typename F>
  Response Run(const char* endpoint, F&& eval) {
    storage::Queryable* q = opts_.storage();
    if (!q) return ErrorResponse(ErrorType::kUnavailable, "storage is still starting up");
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<promql::QueryResult> r = eval(*q);
    duration_->WithLabels({endpoint}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!r.ok()) {
      promql::ErrorType et = promql::ErrorTypeOf(r.status());
      errors_->WithLabels({std::string(promql::ErrorTypeName(et))}).Inc();
      return ErrorResponse(ToApiError(et), Sv(r.status().message()));
    }
    return SuccessResponse(RenderResult(*r), r->warnings, r->infos);
  }

  QueryApiOptions opts_;
  HistogramFamily* duration_;
  CounterFamily* errors_;
};

}  // namespace

void RegisterQueryApi(http::Router& router, const QueryApiOptions& options) {
  auto h = std::make_shared<QueryHandler>(options);
  router.Handle("/api/v1/query", {Method::kGet, Method::kPost},
                [h](const Request& req) { return h->Instant(req); },
                {.blocking = true, .metric_label = "", .max_inflight = 0, .query_pool = true});
  router.Handle("/api/v1/query_range", {Method::kGet, Method::kPost},
                [h](const Request& req) { return h->Range(req); },
                {.blocking = true, .metric_label = "", .max_inflight = 0, .query_pool = true});
}

}  // namespace pharos::api
