#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "alerting/am/config.h"
#include "alerting/am/internal/matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::alerting::am {
namespace {

using ::testing::HasSubstr;

// The message without the "source:line:col: " (or "source: ") prefix.
std::string Message(const absl::Status& s, const std::string& source) {
  std::string m(s.message());
  if (m.rfind(source, 0) != 0) return m;
  std::string rest = m.substr(source.size());
  if (rest.rfind(": ", 0) == 0) return rest.substr(2);
  size_t i = 0;
  int colons = 0;
  while (i < rest.size() && colons < 3) {
    if (rest[i] == ':') ++colons;
    else if (!std::isdigit(static_cast<unsigned char>(rest[i]))) break;
    ++i;
  }
  if (colons == 3 && i < rest.size() && rest[i] == ' ') return rest.substr(i + 1);
  return m;
}

// Runs every fixture of EXPECTATIONS.tsv (Alertmanager's config/testdata, Apache-2.0, see the
// directory's NOTICE). `exact` rows compare the message after the position prefix; rows whose
// note says the wording comes from Go's YAML library are matched loosely: the error must name
// the same line and the same field.
TEST(AmConfigConformance, Fixtures) {
  const std::string dir = std::string(PHAROS_AM_CONFORMANCE_DIR) + "/alertmanager-config";
  std::ifstream in(dir + "/EXPECTATIONS.tsv");
  if (!in) GTEST_SKIP() << "no conformance fixtures at " << dir;
  std::string line;
  int rows = 0, passed = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    f.resize(5);
    ++rows;
    const std::string path = dir + "/" + f[0];
    SCOPED_TRACE(f[0]);
    auto c = LoadConfigFile(path);
    bool ok_row = true;
    if (f[1] == "ok") {
      EXPECT_TRUE(c.ok()) << c.status();
      ok_row = c.ok();
    } else {
      EXPECT_FALSE(c.ok());
      if (c.ok()) {
        ok_row = false;
      } else {
        const std::string msg = Message(c.status(), path);
        if (absl::StrContains(f[4], "Go YAML library")) {
          // "yaml: unmarshal errors:\n  line 16: field teams not found in type opsgenie.plain"
          std::string want_line, want_field;
          size_t l = f[3].find("line ");
          if (l != std::string::npos) want_line = f[3].substr(l + 5, f[3].find(':', l) - l - 5);
          size_t fl = f[3].find("field ");
          if (fl != std::string::npos) {
            want_field = f[3].substr(fl + 6, f[3].find(' ', fl + 6) - fl - 6);
          }
          std::string full(c.status().message());
          EXPECT_THAT(full, HasSubstr(":" + want_line + ":"));
          EXPECT_THAT(full, HasSubstr("\"" + want_field + "\" not found"));
          ok_row = absl::StrContains(full, ":" + want_line + ":") &&
                   absl::StrContains(full, "\"" + want_field + "\" not found");
        } else if (f[2] == "exact") {
          EXPECT_EQ(msg, f[3]) << c.status();
          ok_row = msg == f[3];
        } else if (f[2] == "contains") {
          EXPECT_THAT(msg, HasSubstr(f[3]));
          ok_row = absl::StrContains(msg, f[3]);
        }
      }
    }
    if (ok_row) ++passed;
  }
  std::cout << "alertmanager-config conformance: " << passed << "/" << rows << " passed\n";
  EXPECT_GT(rows, 0);
}

absl::StatusOr<Config> Parse(const std::string& y) { return ParseConfig(y, "am.yml"); }

TEST(AmConfig, DefaultsAndInheritanceOfGlobals) {
  auto c = Parse(R"(
global:
  smtp_smarthost: 'mail:25'
  smtp_from: am@example.org
  smtp_auth_password: pw
  slack_api_url: https://hooks.slack.com/x
route:
  receiver: r
receivers:
  - name: r
    email_configs: [{to: a@example.org, headers: {subject: hi, x-prio: '1'}}]
    slack_configs: [{channel: '#c'}]
    webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
    pagerduty_configs: [{routing_key: k}]
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global.resolve_timeout_ms, 300000);
  const Receiver& r = c->receivers[0];
  const EmailConfig& e = r.email_configs[0];
  EXPECT_EQ(e.smarthost, "mail:25");
  EXPECT_EQ(e.from, "am@example.org");
  EXPECT_EQ(e.hello, "localhost");
  EXPECT_EQ(e.auth_password, "pw");
  EXPECT_EQ(e.require_tls, true);
  EXPECT_FALSE(e.send_resolved);
  EXPECT_EQ(e.headers.at("Subject"), "hi");
  EXPECT_EQ(e.headers.at("X-Prio"), "1");
  EXPECT_EQ(e.headers.at("To"), "a@example.org");
  EXPECT_EQ(r.slack_configs[0].api_url, "https://hooks.slack.com/x");
  EXPECT_FALSE(r.slack_configs[0].send_resolved);
  EXPECT_TRUE(r.webhook_configs[0].send_resolved);
  const PagerDutyConfig& p = r.pagerduty_configs[0];
  EXPECT_TRUE(p.send_resolved);
  EXPECT_EQ(p.url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(p.details.at("num_firing"), "{{ .Alerts.Firing | len }}");
  EXPECT_EQ(c->route.receiver, "r");
}

TEST(AmConfig, ErrorsNameLineAndColumn) {
  auto c = Parse("route:\n  receiver: r\n  bogus: 1\nreceivers: [{name: r}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "am.yml:3:3: field \"bogus\" not found in route");

  c = Parse("route:\n  receiver: r\n  routes:\n    - receiver: nope\nreceivers: [{name: r}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "am.yml:4:7: undefined receiver \"nope\" used in route");

  c = Parse("route: {receiver: r}\nreceivers: [{name: r}, {name: r}]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("notification config name \"r\" is not unique"));
}

