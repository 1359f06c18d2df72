#include "alerting/rules/rulefmt.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace pharos::alerting::rules {
namespace {

std::string Err(std::string_view text, const ParseOptions& o = {}) {
  auto f = ParseRuleFile(text, "r.yml", o);
  return f.ok() ? "OK" : std::string(f.status().message());
}

TEST(RuleFmtTest, ParsesGroupsAndRules) {
  auto f = ParseRuleFile(R"(
groups:
  - name: g1
    interval: 30s
    limit: 3
    query_offset: 1m
    labels: {team: ops}
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {a: b}
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} down"}
  - name: g2
)", "r.yml");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->groups.size(), 2u);
  const GroupSpec& g = f->groups[0];
  EXPECT_EQ(g.name, "g1");
  EXPECT_EQ(g.interval_ms, 30000);
  EXPECT_EQ(g.limit, 3u);
  EXPECT_EQ(g.query_offset_ms, 60000);
  EXPECT_EQ(g.labels.at("team"), "ops");
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_EQ(g.rules[0].record, "job:up:sum");
  EXPECT_EQ(g.rules[0].labels.at("a"), "b");
  EXPECT_EQ(g.rules[1].alert, "Down");
  EXPECT_EQ(g.rules[1].for_ms, 300000);
  EXPECT_EQ(g.rules[1].keep_firing_for_ms, 60000);
  EXPECT_EQ(g.rules[1].annotations.at("summary"), "{{ $labels.instance }} down");
  EXPECT_EQ(f->groups[1].name, "g2");
  EXPECT_EQ(f->NumRules(), 2u);
}

TEST(RuleFmtTest, EmptyFileHasNoGroups) {
  auto f = ParseRuleFile("", "r.yml");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->groups.empty());
  EXPECT_EQ(Err("groups: []\n"), "OK");
}

TEST(RuleFmtTest, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(Err("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: rate(x)\n"),
            "r.yml:5:15: group \"a\", rule 1, \"x\": could not parse expression: 1:6: parse "
            "error: expected type range vector in call to function \"rate\", got instant vector");
  EXPECT_EQ(Err("groups:\n  - name: a\n    bogus: 1\n"),
            "r.yml:3:5: field bogus not found in type rulefmt.RuleGroup");
  EXPECT_EQ(Err("groups:\n  - name: a\n  - name: a\n"),
            "r.yml:3:5: groupname: \"a\" is repeated in the same file");
  EXPECT_EQ(Err("groups:\n  - name: ''\n"), "r.yml:2:5: Groupname must not be empty");
  EXPECT_EQ(Err("groups:\n  - name: a\n    interval: 5x\n"),
            "r.yml:3:15: \"interval\": not a valid duration string: \"5x\"")
      << "(message from ParseDurationMs)";
}

TEST(RuleFmtTest, RuleValidation) {
  auto rule = [](std::string_view body) {
    return Err("groups:\n  - name: a\n    rules:\n      - " + std::string(body));
  };
  EXPECT_NE(rule("record: a\n        alert: b\n        expr: '1'\n")
                .find("only one of 'record' and 'alert' must be set"), std::string::npos);
  EXPECT_NE(rule("expr: '1'\n").find("one of 'record' or 'alert' must be set"),
            std::string::npos);
  EXPECT_NE(rule("record: a\n").find("field 'expr' must be set in rule"), std::string::npos);
  EXPECT_NE(rule("record: a\n        expr: '1'\n        for: 1m\n")
                .find("r.yml:4:17: group \"a\", rule 1, \"a\": invalid field 'for' in recording rule"),
            std::string::npos);
  EXPECT_NE(rule("record: a\n        expr: '1'\n        annotations: {x: y}\n")
                .find("invalid field 'annotations' in recording rule"), std::string::npos);
  EXPECT_NE(rule("record: 'a{b=\"c\"}'\n        expr: '1'\n")
                .find("braces present in the recording rule name"), std::string::npos);
  EXPECT_NE(rule("record: a\n        expr: '1'\n        labels: {__name__: x}\n")
                .find("invalid label name: __name__"), std::string::npos);
  EXPECT_NE(rule("alert: a\n        expr: '1'\n        annotations: {s: '{{ $labels.x'}\n")
                .find("annotation \"s\": "), std::string::npos);
  EXPECT_NE(rule("alert: a\n        expr: '1'\n        labels: {s: '{{ $labels.x'}\n")
                .find("label \"s\": "), std::string::npos);
  EXPECT_EQ(rule("alert: a\n        expr: '1'\n        annotations: {ins-tance: x}\n"), "OK");
  ParseOptions legacy;
  legacy.legacy_names = true;
  EXPECT_NE(Err("groups:\n  - name: a\n    rules:\n      - alert: a\n        expr: '1'\n"
                "        annotations: {ins-tance: x}\n", legacy)
                .find("invalid annotation name: ins-tance"), std::string::npos);
  EXPECT_NE(rule("record: a\n        expr: '1'\n        bad: 1\n")
                .find("r.yml:6:9: field bad not found in type rulefmt.Rule"), std::string::npos);
}

TEST(RuleFmtTest, ReportsEveryErrorOnItsOwnLine) {
  std::string e = Err("groups:\n  - name: a\n    rules:\n      - record: x\n      - expr: '1'\n");
  EXPECT_EQ(e,
            "r.yml:4:9: group \"a\", rule 1, \"x\": field 'expr' must be set in rule\n"
            "r.yml:5:9: group \"a\", rule 2, \"\": one of 'record' or 'alert' must be set");
}

TEST(RuleFmtTest, MergeKeysAndAliases) {
  auto f = ParseRuleFile(R"(
groups:
  - name: a
    rules:
      - &base
        alert: A
        expr: up == 0
        for: 5m
        labels: {severity: critical}
      - <<: *base
        alert: B
)", "r.yml");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->groups[0].rules.size(), 2u);
  EXPECT_EQ(f->groups[0].rules[1].alert, "B");
  EXPECT_EQ(f->groups[0].rules[1].expr, "up == 0");
  EXPECT_EQ(f->groups[0].rules[1].for_ms, 300000);
}

TEST(RuleFmtTest, OnlyTheFirstDocumentIsRead) {
  auto f = ParseRuleFile("groups:\n  - name: a\n---\ngroups:\n  - name: b\n", "r.yml");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->groups.size(), 1u);
  EXPECT_EQ(f->groups[0].name, "a");
}

TEST(RuleFmtTest, GlobsRelativeToBaseDir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / "rulefmt_glob";
  fs::remove_all(dir);
  fs::create_directories(dir / "rules");
  for (const char* n : {"b.yml", "a.yml", "c.txt"}) {
    std::ofstream(dir / "rules" / n) << "groups:\n  - name: " << n << "\n";
  }
  auto files = ExpandRuleFileGlobs({"rules/*.yml", "rules/a.yml", "nothing/*.yml"}, dir.string());
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{(dir / "rules/a.yml").string(),
                                              (dir / "rules/b.yml").string()}));
  auto loaded = LoadRuleFiles({"rules/*.yml"}, dir.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[1].source, (dir / "rules/b.yml").string());
  EXPECT_EQ((*loaded)[1].groups[0].name, "b.yml");
  std::ofstream(dir / "rules" / "bad.yml") << "groups:\n  - nme: x\n";
  auto bad = LoadRuleFiles({"rules/*.yml"}, dir.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            (dir / "rules/bad.yml").string() + ":2:5: field nme not found in type rulefmt.RuleGroup");
}

}  // namespace
}  // namespace pharos::alerting::rules
