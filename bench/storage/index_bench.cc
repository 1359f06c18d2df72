// Postings set operations, matcher evaluation and PostingsForMatchers over 100k series.
//   build/release/bench/storage/index_bench --benchmark_min_time=0.2

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/index/mem_postings.h"
#include "storage/index/postings.h"
#include "storage/labels/labels.h"
#include "storage/labels/matcher.h"

namespace pharos::storage {
namespace {

std::vector<SeriesRef> EveryNth(SeriesRef n, SeriesRef limit) {
  std::vector<SeriesRef> v;
  for (SeriesRef r = 0; r < limit; r += n) v.push_back(r);
  return v;
}

// Two large lists, dense and overlapping (every 2nd and every 3rd of 0..2M).
void BM_IntersectLarge(benchmark::State& state) {
  const auto a = EveryNth(2, 2'000'000), b = EveryNth(3, 2'000'000);
  for (auto _ : state) {
    std::vector<PostingsPtr> its;
    its.push_back(NewListPostings(a));
    its.push_back(NewListPostings(b));
    auto p = Intersect(std::move(its));
    size_t n = 0;
    while (p->Next()) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(a.size() + b.size()));
}
BENCHMARK(BM_IntersectLarge)->Unit(benchmark::kMillisecond);

// A small list against a large one: Seek gallops, cost ~ small * log(large / small).
void BM_IntersectSmallLarge(benchmark::State& state) {
  const auto small = EveryNth(1000, 2'000'000), large = EveryNth(2, 2'000'000);
  for (auto _ : state) {
    std::vector<PostingsPtr> its;
    its.push_back(NewListPostings(small));
    its.push_back(NewListPostings(large));
    auto p = Intersect(std::move(its));
    size_t n = 0;
    while (p->Next()) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(small.size()));
}
BENCHMARK(BM_IntersectSmallLarge)->Unit(benchmark::kMicrosecond);

// k-way union of k lists of 1M/k refs each.
void BM_MergeK(benchmark::State& state) {
  const auto k = static_cast<SeriesRef>(state.range(0));
  std::vector<std::vector<SeriesRef>> lists(k);
  for (SeriesRef r = 0; r < 1'000'000; ++r) lists[r % k].push_back(r);
  for (auto _ : state) {
    std::vector<PostingsPtr> its;
    for (const auto& l : lists) its.push_back(NewListPostings(l));
    auto p = Merge(std::move(its));
    size_t n = 0;
    while (p->Next()) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * 1'000'000);
}
BENCHMARK(BM_MergeK)->Arg(2)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond);

std::vector<std::string> MatcherInputs() {
  std::mt19937_64 rng(1);
  std::vector<std::string> v;
  const char* kPrefixes[] = {"api-", "db-", "web-", "cache-", "node-exporter-"};
  for (int i = 0; i < 1000; ++i) {
    v.push_back(std::string(kPrefixes[rng() % 5]) + std::to_string(rng() % 100000) + ".svc");
  }
  return v;
}

void BM_Matcher(benchmark::State& state, MatchType type, const char* pattern) {
  const Matcher m = Matcher::MustMake(type, "l", pattern);
  const std::vector<std::string> inputs = MatcherInputs();
  for (auto _ : state) {
    size_t n = 0;
    for (const std::string& s : inputs) n += m.Matches(s);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inputs.size()));
}
BENCHMARK_CAPTURE(BM_Matcher, equal, MatchType::kEqual, "api-123.svc");
BENCHMARK_CAPTURE(BM_Matcher, regex_literal, MatchType::kRegexMatch, "api-123\\.svc");
BENCHMARK_CAPTURE(BM_Matcher, regex_prefix, MatchType::kRegexMatch, "api-.*");
BENCHMARK_CAPTURE(BM_Matcher, regex_suffix, MatchType::kRegexMatch, ".*7\\.svc");
BENCHMARK_CAPTURE(BM_Matcher, regex_alternation, MatchType::kRegexMatch,
                  "api-1\\.svc|db-2\\.svc|web-3\\.svc|cache-4\\.svc");
