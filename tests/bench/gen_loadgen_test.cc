// Smoke tests for the macro-benchmark tools: the dataset is deterministic and well-formed, the
// remote-write requests decode as prometheus.WriteRequest the way Prometheus shapes them, and
// the load generator delivers every sample to the null sink.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "bench/gen/dataset.h"
#include "bench/gen/encode.h"
#include "bench/loadgen/loadgen.h"
#include "gtest/gtest.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"

namespace pharos::bench {
namespace {

constexpr int64_t kStart = 1'700'000'000'000 / 3'600'000 * 3'600'000;

DatasetOptions Small() {
  DatasetOptions o;
  o.series = 500;
  o.duration_ms = 10 * 60 * 1000;  // 40 scrapes
  o.start_ms = kStart;
  return o;
}

std::vector<std::vector<double>> AllValues(const Dataset& ds, int target) {
  std::vector<std::vector<double>> out;
  auto g = ds.Generator(target);
  int64_t t;
  std::vector<double> v;
  while (g.Next(&t, &v)) out.push_back(v);
  return out;
}

TEST(BenchDataset, DeterministicAndSized) {
  Dataset a(Small()), b(Small());
  ASSERT_EQ(a.series().size(), b.series().size());
  EXPECT_GE(a.series().size(), 500u);
  EXPECT_LT(a.series().size(), 800u);
  EXPECT_EQ(a.num_scrapes(), 40);
  for (size_t i = 0; i < a.series().size(); ++i) EXPECT_EQ(a.series()[i].labels, b.series()[i].labels);
  EXPECT_EQ(AllValues(a, 0), AllValues(b, 0));
  EXPECT_EQ(AllValues(a, 1), AllValues(b, 1));
  DatasetOptions other = Small();
  other.seed = 2;
  Dataset c(other);
  EXPECT_NE(AllValues(a, 1), AllValues(c, 1));
}

TEST(BenchDataset, CountersNeverDecreaseExceptAtRestart) {
  Dataset ds(Small());
  for (size_t t = 0; t < ds.targets().size(); ++t) {
    const auto& info = ds.targets()[t];
    auto vals = AllValues(ds, static_cast<int>(t));
    for (int j = 0; j < info.num_series; ++j) {
      const auto& labels = ds.series()[info.first_series + j].labels;
      const std::string& name = labels[0].second;
      ASSERT_EQ(labels[0].first, "__name__");
      bool counter = name.ends_with("_total") || name.ends_with("_bucket") ||
                     name.ends_with("_count");
      if (!counter) continue;
      for (size_t k = 1; k < vals.size(); ++k) {
        // api targets of hosts with host % 16 == 5 restart halfway.
        if (k == vals.size() / 2 && info.job == "api" && (t / 2) % 16 == 5) continue;
        ASSERT_GE(vals[k][j], vals[k - 1][j]) << name << " step " << k;
      }
    }
  }
}

TEST(BenchRemoteWrite, RequestsArePrometheusShaped) {
  Dataset ds(Small());
  RemoteWriteOptions ro;
  ro.shards = 3;
  ro.max_samples_per_send = 500;
  uint64_t samples = 0;
  std::map<std::string, int64_t> last_ts;  // per series key
  std::map<std::string, uint32_t> shard_of;
  absl::Status st = GenerateRemoteWrite(ds, ro, [&](EncodedRequest&& r) {
    EXPECT_LE(r.samples, 500u);
    EXPECT_LT(r.shard, 3u);
    std::string raw;
    EXPECT_TRUE(snappy::Uncompress(r.body.data(), r.body.size(), &raw));
    prometheus::WriteRequest req;
    EXPECT_TRUE(req.ParseFromString(raw));
    EXPECT_EQ(req.timeseries_size(), static_cast<int>(r.samples));
    for (const auto& ts : req.timeseries()) {
      EXPECT_EQ(ts.samples_size(), 1);
      EXPECT_EQ(ts.labels(0).name(), "__name__");
      std::string key;
      for (const auto& l : ts.labels()) key += l.name() + "=" + l.value() + ",";
      auto [it, fresh] = shard_of.emplace(key, r.shard);
      EXPECT_EQ(it->second, r.shard) << "series moved between shards";
      int64_t t = ts.samples(0).timestamp();
      auto lt = last_ts.find(key);
      if (lt != last_ts.end()) {
        EXPECT_GT(t, lt->second) << key;
      }
      last_ts[key] = t;
    }
    samples += r.samples;
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(samples, static_cast<uint64_t>(ds.num_samples()));
  EXPECT_EQ(last_ts.size(), ds.series().size());
}

TEST(BenchOpenMetrics, EndsWithEofOneLinePerSample) {
  Dataset ds(Small());
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(WriteOpenMetrics(ds, f).ok());
  std::rewind(f);
  std::string all;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
  std::fclose(f);
  ASSERT_TRUE(all.ends_with("\n# EOF\n"));
  EXPECT_EQ(static_cast<int64_t>(std::count(all.begin(), all.end(), '\n')), ds.num_samples() + 1);
  EXPECT_NE(all.find("node_cpu_seconds_total{cpu=\"0\",instance=\"host-000.prod.example.net:9100\","
                     "job=\"node\",mode=\"idle\"} "),
            std::string::npos);
}

TEST(BenchLoadgen, DeliversEverythingToTheNullSink) {
  Dataset ds(Small());
  RemoteWriteOptions ro;
  ro.shards = 2;
  RequestFile file;
  ASSERT_TRUE(GenerateRemoteWrite(ds, ro, [&](EncodedRequest&& r) {
                file.shards = std::max(file.shards, r.shard + 1);
                file.samples += r.samples;
                file.requests.push_back(std::move(r));
                return absl::OkStatus();
              }).ok());
  // Through the request file format and back.
  std::string path = ::testing::TempDir() + "/rw_" + std::to_string(::getpid()) + ".bin";
  {
    RequestFileWriter w;
    ASSERT_TRUE(w.Open(path).ok());
    for (const auto& r : file.requests) ASSERT_TRUE(w.Write(r).ok());
    ASSERT_TRUE(w.Close().ok());
  }
  auto back = ReadRequestFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->samples, file.samples);
  EXPECT_EQ(back->requests.size(), file.requests.size());
  EXPECT_EQ(back->shards, 2u);

  NullSink sink;
  auto port = sink.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  LoadOptions lo;
  lo.port = *port;
  lo.deadline = std::chrono::seconds(30);
  auto res = RunLoad(*back, lo);
  sink.Stop();
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->samples_ok, file.samples);
  EXPECT_EQ(res->samples_dropped, 0u);
  EXPECT_TRUE(res->non_2xx.empty());
  EXPECT_EQ(sink.requests(), file.requests.size());
  EXPECT_GT(res->samples_per_second(), 0);
}

TEST(BenchLoadgen, RetriesServerErrorsWithBackoff) {
  RequestFile file;
  EncodedRequest r;
  r.samples = 7;
  r.body = "x";
  file.requests.push_back(r);
  file.shards = 1;
  file.samples = 7;
  NullSink sink(/*fail_first=*/2);
  auto port = sink.Start();
  ASSERT_TRUE(port.ok());
  LoadOptions lo;
  lo.port = *port;
  lo.min_backoff = std::chrono::milliseconds(1);
  auto res = RunLoad(file, lo);
  sink.Stop();
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->samples_ok, 7u);
  EXPECT_EQ(res->retries, 2u);
  EXPECT_EQ(res->non_2xx.at(503), 2u);
  EXPECT_EQ(sink.requests(), 3u);
}

TEST(BenchLoadgen, NothingListeningCountsDropsWithinBounds) {
  RequestFile file;
  EncodedRequest r;
  r.samples = 10;
  r.body = "x";
  file.requests.push_back(r);
  file.shards = 1;
  file.samples = 10;
  LoadOptions lo;
  lo.port = 1;  // nothing listens on port 1
  lo.max_attempts = 3;
  lo.min_backoff = std::chrono::milliseconds(1);
  auto res = RunLoad(file, lo);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->samples_dropped, 10u);
  EXPECT_EQ(res->retries, 2u);
  EXPECT_EQ(res->connection_errors, 3u);
}

}  // namespace
}  // namespace pharos::bench
