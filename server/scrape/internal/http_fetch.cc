#include "server/scrape/internal/http_fetch.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/asio/ssl/host_name_verification.hpp"
#include "boost/beast/ssl.hpp"
#include "server/scrape/internal/tls.h"
#include <openssl/ssl.h>

namespace pharos::scrape::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl u;
  size_t p = url.find("://");
  if (p == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("invalid URL \"", url, "\""));
  u.scheme = url.substr(0, p);
  if (u.scheme != "http" && u.scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported URL scheme \"", u.scheme, "\""));
  }
  size_t host_start = p + 3;
  size_t path_start = url.find_first_of("/?", host_start);
  std::string authority = url.substr(host_start, path_start == std::string::npos
                                                     ? std::string::npos
                                                     : path_start - host_start);
  u.target = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (!u.target.empty() && u.target[0] == '?') u.target.insert(u.target.begin(), '/');
  if (authority.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL \"", url, "\""));
  u.host_header = authority;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("invalid host in URL \"", url, "\""));
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return absl::InvalidArgumentError(absl::StrCat("invalid host in URL \"", url, "\""));
      u.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string::npos) {
      u.host = authority.substr(0, colon);
      u.port = authority.substr(colon + 1);
    } else {
      u.host = authority;
    }
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  bool port_ok = !u.port.empty() && u.port.size() <= 5;
  for (char c : u.port) port_ok = port_ok && c >= '0' && c <= '9';
  if (!port_ok || std::stoi(u.port) > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port in URL \"", url, "\""));
  }
  return u;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Stream is beast::tcp_stream (http) or TlsStream (https).
template <typename Stream>
class Fetch : public FetchHandle, public std::enable_shared_from_this<Fetch<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Fetch(asio::io_context& ctx, FetchRequest req, std::function<void(FetchResult)> done)
      : ctx_(ctx), req_(std::move(req)), done_(std::move(done)), resolver_(ctx),
        stream_(MakeStream(ctx, req_)), deadline_(ctx) {}

  void Start() {
    deadline_.expires_after(req_.timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      self->Abort(absl::DeadlineExceededError(
          absl::StrCat("scrape timeout of ", self->req_.timeout.count() / 1000.0, "s exceeded")));
    });
    request_.version(11);
    request_.method(bhttp::verb::get);
    request_.target(req_.url.target);
    request_.set(bhttp::field::host, req_.url.host_header);
    for (const auto& [k, v] : req_.headers) request_.set(k, v);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(req_.url.host, ec);
    if (!ec) {
      uint16_t port = static_cast<uint16_t>(std::stoi(req_.url.port));
      Tcp().async_connect(tcp::endpoint(addr, port),
                            [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->OnConnect(ec);
                            });
      return;
    }
    resolver_.async_resolve(
        req_.url.host, req_.url.port,
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    tcp::resolver::results_type results) {
          if (ec) return self->Fail(ec, "resolve");
          self->Tcp().async_connect(
              results, [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                self->OnConnect(ec);
              });
        });
  }

  void Cancel() override {
    asio::post(ctx_, [self = shared_from_this()] {
      self->Abort(absl::CancelledError("scrape cancelled"));
    });
  }

 private:
  using std::enable_shared_from_this<Fetch<Stream>>::shared_from_this;

  static Stream MakeStream(asio::io_context& ctx, const FetchRequest& req) {
    if constexpr (kTls) {
      return Stream(ctx, *req.tls->ctx);
    } else {
      (void)req;
      return Stream(ctx);
    }
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void OnConnect(const boost::system::error_code& ec) {
    if (ec) return Fail(ec, "connect");
    if constexpr (kTls) {
      const std::string& name =
          req_.tls->server_name.empty() ? req_.url.host : req_.tls->server_name;
      boost::system::error_code ignored;
      auto is_ip = asio::ip::make_address(name, ignored);
      (void)is_ip;
      if (ignored && !SSL_set_tlsext_host_name(stream_.native_handle(), name.c_str())) {
        return Finish(absl::UnavailableError("TLS: cannot set SNI host name"));
      }
      if (!req_.tls->insecure_skip_verify) {
        stream_.set_verify_callback(asio::ssl::host_name_verification(name));
      }
      stream_.async_handshake(asio::ssl::stream_base::client,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                if (ec) return self->Fail(ec, "TLS handshake");
                                self->Write();
                              });
    } else {
      Write();
    }
  }

  void Write() {
    bhttp::async_write(stream_, request_,
                       [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                         if (ec) return self->Fail(ec, "write");
                         self->Read();
                       });
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(64 << 10);
    parser_->body_limit(req_.body_limit > 0 ? boost::optional<uint64_t>(req_.body_limit)
                                            : boost::optional<uint64_t>());
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->OnRead(ec);
                      });
  }

  void OnRead(const boost::system::error_code& ec) {
    if (ec == bhttp::error::body_limit) {
      return Finish(absl::ResourceExhaustedError(absl::StrCat(
          "body size limit exceeded: the response is larger than ", req_.body_limit, " bytes")));
    }
    if (ec) return Fail(ec, "read");
    auto& res = parser_->get();
    result_.http_status = static_cast<int>(res.result_int());
    result_.content_type = std::string(res[bhttp::field::content_type]);
    result_.content_encoding = std::string(res[bhttp::field::content_encoding]);
    if (result_.http_status < 200 || result_.http_status > 299) {
      return Finish(absl::UnavailableError(absl::StrCat(
          "server returned HTTP status ", result_.http_status, " ",
          std::string(res.reason()))));
    }
    result_.body = std::move(res.body());
    Finish(absl::OkStatus());
  }

  void Fail(const boost::system::error_code& ec, std::string_view op) {
    if (finished_) return;
    Finish(absl::UnavailableError(absl::StrCat(
        req_.url.scheme, "://", req_.url.host_header, req_.url.target, ": ",
        std::string(op), ": ", ec.message())));
  }

  // From the deadline or Cancel(): the pending operation then completes with an error, which
  // Fail ignores because the result is already delivered.
  void Abort(absl::Status s) {
    if (finished_) return;
    Finish(std::move(s));
  }

  void Finish(absl::Status s) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().socket().close(ignored);
    result_.status = std::move(s);
    if (!result_.status.ok()) result_.body.clear();
    auto done = std::move(done_);
    done(std::move(result_));
  }

  asio::io_context& ctx_;
  FetchRequest req_;
  std::function<void(FetchResult)> done_;
  tcp::resolver resolver_;
  Stream stream_;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> request_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  FetchResult result_;
  bool finished_ = false;
};

std::shared_ptr<FetchHandle> StartFetch(asio::io_context& ctx, FetchRequest req,
                                        std::function<void(FetchResult)> done) {
  if (req.url.scheme == "https") {
    if (!req.tls) {
      FetchResult r;
      r.status = absl::FailedPreconditionError("https URL without TLS settings");
      asio::post(ctx, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
      return nullptr;
    }
    auto f = std::make_shared<Fetch<TlsStream>>(ctx, std::move(req), std::move(done));
    asio::post(ctx, [f] { f->Start(); });
    return f;
  }
  auto f = std::make_shared<Fetch<beast::tcp_stream>>(ctx, std::move(req), std::move(done));
  asio::post(ctx, [f] { f->Start(); });
  return f;
}

}  // namespace pharos::scrape::internal
