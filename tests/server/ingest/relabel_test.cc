#include "server/ingest/relabel.h"

#include <re2/re2.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/internal/md5.h"

namespace pharos::ingest {
namespace {

using config::RelabelConfig;

RelabelConfig Cfg(std::vector<std::string> source, std::string regex, std::string target,
                  std::string replacement, std::string action) {
  RelabelConfig c;
  c.source_labels = std::move(source);
  c.regex = std::move(regex);
  c.target_label = std::move(target);
  c.replacement = std::move(replacement);
  c.action = std::move(action);
  return c;
}

std::vector<CompiledRelabel> MustCompile(std::vector<RelabelConfig> cfgs) {
  absl::StatusOr<std::vector<CompiledRelabel>> r = CompileAll(cfgs);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<CompiledRelabel>{};
}

// "dropped" or the resulting label set's String().
std::string Apply(const Labels& in, std::vector<RelabelConfig> cfgs) {
  std::vector<CompiledRelabel> rules = MustCompile(std::move(cfgs));
  std::optional<Labels> out = Process(in, rules);
  return out ? out->String() : "dropped";
}

const Labels kFooBarBaz = Labels::FromStrings({"a", "foo", "b", "bar", "c", "baz"});

// Cases follow Prometheus's model/relabel/relabel_test.go.
TEST(RelabelTest, ReplaceWithGroups) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "f(.*)", "d", "ch${1}-ch${1}", "replace")}),
            R"({a="foo", b="bar", c="baz", d="choo-choo"})");
}

TEST(RelabelTest, ReplaceChained) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a", "b"}, "f(.*);(.*)r", "a", "b${1}${2}m", "replace"),
                             Cfg({"c", "a"}, "(b).*b(.*)ba(.*)", "d", "$1$2$2$3", "replace")}),
            R"({a="boobam", b="bar", c="baz", d="boooom"})");
}

TEST(RelabelTest, ReplaceNoMatchLeavesLabels) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "f", "d", "$1", "replace")}),
            R"({a="foo", b="bar", c="baz"})");
}

TEST(RelabelTest, ReplaceEmptyResultDeletes) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "(f).*", "b", "${2}", "replace")}),
            R"({a="foo", c="baz"})");
  // Source label missing: value "" matches (.*), replacement $1 is empty: target deleted.
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"missing"}, "(.*)", "c", "$1", "replace")}),
            R"({a="foo", b="bar"})");
}

TEST(RelabelTest, ReplaceFastPathAddsLabel) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({}, "(.*)", "new", "value", "replace")}),
            R"({a="foo", b="bar", c="baz", new="value"})");
}

TEST(RelabelTest, ReplaceTargetTemplate) {
  Labels in = Labels::FromStrings({"a", "some-name-value"});
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "some-([^-]+)-([^,]+)", "${1}", "${2}", "replace")}),
            R"({a="some-name-value", name="value"})");
  // A target that expands to an empty (invalid) name is skipped.
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "some-([^-]+)-([^,]+)", "${3}", "${2}", "replace")}),
            R"({a="some-name-value"})");
  // Named groups.
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "some-(?P<k>[^-]+)-(?P<v>.+)", "$k", "$v!", "replace")}),
            R"({a="some-name-value", name="value!"})");
}

TEST(RelabelTest, RegexDotMatchesNewlineAndIsAnchored) {
  Labels in = Labels::FromStrings({"a", "x\ny"});
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "x.y", "", "$1", "keep")}), R"({a="x\ny"})");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "o", "", "$1", "keep")}), "dropped");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "f|o", "", "$1", "drop")}), R"({a="foo", b="bar", c="baz"})");
}

