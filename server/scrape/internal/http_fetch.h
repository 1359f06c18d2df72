#pragma once

// One HTTP GET for a scrape: Beast on the caller's io_context, the whole exchange (resolve,
// connect, write, read) under one deadline, the body read aborted past a size limit. Internal
// to the scraper.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"

namespace pharos::scrape::internal {

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  std::string port;    // explicit, or 80 / 443
  std::string host_header;  // host[:port] as written in the URL
  std::string target;  // path and query
};
// http://host[:port]/path?query; IPv6 hosts in brackets.
absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url);

struct TlsClient;

struct FetchRequest {
  ParsedUrl url;
  std::shared_ptr<const TlsClient> tls;  // required for https URLs
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  uint64_t body_limit = 0;  // bytes of (possibly compressed) body; 0: none
};

struct FetchResult {
  absl::Status status;        // transport error, timeout, non-2xx status, body limit
  int http_status = 0;
  std::string content_type;
  std::string content_encoding;
  std::string body;
};

// Starts the request; `done` runs exactly once, on `ctx`'s thread. Cancel() (from any thread)
// aborts it; `done` then gets a Cancelled status.
class FetchHandle {
 public:
  virtual ~FetchHandle() = default;
  virtual void Cancel() = 0;
};
std::shared_ptr<FetchHandle> StartFetch(boost::asio::io_context& ctx, FetchRequest req,
                                        std::function<void(FetchResult)> done);

}  // namespace pharos::scrape::internal
