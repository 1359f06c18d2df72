#pragma once

// Email over SMTP with libcurl, and the MIME message Alertmanager's email notifier sends
// (multipart/alternative: a text part and an HTML part, quoted-printable).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos::alerting::notify {

struct SmtpOptions {
  std::string smarthost;          // "host:port"; port 465 is implicit TLS (smtps)
  std::string hello = "localhost";  // EHLO name
  // STARTTLS required (fails if the server does not offer it). When false no TLS is
  // attempted on a plain port, as Alertmanager does.
  bool require_tls = true;
  // Implicit TLS (smtps) on any port; Alertmanager uses it on port 465 only (also done here).
  bool implicit_tls = false;
  // Authentication, only when `username` is set and the server offers AUTH: PLAIN or LOGIN
  // (whichever the server offers) with `password`; CRAM-MD5 with `secret` when no password.
  std::string username, password, secret, identity;
  std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
  bool tls_insecure_skip_verify = false;
  int64_t timeout_ms = 10000;
};

// Sends `message` (a complete RFC 5322 message, CRLF line endings) from `envelope_from` to
// `recipients`. Transport failures are kUnavailable / kDeadlineExceeded (worth retrying);
// refused logins kPermissionDenied; bad addresses or options kInvalidArgument.
absl::Status SendMail(const SmtpOptions& opts, const std::string& envelope_from,
                      const std::vector<std::string>& recipients, const std::string& message);

struct MailAddress {
  std::string name;     // display name, may be empty
  std::string address;  // local@domain
};
// Parses an address list as Go's net/mail.ParseAddressList does for the common forms:
// `a@b`, `Name <a@b>`, `"Last, First" <a@b>`, comma separated.
absl::StatusOr<std::vector<MailAddress>> ParseAddressList(std::string_view list);

struct MimeParts {
  // Header name and (already rendered) value, in order; non-ASCII values are RFC 2047-encoded.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string text;  // text/plain part; omitted when empty
  std::string html;  // text/html part (placed last, the preferred alternative); omitted when empty
  int64_t date_ms = 0;   // Date header
  std::string message_id_domain = "localhost";
};
// The whole message with Date, Message-Id, MIME-Version and a multipart/alternative body.
std::string BuildMimeMessage(const MimeParts& parts);

// Encoders, exposed for tests.
std::string QuotedPrintable(std::string_view body);     // RFC 2045, CRLF line breaks
std::string EncodeHeaderValue(std::string_view value);  // RFC 2047 Q encoding when needed
std::string Rfc1123Z(int64_t unix_ms);                  // "Mon, 02 Jan 2006 15:04:05 +0000"

}  // namespace pharos::alerting::notify
