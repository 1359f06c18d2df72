// The Prometheus and Alertmanager function sets, fmt's printf, and HTML mode.

#include <gtest/gtest.h>

#include "alerting/template/template.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pharos::alerting::tmpl {
namespace {

struct Case {
  const char* text;
  const char* want;
};

// Every expected string below comes from promtool 2.42 (`promtool test rules` rendering these
// annotations for an alert with expr `vector(1234.5678)`, no labels, no external URL).
const Case kPromtoolCases[] = {
    {"{{ humanize 1234567.0 }}",
     "1.235M"},
    {"{{ humanize 0.0 }}",
     "0"},
    {"{{ humanize 0 }}",
     "0"},
    {"{{ humanize -1234.5 }}",
     "-1.234k"},
    {"{{ humanize 0.00012345 }}",
     "123.4u"},
    {"{{ humanize 1e-30 }}",
     "1e-06y"},
    {"{{ humanize 1e30 }}",
     "1e+06Y"},
    {"{{ humanize 999.99999 }}",
     "1000"},
    {"{{ humanize 1000 }}",
     "1k"},
    {"{{ humanize \"1234\" }}",
     "1.234k"},
    {"{{ humanize \"NaN\" }}",
     "NaN"},
    {"{{ humanize \"+Inf\" }}",
     "+Inf"},
    {"{{ humanize \"-Inf\" }}",
     "-Inf"},
    {"{{ humanize 1e-3 }}",
     "1m"},
    {"{{ humanize 123456789012 }}",
     "123.5G"},
    {"{{ humanize1024 1024.0 }}",
     "1ki"},
    {"{{ humanize1024 1048576 }}",
     "1Mi"},
    {"{{ humanize1024 0.5 }}",
     "0.5"},
    {"{{ humanize1024 -2048 }}",
     "-2ki"},
    {"{{ humanize1024 1e30 }}",
     "8.272e+05Yi"},
    {"{{ humanize1024 1 }}",
     "1"},
    {"{{ humanize1024 1536 }}",
     "1.5ki"},
    {"{{ humanizeDuration 0 }}",
     "0s"},
    {"{{ humanizeDuration 1.5 }}",
     "1.5s"},
    {"{{ humanizeDuration 0.0015 }}",
     "1.5ms"},
    {"{{ humanizeDuration 0.000123 }}",
     "123us"},
    {"{{ humanizeDuration 90061 }}",
     "1d 1h 1m 1s"},
    {"{{ humanizeDuration 3600 }}",
     "1h 0m 0s"},
    {"{{ humanizeDuration -3661 }}",
     "-1h 1m 1s"},
    {"{{ humanizeDuration 899.99 }}",
     "14m 59s"},
    {"{{ humanizeDuration 59.999 }}",
     "60s"},
    {"{{ humanizeDuration \"NaN\" }}",
     "NaN"},
    {"{{ humanizeDuration 1e-12 }}",
     "1ps"},
    {"{{ humanizePercentage 0.1234567 }}",
     "12.35%"},
    {"{{ humanizePercentage 1 }}",
     "100%"},
    {"{{ humanizePercentage 0 }}",
     "0%"},
    {"{{ humanizePercentage -0.5 }}",
     "-50%"},
    {"{{ humanizeTimestamp 1435065584.128 }}",
     "2015-06-23 13:19:44.128 +0000 UTC"},
    {"{{ humanizeTimestamp 0 }}",
     "1970-01-01 00:00:00 +0000 UTC"},
    {"{{ humanizeTimestamp \"NaN\" }}",
     "NaN"},
    {"{{ humanizeTimestamp -1 }}",
     "1969-12-31 23:59:59 +0000 UTC"},
    {"{{ $value }}",
     "1234.5678"},
    {"{{ .Value }}",
     "1234.5678"},
    {"{{ $labels }}",
     "map[]"},
    {"{{ $labels.severity }}",
     ""},
    {"[{{ $labels.nope }}]",
     "[]"},
    {"[{{ $externalLabels.nope }}]",
     "[]"},
    {"{{ $externalURL }}",
     ""},
    {"{{ printf \"%.2f %d %s %v %q %x %5.1f|%-5d|%05d %e %g %t\" 3.14159 42 \"s\" 1.5 \"q\" 255 2.25 7 -42 123456.789 0.000012345 true }}",
     "3.14 42 s 1.5 \"q\" ff   2.2|7    |-0042 1.234568e+05 1.2345e-05 true"},
    {"{{ printf \"%d\" \"x\" }}",
     "%!d(string=x)"},
    {"{{ printf \"%s %s\" \"a\" }}",
     "a %!s(MISSING)"},
    {"{{ printf \"%s\" \"a\" \"b\" 3 }}",
     "a%!(EXTRA string=b, int=3)"},
    {"{{ printf \"%v %v %v\" 1e6 1e21 123456789.0 }}",
     "1e+06 1e+21 1.23456789e+08"},
    {"{{ printf \"%+d % d %x %X %o %b %c %U %#x %#o\" 5 5 -255 255 8 5 65 65 255 8 }}",
     "+5  5 -ff FF 10 101 A U+0041 0xff 010"},
    {"{{ printf \"%8.3e|%-10s|%10q|%.3s|%x|% x\" 1234.5678 \"hi\" \"q\" \"abcdef\" \"hi\" \"hi\" }}",
     "1.235e+03|hi        |       \"q\"|abc|6869|68 69"},
    {"{{ printf \"%6.2f%%\" 99.5 }}",
     " 99.50%"},
    {"{{ printf \"%*d|%-*d|%.*f\" 5 1 4 2 2 3.14159 }}",
     "    1|2   |3.14"},
    {"{{ printf \"%!\" }}",
     "%!!(MISSING)"},
    {"{{ printf \"%z\" 1 }}",
     "%!z(int=1)"},
    {"{{ printf \"%.0f %.0f %.1f\" 0.5 1.5 0.25 }}",
     "0 2 0.2"},
    {"{{ printf \"%g %g %G %e\" 1e-7 100000.0 1e20 0.0 }}",
     "1e-07 100000 1E+20 0.000000e+00"},
    {"{{ printf \"%v\" \"NaN\" }}",
     "NaN"},
    {"{{ title \"hello world foo-bar don't\" }}",
     "Hello World Foo-Bar Don'T"},
    {"{{ toUpper \"abc\" }}{{ toLower \"ABC\" }}",
     "ABCabc"},
    {"{{ reReplaceAll \"(a+)(b)\" \"${2}$1x$1\" \"aab aaab\" }}",
     "baa baaa"},
    {"{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}",
     "-b-c-"},
    {"{{ reReplaceAll \"^(.*):.*$\" \"$1\" \"host:9100\" }}",
     "host"},
    {"{{ match \"^ho\" \"host\" }} {{ match \"x\" \"host\" }}",
     "true false"},
    {"{{ graphLink \"rate(x[5m]) > 0\" }}",
     "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=0"},
    {"{{ tableLink \"up\" }}",
     "/graph?g0.expr=up&g0.tab=1"},
    {"{{ args 1 \"a\" }}",
     "map[arg0:1 arg1:a]"},
    {"{{ (args 1 \"a\").arg1 }}",
     "a"},
    {"[{{ (args 1).arg5 }}]",
     "[<no value>]"},
    {"{{ parseDuration \"1h30m\" }} {{ parseDuration \"1d\" }} {{ parseDuration \"500ms\" }}",
     "5400 86400 0.5"},
    {"{{ stripPort \"host:9100\" }} {{ stripPort \"[::1]:80\" }} {{ stripPort \"host\" }}",
     "host ::1 host"},
    {"{{ stripDomain \"foo.example.com:9100\" }} {{ stripDomain \"10.0.0.1:9100\" }} {{ stripDomain \"foo.bar\" }}",
     "foo:9100 10.0.0.1:9100 foo"},
    {"{{ toTime 1435065584.128 }}",
     "2015-06-23 13:19:44.128 +0000 UTC"},
    {"{{ (toTime 1435065584).Format \"2006-01-02\" }}",
     "2015-06-23"},
    {"{{ safeHtml \"<b>\" }}",
     "<b>"},
    {"{{ eq 1 1 }} {{ gt $value 1000.0 }}",
     "true true"},
    {"{{ len \"abc\" }} {{ index $labels \"severity\" }}",
     "3 "},
    {"{{ 1e6 }} {{ 0.1 }} {{ 100000.0 }} {{ 1e-5 }} {{ 123456789.0 }}",
     "1e+06 0.1 100000 1e-05 1.23456789e+08"},
    {"{{ html \"<a>\" }} {{ js \"a'b\" }} {{ urlquery \"a b\" }}",
     "&lt;a&gt; a\\'b a+b"},
    {"{{ print 1 2 \"x\" 3.5 }}",
     "1 2x3.5"},
    {"{{ slice \"abcdef\" 1 3 }}",
     "bc"},
    {"{{ range $i, $e := args \"x\" \"y\" }}{{ $i }}={{ $e }};{{ end }}",
     "arg0=x;arg1=y;"},
    {"{{ with query \"vector(1)\" }}{{ . | first | value }}{{ end }}",
     "1"},
    {"{{ range query \"vector(2)\" }}{{ .Value }} {{ .Labels }}{{ end }}",
     "2 map[]"},
    {"{{ \"x\" | printf \"%s-%s\" \"y\" }}",
     "y-x"},
};

absl::StatusOr<std::vector<QuerySample>> FakeQuery(std::string_view expr) {
  // vector(N): one sample without labels.
  if (expr.find('>') != std::string_view::npos) return std::vector<QuerySample>{};
  if (expr.starts_with("vector(")) {
    std::string n(expr.substr(7, expr.size() - 8));
    return std::vector<QuerySample>{{{}, std::stod(n)}};
  }
  if (expr == "up") {
    return std::vector<QuerySample>{{{{"__name__", "up"}, {"instance", "b"}}, 0},
                                    {{{"__name__", "up"}, {"instance", "a"}}, 1}};
  }
  return absl::InvalidArgumentError("bad query");
}

TEST(PrometheusFuncs, ParseRuleTemplateKnowsTheFunctionsAndVariables) {
  EXPECT_TRUE(ParseRuleTemplate("a", "{{ $value | humanizePercentage }} {{ $labels.x }}").ok());
  EXPECT_TRUE(ParseRuleTemplate("a", "{{ with query \"up\" }}{{ . | first | value }}{{ end }}").ok());
  absl::Status s = ParseRuleTemplate("a", "{{ $value | nosuchfunc }}");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nosuchfunc"), std::string::npos) << s;
  EXPECT_FALSE(ParseRuleTemplate("a", "{{ $undefined }}").ok());
}

TEST(PrometheusFuncs, MatchesPromtool) {
  RuleTemplateData data;
  data.value = 1234.5678;
  for (const Case& c : kPromtoolCases) {
    auto out = ExpandRuleTemplate("__alert_A", c.text, data, FakeQuery);
    ASSERT_TRUE(out.ok()) << c.text << ": " << out.status();
    EXPECT_EQ(*out, c.want) << c.text;
  }
}


// Execution errors, as promtool 2.42 words them (it shows them as
// "<error expanding template: MESSAGE>"; columns count Prometheus's 112-byte prefix of
// $labels/$externalLabels/$externalURL/$value definitions).
TEST(PrometheusFuncs, ErrorsMatchPromtool) {
  const Case cases[] = {
      {"{{ humanize \"abc\" }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <humanize \"abc\">: error calling "
       "humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax"},
      {"{{ gt $value 1 }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <gt $value 1>: error calling gt: "
       "incompatible types for comparison"},
      {"{{ index $labels 1 }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <index $labels 1>: error calling "
       "index: value has type int; should be string"},
      {"{{ first (query \"vector(1) > 2\") }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <first (query \"vector(1) > "
       "2\")>: error calling first: first() called on vector with no elements"},
      {"{{ $labels.job.foo }}",
       "template: __alert_A:1:122: executing \"__alert_A\" at <$labels.job.foo>: can't evaluate "
       "field foo in type string"},
      {"{{ humanize true }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <humanize true>: error calling "
       "humanize: can't convert bool to float"},
      {"{{ template \"nope\" }}",
       "template: __alert_A:1:124: executing \"__alert_A\" at <{{template \"nope\"}}>: "
       "template \"nope\" not defined"},
      {"{{ reReplaceAll \"(\" \"x\" \"y\" }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <reReplaceAll \"(\" \"x\" \"y\">: "
       "error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing "
       "closing ): `(`"},
      {"{{ call 1 }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <call 1>: error calling call: "
       "non-function of type int"},
      {"{{ slice \"abc\" 2 1 }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <slice \"abc\" 2 1>: error "
       "calling slice: invalid slice index: 2 > 1"},
      {"{{ len 3 }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <len 3>: error calling len: len "
       "of type int"},
      {"{{ not }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <not>: wrong number of args for "
       "not: want 1 got 0"},
      {"{{ humanize }}",
       "template: __alert_A:1:115: executing \"__alert_A\" at <humanize>: wrong number of args "
       "for humanize: want 1 got 0"},
  };
  RuleTemplateData data;
  data.value = 1234.5678;
  for (const Case& c : cases) {
    auto out = ExpandRuleTemplate("__alert_A", c.text, data, FakeQuery);
    ASSERT_FALSE(out.ok()) << c.text;
    EXPECT_EQ(out.status().message(),
              std::string("error executing template __alert_A: ") + c.want)
        << c.text;
  }
  // promtool: first() of an empty result.
  auto empty = [](std::string_view) -> absl::StatusOr<std::vector<QuerySample>> {
    return std::vector<QuerySample>{};
  };
  EXPECT_EQ(ExpandRuleTemplate("__alert_A", "{{ first (query \"x\") }}", data, empty)
                .status()
                .message(),
            "error executing template __alert_A: template: __alert_A:1:115: executing "
            "\"__alert_A\" at <first (query \"x\")>: error calling first: first() called on "
            "vector with no elements");
  EXPECT_EQ(ExpandRuleTemplate("n", "{{ if }}", data, nullptr).status().message(),
            "error parsing template n: template: n:1: missing value for if");
  // No query function: calling query is an error, the rest works.
  EXPECT_EQ(*ExpandRuleTemplate("n", "{{ $value }}", data, nullptr), "1234.5678");
  EXPECT_FALSE(ExpandRuleTemplate("n", "{{ query \"up\" }}", data, nullptr).ok());
}

TEST(PrometheusFuncs, DataAndQueries) {
  RuleTemplateData data;
  data.labels = {{"instance", "host:9100"}, {"job", "node"}};
  data.external_labels = {{"cluster", "eu1"}};
  data.external_url = "http://prom.example.com:9090/prefix";
  data.value = 0.25;
  data.eval_time_ms = 1673000000000;
  auto expand = [&](std::string_view text) {
    auto out = ExpandRuleTemplate("n", text, data, FakeQuery);
    return out.ok() ? *out : "ERROR: " + std::string(out.status().message());
  };
  EXPECT_EQ(expand("{{ $labels.instance }} of {{ .Labels.job }} is at {{ $value | "
                   "humanizePercentage }}"),
            "host:9100 of node is at 25%");
  EXPECT_EQ(expand("{{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }}"), "eu1 eu1");
  EXPECT_EQ(expand("{{ $externalURL }} {{ externalURL }} {{ pathPrefix }}"),
            "http://prom.example.com:9090/prefix http://prom.example.com:9090/prefix /prefix");
  EXPECT_EQ(expand("{{ range sortByLabel \"instance\" (query \"up\") }}{{ .Labels.instance }}="
                   "{{ .Value }} {{ end }}"),
            "a=1 b=0 ");
  EXPECT_EQ(expand("{{ with query \"up\" }}{{ . | first | label \"instance\" }} {{ . | first | "
                   "value }}{{ end }}"),
            "b 0");
  EXPECT_EQ(expand("{{ now }}"), "2023-01-06 10:13:20 +0000 UTC");
  EXPECT_EQ(expand("{{ safeHtml \"<b>\" }}"), "<b>");
}

TEST(Printf, GoVerbs) {
  auto p = [](std::string_view t) {
    auto tmpl = Template::Parse("t", t, {});
    return tmpl.ok() ? *tmpl->Execute(Value()) : std::string(tmpl.status().message());
  };
  EXPECT_EQ(p("{{printf \"%v|%s|%d|%t\" nil 1 \"x\" 1}}"),
            "<nil>|%!s(int=1)|%!d(string=x)|%!t(int=1)");
  EXPECT_EQ(p("{{printf \"%q %q %#q\" \"a\\\"b\\n\" 65 \"x\"}}"), "\"a\\\"b\\n\" 'A' `x`");
  EXPECT_EQ(p("{{printf \"%08.3f|%+.2e|% d|%-6s|%6s|\" 3.14159 12345.678 7 \"ab\" \"ab\"}}"),
            "0003.142|+1.23e+04| 7|ab    |    ab|");
  EXPECT_EQ(p("{{printf \"%x %X % X %#x\" \"hi\" \"hi\" \"hi\" \"hi\"}}"), "6869 6869 68 69 0x6869");
  EXPECT_EQ(p("{{printf \"%f %v %e\" (print) 1.0 -0.0}}"),
            "%!f(string=) 1 -0.000000e+00");
  EXPECT_EQ(p("{{printf \"%.3v|%10.4v|%-10v|\" 3.14159 \"abcdefgh\" true}}"),
            "3.14|      abcd|true      |");
  EXPECT_EQ(p("{{printf \"%d %d\" 1}}"), "1 %!d(MISSING)");
  EXPECT_EQ(p("{{printf \"%d\" 1 2 \"x\"}}"), "1%!(EXTRA int=2, string=x)");
  EXPECT_EQ(p("{{printf \"%s\" (slice (print \"abc\") 0 2)}}"), "ab");
  EXPECT_EQ(p("{{printf \"%v %d\" (slice \"ab\" 0 0) 3}}"), " 3");
  EXPECT_EQ(p("{{printf \"%5.1f|%-8.2f|%+d\" 2.25 -1.005 0}}"), "  2.2|-1.00   |+0");
  EXPECT_EQ(p("{{printf \"%c|%U|%#U\" 0x1F600 0x1F600 65}}"), "\xF0\x9F\x98\x80|U+1F600|U+0041 'A'");
  EXPECT_EQ(p("{{printf \"%"), "template: t:1: unterminated quoted string");
  EXPECT_EQ(p("{{printf \"%\"}}"), "%!(NOVERB)");
}

TEST(HtmlMode, EscapesActionOutput) {
  FuncMap funcs = AlertmanagerFuncs();
  Value dot = Value::MakeMap({{"S", Value::String("<a href=\"x\">Tom & 'Jerry' +1</a>")},
                              {"N", Value()}});
  auto t = Template::Parse(
      "email", "<p>{{ .S }}</p>{{ .S | safeHtml }}[{{ .N }}][{{ .Missing }}]{{ 1.5 }}", funcs,
      Mode::kHtml);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t->Execute(dot),
            "<p>&lt;a href=&#34;x&#34;&gt;Tom &amp; &#39;Jerry&#39; &#43;1&lt;/a&gt;</p>"
            "<a href=\"x\">Tom & 'Jerry' +1</a>[][]1.5");
  // Template calls are not escaped twice.
  ASSERT_TRUE(t->Add("lib", "{{ define \"x\" }}<b>{{ . }}</b>{{ end }}").ok());
  ASSERT_TRUE(t->Add("main2", "{{ template \"x\" \"a&b\" }}").ok());
  EXPECT_EQ(*t->Execute(dot, "main2"), "<b>a&amp;b</b>");
}

