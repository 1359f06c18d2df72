#pragma once

// Helpers for integration tests: run the real pharos binary as a child process and talk HTTP
// to it over loopback.

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pharos::testing {

struct HttpResult {
  int status = 0;  // 0: connection failed
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One request on a fresh connection ("Connection: close").
HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
inline HttpResult HttpGet(int port, const std::string& target) {
  return HttpCall(port, "GET", target);
}
// Sends raw bytes and returns everything received until the server closes (or timeout).
std::string RawExchange(int port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Pass as an argument to PharosProcess to run on the embedded default config (which scrapes
// Pharos itself); without it and without --config.file, Pharos runs with no scrape configs.
inline constexpr char kEmbeddedDefaultConfig[] = "<embedded-default-config>";

class PharosProcess {
 public:
  // Starts PHAROS_BINARY with `args` plus --web.listen-address=127.0.0.1:0 (unless given),
  // stderr and stdout to a log file in `dir`.
  PharosProcess(const std::string& dir, std::vector<std::string> args);
  ~PharosProcess();  // SIGKILLs if still running

  // Waits for the "listening" log line; returns the port, or 0 if the process exited first or
  // `timeout` passed.
  int WaitForPort(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  int port() const { return port_; }
  void Signal(int sig) const;
  // The exit status (exit code, or 128+signal) once the process has exited within `timeout`.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  std::string Log() const;
  // Polls until the log contains `text`.
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::optional<int> exit_;
  std::string log_path_;
};

// A loopback TCP port that was free a moment ago (for peers that need a port up front).
int FreePort();
// Percent-encodes everything but unreserved characters (query parameters).
std::string UrlEncode(const std::string& s);

// A local HTTP receiver standing in for PagerDuty, Slack, webhooks or an Alertmanager: records
// every request and answers with the next planned response (default 200 "ok"). A planned
// response with `hang` set keeps the connection open without answering until the server stops.
class CaptureServer {
 public:
  struct Request {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  struct Response {
    int status = 200;
    std::string body = "ok";
    bool hang = false;
  };
  CaptureServer();
  ~CaptureServer();
  int port() const { return port_; }
  // Responses for the next requests, in order; after they are used up, 200 "ok".
  void Plan(std::vector<Response> responses);
  std::vector<Request> Requests() const;
  // Waits until at least `n` requests arrived; false on timeout.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;

 private:
  void Serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<Response> plan_;
  std::vector<Request> requests_;
  std::vector<int> open_fds_;
  std::thread accept_thread_;
  std::vector<std::thread> conn_threads_;
};

// Runs a command to completion, returning its exit code and combined output.
int RunCommand(const std::vector<std::string>& argv, std::string* output);

}  // namespace pharos::testing
