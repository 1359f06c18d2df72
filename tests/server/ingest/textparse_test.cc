#include "server/ingest/textparse.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/internal/numbers.h"

namespace pharos::ingest {
namespace {

using ::testing::ElementsAre;

// One parsed entry, rendered for comparison.
struct Entry {
  EntryType type;
  std::string text;  // series: {labels} value [@ts] [# exemplar]; meta: name + text
  bool operator==(const Entry&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << static_cast<int>(e.type) << ":" << e.text;
}

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  std::string s;
  internal::AppendOpenMetricsFloat(&s, v);
  return s;
}

std::string RenderLabels(std::span<const Label> ls) {
  std::string out = "{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i) out += ",";
    out += std::string(ls[i].name) + "=" + std::string(ls[i].value);
  }
  return out + "}";
}

struct Result {
  std::vector<Entry> entries;
  std::string error;  // empty if parsing reached kEof
};

Result ParseAll(std::string_view body, ExpositionFormat f) {
  Result r;
  TextParser p(body, f);
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<EntryType> e = p.Next();
    if (!e.ok()) {
      r.error = std::string(e.status().message());
      return r;
    }
    switch (*e) {
      case EntryType::kEof:
        return r;
      case EntryType::kSeries: {
        std::string s = RenderLabels(p.Labels()) + " " + Num(p.Value());
        if (p.TimestampMs()) s += " @" + std::to_string(*p.TimestampMs());
        s += " " + std::string(MetricTypeName(p.Type()));
        if (p.IsCreated()) s += " created";
        if (const Exemplar* x = p.GetExemplar()) {
          s += " # " + RenderLabels(x->labels) + " " + Num(x->value);
          if (x->timestamp_ms) s += " @" + std::to_string(*x->timestamp_ms);
        }
        r.entries.push_back({*e, s});
        break;
      }
      case EntryType::kHelp:
        r.entries.push_back({*e, std::string(p.MetaName()) + " " + std::string(p.Help())});
        break;
      case EntryType::kType:
        r.entries.push_back(
            {*e, std::string(p.MetaName()) + " " + std::string(MetricTypeName(p.Type()))});
        break;
      case EntryType::kUnit:
        r.entries.push_back({*e, std::string(p.MetaName()) + " " + std::string(p.Unit())});
        break;
      case EntryType::kComment:
        r.entries.push_back({*e, std::string(p.Comment())});
        break;
    }
  }
  r.error = "no EOF";
  return r;
}

std::string TextError(std::string_view body) {
  return ParseAll(body, ExpositionFormat::kPrometheusText).error;
}
std::string OmError(std::string_view body) {
  return ParseAll(body, ExpositionFormat::kOpenMetrics).error;
}

constexpr auto S = EntryType::kSeries;
constexpr auto H = EntryType::kHelp;
constexpr auto T = EntryType::kType;
constexpr auto U = EntryType::kUnit;
constexpr auto C = EntryType::kComment;

// ---------------------------------------------------------------- text format, good input

TEST(TextFormatTest, BasicFamilies) {
  Result r = ParseAll(
      "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n"
      "# TYPE go_gc_duration_seconds summary\n"
      "go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
      "go_gc_duration_seconds{quantile=\"0.25\",} 7.424100000000001e-05\n"
      "go_gc_duration_seconds_sum 1.8\n"
      "go_gc_duration_seconds_count 99\n"
      "\n"
      "# a free comment\n"
      "# TYPE up gauge\n"
      "up{job=\"x\",instance=\"a:1\"} 1 1700000000000\n"
      "no_type 3 -5\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(
      r.entries,
      ElementsAre(
          Entry{H, "go_gc_duration_seconds A summary of the GC invocation durations."},
          Entry{T, "go_gc_duration_seconds summary"},
          Entry{S, "{__name__=go_gc_duration_seconds,quantile=0.0} 4.9351e-05 summary"},
          Entry{S, "{__name__=go_gc_duration_seconds,quantile=0.25} 7.424100000000001e-05 summary"},
          Entry{S, "{__name__=go_gc_duration_seconds_sum} 1.8 summary"},
          Entry{S, "{__name__=go_gc_duration_seconds_count} 99.0 summary"},
          Entry{C, "a free comment"}, Entry{T, "up gauge"},
          Entry{S, "{__name__=up,job=x,instance=a:1} 1.0 @1700000000000 gauge"},
          Entry{S, "{__name__=no_type} 3.0 @-5 unknown"}));
}

