#include "storage/index/postings.h"

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
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

std::vector<SeriesRef> RandomSet(std::mt19937_64& rng, size_t max_n, SeriesRef max_v) {
  std::set<SeriesRef> s;
  const size_t n = rng() % (max_n + 1);
  for (size_t i = 0; i < n; ++i) s.insert(rng() % max_v);
  return {s.begin(), s.end()};
}

TEST(PostingsTest, ListPostingsNextAndSeek) {
  const std::vector<SeriesRef> v{2, 4, 6, 8, 100, 200};
  auto p = NewListPostings(v);
  EXPECT_TRUE(p->Seek(5));
  EXPECT_EQ(p->At(), 6u);
  EXPECT_TRUE(p->Seek(1));  // never moves backwards
  EXPECT_EQ(p->At(), 6u);
  EXPECT_TRUE(p->Next());
  EXPECT_EQ(p->At(), 8u);
  EXPECT_TRUE(p->Seek(150));
  EXPECT_EQ(p->At(), 200u);
  EXPECT_FALSE(p->Seek(201));
  EXPECT_FALSE(p->Next());
  EXPECT_THAT(Expand(NewListPostings(v)), ElementsAre(2, 4, 6, 8, 100, 200));
  EXPECT_THAT(Expand(EmptyPostings()), IsEmpty());
}

TEST(PostingsTest, EmptyAndErrors) {
  EXPECT_THAT(Expand(Intersect({})), IsEmpty());
  EXPECT_THAT(Expand(Merge({})), IsEmpty());
  std::vector<PostingsPtr> its;
  its.push_back(NewOwningListPostings({1, 2, 3}));
  its.push_back(ErrPostings(absl::InternalError("boom")));
  auto merged = Merge(std::move(its));
  EXPECT_EQ(ExpandPostings(*merged).status().code(), absl::StatusCode::kInternal);
  std::vector<PostingsPtr> its2;
  its2.push_back(NewOwningListPostings({1, 2, 3}));
  its2.push_back(ErrPostings(absl::InternalError("boom")));
  EXPECT_FALSE(ExpandPostings(*Intersect(std::move(its2))).ok());
}

// Random inputs against std::set_* algorithms, including nested operations and random Seeks.
TEST(PostingsTest, RandomOpsMatchStdSetOps) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 500; ++iter) {
    const size_t k = 1 + rng() % 5;
    const SeriesRef max_v = 1 + rng() % 2000;
    std::vector<std::vector<SeriesRef>> sets;
    for (size_t i = 0; i < k; ++i) sets.push_back(RandomSet(rng, 300, max_v));
    const std::vector<SeriesRef> drop = RandomSet(rng, 300, max_v);

    std::vector<SeriesRef> want_and = sets[0], want_or = sets[0];
    for (size_t i = 1; i < k; ++i) {
      std::vector<SeriesRef> a, o;
      std::set_intersection(want_and.begin(), want_and.end(), sets[i].begin(), sets[i].end(),
                            std::back_inserter(a));
      std::set_union(want_or.begin(), want_or.end(), sets[i].begin(), sets[i].end(),
                     std::back_inserter(o));
      want_and = std::move(a);
      want_or = std::move(o);
    }
    std::vector<SeriesRef> want_without;
    std::set_difference(want_or.begin(), want_or.end(), drop.begin(), drop.end(),
                        std::back_inserter(want_without));

    auto lists = [&] {
      std::vector<PostingsPtr> its;
      for (const auto& s : sets) its.push_back(NewListPostings(s));
      return its;
    };
    ASSERT_EQ(Expand(Intersect(lists())), want_and);
    ASSERT_EQ(Expand(Merge(lists())), want_or);
    ASSERT_EQ(Expand(Without(Merge(lists()), NewListPostings(drop))), want_without);

    // Random interleaving of Seek and Next on a nested tree vs lower_bound on the answer.
    std::vector<PostingsPtr> parts;
    parts.push_back(Merge(lists()));
    parts.push_back(Without(NewListPostings(sets[0]), NewListPostings(drop)));
    std::vector<SeriesRef> want_nested;
    {
      std::vector<SeriesRef> w0;
      std::set_difference(sets[0].begin(), sets[0].end(), drop.begin(), drop.end(),
                          std::back_inserter(w0));
      std::set_intersection(want_or.begin(), want_or.end(), w0.begin(), w0.end(),
                            std::back_inserter(want_nested));
    }
    auto p = Intersect(std::move(parts));
    size_t pos = 0;  // index into want_nested of the current element
    bool started = false;
    for (int step = 0; step < 50; ++step) {
      if (rng() % 2 == 0) {
        const SeriesRef target = rng() % (max_v + 2);
        const bool ok = p->Seek(target);
        const SeriesRef floor = started && pos < want_nested.size() ? want_nested[pos] : 0;
        const auto it = std::lower_bound(want_nested.begin(), want_nested.end(),
                                         std::max(target, floor));
        pos = static_cast<size_t>(it - want_nested.begin());
        ASSERT_EQ(ok, pos < want_nested.size());
        if (ok) {
          ASSERT_EQ(p->At(), want_nested[pos]);
        }
      } else {
        const bool ok = p->Next();
        pos = started ? pos + 1 : 0;
        if (pos > want_nested.size()) pos = want_nested.size();
        ASSERT_EQ(ok, pos < want_nested.size());
        if (ok) {
          ASSERT_EQ(p->At(), want_nested[pos]);
        }
      }
      started = true;
      if (pos >= want_nested.size()) break;
    }
  }
}

}  // namespace
}  // namespace pharos::storage