TEST(RelabelTest, KeepAndDrop) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, ".*o.*", "", "$1", "drop")}), "dropped");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "no-match", "", "$1", "drop")}),
            R"({a="foo", b="bar", c="baz"})");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "no-match", "", "$1", "keep")}), "dropped");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"a"}, "f.*", "", "$1", "keep")}),
            R"({a="foo", b="bar", c="baz"})");
  // Joined with the separator.
  RelabelConfig c = Cfg({"a", "b"}, "foo-bar", "", "$1", "keep");
  c.separator = "-";
  EXPECT_EQ(Apply(kFooBarBaz, {c}), R"({a="foo", b="bar", c="baz"})");
  // keep on a missing label: "" does not match "f.*".
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({"zzz"}, "f.*", "", "$1", "keep")}), "dropped");
}

TEST(RelabelTest, KeepEqualDropEqual) {
  Labels in = Labels::FromStrings({"a", "foo", "b", "foo", "c", "bar"});
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "(.*)", "b", "$1", "keepequal")}),
            R"({a="foo", b="foo", c="bar"})");
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "(.*)", "c", "$1", "keepequal")}), "dropped");
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "(.*)", "b", "$1", "dropequal")}), "dropped");
  EXPECT_EQ(Apply(in, {Cfg({"a"}, "(.*)", "c", "$1", "dropequal")}),
            R"({a="foo", b="foo", c="bar"})");
}

TEST(RelabelTest, HashModMatchesPrometheus) {
  // relabel_test.go: md5("baz") mod 1000 = 976.
  RelabelConfig c = Cfg({"c"}, "(.*)", "d", "$1", "hashmod");
  c.modulus = 1000;
  EXPECT_EQ(Apply(kFooBarBaz, {c}), R"({a="foo", b="bar", c="baz", d="976"})");
  // Joined sources: md5("foo;bar") -> 750.
  c = Cfg({"a", "b"}, "(.*)", "shard", "$1", "hashmod");
  c.modulus = 1000;
  EXPECT_EQ(Apply(kFooBarBaz, {c}), R"({a="foo", b="bar", c="baz", shard="750"})");
}

TEST(RelabelTest, Md5Vectors) {
  auto hex = [](std::string_view s) {
    std::array<uint8_t, 16> d = internal::Md5(s);
    static const char* k = "0123456789abcdef";
    std::string out;
    for (uint8_t b : d) {
      out.push_back(k[b >> 4]);
      out.push_back(k[b & 15]);
    }
    return out;
  };
  // RFC 1321 test suite.
  EXPECT_EQ(hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(hex("1234567890123456789012345678901234567890123456789012345678901234567890"
                "1234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(RelabelTest, LabelMap) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({}, "(b.*)", "", "${1}_new", "labelmap")}),
            R"({a="foo", b="bar", b_new="bar", c="baz"})");
  Labels meta = Labels::FromStrings(
      {"__meta_my_bar", "aaa", "__meta_my_baz", "bbb", "__meta_other", "ccc"});
  EXPECT_EQ(Apply(meta, {Cfg({}, "__meta_(my.*)", "", "${1}", "labelmap")}),
            R"({__meta_my_bar="aaa", __meta_my_baz="bbb", __meta_other="ccc", my_bar="aaa", my_baz="bbb"})");
}

TEST(RelabelTest, LabelDropAndKeep) {
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({}, "(b|c)", "", "$1", "labeldrop")}), R"({a="foo"})");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({}, "(b|c)", "", "$1", "labelkeep")}),
            R"({b="bar", c="baz"})");
  EXPECT_EQ(Apply(kFooBarBaz, {Cfg({}, "b", "", "$1", "labeldrop")}), R"({a="foo", c="baz"})");
}

TEST(RelabelTest, LowercaseUppercase) {
  Labels in = Labels::FromStrings({"foo", "bAr123Foo"});
  EXPECT_EQ(Apply(in, {Cfg({"foo"}, "(.*)", "foo_uppercase", "$1", "uppercase"),
                     Cfg({"foo"}, "(.*)", "foo_lowercase", "$1", "lowercase")}),
            R"({foo="bAr123Foo", foo_lowercase="bar123foo", foo_uppercase="BAR123FOO"})");
}