TEST(TextFormatTest, SpecialValuesAndGoFloats) {
  Result r = ParseAll(
      "a NaN\nb +Inf\nc -Inf\nd Inf\ne 1e3\nf .5\ng 5.\nh -0\ni infinity\nj 08\nk +1E-2\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  std::vector<std::string> got;
  for (const Entry& e : r.entries) got.push_back(e.text);
  EXPECT_THAT(got, ElementsAre("{__name__=a} NaN unknown", "{__name__=b} +Inf unknown",
                               "{__name__=c} -Inf unknown", "{__name__=d} +Inf unknown",
                               "{__name__=e} 1000.0 unknown", "{__name__=f} 0.5 unknown",
                               "{__name__=g} 5.0 unknown", "{__name__=h} -0.0 unknown",
                               "{__name__=i} +Inf unknown", "{__name__=j} 8.0 unknown",
                               "{__name__=k} 0.01 unknown"));
}

TEST(TextFormatTest, RejectsNonPrometheusFloats) {
  for (const char* v : {"0x1p3", "1_000", "1e", "+nan", "0x10", "1.2.3", "e5", "--1", "in"}) {
    std::string body = std::string("m ") + v + "\n";
    EXPECT_EQ(TextError(body), std::string("line 1: expected a number as value, got \"") + v + "\"")
        << v;
  }
}

TEST(TextFormatTest, LabelValueEscapes) {
  Result r = ParseAll(
      "m{a=\"x\\\\y\",b=\"q\\\"q\",c=\"l1\\nl2\",d=\"keep\\t\"} 1\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].text, "{__name__=m,a=x\\y,b=q\"q,c=l1\nl2,d=keep\\t} 1.0 unknown");
}

TEST(TextFormatTest, LabelsAreViewsIntoTheBodyWithoutEscapes) {
  std::string body = "metric{job=\"api\"} 1\n";
  TextParser p(body, ExpositionFormat::kPrometheusText);
  ASSERT_EQ(*p.Next(), EntryType::kSeries);
  ASSERT_EQ(p.Labels().size(), 2u);
  EXPECT_EQ(p.Labels()[0].value.data(), body.data());
  EXPECT_EQ(p.Labels()[1].value.data(), body.data() + 12);
  EXPECT_EQ(p.Series(), "metric{job=\"api\"}");
  EXPECT_EQ(p.MetricName(), "metric");
  EXPECT_EQ(*p.Next(), EntryType::kEof);
  EXPECT_EQ(*p.Next(), EntryType::kEof);
}

TEST(TextFormatTest, Utf8QuotedNames) {
  Result r = ParseAll(
      "# HELP \"my.metric\" with dots\n"
      "# TYPE \"my.metric\" counter\n"
      "{\"my.metric\",\"a.b\"=\"c\",job=\"j\"} 1\n"
      "{job=\"j\", \"my.metric\"} 2\n"
      "{\"esc\\\"aped\"} 3\n"
      "{__name__=\"via_label\",x=\"y\"} 4\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(r.entries,
              ElementsAre(Entry{H, "my.metric with dots"}, Entry{T, "my.metric counter"},
                          Entry{S, "{__name__=my.metric,a.b=c,job=j} 1.0 counter"},
                          Entry{S, "{__name__=my.metric,job=j} 2.0 counter"},
                          Entry{S, "{__name__=esc\"aped} 3.0 unknown"},
                          Entry{S, "{__name__=via_label,x=y} 4.0 unknown"}));
}

TEST(TextFormatTest, WhitespaceAndCommentsAsExpfmtAllows) {
  // From prometheus/common's expfmt fuzz corpus (from_test_parse_2).
  Result r = ParseAll(
      "\n# A normal comment.\n#\n# TYPE name counter\n"
      "name{labelname=\"val1\",basename=\"basevalue\"} NaN\n"
      "name {labelname=\"val2\",basename=\"base\\\"v\\\\al\\nue\"} 0.23 1234567890\n"
      "# HELP name two-line\\n doc  str\\\\ing\n"
      "\n"
      " # HELP  name2  \tdoc str\"ing 2\n"
      "  #    TYPE    name2 gauge\n"
      "name2{labelname=\"val2\"\t,basename   =   \"basevalue2\"\t\t} +Inf 54321\n"
      "name2{ labelname = \"val1\" , }-Inf\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(
      r.entries,
      ElementsAre(Entry{C, "A normal comment."}, Entry{C, ""}, Entry{T, "name counter"},
                  Entry{S, "{__name__=name,labelname=val1,basename=basevalue} NaN counter"},
                  Entry{S, "{__name__=name,labelname=val2,basename=base\"v\\al\nue} 0.23 "
                           "@1234567890 counter"},
                  Entry{H, "name two-line\n doc  str\\ing"}, Entry{H, "name2 doc str\"ing 2"},
                  Entry{T, "name2 gauge"},
                  Entry{S, "{__name__=name2,labelname=val2,basename=basevalue2} +Inf @54321 gauge"},
                  Entry{S, "{__name__=name2,labelname=val1} -Inf gauge"}));
}

TEST(TextFormatTest, HistogramLeIsNormalised) {
  Result r = ParseAll(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1e3\"} 2\n"
      "h_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n"
      "# TYPE s summary\ns{quantile=\".3\"} 1\n"
      "other_bucket{le=\"1\"} 1\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  std::vector<std::string> got;
  for (const Entry& e : r.entries) got.push_back(e.text);
  EXPECT_THAT(got, ElementsAre("h histogram", "{__name__=h_bucket,le=1.0} 1.0 histogram",
                               "{__name__=h_bucket,le=0.5} 1.0 histogram",
                               "{__name__=h_bucket,le=1000.0} 2.0 histogram",
                               "{__name__=h_bucket,le=+Inf} 3.0 histogram",
                               "{__name__=h_sum} 4.0 histogram", "{__name__=h_count} 3.0 histogram",
                               "s summary", "{__name__=s,quantile=0.3} 1.0 summary",
                               "{__name__=other_bucket,le=1} 1.0 unknown"));
}

TEST(TextFormatTest, CrLfIsAcceptedInTextFormat) {
  Result r = ParseAll("# TYPE a gauge\r\na 1\r\n", ExpositionFormat::kPrometheusText);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(r.entries, ElementsAre(Entry{T, "a gauge"}, Entry{S, "{__name__=a} 1.0 gauge"}));
}

TEST(TextFormatTest, EmptyBodyAndCommentOnlyBody) {
  EXPECT_EQ(ParseAll("", ExpositionFormat::kPrometheusText).entries.size(), 0u);
  EXPECT_EQ(TextError("\n\n  \n"), "");
  EXPECT_EQ(TextError("a 1\n \t"), "");
  Result r = ParseAll("# HELP\n#HELP x y\n# TYPE \t\n", ExpositionFormat::kPrometheusText);
  EXPECT_THAT(r.entries,
              ElementsAre(Entry{C, "HELP"}, Entry{C, "HELP x y"}, Entry{C, "TYPE \t"}));
}

// ---------------------------------------------------------------- text format, errors

TEST(TextFormatTest, Errors) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"bla 3.14", "line 1: data does not end with a newline"},
      {"a 1\nb 2", "line 2: data does not end with a newline"},
      {"metric{label=bla} 3.14\n", "line 1: expected label value, got \"bla}\""},
      {"metric{label=\"bla\"} blubb\n", "line 1: expected a number as value, got \"blubb\""},
      {"metric{label=\"bla\"} 3.14 2.72\n",
       "line 1: expected an integer timestamp in milliseconds, got \"2.72\""},
      {"metric{label=\"bla\"} 3.14 2 3\n", "line 1: expected end of line after timestamp, got \"3\""},
      {"\n# HELP metric one\n# HELP metric two\n",
       "line 3: second HELP line for metric name \"metric\""},
      {"\n# TYPE metric counter\n# TYPE metric untyped\n",
       "line 3: second TYPE line for metric name \"metric\""},
      {"\nmetric 4.12\n# TYPE metric counter\n",
       "line 3: TYPE line for metric name \"metric\" after its samples"},
      {"\n# TYPE metric bla\n", "line 2: invalid metric type \"bla\""},
      {"\n# TYPE met-ric\n", "line 2: expected space after metric name, got \"-ric\""},
      {"# TYPE metric\n", "line 1: expected metric type, got end of line"},
      {"# TYPE metric counter x\n", "line 1: expected end of line after metric type, got \"x\""},
      {"# HELP 1abc x\n", "line 1: expected metric name after HELP, got \"1abc\""},
      {"@invalidmetric{label=\"bla\"} 3.14 2\n",
       "line 1: expected metric name or '{', got \"@invalidmetric{label=\\\"bla\\\"}\""},
      {"{label=\"bla\"} 3.14 2\n", "line 1: metric name missing in label set"},
      {"\nmetric{label=\"new\nline\"} 3.14\n",
       "line 2: expected closing '\"' of label value, got end of line"},
      {"metric{@=\"bla\"} 3.14\n", "line 1: expected label name or '}', got \"@=\\\"bla\\\"}\""},
      {"metric{a=\"1\",@=\"bla\"} 3.14\n", "line 1: expected label name, got \"@=\\\"bla\\\"}\""},
      {"metric{label+=\"bla\"} 3.14\n",
       "line 1: expected '=' after label name, got \"+=\\\"bla\\\"}\""},
      {"metric{label=\"bla\"+} 3.14\n",
       "line 1: expected ',' or '}' after label value, got \"+}\""},
      {"metric{label=\"bla\"} \n", "line 1: expected value, got end of line"},
      {"metric\n", "line 1: expected space before value, got end of line"},
      {"metric{a=\"b\"}\n", "line 1: expected value, got end of line"},
      {"metric+1\n", "line 1: expected '{' or space after metric name, got \"+1\""},
      {"\n# TYPE metric histogram\nmetric_bucket{le=\"bla\"} 3.14\n",
       "line 3: expected a number as le label value, got \"bla\""},
      {"\n# TYPE metric summary\nmetric{quantile=\"bla\"} 3.14\n",
       "line 3: expected a number as quantile label value, got \"bla\""},
      {"{\"a\",\"b\"} 1\n", "line 1: metric name set twice"},
      {"m{__name__=\"x\"} 1\n", "line 1: metric name set twice"},
      {"{\"\"} 1\n", "line 1: empty metric name"},
      {"m{\"\"=\"v\"} 1\n", "line 1: empty label name"},
      {"m 1 99999999999999999999\n",
       "line 1: expected an integer timestamp in milliseconds, got \"99999999999999999999\""},
      {"m 1e999\n", "line 1: expected a number as value, got \"1e999\""},
  };
  for (const Case& c : cases) EXPECT_EQ(TextError(c.body), c.error) << c.body;
}

