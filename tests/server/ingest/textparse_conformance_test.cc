// The exposition samples in conformance/exposition (Prometheus's textparse benchmark inputs and
// prometheus/common's expfmt corpus): valid files parse to the end; the expfmt corpus's invalid
// inputs are rejected with a line-numbered error.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <cmath>
#include <vector>

#include "common/metrics.h"
#include "gtest/gtest.h"
#include "storage/labels/labels.h"
#include "server/ingest/textparse.h"

namespace pharos::ingest {
namespace {

namespace fs = std::filesystem;

// $PHAROS_CONFORMANCE_DIR overrides the directory chosen at configure time.
std::filesystem::path ConformanceDir() {
  if (const char* env = std::getenv("PHAROS_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return PHAROS_CONFORMANCE_DIR;
}

fs::path ExpositionDir() { return ConformanceDir() / "exposition"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Counts {
  int series = 0, help = 0, type = 0, unit = 0, comment = 0, exemplars = 0;
};

absl::StatusOr<Counts> ParseFile(const std::string& body, ExpositionFormat f) {
  TextParser p(body, f);
  Counts c;
  while (true) {
    absl::StatusOr<EntryType> e = p.Next();
    if (!e.ok()) return e.status();
    switch (*e) {
      case EntryType::kEof: return c;
      case EntryType::kSeries:
        ++c.series;
        if (p.GetExemplar()) ++c.exemplars;
        break;
      case EntryType::kHelp: ++c.help; break;
      case EntryType::kType: ++c.type; break;
      case EntryType::kUnit: ++c.unit; break;
      case EntryType::kComment: ++c.comment; break;
    }
  }
}

#define SKIP_IF_NO_DATA()                                                      \
  do {                                                                         \
    if (!fs::is_directory(ExpositionDir())) {                                  \
      GTEST_SKIP() << "no conformance data at " << ExpositionDir();            \
    }                                                                          \
  } while (0)

TEST(TextParseConformanceTest, PrometheusTextparseInputs) {
  SKIP_IF_NO_DATA();
  // Minimum series counts: the files' sample lines (counted with grep -vc '^#').
  const std::map<std::string, int> files = {
      {"prometheus-textparse/alltypes.237mfs.prom.txt", 1800},
      {"prometheus-textparse/alltypes.237mfs.nometa.prom.txt", 1800},
      {"prometheus-textparse/alltypes.5mfs.om.txt", 50},
      {"prometheus-textparse/1histogram.om.txt", 40},
      {"prometheus-textparse-legacy/promtestdata.txt", 400},
      {"prometheus-textparse-legacy/promtestdata.nometa.txt", 400},
      {"common-expfmt/testdata/text", 240},
  };
  for (const auto& [name, min_series] : files) {
    fs::path path = ExpositionDir() / name;
    ASSERT_TRUE(fs::exists(path)) << path;
    std::string body = ReadFile(path);
    ExpositionFormat f = name.find(".om.") != std::string::npos ? ExpositionFormat::kOpenMetrics
                                                                : ExpositionFormat::kPrometheusText;
    absl::StatusOr<Counts> c = ParseFile(body, f);
    ASSERT_TRUE(c.ok()) << name << ": " << c.status();
    EXPECT_GE(c->series, min_series) << name;
    if (name.find("nometa") == std::string::npos) {
      EXPECT_GT(c->type, 0) << name;
    }
    // Every non-comment, non-blank line is a series.
    int lines = 0;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      size_t i = line.find_first_not_of(" \t");
      if (i != std::string::npos && line[i] != '#') ++lines;
    }
    EXPECT_EQ(c->series, lines) << name;
  }
}

// Why each of expfmt's invalid inputs is rejected. (from_test_parse_error_1, an unknown escape
// "\t", is kept as written by the text parser, as Prometheus's scraper does; the file fails
// for its missing final newline.)
const std::map<std::string, std::string> kExpectedErrors = {
      {"from_test_parse_error_0", "line 1: data does not end with a newline"},
      {"from_test_parse_error_1", "line 1: data does not end with a newline"},
      {"from_test_parse_error_10", "line 1: expected end of line after timestamp, got \"3\""},
      {"from_test_parse_error_11", "line 1: expected a number as value, got \"blubb\""},
      {"from_test_parse_error_12", "line 3: second HELP line for metric name \"metric\""},
      {"from_test_parse_error_13", "line 3: second TYPE line for metric name \"metric\""},
      {"from_test_parse_error_14", "line 3: TYPE line for metric name \"metric\" after its samples"},
      {"from_test_parse_error_15", "line 2: invalid metric type \"bla\""},
      {"from_test_parse_error_16", "line 2: expected space after metric name, got \"-ric\""},
      {"from_test_parse_error_17", "line 1: expected metric name or '{', got \"@invalidmetric{label=\\\"bla\\\"}\""},
      {"from_test_parse_error_18", "line 1: metric name missing in label set"},
      {"from_test_parse_error_19", "line 3: expected a number as le label value, got \"bla\""},
      {"from_test_parse_error_2", "line 2: expected closing '\"' of label value, got end of line"},
      {"from_test_parse_error_3", "line 1: expected label name or '}', got \"@=\\\"bla\\\"}\""},
      {"from_test_parse_error_4", "line 1: metric name set twice"},
      {"from_test_parse_error_5", "line 1: expected '=' after label name, got \"+=\\\"bla\\\"}\""},
      {"from_test_parse_error_6", "line 1: expected label value, got \"bla}\""},
      {"from_test_parse_error_7", "line 3: expected a number as quantile label value, got \"bla\""},
      {"from_test_parse_error_8", "line 1: expected ',' or '}' after label value, got \"+}\""},
      {"from_test_parse_error_9", "line 1: expected an integer timestamp in milliseconds, got \"2.72\""},

};

// One sample as parsed, owning its strings.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  std::optional<int64_t> ts;
};

absl::StatusOr<std::vector<Sample>> Samples(const std::string& body, ExpositionFormat f,
                                            std::string* text_out) {
  TextParser p(body, f);
  std::vector<Sample> out;
  while (true) {
    absl::StatusOr<EntryType> e = p.Next();
    if (!e.ok()) return e.status();
    if (*e == EntryType::kEof) return out;
    if (*e == EntryType::kType && text_out != nullptr) {
      MetricType t = p.Type();
      if (t == MetricType::kCounter || t == MetricType::kGauge || t == MetricType::kHistogram ||
          t == MetricType::kSummary || t == MetricType::kUntyped) {
        *text_out += "# TYPE " + std::string(p.MetaName()) + " " +
                     std::string(MetricTypeName(t)) + "\n";
      }
    }
    if (*e != EntryType::kSeries) continue;
    Sample s{{}, p.Value(), p.TimestampMs()};
    for (const Label& l : p.Labels()) s.labels.emplace_back(l.name, l.value);
    if (text_out != nullptr) {
      // Re-expose in the text format.
      std::string& t = *text_out;
      std::string_view name = p.MetricName();
      bool legacy = IsValidLegacyMetricName(name);
      if (legacy) t += name;
      t += "{";
      if (!legacy) AppendQuoted(t, name);
      bool first = legacy;
      for (const Label& l : p.Labels().subspan(1)) {
        if (!first) t += ",";
        first = false;
        if (IsValidLegacyLabelName(l.name)) {
          t += l.name;
        } else {
          AppendQuoted(t, l.name);
        }
        t += "=\"";
        AppendEscapedLabelValue(&t, l.value);
        t += "\"";
      }
      t += "} ";
      AppendFloat(&t, p.Value());
      if (p.TimestampMs()) t += " " + std::to_string(*p.TimestampMs());
      t += "\n";
    }
    out.push_back(std::move(s));
  }
}

// Parse, write back in the text format, parse again: the same samples.
TEST(TextParseConformanceTest, RoundTrip) {
  SKIP_IF_NO_DATA();
  for (const char* name :
       {"prometheus-textparse/alltypes.237mfs.prom.txt", "prometheus-textparse/alltypes.5mfs.om.txt",
        "prometheus-textparse/1histogram.om.txt", "prometheus-textparse-legacy/promtestdata.txt",
        "common-expfmt/testdata/text"}) {
    std::string body = ReadFile(ExpositionDir() / name);
    ExpositionFormat f = std::string(name).find(".om.") != std::string::npos
                             ? ExpositionFormat::kOpenMetrics
                             : ExpositionFormat::kPrometheusText;
    std::string text;
    absl::StatusOr<std::vector<Sample>> a = Samples(body, f, &text);
    ASSERT_TRUE(a.ok()) << name << ": " << a.status();
    absl::StatusOr<std::vector<Sample>> b = Samples(text, ExpositionFormat::kPrometheusText, nullptr);
    ASSERT_TRUE(b.ok()) << name << ": " << b.status();
    ASSERT_EQ(a->size(), b->size()) << name;
    for (size_t i = 0; i < a->size(); ++i) {
      const Sample& x = (*a)[i];
      const Sample& y = (*b)[i];
      EXPECT_EQ(x.labels, y.labels) << name << " sample " << i;
      EXPECT_TRUE(x.value == y.value || (std::isnan(x.value) && std::isnan(y.value)))
          << name << " sample " << i;
      EXPECT_EQ(x.ts, y.ts) << name << " sample " << i;
    }
  }
}

TEST(TextParseConformanceTest, ExpfmtFuzzCorpus) {
  SKIP_IF_NO_DATA();
  fs::path dir = ExpositionDir() / "common-expfmt" / "fuzz-corpus";
  int good = 0, bad = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    std::string body = ReadFile(entry.path());
    absl::StatusOr<Counts> c = ParseFile(body, ExpositionFormat::kPrometheusText);
    if (name.find("error") != std::string::npos) {
      ++bad;
      ASSERT_FALSE(c.ok()) << name << " parsed, but expfmt rejects it";
      auto it = kExpectedErrors.find(name);
      ASSERT_NE(it, kExpectedErrors.end()) << name;
      EXPECT_EQ(std::string(c.status().message()), it->second) << name;
    } else {
      ++good;
      EXPECT_TRUE(c.ok()) << name << ": " << c.status();
    }
    // The OpenMetrics parser must not crash on any of them either.
    (void)ParseFile(body, ExpositionFormat::kOpenMetrics);
  }
  EXPECT_EQ(good, 6);
  EXPECT_EQ(bad, 20);
}

}  // namespace
}  // namespace pharos::ingest
