// Go text/template semantics. Expected strings are what Go 1.20's text/template produces
// (the Go version Prometheus 2.42 and Alertmanager 0.25 are built with).

#include "alerting/template/template.h"

#include <gtest/gtest.h>

#include <random>

#include "absl/strings/match.h"

namespace pharos::alerting::tmpl {
namespace {

std::string Render(std::string_view text, const Value& dot = Value(), FuncMap funcs = {},
                   Mode mode = Mode::kText) {
  auto t = Template::Parse("t", text, std::move(funcs), mode);
  if (!t.ok()) return "PARSE ERROR: " + std::string(t.status().message());
  auto out = t->Execute(dot);
  if (!out.ok()) return "EXEC ERROR: " + std::string(out.status().message());
  return *out;
}

Value S(std::string s) { return Value::String(std::move(s)); }
Value I(int64_t i) { return Value::Int(i); }
Value F(double f) { return Value::Float(f); }

Value Data() {
  Value::Map labels{{"alertname", S("HighLoad")}, {"instance", S("host:9100")},
                    {"job", S("node")}};
  Value::Map m{
      {"Labels", Value::MakeMap(labels)},
      {"Value", F(0.5)},
      {"Count", I(3)},
      {"Name", S("world")},
      {"List", Value::MakeList({S("a"), S("b"), S("c")})},
      {"Ints", Value::MakeList({I(1), I(2), I(3)})},
      {"Empty", Value::MakeList({})},
      {"Nested", Value::MakeMap({{"Inner", Value::MakeMap({{"Deep", S("deep")}})}})},
      {"Mixed", Value::MakeMap({{"n", I(1)}, {"s", S("x")}})},
      {"True", Value::Bool(true)},
      {"Nil", Value()},
  };
  return Value::MakeMap(std::move(m));
}

TEST(TemplateText, PlainTextAndFields) {
  EXPECT_EQ(Render("hello"), "hello");
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(Render("Hello {{.Name}}!", Data()), "Hello world!");
  EXPECT_EQ(Render("{{.Labels.instance}} {{ .Labels.job }}", Data()), "host:9100 node");
  EXPECT_EQ(Render("{{.Nested.Inner.Deep}}", Data()), "deep");
  EXPECT_EQ(Render("{{.Count}} {{.Value}} {{.True}}", Data()), "3 0.5 true");
  EXPECT_EQ(Render("{{.List}} {{.Ints}} {{.Empty}}", Data()), "[a b c] [1 2 3] []");
  EXPECT_EQ(Render("{{.Mixed}}", Data()), "map[n:1 s:x]");
  EXPECT_EQ(Render("{{.}}", S("dot")), "dot");
}

TEST(TemplateText, MissingKeys) {
  // Label maps (all values strings) yield Go's zero value "" under missingkey=zero, which
  // Prometheus and Alertmanager both use; other maps yield <no value>.
  EXPECT_EQ(Render("[{{.Labels.nope}}]", Data()), "[]");
  EXPECT_EQ(Render("[{{.Mixed.nope}}]", Data()), "[<no value>]");
  EXPECT_EQ(Render("[{{.Nil}}]", Data()), "[<no value>]");
  EXPECT_EQ(Render("[{{.Nope.deeper}}]", Data()), "[<no value>]");
  EXPECT_EQ(Render("[{{print .Nil}}]", Data()), "[<nil>]");
  EXPECT_EQ(Render("{{.}}", Value()), "<no value>");
}

TEST(TemplateText, CommentsAndTrim) {
  EXPECT_EQ(Render("a{{/* comment */}}b"), "ab");
  EXPECT_EQ(Render("a {{- /* comment */ -}} b"), "ab");
  EXPECT_EQ(Render("a  \n {{- 1 -}} \n  b"), "a1b");
  EXPECT_EQ(Render("a {{- 1}} b"), "a1 b");
  EXPECT_EQ(Render("a {{1 -}} b"), "a 1b");
  EXPECT_EQ(Render("{{-3}}"), "-3");  // no space: a negative number, not a trim marker
  EXPECT_EQ(Render("x\n{{- range .List }}\n  {{ . }}\n{{- end }}\n", Data()),
            "x\n  a\n  b\n  c\n");
}

TEST(TemplateText, Literals) {
  EXPECT_EQ(Render(R"({{"a\tb\n\"q\" \u00e9 \x41"}})"), "a\tb\n\"q\" \xC3\xA9 A");
  EXPECT_EQ(Render("{{`raw\\n`}}"), "raw\\n");
  EXPECT_EQ(Render("{{'a'}} {{'\\n'}}"), "97 10");
  EXPECT_EQ(Render("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{-5}} {{+5}}"),
            "31 15 15 5 1000 -5 5");
  EXPECT_EQ(Render("{{1.5}} {{1e3}} {{1.0}} {{.5}} {{1e-7}} {{0x1p-2}}"),
            "1.5 1000 1 0.5 1e-07 0.25");
  EXPECT_EQ(Render("{{true}} {{false}}"), "true false");
  EXPECT_EQ(Render("{{nil}}"), "EXEC ERROR: template: t:1:2: executing \"t\" at <nil>: nil is not a command");
  EXPECT_EQ(Render("{{1e400}}"), "PARSE ERROR: template: t:1: illegal number syntax: \"1e400\"");
  EXPECT_EQ(Render("{{99999999999999999999}}"),
            "PARSE ERROR: template: t:1: 99999999999999999999 overflows int");
}

