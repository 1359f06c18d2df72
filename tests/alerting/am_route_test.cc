#include <string>
#include <vector>

#include "alerting/am/config.h"
#include "alerting/am/route.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

// A tree in the shape of Alertmanager's documentation example. Expected receivers were checked
// with `amtool config routes test` (Alertmanager 0.25).
constexpr char kTree[] = R"(
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['service=~"foo1|foo2|baz"']
      receiver: team-X-mails
      routes:
        - matchers: [severity="critical"]
          receiver: team-X-pager
    - matchers: [service="files"]
      receiver: team-Y-mails
      group_by: ['...']
      routes:
        - matchers: [severity="critical"]
          receiver: team-Y-pager
    - matchers: [service="database"]
      receiver: team-DB-pager
      group_by: [database, alertname, cluster]
      group_interval: 1m
      routes:
        - matchers: [owner="team-X"]
          receiver: team-X-pager
          continue: true
        - matchers: [owner="team-Y"]
          receiver: team-Y-pager
          repeat_interval: 1h
        - matchers: [owner=~"team-.*"]
          receiver: team-Z-pager
    - matchers: [env="prod"]
      continue: true
      receiver: prod-log
      mute_time_intervals: [night]
      routes:
        - matchers: [team=a]
    - match_re: {env: 'prod|staging'}
      receiver: env-log
receivers:
  - name: default
  - name: team-X-mails
  - name: team-X-pager
  - name: team-Y-mails
  - name: team-Y-pager
  - name: team-DB-pager
  - name: team-Z-pager
  - name: prod-log
  - name: env-log
time_intervals:
  - name: night
    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]
)";

class RouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ParseConfig(kTree, "tree.yml");
    ASSERT_TRUE(c.ok()) << c.status();
    auto r = RouteNode::Build(c->route);
    ASSERT_TRUE(r.ok()) << r.status();
    root_ = std::move(*r);
  }
  std::vector<std::string> Receivers(const LabelSet& ls) {
    std::vector<std::string> out;
    for (const RouteNode* n : root_->Match(ls)) out.push_back(n->opts().receiver);
    return out;
  }
  std::unique_ptr<RouteNode> root_;
};

using V = std::vector<std::string>;

TEST_F(RouteTest, MatchesLikeAlertmanager) {
  EXPECT_EQ(Receivers({{"service", "foo1"}}), V{"team-X-mails"});
  EXPECT_EQ(Receivers({{"service", "foo1"}, {"severity", "critical"}}), V{"team-X-pager"});
  EXPECT_EQ(Receivers({{"service", "files"}, {"severity", "critical"}}), V{"team-Y-pager"});
  EXPECT_EQ(Receivers({{"service", "database"}, {"owner", "team-X"}}),
            (V{"team-X-pager", "team-Z-pager"}));
  EXPECT_EQ(Receivers({{"service", "database"}, {"owner", "team-Y"}}), V{"team-Y-pager"});
  EXPECT_EQ(Receivers({{"service", "database"}, {"owner", "team-Q"}}), V{"team-Z-pager"});
  EXPECT_EQ(Receivers({{"service", "database"}, {"owner", "other"}}), V{"team-DB-pager"});
  EXPECT_EQ(Receivers({{"env", "prod"}}), (V{"prod-log", "env-log"}));
  EXPECT_EQ(Receivers({{"env", "staging"}}), V{"env-log"});
  EXPECT_EQ(Receivers({{"nothing", "1"}}), V{"default"});
  EXPECT_EQ(Receivers({}), V{"default"});
  // Regexes are anchored: "foo10" is not "foo1".
  EXPECT_EQ(Receivers({{"service", "foo10"}}), V{"default"});
  // A child without a receiver inherits its parent's.
  EXPECT_EQ(Receivers({{"env", "prod"}, {"team", "a"}}), (V{"prod-log", "env-log"}));
}