TEST(TextFormatTest, ErrorIsSticky) {
  TextParser p("a 1\nb{ 2\nc 3\n", ExpositionFormat::kPrometheusText);
  EXPECT_EQ(*p.Next(), EntryType::kSeries);
  absl::StatusOr<EntryType> e = p.Next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(p.line(), 2);
  EXPECT_EQ(p.Next().status(), e.status());
}

// ---------------------------------------------------------------- OpenMetrics

TEST(OpenMetricsTest, FullExample) {
  Result r = ParseAll(
      "# HELP foo_seconds A counter.\n"
      "# TYPE foo_seconds counter\n"
      "# UNIT foo_seconds seconds\n"
      "foo_seconds_total{a=\"b\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 "
      "1520879602.123\n"
      "foo_seconds_total{a=\"c\"} 1 # {trace_id=\"x\"} 2\n"
      "foo_seconds_created{a=\"b\"} 1520430000.123\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\"} 0 # {} 0.5\n"
      "h_bucket{le=\"+Inf\"} 1\n"
      "h_count 1\nh_sum 0.5\nh_created 1.5\n"
      "# TYPE gh gaugehistogram\n"
      "gh_bucket{le=\"0.01\"} 20.0\ngh_gcount 2\ngh_gsum 3\n"
      "# TYPE i info\ni_info{v=\"1\"} 1\n"
      "# TYPE ss stateset\nss{ss=\"a\"} 1\n"
      "# TYPE u unknown\nu 1 -1.5\n"
      "# HELP esc A \\\"quoted\\\" \\\\ help\\n\n"
      "# EOF\n",
      ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(
      r.entries,
      ElementsAre(
          Entry{H, "foo_seconds A counter."}, Entry{T, "foo_seconds counter"},
          Entry{U, "foo_seconds seconds"},
          Entry{S, "{__name__=foo_seconds_total,a=b} 17.0 @1520879607789 counter # "
                   "{trace_id=KOO5S4vxi0o} 0.67 @1520879602123"},
          Entry{S, "{__name__=foo_seconds_total,a=c} 1.0 counter # {trace_id=x} 2.0"},
          Entry{S, "{__name__=foo_seconds_created,a=b} 1.520430000123e+09 counter created"},
          Entry{T, "h histogram"}, Entry{S, "{__name__=h_bucket,le=1.0} 0.0 histogram # {} 0.5"},
          Entry{S, "{__name__=h_bucket,le=+Inf} 1.0 histogram"},
          Entry{S, "{__name__=h_count} 1.0 histogram"}, Entry{S, "{__name__=h_sum} 0.5 histogram"},
          Entry{S, "{__name__=h_created} 1.5 histogram created"}, Entry{T, "gh gaugehistogram"},
          Entry{S, "{__name__=gh_bucket,le=0.01} 20.0 gaugehistogram"},
          Entry{S, "{__name__=gh_gcount} 2.0 gaugehistogram"},
          Entry{S, "{__name__=gh_gsum} 3.0 gaugehistogram"}, Entry{T, "i info"},
          Entry{S, "{__name__=i_info,v=1} 1.0 info"}, Entry{T, "ss stateset"},
          Entry{S, "{__name__=ss,ss=a} 1.0 stateset"}, Entry{T, "u unknown"},
          Entry{S, "{__name__=u} 1.0 @-1500 unknown"},
          Entry{H, "esc A \"quoted\" \\ help\n"}));
}

TEST(OpenMetricsTest, CreatedTimestamp) {
  TextParser p("# TYPE c counter\nc_total 1\nc_created 1700000000.5\n# EOF\n",
               ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(*p.Next(), EntryType::kType);
  ASSERT_EQ(*p.Next(), EntryType::kSeries);
  EXPECT_FALSE(p.IsCreated());
  EXPECT_EQ(p.CreatedTimestampMs(), std::nullopt);
  ASSERT_EQ(*p.Next(), EntryType::kSeries);
  EXPECT_TRUE(p.IsCreated());
  EXPECT_EQ(p.CreatedTimestampMs(), 1700000000500);
  EXPECT_EQ(*p.Next(), EntryType::kEof);
}

TEST(OpenMetricsTest, EofWithoutNewlineAndUtf8Names) {
  Result r = ParseAll("# TYPE \"a.b\" gauge\n{\"a.b\",\"c.d\"=\"e\"} 1\n# EOF",
                      ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(r.error, "");
  EXPECT_THAT(r.entries, ElementsAre(Entry{T, "a.b gauge"},
                                     Entry{S, "{__name__=a.b,c.d=e} 1.0 gauge"}));
}

TEST(OpenMetricsTest, Errors) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"a 1\n", "line 2: data does not end with # EOF"},
      {"", "line 1: data does not end with # EOF"},
      {"a 1", "line 1: data does not end with # EOF"},
      {"a 1\n# EOF\nb 2\n", "line 3: unexpected data after # EOF"},
      {"a 1\n# EOF\n\n", "line 3: unexpected data after # EOF"},
      {"a 1\r\n# EOF\n", "line 1: CR LF line endings are not allowed in OpenMetrics"},
      {"a 1\n\n# EOF\n", "line 2: unexpected empty line"},
      {"# a comment\n# EOF\n",
       "line 1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#\""},
      {"a{b=\"c\", d=\"e\"} 1\n# EOF\n", "line 1: expected label name, got \" d=\\\"e\\\"}\""},
      {"a  1\n# EOF\n", "line 1: expected value, got \" 1\""},
      {"a\t1\n# EOF\n", "line 1: expected '{' or space after metric name, got \"\\t1\""},
      {"a{b=\"c\"}1\n# EOF\n", "line 1: expected space before value, got \"1\""},
      {"a 1 2 3\n# EOF\n",
       "line 1: expected end of line or \" # \" before an exemplar, got \" 3\""},
      {"a 1 NaN\n# EOF\n", "line 1: expected a timestamp in seconds, got \"NaN\""},
      {"a 1 # x\n# EOF\n", "line 1: expected '{' starting the exemplar's labels, got \"x\""},
      {"a 1 # {x=\"y\"}\n# EOF\n", "line 1: expected space before exemplar value, got end of line"},
      {"a 1 # {x=\"y\"} z\n# EOF\n", "line 1: expected a number as exemplar value, got \"z\""},
      {"a 1 # {x=\"y\"} 1 2 3\n# EOF\n", "line 1: expected end of line after exemplar, got \" 3\""},
      {"a 1 # {\"m\"} 1\n# EOF\n", "line 1: expected '=' after label name, got \"}\""},
      {"a{b=\"\\t\"} 1\n# EOF\n", "line 1: invalid escape sequence \"\\\\t\" in label value"},
      {"# UNIT foo_seconds bytes\n# EOF\n",
       "line 1: unit \"bytes\" is not a suffix of metric \"foo_seconds\""},
      {"# UNIT foo_seconds\n# UNIT foo_seconds\n# EOF\n",
       "line 2: second UNIT line for metric name \"foo_seconds\""},
      {"# TYPE a untyped\n# EOF\n", "line 1: invalid metric type \"untyped\""},
      {"# TYPE a gauge \n# EOF\n", "line 1: expected end of line after metric type, got \" \""},
  };
  for (const Case& c : cases) EXPECT_EQ(OmError(c.body), c.error) << c.body;
}

