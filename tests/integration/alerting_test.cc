// The built-in Alertmanager end to end, on loopback with real components: Pharos's
// /api/v2 with amtool (Debian's prometheus-alertmanager), Prometheus 2.42 sending its alerts to
// Pharos, local HTTP receivers capturing webhook / PagerDuty requests, receiver faults, and
// restarts (notification log and silences persisted).
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"
#include "tests/alerting/notify_process.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string Port(int p) { return std::to_string(p); }

// Pharos with `config` (YAML) written to the test dir; waits until ready.
std::unique_ptr<PharosProcess> StartPharos(const TempDir& dir, const std::string& config,
                                           std::vector<std::string> extra = {}) {
  std::string cfg = dir.Write("pharos.yml", config);
  extra.push_back("--config.file=" + cfg);
  auto p = std::make_unique<PharosProcess>(dir.path(), extra);
  EXPECT_GT(p->WaitForPort(), 0) << p->Log();
  EXPECT_TRUE(p->WaitForLog("ready to receive web requests")) << p->Log();
  return p;
}

std::string WebhookRouterConfig(int hook_port, const std::string& group_wait = "200ms") {
  return "scrape_configs: []\n"
         "alertmanager:\n"
         "  config:\n"
         "    route:\n"
         "      receiver: hook\n"
         "      group_by: [alertname]\n"
         "      group_wait: " + group_wait + "\n"
         "      group_interval: 1s\n"
         "      repeat_interval: 1h\n"
         "    receivers:\n"
         "      - name: hook\n"
         "        webhook_configs:\n"
         "          - url: http://127.0.0.1:" + Port(hook_port) + "/hook\n"
         "            send_resolved: true\n";
}

HttpResult PostAlerts(int port, const std::string& body) {
  return HttpCall(port, "POST", "/api/v2/alerts", body, {{"Content-Type", "application/json"}});
}

const char kDiskAlert[] =
    R"([{"labels":{"alertname":"DiskFull","severity":"warning","instance":"db1:9100"},)"
    R"("annotations":{"summary":"Disk 93% full"},"generatorURL":"http://prom/graph"}])";

