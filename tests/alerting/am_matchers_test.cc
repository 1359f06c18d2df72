#include <string>

#include "alerting/am/config.h"
#include "alerting/am/internal/matchers.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

std::string Roundtrip(const std::string& in) {
  auto ms = ParseMatchers(in);
  if (!ms.ok()) return "ERROR: " + std::string(ms.status().message());
  return internal::MatchersString(*ms);
}

TEST(ParseMatchersTest, Syntax) {
  EXPECT_EQ(Roundtrip(R"({a="b",c=~"d.*"})"), R"({a="b",c=~"d.*"})");
  EXPECT_EQ(Roundtrip("a=b"), R"({a="b"})");
  EXPECT_EQ(Roundtrip(R"(a!="x y")"), R"({a!="x y"})");
  EXPECT_EQ(Roundtrip(R"(  foo  !~  "bar" )"), R"({foo!~"bar"})");
  EXPECT_EQ(Roundtrip(R"({a="b",})"), R"({a="b"})");               // trailing comma
  EXPECT_EQ(Roundtrip(R"({a="1,2", b=x})"), R"({a="1,2",b="x"})");  // comma inside quotes
  EXPECT_EQ(Roundtrip(R"(a="q\"uote")"), R"({a="q\"uote"})");
  EXPECT_EQ(Roundtrip(R"(a="back\\slash")"), R"({a="back\\slash"})");
  EXPECT_EQ(Roundtrip(R"(a="new\nline")"), R"({a="new\nline"})");
  EXPECT_EQ(Roundtrip(R"(a="spurious\d")"), R"({a="spurious\\d"})");  // kept literally
  EXPECT_EQ(Roundtrip("a="), R"({a=""})");
  EXPECT_EQ(Roundtrip(""), "{}");
  EXPECT_EQ(Roundtrip("{}"), "{}");
  EXPECT_EQ(Roundtrip("a:b=c"), R"({a:b="c"})");  // AM 0.25 allows ':' in names
}

TEST(ParseMatchersTest, Errors) {
  EXPECT_EQ(Roundtrip("=b"), "ERROR: bad matcher format: =b");
  EXPECT_EQ(Roundtrip("a"), "ERROR: bad matcher format: a");
  EXPECT_EQ(Roundtrip("1a=b"), "ERROR: bad matcher format: 1a=b");
  EXPECT_EQ(Roundtrip("{,a=b}"), "ERROR: bad matcher format: ");
  EXPECT_EQ(Roundtrip(R"(a="b)"), R"(ERROR: matcher value contains unescaped double quote: "b)");
  EXPECT_EQ(Roundtrip(R"(a=b"c)"), R"(ERROR: matcher value contains unescaped double quote: b"c)");
  auto bad_re = ParseMatchers(R"(a=~"(")");
  ASSERT_FALSE(bad_re.ok());
  EXPECT_EQ(bad_re.status().message().substr(0, 19), "invalid matcher a=~");
}

TEST(ParseMatchersTest, RegexesAreAnchored) {
  auto ms = ParseMatchers(R"(a=~"fo+")");
  ASSERT_TRUE(ms.ok());
  EXPECT_TRUE((*ms)[0].Matches("foo"));
  EXPECT_FALSE((*ms)[0].Matches("xfoo"));
  EXPECT_FALSE((*ms)[0].Matches("foox"));
}

TEST(SortMatchersTest, NameThenValueThenType) {
  auto ms = ParseMatchers(R"(b="1", a!="2", a="2", a="1")");
  ASSERT_TRUE(ms.ok());
  internal::SortMatchers(&*ms);
  EXPECT_EQ(internal::MatchersString(*ms), R"({a="1",a="2",a!="2",b="1"})");
}

}  // namespace
}  // namespace pharos::alerting::am
