// Parses the expression of every `eval` in the upstream PromQL test scripts
// (conformance/promql/*.test, see conformance/README.md section 1). An eval that is not
// expected to fail must parse with experimental syntax enabled, and its canonical form must
// parse back to the same canonical form.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "query/parser/parser.h"
#include "query/parser/printer.h"

namespace pharos::promql {
namespace {

struct EvalCase {
  std::string file;
  int line = 0;
  std::string expr;
  bool expect_fail = false;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Splits off `n` whitespace-separated words and returns the rest of the line.
std::string SkipWords(const std::string& line, int n) {
  size_t pos = 0;
  for (int i = 0; i < n; ++i) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string::npos) return "";
    pos = line.find_first_of(" \t", pos);
    if (pos == std::string::npos) return "";
  }
  return Trim(line.substr(pos));
}

std::vector<EvalCase> LoadCases(const std::filesystem::path& dir) {
  std::vector<EvalCase> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      if (l.rfind("eval", 0) != 0) continue;
      EvalCase c;
      c.file = path.filename().string();
      c.line = static_cast<int>(i + 1);
      c.expect_fail = l.rfind("eval_fail", 0) == 0;
      // eval[_x] instant at <t> <expr> | eval[_x] range from <a> to <b> step <s> <expr>
      std::string kind = SkipWords(l, 1);
      if (kind.rfind("instant", 0) == 0) {
        c.expr = SkipWords(l, 4);
      } else {
        c.expr = SkipWords(l, 8);
      }
      for (size_t j = i + 1; j < lines.size(); ++j) {
        std::string body = Trim(lines[j]);
        if (body.empty()) break;
        if (body.rfind("expect fail", 0) == 0) c.expect_fail = true;
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

TEST(ConformanceParseTest, EveryEvalExpressionParses) {
  const char* env = std::getenv("PHAROS_PROMQL_CONFORMANCE_DIR");
  std::filesystem::path dir = env != nullptr ? env : PHAROS_PROMQL_CONFORMANCE_DIR;
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no conformance dir at " << dir;
  std::vector<EvalCase> cases = LoadCases(dir);
  ASSERT_GT(cases.size(), 2000u);

  ParserOptions options;
  options.enable_experimental = true;
  int parsed = 0, failed = 0, expected_fail = 0, expected_fail_at_parse = 0, unstable = 0;
  for (const EvalCase& c : cases) {
    absl::StatusOr<ExprPtr> expr = ParseExpr(c.expr, options);
    if (c.expect_fail) {
      ++expected_fail;
      if (!expr.ok()) ++expected_fail_at_parse;
      continue;
    }
    if (!expr.ok()) {
      ++failed;
      ADD_FAILURE() << c.file << ":" << c.line << ": " << c.expr << "\n  " << expr.status().message();
      continue;
    }
    ++parsed;
    std::string printed = Format(**expr);
    absl::StatusOr<ExprPtr> again = ParseExpr(printed, options);
    if (!again.ok() || Format(**again) != printed) {
      ++unstable;
      ADD_FAILURE() << c.file << ":" << c.line << ": " << c.expr << "\n  printed: " << printed
                    << "\n  reparsed: "
                    << (again.ok() ? Format(**again) : std::string(again.status().message()));
    }
  }
  std::printf("conformance: %zu evals; %d parsed, %d failed to parse, %d unstable round trips; "
              "%d expected to fail (%d of them at parse time)\n",
              cases.size(), parsed, failed, unstable, expected_fail, expected_fail_at_parse);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(unstable, 0);
}

// conformance/compliance-queries-public.yml: `- query: '<yaml single-quoted>'`, optionally
// followed by `should_fail: true`. These use stock (non-experimental) PromQL.
TEST(ConformanceParseTest, ComplianceQueriesParse) {
  const char* env = std::getenv("PHAROS_PROMQL_CONFORMANCE_DIR");
  std::filesystem::path dir = env != nullptr ? env : PHAROS_PROMQL_CONFORMANCE_DIR;
  std::filesystem::path file = dir.parent_path() / "compliance-queries-public.yml";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no " << file;
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const std::string prefix = "- query: '";
  int total = 0, parsed = 0, should_fail = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string l = Trim(lines[i]);
    if (l.rfind(prefix, 0) != 0 || l.back() != '\'') continue;
    std::string raw = l.substr(prefix.size(), l.size() - prefix.size() - 1);
    std::string q;
    for (size_t k = 0; k < raw.size(); ++k) {
      q.push_back(raw[k]);
      if (raw[k] == '\'' && k + 1 < raw.size() && raw[k + 1] == '\'') ++k;  // YAML '' escape
    }
    ++total;
    if (i + 1 < lines.size() && Trim(lines[i + 1]) == "should_fail: true") {
      ++should_fail;
      continue;
    }
    absl::StatusOr<ExprPtr> expr = ParseExpr(q);
    if (!expr.ok()) {
      ADD_FAILURE() << q << "\n  " << expr.status().message();
      continue;
    }
    ++parsed;
    EXPECT_EQ(Format(**ParseExpr(Format(**expr))), Format(**expr)) << q;
  }
  std::printf("compliance: %d queries; %d parsed, %d should fail (not checked)\n", total, parsed,
              should_fail);
  EXPECT_GT(total, 300);
  EXPECT_EQ(parsed + should_fail, total);
}

}  // namespace
}  // namespace pharos::promql
