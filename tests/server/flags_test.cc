#include "server/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos {
namespace {

using ::testing::HasSubstr;

TEST(Flags, Defaults) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->listen_address, "0.0.0.0:9090");
  EXPECT_EQ(f->storage_path, "data/");
  EXPECT_EQ(f->retention_time_ms, 30LL * 86400000);
  EXPECT_EQ(f->log_level, "info");
  EXPECT_EQ(f->log_format, "logfmt");
  EXPECT_FALSE(f->enable_lifecycle);
  EXPECT_TRUE(f->explicitly_set.empty());
}

TEST(Flags, BothSyntaxesAndBooleans) {
  auto f = ParseFlags({"--config.file=/etc/p.yml", "--web.listen-address", "127.0.0.1:0",
                       "--storage.retention.time=15d", "--storage.retention.size=1GB",
                       "--web.enable-lifecycle", "--log.format=json", "--web.read-timeout=1m"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->config_file, "/etc/p.yml");
  EXPECT_EQ(f->listen_address, "127.0.0.1:0");
  EXPECT_EQ(f->retention_time_ms, 15LL * 86400000);
  EXPECT_EQ(f->retention_size_bytes, 1LL << 30);
  EXPECT_TRUE(f->enable_lifecycle);
  EXPECT_EQ(f->read_timeout_ms, 60000);
  EXPECT_TRUE(f->IsSet("storage.retention.time"));
  EXPECT_FALSE(f->IsSet("storage.path"));
  auto g = ParseFlags({"--web.enable-lifecycle", "--no-web.enable-lifecycle"});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->enable_lifecycle);
  EXPECT_TRUE(ParseFlags({"--web.enable-lifecycle=false"}).ok());
}

TEST(Flags, Errors) {
  EXPECT_THAT(std::string(ParseFlags({"--nope"}).status().message()), HasSubstr("unknown flag --nope"));
  EXPECT_THAT(std::string(ParseFlags({"--config.file"}).status().message()), HasSubstr("expected a value"));
  EXPECT_THAT(std::string(ParseFlags({"--storage.retention.time=forever"}).status().message()),
              HasSubstr("--storage.retention.time"));
  EXPECT_FALSE(ParseFlags({"positional"}).ok());
  EXPECT_FALSE(ParseFlags({"--web.enable-lifecycle=maybe"}).ok());
  EXPECT_FALSE(ParseFlags({"--no-config.file"}).ok());
}

TEST(Flags, HelpAndMapListEveryFlag) {
  std::string help = FlagsHelp();
  auto m = ParseFlags({}).value().AsMap();
  for (const auto& [name, value] : m) EXPECT_THAT(help, HasSubstr(name)) << name;
  EXPECT_EQ(m.at("storage.retention.time"), "30d");
  EXPECT_EQ(m.at("web.enable-lifecycle"), "false");
}

}  // namespace
}  // namespace pharos
