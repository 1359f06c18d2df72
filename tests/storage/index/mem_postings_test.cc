#include "storage/index/mem_postings.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<SeriesRef> Expand(PostingsPtr p) {
  auto r = ExpandPostings(*p);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<SeriesRef>{};
}

Matcher M(MatchType t, std::string_view n, std::string_view v) { return Matcher::MustMake(t, n, v); }
constexpr MatchType kEq = MatchType::kEqual, kNe = MatchType::kNotEqual,
                    kRe = MatchType::kRegexMatch, kNre = MatchType::kRegexNoMatch;

class MemPostingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ix_.Add(1, Labels::FromStrings({"__name__", "up", "job", "api", "env", "prod"}));
    ix_.Add(2, Labels::FromStrings({"__name__", "up", "job", "db"}));
    ix_.Add(3, Labels::FromStrings({"__name__", "http", "job", "api", "env", "dev"}));
    ix_.Add(4, Labels::FromStrings({"__name__", "http", "job", "api_2"}));
  }
  std::vector<SeriesRef> Select(std::vector<Matcher> ms) {
    return Expand(ix_.PostingsForMatchers(ms));
  }
  MemPostings ix_;
};

TEST_F(MemPostingsTest, Lookups) {
  EXPECT_THAT(Expand(ix_.Get("job", "api")), ElementsAre(1, 3));
  EXPECT_THAT(Expand(ix_.Get("job", "nope")), IsEmpty());
  EXPECT_THAT(Expand(ix_.All()), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(ix_.LabelNames(), ElementsAre("__name__", "env", "job"));
  EXPECT_THAT(ix_.LabelValues("job"), ElementsAre("api", "api_2", "db"));
  EXPECT_THAT(ix_.LabelValues("missing"), IsEmpty());
  EXPECT_EQ(ix_.NumSeries(), 4u);
  ix_.Add(1, Labels::FromStrings({"__name__", "up", "job", "api", "env", "prod"}));  // no-op
  EXPECT_EQ(ix_.NumSeries(), 4u);
}

TEST_F(MemPostingsTest, PrometheusSemantics) {
  EXPECT_THAT(Select({M(kEq, "job", "api")}), ElementsAre(1, 3));
  EXPECT_THAT(Select({M(kEq, "env", "")}), ElementsAre(2, 4));  // label absent
  EXPECT_THAT(Select({M(kNe, "env", "prod")}), ElementsAre(2, 3, 4));
  EXPECT_THAT(Select({M(kNe, "env", "")}), ElementsAre(1, 3));
  EXPECT_THAT(Select({M(kRe, "env", ".*")}), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(Select({M(kRe, "env", ".+")}), ElementsAre(1, 3));
  EXPECT_THAT(Select({M(kRe, "env", "dev|")}), ElementsAre(2, 3, 4));
  EXPECT_THAT(Select({M(kNre, "env", ".*")}), IsEmpty());
  EXPECT_THAT(Select({M(kRe, "job", "api.*")}), ElementsAre(1, 3, 4));
  EXPECT_THAT(Select({M(kRe, "job", "api_[0-9]")}), ElementsAre(4));
  EXPECT_THAT(Select({M(kEq, "__name__", "up"), M(kNre, "job", "a.*")}), ElementsAre(2));
  EXPECT_THAT(Select({M(kEq, "missing", "")}), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(Select({M(kEq, "missing", "x")}), IsEmpty());
  EXPECT_THAT(Select({}), IsEmpty());
}

TEST_F(MemPostingsTest, DeleteAndStats) {
  IndexStats st = ix_.Stats(2);
  EXPECT_EQ(st.num_series, 4u);
  EXPECT_EQ(st.num_label_names, 3u);
  EXPECT_EQ(st.num_label_pairs, 7u);
  ASSERT_EQ(st.series_count_by_metric_name.size(), 2u);
  EXPECT_EQ(st.series_count_by_metric_name[0].name, "http");  // tie broken by name
  EXPECT_EQ(st.series_count_by_metric_name[0].value, 2u);
  ASSERT_EQ(st.label_value_count_by_label_name.size(), 2u);
  EXPECT_EQ(st.label_value_count_by_label_name[0].name, "job");
  EXPECT_EQ(st.series_count_by_label_value_pair[0].name, "__name__=http");
  EXPECT_GT(ix_.MemoryBytes(), 0u);

  ix_.Delete(2, Labels::FromStrings({"__name__", "up", "job", "db"}));
  EXPECT_THAT(ix_.LabelValues("job"), ElementsAre("api", "api_2"));
  ix_.Delete(absl::flat_hash_set<SeriesRef>{1, 3});
  EXPECT_THAT(Expand(ix_.All()), ElementsAre(4));
  EXPECT_THAT(ix_.LabelNames(), ElementsAre("__name__", "job"));
  EXPECT_THAT(Select({M(kRe, "job", ".+")}), ElementsAre(4));
}

// Series whose labels come from small alphabets, so random matchers hit often.
std::vector<Labels> RandomSeries(std::mt19937_64& rng, int n) {
  const std::vector<std::string> names = {"__name__", "a", "b", "c", "d"};
  const std::vector<std::string> values = {"v1", "v2", "v3", "foo", "foobar", "x\ny", "é"};
  std::vector<Labels> out;
  for (int i = 0; i < n; ++i) {
    std::vector<Label> ls;
    for (const std::string& name : names) {
      if (rng() % 3 != 0) ls.push_back(Label{name, values[rng() % values.size()]});
    }
    out.emplace_back(ls);
  }
  return out;
}

Matcher RandomMatcher(std::mt19937_64& rng) {
  const std::vector<std::string> names = {"__name__", "a", "b", "c", "d", "missing"};
  const std::vector<std::string> eq_values = {"", "v1", "v2", "foo", "nope", "é"};
  const std::vector<std::string> re_values = {
      "",   ".*",   ".+",  "v1|v2", "v.*",   "foo.*", ".*bar", "v[12]", "x|", "v1|",
      "fo+", "(?s)x.y", ".*o.*", "nope|v3", "é|foo", "v1", "[^v].*", "x.y"};
  const auto type = static_cast<MatchType>(rng() % 4);
  const std::string& name = names[rng() % names.size()];
  const bool regex = type == kRe || type == kNre;
  const std::string& value =
      regex ? re_values[rng() % re_values.size()] : eq_values[rng() % eq_values.size()];
  return M(type, name, value);
}

std::vector<SeriesRef> BruteForce(const std::vector<Labels>& series,
                                  const std::vector<bool>& alive,
                                  const std::vector<Matcher>& ms) {
  std::vector<SeriesRef> out;
  if (ms.empty()) return out;
  for (size_t i = 0; i < series.size(); ++i) {
    if (!alive[i]) continue;
    bool ok = true;
    for (const Matcher& m : ms) ok = ok && m.Matches(series[i].Get(m.name()));
    if (ok) out.push_back(i);
  }
  return out;
}

std::string Describe(const std::vector<Matcher>& ms) {
  std::string s = "{";
  for (const Matcher& m : ms) s += m.String() + ", ";
  return s + "}";
}

// Param: distance between consecutive refs (1 = dense, large = sparse: other code paths).
class MemPostingsRandomTest : public ::testing::TestWithParam<SeriesRef> {};

TEST_P(MemPostingsRandomTest, PostingsForMatchersEqualsBruteForce) {
  const SeriesRef stride = GetParam();
  std::mt19937_64 rng(1234 + stride);
  const std::vector<Labels> series = RandomSeries(rng, 3000);
  std::vector<bool> alive(series.size(), true);
  MemPostings ix;
  // Insert in a shuffled order to exercise out-of-order ref insertion.
  std::vector<size_t> order(series.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i : order) ix.Add(i * stride, series[i]);

  auto check_all = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      std::vector<Matcher> ms;
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < n; ++k) ms.push_back(RandomMatcher(rng));
      std::vector<SeriesRef> want = BruteForce(series, alive, ms);
      for (SeriesRef& r : want) r *= stride;
      ASSERT_EQ(Expand(ix.PostingsForMatchers(ms)), want) << Describe(ms);
    }
  };
  check_all(2000);

  // Delete a third of the series (both ways) and check again.
  absl::flat_hash_set<SeriesRef> bulk;
  for (size_t i = 0; i < series.size(); ++i) {
    if (i % 3 == 0) {
      alive[i] = false;
      if (i % 2 == 0) {
        ix.Delete(i * stride, series[i]);
      } else {
        bulk.insert(i * stride);
      }
    }
  }
  ix.Delete(bulk);
  check_all(1000);

  size_t n_alive = 0;
  for (bool a : alive) n_alive += a;
  EXPECT_EQ(ix.NumSeries(), n_alive);
}

