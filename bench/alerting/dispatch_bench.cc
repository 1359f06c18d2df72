// How many alerts per second the router's store + dispatcher can take in and group, and how
// many it can group and deliver through the pipeline (dedup, nflog write) to a no-op
// integration.
//
//   build/release/bench/alerting/am_dispatch_bench --benchmark_counters_tabular=true

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "alerting/am/alerts.h"
#include "alerting/am/dispatch.h"
#include "alerting/am/nflog.h"
#include "alerting/am/pipeline.h"
#include "alerting/clock.h"
#include "alerting/state/state_store.h"
#include "benchmark/benchmark.h"
#include "fake_route.h"

namespace pharos::alerting::am {
namespace {

class BenchClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t d) { now_.fetch_add(d); }

 private:
  std::atomic<int64_t> now_{1700000000000};
};

class NoopIntegration final : public notify::Integration {
 public:
  std::string type() const override { return "webhook"; }
  int index() const override { return 0; }
  bool send_resolved() const override { return true; }
  notify::NotifyResult Notify(const notify::NotificationContext&,
                              const std::vector<Alert>& alerts) override {
    sent += alerts.size();
    return {};
  }
  size_t sent = 0;
};

// `groups` alertnames x `per_group` instances.
std::vector<Alert> MakeAlerts(int groups, int per_group, int64_t now) {
  std::vector<Alert> out;
  for (int g = 0; g < groups; ++g) {
    for (int i = 0; i < per_group; ++i) {
      Alert a;
      a.labels = {{"alertname", "Alert" + std::to_string(g)},
                  {"instance", "host-" + std::to_string(i) + ":9100"},
                  {"job", "node"},
                  {"severity", g % 3 == 0 ? "critical" : "warning"}};
      a.annotations = {{"summary", "something is wrong"}};
      a.starts_at_ms = now;
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::unique_ptr<RouteNode> MakeTree() {
  RouteOpts ro;
  ro.receiver = "team";
  ro.group_by = {"alertname"};
  ro.repeat_interval_ms = 0;  // every flush sends
  Route r = testing::MakeRoute(ro);
  RouteOpts crit = ro;
  r.routes.push_back(
      testing::MakeRoute(crit, {Matcher::MustMake(MatchType::kEqual, "severity", "critical")}));
  return testing::Build(r);
}

// Put + route + group (no flushes): the ingest path of POST /api/v2/alerts.
void BM_IngestAndGroup(benchmark::State& state) {
  const int groups = static_cast<int>(state.range(0));
  BenchClock clock;
  AlertStore store({.clock = &clock, .max_alerts = 0});
  auto root = MakeTree();
  Dispatcher d(root.get(), &store, {.clock = &clock, .flush = [](const FlushRequest&) { return true; }});
  d.Subscribe();
  std::vector<Alert> batch = MakeAlerts(groups, 1000 / groups, clock.NowMs());
  for (auto _ : state) {
    benchmark::DoNotOptimize(store.Put(batch));
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
  state.counters["groups"] = static_cast<double>(d.num_groups());
}
BENCHMARK(BM_IngestAndGroup)->Arg(10)->Arg(100);

// Put, then flush every group through the pipeline to a no-op integration (each flush dedups
// against and writes the persisted notification log).
void BM_IngestGroupAndDeliver(benchmark::State& state) {
  const int groups = static_cast<int>(state.range(0));
  std::string dir = (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm")
                                                         : std::filesystem::temp_directory_path().string()) +
                    "/pharos_am_dispatch_bench";
  std::filesystem::remove_all(dir);
  BenchClock clock;
  auto st = StateStore::Open(dir);
  if (!st.ok()) {
    state.SkipWithError("state store");
    return;
  }
  auto nflog = Nflog::Open({.store = st->get(), .clock = &clock});
  auto integration = std::make_unique<NoopIntegration>();
  NoopIntegration* noop = integration.get();
  std::vector<PipelineReceiver> rs(1);
  rs[0].name = "team";
  rs[0].integrations.push_back(std::move(integration));
  PipelineOptions po;
  po.clock = &clock;
  po.nflog = nflog->get();
  auto pipeline = Pipeline::Create(po, std::move(rs));
  AlertStore store({.clock = &clock, .max_alerts = 0});
  auto root = MakeTree();
  Pipeline* p = pipeline->get();
  Dispatcher d(root.get(), &store,
               {.clock = &clock, .flush = [p](const FlushRequest& r) { return p->Exec(r); }});
  d.Subscribe();
  std::vector<Alert> batch = MakeAlerts(groups, 1000 / groups, clock.NowMs());
  for (auto _ : state) {
    clock.Advance(5 * 60 * 1000);
    benchmark::DoNotOptimize(store.Put(batch));
    d.RunDue(clock.NowMs());
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
  state.counters["delivered_alerts"] = static_cast<double>(noop->sent);
  d.Stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngestGroupAndDeliver)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pharos::alerting::am

BENCHMARK_MAIN();
