#pragma once

// The HTTP/1.1 server: Boost.Beast on a pool of io_contexts, one thread each (a connection
// stays on one context for its life), with a separate worker pool for blocking handlers.
// Keep-alive, request size limits (413), header limits (431), read timeouts, 404/405, and a
// graceful Stop() that stops accepting, lets in-flight requests finish, then closes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/logging.h"
#include "server/http/http.h"

namespace pharos {
class Registry;
}

namespace pharos::http {

struct ServerOptions {
  // host:port; an empty host or "0.0.0.0" listens on all IPv4 addresses, "[::]" on all IPv6;
  // port 0 picks a free port (see Server::port()).
  std::string listen_address = ":9090";
  // I/O threads; 0 means one per core.
  int io_threads = 0;
  // Threads for blocking handlers (storage, writes, metadata); 0 means one per core.
  int worker_threads = 0;
  // Threads for query-pool routes (PromQL); also the number of queries evaluated at once.
  // Default 20, as Prometheus's --query.max-concurrency.
  int query_threads = 20;
  // Largest accepted request body, after transfer decoding; larger gets 413. Default 64 MiB.
  uint64_t max_request_bytes = 64ull << 20;
  // Largest accepted request header block; larger gets 431. Default 64 KiB.
  uint32_t max_header_bytes = 64u << 10;
  // Time allowed to receive a whole request, and idle time between keep-alive requests.
  // Default 5m (Prometheus's --web.read-timeout).
  std::chrono::milliseconds read_timeout = std::chrono::minutes(5);
  // On Stop(), how long to wait for in-flight requests before closing anyway. Default 10s.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(10);
  Registry* registry = nullptr;  // required: pharos_http_* metrics
  LoggerPtr log;                 // required
};

class Server {
 public:
  // Binds and starts serving `router`, which must outlive the server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       const Router* router);
  ~Server();  // Stops if still running.

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port actually bound (useful with port 0).
  int port() const;
  // Stop accepting, finish in-flight requests (up to drain_timeout), close idle connections,
  // then stop all threads. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::http
