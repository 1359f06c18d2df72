#include "alerting/notify/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "alerting/notify/internal/curl_util.h"
#include "common/strings.h"

#ifndef PHAROS_VERSION_STRING
#define PHAROS_VERSION_STRING "dev"
#endif

namespace pharos::alerting::notify {

namespace internal {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status CurlError(int code, const char* errbuf, int64_t timeout_ms) {
  auto c = static_cast<CURLcode>(code);
  std::string detail = errbuf != nullptr && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(c);
  switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(
          absl::StrCat("timed out after ", timeout_ms, "ms (", detail, ")"));
    case CURLE_COULDNT_CONNECT:
      return absl::UnavailableError(absl::StrCat("connection failed: ", detail));
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return absl::UnavailableError(absl::StrCat("cannot resolve host: ", detail));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", detail));
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
      return absl::FailedPreconditionError(absl::StrCat("TLS configuration: ", detail));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat("bad URL: ", detail));
    case CURLE_LOGIN_DENIED:
      return absl::PermissionDeniedError(absl::StrCat("authentication failed: ", detail));
    default:
      return absl::UnavailableError(detail);
  }
}

}  // namespace internal

namespace {

struct BodySink {
  std::string* out;
  size_t max;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  size_t n = size * nmemb;
  if (sink->out->size() < sink->max) {
    sink->out->append(ptr, std::min(n, sink->max - sink->out->size()));
  }
  return n;  // read and drop the rest so the connection finishes cleanly
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::string CurlUrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* s = nullptr;
  if (curl_url_get(u, part, &s, flags) != CURLUE_OK || s == nullptr) return "";
  std::string out(s);
  curl_free(s);
  return out;
}

// Go's tls.Config.ServerName: SNI and certificate verification use `server_name` while the
// TCP connection goes to the URL's host, and the Host header stays the URL's. In curl: the URL
// names server_name, CONNECT_TO maps it to the real host, and the Host header is explicit.
struct ServerNameRewrite {
  std::string url, connect_to, host_header;
};
absl::StatusOr<ServerNameRewrite> RewriteForServerName(const std::string& url,
                                                       const std::string& server_name) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL: ", RedactUrl(url)));
  }
  std::string host = CurlUrlPart(u.get(), CURLUPART_HOST);
  std::string port = CurlUrlPart(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  std::string explicit_port = CurlUrlPart(u.get(), CURLUPART_PORT);
  ServerNameRewrite r;
  r.host_header = explicit_port.empty() ? host : absl::StrCat(host, ":", explicit_port);
  r.connect_to = absl::StrCat(server_name, ":", port, ":", host, ":", port);
  if (curl_url_set(u.get(), CURLUPART_HOST, server_name.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("bad tls_server_name: ", server_name));
  }
  r.url = CurlUrlPart(u.get(), CURLUPART_URL);
  return r;
}

}  // namespace

const std::string& UserAgent() {
  static const std::string* ua = new std::string(absl::StrCat("Pharos/", PHAROS_VERSION_STRING));
  return *ua;
}

bool IsRetryableStatus(int status) { return status / 100 == 5 || status == 429; }

bool IsRetryableError(const absl::Status& status) {
  if (status.ok()) return false;
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

std::string RedactUrl(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto start = scheme + 3;
  auto end = url.find_first_of("/?#", start);
  auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "<redacted>@" + url.substr(at + 1);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::string(internal::TrimSpace(ss.str()));
}

absl::StatusOr<HttpResponse> HttpPost(const HttpRequest& req, const am::HttpConfig& config) {
  internal::EnsureCurlGlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::ResourceExhaustedError("curl_easy_init failed");
  CURL* c = curl.get();

  std::string url = req.url;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  std::unique_ptr<curl_slist, SlistDeleter> connect_to;
  auto add_header = [&headers](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  add_header(absl::StrCat("Content-Type: ", req.content_type));
  add_header(absl::StrCat("User-Agent: ", UserAgent()));
  add_header("Expect:");  // no 100-continue round trip for larger bodies

  if (!config.tls_server_name.empty()) {
    auto r = RewriteForServerName(url, config.tls_server_name);
    if (!r.ok()) return r.status();
    url = r->url;
    connect_to.reset(curl_slist_append(nullptr, r->connect_to.c_str()));
    add_header(absl::StrCat("Host: ", r->host_header));
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }

  // Credentials: Authorization header (type + credentials), the deprecated bearer_token, or
  // basic auth. Files are read now so rotated secrets are picked up without a reload.
  std::string credentials = config.authorization_credentials;
  if (!config.authorization_credentials_file.empty()) {
    auto s = ReadSecretFile(config.authorization_credentials_file);
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat(
                     "authorization credentials_file: ", s.status().message()));
    credentials = *s;
  }
  std::string auth_type = config.authorization_type.empty() ? "Bearer" : config.authorization_type;
  if (credentials.empty()) {
    credentials = config.bearer_token;
    if (!config.bearer_token_file.empty()) {
      auto s = ReadSecretFile(config.bearer_token_file);
      if (!s.ok()) return absl::FailedPreconditionError(
                       absl::StrCat("bearer_token_file: ", s.status().message()));
      credentials = *s;
    }
    auth_type = "Bearer";
  }
  if (!credentials.empty()) add_header(absl::StrCat("Authorization: ", auth_type, " ", credentials));
  std::string basic_password = config.basic_auth_password;
  if (!config.basic_auth_password_file.empty()) {
    auto s = ReadSecretFile(config.basic_auth_password_file);
    if (!s.ok()) return absl::FailedPreconditionError(
                     absl::StrCat("basic_auth password_file: ", s.status().message()));
    basic_password = *s;
  }
  if (!config.basic_auth_username.empty() && credentials.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(c, CURLOPT_USERNAME, config.basic_auth_username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, basic_password.c_str());
  }
  for (const auto& [name, value] : req.headers) add_header(absl::StrCat(name, ": ", value));

  char errbuf[CURL_ERROR_SIZE] = {0};
  HttpResponse resp;
  BodySink sink{&resp.body, req.max_response_body};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, req.timeout_ms)));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (config.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);  // Go's http.Client limit
  }
  // An empty proxy disables the *_proxy environment variables, as Go's client config does
  // unless a proxy_url is given.
  curl_easy_setopt(c, CURLOPT_PROXY, config.proxy_url.c_str());
  if (!config.tls_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config.tls_ca_file.c_str());
  if (!config.tls_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, config.tls_cert_file.c_str());
  }
  if (!config.tls_key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, config.tls_key_file.c_str());
  if (config.tls_insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config.enable_http2) {
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  }

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    absl::Status s = internal::CurlError(rc, errbuf, req.timeout_ms);
    return absl::Status(s.code(), absl::StrCat("POST ", RedactUrl(req.url), ": ", s.message()));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  resp.status = static_cast<int>(code);
  char* ct = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) {
    resp.content_type = ct;
  }
  return resp;
}

}  // namespace pharos::alerting::notify