TEST(RelabelTest, LowercaseUppercaseUnicode) {
  Labels in = Labels::FromStrings({"v", "ÄÖÜ Straße Привет ΣΑΣ"});
  EXPECT_EQ(Apply(in, {Cfg({"v"}, "(.*)", "lo", "$1", "lowercase"),
                       Cfg({"v"}, "(.*)", "up", "$1", "uppercase")}),
            R"({lo="äöü straße привет σασ", up="ÄÖÜ STRAßE ПРИВЕТ ΣΑΣ", v="ÄÖÜ Straße Привет ΣΑΣ"})");
}

TEST(RelabelTest, BuilderInterfaceReportsDrop) {
  std::vector<CompiledRelabel> rules =
      MustCompile({Cfg({"__name__"}, "go_.*", "", "$1", "drop")});
  LabelsBuilder lb(Labels::FromStrings({"__name__", "go_goroutines"}));
  EXPECT_FALSE(Relabel(rules, lb));
  LabelsBuilder lb2(Labels::FromStrings({"__name__", "up"}));
  EXPECT_TRUE(Relabel(rules, lb2));
  EXPECT_EQ(lb2.Labels().String(), R"({__name__="up"})");
  EXPECT_TRUE(Relabel({}, lb2));
}

TEST(RelabelTest, ExpandTemplateFollowsGo) {
  RE2 re("^(?s:(?P<first>f)(o+))$");
  std::string_view groups[] = {"foo", "f", "oo"};
  auto expand = [&](std::string_view t) {
    std::string out;
    ExpandTemplate(ParseTemplate(t, re), groups, &out);
    return out;
  };
  EXPECT_EQ(expand("$1"), "f");
  EXPECT_EQ(expand("${1}x"), "fx");
  EXPECT_EQ(expand("$1x"), "");  // ${1x}: no such group
  EXPECT_EQ(expand("$$1"), "$1");
  EXPECT_EQ(expand("a$"), "a$");
  EXPECT_EQ(expand("${1"), "${1");
  EXPECT_EQ(expand("$-"), "$-");
  EXPECT_EQ(expand("${first}-$2-$0"), "f-oo-foo");
  EXPECT_EQ(expand("$9"), "");
  EXPECT_EQ(expand("$01"), "");  // leading zero: a name, not a number
  EXPECT_EQ(expand("no vars"), "no vars");
  EXPECT_EQ(expand(""), "");
}

TEST(RelabelTest, CompileErrors) {
  auto err = [](RelabelConfig c) {
    absl::StatusOr<CompiledRelabel> r = Compile(c);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "d", "$1", "")), "relabel action cannot be empty");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "d", "$1", "explode")), "unknown relabel action \"explode\"");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "d", "$1", "hashmod")),
            "relabel configuration for hashmod requires non-zero modulus");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "", "$1", "replace")),
            "relabel configuration for replace action requires 'target_label' value");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "x", "y", "lowercase")),
            "'replacement' can not be set for lowercase action");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "", "$1", "labeldrop")),
            "labeldrop action requires only 'regex', and no other fields");
  EXPECT_EQ(err(Cfg({"a"}, "a.*", "b", "$1", "keepequal")),
            "keepequal action requires only 'source_labels' and `target_label`, and no other "
            "fields");
  EXPECT_EQ(err(Cfg({"a"}, "(", "d", "$1", "replace")).substr(0, 30),
            "invalid regular expression \"(\"");
  EXPECT_EQ(err(Cfg({"a"}, "(.*)", "d", "$1", "Replace")), "ok");  // case-insensitive
  std::vector<RelabelConfig> cfgs = {Cfg({"a"}, "(.*)", "d", "$1", "replace"),
                                     Cfg({"a"}, "(.*)", "", "$1", "uppercase")};
  absl::StatusOr<std::vector<CompiledRelabel>> all = CompileAll(cfgs);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(std::string(all.status().message()),
            "relabel config #2: relabel configuration for uppercase action requires "
            "'target_label' value");
}

}  // namespace
}  // namespace pharos::ingest
