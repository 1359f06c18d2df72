// ScrapeProcessor against a real DB: bodies in, samples (and stale markers) out, read back
// through the Querier.
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/scrape/scrape_loop.h"
#include "tests/server/scrape/test_util.h"

namespace pharos::scrape {
namespace {

using testing::Dataset;
using testing::Job;
using testing::QueryAll;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr std::string_view kText = "text/plain; version=0.0.4";
constexpr std::string_view kOM = "application/openmetrics-text; version=1.0.0";

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenDB(dir_.path());
    registry_ = std::make_unique<Registry>();
    metrics_ = std::make_unique<ScrapeMetrics>(*registry_);
  }

  std::unique_ptr<ScrapeProcessor> Make(config::ScrapeConfig c) {
    auto job = CompileJob(c);
    EXPECT_TRUE(job.ok()) << job.status();
    job_ = *job;
    return std::make_unique<ScrapeProcessor>(
        job_, Labels::FromStrings({"instance", "h:1", "job", c.job_name}), db_.get(),
        metrics_.get());
  }

  Dataset All() { return QueryAll(*db_, 0, kT0 * 2); }
  // Samples of the series whose String() is `series`.
  std::vector<std::pair<int64_t, double>> Get(const std::string& series) {
    Dataset d = All();
    auto it = d.find(series);
    return it == d.end() ? std::vector<std::pair<int64_t, double>>{} : it->second;
  }
  // The String() of series `name` of target {instance="h:1", job="j"} with `extra` labels.
  static std::string S(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> kv = {"__name__", name, "instance", "h:1", "job", "j"};
    kv.insert(kv.end(), extra.begin(), extra.end());
    std::vector<Label> ls;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) ls.push_back({kv[i], kv[i + 1]});
    return Labels(ls).String();
  }

  testing::TempPath dir_;
  std::unique_ptr<storage::DB> db_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<ScrapeMetrics> metrics_;
  std::shared_ptr<const JobSpec> job_;
};

TEST_F(ProcessorTest, TextBodyAndSyntheticSeries) {
  auto p = Make(Job("j"));
  ScrapeOutcome o = p->Process(absl::OkStatus(),
                               "# HELP a_total A counter.\n# TYPE a_total counter\n"
                               "a_total{x=\"1\"} 3\na_total{x=\"2\"} 4\nb 1.5\n",
                               kText, "", kT0, 0.25);
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.samples_scraped, 3u);
  EXPECT_EQ(o.series_added, 3u);
  Dataset d = All();
  EXPECT_EQ(d[S("a_total", {"x", "1"})], (std::vector<std::pair<int64_t, double>>{{kT0, 3}}));
  EXPECT_EQ(d[S("b")], (std::vector<std::pair<int64_t, double>>{{kT0, 1.5}}));
  EXPECT_EQ(d[S("up")], (std::vector<std::pair<int64_t, double>>{{kT0, 1}}));
  EXPECT_EQ(d[S("scrape_duration_seconds")], (std::vector<std::pair<int64_t, double>>{{kT0, 0.25}}));
  EXPECT_EQ(d[S("scrape_samples_scraped")], (std::vector<std::pair<int64_t, double>>{{kT0, 3}}));
  EXPECT_EQ(d[S("scrape_samples_post_metric_relabeling")], (std::vector<std::pair<int64_t, double>>{{kT0, 3}}));
  EXPECT_EQ(d[S("scrape_series_added")], (std::vector<std::pair<int64_t, double>>{{kT0, 3}}));
  auto md = p->Metadata();
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].metric, "a_total");
  EXPECT_EQ(md[0].type, "counter");
  EXPECT_EQ(md[0].help, "A counter.");

  // Second scrape: cached series, nothing added.
  o = p->Process(absl::OkStatus(), "a_total{x=\"1\"} 5\na_total{x=\"2\"} 6\nb 2\n", kText, "",
                 kT0 + 1000, 0.1);
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.series_added, 0u);
  EXPECT_EQ(Get(S("a_total", {"x", "1"})).size(), 2u);
  EXPECT_EQ(Get(S("scrape_series_added")).back().second, 0);
}

