#include "server/http/server.h"

#include <atomic>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zlib.h>

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/metrics.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace pharos::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

Method FromBeast(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get: return Method::kGet;
    case bhttp::verb::head: return Method::kHead;
    case bhttp::verb::post: return Method::kPost;
    case bhttp::verb::put: return Method::kPut;
    case bhttp::verb::delete_: return Method::kDelete;
    case bhttp::verb::options: return Method::kOptions;
    case bhttp::verb::patch: return Method::kPatch;
    default: return Method::kOther;
  }
}

absl::StatusOr<tcp::endpoint> ParseListenAddress(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", addr, "\": expected host:port"));
  }
  std::string host = addr.substr(0, colon);
  int port;
  if (!absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", addr, "\": bad port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address \"", addr, "\": host must be an IP address or localhost"));
  }
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}

// Responses smaller than this are sent uncompressed even when gzip is accepted.
constexpr size_t kGzipMinBytes = 1024;

bool AcceptsGzip(std::string_view accept_encoding) {
  // "gzip", "gzip;q=1.0", "deflate, gzip" ... but not "gzip;q=0".
  size_t p = accept_encoding.find("gzip");
  if (p == std::string_view::npos) return false;
  std::string_view rest = accept_encoding.substr(p + 4);
  size_t comma = rest.find(',');
  std::string_view params = rest.substr(0, comma);
  size_t q = params.find("q=");
  if (q != std::string_view::npos) {
    std::string_view v = params.substr(q + 2);
    return !(v == "0" || v.starts_with("0.0") || v == "0." || v.starts_with("0 "));
  }
  return true;
}

bool Gzip(std::string_view in, std::string* out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  out->resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

}  // namespace

class Session;

class Server::Impl {
 public:
  Impl(ServerOptions options, const Router* router)
      : options_(std::move(options)),
        router_(router),
        log_(options_.log),
        workers_(options_.worker_threads > 0 ? options_.worker_threads
                                             : std::max(1u, std::thread::hardware_concurrency())),
        query_workers_(std::max(1, options_.query_threads)),
        requests_(options_.registry->AddCounter("pharos_http_requests_total",
                                                "HTTP requests served, by handler and status code.",
                                                {"handler", "code"})),
        durations_(options_.registry->AddHistogram(
            "pharos_http_request_duration_seconds",
            "Time from a complete request to its response being written, by handler.",
            {"handler"}, DefaultLatencyBuckets())),
        response_sizes_(options_.registry->AddHistogram(
            "pharos_http_response_size_bytes", "HTTP response body sizes, by handler.",
            {"handler"}, ExponentialBuckets(100, 10, 8))),
        open_connections_(options_.registry->AddGauge(
            "pharos_http_open_connections", "Currently open HTTP connections.").Get()) {
    int n = options_.io_threads > 0 ? options_.io_threads
                                    : std::max(1u, std::thread::hardware_concurrency());
    for (int i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    acceptor_.emplace(*contexts_[0]);
  }

  absl::Status Listen() {
    auto ep = ParseListenAddress(options_.listen_address);
    if (!ep.ok()) return ep.status();
    boost::system::error_code ec;
    acceptor_->open(ep->protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(*ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("listen on ", options_.listen_address, ": ", ec.message()));
    }
    port_ = acceptor_->local_endpoint().port();
    DoAccept();
    for (auto& ctx : contexts_) {
      threads_.emplace_back([c = ctx.get()] { c->run(); });
    }
    return absl::OkStatus();
  }

  void DoAccept();
  void Stop();
  bool Drained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sessions_.empty(); }

