#include <filesystem>
#include <string>

#include "alerting/am/types.h"
#include "alerting/state/state_store.h"
#include "gtest/gtest.h"

namespace pharos::alerting {
namespace {

TEST(FingerprintTest, MatchesAlertmanager) {
  // Values from Go: model.LabelSet{...}.Fingerprint() (prometheus/common), FNV-1a 64.
  EXPECT_EQ(am::Fingerprint({}), 14695981039346656037ull);
  EXPECT_EQ(am::FingerprintHex(am::Fingerprint({})), "cbf29ce484222325");
  // Order of insertion does not matter; values and names are separated.
  am::LabelSet a = {{"a", "bc"}}, b = {{"ab", "c"}};
  EXPECT_NE(am::Fingerprint(a), am::Fingerprint(b));
  EXPECT_EQ(am::FingerprintHex(1), "0000000000000001");
}

TEST(StateStoreTest, PersistsAcrossReopen) {
  std::string dir = ::testing::TempDir() + "/state_store_test";
  std::filesystem::remove_all(dir);
  {
    auto s = StateStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Put("silence/1", "one").ok());
    ASSERT_TRUE((*s)->Put("silence/2", "two").ok());
    ASSERT_TRUE((*s)->Put("nflog/x", "log").ok());
    ASSERT_TRUE((*s)->Apply({{"silence/2", std::nullopt}, {"silence/3", "three"}}).ok());
  }
  auto s = StateStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  std::string seen;
  ASSERT_TRUE((*s)->Scan("silence/", [&](std::string_view k, std::string_view v) {
                  seen += std::string(k) + "=" + std::string(v) + ";";
                  return true;
                }).ok());
  EXPECT_EQ(seen, "silence/1=one;silence/3=three;");
  auto g = (*s)->Get("nflog/x");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ(**g, "log");
  auto missing = (*s)->Get("nflog/y");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pharos::alerting