TEST(AlertmanagerFuncs, Strings) {
  FuncMap funcs = AlertmanagerFuncs();
  auto r = [&](std::string_view text, const Value& dot = Value()) {
    auto t = Template::Parse("t", text, funcs);
    if (!t.ok()) return std::string(t.status().message());
    auto out = t->Execute(dot);
    return out.ok() ? *out : std::string(out.status().message());
  };
  EXPECT_EQ(r("{{ toUpper \"abc\" }} {{ toLower \"ABC\" }}"), "ABC abc");
  // cases.Title(language.AmericanEnglish): the rest of each word is lower-cased.
  EXPECT_EQ(r("{{ title \"hELLO wORLD don't\" }}"), "Hello World Don't");
  EXPECT_EQ(r("[{{ trimSpace \"  a b \\n\" }}]"), "[a b]");
  EXPECT_EQ(r("{{ join \", \" (stringSlice \"a\" \"b\" \"c\") }}"), "a, b, c");
  EXPECT_EQ(r("{{ stringSlice \"a\" \"b\" }}"), "[a b]");
  EXPECT_EQ(r("{{ match \"^fir\" \"firing\" }} {{ match \"x\" \"y\" }}"), "true false");
  EXPECT_EQ(r("{{ reReplaceAll \"(\\\\w+)@(\\\\w+)\" \"$2 at ${1}x\" \"me@host\" }}"),
            "host at mex");
  EXPECT_EQ(r("{{ urlUnescape \"a%20b+c%2F\" }}"), "a b c/");
  EXPECT_EQ(r("{{ urlUnescape \"%zz\" }}"),
            "template: t:1:3: executing \"t\" at <urlUnescape \"%zz\">: error calling "
            "urlUnescape: invalid URL escape \"%zz\"");
  EXPECT_EQ(r("{{ safeUrl \"http://x/?a=1\" }}"), "http://x/?a=1");
  EXPECT_EQ(r("{{ humanizeDuration 3661 }} {{ humanizeDuration 0.25 }}"), "1h 1m 1s 250ms");
  // Alertmanager's KV.Remove, as the notify layer models it: a method on the labels map.
  Value::Map methods;
  Value labels = Value::MakeMap({{"a", Value::String("1")}, {"b", Value::String("2")}});
  methods["Remove"] = Value::MakeFunc([labels](std::span<const Value> a) -> absl::StatusOr<Value> {
    Value::Map m = labels.AsMap();
    for (const Value& k : a[0].AsList()) m.erase(k.AsString());
    return Value::MakeMap(std::move(m));
  });
  Value dot = Value::MakeMap({{"Labels", Value::WithMethods(labels, methods)}});
  EXPECT_EQ(r("{{ .Labels.Remove (stringSlice \"a\") }}", dot), "map[b:2]");
  EXPECT_EQ(r("{{ toUpper 1 }}"),
            "template: t:1:3: executing \"t\" at <toUpper 1>: wrong type for value; expected "
            "string; got int");
}