struct ErrCase {
  const char* yaml;
  const char* message;  // after the position prefix
};

TEST(AmConfig, SemanticErrorsUseAlertmanagerWording) {
  const ErrCase cases[] = {
      {"", "no route provided in config"},
      {"route: {}\n", "root route must specify a default receiver"},
      {"route: {receiver: r, matchers: ['a=b']}\nreceivers: [{name: r}]\n",
       "root route must not have any matchers"},
      {"route: {receiver: r, continue: true}\nreceivers: [{name: r}]\n",
       "cannot have continue in root route"},
      {"route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]\n",
       "cannot have wildcard group_by (`...`) and other labels at the same time"},
      {"route: {receiver: r, group_by: [a, a]}\nreceivers: [{name: r}]\n",
       "duplicated label \"a\" in group_by"},
      {"route: {receiver: r, group_by: ['a-b']}\nreceivers: [{name: r}]\n",
       "invalid label name \"a-b\" in group_by list"},
      {"route: {receiver: r, group_interval: 0s}\nreceivers: [{name: r}]\n",
       "group_interval cannot be zero"},
      {"route: {receiver: r, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: r}]\n",
       "undefined time interval \"x\" used in route"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a}, {name: a}]\n",
       "time interval \"a\" is not unique"},
      {"route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: x}]}]\n",
       "no global SMTP smarthost set"},
      {"global: {smtp_smarthost: 'h:25'}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: x}]}]\n",
       "no global SMTP from set"},
      {"route: {receiver: r}\nreceivers: [{name: r, email_configs: [{}]}]\n",
       "missing to address in email config"},
      {"route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{}]}]\n",
       "missing service or routing key in PagerDuty config"},
      {"route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{}]}]\n",
       "missing URL in webhook config"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules: [{equal: ['a-b']}]\n",
       "\"a-b\" is not a valid label name"},
      {"global: {smtp_smarthost: 'a:1', smtp_from: x}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a, headers: {subject: a, Subject: b}}]}]\n",
       "duplicate header \"Subject\" in email config"},
      {"route: {receiver: r, routes: [{match: {a-b: x}}]}\nreceivers: [{name: r}]\n",
       "invalid label name \"a-b\""},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{times: [{start_time: '25:00', end_time: '26:00'}]}]}]\n",
       "couldn't parse timestamp 25:00, invalid format"},
      {"route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'ftp://x'}]}]\n",
       "unsupported scheme \"ftp\" for URL"},
      {"route: {receiver: r}\nreceivers: [{}]\n", "missing name in receiver"},
      {"route: {receiver: r, routes: [{match_re: {a: '('}}]}\nreceivers: [{name: r}]\n",
       nullptr},
      {"route: {receiver: r, routes: [{matchers: ['a=\"b']}]}\nreceivers: [{name: r}]\n",
       "matcher value contains unescaped double quote: \"b"},
      {"global: {smtp_smarthost: 'nohost'}\nroute: {receiver: r}\nreceivers: [{name: r}]\n",
       "address nohost: missing port in address"},
      {"route: {receiver: r}\nreceivers: [{name: r, digest: {schedule: 'daily 25:00'}}]\n",
       "invalid digest schedule \"daily 25:00\": time must be HH:MM, 00:00 to 23:59 (want \"daily HH:MM\", "
       "\"weekly <weekday> HH:MM\" or \"hourly :MM\")"},
      {"route: {receiver: r}\nreceivers: [{name: r, digest: {schedule: 'hourly :15', location: Mars/Base}}]\n",
       "invalid digest location \"Mars/Base\": unknown time zone"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]}]\n",
       "start time cannot be equal or greater than end time"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{weekdays: ['friday:monday']}]}]\n",
       "start day cannot be before end day"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{days_of_month: ['-1:5']}]}]\n",
       "end day must be negative if start day is negative"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{months: ['march:january']}]}]\n",
       "end month january is before start month march"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{years: ['99999999999']}]}]\n",
       "strconv.Atoi: parsing \"99999999999\": invalid syntax"},
      {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: a, time_intervals: [{location: 'Nowhere/City'}]}]\n",
       "unknown time zone Nowhere/City"},
  };
  for (const ErrCase& tc : cases) {
    SCOPED_TRACE(tc.yaml);
    auto c = Parse(tc.yaml);
    ASSERT_FALSE(c.ok());
    if (tc.message) EXPECT_EQ(Message(c.status(), "am.yml"), tc.message) << c.status();
  }
}

