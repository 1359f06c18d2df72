// Parse cases modelled on Prometheus' promql/parser/parse_test.go: valid input and its
// canonical form, invalid input and (a substring of) its error.

#include "query/parser/parser.h"

#include <cmath>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "query/parser/functions.h"
#include "query/parser/printer.h"

namespace pharos::promql {
namespace {

using ::testing::HasSubstr;

struct GoodCase {
  const char* input;
  const char* printed;
  bool experimental = false;
};

struct BadCase {
  const char* input;
  const char* error;  // substring of the full message, which includes "line:col: parse error: "
  bool experimental = false;
};

ExprPtr MustParse(std::string_view input, bool experimental = false) {
  ParserOptions options;
  options.enable_experimental = experimental;
  absl::StatusOr<ExprPtr> expr = ParseExpr(input, options);
  EXPECT_TRUE(expr.ok()) << input << ": " << expr.status().message();
  return expr.ok() ? std::move(*expr) : nullptr;
}

const GoodCase kGood[] = {
    // Literals.
    {"1", "1"},
    {"+1", "1"},
    {"-1", "-1"},
    {".5", "0.5"},
    {"5.", "5"},
    {"123.4567", "123.4567"},
    {"5e-3", "0.005"},
    {"5e3", "5000"},
    {"1e6", "1e+06"},
    {"1.5e-7", "1.5e-07"},
    {"0x1F", "31"},
    {"0X1f", "31"},
    {"010", "8"},
    {"08", "8"},
    {"1_000_000", "1e+06"},
    {"0x_1F", "31"},
    {"Inf", "+Inf"},
    {"+inf", "+Inf"},
    {"-Inf", "-Inf"},
    {"NaN", "NaN"},
    {"nan", "NaN"},
    {"5m", "5m"},
    {"1h30m", "1h30m"},
    {"\"double\"", "\"double\""},
    {"'single'", "\"single\""},
    {"`raw\\n`", "\"raw\\\\n\""},
    {"\"\\x41\\101\\u00e9\\U0001F600\\n\\t\\\\\\\"\"", "\"AAé😀\\n\\t\\\\\\\"\""},
    {"'\\''", "\"'\""},
    {"# comment only before\n1", "1"},
    {"1 # trailing comment", "1"},
    // Arithmetic and precedence.
    {"1 + 1", "1 + 1"},
    {"1 - 1", "1 - 1"},
    {"1 * 1", "1 * 1"},
    {"1 % 1", "1 % 1"},
    {"1 / 1", "1 / 1"},
    {"1 == bool 1", "1 == bool 1"},
    {"1 != bool 1", "1 != bool 1"},
    {"1 > bool 1", "1 > bool 1"},
    {"1 >= bool 1", "1 >= bool 1"},
    {"1 < bool 1", "1 < bool 1"},
    {"1 <= bool 1", "1 <= bool 1"},
    {"-1^2", "-1 ^ 2"},
    {"+1 + -2 * 1", "1 + -2 * 1"},
    {"1 + 2/(3*1)", "1 + 2 / (3 * 1)"},
    {"1 < bool 2 - 1 * 2", "1 < bool 2 - 1 * 2"},
    {"-some_metric", "-some_metric"},
    {"+some_metric", "+some_metric"},
    {" +some_metric", "+some_metric"},
    {"2^3^2", "2 ^ 3 ^ 2"},
    {"a atan2 b", "a atan2 b"},
    {"a ATAN2 b", "a atan2 b"},
    // Vector binary operations and matching.
    {"foo * bar", "foo * bar"},
    {"foo * sum", "foo * sum"},
    {"foo == 1", "foo == 1"},
    {"foo == bool 1", "foo == bool 1"},
    {"2.5 / bar", "2.5 / bar"},
    {"foo and bar", "foo and bar"},
    {"foo or bar", "foo or bar"},
    {"foo unless bar", "foo unless bar"},
    {"foo AND bar OR baz", "foo and bar or baz"},
    {"foo + bar or bla and blub", "foo + bar or bla and blub"},
    {"foo and bar unless baz or qux", "foo and bar unless baz or qux"},
    {"bar + on(foo) bla / on(baz, buz) group_right(test) blub",
     "bar + on (foo) bla / on (baz, buz) group_right (test) blub"},
    {"foo * on(test,blub) bar", "foo * on (test, blub) bar"},
    {"foo * on(test,blub) group_left bar", "foo * on (test, blub) group_left () bar"},
    {"foo and on(test,blub) bar", "foo and on (test, blub) bar"},
    {"foo and on() bar", "foo and on () bar"},
    {"1 + on() foo", "1 + foo"},
    {"1 + ignoring() group_left foo", "1 + foo"},
    {"foo and ignoring(test,blub) bar", "foo and ignoring (test, blub) bar"},
    {"foo and ignoring() bar", "foo and bar"},
    {"foo unless on(bar) baz", "foo unless on (bar) baz"},
    {"foo / on(test,blub) group_left(bar) bar", "foo / on (test, blub) group_left (bar) bar"},
    {"foo / ignoring(test,blub) group_left(blub) bar",
     "foo / ignoring (test, blub) group_left (blub) bar"},
    {"foo - on(test,blub) group_right(bar,foo) bar",
     "foo - on (test, blub) group_right (bar, foo) bar"},
    {"foo - ignoring(test,blub) group_right(bar,foo) bar",
     "foo - ignoring (test, blub) group_right (bar, foo) bar"},
    // Selectors.
    {"foo", "foo"},
    {"min", "min"},
    {"by", "by"},
    {"offset", "offset"},
    {"foo offset 5m", "foo offset 5m"},
    {"foo offset -7m", "foo offset -7m"},
    {"foo OFFSET 1h30m", "foo offset 1h30m"},
    {"foo OFFSET 1m30ms", "foo offset 1m30ms"},
    {"foo offset 90", "foo offset 1m30s"},
    {"foo offset 0", "foo"},
    {"foo offset 0s", "foo"},
    {"1 + 0ms", "1 + 0s"},
    {"foo offset 1.5", "foo offset 1s500ms"},
    {"foo @ 1603774568", "foo @ 1603774568.000"},
    {"foo @ -100", "foo @ -100.000"},
    {"foo @ .3", "foo @ 0.300"},
    {"foo @ 3.", "foo @ 3.000"},
    {"foo @ 3.33", "foo @ 3.330"},
    {"foo @ 3.3333", "foo @ 3.333"},
    {"foo @ 3.3335", "foo @ 3.334"},
    {"foo @ 2m", "foo @ 120.000"},
    {"foo @ start()", "foo @ start()"},
    {"foo @ end()", "foo @ end()"},
    {"foo offset 5m @ 10", "foo @ 10.000 offset 5m"},
    {"foo @ 10 offset 5m", "foo @ 10.000 offset 5m"},
    {"foo:bar{a=\"bc\"}", "foo:bar{a=\"bc\"}"},
    {"foo{NaN='bc'}", "foo{NaN=\"bc\"}"},
    {"foo{bar='}'}", "foo{bar=\"}\"}"},
    {"foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\"}",
     "foo{a=\"b\",bar!~\"baz\",foo!=\"bar\",test=~\"test\"}"},
    {"foo{a=\"b\", foo!~\"bar\", test=~\"test\", bar!~\"baz\",}",
     "foo{a=\"b\",bar!~\"baz\",foo!~\"bar\",test=~\"test\"}"},
    {"{__name__=~\"foo.+\"}", "{__name__=~\"foo.+\"}"},
    {"{__name__=\"foo\",__name__=\"bar\"}", "{__name__=\"bar\",__name__=\"foo\"}"},
    {"{x=\"\",a=\"z\"}", "{a=\"z\",x=\"\"}"},
    {"{a=~\".+\"}", "{a=~\".+\"}"},
    {"{on=\"a\", by=\"b\", offset=\"c\"}", "{by=\"b\",offset=\"c\",on=\"a\"}"},
    {"{\"my.metric\"}", "{__name__=\"my.metric\"}"},
    {"{\"my.metric\", \"a.b\"=\"c\"}", "{\"a.b\"=\"c\",__name__=\"my.metric\"}"},
    {"{'a b'=~'c'}", "{\"a b\"=~\"c\"}"},
    {"test[5s]", "test[5s]"},
    {"test[5m]", "test[5m]"},
    {"test[5m30s]", "test[5m30s]"},
    {"test[5h] OFFSET 5m", "test[5h] offset 5m"},
    {"test[5d] OFFSET 10s", "test[5d] offset 10s"},
    {"test[5w] offset 2w", "test[5w] offset 2w"},
    {"test[7d]", "test[1w]"},
    {"test[365d]", "test[1y]"},
    {"test[8d]", "test[8d]"},
    {"test[120]", "test[2m]"},
    {"test[1.5]", "test[1s500ms]"},
    {"test{a=\"b\"}[5y] OFFSET 3d", "test{a=\"b\"}[5y] offset 3d"},
    {"test[5m] @ 100 offset 10m", "test[5m] @ 100.000 offset 10m"},
    {"test[5m] offset 10m @ start()", "test[5m] @ start() offset 10m"},
    // Aggregations.
    {"sum by (foo)(some_metric)", "sum by (foo) (some_metric)"},
    {"avg by (foo)(some_metric)", "avg by (foo) (some_metric)"},
    {"max by (foo)(some_metric)", "max by (foo) (some_metric)"},
    {"sum without (foo) (some_metric)", "sum without (foo) (some_metric)"},
    {"sum (some_metric) without (foo)", "sum without (foo) (some_metric)"},
    {"stddev(some_metric)", "stddev(some_metric)"},
    {"stdvar by (foo)(some_metric)", "stdvar by (foo) (some_metric)"},
    {"sum by ()(some_metric)", "sum(some_metric)"},
    {"sum by (foo,bar,)(some_metric)", "sum by (foo, bar) (some_metric)"},
    {"sum by (foo,)(some_metric)", "sum by (foo) (some_metric)"},
    {"topk(5, some_metric)", "topk(5, some_metric)"},
    {"topk by (foo) (5, some_metric)", "topk by (foo) (5, some_metric)"},
    {"count_values(\"value\", some_metric)", "count_values(\"value\", some_metric)"},
    {"sum without(and, by, avg, count, alert, annotations)(some_metric)",
     "sum without (and, by, avg, count, alert, annotations) (some_metric)"},
    {"quantile without (foo) (0.5, bar)", "quantile without (foo) (0.5, bar)"},
    {"group by (a) (x)", "group by (a) (x)"},
    {"SUM BY (a) (x)", "sum by (a) (x)"},
    {"sum by (\"a.b\", c) (x)", "sum by (\"a.b\", c) (x)"},
    {"sum(sum)", "sum(sum)"},
    // Functions.
    {"time()", "time()"},
    {"floor(some_metric{foo!=\"bar\"})", "floor(some_metric{foo!=\"bar\"})"},
    {"rate(some_metric[5m])", "rate(some_metric[5m])"},
    {"round(some_metric)", "round(some_metric)"},
    {"round(some_metric, 5)", "round(some_metric, 5)"},
    {"hour()", "hour()"},
    {"label_join(x, \"a\", \",\", \"b\", \"c\", \"d\")", "label_join(x, \"a\", \",\", \"b\", \"c\", \"d\")"},
    {"label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")"},
    {"histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
     "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))"},
    {"quantile_over_time(0.5, x[5m])", "quantile_over_time(0.5, x[5m])"},
    {"predict_linear(x[5m], 3600)", "predict_linear(x[5m], 3600)"},
    {"clamp(x, 0, 1)", "clamp(x, 0, 1)"},
    {"vector(1)", "vector(1)"},
    {"scalar(x)", "scalar(x)"},
    {"absent(nonexistent{job=\"myjob\"})", "absent(nonexistent{job=\"myjob\"})"},
    {"pi()", "pi()"},
    // Subqueries.
    {"foo{bar=\"baz\"}[10m:6s]", "foo{bar=\"baz\"}[10m:6s]"},
    {"foo{bar=\"baz\"}[10m5s:1h6ms]", "foo{bar=\"baz\"}[10m5s:1h6ms]"},
    {"foo[10m:]", "foo[10m:]"},
    {"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])",
     "min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])"},
    {"min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:])[4m:3s]",
     "min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:])[4m:3s]"},
    {"min_over_time(rate(foo[2s])[5m:] offset 4m)[4m:3s]",
     "min_over_time(rate(foo[2s])[5m:] offset 4m)[4m:3s]"},
    {"min_over_time(rate(foo[2s])[5m:] @ 1603775091)[4m:3s]",
     "min_over_time(rate(foo[2s])[5m:] @ 1603775091.000)[4m:3s]"},
    {"min_over_time(rate(foo[2s])[5m:] @ -160377509)[4m:3s]",
     "min_over_time(rate(foo[2s])[5m:] @ -160377509.000)[4m:3s]"},
    {"sum without(and, by, avg, count, alert, annotations)(some_metric) [30m:10s]",
     "sum without (and, by, avg, count, alert, annotations) (some_metric)[30m:10s]"},
    {"some_metric OFFSET 1m [10m:5s]", "some_metric offset 1m[10m:5s]"},
    {"some_metric @ 123 [10m:5s]", "some_metric @ 123.000[10m:5s]"},
    {"(foo + bar{nm=\"val\"})[5m:]", "(foo + bar{nm=\"val\"})[5m:]"},
    {"(foo + bar{nm=\"val\"})[5m:] offset 10m", "(foo + bar{nm=\"val\"})[5m:] offset 10m"},
    {"(foo + bar{nm=\"val\"} @ 1234)[5m:] @ 1603775019",
     "(foo + bar{nm=\"val\"} @ 1234.000)[5m:] @ 1603775019.000"},
    {"foo[5m:] @ end() offset 1m", "foo[5m:] @ end() offset 1m"},
    // Offset binds tighter than binary operators.
    {"foo offset 5m + bar", "foo offset 5m + bar"},
    {"-foo offset 5m", "-foo offset 5m"},
    {"-max_over_time(foo[5m:])", "-max_over_time(foo[5m:])"},
    // Experimental syntax.
    {"limitk(1, x)", "limitk(1, x)", true},
    {"limit_ratio(0.5, x)", "limit_ratio(0.5, x)", true},
    {"info(x)", "info(x)", true},
    {"info(x, {data=~\".+\"})", "info(x, {data=~\".+\"})", true},
    {"info(x, {data=~\".*\"})", "info(x, {data=~\".*\"})", true},
    {"sort_by_label(x, \"a\", \"b\")", "sort_by_label(x, \"a\", \"b\")", true},
    {"mad_over_time(x[5m])", "mad_over_time(x[5m])", true},
    {"double_exponential_smoothing(x[5m], 0.5, 0.5)",
     "double_exponential_smoothing(x[5m], 0.5, 0.5)", true},
    {"step()", "step()", true},
    {"min_of(1, 2)", "min_of(1, 2)", true},
    {"foo[5m+1m]", "foo[5m + 1m]", true},
    {"foo[2m*15]", "foo[2m * 15]", true},
    {"foo[step()]", "foo[step()]", true},
    {"foo[min_of(step()+1,1h)]", "foo[min_of(step() + 1, 1h)]", true},
    {"foo[29s+1s:20*500ms]", "foo[29s + 1s:20 * 500ms]", true},
    {"foo offset (100 + 2)", "foo offset (100 + 2)", true},
    {"foo offset 100 + 2", "foo offset 1m40s + 2", true},
    {"foo offset -2 ^ 2", "foo offset -2s ^ 2", true},
    {"foo offset -(1m)", "foo offset -(1m)", true},
    {"foo offset step()*0", "foo offset step() * 0", true},
    {"foo offset -step()*2", "foo offset -step() * 2", true},
    {"foo offset STEP()", "foo offset step()", true},
    {"foo offset range()", "foo offset range()", true},
    {"rate(foo[1m] anchored)", "rate(foo[1m] anchored)", true},
    {"rate(foo[1m] smoothed)", "rate(foo[1m] smoothed)", true},
    {"foo smoothed", "foo smoothed", true},
    {"foo @ 100 smoothed", "foo @ 100.000 smoothed", true},
    {"foo offset -100 smoothed + 0", "foo offset -1m40s smoothed + 0", true},
    {"foo[-5m+35m]", "foo[-5m + 35m]", true},
    {"a + fill(0) b", "a + fill(0) b", true},
    {"a + fill_left(5) fill_right(7) b", "a + fill_left(5) fill_right(7) b", true},
    {"a + fill(-Inf) b", "a + fill(-Inf) b", true},
    {"a == bool fill(30) b", "a == bool fill(30) b", true},
    {"a + on(x) group_left fill(0) b", "a + on (x) group_left () fill(0) b", true},
    {"fill + fill(0) other", "fill + fill(0) other", true},
    {"other + fill", "other + fill", true},
    {"h </ 1.5", "h </ 1.5", true},
    {"h >/ on (label) f", "h >/ on (label) f", true},
};

const BadCase kBad[] = {
    {"", "no expression found in input"},
    {"# just a comment", "no expression found in input"},
    {"1+", "1:3: parse error: unexpected end of input"},
    {"*1", "1:1: parse error: unexpected <op:*>"},
    {"(1", "1:3: parse error: unclosed left parenthesis"},
    {"1)", "1:2: parse error: unexpected right parenthesis ')'"},
    {"((1)", "unclosed left parenthesis"},
    {"(", "unclosed left parenthesis"},
    {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 or 1", "set operator \"or\" not allowed in binary scalar expression"},
    {"1 unless 1", "set operator \"unless\" not allowed in binary scalar expression"},
    {"1 !~ 1", "unexpected <op:!~>"},
    {"1 =~ 1", "unexpected <op:=~>"},
    {"-\"string\"", "unary expression only allowed on expressions of type scalar or instant vector, got \"string\""},
    {"-test[5m]", "unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
    {"*test", "unexpected <op:*>"},
    {"1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"foo offset 1s offset 2s", "offset may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
    {"foo + bool bar", "bool modifier can only be used on comparison operators"},
    {"foo + bool 10", "bool modifier can only be used on comparison operators"},
    {"foo and bool 10", "bool modifier can only be used on comparison operators"},
    {"foo == on(a) bool bar", "unexpected <bool>"},  // bool comes before on/ignoring
    {"foo and 1", "set operator \"and\" not allowed in binary scalar expression"},
    {"1 and foo", "set operator \"and\" not allowed in binary scalar expression"},
    {"foo or 1", "set operator \"or\" not allowed in binary scalar expression"},
    {"1 unless foo", "set operator \"unless\" not allowed in binary scalar expression"},
    {"1 or on(bar) foo", "vector matching only allowed between instant vectors"},
    {"foo == on(bar) 10", "vector matching only allowed between instant vectors"},
    {"foo + group_left(baz) bar", "unexpected <group_left>"},
    {"foo and on(bar) group_left(baz) bar", "no grouping allowed for \"and\" operation"},
    {"foo and on(bar) group_right(baz) bar", "no grouping allowed for \"and\" operation"},
    {"foo or on(bar) group_left(baz) bar", "no grouping allowed for \"or\" operation"},
    {"foo unless on(bar) group_left(baz) bar", "no grouping allowed for \"unless\" operation"},
    {"http_requests{group=\"production\"} + on(instance) group_left(job,instance) cpu_count{type=\"smp\"}",
     "label \"instance\" must not occur in ON and GROUP clause at once"},
    {"foo + bool bar", "bool modifier can only be used on comparison operators"},
    {"foo{", "1:5: parse error: unexpected end of input inside braces"},
    {"foo{a}", "unexpected \"}\" in label matching, expected label matching operator"},
    {"foo{a=}", "unexpected \"}\" in label matching, expected string"},
    {"foo{a=b}", "unexpected identifier \"b\" in label matching, expected string"},
    {"foo{a=\"b\" c=\"d\"}", "unexpected identifier \"c\" in label matching, expected \",\" or \"}\""},
    {"foo{,}", "unexpected \",\" in label matching"},
    {"foo{a==\"b\"}", "unexpected \"=\" in label matching, expected string"},
    {"foo{a>\"b\"}", "unexpected character inside braces: '>'"},
    {"some}", "unexpected right brace '}'"},
    {"some]", "unexpected right bracket ']'"},
    {"foo[5m", "unclosed left bracket"},
    {"foo[[5m]]", "unexpected left bracket '['"},
    {"foo[5mm]", "bad number or duration syntax: \"5mm\""},
    {"foo[5m1]", "bad number or duration syntax: \"5m1\""},
    {"foo[5m:1m1]", "bad number or duration syntax: \"1m1\""},
    {"foo[5y1hs]", "not a valid duration string: \"5y1hs\""},
    {"foo[5m1h]", "not a valid duration string: \"5m1h\""},
    {"foo[1.5h]", "not a valid duration string: \"1.5h\""},
    {"foo[0m]", "duration must be greater than 0"},
    {"foo[0]", "duration must be greater than 0"},

    {"foo[]", "unexpected \"]\" in subquery selector, expected number or duration"},
    {"foo[5m 1]", "unexpected number \"1\" in subquery or range, expected \":\" or \"]\""},
    {"foo[5m:1m 1]", "unexpected number \"1\" in subquery selector, expected \"]\""},
    {"foo[5m:x]", "in subquery selector, expected number or duration or \"]\""},
    {"foo[5m+1m]", "unexpected <op:+> in subquery or range"},
    {"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"},
    {"foo offset 1s [5m]", "no offset modifiers allowed before range"},
    {"foo @ 100 [5m]", "no @ modifiers allowed before range"},
    {"some_metric[5m][1h:1m]", "subquery is only allowed on instant vector, got matrix instead"},
    {"\"abc\"[1h:1m]", "1:1: parse error: subquery is only allowed on instant vector, got string instead"},
    {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=\"\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x=~\".*\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x!~\".+\"}", "vector selector must contain at least one non-empty matcher"},
    {"{x!=\"a\"}", "vector selector must contain at least one non-empty matcher"},
    {"foo{__name__=\"bar\"}", "metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__= \"bar\"}", "metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__=~\"bar\" , foo=\"a\"}", "metric name must not be set twice"},
    {"foo{\"bar\"}", "metric name must not be set twice"},
    {"foo{bar=~\"[\"}", "error parsing regexp"},
    {"foo @ 1 @ 2", "@ <timestamp> may not be set multiple times"},
    {"foo @ start() @ end()", "@ <timestamp> may not be set multiple times"},
    {"foo @ Inf", "timestamp out of bounds for @ modifier: +Inf"},
    {"foo @ -Inf", "timestamp out of bounds for @ modifier: -Inf"},
    {"foo @ NaN", "timestamp out of bounds for @ modifier: NaN"},
    {"foo @ 9223372036854775807", "timestamp out of bounds for @ modifier"},
    {"foo @ bar", "unexpected identifier \"bar\" in @, expected timestamp"},
    {"1 @ 10", "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"(foo) @ 10", "@ modifier must be preceded by an instant vector selector"},
    {"foo offset", "unexpected end of input in offset, expected number or duration"},
    {"foo offset bar", "unexpected identifier \"bar\" in offset, expected number or duration"},
    {"sum(x) by (a) by (b)", "unexpected <by>"},
    {"sum by (a) (x) by (b)", "unexpected <by>"},
    {"sum without (a) by (b) (x)", "unexpected <by>"},
    {"sum by a (x)", "unexpected identifier \"a\" in grouping opts, expected \"(\""},
    {"sum by (a:b) (x)", "unexpected metric identifier \"a:b\" in grouping opts, expected label"},
    {"sum by (a b) (x)", "unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""},
    {"sum by (1) (x)", "unexpected number \"1\" in grouping opts, expected label"},
    {"sum some_metric by (test)", "unexpected identifier \"some_metric\" in aggregation"},
    {"sum (some_metric) by test", "unexpected identifier \"test\" in grouping opts"},
    {"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
    {"sum(some_metric, other_metric)", "wrong number of arguments for aggregate expression provided, expected 1, got 2"},
    {"topk(some_metric)", "wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk(some_metric, other_metric)", "expected type scalar in aggregation parameter, got instant vector"},
    {"count_values(5, other_metric)", "expected type string in aggregation parameter, got scalar"},
    {"sum(1)", "expected type instant vector in aggregation expression, got scalar"},
    {"sum(x[5m])", "expected type instant vector in aggregation expression, got range vector"},
    {"limitk(1, x)", "limitk() and limit_ratio() are experimental"},
    {"time(some_metric)", "expected 0 argument(s) in call to \"time\", got 1"},
    {"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)", "expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(some_metric, 1)", "expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)", "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)", "expected at most 1 argument(s) in call to \"hour\", got 3"},
    {"time(some_metric)", "expected 0 argument(s) in call to \"time\""},
    {"non_existent_function_far_bar()", "unknown function with name \"non_existent_function_far_bar\""},
    {"rate(some_metric)", "expected type range vector in call to function \"rate\", got instant vector"},
    {"label_replace(a, `b`, `c\xff`, `d`, `.*`)", "1:23: parse error: invalid UTF-8 rune"},
    {"label_join(x, \"a\")", "expected at least 3 argument(s) in call to \"label_join\", got 2"},
    {"label_replace(x, 1, \"a\", \"b\", \"c\")", "expected type string in call to function \"label_replace\", got scalar"},
    {"rate(x[5m],)", "trailing commas not allowed in function call args"},
    {"sort_by_label(x, \"a\")", "function \"sort_by_label\" is not enabled"},
    {"foo offset (1m)", "unexpected \"(\" in offset, expected number or duration"},
    {"rate(foo[1m] anchored)", "anchored modifier is experimental and not enabled"},
    {"a + fill(0) b", "fill modifiers are experimental and not enabled"},
    {"h </ 1", "operator \"</\" is experimental and not enabled"},
    {"deriv(foo[3m] smoothed)", "smoothed modifier can only be used with: delta, increase, rate - not with deriv", true},
    {"max_over_time(foo[3m] anchored)", "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with max_over_time", true},
    {"info(x, 1)", "expected type instant vector in call to function \"info\", got scalar", true},
    {"info(x, y{a=\"b\"})", "expected label selectors only, got vector selector instead", true},
    {"1 + fill(0) 2", "fill modifiers only allowed between instant vectors", true},
    {"foo[5m-10m]", "duration must be greater than 0", true},
    {"foo[-5m]", "duration must be greater than 0", true},
    {"foo[5m:0s]", "duration must be greater than 0"},
    {"foo[min_of(1m)]", "unexpected \")\" in duration expression, expected \",\"", true},
    {"foo offset bar", "unexpected identifier \"bar\" in duration expression, expected number or duration", true},
    {"\"\\q\"", "unknown escape sequence U+0071 'q'"},
    {"\"\\u12\"", "illegal character '\"' in escape sequence"},
    {"\"\\400\"", "1:1: parse error: error unquoting string \"\\\"\\\\400\\\"\": invalid syntax"},
    {"\"\\ud800\"", "invalid syntax"},
    {"\"unterminated", "unterminated quoted string"},
    {"'also\nunterminated'", "unterminated quoted string"},
    {"`raw", "unterminated raw string"},
    {"foo!bar", "unexpected character after '!': 'b'"},
    {"1.5e", "bad number or duration syntax: \"1.5e\""},
    {"0x", "bad number or duration syntax: \"0x\""},
    {"1_", "bad number or duration syntax: \"1_\""},
    {"1__0", "bad number or duration syntax"},
    {"é", "unexpected character: 'é'"},
    {"foo\n  + *", "2:5: parse error: unexpected <op:*>"},
    {"\n\nfoo{", "3:5: parse error: unexpected end of input inside braces"},
};

TEST(ParserTest, GoodCases) {
  for (const GoodCase& c : kGood) {
    ExprPtr expr = MustParse(c.input, c.experimental);
    if (!expr) continue;
    EXPECT_EQ(Format(*expr), c.printed) << "input: " << c.input;
  }
}

TEST(ParserTest, BadCases) {
  for (const BadCase& c : kBad) {
    ParserOptions options;
    options.enable_experimental = c.experimental;
    absl::StatusOr<ExprPtr> expr = ParseExpr(c.input, options);
    ASSERT_FALSE(expr.ok()) << "input: " << c.input << " parsed as " << Format(**expr);
    EXPECT_EQ(expr.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(expr.status().message()), HasSubstr(c.error)) << "input: " << c.input;
    EXPECT_THAT(std::string(expr.status().message()), HasSubstr("parse error: ")) << c.input;
  }
}

TEST(ParserTest, ExperimentalFunctionsNeedTheFlag) {
  for (const Function& fn : AllFunctions()) {
    if (!fn.experimental) continue;
    std::string q = std::string(fn.name) + "()";
    absl::StatusOr<ExprPtr> expr = ParseExpr(q);
    ASSERT_FALSE(expr.ok()) << q;
    EXPECT_THAT(std::string(expr.status().message()), HasSubstr("is not enabled")) << q;
  }
}

TEST(ParserTest, FunctionTable) {
  EXPECT_EQ(LookupFunction("holt_winters"), nullptr);  // removed in Prometheus 3
  ASSERT_NE(LookupFunction("double_exponential_smoothing"), nullptr);
  EXPECT_TRUE(LookupFunction("double_exponential_smoothing")->experimental);
  ASSERT_NE(LookupFunction("rate"), nullptr);
  EXPECT_EQ(LookupFunction("rate")->arg_types, std::vector<ValueType>{ValueType::kMatrix});
  EXPECT_FALSE(LookupFunction("rate")->experimental);
  EXPECT_TRUE(LookupFunction("histogram_count")->native_histogram);
  EXPECT_EQ(LookupFunction("label_join")->variadic, -1);
  EXPECT_EQ(LookupFunction("time")->return_type, ValueType::kScalar);
  std::string_view prev;
  for (const Function& fn : AllFunctions()) {
    EXPECT_LT(prev, fn.name);
    prev = fn.name;
    EXPECT_EQ(LookupFunction(fn.name), &fn);
  }
  EXPECT_GE(AllFunctions().size(), 85u);
}

TEST(ParserTest, PrecedenceShapes) {
  // -2^2 is -(2^2): unary minus binds looser than ^.
  ExprPtr e = MustParse("-2^2");
  ASSERT_EQ(e->kind(), ExprKind::kUnary);
  EXPECT_EQ(e->As<UnaryExpr>().expr->kind(), ExprKind::kBinary);
  // 2^3^2 is 2^(3^2).
  e = MustParse("2^3^2");
  ASSERT_EQ(e->kind(), ExprKind::kBinary);
  EXPECT_EQ(e->As<BinaryExpr>().lhs->kind(), ExprKind::kNumberLiteral);
  EXPECT_EQ(e->As<BinaryExpr>().rhs->kind(), ExprKind::kBinary);
  // 1 - 2 - 3 is (1 - 2) - 3.
  e = MustParse("1 - 2 - 3");
  EXPECT_EQ(e->As<BinaryExpr>().lhs->kind(), ExprKind::kBinary);
  EXPECT_EQ(e->As<BinaryExpr>().rhs->kind(), ExprKind::kNumberLiteral);
  // -a * b is (-a) * b.
  e = MustParse("-a * b");
  ASSERT_EQ(e->kind(), ExprKind::kBinary);
  EXPECT_EQ(e->As<BinaryExpr>().lhs->kind(), ExprKind::kUnary);
  // a or b and c: and binds tighter.
  e = MustParse("a or b and c");
  EXPECT_EQ(e->As<BinaryExpr>().op, BinaryOp::kOr);
  EXPECT_EQ(e->As<BinaryExpr>().rhs->As<BinaryExpr>().op, BinaryOp::kAnd);
  // a > b + c: + binds tighter than comparisons.
  e = MustParse("a > b + c");
  EXPECT_EQ(e->As<BinaryExpr>().op, BinaryOp::kGtr);
  // a + b * c atan2 d: atan2 is multiplicative, left-associative with *.
  e = MustParse("a + b * c atan2 d");
  EXPECT_EQ(e->As<BinaryExpr>().op, BinaryOp::kAdd);
  EXPECT_EQ(e->As<BinaryExpr>().rhs->As<BinaryExpr>().op, BinaryOp::kAtan2);
  // Folded negative literal keeps the sign's position.
  e = MustParse("  -5");
  EXPECT_EQ(e->As<NumberLiteral>().value, -5);
  EXPECT_EQ(e->pos.start, 2);
  EXPECT_EQ(e->pos.end, 4);
}

TEST(ParserTest, VectorMatching) {
  ExprPtr e = MustParse("a * on(x, y) group_left(z) b");
  const auto& b = e->As<BinaryExpr>();
  ASSERT_TRUE(b.matching.has_value());
  EXPECT_EQ(b.matching->card, VectorMatchCard::kManyToOne);
  EXPECT_TRUE(b.matching->on);
  EXPECT_EQ(b.matching->matching_labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(b.matching->include, std::vector<std::string>{"z"});

  e = MustParse("a and b");
  EXPECT_EQ(e->As<BinaryExpr>().matching->card, VectorMatchCard::kManyToMany);
  e = MustParse("a + b");
  EXPECT_EQ(e->As<BinaryExpr>().matching->card, VectorMatchCard::kOneToOne);
  e = MustParse("a + 1");
  EXPECT_FALSE(e->As<BinaryExpr>().matching.has_value());
  e = MustParse("a > bool 1");
  EXPECT_TRUE(e->As<BinaryExpr>().return_bool);

  e = MustParse("a + fill_left(1) fill_right(2) b", true);
  EXPECT_EQ(e->As<BinaryExpr>().matching->fill_lhs, 1);
  EXPECT_EQ(e->As<BinaryExpr>().matching->fill_rhs, 2);
  e = MustParse("a + fill(NaN) b", true);
  EXPECT_TRUE(std::isnan(*e->As<BinaryExpr>().matching->fill_lhs));
  EXPECT_TRUE(std::isnan(*e->As<BinaryExpr>().matching->fill_rhs));
}

TEST(ParserTest, SelectorsAndModifiers) {
  ExprPtr e = MustParse("foo{a=\"b\", c=~\"d.*\"} offset -5m @ 12.5");
  const auto& vs = e->As<VectorSelector>();
  EXPECT_EQ(vs.name, "foo");
  ASSERT_EQ(vs.matchers.size(), 3u);
  EXPECT_EQ(vs.matchers[0], (LabelMatcher{MatchType::kEqual, "a", "b"}));
  EXPECT_EQ(vs.matchers[1], (LabelMatcher{MatchType::kRegexMatch, "c", "d.*"}));
  EXPECT_EQ(vs.matchers[2], (LabelMatcher{MatchType::kEqual, "__name__", "foo"}));
  EXPECT_EQ(vs.original_offset_ms, -300000);
  EXPECT_EQ(vs.at, AtKind::kTimestamp);
  EXPECT_EQ(vs.at_timestamp_ms, 12500);
  EXPECT_EQ(vs.pos.start, 0);

  e = MustParse("rate(foo[1m30s] @ end() offset 10s)");
  const auto& m = e->As<Call>().args[0]->As<MatrixSelector>();
  EXPECT_EQ(m.range_ms, 90000);
  EXPECT_EQ(m.selector().at, AtKind::kEnd);
  EXPECT_EQ(m.selector().original_offset_ms, 10000);

  e = MustParse("max_over_time(foo[10m:30s] offset 1m)");
  const auto& s = e->As<Call>().args[0]->As<SubqueryExpr>();
  EXPECT_EQ(s.range_ms, 600000);
  EXPECT_EQ(s.step_ms, 30000);
  EXPECT_EQ(s.original_offset_ms, 60000);

  // Float seconds are truncated to milliseconds as in Prometheus.
  e = MustParse("foo[0.0015]");
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 1);
  // ...but a millisecond literal is exact (1.001s is 1000.99999... ms in binary).
  e = MustParse("foo[1001ms]");
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 1001);
  e = MustParse("foo[2002ms] offset 1003ms");
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 2002);
  EXPECT_EQ(e->As<MatrixSelector>().selector().original_offset_ms, 1003);
  e = MustParse("foo[1.001]");
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 1001);

  absl::StatusOr<std::vector<LabelMatcher>> sel = ParseMetricSelector("up{job=~\"a|b\"}");
  ASSERT_TRUE(sel.ok()) << sel.status();
  EXPECT_EQ(sel->size(), 2u);
  EXPECT_FALSE(ParseMetricSelector("up + 1").ok());
  EXPECT_FALSE(ParseMetricSelector("{}").ok());
  EXPECT_TRUE(ParseMetricSelector("{\"my.metric\"}").ok());
}

TEST(ParserTest, DurationExpressions) {
  ExprPtr e = MustParse("foo[30m1s-30m1s % 1m]", true);
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 1800000);
  ASSERT_NE(e->As<MatrixSelector>().range_expr, nullptr);
  EXPECT_TRUE(e->As<MatrixSelector>().range_expr->IsConstant());

  e = MustParse("foo[24m+((1.5*2m)+2m)]", true);
  EXPECT_EQ(e->As<MatrixSelector>().range_ms, 29 * 60000);

  e = MustParse("foo[step() + 1]", true);
  const DurationExpr& d = *e->As<MatrixSelector>().range_expr;
  EXPECT_FALSE(d.IsConstant());
  EXPECT_EQ(EvalDurationSeconds(d, 10, 0), 11);

  e = MustParse("foo offset -min_of(step(), 1s)^0", true);
  ASSERT_EQ(e->kind(), ExprKind::kBinary);
  const auto& lhs = e->As<BinaryExpr>().lhs->As<VectorSelector>();
  ASSERT_NE(lhs.offset_expr, nullptr);
  EXPECT_EQ(EvalDurationSeconds(*lhs.offset_expr, 5, 0), -1);

  e = MustParse("foo offset (-2 ^ 2)", true);
  EXPECT_EQ(e->As<VectorSelector>().original_offset_ms, -4000);
  e = MustParse("foo[10m:((((8 - 2) / 3) * 7s) % 4) + 8000ms]", true);
  EXPECT_EQ(e->As<SubqueryExpr>().step_ms, 10000);
}

TEST(ParserTest, DeepNestingIsRejectedNotCrashing) {
  std::string deep(100000, '(');
  absl::StatusOr<ExprPtr> e = ParseExpr(deep + "1" + std::string(100000, ')'));
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("nested too deeply"));

  std::string chain = "1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  e = ParseExpr(chain);
  EXPECT_FALSE(e.ok());

  std::string unary(100000, '-');
  e = ParseExpr(unary + "1");
  EXPECT_FALSE(e.ok());

  // Moderate depth is fine.
  std::string ok = std::string(100, '(') + "foo" + std::string(100, ')');
  EXPECT_TRUE(ParseExpr(ok).ok());
}

}  // namespace
}  // namespace pharos::promql
