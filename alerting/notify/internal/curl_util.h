#pragma once

// Shared by the HTTP and SMTP senders (both over libcurl).

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace pharos::alerting::notify::internal {

// curl_global_init, once per process (it is not thread-safe; the handles are).
void EnsureCurlGlobalInit();

// A CURLcode as a status with a readable message: kDeadlineExceeded for timeouts,
// kUnavailable for connection/DNS/TLS handshake failures, kFailedPrecondition for bad TLS
// files, kInvalidArgument for bad URLs, kPermissionDenied for rejected logins.
absl::Status CurlError(int code, const char* errbuf, int64_t timeout_ms);

// ASCII whitespace trimmed (Debian's absl::StripAsciiWhitespace wants absl::string_view).
inline std::string_view TrimSpace(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace pharos::alerting::notify::internal
