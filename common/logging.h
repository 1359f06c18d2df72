#pragma once

// Logging: named per-component spdlog loggers sharing one sink, formatted as logfmt or JSON
// (--log.format), level switchable at runtime. Loggers are created by a LogFactory that the
// composition root owns and injects; there is no global logger registry use.
//
//   auto log = factory.Get("http");
//   log->info("msg=\"listening\" address={}", addr);   // key=value messages

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

#include "fmt/core.h"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace pharos {

enum class LogFormat { kLogfmt, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s);
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view s);

using LoggerPtr = std::shared_ptr<spdlog::logger>;

class LogFactory {
 public:
  // Logs to stderr.
  LogFactory(LogLevel level, LogFormat format);
  // Logs to the given sink (tests capture output this way).
  LogFactory(LogLevel level, LogFormat format, std::shared_ptr<spdlog::sinks::sink> sink);
  ~LogFactory();

  // The logger for `component`, created on first use. Messages should be key=value pairs; the
  // formatter prefixes ts, level and component.
  LoggerPtr Get(std::string_view component);
  void SetLevel(LogLevel level);

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
  absl::Mutex mu_;
  LogLevel level_ ABSL_GUARDED_BY(mu_);
  std::vector<LoggerPtr> loggers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pharos

namespace pharos {

// A log value written as a logfmt quoted string with ", \ and newlines escaped:
//   log->error("msg=\"reload failed\" err={}", Quoted(status.message()));
struct Quoted {
  explicit Quoted(std::string_view s) : text(s) {}
  template <typename S>
  explicit Quoted(const S& s) : text(s.data(), s.size()) {}
  std::string_view text;
};

}  // namespace pharos

template <>
struct fmt::formatter<pharos::Quoted> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <typename FormatContext>
  auto format(const pharos::Quoted& q, FormatContext& ctx) const {
    auto out = ctx.out();
    *out++ = '"';
    for (char c : q.text) {
      if (c == '"' || c == '\\') {
        *out++ = '\\';
        *out++ = c;
      } else if (c == '\n') {
        *out++ = '\\';
        *out++ = 'n';
      } else {
        *out++ = c;
      }
    }
    *out++ = '"';
    return out;
  }
};
