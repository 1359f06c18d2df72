#pragma once

// Lean request/response types for handlers. Handlers never see Beast: they take a Request and
// return a Response, which keeps their translation units light and testable without a socket.

#include <atomic>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pharos::http {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch, kOther };
std::string_view MethodName(Method m);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path plus optional ?query
  std::string path;    // percent-decoded path
  std::string query;   // raw query string, without '?'
  HeaderList headers;  // names in lower case
  std::string body;
  std::string remote_address;

  // First header with this name (case-insensitive), or empty.
  std::string_view Header(std::string_view name) const;
  // Query parameters, then for a form-urlencoded POST body, its parameters; decoded, in order.
  std::vector<std::pair<std::string, std::string>> Params() const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HeaderList headers;
  std::string body;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// Decodes application/x-www-form-urlencoded text ("a=1&b=x%20y") into pairs.
std::vector<std::pair<std::string, std::string>> ParseUrlEncoded(std::string_view s);
// Percent-decoding; '+' becomes a space when `plus_is_space`.
std::string UrlDecode(std::string_view s, bool plus_is_space);

// Maps paths to handlers. Exact paths, or prefixes ending in '/' (e.g. "/api/v1/label/").
class Router {
 public:
  struct RouteOptions {
    // Run on the worker pool rather than the I/O thread: anything that may block (storage,
    // queries, disk, config reload).
    bool blocking = false;
    // Value of the `handler` label in pharos_http_* metrics; defaults to the path.
    std::string metric_label;
    // Requests of this route allowed in flight at once (queued or running); more get 503 with
    // Retry-After instead of queueing without bound. 0: no limit. Blocking routes only.
    int max_inflight = 0;
    // Run on the query pool instead of the worker pool (long-running PromQL evaluation must
    // not hold up writes). Blocking routes only.
    bool query_pool = false;
  };
  struct Route {
    std::string path;
    bool prefix = false;
    std::vector<Method> methods;
    Handler handler;
    RouteOptions options;
    std::shared_ptr<std::atomic<int>> inflight = std::make_shared<std::atomic<int>>(0);
  };

  void Handle(std::string path, std::vector<Method> methods, Handler handler,
              RouteOptions options);
  void Handle(std::string path, std::vector<Method> methods, Handler handler) {
    Handle(std::move(path), std::move(methods), std::move(handler), RouteOptions());
  }

  struct Match {
    const Route* route = nullptr;  // set when path and method match
    bool path_known = false;       // path matched but not the method (405)
    std::string allow;             // Allow header for a 405
  };
  Match Find(std::string_view path, Method method) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace pharos::http
