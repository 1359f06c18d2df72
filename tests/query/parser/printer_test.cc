#include "query/parser/printer.h"

#include <string>

#include <gtest/gtest.h>

#include "query/parser/parser.h"

namespace pharos::promql {
namespace {

ExprPtr MustParse(std::string_view input) {
  ParserOptions options;
  options.enable_experimental = true;
  absl::StatusOr<ExprPtr> expr = ParseExpr(input, options);
  EXPECT_TRUE(expr.ok()) << input << ": " << expr.status().message();
  return expr.ok() ? std::move(*expr) : nullptr;
}

// Round trip: print -> parse -> print is stable, and the first print equals `want` when given.
void ExpectStable(std::string_view input, std::string_view want = "") {
  ExprPtr e = MustParse(input);
  if (!e) return;
  std::string once = Format(*e);
  if (!want.empty()) {
    EXPECT_EQ(once, want) << input;
  }
  ExprPtr again = MustParse(once);
  if (!again) return;
  EXPECT_EQ(Format(*again), once) << input;
  // The pretty form parses back to the same canonical form as well.
  for (int width : {10, 40, 100}) {
    ExprPtr pretty = MustParse(FormatPretty(*e, width));
    if (pretty) {
      EXPECT_EQ(Format(*pretty), once) << FormatPretty(*e, width);
    }
  }
}

TEST(PrinterTest, Numbers) {
  ExpectStable("1", "1");
  ExpectStable("1.5", "1.5");
  ExpectStable("100000", "100000");
  ExpectStable("1000000", "1e+06");
  ExpectStable("1234567", "1.234567e+06");
  ExpectStable("0.0001", "0.0001");
  ExpectStable("0.00001", "1e-05");
  ExpectStable("1.7976931348623157e308", "1.7976931348623157e+308");
  ExpectStable("5e-324", "5e-324");
  ExpectStable("0.1 + 0.2", "0.1 + 0.2");
  ExpectStable("-Inf", "-Inf");
  ExpectStable("NaN", "NaN");
  ExpectStable("-0", "-0");
}

TEST(PrinterTest, RoundTrips) {
  for (const char* q : {
           "sum by (job, \"a.b\") (rate(http_requests_total{code=~\"5..\",job!=\"\"}[5m] offset 1m))",
           "histogram_quantile(0.99, sum without (instance) (rate(x_bucket[1m] @ end())))",
           "a / on (x) group_left (y, z) b unless ignoring (q) c or d and e",
           "-(a + b) * -c ^ -2",
           "(-(1))",
           "topk by (a) (3, x) > bool 2",
           "label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\\\\d\")",
           "x offset -1h30m[5m:10s] @ 100",
           "rate(x[5m])[30m:1m] offset 1h",
           "1 - -1", "2 ^ -1", "- - 1", "-(-1)", "+-x",
           "{\"weird metric\", \"la bel\"=\"v\\u00e9\\n\"}",
           "foo[5m + 1m]", "foo offset -(step() * 2)", "foo[1m:step()]",
           "foo offset min_of(range(), 8s) + 1",
           "increase(x[1m] anchored) + rate(y[2m] @ 10 smoothed)",
           "a + fill_left(1) fill_right(-Inf) b",
           "limit_ratio(0.5, x)",
           "sum(rate(http_requests_total[5m])) by (job) / ignoring (job) group_left sum(rate(x[5m]))",
           "a atan2 b", "x </ 2 >/ 1",
       }) {
    ExpectStable(q);
  }
}

TEST(PrinterTest, Pretty) {
  ExprPtr e = MustParse(
      "sum by (job) (rate(http_requests_total{code=\"500\"}[5m])) / sum by (job) "
      "(rate(http_requests_total[5m]))");
  EXPECT_EQ(FormatPretty(*e, 100),
            "  sum by (job) (rate(http_requests_total{code=\"500\"}[5m]))\n"
            "/\n"
            "  sum by (job) (rate(http_requests_total[5m]))");
  EXPECT_EQ(FormatPretty(*e, 40),
            "  sum by (job) (\n"
            "    rate(\n"
            "      http_requests_total{code=\"500\"}[5m]\n"
            "    )\n"
            "  )\n"
            "/\n"
            "  sum by (job) (\n"
            "    rate(http_requests_total[5m])\n"
            "  )");
  ExprPtr neg = MustParse("-(aaaaaaaaaa + bbbbbbbbbb)");
  EXPECT_EQ(FormatPretty(*neg, 10),
            "-(\n"
            "    aaaaaaaaaa\n"
            "  +\n"
            "    bbbbbbbbbb\n"
            ")");
  ExprPtr small = MustParse("up");
  EXPECT_EQ(FormatPretty(*small), "up");
}

TEST(PrinterTest, CloneIsDeep) {
  ExprPtr e = MustParse(
      "max_over_time(sum by (a) (rate(x{y=\"z\"}[5m] offset (1m * 2)))[10m:] @ start()) + on (a) "
      "fill(0) b");
  ExprPtr c = Clone(*e);
  EXPECT_EQ(Format(*c), Format(*e));
  EXPECT_EQ(c->pos.start, e->pos.start);
  EXPECT_EQ(c->pos.end, e->pos.end);
  e.reset();
  EXPECT_FALSE(Format(*c).empty());
}

TEST(PrinterTest, Children) {
  ExprPtr e = MustParse("topk(3, rate(x[5m])) + on (a) -(y)");
  std::vector<std::string> seen;
  std::vector<const Expr*> stack{e.get()};
  while (!stack.empty()) {
    const Expr* n = stack.back();
    stack.pop_back();
    seen.push_back(Format(*n));
    std::vector<const Expr*> kids = Children(*n);
    stack.insert(stack.end(), kids.rbegin(), kids.rend());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"topk(3, rate(x[5m])) + on (a) -(y)",
                                            "topk(3, rate(x[5m]))", "3", "rate(x[5m])", "x[5m]",
                                            "x", "-(y)", "(y)", "y"}));
}

TEST(PrinterTest, Positions) {
  std::string q = "sum(rate(foo{a=\"b\"}[5m] offset 1m)) by (x) + 1";
  ExprPtr e = MustParse(q);
  EXPECT_EQ(e->pos.start, 0);
  EXPECT_EQ(e->pos.end, static_cast<int32_t>(q.size()));
  const auto& agg = e->As<BinaryExpr>().lhs->As<AggregateExpr>();
  EXPECT_EQ(q.substr(agg.pos.start, agg.pos.end - agg.pos.start),
            "sum(rate(foo{a=\"b\"}[5m] offset 1m)) by (x)");
  const auto& call = agg.expr->As<Call>();
  EXPECT_EQ(q.substr(call.pos.start, call.pos.end - call.pos.start), "rate(foo{a=\"b\"}[5m] offset 1m)");
  const auto& m = call.args[0]->As<MatrixSelector>();
  EXPECT_EQ(q.substr(m.pos.start, m.pos.end - m.pos.start), "foo{a=\"b\"}[5m] offset 1m");
  EXPECT_EQ(q.substr(m.vector_selector->pos.start,
                     m.vector_selector->pos.end - m.vector_selector->pos.start),
            "foo{a=\"b\"}");
}

}  // namespace
}  // namespace pharos::promql
