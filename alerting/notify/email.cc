#include "alerting/notify/email.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "alerting/notify/internal/curl_util.h"
#include "common/strings.h"

namespace pharos::alerting::notify {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct ReadState {
  const std::string* data;
  size_t pos = 0;
};

size_t ReadBody(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* st = static_cast<ReadState*>(userdata);
  size_t n = std::min(size * nitems, st->data->size() - st->pos);
  std::memcpy(buf, st->data->data() + st->pos, n);
  st->pos += n;
  return n;
}

// "host:port" → host (brackets kept for IPv6) and port.
absl::Status SplitHostPort(std::string_view hp, std::string* host, std::string* port) {
  auto colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == hp.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid smarthost \"", Av(hp), "\": want host:port"));
  }
  *host = std::string(hp.substr(0, colon));
  *port = std::string(hp.substr(colon + 1));
  if (!std::all_of(port->begin(), port->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::InvalidArgumentError(absl::StrCat("invalid smarthost port in \"", Av(hp), "\""));
  }
  return absl::OkStatus();
}

std::string RandomHex(size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out.push_back(static_cast<char>(std::tolower(kHex[b >> 4])));
    out.push_back(static_cast<char>(std::tolower(kHex[b & 15])));
  }
  return out;
}

}  // namespace

absl::Status SendMail(const SmtpOptions& opts, const std::string& envelope_from,
                      const std::vector<std::string>& recipients, const std::string& message) {
  std::string host, port;
  if (auto s = SplitHostPort(opts.smarthost, &host, &port); !s.ok()) return s;
  if (recipients.empty()) return absl::InvalidArgumentError("no recipients");
  internal::EnsureCurlGlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::ResourceExhaustedError("curl_easy_init failed");
  CURL* c = curl.get();

  const bool implicit_tls = opts.implicit_tls || port == "465";
  // The URL's host is the TLS server name; CONNECT_TO sends the connection to the smarthost
  // when tls_server_name differs (Go's tls.Config.ServerName).
  std::string url_host = opts.tls_server_name.empty() ? host : opts.tls_server_name;
  std::string hello = opts.hello.empty() ? "localhost" : opts.hello;
  char* escaped_hello = curl_easy_escape(c, hello.c_str(), static_cast<int>(hello.size()));
  std::string url = absl::StrCat(implicit_tls ? "smtps://" : "smtp://", url_host, ":", port, "/",
                                 escaped_hello != nullptr ? escaped_hello : "localhost");
  curl_free(escaped_hello);
  std::unique_ptr<curl_slist, SlistDeleter> connect_to;
  if (!opts.tls_server_name.empty()) {
    std::string entry = absl::StrCat(url_host, ":", port, ":", host, ":", port);
    connect_to.reset(curl_slist_append(nullptr, entry.c_str()));
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }

  std::unique_ptr<curl_slist, SlistDeleter> rcpts;
  for (const auto& r : recipients) {
    rcpts.reset(curl_slist_append(rcpts.release(), absl::StrCat("<", r, ">").c_str()));
  }
  std::string from = absl::StrCat("<", envelope_from, ">");

  char errbuf[CURL_ERROR_SIZE] = {0};
  ReadState rs{&message};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, opts.timeout_ms)));
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &rs);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  if (!implicit_tls) {
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     static_cast<long>(opts.require_tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  }
  if (!opts.tls_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts.tls_ca_file.c_str());
  if (!opts.tls_cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, opts.tls_cert_file.c_str());
  if (!opts.tls_key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, opts.tls_key_file.c_str());
  if (opts.tls_insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // Authentication as Alertmanager: none without a username; curl authenticates only when the
  // server advertises AUTH, and picks among the mechanisms allowed here the one it offers.
  if (!opts.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, opts.username.c_str());
    if (!opts.password.empty()) {
      curl_easy_setopt(c, CURLOPT_PASSWORD, opts.password.c_str());
      curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN;AUTH=LOGIN");
      if (!opts.identity.empty()) curl_easy_setopt(c, CURLOPT_SASL_AUTHZID, opts.identity.c_str());
    } else if (!opts.secret.empty()) {
      curl_easy_setopt(c, CURLOPT_PASSWORD, opts.secret.c_str());
      curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=CRAM-MD5");
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("auth_username \"", opts.username, "\" set without auth_password or auth_secret"));
    }
  }

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return absl::OkStatus();
  absl::Status s = internal::CurlError(rc, errbuf, opts.timeout_ms);
  if (rc == CURLE_USE_SSL_FAILED) {
    s = absl::UnavailableError(absl::StrCat(
        "require_tls is true, but ", opts.smarthost, " does not advertise the STARTTLS extension"));
  }
  return absl::Status(s.code(), absl::StrCat("SMTP ", opts.smarthost, ": ", s.message()));
}