  // Called on the session's own thread.
  void Register(Session* s, std::weak_ptr<Session> w) {
    absl::MutexLock lock(&mu_);
    sessions_.emplace(s, std::move(w));
    open_connections_.Set(static_cast<double>(sessions_.size()));
  }
  void Unregister(Session* s) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(s);
    open_connections_.Set(static_cast<double>(sessions_.size()));
  }

  ServerOptions options_;
  const Router* router_;
  LoggerPtr log_;
  asio::thread_pool workers_;
  asio::thread_pool query_workers_;
  CounterFamily& requests_;
  HistogramFamily& durations_;
  HistogramFamily& response_sizes_;
  Gauge& open_connections_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_context_{0};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  int port_ = 0;
  mutable absl::Mutex mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl* server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    boost::system::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
  }
  ~Session() { server_->Unregister(this); }

  void Start() {
    server_->Register(this, weak_from_this());
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoReadHeader(); });
  }

  // From any thread: close once the current request (if any) has been answered.
  void Shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->Close();
    });
  }

 private:
  void DoReadHeader() {
    if (closing_ || server_->stopping_) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options_.max_request_bytes);
    parser_->header_limit(server_->options_.max_header_bytes);
    stream_.expires_after(server_->options_.read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      // curl and others wait for this before sending a large body.
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                      req.version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                           if (ec) return self->Close();
                           self->DoReadBody();
                         });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->OnRequest();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return SendError(413, absl::StrCat("request body exceeds the limit of ",
                                         server_->options_.max_request_bytes, " bytes\n"));
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header fields too large\n");
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == bhttp::error::partial_message) {
      return Close();
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return SendError(400, absl::StrCat("malformed HTTP request: ", ec.message(), "\n"));
    }
    Close();
  }

  void SendError(int status, std::string body) {
    busy_ = true;
    closing_ = true;
    Response r = Response::Text(status, std::move(body));
    Write(std::move(r), "other", std::chrono::steady_clock::now(), 11);
  }

  void OnRequest() {
    auto start = std::chrono::steady_clock::now();
    auto& breq = parser_->get();
    Request req;
    req.method = FromBeast(breq.method());
    req.target = std::string(breq.target().data(), breq.target().size());
    size_t q = req.target.find('?');
    req.path = UrlDecode(std::string_view(req.target).substr(0, q), false);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& f : breq) {
      std::string name(f.name_string().data(), f.name_string().size());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value().data(), f.value().size()));
    }
    req.body = std::move(breq.body());
    req.remote_address = remote_;
    keep_alive_ = breq.keep_alive();
    version_ = breq.version();
    accepts_gzip_ = AcceptsGzip(req.Header("accept-encoding"));

    Router::Match m = server_->router_->Find(req.path, req.method);
    if (!m.route) {
      Response r;
      if (m.path_known) {
        r = Response::Text(405, "method not allowed\n");
        r.headers.emplace_back("Allow", m.allow);
      } else {
        r = Response::Text(404, "404 page not found\n");
      }
      return Write(std::move(r), m.path_known ? "method_not_allowed" : "not_found", start,
                   version_);
    }
    const Router::Route* route = m.route;
    if (!route->options.blocking) {
      return Write(route->handler(req), route->options.metric_label, start, version_);
    }
    if (route->options.max_inflight > 0 &&
        route->inflight->fetch_add(1) >= route->options.max_inflight) {
      route->inflight->fetch_sub(1);
      Response busy = Response::Text(503, "too many requests in flight; retry later\n");
      busy.headers.emplace_back("Retry-After", "1");
      return Write(std::move(busy), route->options.metric_label, start, version_);
    }
    if (route->options.max_inflight == 0) route->inflight->fetch_add(1);
    auto& pool = route->options.query_pool ? server_->query_workers_ : server_->workers_;
    asio::post(pool, [self = shared_from_this(), route, start,
                                   req = std::move(req)]() mutable {
      Response r = route->handler(req);
      route->inflight->fetch_sub(1);
      asio::post(self->stream_.get_executor(),
                 [self, route, start, r = std::move(r)]() mutable {
                   self->Write(std::move(r), route->options.metric_label, start, self->version_);
                 });
    });
  }

  void Write(Response r, const std::string& handler, std::chrono::steady_clock::time_point start,
             unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "pharos");
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    if (accepts_gzip_ && r.body.size() >= kGzipMinBytes &&
        res->find(bhttp::field::content_encoding) == res->end()) {
      std::string gz;
      if (Gzip(r.body, &gz)) {
        r.body = std::move(gz);
        res->set(bhttp::field::content_encoding, "gzip");
        res->set(bhttp::field::vary, "Accept-Encoding");
      }
    }
    size_t body_size = r.body.size();
    res->body() = std::move(r.body);
    bool close = closing_ || !keep_alive_ || server_->stopping_;
    res->keep_alive(!close);
    res->prepare_payload();
    stream_.expires_after(server_->options_.read_timeout);
    std::string code = absl::StrCat(r.status);
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res, close, handler, code, start, body_size](
            beast::error_code ec, size_t) {
          auto& s = *self->server_;
          s.requests_.WithLabels({handler, code}).Inc();
          s.durations_.WithLabels({handler}).Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          s.response_sizes_.WithLabels({handler}).Observe(static_cast<double>(body_size));
          self->busy_ = false;
          if (ec || close) return self->Close();
          self->buffer_.consume(0);
          self->DoReadHeader();
        });
  }

  void Close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  Server::Impl* server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string remote_;
  bool busy_ = false;
  bool closing_ = false;
  bool keep_alive_ = true;
  bool accepts_gzip_ = false;
  unsigned version_ = 11;
};

void Server::Impl::DoAccept() {
  auto& ctx = *contexts_[next_context_++ % contexts_.size()];
  acceptor_->async_accept(ctx, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
      log_->warn("msg=\"accept failed\" err={}", ec.message());
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(this, std::move(socket))->Start();
    }
    if (!stopping_) DoAccept();
  });
}

void Server::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  // Stop accepting on the acceptor's own thread.
  asio::post(*contexts_[0], [this] {
    boost::system::error_code ec;
    acceptor_->close(ec);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown();
  live.clear();
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &Impl::Drained),
                              absl::FromChrono(options_.drain_timeout))) {
      log_->warn("msg=\"drain timeout: closing connections with requests in flight\" open={}",
                 sessions_.size());
    }
  }
  for (auto& g : guards_) g.reset();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) t.join();
  workers_.join();
  query_workers_.join();
  // Destroying the contexts destroys the handlers still queued on them, which releases the
  // sessions they hold; do it now, while mu_ (used by ~Session) is alive.
  acceptor_.reset();
  contexts_.clear();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      const Router* router) {
  auto impl = std::make_unique<Impl>(std::move(options), router);
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port_; }

void Server::Stop() { impl_->Stop(); }

}  // namespace pharos::http
