#include "storage/labels/symbol_table.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace pharos {
namespace {

TEST(SymbolTableTest, InternsToStableViews) {
  SymbolTable t;
  std::string a = "hello";
  const std::string_view v1 = t.Intern(a);
  a = "other";  // the table holds its own copy
  const std::string_view v2 = t.Intern(std::string("hello"));
  EXPECT_EQ(v1, "hello");
  EXPECT_EQ(v1.data(), v2.data());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Find("hello").data(), v1.data());
  EXPECT_EQ(t.Find("missing").data(), nullptr);
  EXPECT_EQ(t.Intern(""), "");
  const std::string big(100000, 'z');
  EXPECT_EQ(t.Intern(big), big);
  EXPECT_GT(t.MemoryBytes(), big.size());
}

TEST(SymbolTableTest, ConcurrentInterning) {
  SymbolTable t;
  constexpr int kThreads = 4, kStrings = 20000;
  std::vector<std::vector<std::string_view>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kStrings; ++k) got[i].push_back(t.Intern("value-" + std::to_string(k)));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.size(), static_cast<size_t>(kStrings));
  for (int k = 0; k < kStrings; ++k) {
    EXPECT_EQ(got[0][k], "value-" + std::to_string(k));
    for (int i = 1; i < kThreads; ++i) ASSERT_EQ(got[i][k].data(), got[0][k].data());
  }
}

}  // namespace
}  // namespace pharos
