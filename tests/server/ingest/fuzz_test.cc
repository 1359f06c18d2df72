// Robustness: random mutations of valid exposition text never crash, hang or read out of
// bounds (run under ASan in the asan preset). Deterministic seeds.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/ingest/textparse.h"

namespace pharos::ingest {
namespace {

// $PHAROS_CONFORMANCE_DIR overrides the directory chosen at configure time.
#ifdef PHAROS_CONFORMANCE_DIR
std::filesystem::path ConformanceDir() {
  if (const char* env = std::getenv("PHAROS_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return PHAROS_CONFORMANCE_DIR;
}
#endif

const char* const kSeeds[] = {
    "# HELP a Help \\n text\n# TYPE a counter\na_total{x=\"y\",z=\"\\\"q\\\\\"} 1 123\n"
    "{\"u.t.f\",\"k.k\"=\"v\"} NaN\n\n# comment\nb{le=\"1\"} +Inf -5\n",
    "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
    "# TYPE s summary\ns{quantile=\"0.9\"} 1e-3\ns_sum 1\ns_count 1\n",
    "# HELP foo A.\n# TYPE foo counter\n# UNIT foo_seconds seconds\n"
    "foo_total{a=\"b\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.123\n"
    "foo_created 1520430000.123\n# TYPE gh gaugehistogram\ngh_bucket{le=\"1\"} 2\n# EOF\n",
};

// Parses to the end or the first error; never more entries than bytes + 2.
void ParseToEnd(const std::string& body, ExpositionFormat f) {
  TextParser p(body, f);
  size_t guard = body.size() + 2;
  for (size_t i = 0; i <= guard; ++i) {
    absl::StatusOr<EntryType> e = p.Next();
    if (!e.ok()) {
      ASSERT_FALSE(e.status().message().empty());
      ASSERT_EQ(e.status().message().substr(0, 5), "line ") << e.status();
      return;
    }
    if (*e == EntryType::kEof) return;
    if (*e == EntryType::kSeries) {
      // Touch every view so ASan sees any dangling one.
      size_t n = 0;
      for (const Label& l : p.Labels()) n += l.name.size() + l.value.size();
      if (const Exemplar* x = p.GetExemplar()) {
        for (const Label& l : x->labels) n += l.name.size() + l.value.size();
      }
      (void)n;
      for (char c : p.Series()) (void)c;
    } else {
      for (char c : p.MetaName()) (void)c;
      for (char c : p.Help()) (void)c;
    }
  }
  FAIL() << "parser did not terminate";
}

std::string Mutate(const std::string& in, std::mt19937_64& rng) {
  static const char kAlphabet[] = "{}\"\\=, \t\n#_.:-+eE0123456789aINnf\r";
  std::string s = in;
  int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // replace
        if (!s.empty() && pos < s.size()) s[pos] = kAlphabet[rng() % (sizeof kAlphabet - 1)];
        break;
      case 1:  // insert
        s.insert(s.begin() + pos, kAlphabet[rng() % (sizeof kAlphabet - 1)]);
        break;
      case 2:  // delete
        if (pos < s.size()) s.erase(pos, 1 + rng() % 3);
        break;
      case 3:  // truncate
        s.resize(pos);
        break;
      case 4: {  // duplicate a chunk
        if (s.empty()) break;
        size_t from = rng() % s.size();
        size_t len = std::min<size_t>(1 + rng() % 16, s.size() - from);
        s.insert(pos, s.substr(from, len));
        break;
      }
      case 5:  // random byte
        if (pos < s.size()) s[pos] = static_cast<char>(rng() & 0xff);
        break;
    }
  }
  return s;
}

std::vector<std::string> Corpus() {
  std::vector<std::string> corpus(std::begin(kSeeds), std::end(kSeeds));
#ifdef PHAROS_CONFORMANCE_DIR
  namespace fs = std::filesystem;
  fs::path dir = ConformanceDir() / "exposition";
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      std::string name = entry.path().filename().string();
      if (name == "LICENSE" || name == "NOTICE" || name.find("protobuf") != std::string::npos) {
        continue;
      }
      std::ifstream f(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      std::string body = ss.str();
      if (body.size() > 8192) body.resize(8192);  // keep the mutation loop fast
      corpus.push_back(std::move(body));
    }
  }
#endif
  return corpus;
}

TEST(TextParseFuzzTest, MutationsNeverCrashOrHang) {
  std::vector<std::string> corpus = Corpus();
  std::mt19937_64 rng(20240601);
  int iterations = 0;
  for (const std::string& seed : corpus) {
    for (int i = 0; i < 1000; ++i) {
      std::string body = Mutate(seed, rng);
      ParseToEnd(body, ExpositionFormat::kPrometheusText);
      ParseToEnd(body, ExpositionFormat::kOpenMetrics);
      if (HasFatalFailure()) return;
      ++iterations;
    }
  }
  EXPECT_GT(iterations, 0);
}

TEST(TextParseFuzzTest, RandomBytes) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string body(rng() % 64, '\0');
    for (char& c : body) c = static_cast<char>(rng() & 0xff);
    ParseToEnd(body, ExpositionFormat::kPrometheusText);
    ParseToEnd(body, ExpositionFormat::kOpenMetrics);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace pharos::ingest