INSTANTIATE_TEST_SUITE_P(Strides, MemPostingsRandomTest,
                         ::testing::Values(SeriesRef{1}, SeriesRef{7}, SeriesRef{1'000'003}));

TEST(MemPostingsConcurrencyTest, AddsWhileReading) {
  MemPostings ix;
  constexpr int kWriters = 3, kPerWriter = 3000;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        const SeriesRef ref = static_cast<SeriesRef>(i * kWriters + w);
        ix.Add(ref, Labels::FromStrings({"__name__", "m", "w", std::to_string(w), "i",
                                         std::to_string(i % 100)}));
      }
    });
  }
  std::thread reader([&] {
    const std::vector<Matcher> ms = {M(kEq, "__name__", "m"), M(kRe, "i", "1.*"),
                                     M(kNe, "w", "0")};
    size_t last = 0;
    while (!done.load()) {
      const std::vector<SeriesRef> got = Expand(ix.PostingsForMatchers(ms));
      ASSERT_TRUE(std::is_sorted(got.begin(), got.end()));
      ASSERT_GE(got.size(), last);  // only adds: results never shrink
      last = got.size();
      (void)ix.LabelValues("i");
      (void)ix.Stats(3);
    }
  });
  for (auto& t : threads) t.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(ix.NumSeries(), static_cast<size_t>(kWriters * kPerWriter));
  // i=~"1.*" -> 1, 10..19 => 11 of 100 values; w != 0 -> 2 of 3 writers.
  const std::vector<Matcher> ms = {M(kEq, "__name__", "m"), M(kRe, "i", "1.*"),
                                   M(kNe, "w", "0")};
  EXPECT_EQ(Expand(ix.PostingsForMatchers(ms)).size(), 2u * 30 * 11);
}

}  // namespace
}  // namespace pharos::storage