int RunAmtool(int port, std::vector<std::string> args, std::string* out) {
  std::vector<std::string> argv = {"/usr/bin/amtool",
                                   "--alertmanager.url=http://127.0.0.1:" + Port(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, out);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(AlertingIntegration, ApiWebhookAndAmtoolSilences) {
  if (access("/usr/bin/amtool", X_OK) != 0) GTEST_SKIP() << "amtool not installed";
  TempDir dir;
  CaptureServer hook;
  auto pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  const int port = pharos->port();

  // Prometheus's shape of POST /api/v2/alerts.
  auto r = PostAlerts(port, kDiskAlert);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(hook.WaitForRequests(1, std::chrono::seconds(10))) << pharos->Log();
  json msg = json::parse(hook.Requests()[0].body);
  EXPECT_EQ(hook.Requests()[0].target, "/hook");
  EXPECT_EQ(msg["version"], "4");
  EXPECT_EQ(msg["status"], "firing");
  EXPECT_EQ(msg["receiver"], "hook");
  EXPECT_EQ(msg["groupKey"], "{}:{alertname=\"DiskFull\"}");
  EXPECT_EQ(msg["groupLabels"], json({{"alertname", "DiskFull"}}));
  EXPECT_EQ(msg["commonAnnotations"], json({{"summary", "Disk 93% full"}}));
  EXPECT_EQ(msg["truncatedAlerts"], 0);
  ASSERT_EQ(msg["alerts"].size(), 1u);
  EXPECT_EQ(msg["alerts"][0]["labels"]["instance"], "db1:9100");
  EXPECT_EQ(msg["alerts"][0]["generatorURL"], "http://prom/graph");
  EXPECT_EQ(msg["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_TRUE(std::regex_match(msg["alerts"][0]["fingerprint"].get<std::string>(),
                               std::regex("[0-9a-f]{16}")));

  // The API lists it, active, with its receiver.
  auto alerts = HttpGet(port, "/api/v2/alerts");
  ASSERT_EQ(alerts.status, 200) << alerts.body;
  json a = json::parse(alerts.body);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["status"]["state"], "active");
  EXPECT_EQ(a[0]["receivers"], json::parse(R"([{"name":"hook"}])"));
  auto groups = json::parse(HttpGet(port, "/api/v2/alerts/groups").body);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["labels"], json({{"alertname", "DiskFull"}}));
  EXPECT_EQ(groups[0]["receiver"]["name"], "hook");

  // amtool: add, query, and the alert shows as silenced.
  std::string out;
  ASSERT_EQ(RunAmtool(port, {"silence", "add", "alertname=DiskFull", "instance=~db.*",
                             "--comment=disk maintenance", "--author=oncall", "--duration=1h"},
                      &out),
            0)
      << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("[0-9a-f]{8}-[0-9a-f-]{27}"))) << out;
  const std::string id = m[0];
  // amtool compares its version with the server's: Pharos reports the API level it speaks.
  EXPECT_THAT(out, ::testing::Not(HasSubstr("Warning")));
  ASSERT_EQ(RunAmtool(port, {"silence", "query", "-q"}, &out), 0) << out;
  EXPECT_EQ(Trim(out), id);
  ASSERT_EQ(RunAmtool(port, {"silence", "query", "alertname=DiskFull"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("disk maintenance"));
  EXPECT_THAT(out, HasSubstr("oncall"));
  a = json::parse(HttpGet(port, "/api/v2/alerts").body);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["status"]["state"], "suppressed");
  EXPECT_EQ(a[0]["status"]["silencedBy"], json({id}));
  EXPECT_EQ(json::parse(HttpGet(port, "/api/v2/alerts?silenced=false").body).size(), 0u);
  auto one = HttpGet(port, "/api/v2/silence/" + id);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["status"]["state"], "active");
  EXPECT_EQ(HttpGet(port, "/api/v2/silence/00000000-0000-4000-8000-000000000000").status, 404);

  // Silences persist across a restart.
  pharos->Signal(SIGTERM);
  ASSERT_EQ(pharos->WaitExit(std::chrono::seconds(30)), 0) << pharos->Log();
  pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  const int port2 = pharos->port();
  ASSERT_EQ(RunAmtool(port2, {"silence", "query", "-q"}, &out), 0) << out;
  EXPECT_EQ(Trim(out), id);

  // amtool expire; the silence moves to expired.
  ASSERT_EQ(RunAmtool(port2, {"silence", "expire", id}, &out), 0) << out;
  ASSERT_EQ(RunAmtool(port2, {"silence", "query", "-q"}, &out), 0) << out;
  EXPECT_EQ(Trim(out), "");
  ASSERT_EQ(RunAmtool(port2, {"silence", "query", "--expired", "-q"}, &out), 0) << out;
  EXPECT_EQ(Trim(out), id);

  // amtool reads the status endpoint (config, cluster, version).
  ASSERT_EQ(RunAmtool(port2, {"config", "show"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("receiver: hook"));
}

TEST(AlertingIntegration, BadAlertsGetClearErrors) {
  TempDir dir;
  CaptureServer hook;
  auto pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  auto r = PostAlerts(pharos->port(), "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("not valid JSON"));
  r = PostAlerts(pharos->port(), R"([{"labels":{}}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("at least one label pair required"));
  r = HttpCall(pharos->port(), "POST", "/api/v2/silences",
               R"({"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2030-01-01T00:00:00Z",)"
               R"("endsAt":"2029-01-01T00:00:00Z","createdBy":"x","comment":"y"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("start time must be before end time"));
}

TEST(AlertingIntegration, PrometheusSendsItsAlertsToPharos) {
  const std::string prom = "/usr/bin/prometheus";
  if (access(prom.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus not installed";
  TempDir dir;
  CaptureServer pager, other;
  auto pharos = StartPharos(
      dir, "scrape_configs: []\n"
           "alertmanager:\n"
           "  config:\n"
           "    route:\n"
           "      receiver: other\n"
           "      group_wait: 100ms\n"
           "      routes:\n"
           "        - matchers: ['severity=\"critical\"']\n"
           "          receiver: pager\n"
           "    receivers:\n"
           "      - name: pager\n"
           "        webhook_configs: [{url: 'http://127.0.0.1:" + Port(pager.port()) + "/'}]\n"
           "      - name: other\n"
           "        webhook_configs: [{url: 'http://127.0.0.1:" + Port(other.port()) + "/'}]\n");
  int prom_port = FreePort();
  std::string rules = dir.Write("rules.yml",
                                "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
                                "      - alert: AlwaysFiring\n        expr: vector(1)\n"
                                "        labels: {severity: critical}\n"
                                "        annotations: {summary: 'from prometheus'}\n");
  std::string cfg = dir.Write("prometheus.yml",
                              "global:\n  evaluation_interval: 1s\n"
                              "rule_files: ['" + rules + "']\n"
                              "alerting:\n  alertmanagers:\n    - static_configs:\n"
                              "        - targets: ['127.0.0.1:" + Port(pharos->port()) + "']\n");
  std::string cmd = prom + " --config.file=" + cfg + " --storage.tsdb.path=" + dir.path() +
                    // Re-send every second: the first send can happen before Prometheus has
                    // discovered its Alertmanagers (it then drops the batch, as designed).
                    "/prom --rules.alert.resend-delay=1s --web.listen-address=127.0.0.1:" +
                    Port(prom_port) + " > " +
                    dir.path() + "/prometheus.log 2>&1 & echo $! > " + dir.path() + "/prom.pid";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  bool got = pager.WaitForRequests(1, std::chrono::seconds(45));
  (void)std::system(("kill $(cat " + dir.path() + "/prom.pid) 2>/dev/null").c_str());
  ASSERT_TRUE(got) << pharos->Log();
  json msg = json::parse(pager.Requests()[0].body);
  EXPECT_EQ(msg["commonLabels"]["alertname"], "AlwaysFiring");
  EXPECT_EQ(msg["commonAnnotations"]["summary"], "from prometheus");
  EXPECT_THAT(msg["alerts"][0]["generatorURL"].get<std::string>(), HasSubstr("/graph?g0.expr="));
  EXPECT_TRUE(other.Requests().empty());
}

TEST(AlertingIntegration, ReceiverFaultsRetriedAndIsolated) {
  TempDir dir;
  CaptureServer flaky, hang, healthy;
  flaky.Plan({{.status = 500, .body = "boom"}, {.status = 200}});
  hang.Plan({{.hang = true}});
  auto pharos = StartPharos(
      dir, "scrape_configs: []\n"
           "alertmanager:\n"
           "  config:\n"
           "    route: {receiver: team, group_wait: 100ms, group_interval: 30s, repeat_interval: 1h}\n"
           "    receivers:\n"
           "      - name: team\n"
           "        webhook_configs:\n"
           "          - {url: 'http://127.0.0.1:" + Port(flaky.port()) + "/'}\n"
           "          - {url: 'http://127.0.0.1:" + Port(hang.port()) + "/', timeout: 2s}\n"
           "          - {url: 'http://127.0.0.1:" + Port(healthy.port()) + "/'}\n");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(PostAlerts(pharos->port(), kDiskAlert).status, 200);
  // The healthy receiver is not held up by the hanging one.
  ASSERT_TRUE(healthy.WaitForRequests(1, std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // The flaky one: 500, retried after backoff, 200 — and then nothing more (delivered once).
  ASSERT_TRUE(flaky.WaitForRequests(2, std::chrono::seconds(10))) << pharos->Log();
  EXPECT_EQ(flaky.Requests()[0].body, flaky.Requests()[1].body);
  // The hanging one times out and is retried.
  ASSERT_TRUE(hang.WaitForRequests(2, std::chrono::seconds(15))) << pharos->Log();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(flaky.Requests().size(), 2u);
  EXPECT_EQ(healthy.Requests().size(), 1u);
}

TEST(AlertingIntegration, RestartNeitherResendsNorDrops) {
  TempDir dir;
  CaptureServer hook;
  // 1) Sent before the restart: not sent again after it (notification log on disk).
  auto pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  ASSERT_EQ(PostAlerts(pharos->port(), kDiskAlert).status, 200);
  ASSERT_TRUE(hook.WaitForRequests(1, std::chrono::seconds(10)));
  pharos->Signal(SIGTERM);
  ASSERT_EQ(pharos->WaitExit(std::chrono::seconds(30)), 0) << pharos->Log();
  pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  ASSERT_EQ(PostAlerts(pharos->port(), kDiskAlert).status, 200);  // the sender re-sends
  std::this_thread::sleep_for(std::chrono::seconds(3));  // group_wait 200ms, interval 1s
  EXPECT_EQ(hook.Requests().size(), 1u) << pharos->Log();

  // 2) Due but not yet sent when Pharos stops (group_wait 5s): sent after the restart.
  const std::string other =
      R"([{"labels":{"alertname":"HighLatency","severity":"warning"}}])";
  pharos->Signal(SIGTERM);
  ASSERT_EQ(pharos->WaitExit(std::chrono::seconds(30)), 0);
  pharos = StartPharos(dir, WebhookRouterConfig(hook.port(), "5s"));
  ASSERT_EQ(PostAlerts(pharos->port(), other).status, 200);
  pharos->Signal(SIGTERM);
  ASSERT_EQ(pharos->WaitExit(std::chrono::seconds(30)), 0);
  EXPECT_EQ(hook.Requests().size(), 1u);
  pharos = StartPharos(dir, WebhookRouterConfig(hook.port()));
  ASSERT_EQ(PostAlerts(pharos->port(), other).status, 200);  // the sender re-sends
  ASSERT_TRUE(hook.WaitForRequests(2, std::chrono::seconds(10))) << pharos->Log();
  EXPECT_EQ(json::parse(hook.Requests()[1].body)["commonLabels"]["alertname"], "HighLatency");
}

// A remote-write 1.0 body with one sample per series.
std::string WriteBody(const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>,
                                                  std::pair<int64_t, double>>>& samples) {
  prometheus::WriteRequest req;
  for (const auto& [labels, sample] : samples) {
    auto* ts = req.add_timeseries();
    for (const auto& [n, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    auto* smp = ts->add_samples();
    smp->set_timestamp(sample.first);
    smp->set_value(sample.second);
  }
  std::string raw, out;
  req.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

HttpResult RemoteWrite(int port, const std::string& body) {
  return HttpCall(port, "POST", "/api/v1/write", body,
                  {{"Content-Type", "application/x-protobuf"},
                   {"Content-Encoding", "snappy"},
                   {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The shipped CPU rule (deploy/rules/node.yml), with `for` and the evaluation interval made
// short for the test; everything else as shipped.
std::string ShortCpuRules() {
  std::string rules = ReadFile(std::string(PHAROS_SOURCE_DIR) + "/deploy/rules/node.yml");
  const std::string name = "  - name: node\n";
  size_t g = rules.find(name);
  if (g == std::string::npos) return "";
  rules.insert(g + name.size(), "    interval: 1s\n");
  size_t cpu = rules.find("alert: HostHighCpuUsage");
  size_t f = rules.find("for: 5m", cpu);
  if (cpu == std::string::npos || f == std::string::npos) return "";
  rules.replace(f, 7, "for: 3s");
  return rules;
}

// End to end: series pushed by remote write breach the shipped CPU rule; a PagerDuty Events
// API v2 trigger arrives at the local "PagerDuty", then a resolve after recovery. Also prints
// the time from the firing evaluation to the request leaving Pharos.
TEST(AlertingIntegration, CpuRuleToPagerDutyAndBack) {
  TempDir dir;
  CaptureServer pd;
  pd.Plan({{.status = 202, .body = R"({"status":"success","dedup_key":"x"})"},
           {.status = 202, .body = R"({"status":"success","dedup_key":"x"})"}});
  const std::string rules = ShortCpuRules();
  ASSERT_FALSE(rules.empty()) << "deploy/rules/node.yml changed shape";
  dir.Write("node.yml", rules);
  auto pharos = StartPharos(
      dir, "global: {evaluation_interval: 1s, external_labels: {cluster: eu1}}\n"
           "scrape_configs: []\n"
           "rule_files: [node.yml]\n"
           "alertmanager:\n"
           "  config:\n"
           "    route:\n"
           "      receiver: slack-null\n"
           "      group_by: [alertname, instance]\n"
           "      group_wait: 0s\n"
           "      group_interval: 1s\n"
           "      routes:\n"
           "        - matchers: [severity=~\"warning|critical\"]\n"
           "          receiver: oncall\n"
           "    receivers:\n"
           "      - name: slack-null\n"
           "      - name: oncall\n"
           "        pagerduty_configs:\n"
           "          - routing_key: 0123456789abcdef0123456789abcdef\n"
           "            url: http://127.0.0.1:" + Port(pd.port()) + "/v2/enqueue\n",
      {"--storage.retention.time=1d"});
  const int port = pharos->port();
  // 90% busy: idle grows by 0.1 s per second over the last minute.
  const int64_t now = NowMs();
  std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, std::pair<int64_t, double>>> s;
  const std::vector<std::pair<std::string, std::string>> idle = {
      {"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"instance", "h1:9100"},
      {"job", "node"}, {"mode", "idle"}};
  for (int i = 60; i >= 0; i -= 5) {
    s.push_back({idle, {now - i * 1000, 1000 + 0.1 * (60 - i)}});
  }
  for (const auto& one : s) ASSERT_EQ(RemoteWrite(port, WriteBody({one})).status, 204);

  ASSERT_TRUE(pd.WaitForRequests(1, std::chrono::seconds(30))) << pharos->Log();
  const int64_t arrived = NowMs();
  json trigger = json::parse(pd.Requests()[0].body);
  EXPECT_EQ(pd.Requests()[0].target, "/v2/enqueue");
  EXPECT_EQ(trigger["routing_key"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(trigger["event_action"], "trigger");
  const std::string dedup = trigger["dedup_key"];
  EXPECT_TRUE(std::regex_match(dedup, std::regex("[0-9a-f]{64}"))) << dedup;
  EXPECT_EQ(trigger["payload"]["severity"], "warning");
  EXPECT_THAT(trigger["payload"]["summary"].get<std::string>(), HasSubstr("HostHighCpuUsage"));
  EXPECT_THAT(trigger["payload"]["summary"].get<std::string>(), HasSubstr("h1:9100"));
  EXPECT_FALSE(trigger["payload"]["source"].get<std::string>().empty());
  EXPECT_THAT(trigger["payload"]["custom_details"]["firing"].get<std::string>(),
              HasSubstr("High CPU usage on h1:9100"));

  // When the rule went firing: the first raw ALERTS{alertstate="firing"} sample (a range
  // selector in an instant query returns the stored samples with their own timestamps).
  auto q = HttpGet(port, "/api/v1/query?query=" +
                             UrlEncode("ALERTS{alertname=\"HostHighCpuUsage\",alertstate=\"firing\"}[2m]") +
                             "&time=" + std::to_string(arrived / 1000 + 1));
  json qr = json::parse(q.body);
  ASSERT_EQ(qr["data"]["result"].size(), 1u) << q.body;
  const double fired_s = qr["data"]["result"][0]["values"][0][0].get<double>();
  std::printf("[ latency  ] firing evaluation -> PagerDuty request received: %.0f ms\n",
              static_cast<double>(arrived) - fired_s * 1000);
  // The router holds the alert with the external labels it was sent with.
  json held = json::parse(HttpGet(port, "/api/v2/alerts").body);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["labels"]["cluster"], "eu1");
  EXPECT_EQ(held[0]["labels"]["instance"], "h1:9100");

  // Recovery: idle jumps (the 5m rate is far above 0.2), the rule resolves, PagerDuty gets a
  // resolve for the same dedup_key.
  ASSERT_EQ(RemoteWrite(port, WriteBody({{idle, {NowMs(), 5000}}})).status, 204);
  ASSERT_TRUE(pd.WaitForRequests(2, std::chrono::seconds(30))) << pharos->Log();
  json resolve = json::parse(pd.Requests()[1].body);
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], dedup);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(pd.Requests().size(), 2u);
}

// Pharos's rules also notify external Alertmanagers (`alerting.alertmanagers`), here a real
// Alertmanager 0.25, as Prometheus's notifier does.
TEST(AlertingIntegration, RulesNotifyExternalAlertmanager) {
  const std::string am = "/usr/bin/prometheus-alertmanager";
  if (access(am.c_str(), X_OK) != 0) GTEST_SKIP() << "prometheus-alertmanager not installed";
  TempDir dir;
  const int am_port = FreePort();
  std::string am_cfg = dir.Write("am.yml", "route: {receiver: r}\nreceivers: [{name: r}]\n");
  std::string cmd = am + " --config.file=" + am_cfg + " --storage.path=" + dir.path() +
                    "/am --web.listen-address=127.0.0.1:" + Port(am_port) +
                    " --cluster.listen-address= > " + dir.path() + "/am.log 2>&1 & echo $! > " +
                    dir.path() + "/am.pid";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  dir.Write("rules.yml",
            "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
            "      - alert: PharosRuleFiring\n        expr: vector(1)\n"
            "        labels: {severity: info}\n");
  auto pharos = StartPharos(dir,
                            "global: {evaluation_interval: 1s, external_labels: {replica: a}}\n"
                            "scrape_configs: []\nrule_files: [rules.yml]\n"
                            "alerting:\n  alertmanagers:\n"
                            "    - static_configs: [{targets: ['127.0.0.1:" + Port(am_port) + "']}]\n");
  json alerts;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = HttpGet(am_port, "/api/v2/alerts");
    if (r.status == 200) {
      alerts = json::parse(r.body);
      if (!alerts.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto am_list = HttpGet(pharos->port(), "/api/v1/alertmanagers");
  (void)std::system(("kill $(cat " + dir.path() + "/am.pid) 2>/dev/null").c_str());
  ASSERT_EQ(alerts.size(), 1u) << pharos->Log() << ReadFile(dir.path() + "/am.log");
  EXPECT_EQ(alerts[0]["labels"]["alertname"], "PharosRuleFiring");
  EXPECT_EQ(alerts[0]["labels"]["replica"], "a");
  EXPECT_THAT(alerts[0]["generatorURL"].get<std::string>(), HasSubstr("/graph?g0.expr=vector%281%29"));
  EXPECT_THAT(am_list.body, HasSubstr("http://127.0.0.1:" + Port(am_port) + "/api/v2/alerts"));
}

// Email through a real SMTP server (aiosmtpd), routed by severity.
TEST(AlertingIntegration, CriticalAlertEmailedOverSmtp) {
  namespace nt = pharos::alerting::notify::testing;
  if (!nt::HaveAiosmtpd()) GTEST_SKIP() << "python3-aiosmtpd not installed";
  TempDir dir;
  const std::string out = dir.path() + "/mail";
  std::filesystem::create_directories(out);
  nt::HelperProcess smtp({"/usr/bin/python3", nt::TestDataDir() + "/smtp_server.py", "--out", out,
                          "--mode", "plain", "--auth", "pharos:s3cret"},
                         dir.path() + "/smtp.log");
  const int smtp_port = smtp.WaitReady();
  ASSERT_GT(smtp_port, 0) << ReadFile(dir.path() + "/smtp.log");
  auto pharos = StartPharos(
      dir, "scrape_configs: []\n"
           "alertmanager:\n"
           "  config:\n"
           "    global:\n"
           "      smtp_smarthost: 127.0.0.1:" + Port(smtp_port) + "\n"
           "      smtp_from: pharos@example.com\n"
           "      smtp_auth_username: pharos\n"
           "      smtp_auth_password: s3cret\n"
           "      smtp_require_tls: false\n"
           "    route:\n"
           "      receiver: nobody\n"
           "      group_wait: 0s\n"
           "      routes: [{matchers: ['severity=\"critical\"'], receiver: dba}]\n"
           "    receivers:\n"
           "      - name: nobody\n"
           "      - name: dba\n"
           "        email_configs: [{to: 'dba@example.com, oncall@example.com'}]\n");
  ASSERT_EQ(PostAlerts(pharos->port(),
                       R"([{"labels":{"alertname":"DatabaseDown","severity":"critical","instance":"pg1:9187"},)"
                       R"("annotations":{"summary":"PostgreSQL on pg1 is down"}}])")
                .status,
            200);
  ASSERT_TRUE(nt::WaitForFile(out + "/1.json", std::chrono::seconds(20))) << pharos->Log();
  json mail = json::parse(ReadFile(out + "/1.json"));
  EXPECT_EQ(mail["mail_from"], "pharos@example.com");
  EXPECT_EQ(mail["rcpt_tos"], json({"dba@example.com", "oncall@example.com"}));
  EXPECT_EQ(mail["auth_login"], "pharos");
  const std::string data = mail["data"];
  EXPECT_THAT(data, HasSubstr("Subject: [FIRING:1] DatabaseDown"));
  EXPECT_THAT(data, HasSubstr("multipart/alternative"));
  EXPECT_THAT(data, HasSubstr("text/html"));
  EXPECT_THAT(data, HasSubstr("PostgreSQL on pg1 is down"));
}

}  // namespace
}  // namespace pharos::testing