TEST_F(ProcessorTest, OpenMetricsGzipAndUnit) {
  auto p = Make(Job("j"));
  std::string body =
      "# TYPE req_seconds histogram\n# UNIT req_seconds seconds\n# HELP req_seconds Latency.\n"
      "req_seconds_bucket{le=\"1\"} 2\nreq_seconds_bucket{le=\"+Inf\"} 3\n"
      "req_seconds_sum 1.5\nreq_seconds_count 3\n# EOF\n";
  ScrapeOutcome o = p->Process(absl::OkStatus(), testing::Gzip(body), kOM, "gzip", kT0, 0.01);
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.samples_scraped, 4u);
  EXPECT_EQ(Get(S("req_seconds_bucket", {"le", "1.0"})).size(), 1u);
  auto md = p->Metadata();
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].type, "histogram");
  EXPECT_EQ(md[0].unit, "seconds");

  // OpenMetrics without # EOF is a parse error: the scrape fails.
  o = p->Process(absl::OkStatus(), "a 1\n", kOM, "", kT0 + 1000, 0.01);
  EXPECT_FALSE(o.status.ok());
  EXPECT_EQ(Get(S("up")).back(), (std::pair<int64_t, double>{kT0 + 1000, 0}));
}

TEST_F(ProcessorTest, HonorLabelsFalseRenamesConflicts) {
  auto p = Make(Job("j"));
  auto o = p->Process(absl::OkStatus(),
                      "m{job=\"other\",instance=\"x\",exported_job=\"e\"} 1\n", kText, "", kT0, 0);
  ASSERT_TRUE(o.status.ok()) << o.status;
  Dataset d = All();
  EXPECT_TRUE(d.count("{__name__=\"m\", exported_exported_job=\"other\", exported_instance=\"x\", "
                      "exported_job=\"e\", instance=\"h:1\", job=\"j\"}"))
      << ::testing::PrintToString(d);
}

TEST_F(ProcessorTest, HonorLabelsTrueKeepsScraped) {
  config::ScrapeConfig c = Job("j");
  c.honor_labels = true;
  auto p = Make(c);
  ASSERT_TRUE(p->Process(absl::OkStatus(), "m{job=\"other\"} 1\n", kText, "", kT0, 0).status.ok());
  Dataset d = All();
  EXPECT_TRUE(d.count("{__name__=\"m\", instance=\"h:1\", job=\"other\"}"))
      << ::testing::PrintToString(d);
}

TEST_F(ProcessorTest, HonorTimestamps) {
  auto on = Make(Job("j"));
  ASSERT_TRUE(on->Process(absl::OkStatus(), "m 1 1700000000500\n", kText, "", kT0 + 1000, 0).status.ok());
  EXPECT_EQ(Get(S("m")), (std::vector<std::pair<int64_t, double>>{{kT0 + 500, 1}}));

  config::ScrapeConfig c = Job("j");
  c.honor_timestamps = false;
  auto off = Make(c);
  ASSERT_TRUE(off->Process(absl::OkStatus(), "m 2 1700000000500\n", kText, "", kT0 + 2000, 0).status.ok());
  EXPECT_EQ(Get(S("m")).back(), (std::pair<int64_t, double>{kT0 + 2000, 2}));
}

TEST_F(ProcessorTest, MetricRelabelDropsAndRewrites) {
  config::ScrapeConfig c = Job("j");
  c.metric_relabel_configs.push_back(testing::Rule({"__name__"}, "", "drop_.*", "$1", "drop"));
  c.metric_relabel_configs.push_back(testing::Rule({"x"}, "y"));
  auto p = Make(c);
  for (int i = 0; i < 2; ++i) {  // second pass uses the cache
    auto o = p->Process(absl::OkStatus(), "drop_me 1\nkeep{x=\"v\"} 2\n", kText, "", kT0 + i * 1000, 0);
    ASSERT_TRUE(o.status.ok());
    EXPECT_EQ(o.samples_scraped, 2u);
    EXPECT_EQ(o.samples_post_relabel, 1u);
  }
  Dataset d = All();
  EXPECT_FALSE(d.count(S("drop_me")));
  EXPECT_EQ(d[S("keep", {"x", "v", "y", "v"})].size(), 2u) << ::testing::PrintToString(d);
}

