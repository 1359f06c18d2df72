// /api/v1/query and /api/v1/query_range on the real binary: result shapes, every error branch,
// form-encoded POST, gzip.
#include <zlib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"
#include "tests/integration/test_util.h"

namespace pharos::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proc_ = std::make_unique<PharosProcess>(dir_.path(), std::vector<std::string>{"--storage.retention.time=100y"});
    port_ = proc_->WaitForPort();
    ASSERT_GT(port_, 0) << proc_->Log();
    ASSERT_TRUE(proc_->WaitForLog("ready to receive web requests"));
    // Two series of a counter, one sample every 15s for 10 minutes.
    prometheus::WriteRequest req;
    for (const char* inst : {"a", "b"}) {
      auto* ts = req.add_timeseries();
      for (auto [n, v] : {std::pair{"__name__", "requests_total"}, {"job", "api"}, {"instance", inst}}) {
        auto* l = ts->add_labels();
        l->set_name(n);
        l->set_value(v);
      }
      for (int i = 0; i <= 40; ++i) {
        auto* s = ts->add_samples();
        s->set_timestamp(kT0 + i * 15000);
        s->set_value(i * (inst[0] == 'a' ? 1.5 : 3));
      }
    }
    std::string raw, comp;
    req.SerializeToString(&raw);
    snappy::Compress(raw.data(), raw.size(), &comp);
    auto r = HttpCall(port_, "POST", "/api/v1/write", comp,
                      {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "snappy"}});
    ASSERT_EQ(r.status, 204) << r.body;
  }
  HttpResult Get(const std::string& target) { return HttpGet(port_, target); }

  TempDir dir_;
  std::unique_ptr<PharosProcess> proc_;
  int port_ = 0;
};

TEST_F(QueryApiTest, ResultShapes) {
  // t = kT0 + 300s
  auto v = Get("/api/v1/query?query=requests_total%7Binstance%3D%22a%22%7D&time=1700000300");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.body,
            R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)"
            R"({"__name__":"requests_total","instance":"a","job":"api"},"value":[1700000300,"30"]}]}})");
  auto r = Get("/api/v1/query?query=rate(requests_total%5B1m%5D)&time=1700000300.5");
  EXPECT_THAT(r.body, HasSubstr(R"("value":[1700000300.500,"0.09999999999999999"])"));
  EXPECT_THAT(r.body, Not(HasSubstr("__name__")));
  auto s = Get("/api/v1/query?query=1%2B1&time=1700000000");
  EXPECT_EQ(s.body, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}})");
  auto str = Get("/api/v1/query?query=%22hello%22&time=1700000000");
  EXPECT_EQ(str.body, R"({"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}})");
  auto m = Get("/api/v1/query_range?query=sum(requests_total)&start=1700000000&end=1700000060&step=30");
  EXPECT_EQ(m.body,
            R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},)"
            R"("values":[[1700000000,"0"],[1700000030,"9"],[1700000060,"18"]]}]}})");
  auto inf = Get("/api/v1/query?query=1%2F0&time=1700000000");
  EXPECT_THAT(inf.body, HasSubstr(R"("+Inf")"));
  auto nan = Get("/api/v1/query?query=0%2F0&time=1700000000");
  EXPECT_THAT(nan.body, HasSubstr(R"("NaN")"));
  auto rfc = Get("/api/v1/query?query=sum(requests_total)&time=2023-11-14T22:18:20Z");
  EXPECT_THAT(rfc.body, HasSubstr(R"("value":[1700000300,"90"])"));
}

TEST_F(QueryApiTest, PostFormAndGzip) {
  auto p = HttpCall(port_, "POST", "/api/v1/query", "query=sum(requests_total)&time=1700000300",
                    {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(p.status, 200);
  EXPECT_THAT(p.body, HasSubstr(R"("value":[1700000300,"90"])"));
  auto g = HttpCall(port_, "GET",
                    "/api/v1/query_range?query=requests_total&start=1700000000&end=1700000600&step=15",
                    "", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.headers["content-encoding"], "gzip");
  std::string out(1 << 20, '\0');
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(g.body.data());
  zs.avail_in = static_cast<uInt>(g.body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  ASSERT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_THAT(out, StartsWith(R"({"status":"success","data":{"resultType":"matrix")"));
}

TEST_F(QueryApiTest, ErrorBranches) {
  auto check = [&](const std::string& target, int status, const std::string& type,
                   const std::string& msg) {
    auto r = Get(target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr("\"errorType\":\"" + type + "\"")) << target;
    EXPECT_THAT(r.body, HasSubstr(msg)) << target;
  };
  check("/api/v1/query?query=foo(bar)", 400, "bad_data", R"(unknown function with name \"foo\")");
  check("/api/v1/query?query=sum(", 400, "bad_data", "parse error");
  check("/api/v1/query?query=up&time=soon", 400, "bad_data",
        R"(invalid parameter \"time\": cannot parse \"soon\" to a valid timestamp)");
  check("/api/v1/query_range?query=up&end=10&step=1", 400, "bad_data", R"(invalid parameter \"start\")");
  check("/api/v1/query_range?query=up&start=10&end=5&step=1", 400, "bad_data",
        "end timestamp must not be before start time");
  check("/api/v1/query_range?query=up&start=0&end=10&step=0", 400, "bad_data",
        "zero or negative query resolution step widths are not accepted");
  check("/api/v1/query_range?query=up&start=0&end=10&step=-1", 400, "bad_data",
        "zero or negative query resolution step widths are not accepted");
  check("/api/v1/query_range?query=up&start=0&end=100000&step=1", 400, "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries");
  check("/api/v1/query_range?query=up&start=0&end=10&step=often", 400, "bad_data",
        R"(invalid parameter \"step\")");
  check("/api/v1/query?query=up&timeout=forever", 400, "bad_data", R"(invalid parameter \"timeout\")");
  // Many-to-many matching: an execution error, 422.
  check("/api/v1/query?query=requests_total%20%2B%20on(job)%20requests_total&time=1700000300", 422,
        "execution", "many-to-many matching not allowed");
  // A range vector where an instant vector is needed: a type error at parse time.
  check("/api/v1/query?query=sum(requests_total%5B5m%5D)", 400, "bad_data",
        "expected type instant vector in aggregation expression, got range vector");
}

}  // namespace
}  // namespace pharos::testing
