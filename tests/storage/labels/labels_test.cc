#include "storage/labels/labels.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos {
namespace {

using ::testing::HasSubstr;

std::vector<std::pair<std::string, std::string>> ToPairs(const Labels& ls) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Label& l : ls) out.emplace_back(l.name, l.value);
  return out;
}

TEST(LabelsTest, SortsAndDropsEmptyValues) {
  Labels ls{{"job", "api"}, {"__name__", "up"}, {"empty", ""}, {"instance", "a:1"}};
  EXPECT_EQ(ls.size(), 3u);
  EXPECT_EQ(ToPairs(ls), (std::vector<std::pair<std::string, std::string>>{
                             {"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}}));
  EXPECT_EQ(ls.Get("job"), "api");
  EXPECT_EQ(ls.Get("empty"), "");
  EXPECT_FALSE(ls.Has("empty"));
  EXPECT_TRUE(ls.Has("instance"));
  EXPECT_EQ(ls.MetricName(), "up");
  EXPECT_EQ(ls.Get("zzz"), "");
}

TEST(LabelsTest, EmptySet) {
  Labels ls;
  EXPECT_TRUE(ls.empty());
  EXPECT_EQ(ls.String(), "{}");
  EXPECT_EQ(ls.MetricString(), "{}");
  EXPECT_EQ(ls, Labels({{"a", ""}}));
  EXPECT_EQ(ls.ByteSize(), 0u);
}

TEST(LabelsTest, CopyMoveShareStorage) {
  Labels a = Labels::FromStrings({"a", "1", "b", "2"});
  Labels b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[0].name.data(), b[0].name.data());  // shared block
  Labels c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(c, a);
  c = c;  // self-assignment
  EXPECT_EQ(c, a);
  b = a;
  a = Labels();
  EXPECT_EQ(ToPairs(b).size(), 2u);
}

TEST(LabelsTest, CompareFollowsPrometheus) {
  auto L = [](std::initializer_list<std::string_view> kv) { return Labels::FromStrings(kv); };
  EXPECT_EQ(Compare(L({"a", "1"}), L({"a", "1"})), 0);
  EXPECT_LT(Compare(L({"a", "1"}), L({"a", "2"})), 0);
  EXPECT_GT(Compare(L({"b", "1"}), L({"a", "2"})), 0);
  EXPECT_LT(Compare(L({"a", "1"}), L({"a", "1", "b", "1"})), 0);
  EXPECT_GT(Compare(L({"a", "1", "c", "1"}), L({"a", "1", "b", "9"})), 0);
  EXPECT_LT(Compare(Labels(), L({"a", "1"})), 0);
  EXPECT_TRUE(L({"a", "1"}) < L({"a", "2"}));
}

// Hard-coded expectations, computed once with XXH64(seed 0) over hand-built byte strings such as
// "a\xffb\xff" (the layout of Prometheus's labels.Hash). A change here changes every persisted
// or externally visible hash: do not update casually.
TEST(LabelsTest, HashIsStable) {
  EXPECT_EQ(Labels().Hash(), 0xef46db3751d8e999ull);  // XXH64("", seed 0)
  EXPECT_EQ(Labels::FromStrings({"a", "b"}).Hash(), 0x608891b6a4fd3588ull);
  EXPECT_EQ(Labels::FromStrings({"__name__", "up", "job", "prometheus"}).Hash(),
            0x0b544703f942c0b5ull);
  // > 1 KiB: exercises the streaming path.
  EXPECT_EQ(Labels({{"a", std::string(3000, 'x')}}).Hash(), 0xa06c3c88734276b4ull);
}

TEST(LabelsTest, HashProperties) {
  const Labels a = Labels::FromStrings({"a", "b", "c", "d"});
  EXPECT_EQ(a.Hash(), Labels::FromStrings({"c", "d", "a", "b"}).Hash());
  EXPECT_NE(a.Hash(), Labels::FromStrings({"a", "bc", "", "d"}).Hash());
  EXPECT_NE(Labels::FromStrings({"ab", "c"}).Hash(), Labels::FromStrings({"a", "bc"}).Hash());
  // Long sets take the streaming path; result must equal a buffer hash of the same bytes.
  std::string big(3000, 'x');
  const Labels long1{{"a", big}, {"b", big}};
  const Labels long2{{"b", big}, {"a", big}};
  EXPECT_EQ(long1.Hash(), long2.Hash());
  std::vector<std::string_view> names{"a"};
  EXPECT_EQ(a.HashForLabels(names), Labels::FromStrings({"a", "b"}).Hash());
  const Labels with_name = Labels::FromStrings({"__name__", "x", "a", "b", "c", "d"});
  std::vector<std::string_view> without{"c"};
  EXPECT_EQ(with_name.HashWithoutLabels(without), Labels::FromStrings({"a", "b"}).Hash());
}

TEST(LabelsTest, StringEscaping) {
  const Labels ls{{"__name__", "up"}, {"path", "a\"b\\c\nd\te"}, {"utf", "héllo"}};
  EXPECT_EQ(ls.String(), R"({__name__="up", path="a\"b\\c\nd\te", utf="héllo"})");
  EXPECT_EQ(ls.MetricString(), R"(up{path="a\"b\\c\nd\te", utf="héllo"})");
  EXPECT_EQ(Labels::FromStrings({"__name__", "up"}).MetricString(), "up");
  EXPECT_EQ(Labels::FromStrings({"a", "b"}).MetricString(), R"({a="b"})");
  // Non-legacy names are quoted.
  const Labels utf{{"__name__", "my.metric"}, {"label.with.dots", "x"}};
  EXPECT_EQ(utf.String(), R"({__name__="my.metric", "label.with.dots"="x"})");
  EXPECT_EQ(utf.MetricString(), R"({"my.metric", "label.with.dots"="x"})");
  // Control characters, invalid bytes and non-printable runes as Go's strconv.Quote.
  std::string out;
  AppendQuoted(out, std::string("\x01\x7f\xff", 3));
  EXPECT_EQ(out, R"("\x01\x7f\xff")");
  out.clear();
  AppendQuoted(out, "\u2028\U0001F600\a");
  EXPECT_EQ(out, "\"\\u2028\U0001F600\\a\"");
}

TEST(LabelsBuilderTest, SetDelKeep) {
  const Labels base = Labels::FromStrings({"__name__", "up", "job", "x", "instance", "i"});
  LabelsBuilder b(base);
  b.Set("job", "y").Set("zone", "eu").Del("instance").Set("__name__", "");
  EXPECT_EQ(b.Labels(), Labels::FromStrings({"job", "y", "zone", "eu"}));
  EXPECT_EQ(b.Get("zone"), "eu");
  b.Keep({"zone"});
  EXPECT_EQ(b.Labels(), Labels::FromStrings({"zone", "eu"}));
  b.Reset(base);
  EXPECT_EQ(b.Labels(), base);
  EXPECT_TRUE(LabelsBuilder().Labels().empty());
}

TEST(ValidateLabelsTest, Accepts) {
  EXPECT_TRUE(ValidateLabels(Labels::FromStrings({"__name__", "up", "job", "x"})).ok());
  // UTF-8 names are fine by default (Prometheus 3.x).
  EXPECT_TRUE(ValidateLabels(Labels{{"__name__", "my.métric"}, {"label-ü", "v"}}).ok());
  EXPECT_TRUE(ValidateLabels(Labels()).ok());
}

TEST(ValidateLabelsTest, RejectsEachBadCase) {
  auto check = [](const Labels& ls, const LabelLimits& lim, std::string_view want) {
    absl::Status s = ValidateLabels(ls, lim);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << ls.String();
    EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(want))) << s;
  };
  const LabelLimits def;
  check(Labels{{"", "v"}, {"__name__", "m"}}, def, "label name is empty");
  check(Labels{{"a", "1"}, {"a", "2"}}, def, "duplicate label name");
  check(Labels{{"a", "1"}, {"a", "2"}}, def, "invalid label \"a\"");
  check(Labels{{"a", std::string_view("\xff", 1)}}, def, "value is not valid UTF-8");
  check(Labels{{std::string_view("b\xc3", 2), "v"}}, def, "name is not valid UTF-8");
  // Overlong encoding and surrogate are invalid too.
  check(Labels{{"a", std::string_view("\xc0\xaf", 2)}}, def, "not valid UTF-8");
  check(Labels{{"a", std::string_view("\xed\xa0\x80", 3)}}, def, "not valid UTF-8");

  LabelLimits small;
  small.max_label_count = 2;
  small.max_name_length = 4;
  small.max_value_length = 3;
  check(Labels::FromStrings({"a", "1", "b", "2", "c", "3"}), small, "3 labels");
  check(Labels::FromStrings({"abcde", "1"}), small, "name is 5 bytes");
  check(Labels::FromStrings({"a", "1234"}), small, "value is 4 bytes");

  LabelLimits legacy;
  legacy.legacy_names = true;
  check(Labels::FromStrings({"a.b", "1"}), legacy, "legacy");
  check(Labels::FromStrings({"1a", "1"}), legacy, "legacy");
  check(Labels::FromStrings({"__name__", "my.metric"}), legacy, "metric name does not match");
  EXPECT_TRUE(ValidateLabels(Labels::FromStrings({"__name__", "a:b_c", "x_1", "v"}), legacy).ok());
  check(Labels::FromStrings({"a:b", "1"}), legacy, "legacy");  // ':' only in metric names

  LabelLimits need_name;
  need_name.require_metric_name = true;
  check(Labels::FromStrings({"a", "1"}), need_name, "no metric name");
}

TEST(ValidateLabelsTest, LegacyNameHelpers) {
  EXPECT_TRUE(IsValidLegacyLabelName("_a9"));
  EXPECT_FALSE(IsValidLegacyLabelName("9a"));
  EXPECT_FALSE(IsValidLegacyLabelName(""));
  EXPECT_TRUE(IsValidLegacyMetricName("a:b"));
  EXPECT_FALSE(IsValidLegacyLabelName("a:b"));
  EXPECT_TRUE(IsValidUtf8("héllo \U0001F600"));
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xe2\x82", 2)));
}

}  // namespace
}  // namespace pharos