TEST_F(ProcessorTest, SampleLimitFailsWholeScrape) {
  config::ScrapeConfig c = Job("j");
  c.sample_limit = 2;
  auto p = Make(c);
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 1\nb 1\n", kText, "", kT0, 0).status.ok());
  auto o = p->Process(absl::OkStatus(), "a 2\nb 2\nc 2\n", kText, "", kT0 + 1000, 0);
  ASSERT_FALSE(o.status.ok());
  EXPECT_THAT(std::string(o.status.message()), ::testing::HasSubstr("sample limit exceeded"));
  Dataset d = All();
  EXPECT_EQ(d[S("up")].back(), (std::pair<int64_t, double>{kT0 + 1000, 0}));
  EXPECT_EQ(d[S("scrape_samples_scraped")].back().second, 3);
  EXPECT_FALSE(d.count(S("c")));  // nothing of the failed scrape was stored
  // a and b end with a stale marker at the failed scrape.
  ASSERT_EQ(d[S("a")].size(), 2u);
  EXPECT_TRUE(storage::IsStaleNaN(d[S("a")][1].second));
  EXPECT_EQ(d[S("a")][1].first, kT0 + 1000);
  EXPECT_NE(registry_->Expose().find("pharos_scrape_samples_rejected_total{job=\"j\",reason=\"sample_limit\"} 3"),
            std::string::npos)
      << registry_->Expose();
}

TEST_F(ProcessorTest, LabelLimits) {
  config::ScrapeConfig c = Job("j");
  c.label_limit = 3;  // __name__, instance, job
  auto p = Make(c);
  EXPECT_TRUE(p->Process(absl::OkStatus(), "a 1\n", kText, "", kT0, 0).status.ok());
  auto o = p->Process(absl::OkStatus(), "a 1\nb{x=\"1\"} 1\n", kText, "", kT0 + 1000, 0);
  ASSERT_FALSE(o.status.ok());
  EXPECT_THAT(std::string(o.status.message()), ::testing::HasSubstr("label_limit exceeded"));

  config::ScrapeConfig c2 = Job("j");
  c2.label_value_length_limit = 3;
  auto p2 = Make(c2);
  EXPECT_FALSE(p2->Process(absl::OkStatus(), "a{x=\"long\"} 1\n", kText, "", kT0, 0).status.ok());
  config::ScrapeConfig c3 = Job("j");
  c3.label_name_length_limit = 4;
  auto p3 = Make(c3);
  EXPECT_FALSE(p3->Process(absl::OkStatus(), "a{longname=\"v\"} 1\n", kText, "", kT0, 0).status.ok());
}

TEST_F(ProcessorTest, BodySizeLimitAfterGunzip) {
  config::ScrapeConfig c = Job("j");
  c.body_size_limit = 100;
  auto p = Make(c);
  std::string big;
  for (int i = 0; i < 50; ++i) big += "metric_" + std::to_string(i) + " 1\n";
  auto o = p->Process(absl::OkStatus(), testing::Gzip(big), kText, "gzip", kT0, 0);
  ASSERT_FALSE(o.status.ok());
  EXPECT_THAT(std::string(o.status.message()), ::testing::HasSubstr("body size limit"));
  EXPECT_EQ(Get(S("up")).back().second, 0);
}