BENCHMARK_CAPTURE(BM_Matcher, regex_general, MatchType::kRegexMatch, "(api|db)-[0-9]+7\\.svc");
BENCHMARK_CAPTURE(BM_Matcher, regex_general_ci, MatchType::kRegexMatch, "(?i)API-.*");

// 100k series: 100 metric names x 1000 instances, plus job/env/pod labels.
MemPostings& Index100k() {
  static MemPostings* ix = [] {
    auto* ix = new MemPostings;
    std::mt19937_64 rng(3);
    for (SeriesRef ref = 0; ref < 100'000; ++ref) {
      const std::string name = "metric_" + std::to_string(ref % 100);
      const std::string inst = "host-" + std::to_string(ref / 100) + ":9100";
      const std::string job = "job" + std::to_string((ref / 100) % 10);
      std::vector<Label> ls = {{"__name__", name}, {"instance", inst}, {"job", job},
                               {"env", (ref / 100) % 4 == 0 ? "dev" : "prod"}};
      const std::string pod = "pod-" + std::to_string(rng() % 5000);
      if (ref % 2 == 0) ls.push_back({"pod", pod});
      ix->Add(ref, Labels(std::span<const Label>(ls)));
    }
    return ix;
  }();
  return *ix;
}

void BM_PostingsForMatchers(benchmark::State& state,
                            std::vector<std::tuple<MatchType, const char*, const char*>> spec) {
  MemPostings& ix = Index100k();
  std::vector<Matcher> ms;
  for (const auto& [t, n, v] : spec) ms.push_back(Matcher::MustMake(t, n, v));
  size_t n = 0;
  for (auto _ : state) {
    auto p = ix.PostingsForMatchers(ms);
    n = 0;
    while (p->Next()) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.counters["series"] = static_cast<double>(n);
}
using T = std::vector<std::tuple<MatchType, const char*, const char*>>;
constexpr auto kEq = MatchType::kEqual;
constexpr auto kNe = MatchType::kNotEqual;
constexpr auto kRe = MatchType::kRegexMatch;
constexpr auto kNre = MatchType::kRegexNoMatch;
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name, T{{kEq, "__name__", "metric_7"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name_job,
                  T{{kEq, "__name__", "metric_7"}, {kEq, "job", "job3"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name_instance_prefix,
                  T{{kEq, "__name__", "metric_7"}, {kRe, "instance", "host-1.*"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name_instance_general,
                  T{{kEq, "__name__", "metric_7"}, {kRe, "instance", ".*-1[0-9]:9100"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, job_alternation_not_env,
                  T{{kRe, "job", "job1|job2|job3"}, {kNe, "env", "dev"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name_pod_absent,
                  T{{kEq, "__name__", "metric_7"}, {kEq, "pod", ""}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, name_regex_pod_notregex,
                  T{{kRe, "__name__", "metric_1.*"}, {kNre, "pod", "pod-1.*"}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_PostingsForMatchers, all_series, T{{kRe, "__name__", ".+"}})
    ->Unit(benchmark::kMicrosecond);

void BM_Add100k(benchmark::State& state) {
  std::vector<Labels> series;
  for (SeriesRef ref = 0; ref < 100'000; ++ref) {
    series.push_back(Labels::FromStrings(
        {"__name__", "metric_" + std::to_string(ref % 100), "instance",
         "host-" + std::to_string(ref / 100) + ":9100", "job", "job" + std::to_string(ref % 10)}));
  }
  size_t bytes = 0;
  for (auto _ : state) {
    MemPostings ix;
    for (SeriesRef ref = 0; ref < series.size(); ++ref) ix.Add(ref, series[ref]);
    bytes = ix.MemoryBytes();
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
  state.counters["index_bytes_per_series"] = static_cast<double>(bytes) / 100'000;
  state.counters["labels_bytes_per_series"] =
      static_cast<double>(series[12345].ByteSize());
}
BENCHMARK(BM_Add100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pharos::storage

BENCHMARK_MAIN();
