#include "server/scrape/internal/tls.h"

#include "absl/strings/str_cat.h"
#include "boost/asio/ssl/context.hpp"

namespace pharos::scrape::internal {

absl::StatusOr<std::shared_ptr<const TlsClient>> MakeTlsClient(const config::TlsConfig& cfg) {
  namespace ssl = boost::asio::ssl;
  auto t = std::make_shared<TlsClient>();
  t->server_name = cfg.server_name;
  t->insecure_skip_verify = cfg.insecure_skip_verify;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!cfg.ca_file.empty()) {
    ctx->load_verify_file(cfg.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to load CA file \"", cfg.ca_file, "\": ", ec.message()));
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("unable to load system CAs: ", ec.message()));
    }
  }
  if (cfg.cert_file.empty() != cfg.key_file.empty()) {
    return absl::InvalidArgumentError("tls_config: cert_file and key_file must both be set");
  }
  if (!cfg.cert_file.empty()) {
    ctx->use_certificate_chain_file(cfg.cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to load client certificate \"", cfg.cert_file, "\": ", ec.message()));
    }
    ctx->use_private_key_file(cfg.key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to load client key \"", cfg.key_file, "\": ", ec.message()));
    }
  }
  ctx->set_verify_mode(cfg.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer, ec);
  t->ctx = std::move(ctx);
  return std::shared_ptr<const TlsClient>(std::move(t));
}

}  // namespace pharos::scrape::internal
