// Remote-write decode + append throughput (samples/s) and allocations per request, for 1.0 and
// 2.0 requests of 2,000 samples with node-exporter-like label sets (~10 labels, 15 s apart
// timestamps), against protobuf generated-code parsing as the baseline.
//   build/release/bench/server/remote_write_bench --benchmark_min_time=0.5
//
// "allocs/req" counts operator new calls per request (a counting global operator new below).

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "server/ingest/remote_write_append.h"
#include "server/ingest/remote_write_decoder.h"
#include "server/ingest/snappy_block.h"
#include "tests/server/ingest/rw_test_util.h"

// GCC flags free() on memory from this operator new once both are inlined (a false positive:
// they are a matched pair).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<uint64_t> g_allocs{0};
}  // namespace

void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace pharos::ingest {
namespace {

constexpr int kSamplesPerRequest = 2000;
constexpr int64_t kT0 = 1'700'000'000'000;

// Accepts everything; refs 1.. for new series (the cheapest possible storage, so the figures
// measure ingest decoding).
class NullAppender : public storage::Appender {
 public:
  storage::AppendResult Append(storage::SeriesRef ref, const Labels& labels, int64_t,
                               double) override {
    ++accepted_;
    if (ref == 0) {
      benchmark::DoNotOptimize(labels.size());
      ref = ++next_ref_;
    }
    return {ref, storage::RejectReason::kNone};
  }
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}
  size_t NumAccepted() const override { return accepted_; }
  size_t NumRejected() const override { return 0; }

 private:
  size_t accepted_ = 0;
  storage::SeriesRef next_ref_ = 0;
};

// `per_series` samples per series (Prometheus sends ~1 per series per batch when caught up,
// more when catching up); `series_offset` picks a different slice of series.
std::string BodyV1(int per_series, int series_offset = 0) {
  ::prometheus::WriteRequest req;
  for (int i = 0; i < kSamplesPerRequest / per_series; ++i) {
    std::vector<std::pair<int64_t, double>> samples;
    for (int j = 0; j < per_series; ++j) samples.emplace_back(kT0 + 15000 * j, 1e6 + i * 0.25 + j);
    testing::AddV1Series(&req, testing::NodeExporterLabels(i + series_offset, 200), samples);
  }
  return testing::Snappy(req.SerializeAsString());
}

std::string BodyV2(int per_series, int series_offset = 0) {
  testing::V2Builder b;
  for (int i = 0; i < kSamplesPerRequest / per_series; ++i) {
    std::vector<std::pair<int64_t, double>> samples;
    for (int j = 0; j < per_series; ++j) samples.emplace_back(kT0 + 15000 * j, 1e6 + i * 0.25 + j);
    auto* ts = b.AddSeries(testing::NodeExporterLabels(i + series_offset, 200), samples);
    ts->mutable_metadata()->set_type(io::prometheus::write::v2::Metadata::METRIC_TYPE_COUNTER);
  }
  return testing::Snappy(b.req().SerializeAsString());
}

void Report(benchmark::State& state, uint64_t allocs, size_t body_bytes) {
  state.SetItemsProcessed(state.iterations() * kSamplesPerRequest);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body_bytes));
  state.counters["allocs/req"] =
      benchmark::Counter(static_cast<double>(allocs) / static_cast<double>(state.iterations()));
}

// Decode + append with the per-connection decoder and ref cache (steady state: series known).
void BM_DecodeAppend(benchmark::State& state, RemoteWriteVersion v) {
  const int per_series = static_cast<int>(state.range(0));
  const std::string body = v == RemoteWriteVersion::kV1 ? BodyV1(per_series) : BodyV2(per_series);
  RemoteWriteDecoder dec;
  SeriesRefCache cache;
  NullAppender app;
  if (!dec.DecodeSnappy(v, body).ok()) state.SkipWithError("decode failed");
  (void)AppendDecoded(dec.result(), app, &cache);  // warm: series known, buffers sized
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    if (!dec.DecodeSnappy(v, body).ok()) state.SkipWithError("decode failed");
    const AppendStats st = AppendDecoded(dec.result(), app, &cache);
    benchmark::DoNotOptimize(st.samples_written);
  }
  Report(state, g_allocs.load() - a0, body.size());
}
BENCHMARK_CAPTURE(BM_DecodeAppend, v1, RemoteWriteVersion::kV1)->Arg(1)->Arg(10);
BENCHMARK_CAPTURE(BM_DecodeAppend, v2, RemoteWriteVersion::kV2)->Arg(1)->Arg(10);

