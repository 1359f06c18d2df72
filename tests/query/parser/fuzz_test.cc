// Fuzz-style robustness: random bytes, random token soups and random mutations of valid
// queries must never crash (run under ASan/UBSan), hang, or produce a tree whose canonical
// form fails to parse back.

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "query/parser/parser.h"
#include "query/parser/printer.h"

namespace pharos::promql {
namespace {

const char* const kSeeds[] = {
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1m))",
    "histogram_quantile(0.9, sum without (instance) (rate(x_bucket[1m] @ end())))",
    "a / on (x) group_left (y) b unless ignoring (q) c or d and e",
    "-(a + b) * -c ^ -2 > bool 3",
    "max_over_time(deriv(rate(x[5s])[30s:5s])[10m:] @ 100)",
    "label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")",
    "count_values without (a) ('v', x) % 0x1F",
    "{\"my.metric\", \"a.b\"=`c`} offset -1h30m",
    "foo[5m+step()*2:1m] offset -(min_of(range(), 8s))",
    "increase(x[1m] anchored) + fill_left(0) fill_right(1) rate(y[1m] smoothed)",
    "limitk(2, x) </ 3 >/ 1 # comment",
    "1e3 + .5 - Inf * NaN / 1_000",
};

const char* const kTokens[] = {
    "(", ")", "{", "}", "[", "]", ",", ":", "=", "=~", "!~", "!=", "==", "<", ">", "<=", ">=",
    "+", "-", "*", "/", "%", "^", "@", "</", ">/", "sum", "by", "without", "on", "ignoring",
    "group_left", "group_right", "bool", "offset", "and", "or", "unless", "atan2", "rate",
    "foo", "x:y", "1", "1.5", "5m", "0x1F", "Inf", "NaN", "\"s\"", "'t'", "`u`", "step()",
    "start()", "end()", "anchored", "smoothed", "fill", "fill_left", "min_of", "topk", "#",
    "\n", " ", "count_values", "info", "__name__", "\"a.b\"", "\\", "\"",
};

// PHAROS_FUZZ_SCALE=N multiplies the iteration counts (and varies the seeds) for longer runs.
int Scale() {
  const char* env = std::getenv("PHAROS_FUZZ_SCALE");
  int n = env != nullptr ? std::atoi(env) : 1;
  return n > 0 ? n : 1;
}

void CheckNoCrash(const std::string& q, bool experimental) {
  ParserOptions options;
  options.enable_experimental = experimental;
  absl::StatusOr<ExprPtr> e = ParseExpr(q, options);
  if (!e.ok()) {
    EXPECT_NE(std::string(e.status().message()).find("parse error"), std::string::npos) << q;
    return;
  }
  std::string printed = Format(**e);
  absl::StatusOr<ExprPtr> again = ParseExpr(printed, options);
  ASSERT_TRUE(again.ok()) << "input: " << q << "\nprinted: " << printed << "\n"
                          << again.status().message();
  EXPECT_EQ(Format(**again), printed) << "input: " << q;
  (void)FormatPretty(**e, 20);
  (void)Clone(**e);
}

TEST(FuzzTest, RandomBytes) {
  std::mt19937 rng(12345 + Scale());
  for (int i = 0; i < 20000 * Scale(); ++i) {
    std::string q(rng() % 40, '\0');
    for (char& c : q) c = static_cast<char>(rng() % 256);
    CheckNoCrash(q, i % 2 == 0);
  }
}

TEST(FuzzTest, RandomTokenSoup) {
  std::mt19937 rng(777 + Scale());
  for (int i = 0; i < 30000 * Scale(); ++i) {
    std::string q;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      q += kTokens[rng() % std::size(kTokens)];
      if (rng() % 2) q += ' ';
    }
    CheckNoCrash(q, i % 3 != 0);
  }
}

TEST(FuzzTest, MutatedValidQueries) {
  std::mt19937 rng(4242 + Scale());
  const std::string alphabet = "(){}[],:=!~<>+-*/%^@\"'`#\\ \n0123456789.eExabcmshdwy_";
  for (int i = 0; i < 30000 * Scale(); ++i) {
    std::string q = kSeeds[rng() % std::size(kSeeds)];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !q.empty(); ++k) {
      size_t pos = rng() % q.size();
      switch (rng() % 4) {
        case 0: q.erase(pos, 1 + rng() % 3); break;
        case 1: q.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: q[pos] = alphabet[rng() % alphabet.size()]; break;
        case 3: q.insert(pos, kTokens[rng() % std::size(kTokens)]); break;
      }
    }
    CheckNoCrash(q, i % 2 == 0);
  }
}

TEST(FuzzTest, SeedsParseAndLargeInputsAreFast) {
  for (const char* s : kSeeds) {
    ParserOptions options;
    options.enable_experimental = true;
    EXPECT_TRUE(ParseExpr(s, options).ok()) << s;
  }
  // A long but flat query parses in linear time.
  std::string big = "x";
  for (int i = 0; i < 400; ++i) big += " + rate(foo{a=\"b\"}[5m])";
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ParseExpr(big).ok());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  // Pathological inputs fail quickly instead of recursing without bound.
  for (std::string bad : {std::string(200000, '('), std::string(200000, '-'), std::string(200000, '['),
                          std::string(200000, '{'), std::string(100000, '"')}) {
    EXPECT_FALSE(ParseExpr(bad).ok());
  }
}

}  // namespace
}  // namespace pharos::promql