TEST_F(ProcessorTest, StalenessWhenSeriesDisappearsAndTargetGoesDown) {
  auto p = Make(Job("j"));
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 1\nb 1\nts 1 1700000000000\n", kText, "", kT0, 0).status.ok());
  // b disappears: stale marker at the next scrape.
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 2\n", kText, "", kT0 + 1000, 0).status.ok());
  auto b = Get(S("b"));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].first, kT0 + 1000);
  EXPECT_TRUE(storage::IsStaleNaN(b[1].second));
  // Explicit-timestamp series are not tracked for staleness.
  EXPECT_EQ(Get(S("ts")).size(), 1u);
  // The target goes down: a goes stale, up = 0 (not stale).
  auto o = p->Process(absl::UnavailableError("connection refused"), "", "", "", kT0 + 2000, 0.001);
  EXPECT_FALSE(o.status.ok());
  EXPECT_EQ(o.stale_markers, 1u);
  auto a = Get(S("a"));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(storage::IsStaleNaN(a[2].second));
  EXPECT_EQ(Get(S("up")).back(), (std::pair<int64_t, double>{kT0 + 2000, 0}));
  // Still down: no more markers. Back up: a again.
  EXPECT_EQ(p->Process(absl::UnavailableError("x"), "", "", "", kT0 + 3000, 0).stale_markers, 0u);
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 3\n", kText, "", kT0 + 4000, 0).status.ok());
  EXPECT_EQ(Get(S("a")).back(), (std::pair<int64_t, double>{kT0 + 4000, 3}));

  // The target is removed: everything, synthetic series included, goes stale.
  p->WriteEndOfRunStaleMarkers(kT0 + 4500);
  EXPECT_TRUE(storage::IsStaleNaN(Get(S("a")).back().second));
  EXPECT_TRUE(storage::IsStaleNaN(Get(S("up")).back().second));
  EXPECT_EQ(Get(S("up")).back().first, kT0 + 4500);
}

TEST_F(ProcessorTest, InvalidOrNamelessSeriesFailScrape) {
  config::ScrapeConfig c = Job("j");
  c.metric_relabel_configs.push_back(testing::Rule({}, "", "(.*)", "$1", "labeldrop"));
  c.metric_relabel_configs.back().regex = "__name__";
  auto p = Make(c);
  auto o = p->Process(absl::OkStatus(), "a 1\n", kText, "", kT0, 0);
  ASSERT_FALSE(o.status.ok());
  EXPECT_THAT(std::string(o.status.message()), ::testing::HasSubstr("without metric name"));

  auto q = Make(Job("j"));
  o = q->Process(absl::OkStatus(), "a{b=\"\xff\"} 1\n", kText, "", kT0 + 1000, 0);
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(Get(S("up")).back(), (std::pair<int64_t, double>{kT0 + 1000, 0}));
}

TEST_F(ProcessorTest, DuplicateSeriesInOneScrapeRejected) {
  auto p = Make(Job("j"));
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 1\n", kText, "", kT0, 0).status.ok());
  auto o = p->Process(absl::OkStatus(), "a 2\na 3\n", kText, "", kT0 + 1000, 0);
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.appended, 1u);
  EXPECT_EQ(Get(S("a")).back(), (std::pair<int64_t, double>{kT0 + 1000, 2}));
}

TEST_F(ProcessorTest, AdoptStateCarriesStalenessAcrossReload) {
  auto p = Make(Job("j"));
  ASSERT_TRUE(p->Process(absl::OkStatus(), "a 1\nb 1\n", kText, "", kT0, 0).status.ok());
  auto q = Make(Job("j"));
  q->AdoptState(*p);
  ASSERT_TRUE(q->Process(absl::OkStatus(), "a 2\n", kText, "", kT0 + 1000, 0).status.ok());
  EXPECT_TRUE(storage::IsStaleNaN(Get(S("b")).back().second));
}

TEST(ScrapeLoopSchedule, OffsetFromHashAndTimestampAlignment) {
  // The first scrape lands at hash % interval within each interval, whenever the loop starts.
  for (int64_t now : {kT0, kT0 + 1, kT0 + 14999, kT0 + 7000}) {
    int64_t d = ScrapeLoop::InitialDelayMs(/*hash=*/12345, /*interval_ms=*/15000, now);
    EXPECT_GE(d, 0);
    EXPECT_LT(d, 15000);
    EXPECT_EQ((now + d) % 15000, 12345);
  }
  EXPECT_EQ(ScrapeLoop::AlignedTimestampMs(kT0 + 2, kT0, 15000), kT0);
  EXPECT_EQ(ScrapeLoop::AlignedTimestampMs(kT0 - 2, kT0, 15000), kT0);
  EXPECT_EQ(ScrapeLoop::AlignedTimestampMs(kT0 + 3, kT0, 15000), kT0 + 3);
  EXPECT_EQ(ScrapeLoop::AlignedTimestampMs(kT0 + 1, kT0, 200), kT0 + 1);  // too short to align
}

}  // namespace
}  // namespace pharos::scrape
