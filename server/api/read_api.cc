#include "server/api/read_api.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/strings.h"
#include "server/api/api_util.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::api {

namespace {

using http::Method;
using http::Request;
using http::Response;

struct Range {
  int64_t start = kMinTimeMs, end = kMaxTimeMs;
};

absl::StatusOr<Range> ParseRange(const Params& p) {
  Range r;
  if (auto s = p.Get("start"); s && !s->empty()) {
    auto t = ParseTimeParam("start", *s);
    if (!t.ok()) return t.status();
    r.start = *t;
  }
  if (auto e = p.Get("end"); e && !e->empty()) {
    auto t = ParseTimeParam("end", *e);
    if (!t.ok()) return t.status();
    r.end = *t;
  }
  if (r.end < r.start) {
    return absl::InvalidArgumentError("invalid parameter \"end\": end timestamp must not be before start time");
  }
  return r;
}

// A label name from the URL path: valid UTF-8, and Prometheus 3.x's "U__" escaping undone.
absl::StatusOr<std::string> PathLabelName(std::string_view raw) {
  std::string name(raw);
  if (name.rfind("U__", 0) == 0) {
    // U__ escaping: '_' stays, "__" is '_', "_<hex>_" is a code point.
    std::string out;
    size_t i = 3;
    while (i < name.size()) {
      if (name[i] != '_') {
        out.push_back(name[i++]);
        continue;
      }
      if (i + 1 < name.size() && name[i + 1] == '_') {
        out.push_back('_');
        i += 2;
        continue;
      }
      size_t close = name.find('_', i + 1);
      if (close == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("invalid label name: \"", name, "\""));
      uint32_t cp = static_cast<uint32_t>(std::strtoul(name.substr(i + 1, close - i - 1).c_str(), nullptr, 16));
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      }
      i = close + 1;
    }
    name = std::move(out);
  }
  if (name.empty() || !IsValidUtf8(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid label name: \"", name, "\""));
  }
  return name;
}

Response BadData(const absl::Status& s) { return ErrorResponse(ErrorType::kBadData, Sv(s.message())); }

Response FromStorage(const absl::Status& s) {
  return ErrorResponse(absl::IsUnavailable(s) ? ErrorType::kUnavailable : ErrorType::kInternal,
                       Sv(s.message()));
}

Response StringList(std::vector<std::string> items, size_t limit) {
  std::vector<std::string> warnings;
  if (limit > 0 && items.size() > limit) {
    items.resize(limit);
    warnings.push_back("results truncated due to limit");
  }
  JsonWriter w;
  w.BeginArray();
  for (const auto& s : items) w.String(s);
  w.EndArray();
  return SuccessResponse(w.str(), warnings);
}

// Union over match[] selectors (or everything when there are none) of label names/values.
Response NamesOrValues(storage::DB* db, const Request& req, const std::string* value_of) {
  Params p(req);
  auto range = ParseRange(p);
  if (!range.ok()) return BadData(range.status());
  auto limit = ParseLimitParam(p);
  if (!limit.ok()) return BadData(limit.status());
  auto sets = ParseMatchParams(p.GetAll("match[]"));
  if (!sets.ok()) return BadData(sets.status());
  auto q = db->NewQuerier(range->start, range->end);
  if (!q.ok()) return FromStorage(q.status());
  std::set<std::string> all;
  std::vector<std::vector<Matcher>> selectors = std::move(*sets);
  if (selectors.empty()) selectors.emplace_back();
  for (const auto& ms : selectors) {
    auto r = value_of ? (*q)->LabelValues(*value_of, ms) : (*q)->LabelNames(ms);
    if (!r.ok()) return FromStorage(r.status());
    all.insert(r->begin(), r->end());
  }
  return StringList({all.begin(), all.end()}, *limit);
}

}  // namespace

// Wraps a handler that needs the store: 503 while it is recovering.
http::Handler WithDB(std::function<storage::DB*()> get,
                     std::function<Response(storage::DB*, const Request&)> fn) {
  return [get = std::move(get), fn = std::move(fn)](const Request& req) {
    storage::DB* db = get();
    if (!db) return ErrorResponse(ErrorType::kUnavailable, "storage is still starting up");
    return fn(db, req);
  };
}

