#include "bench/loadgen/loadgen.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <list>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace pharos::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;

void SetSocketTimeouts(tcp::socket& s, std::chrono::seconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count());
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

struct WorkerResult {
  LoadResult r;
  std::vector<double> latencies_ms;
};

// One connection: sends `reqs` in order.
void RunConnection(const std::vector<const EncodedRequest*>& reqs, const LoadOptions& o,
                   Clock::time_point deadline, WorkerResult* out) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  std::unique_ptr<tcp::socket> sock;
  beast::flat_buffer buffer;
  const std::string host_header = absl::StrCat(o.host, ":", o.port);
  LoadResult& r = out->r;
  auto note_error = [&](const std::string& e) {
    if (r.first_error.empty()) r.first_error = e;
  };

  auto connect = [&]() -> bool {
    beast::error_code ec;
    sock = std::make_unique<tcp::socket>(ioc);
    auto eps = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (!ec) asio::connect(*sock, eps, ec);
    if (ec) {
      ++r.connection_errors;
      note_error("connect: " + ec.message());
      sock.reset();
      return false;
    }
    sock->set_option(tcp::no_delay(true));
    SetSocketTimeouts(*sock, o.io_timeout);
    buffer.clear();
    return true;
  };

  for (size_t i = 0; i < reqs.size(); ++i) {
    const EncodedRequest& q = *reqs[i];
    std::chrono::milliseconds backoff = o.min_backoff;
    bool done = false;
    for (int attempt = 0; attempt < o.max_attempts && !done; ++attempt) {
      if (Clock::now() >= deadline) {
        r.deadline_hit = true;
        break;
      }
      if (attempt > 0) {
        ++r.retries;
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, o.max_backoff);
      }
      if (!sock && !connect()) continue;
      http::request<http::span_body<const char>> req{http::verb::post, o.path, 11};
      req.set(http::field::host, host_header);
      req.set(http::field::user_agent, "Prometheus/2.42.0");
      req.set(http::field::content_type, "application/x-protobuf");
      req.set(http::field::content_encoding, "snappy");
      req.set("X-Prometheus-Remote-Write-Version", "0.1.0");
      req.keep_alive(true);
      req.body() = beast::span<const char>(q.body.data(), q.body.size());
      req.prepare_payload();
      auto t0 = Clock::now();
      beast::error_code ec;
      ++r.requests_sent;
      http::write(*sock, req, ec);
      http::response<http::string_body> res;
      if (!ec) http::read(*sock, buffer, res, ec);
      if (ec) {
        ++r.connection_errors;
        note_error("request: " + ec.message());
        sock.reset();
        continue;
      }
      out->latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      int status = res.result_int();
      if (!res.keep_alive()) sock.reset();
      if (status >= 200 && status < 300) {
        ++r.requests_ok;
        r.samples_ok += q.samples;
        r.body_bytes += q.body.size();
        done = true;
        break;
      }
      ++r.non_2xx[status];
      note_error(absl::StrCat("HTTP ", status, ": ", res.body().substr(0, 300)));
      if (status != 429 && status < 500) break;  // not retried: the batch is dropped
      if (auto ra = res.find(http::field::retry_after); ra != res.end()) {
        int secs = std::atoi(std::string(ra->value()).c_str());
        if (secs > 0) backoff = std::max(backoff, std::chrono::milliseconds(secs * 1000));
        backoff = std::min(backoff, o.max_backoff);
      }
    }
    if (!done) {
      r.samples_dropped += q.samples;
      if (r.deadline_hit) {
        for (size_t j = i + 1; j < reqs.size(); ++j) r.samples_dropped += reqs[j]->samples;
        break;
      }
    }
  }
  if (sock) {
    beast::error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

std::string LoadResult::ToJson() const {
  std::string non2xx = "{";
  for (const auto& [code, n] : non_2xx) {
    if (non2xx.size() > 1) non2xx += ",";
    absl::StrAppend(&non2xx, "\"", code, "\":", n);
  }
  non2xx += "}";
  std::string err;
  for (char c : first_error) {
    if (c == '"' || c == '\\') err.push_back('\\');
    err.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "{\"wall_seconds\":%.4f,\"samples_per_second\":%.1f,\"samples_ok\":%llu,"
                "\"samples_dropped\":%llu,\"requests_sent\":%llu,\"requests_ok\":%llu,"
                "\"retries\":%llu,\"connection_errors\":%llu,\"body_bytes\":%llu,"
                "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f,"
                "\"deadline_hit\":%s,",
                wall_seconds, samples_per_second(), static_cast<unsigned long long>(samples_ok),
                static_cast<unsigned long long>(samples_dropped),
                static_cast<unsigned long long>(requests_sent),
                static_cast<unsigned long long>(requests_ok),
                static_cast<unsigned long long>(retries),
                static_cast<unsigned long long>(connection_errors),
                static_cast<unsigned long long>(body_bytes), latency_p50_ms, latency_p99_ms,
                latency_max_ms, deadline_hit ? "true" : "false");
  return absl::StrCat(buf, "\"non_2xx\":", non2xx, ",\"first_error\":\"", err, "\"}");
}

absl::StatusOr<LoadResult> RunLoad(const RequestFile& file, const LoadOptions& o) {
  if (o.port <= 0) return absl::InvalidArgumentError("port is required");
  if (o.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  int conns = o.connections > 0 ? o.connections : static_cast<int>(std::max(1u, file.shards));
  std::vector<std::vector<const EncodedRequest*>> queues(conns);
  for (const auto& q : file.requests) queues[q.shard % conns].push_back(&q);

  std::vector<WorkerResult> results(conns);
  auto start = Clock::now();
  auto deadline = start + o.deadline;
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < conns; ++c) {
      threads.emplace_back(RunConnection, std::cref(queues[c]), std::cref(o), deadline, &results[c]);
    }
    for (auto& t : threads) t.join();
  }
  LoadResult total;
  total.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> lat;
  for (auto& w : results) {
    const LoadResult& r = w.r;
    total.requests_sent += r.requests_sent;
    total.requests_ok += r.requests_ok;
    total.samples_ok += r.samples_ok;
    total.samples_dropped += r.samples_dropped;
    total.retries += r.retries;
    total.connection_errors += r.connection_errors;
    total.body_bytes += r.body_bytes;
    total.deadline_hit = total.deadline_hit || r.deadline_hit;
    for (const auto& [k, v] : r.non_2xx) total.non_2xx[k] += v;
    if (total.first_error.empty()) total.first_error = r.first_error;
    lat.insert(lat.end(), w.latencies_ms.begin(), w.latencies_ms.end());
  }
  total.latency_p50_ms = Percentile(lat, 0.50);
  total.latency_p99_ms = Percentile(lat, 0.99);
  total.latency_max_ms = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  return total;
}