TEST(TemplateText, Pipelines) {
  EXPECT_EQ(Render("{{ .Name | printf \"%s!\" }}", Data()), "world!");
  EXPECT_EQ(Render("{{ \"x\" | printf \"%s-%s\" \"y\" }}"), "y-x");
  EXPECT_EQ(Render("{{ printf \"%d\" (len .List) }}", Data()), "3");
  EXPECT_EQ(Render("{{ (index .List 1) }}", Data()), "b");
  EXPECT_EQ(Render("{{ (.Nested.Inner).Deep }}", Data()), "deep");
  EXPECT_EQ(Render("{{ (index .Nested \"Inner\").Deep }}", Data()), "deep");
  EXPECT_EQ(Render("{{ .List | len | printf \"%d items\" }}", Data()), "3 items");
  EXPECT_EQ(Render("{{ 1 | 2 }}"),
            "PARSE ERROR: template: t:1: non executable command in pipeline stage 2");
  EXPECT_EQ(Render("{{ 1 2 }}"),
            "EXEC ERROR: template: t:1:3: executing \"t\" at <1>: can't give argument to "
            "non-function 1");
}

TEST(TemplateText, Variables) {
  EXPECT_EQ(Render("{{ $x := 1 }}{{ $x }}"), "1");
  EXPECT_EQ(Render("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}"), "2");
  EXPECT_EQ(Render("{{ $.Name }}{{ with .Labels }}{{ $.Name }}{{ .job }}{{ end }}", Data()),
            "worldworldnode");
  // An assignment inside a block changes the outer variable; a declaration shadows it.
  EXPECT_EQ(Render("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
  EXPECT_EQ(Render("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}"), "21");
  // A variable declared in if's pipeline is visible in else, and gone after end.
  EXPECT_EQ(Render("{{ if $v := 0 }}a{{ else }}{{ $v }}{{ end }}"), "0");
  EXPECT_EQ(Render("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}"),
            "PARSE ERROR: template: t:1: undefined variable \"$y\"");
  EXPECT_EQ(Render("{{ $labels := .Labels }}{{ $labels.job }}", Data()), "node");
  EXPECT_EQ(Render("{{ $l := .Labels }}{{ $l.job | printf \"%q\" }}", Data()), "\"node\"");
}

TEST(TemplateText, IfElse) {
  EXPECT_EQ(Render("{{if .True}}yes{{else}}no{{end}}", Data()), "yes");
  EXPECT_EQ(Render("{{if .Empty}}yes{{else}}no{{end}}", Data()), "no");
  EXPECT_EQ(Render("{{if .Nil}}yes{{else if .Count}}count{{else}}no{{end}}", Data()), "count");
  EXPECT_EQ(Render("{{if eq .Count 1}}1{{else if eq .Count 2}}2{{else if eq .Count 3}}3{{end}}",
                   Data()),
            "3");
  EXPECT_EQ(Render("{{if 0}}a{{else}}b{{end}}{{if \"\"}}a{{else}}b{{end}}{{if 0.0}}a{{end}}"),
            "bb");
  EXPECT_EQ(Render("{{if .Labels.nope}}a{{else}}b{{end}}", Data()), "b");
}

TEST(TemplateText, Range) {
  EXPECT_EQ(Render("{{range .List}}[{{.}}]{{end}}", Data()), "[a][b][c]");
  EXPECT_EQ(Render("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", Data()), "0=a 1=b 2=c ");
  EXPECT_EQ(Render("{{range $e := .List}}{{$e}}{{end}}", Data()), "abc");
  EXPECT_EQ(Render("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", Data()),
            "alertname=HighLoad;instance=host:9100;job=node;");
  EXPECT_EQ(Render("{{range .Empty}}x{{else}}empty{{end}}", Data()), "empty");
  EXPECT_EQ(Render("{{range .Nil}}x{{else}}nil{{end}}", Data()), "nil");
  EXPECT_EQ(Render("{{range 3}}{{.}}{{end}}"), "012");
  EXPECT_EQ(Render("{{range $i := 3}}{{$i}}{{end}}"), "012");
  EXPECT_EQ(Render("{{range .Ints}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}", Data()), "1");
  EXPECT_EQ(Render("{{range .Ints}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", Data()), "13");
  EXPECT_EQ(Render("{{range .List}}{{$.Name}}{{end}}", Data()), "worldworldworld");
  EXPECT_EQ(Render("{{break}}"), "PARSE ERROR: template: t:1: {{break}} outside {{range}}");
  EXPECT_EQ(Render("{{range .Name}}{{end}}", Data()),
            "EXEC ERROR: template: t:1:8: executing \"t\" at <{{range .Name}}{{end}}>: range "
            "can't iterate over world");
  // Variables assigned in a range body persist across iterations when declared outside.
  EXPECT_EQ(Render("{{$n := 0}}{{range .Ints}}{{$n = .}}{{end}}{{$n}}", Data()), "3");
}

TEST(TemplateText, With) {
  EXPECT_EQ(Render("{{with .Name}}<{{.}}>{{end}}", Data()), "<world>");
  EXPECT_EQ(Render("{{with .Empty}}x{{else}}none{{end}}", Data()), "none");
  EXPECT_EQ(Render("{{with .Empty}}x{{else with .Name}}{{.}}{{else}}none{{end}}", Data()),
            "world");
  EXPECT_EQ(Render("{{with $x := .Count}}{{$x}}{{.}}{{end}}", Data()), "33");
}

TEST(TemplateText, DefineTemplateBlock) {
  EXPECT_EQ(Render("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .Name}}", Data()), "<world>");
  EXPECT_EQ(Render("{{define \"T\"}}[{{.}}]{{end}}{{template \"T\"}}"), "[<no value>]");
  EXPECT_EQ(Render("{{block \"B\" .Count}}b{{.}}{{end}}", Data()), "b3");
  // Templates see only their own $.
  EXPECT_EQ(Render("{{define \"T\"}}{{$}}{{end}}{{$x := 1}}{{template \"T\" 2}}"), "2");
  EXPECT_EQ(Render("{{template \"nope\"}}"),
            "EXEC ERROR: template: t:1:11: executing \"t\" at <{{template \"nope\"}}>: "
            "template \"nope\" not defined");

  auto t = Template::Parse("main", "{{template \"x\" .}}", {});
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->Add("lib", "{{define \"x\"}}one {{.}}{{end}}").ok());
  EXPECT_EQ(*t->Execute(S("a")), "one a");
  ASSERT_TRUE(t->Add("lib2", "{{define \"x\"}}two {{.}}{{end}}").ok());
  EXPECT_EQ(*t->Execute(S("a")), "two a");
  EXPECT_EQ(*t->Execute(S("b"), "x"), "two b");
  EXPECT_TRUE(t->Has("x"));
  EXPECT_TRUE(t->Has("lib2"));
  EXPECT_FALSE(t->Has("y"));
  EXPECT_EQ(t->Execute(S("b"), "y").status().message(),
            "template: no template \"y\" associated with template \"main\"");
  EXPECT_EQ(Render("{{define \"a\"}}1{{end}}{{define \"a\"}}2{{end}}"),
            "PARSE ERROR: template: t:1: template: multiple definition of template \"a\"");
}

TEST(TemplateText, Builtins) {
  Value d = Data();
  EXPECT_EQ(Render("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 \"\"}}"), "0 2 3 ");
  // Short-circuit: the failing call is never made.
  EXPECT_EQ(Render("{{and 0 (index .List 10)}} {{or 1 (index .List 10)}}", d), "0 1");
  EXPECT_EQ(Render("{{not 0}} {{not .List}}", d), "true false");
  EXPECT_EQ(Render("{{len .List}} {{len .Labels}} {{len \"héllo\"}}", d), "3 3 6");
  EXPECT_EQ(Render("{{index .List 2}} {{index .Labels \"job\"}} {{index .Nested \"Inner\" \"Deep\"}}", d),
            "c node deep");
  EXPECT_EQ(Render("{{index \"abc\" 1}}"), "98");
  EXPECT_EQ(Render("[{{index .Labels \"nope\"}}]", d), "[]");
  EXPECT_EQ(Render("{{index .List 3}}", d),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <index .List 3>: error calling "
            "index: index out of range: 3");
  EXPECT_EQ(Render("{{slice .List 1}} {{slice .List 1 2}} {{slice \"hello\" 1 3}}", d),
            "[b c] [b] el");
  EXPECT_EQ(Render("{{print 1 2 \"a\" 3 \"b\" \"c\"}}"), "1 2a3bc");
  EXPECT_EQ(Render("{{println 1 \"a\"}}"), "1 a\n");
  EXPECT_EQ(Render("{{eq 1 1}} {{eq 1 2 3 1}} {{eq \"a\" \"b\"}} {{ne 1 2}}"), "true true false true");
  EXPECT_EQ(Render("{{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ge \"b\" \"a\"}}"), "true true false true");
  EXPECT_EQ(Render("{{eq .Nil nil}} {{eq .Labels.job \"node\"}}", d), "true true");
  EXPECT_EQ(Render("{{gt .Value 0}}", d),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <gt .Value 0>: error calling gt: "
            "incompatible types for comparison");
  EXPECT_EQ(Render("{{eq 1 1.0}}"),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <eq 1 1.0>: error calling eq: "
            "incompatible types for comparison");
  EXPECT_EQ(Render("{{lt true false}}"),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <lt true false>: error calling lt: "
            "invalid type for comparison");
  EXPECT_EQ(Render("{{html \"<a href='x'>&\\\"</a>\"}}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;");
  EXPECT_EQ(Render("{{js \"it's <b> \\\"x\\\" = &\"}}"),
            "it\\'s \\u003Cb\\u003E \\\"x\\\" \\u003D \\u0026");
  EXPECT_EQ(Render("{{urlquery \"a b&c=d/é\"}}"), "a+b%26c%3Dd%2F%C3%A9");
  // `call` takes a function value, e.g. one a function returned. (A Func in a map is a
  // method: reaching it through a field chain calls it.)
  FuncMap funcs;
  funcs["adder"] = [](std::span<const Value>) -> absl::StatusOr<Value> {
    return Value::MakeFunc([](std::span<const Value> a) -> absl::StatusOr<Value> {
      return Value::Int(a[0].AsInt() + a[1].AsInt());
    });
  };
  EXPECT_EQ(Render("{{call (adder) 2 3}} {{call adder 1 1}}", d, funcs), "5 2");
  EXPECT_EQ(Render("{{call .Name}}", d),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <call .Name>: error calling call: "
            "non-function of type string");
  EXPECT_EQ(Render("{{not}}"),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <not>: wrong number of args for "
            "not: want 1 got 0");
}

TEST(TemplateText, FuncsAndMethods) {
  FuncMap funcs;
  funcs["upper"] = [](std::span<const Value> a) -> absl::StatusOr<Value> {
    std::string s = a[0].AsString();
    for (char& c : s) c = static_cast<char>(std::toupper(c));
    return Value::String(s);
  };
  funcs["fail"] = [](std::span<const Value>) -> absl::StatusOr<Value> {
    return absl::InternalError("boom");
  };
  EXPECT_EQ(Render("{{upper .Name}} {{.Name | upper}}", Data(), funcs), "WORLD WORLD");
  EXPECT_EQ(Render("{{fail}}", Data(), funcs),
            "EXEC ERROR: template: t:1:2: executing \"t\" at <fail>: error calling fail: boom");
  EXPECT_EQ(Render("{{nope}}"), "PARSE ERROR: template: t:1: function \"nope\" not defined");

  // A Func reached through a field chain is called, with the command's remaining arguments
  // when it is last (Go methods such as .Labels.Remove).
  Value::Map methods;
  methods["Greet"] = Value::MakeFunc([](std::span<const Value> a) -> absl::StatusOr<Value> {
    std::string out = "hi";
    for (const auto& v : a) out += " " + v.ToString();
    return Value::String(out);
  });
  methods["Self"] = Value::MakeFunc([](std::span<const Value>) -> absl::StatusOr<Value> {
    return Value::MakeMap({{"X", Value::String("x")}});
  });
  methods["String"] = Value::MakeFunc([](std::span<const Value>) -> absl::StatusOr<Value> {
    return Value::String("a=1, b=2");
  });
  Value kv = Value::WithMethods(Value::MakeMap({{"a", S("1")}, {"b", S("2")}}), methods);
  Value dot = Value::MakeMap({{"KV", kv}});
  EXPECT_EQ(Render("{{.KV.Greet}}|{{.KV.Greet 1 \"x\"}}|{{.KV.Self.X}}|{{.KV.a}}", dot),
            "hi|hi 1 x|x|1");
  EXPECT_EQ(Render("{{.KV}} {{len .KV}} {{range $k, $v := .KV}}{{$k}}{{end}}", dot),
            "a=1, b=2 2 ab");
  EXPECT_EQ(Render("{{.KV.a 1}}", dot),
            "EXEC ERROR: template: t:1:5: executing \"t\" at <.KV.a>: a is not a method but has "
            "arguments");
  EXPECT_EQ(Render("{{.Name.Foo}}", Data()),
            "EXEC ERROR: template: t:1:7: executing \"t\" at <.Name.Foo>: can't evaluate field "
            "Foo in type string");
}

TEST(TemplateText, TimeMethods) {
  Value t = Value::Time(1673000000123);  // 2023-01-06T10:13:20.123Z (a Friday)
  Value dot = Value::MakeMap({{"T", t}});
  EXPECT_EQ(Render("{{.T}}", dot), "2023-01-06 10:13:20.123 +0000 UTC");
  EXPECT_EQ(Render("{{.T.Format \"2006-01-02T15:04:05Z07:00\"}}", dot), "2023-01-06T10:13:20Z");
  EXPECT_EQ(Render("{{.T.Format \"Mon Monday Jan January 1 01 2 02 _2 06 2006\"}}", dot),
            "Fri Friday Jan January 1 01 6 06  6 23 2023");
  EXPECT_EQ(Render("{{.T.Format \"15 3 03 4 04 5 05 PM pm MST -0700 -07:00 Z0700\"}}", dot),
            "10 10 10 13 13 20 20 AM am UTC +0000 +00:00 Z");
  EXPECT_EQ(Render("{{.T.Format \".000 .999 .000000 ,000 .9\"}}", dot),
            ".123 .123 .123000 ,123 .1");
  EXPECT_EQ(Render("{{.T.Format \"Jan _2 15:04:05.000\" | printf \"%s\"}}", dot),
            "Jan  6 10:13:20.123");
  EXPECT_EQ(Render("{{.T.Unix}} {{.T.UnixMilli}} {{.T.UTC.Format \"2006\"}} {{.T.String}}", dot),
            "1673000000 1673000000123 2023 2023-01-06 10:13:20.123 +0000 UTC");
  EXPECT_EQ(Render("{{(.T.Format \"2006\")}}", dot), "2023");
  EXPECT_EQ(Render("{{.T.Nope}}", dot),
            "EXEC ERROR: template: t:1:4: executing \"t\" at <.T.Nope>: can't evaluate field "
            "Nope in type time.Time");
  Value whole = Value::Time(1673000000000);
  EXPECT_EQ(Render("{{.}}", whole), "2023-01-06 10:13:20 +0000 UTC");
  EXPECT_EQ(Render("{{.Format \"3:04PM\"}}", Value::Time(1673035200000)), "8:00PM");
}


}  // namespace
}  // namespace pharos::alerting::tmpl