void RegisterReadApi(http::Router& router, const ReadApiOptions& o) {
  const http::Router::RouteOptions blocking{.blocking = true, .metric_label = ""};

  router.Handle("/api/v1/series", {Method::kGet, Method::kPost}, WithDB(o.db, [](storage::DB* db, const Request& req) {
    Params p(req);
    auto matches = p.GetAll("match[]");
    if (matches.empty()) {
      return ErrorResponse(ErrorType::kBadData, "no match[] parameter provided");
    }
    auto range = ParseRange(p);
    if (!range.ok()) return BadData(range.status());
    auto limit = ParseLimitParam(p);
    if (!limit.ok()) return BadData(limit.status());
    auto sets = ParseMatchParams(matches);
    if (!sets.ok()) return BadData(sets.status());
    auto q = db->NewQuerier(range->start, range->end);
    if (!q.ok()) return FromStorage(q.status());
    std::set<Labels> seen;
    storage::SelectHints hints;
    hints.labels_only = true;
    for (const auto& ms : *sets) {
      auto set = (*q)->Select(ms, hints);
      while (set->Next()) seen.insert(set->At().labels());
      if (!set->Err().ok()) return FromStorage(set->Err());
    }
    std::vector<std::string> warnings;
    JsonWriter w;
    w.BeginArray();
    size_t n = 0;
    for (const Labels& l : seen) {
      if (*limit > 0 && n == *limit) {
        warnings.push_back("results truncated due to limit");
        break;
      }
      w.BeginObject();
      for (const Label& lab : l) w.KV(lab.name, lab.value);
      w.EndObject();
      ++n;
    }
    w.EndArray();
    return SuccessResponse(w.str(), warnings);
  }), blocking);

  router.Handle("/api/v1/labels", {Method::kGet, Method::kPost}, WithDB(o.db, [](storage::DB* db, const Request& req) {
    return NamesOrValues(db, req, nullptr);
  }), blocking);

  router.Handle("/api/v1/label/", {Method::kGet}, WithDB(o.db, [](storage::DB* db, const Request& req) {
    // /api/v1/label/<name>/values
    std::string_view rest = std::string_view(req.path).substr(std::string_view("/api/v1/label/").size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(slash) != "/values") {
      return Response::Text(404, "404 page not found\n");
    }
    auto name = PathLabelName(rest.substr(0, slash));
    if (!name.ok()) return BadData(name.status());
    return NamesOrValues(db, req, &*name);
  }), {.blocking = true, .metric_label = "/api/v1/label/:name/values"});

  router.Handle("/api/v1/status/tsdb", {Method::kGet}, WithDB(o.db, [](storage::DB* db, const Request& req) {
    Params p(req);
    size_t limit = 10;
    if (auto l = p.Get("limit"); l && !l->empty()) {
      auto v = ParseLimitParam(p);
      if (!v.ok() || *v == 0) {
        return ErrorResponse(ErrorType::kBadData, "limit must be a positive number");
      }
      limit = *v;
    }
    storage::DBStats st = db->Stats(limit);
    JsonWriter w;
    w.BeginObject();
    w.Key("headStats");
    w.BeginObject();
    w.Key("numSeries");
    w.Int(static_cast<int64_t>(st.num_series));
    w.Key("numLabelPairs");
    w.Int(static_cast<int64_t>(st.num_label_pairs));
    w.Key("chunkCount");
    w.Int(static_cast<int64_t>(st.head_chunks));
    w.Key("minTime");
    w.Int(st.min_time);
    w.Key("maxTime");
    w.Int(st.max_time);
    w.EndObject();
    auto list = [&](const char* key, const std::vector<storage::DBStats::Count>& items) {
      w.Key(key);
      w.BeginArray();
      for (const auto& c : items) {
        w.BeginObject();
        w.KV("name", c.name);
        w.Key("value");
        w.Int(static_cast<int64_t>(c.value));
        w.EndObject();
      }
      w.EndArray();
    };
    list("seriesCountByMetricName", st.series_by_metric);
    list("labelValueCountByLabelName", st.label_value_counts);
    list("memoryInBytesByLabelName", st.memory_by_label_name);
    list("seriesCountByLabelValuePair", st.series_by_label_pair);
    w.EndObject();
    return SuccessResponse(w.str());
  }), blocking);
}

}  // namespace pharos::api
