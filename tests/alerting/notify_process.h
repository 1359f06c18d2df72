#pragma once

// A helper process for the receivers' integration tests (the aiosmtpd SMTP server, a Python
// HTTPS server): started with pipes, it prints "READY <port>" when listening and exits when its
// stdin closes.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace pharos::alerting::notify::testing {

inline bool HaveAiosmtpd() {
  return std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") == 0;
}
inline bool HaveOpenssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

// The directory of this test's helper scripts.
inline std::string TestDataDir() {
  for (const char* d : {"tests/alerting/testdata", "../tests/alerting/testdata"}) {
    if (std::filesystem::exists(std::string(d) + "/smtp_server.py")) {
      return std::filesystem::absolute(d).string();
    }
  }
  return std::filesystem::path(__FILE__).parent_path().string() + "/testdata";
}

// Writes a self-signed certificate for localhost/127.0.0.1 into `dir` (cert.pem, key.pem).
inline bool MakeSelfSignedCert(const std::string& dir) {
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + dir +
                    "/key.pem' -out '" + dir +
                    "/cert.pem' -days 2 -subj /CN=localhost -addext "
                    "'subjectAltName=DNS:localhost,IP:127.0.0.1' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

class HelperProcess {
 public:
  explicit HelperProcess(std::vector<std::string> argv, const std::string& log_path) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~HelperProcess() {
    if (stdin_ >= 0) ::close(stdin_);
    if (pid_ > 0) {
      // Closing stdin stops it; bounded wait, then SIGKILL.
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) { pid_ = -1; break; }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (stdout_ >= 0) ::close(stdout_);
  }
  // The port from "READY <port>", or 0 if the process did not get ready within `timeout`.
  int WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    if (pid_ <= 0) return 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buf;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c[256];
      ssize_t n = ::read(stdout_, c, sizeof c);
      if (n <= 0) return 0;
      buf.append(c, static_cast<size_t>(n));
      auto pos = buf.find("READY ");
      if (pos != std::string::npos && buf.find('\n', pos) != std::string::npos) {
        return std::atoi(buf.c_str() + pos + 6);
      }
    }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
};

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits (bounded) for `path` to exist.
inline bool WaitForFile(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace pharos::alerting::notify::testing
