#include "query/parser/lexer.h"

#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pharos::promql {
namespace {

using ::testing::HasSubstr;

std::vector<TokenType> Types(std::string_view input) {
  std::vector<TokenType> out;
  for (const Token& t : Lex(input)) out.push_back(t.type);
  return out;
}

std::vector<std::string> Texts(std::string_view input) {
  std::vector<std::string> out;
  for (const Token& t : Lex(input)) out.emplace_back(t.text);
  return out;
}

TEST(LexerTest, Punctuation) {
  using T = TokenType;
  EXPECT_EQ(Types(","), (std::vector<T>{T::kComma, T::kEof}));
  EXPECT_EQ(Types("()"), (std::vector<T>{T::kLeftParen, T::kRightParen, T::kEof}));
  EXPECT_EQ(Types("{}"), (std::vector<T>{T::kLeftBrace, T::kRightBrace, T::kEof}));
  EXPECT_EQ(Types("[5m]"), (std::vector<T>{T::kLeftBracket, T::kDuration, T::kRightBracket, T::kEof}));
  EXPECT_EQ(Types("[ 5m:]"),
            (std::vector<T>{T::kLeftBracket, T::kDuration, T::kColon, T::kRightBracket, T::kEof}));
  EXPECT_EQ(Types("\r\n\r"), (std::vector<T>{T::kEof}));
}

TEST(LexerTest, Operators) {
  using T = TokenType;
  EXPECT_EQ(Types("+ - * / % ^ == != < <= > >= @ </ >/"),
            (std::vector<T>{T::kAdd, T::kSub, T::kMul, T::kDiv, T::kMod, T::kPow, T::kEqlc, T::kNeq,
                            T::kLss, T::kLte, T::kGtr, T::kGte, T::kAt, T::kTrimUpper,
                            T::kTrimLower, T::kEof}));
  EXPECT_EQ(Types("=~ !~ ="), (std::vector<T>{T::kEqlRegex, T::kNeqRegex, T::kAssign, T::kEof}));
  // Keywords are identifiers at this level.
  EXPECT_EQ(Types("and or unless by"),
            (std::vector<T>{T::kIdentifier, T::kIdentifier, T::kIdentifier, T::kIdentifier, T::kEof}));
}

TEST(LexerTest, Identifiers) {
  using T = TokenType;
  EXPECT_EQ(Types("foo_bar:baz"), (std::vector<T>{T::kMetricIdentifier, T::kEof}));
  EXPECT_EQ(Types(":foo"), (std::vector<T>{T::kMetricIdentifier, T::kEof}));
  EXPECT_EQ(Types("_foo1"), (std::vector<T>{T::kIdentifier, T::kEof}));
  EXPECT_EQ(Types("Inf nan NaN iNf"),
            (std::vector<T>{T::kNumber, T::kNumber, T::kNumber, T::kNumber, T::kEof}));
  EXPECT_EQ(Types("Infinity"), (std::vector<T>{T::kIdentifier, T::kEof}));
  // Inside braces, words never combine with ':' and stay identifiers.
  EXPECT_EQ(Texts("{on=\"x\"}"), (std::vector<std::string>{"{", "on", "=", "\"x\"", "}", ""}));
}

TEST(LexerTest, NumbersAndDurations) {
  using T = TokenType;
  for (const char* n : {"1", "4.23", ".3", "5.", "5e-3", "5e3", "5E+3", "0x1F", "0X_ab", "1_000",
                        "010", "1_000.5_5"}) {
    EXPECT_EQ(Types(n), (std::vector<T>{T::kNumber, T::kEof})) << n;
  }
  for (const char* d : {"5s", "5m", "1h30m", "1y2w3d4h5m6s7ms", "10ms", "1.5h", "5hs"}) {
    // 1.5h and 5hs lex as durations; ParseDurationMs rejects them.
    EXPECT_EQ(Types(d), (std::vector<T>{T::kDuration, T::kEof})) << d;
  }
  for (const char* bad : {"1.5e", "0x", "1_", "1__0", "5m3", "5x", "1e5e", "5mm"}) {
    std::vector<Token> toks = Lex(bad);
    EXPECT_EQ(toks.back().type, T::kError) << bad;
    EXPECT_THAT(toks.back().error, HasSubstr("bad number or duration syntax")) << bad;
  }
}

TEST(LexerTest, Strings) {
  using T = TokenType;
  EXPECT_EQ(Types("\"a\" 'b' `c`"), (std::vector<T>{T::kString, T::kString, T::kString, T::kEof}));
  EXPECT_EQ(Types("`multi\nline`"), (std::vector<T>{T::kString, T::kEof}));
  EXPECT_EQ(Lex("\"a\nb\"").back().error, "unterminated quoted string");
  EXPECT_EQ(Lex("\"\\q\"").back().error, "unknown escape sequence U+0071 'q'");
  EXPECT_EQ(Lex("\"\xff\"").back().error, "invalid UTF-8 rune");
  EXPECT_EQ(Lex("`\xc3`").back().error, "invalid UTF-8 rune");
}

TEST(LexerTest, Errors) {
  EXPECT_EQ(Lex("(").back().error, "unclosed left parenthesis");
  EXPECT_EQ(Lex(")").back().error, "unexpected right parenthesis ')'");
  EXPECT_EQ(Lex("[").back().error, "unclosed left bracket");
  EXPECT_EQ(Lex("]").back().error, "unexpected right bracket ']'");
  EXPECT_EQ(Lex("[[").back().error, "unexpected left bracket '['");
  EXPECT_EQ(Lex("}").back().error, "unexpected right brace '}'");
  EXPECT_EQ(Lex("{").back().error, "unexpected end of input inside braces");
  EXPECT_EQ(Lex("{a>").back().error, "unexpected character inside braces: '>'");
  EXPECT_EQ(Lex("$").back().error, "unexpected character: '$'");
  EXPECT_EQ(Lex("{a=\"b\" # no comments here\n}").back().error,
            "unexpected character inside braces: '#'");
  EXPECT_EQ(Lex("é").back().error, "unexpected character: 'é'");
  EXPECT_EQ(Lex("a!b").back().error, "unexpected character after '!': 'b'");
  Token t = Lex("foo $").back();
  EXPECT_EQ(t.pos, 4);
  EXPECT_EQ(t.text, "");
}

TEST(LexerTest, Positions) {
  std::vector<Token> toks = Lex("sum(rate(x[5m]))");
  ASSERT_EQ(toks.size(), 11u);
  EXPECT_EQ(toks[0].pos, 0);
  EXPECT_EQ(toks[0].end(), 3);
  EXPECT_EQ(toks[6].text, "5m");
  EXPECT_EQ(toks[6].pos, 11);
  EXPECT_EQ(toks.back().pos, 16);
}

TEST(LexerTest, UnquoteString) {
  EXPECT_EQ(*UnquoteString("\"a\\tb\""), "a\tb");
  EXPECT_EQ(*UnquoteString("'it\\'s'"), "it's");
  EXPECT_EQ(*UnquoteString("\"say \\\"hi\\\"\""), "say \"hi\"");
  EXPECT_EQ(*UnquoteString("`raw\\n`"), "raw\\n");
  EXPECT_EQ(*UnquoteString("\"\\x41\\101\\u00e9\\U0001F600\""), "AAé😀");
  EXPECT_EQ(*UnquoteString("\"\\a\\b\\f\\n\\r\\t\\v\\\\\""), "\a\b\f\n\r\t\v\\");
  EXPECT_EQ(*UnquoteString("\"\\xff\""), "\xff");  // a byte, not a rune (Go semantics)
  EXPECT_FALSE(UnquoteString("\"\\'\"").ok());
  EXPECT_FALSE(UnquoteString("'\\\"'").ok());
  EXPECT_FALSE(UnquoteString("\"\\400\"").ok());
  EXPECT_FALSE(UnquoteString("\"\\ud800\"").ok());
  EXPECT_FALSE(UnquoteString("\"\\U00110000\"").ok());
  EXPECT_FALSE(UnquoteString("\"abc").ok());
  EXPECT_FALSE(UnquoteString("x").ok());
}

TEST(LexerTest, ParseNumberLiteral) {
  EXPECT_EQ(*ParseNumberLiteral("1"), 1);
  EXPECT_EQ(*ParseNumberLiteral("010"), 8);
  EXPECT_EQ(*ParseNumberLiteral("08"), 8);
  EXPECT_EQ(*ParseNumberLiteral("0x1F"), 31);
  EXPECT_EQ(*ParseNumberLiteral("0x_1f"), 31);
  EXPECT_EQ(*ParseNumberLiteral("1_000"), 1000);
  EXPECT_EQ(*ParseNumberLiteral("1.5e3"), 1500);
  EXPECT_EQ(*ParseNumberLiteral(".5"), 0.5);
  EXPECT_EQ(*ParseNumberLiteral("5."), 5);
  EXPECT_TRUE(std::isinf(*ParseNumberLiteral("Inf")));
  EXPECT_TRUE(std::isnan(*ParseNumberLiteral("nAn")));
  EXPECT_EQ(*ParseNumberLiteral("99999999999999999999"), 1e20);
}

TEST(LexerTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("5m"), 300000);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*ParseDurationMs("1y"), 365LL * 86400000);
  EXPECT_EQ(*ParseDurationMs("2w"), 14LL * 86400000);
  EXPECT_EQ(*ParseDurationMs("10s53ms"), 10053);
  EXPECT_FALSE(ParseDurationMs("").ok());
  EXPECT_FALSE(ParseDurationMs("5").ok());
  EXPECT_FALSE(ParseDurationMs("1m1h").ok());
  EXPECT_FALSE(ParseDurationMs("1m1m").ok());
  EXPECT_FALSE(ParseDurationMs("1.5h").ok());
  EXPECT_FALSE(ParseDurationMs("5hs").ok());
  EXPECT_FALSE(ParseDurationMs("99999999999999999999y").ok());
  EXPECT_EQ(ParseDurationMs("1.5h").status().message(), "not a valid duration string: \"1.5h\"");

  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(1), "1ms");
  EXPECT_EQ(FormatDurationMs(90000), "1m30s");
  EXPECT_EQ(FormatDurationMs(7LL * 86400000), "1w");
  EXPECT_EQ(FormatDurationMs(8LL * 86400000), "8d");
  EXPECT_EQ(FormatDurationMs(14LL * 86400000 + 3600000), "14d1h");
  EXPECT_EQ(FormatDurationMs(365LL * 86400000), "1y");
  EXPECT_EQ(FormatDurationMs(730LL * 86400000), "2y");
  EXPECT_EQ(FormatDurationMs(371LL * 86400000), "53w");
  EXPECT_EQ(FormatDurationMs(3723004), "1h2m3s4ms");
}

TEST(LexerTest, QuoteAndNames) {
  EXPECT_EQ(QuoteString("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(QuoteString("é😀"), "\"é😀\"");
  EXPECT_EQ(QuoteString("\xff\x01"), "\"\\xff\\x01\"");
  EXPECT_TRUE(IsLegacyMetricName("a:b_c1"));
  EXPECT_TRUE(IsLegacyMetricName(":a"));
  EXPECT_FALSE(IsLegacyMetricName("1a"));
  EXPECT_FALSE(IsLegacyMetricName("a.b"));
  EXPECT_TRUE(IsLegacyLabelName("_a1"));
  EXPECT_FALSE(IsLegacyLabelName("a:b"));
  EXPECT_FALSE(IsLegacyLabelName(""));
}

}  // namespace
}  // namespace pharos::promql
