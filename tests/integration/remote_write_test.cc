// Remote write into the real binary: 1.0 and 2.0 bodies, bad input, and persistence across a
// restart.
#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/prometheus/write/v2/types.pb.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'700'000'000'000;

std::string V1Body(int series, int samples, int64_t t0, const std::string& job = "rw") {
  prometheus::WriteRequest req;
  for (int s = 0; s < series; ++s) {
    auto* ts = req.add_timeseries();
    auto add = [&](const std::string& n, const std::string& v) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    };
    add("__name__", "rw_metric");
    add("job", job);
    add("series", std::to_string(s));
    for (int i = 0; i < samples; ++i) {
      auto* smp = ts->add_samples();
      smp->set_timestamp(t0 + i * 15000);
      smp->set_value(s * 100 + i);
    }
  }
  std::string raw, out;
  req.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string V2Body() {
  io::prometheus::write::v2::Request req;
  for (const char* s : {"", "__name__", "rw2_metric", "job", "v2"}) req.add_symbols(s);
  auto* ts = req.add_timeseries();
  for (uint32_t r : {1u, 2u, 3u, 4u}) ts->add_labels_refs(r);
  auto* smp = ts->add_samples();
  smp->set_timestamp(kT0);
  smp->set_value(42);
  std::string raw, out;
  req.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

const std::vector<std::pair<std::string, std::string>> kV1Headers = {
    {"Content-Type", "application/x-protobuf"},
    {"Content-Encoding", "snappy"},
    {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
const std::vector<std::pair<std::string, std::string>> kV2Headers = {
    {"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
    {"Content-Encoding", "snappy"},
    {"X-Prometheus-Remote-Write-Version", "2.0.0"}};

class RemoteWriteTest : public ::testing::Test {
 protected:
  void Start() {
    // Timestamps in the tests are fixed in the past; keep them inside retention.
    proc_ = std::make_unique<PharosProcess>(dir_.path(), std::vector<std::string>{"--storage.retention.time=100y"});
    port_ = proc_->WaitForPort();
    ASSERT_GT(port_, 0) << proc_->Log();
    ASSERT_TRUE(proc_->WaitForLog("ready to receive web requests")) << proc_->Log();
  }
  TempDir dir_;
  std::unique_ptr<PharosProcess> proc_;
  int port_ = 0;
};

TEST_F(RemoteWriteTest, V1AndV2AreWrittenAndPersistAcrossRestart) {
  Start();
  auto r1 = HttpCall(port_, "POST", "/api/v1/write", V1Body(10, 20, kT0), kV1Headers);
  EXPECT_EQ(r1.status, 204) << r1.body;
  auto r2 = HttpCall(port_, "POST", "/api/v1/write", V2Body(), kV2Headers);
  EXPECT_EQ(r2.status, 204) << r2.body;
  EXPECT_EQ(r2.headers["x-prometheus-remote-write-samples-written"], "1");
  EXPECT_EQ(r2.headers["x-prometheus-remote-write-histograms-written"], "0");

  auto series = HttpGet(port_, "/api/v1/series?match[]=%7Bjob%3D~%22rw%7Cv2%22%7D");
  ASSERT_EQ(series.status, 200) << series.body;
  EXPECT_THAT(series.body, HasSubstr(R"({"__name__":"rw_metric","job":"rw","series":"0"})"));
  EXPECT_THAT(series.body, HasSubstr(R"({"__name__":"rw2_metric","job":"v2"})"));
  auto values = HttpGet(port_, "/api/v1/label/series/values");
  EXPECT_THAT(values.body, HasSubstr(R"("0","1","2","3","4","5","6","7","8","9")"));

  proc_->Signal(SIGTERM);
  ASSERT_TRUE(proc_->WaitExit(std::chrono::seconds(10)).has_value());
  Start();
  auto again = HttpGet(port_, "/api/v1/series?match[]=rw_metric");
  EXPECT_EQ(std::count(again.body.begin(), again.body.end(), '{'), 1 + 10) << again.body;
  auto tsdb = HttpGet(port_, "/api/v1/status/tsdb");
  EXPECT_THAT(tsdb.body, HasSubstr(R"("numSeries":11)"));
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_storage_head_series 11"));
}

TEST_F(RemoteWriteTest, BadInputGetsClearErrors) {
  Start();
  // Unsupported message type and encoding: 415.
  auto bad_type = HttpCall(port_, "POST", "/api/v1/write", V1Body(1, 1, kT0),
                           {{"Content-Type", "application/x-protobuf;proto=foo.Bar"},
                            {"Content-Encoding", "snappy"}});
  EXPECT_EQ(bad_type.status, 415);
  auto gzip = HttpCall(port_, "POST", "/api/v1/write", V1Body(1, 1, kT0),
                       {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzip.status, 415);
  // Not snappy at all: 400.
  auto garbage = HttpCall(port_, "POST", "/api/v1/write", "this is not snappy", kV1Headers);
  EXPECT_EQ(garbage.status, 400);
  EXPECT_FALSE(garbage.body.empty());
  // Truncated body: 400.
  std::string body = V1Body(5, 5, kT0);
  auto truncated = HttpCall(port_, "POST", "/api/v1/write", body.substr(0, body.size() / 2), kV1Headers);
  EXPECT_EQ(truncated.status, 400);
  // A snappy header claiming 4 GiB: refused before allocating.
  std::string bomb = "\xff\xff\xff\xff\x0f";
  bomb += std::string(16, '\0');
  auto b = HttpCall(port_, "POST", "/api/v1/write", bomb, kV1Headers);
  EXPECT_EQ(b.status, 413) << b.body;
  // Invalid UTF-8 and duplicate labels in one series: 400 naming why; the valid series of the
  // same request are still written.
  prometheus::WriteRequest req;
  auto* good = req.add_timeseries();
  auto* gl = good->add_labels();
  gl->set_name("__name__");
  gl->set_value("good_one");
  auto* gs = good->add_samples();
  gs->set_timestamp(kT0);
  gs->set_value(1);
  auto* bad = req.add_timeseries();
  for (const char* v : {"a", "b"}) {
    auto* l = bad->add_labels();
    l->set_name("dup");
    l->set_value(v);
  }
  auto* bs = bad->add_samples();
  bs->set_timestamp(kT0);
  bs->set_value(1);
  std::string raw, comp;
  req.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &comp);
  auto mixed = HttpCall(port_, "POST", "/api/v1/write", comp, kV1Headers);
  EXPECT_EQ(mixed.status, 400);
  EXPECT_THAT(mixed.body, HasSubstr("duplicate label name"));
  EXPECT_THAT(HttpGet(port_, "/api/v1/series?match[]=good_one").body, HasSubstr("good_one"));
  // The server is still healthy.
  EXPECT_EQ(HttpGet(port_, "/-/healthy").status, 200);
  EXPECT_THAT(HttpGet(port_, "/metrics").body,
              HasSubstr("pharos_remote_write_requests_total{code=\"415\"} 2"));
}

TEST_F(RemoteWriteTest, SeriesApiErrors) {
  Start();
  auto none = HttpGet(port_, "/api/v1/series");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.body, R"({"status":"error","errorType":"bad_data","error":"no match[] parameter provided"})");
  auto bad_sel = HttpGet(port_, "/api/v1/series?match[]=%7Bjob%3D");
  EXPECT_EQ(bad_sel.status, 400);
  EXPECT_THAT(bad_sel.body, HasSubstr("\"errorType\":\"bad_data\""));
  auto bad_time = HttpGet(port_, "/api/v1/series?match[]=up&start=yesterday");
  EXPECT_EQ(bad_time.status, 400);
  EXPECT_THAT(bad_time.body, HasSubstr(R"(invalid parameter \"start\": cannot parse \"yesterday\" to a valid timestamp)"));
  auto empty_matcher = HttpGet(port_, "/api/v1/series?match[]=%7Bjob%3D%22%22%7D");
  EXPECT_EQ(empty_matcher.status, 400);
  auto rfc = HttpGet(port_, "/api/v1/labels?start=2023-11-14T22:13:20Z&end=1700000100.5");
  EXPECT_EQ(rfc.status, 200) << rfc.body;
}

}  // namespace
}  // namespace pharos::testing