namespace pharos::alerting::tmpl {
namespace {

TEST(TemplateLimits, HostileTemplatesEndWithErrors) {
  // Unbounded range: stopped by the step limit, not by time.
  std::string r = Render("{{range 1000000000000}}{{end}}");
  EXPECT_TRUE(r.find("exceeded 5000000 steps") != std::string::npos) << r;
  // Output explosion.
  r = Render("{{range 100000000}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}");
  EXPECT_TRUE(r.find("template output exceeds 4194304 bytes") != std::string::npos) << r;
  // Infinite template recursion.
  r = Render("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}");
  EXPECT_TRUE(r.find("exceeded maximum template depth (100)") != std::string::npos) << r;
  // Deep nesting is a parse error, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "{{if 1}}";
  r = Render(deep);
  EXPECT_TRUE(r.find("template nesting exceeds 200 levels") != std::string::npos) << r;
  std::string parens = "{{" + std::string(5000, '(') + "1" + std::string(5000, ')') + "}}";
  r = Render(parens);
  EXPECT_TRUE(r.find("template nesting exceeds 200 levels") != std::string::npos) << r;
  // Oversized template text.
  r = Render(std::string(2 << 20, 'x'));
  EXPECT_TRUE(r.find("over the limit") != std::string::npos) << r.substr(0, 100);
}

TEST(TemplateLimits, ParseErrors) {
  EXPECT_EQ(Render("{{"), "PARSE ERROR: template: t:1: unclosed action");
  EXPECT_EQ(Render("a\n{{ .x"), "PARSE ERROR: template: t:2: unclosed action");
  EXPECT_EQ(Render("{{ define \"x\" }}{{ .Status "), "PARSE ERROR: template: t:1: unclosed action");
  EXPECT_EQ(Render("{{ 1 "), "PARSE ERROR: template: t:1: unclosed action");
  EXPECT_EQ(Render("{{ .x "), "PARSE ERROR: template: t:1: unclosed action");
  EXPECT_EQ(Render("{{$v := 1}}{{ $v "), "PARSE ERROR: template: t:1: unclosed action");
  EXPECT_EQ(Render("{{/* x"), "PARSE ERROR: template: t:1: unclosed comment");
  EXPECT_EQ(Render("{{if 1}}"), "PARSE ERROR: template: t:1: unexpected EOF");
  EXPECT_EQ(Render("{{end}}"), "PARSE ERROR: template: t:1: unexpected {{end}}");
  EXPECT_EQ(Render("{{else}}"), "PARSE ERROR: template: t:1: unexpected {{else}}");
  EXPECT_EQ(Render("{{ $x }}"), "PARSE ERROR: template: t:1: undefined variable \"$x\"");
  EXPECT_EQ(Render("{{ (1 }}"), "PARSE ERROR: template: t:1: unclosed left paren");
  EXPECT_EQ(Render("{{ 1) }}"), "PARSE ERROR: template: t:1: unexpected right paren");
  EXPECT_EQ(Render("{{ \"abc }}"), "PARSE ERROR: template: t:1: unterminated quoted string");
  EXPECT_EQ(Render("{{ .a@ }}"), "PARSE ERROR: template: t:1: bad character U+0040 '@'");
  EXPECT_EQ(Render("{{ 3x }}"), "PARSE ERROR: template: t:1: bad number syntax: \"3x\"");
  EXPECT_EQ(Render("{{ template . }}"),
            "PARSE ERROR: template: t:1: unexpected \".\" in template clause");
  EXPECT_EQ(Render("{{ \"x\".y }}"),
            "PARSE ERROR: template: t:1: unexpected . after term \"\\\"x\\\"\"");
}

// Random mutations of realistic templates: every one must parse or fail cleanly, and execute
// or fail cleanly, within the limits. Fixed seed, bounded iterations.
TEST(TemplateFuzz, MutatedTemplatesNeverCrash) {
  const std::vector<std::string> seeds = {
      "{{ range $i, $e := .List }}{{ if gt $i 0 }}, {{ end }}{{ $e | printf \"%q\" }}{{ end }}",
      "{{ define \"t\" }}{{ .Name }}{{ template \"t2\" . }}{{ end }}{{ define \"t2\" }}x{{ end }}"
      "{{ template \"t\" . }}{{ block \"b\" .Count }}{{ . }}{{ end }}",
      "{{- with .Labels -}}{{ .job }}{{- else -}}none{{- end }} {{ index .Labels \"instance\" }}",
      "{{ $x := 1 }}{{ range .Ints }}{{ $x = . }}{{ if eq . 2 }}{{ break }}{{ end }}{{ end }}{{ $x }}",
      "{{ printf \"%5.2f %d %s %v\" .Value .Count .Name .List }} {{ slice .List 1 2 }} {{ len .Mixed }}",
      "{{/* c */}}{{ and .True (or .Nil .Count) | not }} {{ html .Name }} {{ js .Name }} {{ .Nested.Inner.Deep }}",
      "{{ range 5 }}{{ . }}{{ continue }}{{ end }}{{ (index .List 0) }} {{ 'x' }} {{ 0x1F }} {{ 1e3 }}",
  };
  const std::string alphabet = "{}()|$.\"'`-/* \n=:,abcdefghijklmnopqrstuvwxyz0123456789%\\";
  std::mt19937 rng(12345);
  Value dot = Data();
  int parsed = 0, executed = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string t = seeds[rng() % seeds.size()];
    int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      size_t pos = t.empty() ? 0 : rng() % t.size();
      switch (rng() % 4) {
        case 0: if (!t.empty()) t.erase(pos, 1 + rng() % 3); break;
        case 1: t.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: if (!t.empty()) t[pos] = alphabet[rng() % alphabet.size()]; break;
        case 3: {  // splice a chunk of another seed
          const std::string& o = seeds[rng() % seeds.size()];
          size_t a = rng() % o.size();
          t.insert(pos, o.substr(a, 1 + rng() % 20));
          break;
        }
      }
    }
    auto tmpl = Template::Parse("fuzz", t, {});
    if (!tmpl.ok()) {
      EXPECT_TRUE(absl::StartsWith(tmpl.status().message(), "template: fuzz")) << tmpl.status();
      continue;
    }
    ++parsed;
    auto out = tmpl->Execute(dot);
    if (out.ok()) {
      ++executed;
      EXPECT_LE(out->size(), 4u << 20);
    } else {
      EXPECT_TRUE(absl::StartsWith(out.status().message(), "template: ")) << out.status();
    }
  }
  // The mutations must leave a fair share of valid templates, or this tests only the lexer.
  EXPECT_GT(parsed, 2000);
  EXPECT_GT(executed, 1000);
}

TEST(TemplatePerf, ParsedOnceExecutedCheaply) {
  auto t = Template::Parse(
      "summary",
      "{{ $labels := .Labels }}Instance {{ $labels.instance }} of {{ $labels.job }} is at "
      "{{ printf \"%.2f\" .Value }} ({{ if gt .Value 0.3 }}high{{ else }}ok{{ end }})",
      {});
  ASSERT_TRUE(t.ok());
  Value dot = Data();
  EXPECT_EQ(*t->Execute(dot), "Instance host:9100 of node is at 0.50 (high)");
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(t->Execute(dot).ok());  // ~µs each
}

}  // namespace
}  // namespace pharos::alerting::tmpl
