#include "common/logging.h"

#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace pharos {

namespace {

spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* LevelName(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err:
    case spdlog::level::critical: return "error";
    default: return "info";
  }
}

void AppendTimestamp(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  auto t = msg.time;
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() %
            1000;
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  n += std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  dest.append(buf, buf + n);
}

void AppendJsonString(std::string_view s, spdlog::memory_buf_t& dest) {
  dest.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': dest.append(std::string_view("\\\"")); break;
      case '\\': dest.append(std::string_view("\\\\")); break;
      case '\n': dest.append(std::string_view("\\n")); break;
      case '\t': dest.append(std::string_view("\\t")); break;
      case '\r': dest.append(std::string_view("\\r")); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          dest.append(buf, buf + 6);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
  }
  dest.push_back('"');
}

// logfmt: ts=... level=info component=http msg="..." k=v
// The message itself is expected to be key=value pairs already.
class LogfmtFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view("ts="));
    AppendTimestamp(msg, dest);
    dest.append(std::string_view(" level="));
    dest.append(std::string_view(LevelName(msg.level)));
    dest.append(std::string_view(" component="));
    dest.append(msg.logger_name.begin(), msg.logger_name.end());
    dest.push_back(' ');
    dest.append(msg.payload.begin(), msg.payload.end());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LogfmtFormatter>();
  }
};

// JSON: the key=value message is split into fields ({"msg":"...","k":"v"}). Quoted values
// (k="a b") keep their spaces; anything that is not key=value goes into "msg".
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view("{\"ts\":\""));
    AppendTimestamp(msg, dest);
    dest.append(std::string_view("\",\"level\":\""));
    dest.append(std::string_view(LevelName(msg.level)));
    dest.append(std::string_view("\",\"component\":"));
    AppendJsonString(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    std::string_view p(msg.payload.data(), msg.payload.size());
    std::string loose;
    while (!p.empty()) {
      while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
      if (p.empty()) break;
      size_t eq = p.find('=');
      size_t sp = p.find(' ');
      if (eq == std::string_view::npos || (sp != std::string_view::npos && sp < eq) || eq == 0) {
        size_t end = sp == std::string_view::npos ? p.size() : sp;
        if (!loose.empty()) loose.push_back(' ');
        loose.append(p.substr(0, end));
        p.remove_prefix(end);
        continue;
      }
      std::string_view key = p.substr(0, eq);
      p.remove_prefix(eq + 1);
      std::string value;
      if (!p.empty() && p.front() == '"') {
        p.remove_prefix(1);
        while (!p.empty() && p.front() != '"') {
          if (p.front() == '\\' && p.size() > 1) {
            p.remove_prefix(1);
            value.push_back(p.front() == 'n' ? '\n' : p.front());
          } else {
            value.push_back(p.front());
          }
          p.remove_prefix(1);
        }
        if (!p.empty()) p.remove_prefix(1);
      } else {
        size_t end = p.find(' ');
        if (end == std::string_view::npos) end = p.size();
        value.assign(p.substr(0, end));
        p.remove_prefix(end);
      }
      dest.push_back(',');
      AppendJsonString(key, dest);
      dest.push_back(':');
      AppendJsonString(value, dest);
    }
    if (!loose.empty()) {
      dest.append(std::string_view(",\"text\":"));
      AppendJsonString(loose, dest);
    }
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s) {
  std::string l = absl::AsciiStrToLower(Av(s));
  if (l == "debug") return LogLevel::kDebug;
  if (l == "info") return LogLevel::kInfo;
  if (l == "warn") return LogLevel::kWarn;
  if (l == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unrecognized log level \"", Av(s), "\" (debug, info, warn, error)"));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "logfmt") return LogFormat::kLogfmt;
  if (s == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unrecognized log format \"", Av(s), "\" (logfmt, json)"));
}

LogFactory::LogFactory(LogLevel level, LogFormat format)
    : LogFactory(level, format, std::make_shared<spdlog::sinks::stderr_sink_mt>()) {}

LogFactory::LogFactory(LogLevel level, LogFormat format,
                       std::shared_ptr<spdlog::sinks::sink> sink)
    : sink_(std::move(sink)), level_(level) {
  if (format == LogFormat::kJson) {
    sink_->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    sink_->set_formatter(std::make_unique<LogfmtFormatter>());
  }
}

LogFactory::~LogFactory() = default;

LoggerPtr LogFactory::Get(std::string_view component) {
  absl::MutexLock lock(&mu_);
  for (const auto& l : loggers_) {
    if (l->name() == component) return l;
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(component), sink_);
  logger->set_level(ToSpd(level_));
  logger->flush_on(spdlog::level::warn);
  loggers_.push_back(logger);
  return logger;
}

void LogFactory::SetLevel(LogLevel level) {
  absl::MutexLock lock(&mu_);
  level_ = level;
  for (const auto& l : loggers_) l->set_level(ToSpd(level));
}

}  // namespace pharos
