#pragma once

// HTTP(S) POST for the receivers, over libcurl. One easy handle per request (notifications are
// rare; connection reuse is not worth shared mutable state). Thread-safe: libcurl's global
// state is initialised once, on first use.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"

namespace pharos::alerting::notify {

struct HttpRequest {
  std::string url;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  int64_t timeout_ms = 10000;  // whole request, connect included
  // Bytes of the response body kept (the rest is read and dropped).
  size_t max_response_body = 64 * 1024;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;  // at most max_response_body bytes
};

// The transport error when no HTTP response was received (connection refused, DNS, TLS,
// timeout): kUnavailable, or kDeadlineExceeded for a timeout. Bad configuration (an unreadable
// credentials file, a bad CA file) is kFailedPrecondition / kInvalidArgument. The message
// never contains the URL's credentials.
absl::StatusOr<HttpResponse> HttpPost(const HttpRequest& req, const am::HttpConfig& config);

// Alertmanager's retry policy for an HTTP answer: 2xx is success; 5xx and 429 are worth
// retrying; other codes are not.
bool IsRetryableStatus(int status);
// Whether an HttpPost error is worth retrying (transport errors yes, configuration errors no).
bool IsRetryableError(const absl::Status& status);

// "User-Agent" value sent with every request.
const std::string& UserAgent();

// Returns the URL with any userinfo (user:password@) removed, for error messages and logs.
std::string RedactUrl(const std::string& url);

// Reads a secret file (*_file config fields), trailing and leading whitespace trimmed as
// Prometheus's common config does.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace pharos::alerting::notify
