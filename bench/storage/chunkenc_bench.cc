// Chunk codec microbenchmarks: samples/s for encode and decode of every encoding, and the
// bytes/sample each one reaches on a realistic generated mix (tests/storage/chunkenc/
// test_data.h: 15 s scrapes with 0-5 ms jitter, counters, gauges, constants, 120 samples/chunk).
//
//   build/release/bench/storage/chunkenc_bench --benchmark_min_time=0.5

#include <cstdint>
#include <cstdlib>
#include <new>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/chunkenc/chunk.h"
#include "storage/chunkenc/internal/columnar.h"
#include "storage/chunkenc/xor.h"
#include "tests/storage/chunkenc/test_data.h"

// Counts heap allocations so benchmarks can report allocs per chunk (single-threaded use).
namespace {
size_t g_allocations = 0;
}  // namespace

// GCC 12 flags free() on memory from a replaced operator new as a mismatch (false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace pharos::chunkenc {
namespace {

constexpr size_t kSeries = 2000;
constexpr size_t kSamplesPerChunk = 120;

const std::vector<testing::Series>& Mix() {
  static const auto* mix = new std::vector<testing::Series>(
      testing::RealisticMix(kSeries, kSamplesPerChunk, 2024));
  return *mix;
}

enum Codec : int {
  kChosen = 0,
  kGorilla,
  kRegularConst,
  kRegularDecimalDelta,
  kGridDecimalDelta,
  kDeltaDecimalDelta,
  kDodDecimalDoD,
  kGridXor,
  kDodXor,
};

const char* CodecName(int c) {
  static const char* kNames[] = {"chosen",        "gorilla",          "regular+const",
                                 "regular+decimal_delta", "grid+decimal_delta",
                                 "delta+decimal_delta",   "dod+decimal_dod",
                                 "grid+xor",      "dod+xor"};
  return kNames[c];
}

// Encodes s with codec c; false if the codec does not apply to this series.
bool Encode(int c, const testing::Series& s, std::string* dst) {
  using TC = TimestampCodec;
  using VC = ValueCodec;
  switch (c) {
    case kChosen: EncodeChunk(s.ts, s.vs, dst); return true;
    case kGorilla: EncodeXorChunk(s.ts, s.vs, dst); return true;
    case kRegularConst: return internal::EncodeColumnarWith(s.ts, s.vs, TC::kRegular, VC::kConst, dst);
    case kRegularDecimalDelta:
      return internal::EncodeColumnarWith(s.ts, s.vs, TC::kRegular, VC::kDecimalDelta, dst);
    case kGridDecimalDelta:
      return internal::EncodeColumnarWith(s.ts, s.vs, TC::kGrid, VC::kDecimalDelta, dst);
    case kDeltaDecimalDelta:
      return internal::EncodeColumnarWith(s.ts, s.vs, TC::kDelta, VC::kDecimalDelta, dst);
    case kDodDecimalDoD:
      return internal::EncodeColumnarWith(s.ts, s.vs, TC::kDeltaOfDelta, VC::kDecimalDoD, dst);
    case kGridXor: return internal::EncodeColumnarWith(s.ts, s.vs, TC::kGrid, VC::kXor, dst);
    case kDodXor: return internal::EncodeColumnarWith(s.ts, s.vs, TC::kDeltaOfDelta, VC::kXor, dst);
  }
  return false;
}

struct Corpus {
  std::vector<const testing::Series*> series;
  std::vector<std::string> chunks;
  size_t samples = 0;
  size_t bytes = 0;
};

Corpus BuildCorpus(int c) {
  Corpus corpus;
  for (const auto& s : Mix()) {
    std::string chunk;
    if (!Encode(c, s, &chunk)) continue;
    corpus.series.push_back(&s);
    corpus.samples += s.ts.size();
    corpus.bytes += chunk.size();
    corpus.chunks.push_back(std::move(chunk));
  }
  return corpus;
}

void SetCounters(benchmark::State& state, const Corpus& corpus, size_t allocations) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.samples));
  state.counters["allocs_per_chunk"] =
      static_cast<double>(allocations) /
      (static_cast<double>(state.iterations()) * static_cast<double>(corpus.chunks.size()));
  state.counters["bytes_per_sample"] =
      static_cast<double>(corpus.bytes) / static_cast<double>(corpus.samples);
  state.counters["share_of_mix"] =
      static_cast<double>(corpus.series.size()) / static_cast<double>(Mix().size());
  state.SetLabel(CodecName(static_cast<int>(state.range(0))));
}

