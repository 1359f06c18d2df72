#include "storage/labels/matcher.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace pharos {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

Matcher Re(std::string_view v) { return Matcher::MustMake(MatchType::kRegexMatch, "l", v); }

TEST(MatcherTest, EqualityMatchers) {
  const Matcher eq = Matcher::MustMake(MatchType::kEqual, "job", "api");
  EXPECT_TRUE(eq.Matches("api"));
  EXPECT_FALSE(eq.Matches("apis"));
  EXPECT_FALSE(eq.MatchesEmpty());
  const Matcher ne = Matcher::MustMake(MatchType::kNotEqual, "job", "api");
  EXPECT_FALSE(ne.Matches("api"));
  EXPECT_TRUE(ne.Matches(""));
  EXPECT_TRUE(ne.MatchesEmpty());
  EXPECT_TRUE(Matcher::MustMake(MatchType::kEqual, "job", "").MatchesEmpty());
  EXPECT_FALSE(Matcher::MustMake(MatchType::kNotEqual, "job", "").MatchesEmpty());
}

TEST(MatcherTest, InvalidRegex) {
  for (std::string_view bad : {"(", "a)|(b", "[z-a]", "**", "a{2,1}"}) {
    auto m = Matcher::Make(MatchType::kRegexMatch, "l", bad);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(MatcherTest, FullyAnchored) {
  EXPECT_FALSE(Re("foo").Matches("foobar"));
  EXPECT_FALSE(Re("foo").Matches("xfoo"));
  EXPECT_FALSE(Re("a|b").Matches("ab"));
  EXPECT_TRUE(Re("a|b").Matches("b"));
  EXPECT_FALSE(Re("fo+").Matches("afoo"));
  EXPECT_TRUE(Re("fo+").Matches("fooo"));
  EXPECT_FALSE(Re("f.o").Matches("f.ox"));
  // Alternation binds inside the anchors: ^(?:a|bc)$.
  EXPECT_FALSE(Re("a|bc").Matches("abc"));
}

TEST(MatcherTest, DotMatchesNewline) {
  EXPECT_TRUE(Re(".*").Matches("a\nb"));
  EXPECT_TRUE(Re("foo.bar").Matches("foo\nbar"));
  EXPECT_TRUE(Re("x.*").Matches("x\n"));
  EXPECT_TRUE(Re(".+").Matches("\n"));
  EXPECT_TRUE(Re("[^a]").Matches("\n"));
  EXPECT_TRUE(Re(".").Matches("é"));  // one code point, not one byte
}

TEST(MatcherTest, MatchesEmpty) {
  EXPECT_TRUE(Re(".*").MatchesEmpty());
  EXPECT_FALSE(Re(".+").MatchesEmpty());
  EXPECT_TRUE(Re("a|").MatchesEmpty());
  EXPECT_TRUE(Re("").MatchesEmpty());
  EXPECT_FALSE(Re("a*b").MatchesEmpty());
  EXPECT_FALSE(Matcher::MustMake(MatchType::kRegexNoMatch, "l", ".*").MatchesEmpty());
  EXPECT_TRUE(Matcher::MustMake(MatchType::kRegexNoMatch, "l", ".+").MatchesEmpty());
}

TEST(MatcherTest, InverseAndString) {
  const Matcher m = Re("a|b");
  EXPECT_EQ(m.String(), R"(l=~"a|b")");
  const Matcher inv = m.Inverse();
  EXPECT_EQ(inv.type(), MatchType::kRegexNoMatch);
  EXPECT_EQ(inv.String(), R"(l!~"a|b")");
  EXPECT_TRUE(inv.Matches("c"));
  EXPECT_FALSE(inv.Matches("a"));
  EXPECT_EQ(inv.Inverse(), m);
  EXPECT_EQ(Matcher::MustMake(MatchType::kEqual, "job", "a\"b\n").String(), R"(job="a\"b\n")");
  EXPECT_EQ(Matcher::MustMake(MatchType::kNotEqual, "my.label", "x").String(),
            R"("my.label"!="x")");
  EXPECT_EQ(Matcher::MustMake(MatchType::kRegexMatch, "a", R"(\d+)").String(), R"(a=~"\\d+")");
}

TEST(MatcherTest, LiteralSetsAndPrefixes) {
  EXPECT_THAT(Re("foo").SetMatches(), Optional(ElementsAre("foo")));
  EXPECT_THAT(Re(R"(foo\.bar)").SetMatches(), Optional(ElementsAre("foo.bar")));
  EXPECT_THAT(Re("c|a|b|a").SetMatches(), Optional(ElementsAre("a", "b", "c")));
  EXPECT_THAT(Re("(?:x|y)").SetMatches(), Optional(ElementsAre("x", "y")));
  EXPECT_THAT(Re("(x|y)").SetMatches(), Optional(ElementsAre("x", "y")));
  EXPECT_THAT(Re("a|").SetMatches(), Optional(ElementsAre("", "a")));
  EXPECT_THAT(Re(R"(a\|b)").SetMatches(), Optional(ElementsAre("a|b")));
  EXPECT_EQ(Re("a.*").SetMatches(), std::nullopt);
  EXPECT_EQ(Re("(?i)a|b").SetMatches(), std::nullopt);
  EXPECT_EQ(Matcher::MustMake(MatchType::kRegexNoMatch, "l", "a").SetMatches(), std::nullopt);
  EXPECT_THAT(Matcher::MustMake(MatchType::kEqual, "l", "v").SetMatches(),
              Optional(ElementsAre("v")));

  EXPECT_EQ(Re("api_.*").Prefix(), "api_");
  EXPECT_TRUE(Re("api_.*").PrefixIsExact());
  EXPECT_EQ(Re("api_[0-9]+").Prefix(), "api_");
  EXPECT_FALSE(Re("api_[0-9]+").PrefixIsExact());
  EXPECT_EQ(Re("apix?").Prefix(), "api");
  EXPECT_EQ(Re("a|b.*").Prefix(), "");
  EXPECT_EQ(Re("(?i)abc").Prefix(), "");
  EXPECT_TRUE(Re(".*").MatchesAll());
  EXPECT_TRUE(Re(".+").MatchesAllNonEmpty());
}

// Every fast path must agree with RE2 run the slow way (FullMatch, dot_nl) on random strings.
TEST(MatcherTest, FastPathsAgreeWithRe2) {
  const std::vector<std::string> patterns = {
      "foo",      "",          "foo|bar|baz", "(?:foo|ba)", "foo.*",   ".*foo",  ".*o.*",
      ".*",       ".+",        R"(fo\.o)",    R"(a\.*)",    "fo+",     "f[oa]o", "(?i)FOO",
      "foo|",     "ba.*",      ".*\n",        "é.*",        ".*é",     "a|b|c|d|e|f|g|h|i|j",
      R"(\.\*)",  "f.*o",      "(foo)|(bar)", R"(x\|y)",    "^foo$",   "fo?",    ".*foo.*bar",
      "ba(r|z)",  R"(.*\.)",   "[^f].*",
  };
  const std::vector<std::string> atoms = {"f", "o", "foo", "ba", "r", "z", "\n", "é",
                                          ".", "|", "*", "x", "a", "FOO", "bar"};
  std::mt19937_64 rng(42);
  RE2::Options opts;
  opts.set_dot_nl(true);
  opts.set_log_errors(false);
  for (const std::string& p : patterns) {
    SCOPED_TRACE(p);
    RE2 slow(p, opts);
    ASSERT_TRUE(slow.ok()) << slow.error();
    const Matcher m = Re(p);
    const Matcher nm = Matcher::MustMake(MatchType::kRegexNoMatch, "l", p);
    EXPECT_EQ(m.MatchesEmpty(), RE2::FullMatch("", slow));
    for (int i = 0; i < 3000; ++i) {
      std::string s;
      const int n = static_cast<int>(rng() % 6);
      for (int k = 0; k < n; ++k) s += atoms[rng() % atoms.size()];
      const bool want = RE2::FullMatch(s, slow);
      ASSERT_EQ(m.Matches(s), want) << "input: " << s;
      ASSERT_EQ(nm.Matches(s), !want) << "input: " << s;
    }
    // SetMatches must list exactly the matching strings among its own members.
    if (auto set = m.SetMatches()) {
      for (const std::string& v : *set) EXPECT_TRUE(RE2::FullMatch(v, slow)) << v;
    }
  }
}

}  // namespace
}  // namespace pharos