TEST(AlertmanagerFuncs, Times) {
  FuncMap funcs = AlertmanagerFuncs();
  Value dot = Value::MakeMap({{"StartsAt", Value::Time(1688212800500)}});  // 2023-07-01T12:00:00.5Z
  auto r = [&](std::string_view text) {
    auto t = Template::Parse("t", text, funcs);
    if (!t.ok()) return std::string(t.status().message());
    auto out = t->Execute(dot);
    return out.ok() ? *out : std::string(out.status().message());
  };
  EXPECT_EQ(r("{{ .StartsAt | date \"2006-01-02 15:04:05.000 MST\" }}"),
            "2023-07-01 12:00:00.500 UTC");
  EXPECT_EQ(r("{{ .StartsAt | tz \"Europe/Berlin\" | date \"2006-01-02 15:04:05 MST -07:00\" }}"),
            "2023-07-01 14:00:00 CEST +02:00");
  EXPECT_EQ(r("{{ .StartsAt | tz \"America/New_York\" }}"),
            "2023-07-01 08:00:00.5 -0400 EDT");
  EXPECT_EQ(r("{{ (.StartsAt | tz \"Asia/Kolkata\").Format \"15:04 Z07:00\" }}"), "17:30 +05:30");
  EXPECT_EQ(r("{{ .StartsAt | tz \"Nowhere/Land\" }}"),
            "template: t:1:15: executing \"t\" at <tz \"Nowhere/Land\">: error calling tz: "
            "unknown time zone Nowhere/Land");
  // since: an elapsed time.Duration; compare with a bound rather than the wall clock.
  int64_t hour_ago = absl::ToUnixMillis(absl::Now()) - 3600 * 1000;
  Value t2 = Value::MakeMap({{"T", Value::Time(hour_ago)}});
  auto tmpl = Template::Parse(
      "t", "{{ $d := since .T }}{{ humanizeDuration $d }}|{{ ge $d.Seconds 0 }}", funcs);
  ASSERT_TRUE(tmpl.ok());
  auto tmpl2 = Template::Parse("t", "{{ humanizeDuration (since .T) }}", funcs);
  ASSERT_TRUE(tmpl2.ok());
  std::string got = *tmpl2->Execute(t2);
  EXPECT_TRUE(got == "1h 0m 0s" || got == "1h 0m 1s") << got;
  auto tmpl3 = Template::Parse("t", "{{ since .T }}", funcs);
  std::string d = *tmpl3->Execute(t2);
  EXPECT_TRUE(d.starts_with("1h0m")) << d;
}

}  // namespace
}  // namespace pharos::alerting::tmpl