void BM_Encode(benchmark::State& state) {
  const int c = static_cast<int>(state.range(0));
  const Corpus corpus = BuildCorpus(c);
  std::string buf;
  buf.reserve(1 << 12);
  const size_t allocs_before = g_allocations;
  for (auto _ : state) {
    for (const auto* s : corpus.series) {
      buf.clear();
      benchmark::DoNotOptimize(Encode(c, *s, &buf));
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, corpus, g_allocations - allocs_before);
}

void BM_Decode(benchmark::State& state) {
  const Corpus corpus = BuildCorpus(static_cast<int>(state.range(0)));
  std::vector<int64_t> ts;
  std::vector<double> vs;
  ts.reserve(4096);
  vs.reserve(4096);
  const size_t allocs_before = g_allocations;
  for (auto _ : state) {
    for (const auto& chunk : corpus.chunks) {
      ts.clear();
      vs.clear();
      if (!DecodeChunk(chunk, &ts, &vs).ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(ts.data());
      benchmark::DoNotOptimize(vs.data());
    }
  }
  SetCounters(state, corpus, g_allocations - allocs_before);
}

void BM_Iterate(benchmark::State& state) {
  const Corpus corpus = BuildCorpus(static_cast<int>(state.range(0)));
  ChunkIterator it;
  it.Reset(corpus.chunks.front());
  while (it.Next()) {
  }
  const size_t allocs_before = g_allocations;
  for (auto _ : state) {
    double sum = 0;
    for (const auto& chunk : corpus.chunks) {
      it.Reset(chunk);
      while (it.Next()) sum += it.At().second;
    }
    benchmark::DoNotOptimize(sum);
  }
  SetCounters(state, corpus, g_allocations - allocs_before);
}

void BM_XorAppend(benchmark::State& state) {
  XorAppender app;
  size_t samples = 0;
  for (auto _ : state) {
    for (const auto& s : Mix()) {
      app.Reset();
      for (size_t i = 0; i < s.ts.size(); ++i) app.Append(s.ts[i], s.vs[i]);
      benchmark::DoNotOptimize(app.stream().data());
    }
  }
  for (const auto& s : Mix()) samples += s.ts.size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
}

void BM_XorHeadIterate(benchmark::State& state) {
  std::vector<XorAppender> heads(Mix().size());
  size_t samples = 0;
  for (size_t k = 0; k < heads.size(); ++k) {
    const auto& s = Mix()[k];
    for (size_t i = 0; i < s.ts.size(); ++i) heads[k].Append(s.ts[i], s.vs[i]);
    samples += s.ts.size();
  }
  for (auto _ : state) {
    double sum = 0;
    for (const auto& h : heads) {
      XorIterator it = h.Iterator();
      while (it.Next()) sum += it.At().second;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
}

// Bytes/sample per series kind, chosen vs Gorilla, on the mix as generated (jitter 0-5 ms) and
// with timestamps aligned to the 15 s grid (what Prometheus >= 2.49 does at scrape time within
// its 2 ms timestamp tolerance). Timing is not the point of this one.
void BM_BytesPerSampleByKind(benchmark::State& state) {
  const bool aligned = state.range(0) != 0;
  struct Acc {
    size_t ours = 0, gorilla = 0, samples = 0;
  };
  std::map<std::string, Acc> by_kind;
  Acc total;
  std::string a, b;
  for (auto _ : state) {
    by_kind.clear();
    total = {};
    for (const auto& s : Mix()) {
      std::vector<int64_t> ts = s.ts;
      if (aligned) {
        for (auto& t : ts) t = (t + 7500) / 15000 * 15000;
      }
      a.clear();
      b.clear();
      EncodeChunk(ts, s.vs, &a);
      EncodeXorChunk(ts, s.vs, &b);
      for (Acc* acc : {&by_kind[testing::KindName(s.kind)], &total}) {
        acc->ours += a.size();
        acc->gorilla += b.size();
        acc->samples += ts.size();
      }
    }
  }
  for (const auto& [name, acc] : by_kind) {
    state.counters[name] = static_cast<double>(acc.ours) / static_cast<double>(acc.samples);
  }
  state.counters["ALL_chosen"] = static_cast<double>(total.ours) / static_cast<double>(total.samples);
  state.counters["ALL_gorilla"] =
      static_cast<double>(total.gorilla) / static_cast<double>(total.samples);
  state.SetLabel(aligned ? "timestamps aligned to grid" : "timestamps with 0-5 ms jitter");
}

BENCHMARK(BM_BytesPerSampleByKind)->Arg(0)->Arg(1)->Iterations(1);
BENCHMARK(BM_Encode)->DenseRange(kChosen, kDodXor);
BENCHMARK(BM_Decode)->DenseRange(kChosen, kDodXor);
BENCHMARK(BM_Iterate)->Arg(kChosen)->Arg(kGorilla);
BENCHMARK(BM_XorAppend);
BENCHMARK(BM_XorHeadIterate);

}  // namespace
}  // namespace pharos::chunkenc

BENCHMARK_MAIN();
