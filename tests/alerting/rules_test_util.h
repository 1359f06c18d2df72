#pragma once

// A rule manager over real storage (storage::DB in a temp dir) and the real PromQL engine,
// driven by a fake clock: tests push samples, call EvalAt, and look at what was stored and
// what was sent.

#include <unistd.h>

#include <atomic>
#include <bit>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "alerting/clock.h"
#include "alerting/rules/manager.h"
#include "alerting/rules/rulefmt.h"
#include "gtest/gtest.h"
#include "query/engine/engine.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"
#include "storage/db/db.h"

namespace pharos::alerting::rules::testing {

inline LoggerPtr NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t t) { now_.store(t); }

 private:
  std::atomic<int64_t> now_;
};

// 2023-11-14T22:13:20Z: a round, realistic start time.
inline constexpr int64_t kT0 = 1'700'000'000'000;
inline constexpr int64_t kSec = 1000;
inline constexpr int64_t kMin = 60 * kSec;

class RulesEnv {
 public:
  explicit RulesEnv(std::string dir = "") : clock_(kT0) {
    static std::atomic<int> counter{0};
    if (dir.empty()) {
      dir_ = (std::filesystem::temp_directory_path() /
              ("pharos-rules-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                 .string();
      std::filesystem::remove_all(dir_);
      owns_dir_ = true;
    } else {
      dir_ = dir;
    }
    OpenDb();
  }
  ~RulesEnv() {
    if (manager_) manager_->Stop();
    manager_.reset();
    db_.reset();
    if (owns_dir_) std::filesystem::remove_all(dir_);
  }

  void OpenDb() {
    storage::DBOptions o;
    o.path = dir_;
    o.retention_ms = 0;
    o.flush_interval_ms = 0;
    o.now_ms = [this] { return clock_.NowMs(); };
    o.log = NullLogger();
    auto db = storage::DB::Open(std::move(o));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // A new manager (as after a restart); `skip_restore`: behave like a reload (no `for` state
  // restore, ALERTS written from the first evaluation).
  void NewManager(bool skip_restore = true, std::string external_url = "http://pharos:9090") {
    if (manager_) manager_->Stop();
    ManagerOptions o;
    o.query = EngineQueryFunc(&engine_, db_.get());
    o.appendable = db_.get();
    o.queryable = db_.get();
    o.notify = [this](std::vector<am::Alert> alerts) {
      for (auto& a : alerts) sent_.push_back(std::move(a));
    };
    o.clock = &clock_;
    o.external_url = std::move(external_url);
    o.log = NullLogger();
    o.run_scheduler = false;
    auto m = Manager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    if (skip_restore) {
      ASSERT_TRUE(manager_->Update({}).ok());
    }
  }

  absl::Status Load(const std::vector<std::pair<std::string, std::string>>& files,
                    int64_t interval_ms = 15 * kSec,
                    std::map<std::string, std::string> external_labels = {}) {
    RulesConfig c;
    c.default_interval_ms = interval_ms;
    c.external_labels = std::move(external_labels);
    for (const auto& [name, text] : files) {
      auto f = ParseRuleFile(text, name);
      if (!f.ok()) return f.status();
      c.files.push_back(std::move(*f));
    }
    return manager_->Update(c);
  }

  void Push(std::initializer_list<std::string_view> labels, int64_t t, double v) {
    auto app = db_->NewAppender();
    auto r = app->Append(0, Labels::FromStrings(labels), t, v);
    ASSERT_TRUE(r.ok()) << storage::RejectReasonName(r.reject);
    ASSERT_TRUE(app->Commit().ok());
  }
  void PushStale(std::initializer_list<std::string_view> labels, int64_t t) {
    Push(labels, t, std::bit_cast<double>(storage::kStaleNaNBits));
  }

  // Moves the clock and evaluates every group at that time.
  void EvalAt(int64_t t) {
    clock_.Set(t);
    manager_->EvalAt(t);
  }

  // Instant query result as "labels => value" lines, sorted.
  std::vector<std::string> Query(std::string_view expr, int64_t t) {
    auto r = engine_.InstantQuery(*db_, expr, t);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& s : r->series) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.10g", s.points.back().v);
      out.push_back(s.labels.String() + " => " + buf);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The raw samples of the series with exactly these labels in [mint, maxt].
  std::vector<std::pair<int64_t, double>> Raw(std::initializer_list<std::string_view> labels,
                                              int64_t mint, int64_t maxt) {
    Labels want = Labels::FromStrings(labels);
    std::vector<std::pair<int64_t, double>> out;
    auto q = db_->NewQuerier(mint, maxt);
    EXPECT_TRUE(q.ok());
    if (!q.ok()) return out;
    std::vector<Matcher> ms;
    for (const Label& l : want) ms.push_back(Matcher::MustMake(MatchType::kEqual, l.name, l.value));
    auto set = (*q)->Select(ms);
    while (set->Next()) {
      if (!(set->At().labels() == want)) continue;
      auto it = set->At().Iterator();
      while (it->Next()) {
        if (it->T() >= mint && it->T() <= maxt) out.emplace_back(it->T(), it->V());
      }
    }
    return out;
  }

  // Takes the alerts sent so far.
  std::vector<am::Alert> TakeSent() { return std::exchange(sent_, {}); }

  // The state of alerting rule `name` ("inactive", "pending", "firing") per the manager.
  std::string State(std::string_view name) {
    for (const auto& g : manager_->Groups()) {
      for (const auto& r : g.rules) {
        if (r.name == name) return std::string(AlertStateName(r.state));
      }
    }
    return "<no rule>";
  }
  const RuleInfo* FindRule(const std::vector<GroupInfo>& gs, std::string_view name) {
    for (const auto& g : gs) {
      for (const auto& r : g.rules) {
        if (r.name == name) return &r;
      }
    }
    return nullptr;
  }

  FakeClock& clock() { return clock_; }
  storage::DB& db() { return *db_; }
  Manager& manager() { return *manager_; }
  promql::Engine& engine() { return engine_; }
  const std::string& dir() const { return dir_; }

 private:
  FakeClock clock_;
  std::string dir_;
  bool owns_dir_ = false;
  std::unique_ptr<storage::DB> db_;
  promql::Engine engine_{promql::EngineOptions{}};
  std::unique_ptr<Manager> manager_;
  std::vector<am::Alert> sent_;
};

}  // namespace pharos::alerting::rules::testing