TEST_F(RouteTest, InheritsOptions) {
  auto one = [&](const LabelSet& ls) {
    auto m = root_->Match(ls);
    EXPECT_EQ(m.size(), 1u);
    return m.at(0);
  };
  const RouteNode* root = one({});
  EXPECT_EQ(root->opts().group_by, V{"alertname"});
  EXPECT_EQ(root->opts().group_wait_ms, 10000);
  EXPECT_EQ(root->opts().group_interval_ms, 300000);
  EXPECT_EQ(root->opts().repeat_interval_ms, 4 * 3600 * 1000);

  const RouteNode* x = one({{"service", "foo1"}, {"severity", "critical"}});
  EXPECT_EQ(x->opts().group_by, V{"alertname"});
  EXPECT_EQ(x->opts().group_wait_ms, 10000);

  const RouteNode* files = one({{"service", "files"}, {"severity", "critical"}});
  EXPECT_TRUE(files->opts().group_by_all);

  const RouteNode* y = one({{"service", "database"}, {"owner", "team-Y"}});
  EXPECT_EQ(y->opts().group_by, (V{"alertname", "cluster", "database"}));  // sorted
  EXPECT_FALSE(y->opts().group_by_all);
  EXPECT_EQ(y->opts().group_interval_ms, 60000);
  EXPECT_EQ(y->opts().repeat_interval_ms, 3600000);
  EXPECT_EQ(y->opts().group_wait_ms, 10000);

  // Time intervals belong to the route naming them (Alertmanager does not inherit them).
  auto prod = root_->Match({{"env", "prod"}, {"team", "a"}});
  ASSERT_EQ(prod.size(), 2u);
  EXPECT_TRUE(prod[0]->opts().mute_time_intervals.empty());
  EXPECT_EQ(prod[0]->parent()->opts().mute_time_intervals, V{"night"});
}

TEST_F(RouteTest, KeysAndIds) {
  auto m = root_->Match({{"service", "database"}, {"owner", "team-X"}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]->Key(), "{}/{service=\"database\"}/{owner=\"team-X\"}");
  EXPECT_EQ(m[0]->ID(), "{}/{service=\"database\"}/{owner=\"team-X\"}/0");
  EXPECT_EQ(m[1]->ID(), "{}/{service=\"database\"}/{owner=~\"team-.*\"}/2");
  EXPECT_EQ(root_->Key(), "{}");
  EXPECT_EQ(root_->ID(), "{}");
  auto env = root_->Match({{"env", "staging"}});
  EXPECT_EQ(env.at(0)->Key(), "{}/{env=~\"^(?:prod|staging)$\"}");
  EXPECT_EQ(env.at(0)->ID(), "{}/{env=~\"^(?:prod|staging)$\"}/4");
}

TEST(RouteOptsTest, GroupLabels) {
  RouteOpts o;
  o.group_by = {"alertname", "cluster"};
  LabelSet alert = {{"alertname", "A"}, {"instance", "i"}, {"cluster", "c"}};
  EXPECT_EQ(o.GroupLabels(alert), (LabelSet{{"alertname", "A"}, {"cluster", "c"}}));
  EXPECT_EQ(o.GroupLabels({{"instance", "i"}}), LabelSet{});
  o.group_by_all = true;
  EXPECT_EQ(o.GroupLabels(alert), alert);
}

TEST(MatchesAllTest, AbsentLabelIsEmpty) {
  auto ms = ParseMatchers(R"({a="",b!="x"})");
  ASSERT_TRUE(ms.ok());
  EXPECT_TRUE(MatchesAll(*ms, {}));
  EXPECT_FALSE(MatchesAll(*ms, {{"a", "1"}}));
  EXPECT_FALSE(MatchesAll(*ms, {{"b", "x"}}));
}

TEST(RouteBuildTest, RejectsRootWithoutReceiver) {
  Route r;
  EXPECT_FALSE(RouteNode::Build(r).ok());
}

}  // namespace
}  // namespace pharos::alerting::am