TEST(OpenMetricsTest, TextFormatTypesAreTextOnly) {
  EXPECT_EQ(TextError("# TYPE a gaugehistogram\n"), "line 1: invalid metric type \"gaugehistogram\"");
  EXPECT_EQ(TextError("# UNIT a_b b\n"), "");  // a comment in the text format
}

// ---------------------------------------------------------------- numbers

TEST(NumbersTest, ParseInt64) {
  int64_t v;
  EXPECT_TRUE(internal::ParseInt64("+5", &v));
  EXPECT_EQ(v, 5);
  EXPECT_TRUE(internal::ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(internal::ParseInt64("9223372036854775808", &v));
  EXPECT_FALSE(internal::ParseInt64("+-1", &v));
  EXPECT_FALSE(internal::ParseInt64("", &v));
  EXPECT_FALSE(internal::ParseInt64("1_0", &v));
}

TEST(NumbersTest, ParseGoFloatUnderflowIsZero) {
  double v = 1;
  EXPECT_TRUE(internal::ParseGoFloat("1e-400", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(internal::ParseGoFloat("-1e-400", &v));
  EXPECT_TRUE(std::signbit(v));
  EXPECT_FALSE(internal::ParseGoFloat("-1e400", &v));
  EXPECT_TRUE(internal::ParseGoFloat("-INFINITY", &v));
  EXPECT_TRUE(std::isinf(v) && v < 0);
}

TEST(NumbersTest, OpenMetricsFloat) {
  auto f = [](double v) {
    std::string s;
    internal::AppendOpenMetricsFloat(&s, v);
    return s;
  };
  EXPECT_EQ(f(1), "1.0");
  EXPECT_EQ(f(0.25), "0.25");
  EXPECT_EQ(f(1e6), "1e+06");
  EXPECT_EQ(f(100000), "100000.0");
  EXPECT_EQ(f(5e-5), "5e-05");
  EXPECT_EQ(f(-INFINITY), "-Inf");
}

}  // namespace
}  // namespace pharos::ingest
