#include "common/logging.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace pharos {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(Logging, LogfmtLine) {
  std::ostringstream os;
  LogFactory f(LogLevel::kInfo, LogFormat::kLogfmt,
               std::make_shared<spdlog::sinks::ostream_sink_mt>(os));
  f.Get("http")->info("msg=\"listening\" port={}", 9090);
  EXPECT_THAT(os.str(), MatchesRegex("ts=[0-9T:.-]+Z level=info component=http "
                                     "msg=\"listening\" port=9090\n"));
}

TEST(Logging, JsonLineSplitsKeyValues) {
  std::ostringstream os;
  LogFactory f(LogLevel::kInfo, LogFormat::kJson,
               std::make_shared<spdlog::sinks::ostream_sink_mt>(os));
  f.Get("main")->warn("msg=\"a \\\"quoted\\\" thing\" file=x.yml line=3");
  EXPECT_THAT(os.str(), HasSubstr(R"("level":"warn","component":"main","msg":"a \"quoted\" thing","file":"x.yml","line":"3"})"));
}

TEST(Logging, LevelFiltersAndIsSwitchable) {
  std::ostringstream os;
  LogFactory f(LogLevel::kWarn, LogFormat::kLogfmt,
               std::make_shared<spdlog::sinks::ostream_sink_mt>(os));
  auto log = f.Get("x");
  log->info("msg=hidden");
  EXPECT_THAT(os.str(), Not(HasSubstr("hidden")));
  f.SetLevel(LogLevel::kDebug);
  log->debug("msg=shown");
  EXPECT_THAT(os.str(), HasSubstr("level=debug component=x msg=shown"));
  EXPECT_EQ(f.Get("x"), log);
}

TEST(Logging, ParseLevelAndFormat) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

}  // namespace
}  // namespace pharos
