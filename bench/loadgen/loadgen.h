#pragma once

// Remote-write load generator: replays pre-encoded requests (bench/gen) over K keep-alive
// HTTP/1.1 connections, one thread each, and measures what the receiver sustains.
//
// Connection c sends the requests of every shard s with s % K == c, in file order, so each
// shard's requests arrive strictly in order (as Prometheus's queue manager sends them), and a
// request is only sent once the previous one on its connection was answered.
//
// Retries follow Prometheus 2.x: 5xx and 429 (and connection errors) are retried with
// exponential backoff from min_backoff doubling to max_backoff (Retry-After, when given and
// larger, wins); other 4xx drop the batch. Unlike Prometheus, retries are bounded
// (max_attempts) and so is the whole run (deadline).
//
// NullSink is a minimal HTTP server that reads each request body and answers 204: pointing
// the load generator at it measures the load generator's own ceiling.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/gen/encode.h"

namespace pharos::bench {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;                                   // required
  std::string path = "/api/v1/write";
  int connections = 0;                            // 0: one per shard in the file
  int max_attempts = 10;                          // per request, first try included
  std::chrono::milliseconds min_backoff{30};      // Prometheus's default
  std::chrono::milliseconds max_backoff{5000};    // Prometheus's default
  std::chrono::seconds deadline{600};             // whole run; then stop sending
  std::chrono::seconds io_timeout{60};            // per socket read/write
};

struct LoadResult {
  uint64_t requests_sent = 0;       // attempts, retries included
  uint64_t requests_ok = 0;         // answered 2xx
  uint64_t samples_ok = 0;          // in 2xx-answered requests
  uint64_t samples_dropped = 0;     // 4xx (not 429), retries exhausted, or deadline
  uint64_t retries = 0;
  uint64_t connection_errors = 0;
  uint64_t body_bytes = 0;          // sent in 2xx-answered requests
  std::map<int, uint64_t> non_2xx;  // status -> count (attempts)
  std::string first_error;          // first non-2xx body or connection error, for the log
  double wall_seconds = 0;
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;  // per attempt
  bool deadline_hit = false;

  double samples_per_second() const { return wall_seconds > 0 ? samples_ok / wall_seconds : 0; }
  std::string ToJson() const;
};

// Sends every request in `file` to options.host:port. Fails only on bad options; delivery
// problems are counted in the result.
absl::StatusOr<LoadResult> RunLoad(const RequestFile& file, const LoadOptions& options);

class NullSink {
 public:
  // The first `fail_first` requests are answered 503 (to exercise senders' retries).
  explicit NullSink(uint64_t fail_first = 0);
  ~NullSink();  // stops
  // Listens on 127.0.0.1:0; returns the port.
  absl::StatusOr<int> Start();
  void Stop();
  uint64_t requests() const { return requests_.load(); }
  uint64_t body_bytes() const { return body_bytes_.load(); }

  struct State;

 private:
  std::unique_ptr<State> state_;
  std::thread acceptor_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> body_bytes_{0};
  uint64_t fail_first_ = 0;
  int port_ = 0;
};

}  // namespace pharos::bench