// Cold: every series new to the cache (each request a different slice of 2,000 series), so
// every series builds its Labels once.
void BM_DecodeAppendColdSeries(benchmark::State& state, RemoteWriteVersion v) {
  std::vector<std::string> bodies;
  for (int k = 0; k < 8; ++k) {
    bodies.push_back(v == RemoteWriteVersion::kV1 ? BodyV1(1, k * 100000) : BodyV2(1, k * 100000));
  }
  RemoteWriteDecoder dec;
  NullAppender app;
  size_t i = 0;
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    SeriesRefCache cache;  // empty: all misses
    if (!dec.DecodeSnappy(v, bodies[i++ % bodies.size()]).ok()) state.SkipWithError("decode");
    const AppendStats st = AppendDecoded(dec.result(), app, &cache);
    benchmark::DoNotOptimize(st.samples_written);
  }
  Report(state, g_allocs.load() - a0, bodies[0].size());
}
BENCHMARK_CAPTURE(BM_DecodeAppendColdSeries, v1, RemoteWriteVersion::kV1);
BENCHMARK_CAPTURE(BM_DecodeAppendColdSeries, v2, RemoteWriteVersion::kV2);

// Decode only (snappy + wire decode + validation + hashing).
void BM_Decode(benchmark::State& state, RemoteWriteVersion v) {
  const std::string body = v == RemoteWriteVersion::kV1 ? BodyV1(1) : BodyV2(1);
  RemoteWriteDecoder dec;
  if (!dec.DecodeSnappy(v, body).ok()) state.SkipWithError("decode failed");
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    if (!dec.DecodeSnappy(v, body).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(dec.result().series.data());
  }
  Report(state, g_allocs.load() - a0, body.size());
}
BENCHMARK_CAPTURE(BM_Decode, v1, RemoteWriteVersion::kV1);
BENCHMARK_CAPTURE(BM_Decode, v2, RemoteWriteVersion::kV2);

// Baseline: snappy + protobuf generated-code parsing into a reused message (parse only; no
// validation, no hashing).
template <typename Msg>
void BM_ProtobufParse(benchmark::State& state) {
  const std::string body = std::is_same_v<Msg, ::prometheus::WriteRequest> ? BodyV1(1) : BodyV2(1);
  std::string raw;
  Msg msg;
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    if (!SnappyUncompress(body, size_t{1} << 30, &raw).ok()) state.SkipWithError("snappy");
    if (!msg.ParseFromString(raw)) state.SkipWithError("parse");
    benchmark::DoNotOptimize(msg.timeseries_size());
  }
  Report(state, g_allocs.load() - a0, body.size());
}
BENCHMARK_TEMPLATE(BM_ProtobufParse, ::prometheus::WriteRequest)->Name("BM_ProtobufParse/v1");
BENCHMARK_TEMPLATE(BM_ProtobufParse, io::prometheus::write::v2::Request)
    ->Name("BM_ProtobufParse/v2");

// Baseline with appending as a straightforward handler would: protobuf parse, then per series
// build Labels (sorted, validated by the constructor's rules) and append every sample.
void BM_ProtobufParseAppend_v1(benchmark::State& state) {
  const std::string body = BodyV1(1);
  std::string raw;
  ::prometheus::WriteRequest msg;
  NullAppender app;
  std::vector<Label> ls;
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    if (!SnappyUncompress(body, size_t{1} << 30, &raw).ok()) state.SkipWithError("snappy");
    if (!msg.ParseFromString(raw)) state.SkipWithError("parse");
    for (const auto& ts : msg.timeseries()) {
      ls.clear();
      for (const auto& l : ts.labels()) ls.push_back(Label{l.name(), l.value()});
      const Labels labels{std::span<const Label>(ls)};
      for (const auto& s : ts.samples()) app.Append(0, labels, s.timestamp(), s.value());
    }
  }
  Report(state, g_allocs.load() - a0, body.size());
}
BENCHMARK(BM_ProtobufParseAppend_v1);

void BM_ProtobufParseAppend_v2(benchmark::State& state) {
  const std::string body = BodyV2(1);
  std::string raw;
  io::prometheus::write::v2::Request msg;
  NullAppender app;
  std::vector<Label> ls;
  const uint64_t a0 = g_allocs.load();
  for (auto _ : state) {
    if (!SnappyUncompress(body, size_t{1} << 30, &raw).ok()) state.SkipWithError("snappy");
    if (!msg.ParseFromString(raw)) state.SkipWithError("parse");
    const auto& syms = msg.symbols();
    for (const auto& ts : msg.timeseries()) {
      ls.clear();
      const auto& refs = ts.labels_refs();
      for (int i = 0; i + 1 < refs.size(); i += 2) {
        if (refs[i] >= static_cast<uint32_t>(syms.size()) ||
            refs[i + 1] >= static_cast<uint32_t>(syms.size())) {
          continue;
        }
        ls.push_back(Label{syms[static_cast<int>(refs[i])], syms[static_cast<int>(refs[i + 1])]});
      }
      const Labels labels{std::span<const Label>(ls)};
      for (const auto& s : ts.samples()) app.Append(0, labels, s.timestamp(), s.value());
    }
  }
  Report(state, g_allocs.load() - a0, body.size());
}
BENCHMARK(BM_ProtobufParseAppend_v2);

}  // namespace
}  // namespace pharos::ingest

BENCHMARK_MAIN();