absl::StatusOr<std::vector<MailAddress>> ParseAddressList(std::string_view list) {
  std::vector<MailAddress> out;
  std::string cur;
  bool quoted = false;
  int angle = 0;
  auto finish = [&out](std::string item) -> absl::Status {
    std::string_view t = internal::TrimSpace(item);
    if (t.empty()) return absl::InvalidArgumentError("empty address");
    MailAddress a;
    auto lt = t.find('<');
    if (lt != std::string_view::npos) {
      auto gt = t.find('>', lt);
      if (gt == std::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("missing '>' in \"", Av(t), "\""));
      }
      a.address = std::string(internal::TrimSpace(t.substr(lt + 1, gt - lt - 1)));
      std::string_view name = internal::TrimSpace(t.substr(0, lt));
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        name = name.substr(1, name.size() - 2);
      }
      a.name = std::string(name);
    } else {
      a.address = std::string(t);
    }
    auto at = a.address.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == a.address.size() ||
        a.address.find_first_of(" \t\"<>,") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid address \"", Av(t), "\""));
    }
    out.push_back(std::move(a));
    return absl::OkStatus();
  };
  for (char ch : list) {
    if (ch == '"') quoted = !quoted;
    if (!quoted && ch == '<') ++angle;
    if (!quoted && ch == '>' && angle > 0) --angle;
    if (ch == ',' && !quoted && angle == 0) {
      if (auto s = finish(std::move(cur)); !s.ok()) return s;
      cur.clear();
      continue;
    }
    cur.push_back(ch);
  }
  if (auto s = finish(std::move(cur)); !s.ok()) return s;
  return out;
}

std::string QuotedPrintable(std::string_view body) {
  std::string out;
  size_t line_len = 0;
  auto emit = [&out, &line_len](std::string_view tok) {
    if (line_len + tok.size() > 75) {  // 76 with the soft break's '='
      out.append("=\r\n");
      line_len = 0;
    }
    out.append(tok);
    line_len += tok.size();
  };
  for (size_t i = 0; i < body.size(); ++i) {
    auto b = static_cast<unsigned char>(body[i]);
    if (b == '\r' || b == '\n') {
      if (b == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      out.append("\r\n");
      line_len = 0;
      continue;
    }
    bool at_line_end = i + 1 == body.size() || body[i + 1] == '\n' || body[i + 1] == '\r';
    if ((b >= '!' && b <= '~' && b != '=') || ((b == ' ' || b == '\t') && !at_line_end)) {
      char c = static_cast<char>(b);
      emit(std::string_view(&c, 1));
    } else {
      char enc[3] = {'=', kHex[b >> 4], kHex[b & 15]};
      emit(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string EncodeHeaderValue(std::string_view value) {
  bool needs = std::any_of(value.begin(), value.end(), [](char ch) {
    auto b = static_cast<unsigned char>(ch);
    return (b < ' ' || b > '~') && b != '\t';
  });
  if (!needs) return std::string(value);
  // RFC 2047 encoded words of at most 75 characters, never splitting a UTF-8 sequence.
  constexpr std::string_view kPrefix = "=?utf-8?q?", kSuffix = "?=";
  constexpr size_t kMaxContent = 75 - 10 - 2;
  std::string out, word;
  auto flush = [&] {
    if (!out.empty()) out.push_back(' ');
    out.append(kPrefix).append(word).append(kSuffix);
    word.clear();
  };
  size_t i = 0;
  while (i < value.size()) {
    auto lead = static_cast<unsigned char>(value[i]);
    size_t n = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    n = std::min(n, value.size() - i);
    std::string enc;
    for (size_t k = 0; k < n; ++k) {
      auto b = static_cast<unsigned char>(value[i + k]);
      if (b == ' ') {
        enc.push_back('_');
      } else if (b >= '!' && b <= '~' && b != '=' && b != '?' && b != '_') {
        enc.push_back(static_cast<char>(b));
      } else {
        enc.push_back('=');
        enc.push_back(kHex[b >> 4]);
        enc.push_back(kHex[b & 15]);
      }
    }
    if (word.size() + enc.size() > kMaxContent) flush();
    word += enc;
    i += n;
  }
  if (!word.empty()) flush();
  return out;
}

std::string Rfc1123Z(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string BuildMimeMessage(const MimeParts& parts) {
  std::string boundary = RandomHex(30);
  std::string out;
  for (const auto& [name, value] : parts.headers) {
    absl::StrAppend(&out, name, ": ", EncodeHeaderValue(value), "\r\n");
  }
  absl::StrAppend(&out, "Date: ", Rfc1123Z(parts.date_ms), "\r\n");
  absl::StrAppend(&out, "Message-Id: <", parts.date_ms * 1000000, ".", RandomHex(8), "@",
                  parts.message_id_domain, ">\r\n");
  absl::StrAppend(&out, "Content-Type: multipart/alternative; boundary=", boundary, "\r\n");
  absl::StrAppend(&out, "MIME-Version: 1.0\r\n\r\n");
  bool first = true;
  auto part = [&](std::string_view type, std::string_view body) {
    absl::StrAppend(&out, first ? "" : "\r\n", "--", boundary, "\r\n",
                    "Content-Transfer-Encoding: quoted-printable\r\n", "Content-Type: ", Av(type),
                    "; charset=UTF-8\r\n\r\n", QuotedPrintable(body));
    first = false;
  };
  if (!parts.text.empty()) part("text/plain", parts.text);
  if (!parts.html.empty()) part("text/html", parts.html);
  absl::StrAppend(&out, "\r\n--", boundary, "--\r\n");
  return out;
}

}  // namespace pharos::alerting::notify