TEST(AmConfig, RoutesMatchersAndTimeIntervals) {
  auto c = Parse(R"(
route:
  receiver: r
  group_by: ['...']
  routes:
    - match: {service: db}
      match_re: {team: 'a|b'}
      matchers: ['severity=~"crit.*"', 'env!=dev']
      group_wait: 1m
      active_time_intervals: [biz]
receivers: [{name: r}]
inhibit_rules:
  - source_match: {severity: critical}
    target_matchers: ['severity="warning"']
    equal: [alertname]
time_intervals:
  - name: biz
    time_intervals:
      - times: [{start_time: '09:00', end_time: '17:30'}]
        weekdays: ['monday:friday']
        days_of_month: ['1:10', '-3:-1']
        months: ['january:march', '12']
        years: ['2024:2026']
        location: Europe/Berlin
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->route.group_by_all);
  const Route& child = c->route.routes.at(0);
  EXPECT_EQ(internal::MatchersString(child.matchers),
            "{env!=\"dev\",service=\"db\",severity=~\"crit.*\",team=~\"^(?:a|b)$\"}");
  EXPECT_EQ(child.group_wait_ms, 60000);
  EXPECT_FALSE(child.group_interval_ms.has_value());
  ASSERT_EQ(c->inhibit_rules.size(), 1u);
  EXPECT_EQ(internal::MatchersString(c->inhibit_rules[0].source_matchers), "{severity=\"critical\"}");
  const TimeIntervalSpec& t = c->time_intervals.at(0).intervals.at(0);
  EXPECT_EQ(t.times.at(0).start_minute, 540);
  EXPECT_EQ(t.times.at(0).end_minute, 1050);
  EXPECT_EQ(t.weekdays.at(0).begin, 1);
  EXPECT_EQ(t.weekdays.at(0).end, 5);
  EXPECT_EQ(t.days_of_month.at(1).begin, -3);
  EXPECT_EQ(t.months.at(1).begin, 12);
  EXPECT_EQ(t.years.at(0).end, 2026);
  EXPECT_EQ(t.location, "Europe/Berlin");
}

TEST(AmConfig, UnsupportedIntegrationsAreRecorded) {
  auto c = Parse(R"(
global: {opsgenie_api_key: k}
route: {receiver: r}
receivers:
  - name: r
    opsgenie_configs: [{responders: [{name: t, type: team}]}]
    pushover_configs: [{user_key: u, token: t}]
    webhook_configs: [{url: 'http://127.0.0.1:1/'}]
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->receivers[0].unsupported, (std::vector<std::string>{"opsgenie", "pushover"}));
}

TEST(AmConfig, MaskedYamlHidesSecrets) {
  auto c = Parse(R"(
global:
  smtp_smarthost: 'mail:25'
  smtp_from: am@example.org
  smtp_auth_password: hunter2
  slack_api_url: https://hooks.slack.com/secret-path
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: 'http://127.0.0.1:9/secret-hook'
        http_config: {basic_auth: {username: u, password: pw2}}
    pagerduty_configs: [{routing_key: rk-secret}]
    victorops_configs: [{api_key: vk, routing_key: visible-route}]
)");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string m = MaskedYaml(*c);
  for (const char* secret : {"hunter2", "secret-path", "secret-hook", "pw2", "rk-secret", "vk"}) {
    EXPECT_THAT(m, ::testing::Not(HasSubstr(secret))) << m;
  }
  EXPECT_THAT(m, HasSubstr("username: u"));
  EXPECT_THAT(m, HasSubstr("visible-route"));
  EXPECT_THAT(m, HasSubstr("smtp_auth_password: <secret>"));
  // The masked config still parses (secret URLs are accepted as <secret>).
  auto again = Parse(m);
  EXPECT_TRUE(again.ok()) << again.status() << "\n" << m;
}

// Every prefix and a byte-flipped copy of each fixture: bad input is an error, never a crash.
TEST(AmConfig, TruncatedAndCorruptedFixturesDoNotCrash) {
  const std::string dir = std::string(PHAROS_AM_CONFORMANCE_DIR) + "/alertmanager-config";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no conformance fixtures at " << dir;
  int parsed = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yml") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    for (size_t n = 0; n < text.size(); n += 7) {
      (void)ParseConfig(text.substr(0, n), "t.yml");
      std::string flipped = text;
      flipped[n] = flipped[n] == ':' ? '-' : ':';
      (void)ParseConfig(flipped, "t.yml");
      parsed += 2;
    }
  }
  EXPECT_GT(parsed, 100);
}

TEST(AmConfig, CheckConfigFileReportsMissingFile) {
  absl::Status s = CheckConfigFile("/nonexistent/am.yml");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pharos::alerting::am