// --- NullSink ---------------------------------------------------------------------------

struct NullSink::State {
  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::list<std::thread> sessions;  // guarded by mu
};

NullSink::NullSink(uint64_t fail_first)
    : state_(std::make_unique<State>()), fail_first_(fail_first) {}
NullSink::~NullSink() { Stop(); }

absl::StatusOr<int> NullSink::Start() {
  beast::error_code ec;
  auto& acc = state_->acceptor;
  acc = std::make_unique<tcp::acceptor>(state_->ioc);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("null sink: ", ec.message()));
  port_ = acc->local_endpoint().port();
  acceptor_ = std::thread([this] {
    State& st = *state_;
    while (!st.stopping.load()) {
      auto sock = std::make_shared<tcp::socket>(st.ioc);
      beast::error_code aec;
      st.acceptor->accept(*sock, aec);
      if (aec || st.stopping.load()) break;
      std::lock_guard<std::mutex> lock(st.mu);
      st.sessions.emplace_back([this, sock] {
        beast::flat_buffer buf;
        beast::error_code sec;
        sock->set_option(tcp::no_delay(true), sec);
        while (true) {
          http::request_parser<http::string_body> parser;
          parser.body_limit(256u << 20);
          http::read(*sock, buf, parser, sec);
          if (sec) break;
          uint64_t n = requests_.fetch_add(1, std::memory_order_relaxed);
          body_bytes_.fetch_add(parser.get().body().size(), std::memory_order_relaxed);
          http::response<http::empty_body> res{
              n < fail_first_ ? http::status::service_unavailable : http::status::no_content, 11};
          res.keep_alive(parser.get().keep_alive());
          res.prepare_payload();  // Content-Length: 0 on the 503s (a 204 has no body anyway)
          http::write(*sock, res, sec);
          if (sec || !res.keep_alive()) break;
        }
        sock->shutdown(tcp::socket::shutdown_both, sec);
      });
    }
  });
  return port_;
}

void NullSink::Stop() {
  if (!acceptor_.joinable()) return;
  state_->stopping.store(true);
  {  // wake the blocking accept()
    asio::io_context ioc;
    tcp::socket s(ioc);
    beast::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)), ec);
  }
  acceptor_.join();
  // Sessions end when their clients close (RunLoad closes every connection it opened).
  std::list<std::thread> sessions;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    sessions.swap(state_->sessions);
  }
  for (auto& t : sessions) t.join();
}

}  // namespace pharos::bench
