#pragma once

// TLS client settings of a scrape job (tls_config): an OpenSSL context with the CA, client
// certificate and key loaded, plus the verification policy. Built once per job at ApplyConfig
// (errors fail the config) and shared by its loops.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/config/config.h"

namespace boost::asio::ssl {
class context;
}

namespace pharos::scrape::internal {

struct TlsClient {
  std::shared_ptr<boost::asio::ssl::context> ctx;
  std::string server_name;  // SNI and name to verify; empty: the URL's host
  bool insecure_skip_verify = false;
};

// ca_file (default: the system's CAs), cert_file + key_file (both or neither).
[[nodiscard]] absl::StatusOr<std::shared_ptr<const TlsClient>> MakeTlsClient(
    const config::TlsConfig& cfg);

}  // namespace pharos::scrape::internal
