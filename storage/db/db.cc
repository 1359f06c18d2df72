#include "storage/db/db.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "storage/chunkenc/chunk.h"
#include "storage/chunkenc/xor.h"
#include "storage/db/internal/codec.h"
#include "storage/index/mem_postings.h"
#include "storage/rocks/rocks_store.h"

namespace pharos::storage {

std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kNone: return "none";
    case RejectReason::kInvalidLabels: return "invalid_labels";
    case RejectReason::kOutOfRetention: return "out_of_retention";
    case RejectReason::kTooFarInFuture: return "too_far_in_future";
    case RejectReason::kSeriesLimit: return "series_limit";
  }
  return "unknown";
}

bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

namespace {

constexpr uint64_t kNoSegment = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kOpenChunkSeq = std::numeric_limits<uint64_t>::max() - 1;
constexpr uint64_t kOooSeq = std::numeric_limits<uint64_t>::max();
constexpr int kStripes = 64;
// Retention forgets an empty series only when no appender has used it for this long (see
// MemSeries::last_used_ms).
constexpr int64_t kSeriesRemovalGraceMs = 5 * 60 * 1000;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A sealed chunk not yet in RocksDB.
struct PendingChunk {
  int32_t partition;
  int64_t min_t, max_t;
  uint64_t seq;
  uint64_t wal_low;  // lowest WAL segment holding one of its samples
  std::string data;
};

struct MemSeries {
  MemSeries(SeriesRef r, Labels l) : ref(r), labels(std::move(l)) {}
  const SeriesRef ref;
  const Labels labels;
  std::atomic<bool> wal_logged{false};  // a record with its labels is in the WAL or RocksDB
  std::atomic<bool> persisted{false};   // its labels are in RocksDB
  // When an appender last looked the series up (DB clock, ms); set under the lookup's stripe
  // lock. Retention does not forget a series used within kSeriesRemovalGraceMs, so a sample
  // an appender has buffered for it is never committed into a forgotten series.
  std::atomic<int64_t> last_used_ms{0};

  absl::Mutex mu;
  chunkenc::XorAppender open ABSL_GUARDED_BY(mu);
  int32_t open_partition ABSL_GUARDED_BY(mu) = 0;
  int64_t open_since_ms ABSL_GUARDED_BY(mu) = 0;  // wall clock of the open chunk's first sample
  int64_t max_t ABSL_GUARDED_BY(mu) = std::numeric_limits<int64_t>::min();
  // Lowest WAL segment with a sample in `open` or `ooo`.
  uint64_t head_wal_low ABSL_GUARDED_BY(mu) = kNoSegment;
  // Samples older than the open chunk; the latest write for a timestamp wins.
  std::map<int64_t, double> ooo ABSL_GUARDED_BY(mu);
  std::vector<PendingChunk> pending ABSL_GUARDED_BY(mu);
  int32_t last_marked_partition ABSL_GUARDED_BY(mu) = std::numeric_limits<int32_t>::min();
  // True until the first chunk sealed after recovery: its data may overlap chunks already on
  // disk (the newest timestamp on disk is not tracked), so that chunk marks the series for
  // compaction.
  bool may_overlap_disk ABSL_GUARDED_BY(mu) = false;

  bool HeadEmpty() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return open.num_samples() == 0 && ooo.empty() && pending.empty();
  }
};

// Samples of one source (a chunk, the open chunk, the OOO buffer) with its precedence.
struct Run {
  uint64_t seq;
  std::vector<int64_t> ts;
  std::vector<double> vs;
};

class ArrayIterator final : public SampleIterator {
 public:
  ArrayIterator(std::vector<int64_t> ts, std::vector<double> vs, absl::Status err)
      : ts_(std::move(ts)), vs_(std::move(vs)), err_(std::move(err)) {}
  bool Next() override {
    if (i_ + 1 >= static_cast<int64_t>(ts_.size())) {
      i_ = static_cast<int64_t>(ts_.size());
      return false;
    }
    ++i_;
    return true;
  }
  bool Seek(int64_t t) override {
    if (i_ < 0) i_ = 0;
    if (i_ >= static_cast<int64_t>(ts_.size())) return false;
    if (ts_[i_] >= t) return true;
    auto it = std::lower_bound(ts_.begin() + i_, ts_.end(), t);
    i_ = it - ts_.begin();
    return i_ < static_cast<int64_t>(ts_.size());
  }
  int64_t T() const override { return ts_[i_]; }
  double V() const override { return vs_[i_]; }
  absl::Status Err() const override { return err_; }

 private:
  std::vector<int64_t> ts_;
  std::vector<double> vs_;
  absl::Status err_;
  int64_t i_ = -1;
};

// Merges runs into one time-ordered, deduplicated sequence: for equal timestamps the run with
// the highest seq wins (the latest write).
void MergeRuns(std::vector<Run>& runs, std::vector<int64_t>* ts, std::vector<double>* vs) {
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    if (a.ts.empty() || b.ts.empty()) return a.ts.size() < b.ts.size();
    return a.ts.front() < b.ts.front();
  });
  // Fast path: runs that don't overlap concatenate.
  bool disjoint = true;
  int64_t last = std::numeric_limits<int64_t>::min();
  bool any = false;
  size_t total = 0;
  for (const Run& r : runs) {
    if (r.ts.empty()) continue;
    total += r.ts.size();
    if (any && r.ts.front() <= last) disjoint = false;
    last = r.ts.back();
    any = true;
  }
  ts->reserve(total);
  vs->reserve(total);
  if (disjoint) {
    for (const Run& r : runs) {
      ts->insert(ts->end(), r.ts.begin(), r.ts.end());
      vs->insert(vs->end(), r.vs.begin(), r.vs.end());
    }
    return;
  }
  struct S {
    int64_t t;
    uint64_t seq;
    double v;
  };
  std::vector<S> all;
  all.reserve(total);
  for (const Run& r : runs) {
    for (size_t i = 0; i < r.ts.size(); ++i) all.push_back({r.ts[i], r.seq, r.vs[i]});
  }
  std::sort(all.begin(), all.end(), [](const S& a, const S& b) {
    return a.t != b.t ? a.t < b.t : a.seq < b.seq;
  });
  for (size_t i = 0; i < all.size(); ++i) {
    if (i + 1 < all.size() && all[i + 1].t == all[i].t) continue;  // a later write wins
    ts->push_back(all[i].t);
    vs->push_back(all[i].v);
  }
}

}  // namespace

class DB::Impl {
 public:
  explicit Impl(DBOptions o) : opts_(std::move(o)) {
    if (!opts_.now_ms) opts_.now_ms = SystemNowMs;
    if (opts_.registry) {
      Registry& r = *opts_.registry;
      appended_ = &r.AddCounter("pharos_storage_samples_appended_total",
                                "Samples committed to storage.").Get();
      rejected_ = &r.AddCounter("pharos_storage_samples_rejected_total",
                                "Samples refused at append, by reason.", {"reason"});
      ooo_ = &r.AddCounter("pharos_storage_out_of_order_samples_total",
                           "Committed samples older than their series' newest sample.").Get();
      dup_ = &r.AddCounter("pharos_storage_duplicate_samples_total",
                           "Samples identical to one already stored (dropped).").Get();
      series_created_ = &r.AddCounter("pharos_storage_series_created_total",
                                      "Series created in the head.").Get();
      series_removed_ = &r.AddCounter("pharos_storage_series_removed_total",
                                      "Series removed by retention.").Get();
      chunks_written_ = &r.AddCounter("pharos_storage_chunks_written_total",
                                      "Sealed chunks written to RocksDB.").Get();
      chunk_bytes_written_ = &r.AddCounter("pharos_storage_chunk_bytes_written_total",
                                           "Bytes of sealed chunks written to RocksDB.").Get();
      flush_seconds_ = &r.AddHistogram("pharos_storage_flush_duration_seconds",
                                       "Duration of head flushes.", {},
                                       ExponentialBuckets(0.001, 4, 9)).Get();
      flush_failures_ = &r.AddCounter("pharos_storage_flush_failures_total",
                                      "Head flushes that failed.").Get();
      partitions_dropped_ = &r.AddCounter("pharos_storage_retention_partitions_dropped_total",
                                          "Day partitions deleted by retention.").Get();
      compactions_ = &r.AddCounter("pharos_storage_compactions_total",
                                   "Series-partitions whose overlapping (out-of-order) chunks "
                                   "were rewritten into non-overlapping ones.").Get();
      r.AddCollector([this](MetricWriter& w) { Collect(w); });
    }
  }

  ~Impl() { (void)Close(); }

  // ---- Open and recovery -------------------------------------------------------------------

  absl::Status Open() {
    if (opts_.path.empty()) return absl::InvalidArgumentError("storage path is empty");
    auto start = std::chrono::steady_clock::now();
    RocksOptions ro;
    ro.path = opts_.path + "/rocksdb";
    auto rocks = RocksStore::Open(ro);
    if (!rocks.ok()) return rocks.status();
    rocks_ = std::move(*rocks);

    auto next_ref = rocks_->GetMeta("next_ref");
    if (!next_ref.ok()) return next_ref.status();
    auto next_seq = rocks_->GetMeta("next_seq");
    if (!next_seq.ok()) return next_seq.status();
    next_ref_ = std::max<uint64_t>(*next_ref, 1);
    next_seq_ = std::max<uint64_t>(*next_seq, 1);

    absl::Status decode_error;
    uint64_t loaded = 0;
    absl::Status s = rocks_->ForEachSeries([&](uint64_t ref, std::string_view enc) {
      auto labels = internal::DecodeLabels(&enc);
      if (!labels.ok()) {
        decode_error = labels.status();
        return;
      }
      MemSeries* ms = Insert(ref, std::move(*labels));
      ms->persisted = true;
      ms->wal_logged = true;
      absl::MutexLock lock(&ms->mu);
      ms->may_overlap_disk = true;
      next_ref_ = std::max<uint64_t>(next_ref_, ref + 1);
      ++loaded;
    });
    if (!s.ok()) return s;
    if (!decode_error.ok()) return decode_error;
    s = rocks_->ForEachPart([&](int32_t p, uint64_t ref) {
      absl::MutexLock lock(&parts_mu_);
      parts_[p].refs.insert(ref);
    });
    if (!s.ok()) return s;

    WalOptions wo;
    wo.dir = opts_.path + "/wal";
    wo.segment_bytes = opts_.wal_segment_bytes;
    wo.sync = opts_.wal_sync;
    wo.registry = opts_.registry;
    wo.log = opts_.log;
    auto wal = Wal::Open(wo);
    if (!wal.ok()) return wal.status();
    wal_ = std::move(*wal);
    uint64_t replayed_samples = 0, unknown_refs = 0;
    auto stats = wal_->Replay([&](uint64_t segment, std::string_view rec) -> absl::Status {
      internal::WalBatch batch;
      if (absl::Status ds = internal::DecodeWalBatch(rec, &batch); !ds.ok()) {
        opts_.log->warn("msg=\"skipping undecodable WAL record\" segment={} err={}", segment,
                        Quoted(ds.message()));
        return absl::OkStatus();
      }
      for (auto& [ref, labels] : batch.series) {
        MemSeries* ms = GetByRef(ref);
        if (!ms) {
          ms = Insert(ref, std::move(labels));
          next_ref_ = std::max<uint64_t>(next_ref_, ref + 1);
        }
        ms->wal_logged = true;
      }
      for (const auto& smp : batch.samples) {
        MemSeries* ms = GetByRef(smp.ref);
        if (!ms) {
          ++unknown_refs;
          continue;
        }
        ApplySample(ms, smp.t, smp.v, segment);
        ++replayed_samples;
      }
      return absl::OkStatus();
    });
    if (!stats.ok()) return stats.status();
    if (unknown_refs > 0) {
      opts_.log->warn("msg=\"WAL samples for unknown series were dropped\" count={}",
                      unknown_refs);
    }
    opts_.log->info(
        "msg=\"storage opened\" path={} series={} wal_segments={} wal_records={} "
        "replayed_samples={} corrupt_segments={} duration={:.3f}s",
        opts_.path, loaded, stats->segments, stats->records, replayed_samples,
        stats->corrupt_segments,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

    if (opts_.flush_interval_ms > 0) {
      flusher_ = std::thread([this] { FlushLoop(); });
    }
    return absl::OkStatus();
  }

  // ---- Series registry ---------------------------------------------------------------------

  struct RefStripe {
    absl::Mutex mu;
    absl::flat_hash_map<SeriesRef, std::unique_ptr<MemSeries>> by_ref ABSL_GUARDED_BY(mu);
  };
  struct HashStripe {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, std::vector<MemSeries*>> by_hash ABSL_GUARDED_BY(mu);
  };

  // `now_ms` >= 0 marks the series used (appenders); readers pass nothing.
  MemSeries* GetByRef(SeriesRef ref, int64_t now_ms = -1) {
    RefStripe& st = refs_[ref % kStripes];
    absl::MutexLock lock(&st.mu);
    auto it = st.by_ref.find(ref);
    if (it == st.by_ref.end()) return nullptr;
    if (now_ms >= 0) it->second->last_used_ms.store(now_ms, std::memory_order_relaxed);
    return it->second.get();
  }

  // Registers a series with a known ref (recovery).
  MemSeries* Insert(SeriesRef ref, Labels labels) {
    uint64_t h = labels.Hash();
    auto owned = std::make_unique<MemSeries>(ref, std::move(labels));
    MemSeries* ms = owned.get();
    {
      HashStripe& hs = hashes_[h % kStripes];
      absl::MutexLock lock(&hs.mu);
      hs.by_hash[h].push_back(ms);
    }
    {
      RefStripe& rs = refs_[ref % kStripes];
      absl::MutexLock lock(&rs.mu);
      rs.by_ref[ref] = std::move(owned);
    }
    index_.Add(ref, ms->labels);
    num_series_.fetch_add(1, std::memory_order_relaxed);
    return ms;
  }

  // Finds or creates the series; nullptr when the series limit is reached.
  MemSeries* GetOrCreate(const Labels& labels, bool* created, int64_t now_ms) {
    *created = false;
    uint64_t h = labels.Hash();
    HashStripe& hs = hashes_[h % kStripes];
    absl::MutexLock lock(&hs.mu);
    auto& bucket = hs.by_hash[h];
    for (MemSeries* ms : bucket) {
      if (ms->labels == labels) {
        ms->last_used_ms.store(now_ms, std::memory_order_relaxed);
        return ms;
      }
    }
    if (opts_.max_series > 0 && num_series_.load() >= opts_.max_series) return nullptr;
    SeriesRef ref = next_ref_.fetch_add(1);
    auto owned = std::make_unique<MemSeries>(ref, labels);
    MemSeries* ms = owned.get();
    ms->last_used_ms.store(now_ms, std::memory_order_relaxed);
    bucket.push_back(ms);
    {
      RefStripe& rs = refs_[ref % kStripes];
      absl::MutexLock rlock(&rs.mu);
      rs.by_ref[ref] = std::move(owned);
    }
    index_.Add(ref, ms->labels);
    num_series_.fetch_add(1, std::memory_order_relaxed);
    if (series_created_) series_created_->Inc();
    *created = true;
    return ms;
  }

  std::vector<MemSeries*> AllSeries() {
    std::vector<MemSeries*> out;
    out.reserve(num_series_.load());
    for (RefStripe& st : refs_) {
      absl::MutexLock lock(&st.mu);
      for (auto& [ref, ms] : st.by_ref) out.push_back(ms.get());
    }
    return out;
  }

  void MarkPartition(MemSeries* ms, int32_t p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ms->mu) {
    if (ms->last_marked_partition == p) return;
    ms->last_marked_partition = p;
    absl::MutexLock lock(&parts_mu_);
    Part& part = parts_[p];
    if (part.refs.insert(ms->ref).second) part.unpersisted.push_back(ms->ref);
  }

  // ---- Head writes -------------------------------------------------------------------------

  void StartOpen(MemSeries* ms, int64_t t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ms->mu) {
    ms->open_partition = PartitionOf(t);
    ms->open_since_ms = opts_.now_ms();
  }

  void Seal(MemSeries* ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ms->mu) {
    if (ms->open.num_samples() == 0) return;
    std::vector<int64_t> ts;
    std::vector<double> vs;
    ts.reserve(ms->open.num_samples());
    vs.reserve(ms->open.num_samples());
    auto it = ms->open.Iterator();
    while (it.Next()) {
      auto [t, v] = it.At();
      ts.push_back(t);
      vs.push_back(v);
    }
    PendingChunk c;
    c.partition = ms->open_partition;
    c.min_t = ts.front();
    c.max_t = ts.back();
    c.seq = next_seq_.fetch_add(1);
    c.wal_low = ms->head_wal_low;
    chunkenc::EncodeChunk(ts, vs, &c.data);
    if (ms->may_overlap_disk) {
      MarkDirty(c.partition, ms->ref);
      ms->may_overlap_disk = false;
    }
    ms->pending.push_back(std::move(c));
    ms->open.Reset();
    if (ms->ooo.empty()) ms->head_wal_low = kNoSegment;
  }

  void SealOoo(MemSeries* ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ms->mu) {
    if (ms->ooo.empty()) return;
    const size_t max_per_chunk = static_cast<size_t>(std::max(opts_.chunk_samples, 1)) * 8;
    std::vector<int64_t> ts;
    std::vector<double> vs;
    auto emit = [&](int32_t p) {
      if (ts.empty()) return;
      PendingChunk c;
      c.partition = p;
      c.min_t = ts.front();
      c.max_t = ts.back();
      c.seq = next_seq_.fetch_add(1);
      c.wal_low = ms->head_wal_low;
      chunkenc::EncodeChunk(ts, vs, &c.data);
      MarkDirty(p, ms->ref);
      ms->pending.push_back(std::move(c));
      ts.clear();
      vs.clear();
    };
    int32_t cur = PartitionOf(ms->ooo.begin()->first);
    for (const auto& [t, v] : ms->ooo) {
      int32_t p = PartitionOf(t);
      if (p != cur || ts.size() >= max_per_chunk) {
        emit(cur);
        cur = p;
      }
      ts.push_back(t);
      vs.push_back(v);
    }
    emit(cur);
    ms->ooo.clear();
    if (ms->open.num_samples() == 0) ms->head_wal_low = kNoSegment;
  }

  // Inserts (t, v) into the open chunk, which already covers t's time range: rewrite it.
  // Returns false for an exact duplicate.
  bool RewriteOpen(MemSeries* ms, int64_t t, double v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ms->mu) {
    std::vector<std::pair<int64_t, double>> samples;
    samples.reserve(ms->open.num_samples() + 1);
    auto it = ms->open.Iterator();
    while (it.Next()) samples.push_back(it.At());
    auto pos = std::lower_bound(samples.begin(), samples.end(), t,
                                [](const auto& s, int64_t x) { return s.first < x; });
    if (pos != samples.end() && pos->first == t) {
      if (std::bit_cast<uint64_t>(pos->second) == std::bit_cast<uint64_t>(v)) return false;
      pos->second = v;
    } else {
      samples.insert(pos, {t, v});
    }
    ms->open.Reset();
    for (const auto& [st, sv] : samples) ms->open.Append(st, sv);
    return true;
  }

  // Applies one logged sample to the head. Returns false if it was an exact duplicate.
  bool ApplySample(MemSeries* ms, int64_t t, double v, uint64_t segment) {
    absl::MutexLock lock(&ms->mu);
    bool stored = true;
    if (t > ms->max_t) {
      if (ms->open.num_samples() > 0 &&
          (PartitionOf(t) != ms->open_partition ||
           ms->open.num_samples() >= static_cast<uint64_t>(opts_.chunk_samples))) {
        Seal(ms);
      }
      if (ms->open.num_samples() == 0) StartOpen(ms, t);
      ms->open.Append(t, v);
      ms->max_t = t;
    } else if (ms->open.num_samples() > 0 && t >= ms->open.first_time()) {
      stored = RewriteOpen(ms, t, v);
      if (t != ms->max_t && ooo_) ooo_->Inc();
    } else {
      auto [it, inserted] = ms->ooo.try_emplace(t, v);
      if (!inserted) {
        if (std::bit_cast<uint64_t>(it->second) == std::bit_cast<uint64_t>(v)) {
          stored = false;
        } else {
          it->second = v;
        }
      }
      if (ooo_) ooo_->Inc();
    }
    if (!stored) {
      if (dup_) dup_->Inc();
      return false;
    }
    ms->head_wal_low = std::min(ms->head_wal_low, segment);
    MarkPartition(ms, PartitionOf(t));
    return true;
  }

  // ---- Appender ----------------------------------------------------------------------------

  class AppenderImpl final : public Appender {
   public:
    explicit AppenderImpl(Impl* db) : db_(db) {}
    ~AppenderImpl() override = default;

    AppendResult Append(SeriesRef ref, const Labels& labels, int64_t t, double v) override {
      AppendResult r;
      const int64_t now = db_->opts_.now_ms();
      MemSeries* ms = ref != 0 ? db_->GetByRef(ref, now) : nullptr;
      if (!ms) {
        if (labels.empty()) return Reject(RejectReason::kInvalidLabels);
        if (!ValidateLabels(labels, db_->opts_.label_limits).ok()) {
          return Reject(RejectReason::kInvalidLabels);
        }
        bool created;
        ms = db_->GetOrCreate(labels, &created, now);
        if (!ms) return Reject(RejectReason::kSeriesLimit);
      }
      if (db_->opts_.retention_ms > 0 && t < now - db_->opts_.retention_ms) {
        r.ref = ms->ref;
        r.reject = RejectReason::kOutOfRetention;
        Count(r.reject);
        return r;
      }
      if (db_->opts_.future_tolerance_ms > 0 && t > now + db_->opts_.future_tolerance_ms) {
        r.ref = ms->ref;
        r.reject = RejectReason::kTooFarInFuture;
        Count(r.reject);
        return r;
      }
      samples_.push_back({ms, t, v});
      r.ref = ms->ref;
      return r;
    }

    absl::Status Commit() override {
      if (samples_.empty()) return absl::OkStatus();
      // Series whose labels are not yet in the WAL travel with this batch: a replay must
      // never meet a sample for a series it does not know.
      internal::WalBatchWriter w;
      std::vector<MemSeries*> newly_logged;
      for (const auto& s : samples_) {
        if (!s.ms->wal_logged.load(std::memory_order_acquire)) {
          w.AddSeries(s.ms->ref, s.ms->labels);
          newly_logged.push_back(s.ms);
        }
      }
      for (const auto& s : samples_) w.AddSample(s.ms->ref, s.t, s.v);
      uint64_t guard = db_->BeginCommit();
      auto seg = db_->wal_->Log(w.Finish());
      if (!seg.ok()) {
        db_->EndCommit(guard);
        samples_.clear();
        return seg.status();
      }
      for (MemSeries* ms : newly_logged) ms->wal_logged.store(true, std::memory_order_release);
      size_t applied = 0;
      for (const auto& s : samples_) {
        if (db_->ApplySample(s.ms, s.t, s.v, *seg)) ++applied;
      }
      db_->EndCommit(guard);
      if (db_->appended_) db_->appended_->Inc(static_cast<double>(samples_.size()));
      accepted_ += samples_.size();
      samples_.clear();
      return absl::OkStatus();
    }

    void Rollback() override { samples_.clear(); }
    size_t NumAccepted() const override { return accepted_ + samples_.size(); }
    size_t NumRejected() const override { return rejected_; }

   private:
    AppendResult Reject(RejectReason reason) {
      Count(reason);
      AppendResult r;
      r.reject = reason;
      return r;
    }
    void Count(RejectReason reason) {
      ++rejected_;
      if (db_->rejected_) db_->rejected_->WithLabels({std::string(RejectReasonName(reason))}).Inc();
    }
    struct Pending {
      MemSeries* ms;
      int64_t t;
      double v;
    };
    Impl* db_;
    std::vector<Pending> samples_;
    size_t accepted_ = 0;
    size_t rejected_ = 0;
  };

  // In-flight commits hold back WAL truncation at the segment they may write to.
  uint64_t BeginCommit() {
    absl::MutexLock lock(&inflight_mu_);
    uint64_t seg = wal_->CurrentSegment();
    inflight_[seg]++;
    return seg;
  }
  void EndCommit(uint64_t seg) {
    absl::MutexLock lock(&inflight_mu_);
    if (--inflight_[seg] == 0) inflight_.erase(seg);
  }

  // ---- Reads -------------------------------------------------------------------------------

  // Samples of `ms` in [mint, maxt], merged from RocksDB and the head.
  // A RocksDB chunk reader shared by the series of one Select, with the flush generation it
  // was opened at.
  struct ReaderCache {
    absl::Mutex mu;
    std::unique_ptr<RocksStore::ChunkReader> reader ABSL_GUARDED_BY(mu);
    uint64_t gen ABSL_GUARDED_BY(mu) = 0;
  };

  std::unique_ptr<SampleIterator> ReadSeries(MemSeries* ms, int64_t mint, int64_t maxt,
                                             ReaderCache* cache = nullptr) {
    std::vector<Run> runs;
    absl::Status err;
    auto decode = [&](std::string_view data, uint64_t seq) {
      Run r;
      r.seq = seq;
      std::vector<int64_t> ts;
      std::vector<double> vs;
      if (absl::Status s = chunkenc::DecodeChunk(data, &ts, &vs); !s.ok()) {
        err = s;
        return;
      }
      for (size_t i = 0; i < ts.size(); ++i) {
        if (ts[i] >= mint && ts[i] <= maxt) {
          r.ts.push_back(ts[i]);
          r.vs.push_back(vs[i]);
        }
      }
      if (!r.ts.empty()) runs.push_back(std::move(r));
    };
    // Head first, then RocksDB: a chunk the flusher moves in between is seen twice (and
    // deduplicated by seq), never missed.
    {
      absl::MutexLock lock(&ms->mu);
      for (const PendingChunk& c : ms->pending) {
        if (c.max_t >= mint && c.min_t <= maxt) decode(c.data, c.seq);
      }
      if (ms->open.num_samples() > 0 && ms->max_t >= mint && ms->open.first_time() <= maxt) {
        Run r;
        r.seq = kOpenChunkSeq;
        auto it = ms->open.Iterator();
        while (it.Next()) {
          auto [t, v] = it.At();
          if (t >= mint && t <= maxt) {
            r.ts.push_back(t);
            r.vs.push_back(v);
          }
        }
        if (!r.ts.empty()) runs.push_back(std::move(r));
      }
      if (!ms->ooo.empty()) {
        Run r;
        r.seq = kOooSeq;
        for (auto it = ms->ooo.lower_bound(mint); it != ms->ooo.end() && it->first <= maxt; ++it) {
          r.ts.push_back(it->first);
          r.vs.push_back(it->second);
        }
        if (!r.ts.empty()) runs.push_back(std::move(r));
      }
    }
    auto on_chunk = [&](int64_t, uint64_t seq, std::string_view data) {
      auto max_time = chunkenc::MaxTime(data);
      if (max_time.ok() && *max_time < mint) return;
      decode(data, seq);
    };
    const std::vector<int32_t> parts = PartitionsOf(ms->ref, mint, maxt);
    if (cache == nullptr) {
      for (int32_t p : parts) {
        if (absl::Status s = rocks_->ReadChunks(p, ms->ref, maxt, on_chunk); !s.ok()) err = s;
      }
    } else if (!parts.empty()) {
      // Read after the head (above): a generation bumped since the reader opened means chunks
      // may have moved from the head to RocksDB after the reader's view was taken.
      const uint64_t gen = rocks_gen_.load(std::memory_order_acquire);
      absl::MutexLock lock(&cache->mu);
      if (cache->reader == nullptr || cache->gen != gen) {
        cache->reader = rocks_->NewChunkReader();
        cache->gen = gen;
      }
      for (int32_t p : parts) {
        if (absl::Status s = cache->reader->Read(p, ms->ref, maxt, on_chunk); !s.ok()) err = s;
      }
    }
    std::vector<int64_t> ts;
    std::vector<double> vs;
    MergeRuns(runs, &ts, &vs);
    return std::make_unique<ArrayIterator>(std::move(ts), std::move(vs), std::move(err));
  }

  // The partitions overlapping [mint, maxt] in which the series has data.
  std::vector<int32_t> PartitionsOf(SeriesRef ref, int64_t mint, int64_t maxt) {
    std::vector<int32_t> out;
    absl::MutexLock lock(&parts_mu_);
    for (auto it = parts_.lower_bound(PartitionOf(mint));
         it != parts_.end() && it->first <= PartitionOf(maxt); ++it) {
      if (it->second.refs.contains(ref)) out.push_back(it->first);
    }
    return out;
  }

  // Series matching `matchers` with data in a partition overlapping [mint, maxt].
  absl::StatusOr<std::vector<MemSeries*>> SelectSeries(std::span<const Matcher> matchers,
                                                       int64_t mint, int64_t maxt) {
    std::vector<SeriesRef> refs;
    if (matchers.empty()) {
      auto all = index_.All();
      auto e = ExpandPostings(*all);
      if (!e.ok()) return e.status();
      refs = std::move(*e);
    } else {
      auto p = index_.PostingsForMatchers(matchers);
      auto e = ExpandPostings(*p);
      if (!e.ok()) return e.status();
      refs = std::move(*e);
    }
    // Time partitioning: keep refs present in an overlapping partition.
    std::vector<SeriesRef> in_range;
    {
      absl::MutexLock lock(&parts_mu_);
      std::vector<const absl::btree_set<SeriesRef>*> sets;
      int32_t lo = PartitionOf(mint), hi = PartitionOf(maxt);
      for (auto it = parts_.lower_bound(lo); it != parts_.end() && it->first <= hi; ++it) {
        sets.push_back(&it->second.refs);
      }
      size_t part_total = 0;
      for (auto* s : sets) part_total += s->size();
      if (part_total < refs.size()) {
        // Fewer series in range than matched: walk the partitions, probe the matches.
        absl::btree_set<SeriesRef> hit;
        for (auto* s : sets) {
          for (SeriesRef r : *s) {
            if (std::binary_search(refs.begin(), refs.end(), r)) hit.insert(r);
          }
        }
        in_range.assign(hit.begin(), hit.end());
      } else {
        for (SeriesRef r : refs) {
          for (auto* s : sets) {
            if (s->contains(r)) {
              in_range.push_back(r);
              break;
            }
          }
        }
      }
    }
    std::vector<MemSeries*> out;
    out.reserve(in_range.size());
    for (SeriesRef r : in_range) {
      if (MemSeries* ms = GetByRef(r)) out.push_back(ms);
    }
    return out;
  }

  // ---- Flush, WAL truncation, retention ----------------------------------------------------

  // Out-of-order data is written as extra chunks that overlap older ones and is merged on
  // read; (partition, series) pairs that got such chunks are compacted by the flusher into
  // non-overlapping chunks.
  void MarkDirty(int32_t p, SeriesRef ref) {
    absl::MutexLock lock(&dirty_mu_);
    dirty_.insert({p, ref});
  }

  // Rewrites the dirty pairs' chunks (flush_mu_ held: the flusher is the only chunk writer).
  absl::Status CompactDirty(size_t max_pairs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_) {
    std::vector<std::pair<int32_t, SeriesRef>> work;
    {
      absl::MutexLock lock(&dirty_mu_);
      for (auto it = dirty_.begin(); it != dirty_.end() && work.size() < max_pairs;) {
        work.push_back(*it);
        it = dirty_.erase(it);
      }
    }
    for (const auto& [p, ref] : work) {
      std::vector<Run> runs;
      absl::Status derr;
      size_t nchunks = 0;
      absl::Status s = rocks_->ReadChunks(p, ref, std::numeric_limits<int64_t>::max(),
                                          [&](int64_t, uint64_t seq, std::string_view data) {
                                            Run r;
                                            r.seq = seq;
                                            ++nchunks;
                                            absl::Status d = chunkenc::DecodeChunk(data, &r.ts, &r.vs);
                                            if (!d.ok()) derr = d;
                                            runs.push_back(std::move(r));
                                          });
      if (!s.ok()) return s;
      if (!derr.ok()) {
        opts_.log->error("msg=\"cannot compact corrupt chunks; left as they are\" ref={} day={} err={}",
                         ref, p, Quoted(derr.message()));
        continue;
      }
      if (nchunks < 2) continue;
      std::vector<int64_t> ts;
      std::vector<double> vs;
      MergeRuns(runs, &ts, &vs);
      std::vector<StoredChunk> out;
      const size_t per = static_cast<size_t>(std::max(opts_.chunk_samples, 1));
      for (size_t i = 0; i < ts.size(); i += per) {
        size_t n = std::min(per, ts.size() - i);
        StoredChunk c;
        c.partition = p;
        c.ref = ref;
        c.start = ts[i];
        c.seq = next_seq_.fetch_add(1);
        chunkenc::EncodeChunk(std::span<const int64_t>(ts.data() + i, n),
                              std::span<const double>(vs.data() + i, n), &c.data);
        out.push_back(std::move(c));
      }
      if (absl::Status rs = rocks_->ReplaceChunks(p, ref, out); !rs.ok()) return rs;
      if (compactions_) compactions_->Inc();
    }
    return absl::OkStatus();
  }

  absl::Status Flush(bool seal_all) {
    absl::MutexLock flush_lock(&flush_mu_);
    auto start = std::chrono::steady_clock::now();
    const int64_t now = opts_.now_ms();
    struct Written {
      MemSeries* ms;
      std::vector<uint64_t> seqs;
    };
    std::vector<Written> written;
    auto batch = rocks_->NewBatch();
    uint64_t chunks = 0, chunk_bytes = 0;
    std::vector<MemSeries*> newly_persisted;

    auto write_batch = [&]() -> absl::Status {
      if (batch->Count() == 0) return absl::OkStatus();
      batch->PutMeta("next_ref", next_ref_.load());
      batch->PutMeta("next_seq", next_seq_.load());
      absl::Status s = rocks_->Write(*batch, false);
      if (!s.ok()) return s;
      // Before any chunk leaves the head: a reader that then misses it in the head sees the
      // new generation and re-opens its RocksDB view (ReadSeries).
      rocks_gen_.fetch_add(1, std::memory_order_release);
      for (auto& w : written) {
        absl::MutexLock lock(&w.ms->mu);
        auto& pend = w.ms->pending;
        pend.erase(std::remove_if(pend.begin(), pend.end(),
                                  [&](const PendingChunk& c) {
                                    return std::find(w.seqs.begin(), w.seqs.end(), c.seq) !=
                                           w.seqs.end();
                                  }),
                   pend.end());
      }
      for (MemSeries* ms : newly_persisted) ms->persisted = true;
      written.clear();
      newly_persisted.clear();
      batch = rocks_->NewBatch();
      return absl::OkStatus();
    };

    for (MemSeries* ms : AllSeries()) {
      if (!ms->persisted.load()) {
        std::string enc;
        internal::EncodeLabels(ms->labels, &enc);
        batch->PutSeries(ms->ref, enc);
        newly_persisted.push_back(ms);
      }
      Written w{ms, {}};
      {
        absl::MutexLock lock(&ms->mu);
        if (ms->open.num_samples() > 0 &&
            (seal_all || now - ms->open_since_ms >= opts_.max_chunk_age_ms)) {
          Seal(ms);
        }
        if (!ms->ooo.empty()) SealOoo(ms);
        for (const PendingChunk& c : ms->pending) {
          batch->PutChunk(c.partition, ms->ref, c.min_t, c.seq, c.data);
          w.seqs.push_back(c.seq);
          ++chunks;
          chunk_bytes += c.data.size();
        }
      }
      if (!w.seqs.empty()) written.push_back(std::move(w));
      if (batch->Count() >= 20000) {
        if (absl::Status s = write_batch(); !s.ok()) return FlushFailed(s);
      }
    }
    std::vector<std::pair<int32_t, std::vector<SeriesRef>>> parts_written;
    {
      absl::MutexLock lock(&parts_mu_);
      for (auto& [p, part] : parts_) {
        if (part.unpersisted.empty()) continue;
        for (SeriesRef r : part.unpersisted) batch->PutPart(p, r);
        parts_written.emplace_back(p, std::move(part.unpersisted));
        part.unpersisted.clear();
      }
    }
    if (absl::Status s = write_batch(); !s.ok()) {
      // Not written: keep them for the next attempt.
      absl::MutexLock lock(&parts_mu_);
      for (auto& [p, refs] : parts_written) {
        auto it = parts_.find(p);
        if (it != parts_.end()) {
          it->second.unpersisted.insert(it->second.unpersisted.end(), refs.begin(), refs.end());
        }
      }
      return FlushFailed(s);
    }
    if (chunks_written_) {
      chunks_written_->Inc(static_cast<double>(chunks));
      chunk_bytes_written_->Inc(static_cast<double>(chunk_bytes));
    }
    // Bounded per flush so a large backfill doesn't stall the flusher.
    if (absl::Status s = CompactDirty(seal_all ? SIZE_MAX : 1000); !s.ok()) return FlushFailed(s);

    // WAL truncation: everything below the lowest segment still needed by the head (or by a
    // commit in flight) is in RocksDB now.
    if (opts_.wal_sync == WalSync::kAlways) {
      if (absl::Status s = rocks_->SyncWal(); !s.ok()) return FlushFailed(s);
    }
    const int64_t mono_now = opts_.now_ms();
    if (seal_all || mono_now - last_cut_ms_ >= 60 * 1000 ||
        wal_->SizeBytes() > opts_.wal_segment_bytes / 4) {
      auto cut = wal_->Cut();
      if (!cut.ok()) return FlushFailed(cut.status());
      last_cut_ms_ = mono_now;
    }
    uint64_t low = wal_->CurrentSegment();
    {
      absl::MutexLock lock(&inflight_mu_);
      if (!inflight_.empty()) low = std::min(low, inflight_.begin()->first);
    }
    for (MemSeries* ms : AllSeries()) {
      absl::MutexLock lock(&ms->mu);
      low = std::min(low, ms->head_wal_low);
      for (const PendingChunk& c : ms->pending) low = std::min(low, c.wal_low);
    }
    if (absl::Status s = wal_->TruncateBefore(low); !s.ok()) return FlushFailed(s);
    if (flush_seconds_) {
      flush_seconds_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return absl::OkStatus();
  }

  absl::Status FlushFailed(absl::Status s) {
    if (flush_failures_) flush_failures_->Inc();
    opts_.log->error("msg=\"storage flush failed\" err={}", Quoted(s.message()));
    return s;
  }

  absl::Status EnforceRetention() {
    absl::MutexLock flush_lock(&flush_mu_);
    std::vector<int32_t> doomed;
    const int64_t now = opts_.now_ms();
    {
      absl::MutexLock lock(&parts_mu_);
      if (opts_.retention_ms > 0) {
        const int64_t cutoff = now - opts_.retention_ms;
        for (const auto& [p, part] : parts_) {
          if (PartitionStart(p) + kPartitionMs <= cutoff) doomed.push_back(p);
        }
      }
    }
    auto on_disk = rocks_->Partitions();
    if (!on_disk.ok()) return on_disk.status();
    if (opts_.retention_ms > 0) {
      for (int32_t p : *on_disk) {
        if (PartitionStart(p) + kPartitionMs <= now - opts_.retention_ms &&
            std::find(doomed.begin(), doomed.end(), p) == doomed.end()) {
          doomed.push_back(p);
        }
      }
    }
    for (int32_t p : doomed) {
      if (absl::Status s = DropPartition(p); !s.ok()) return s;
    }
    if (opts_.retention_bytes > 0) {
      auto parts = rocks_->Partitions();
      if (!parts.ok()) return parts.status();
      size_t i = 0;
      // Keep the newest partition whatever its size.
      while (rocks_->DiskBytes() + wal_->SizeBytes() > static_cast<uint64_t>(opts_.retention_bytes) &&
             i + 1 < parts->size()) {
        if (absl::Status s = DropPartition((*parts)[i++]); !s.ok()) return s;
      }
    }
    return RemoveEmptySeries();
  }

  absl::Status DropPartition(int32_t p) {
    if (absl::Status s = rocks_->DropPartition(p); !s.ok()) return s;
    {
      absl::MutexLock lock(&parts_mu_);
      parts_.erase(p);
    }
    // Head data of that partition goes too: pending chunks and OOO samples.
    for (MemSeries* ms : AllSeries()) {
      absl::MutexLock lock(&ms->mu);
      auto& pend = ms->pending;
      pend.erase(std::remove_if(pend.begin(), pend.end(),
                                [&](const PendingChunk& c) { return c.partition == p; }),
                 pend.end());
      for (auto it = ms->ooo.begin(); it != ms->ooo.end();) {
        it = PartitionOf(it->first) == p ? ms->ooo.erase(it) : std::next(it);
      }
      if (ms->open.num_samples() > 0 && ms->open_partition == p) {
        ms->open.Reset();
      }
      if (ms->last_marked_partition == p) {
        ms->last_marked_partition = std::numeric_limits<int32_t>::min();
      }
    }
    if (partitions_dropped_) partitions_dropped_->Inc();
    opts_.log->info("msg=\"retention dropped partition\" day={} start_ms={}", p,
                    PartitionStart(p));
    return absl::OkStatus();
  }

  // Forgets series that have no data left in any partition nor in the head.
  absl::Status RemoveEmptySeries() {
    absl::flat_hash_set<SeriesRef> live;
    {
      absl::MutexLock lock(&parts_mu_);
      for (const auto& [p, part] : parts_) live.insert(part.refs.begin(), part.refs.end());
    }
    std::vector<MemSeries*> dead;
    for (MemSeries* ms : AllSeries()) {
      if (live.contains(ms->ref)) continue;
      absl::MutexLock lock(&ms->mu);
      if (ms->HeadEmpty() && ms->persisted.load()) dead.push_back(ms);
    }
    // Forget a candidate only if no appender looked it up recently; checked under both lookup
    // locks (hash, then ref: GetOrCreate's order), so no lookup can slip in between.
    const int64_t now = opts_.now_ms();
    std::vector<std::unique_ptr<MemSeries>> removed;
    for (MemSeries* ms : dead) {
      HashStripe& hs = hashes_[ms->labels.Hash() % kStripes];
      RefStripe& rs = refs_[ms->ref % kStripes];
      absl::MutexLock hlock(&hs.mu);
      absl::MutexLock rlock(&rs.mu);
      if (now - ms->last_used_ms.load(std::memory_order_relaxed) < kSeriesRemovalGraceMs) continue;
      auto hit = hs.by_hash.find(ms->labels.Hash());
      if (hit != hs.by_hash.end()) {
        auto& bucket = hit->second;
        bucket.erase(std::remove(bucket.begin(), bucket.end(), ms), bucket.end());
        if (bucket.empty()) hs.by_hash.erase(hit);
      }
      auto it = rs.by_ref.find(ms->ref);
      if (it != rs.by_ref.end()) {
        removed.push_back(std::move(it->second));
        rs.by_ref.erase(it);
      }
    }
    if (removed.empty()) return absl::OkStatus();
    auto batch = rocks_->NewBatch();
    for (const auto& ms : removed) batch->DeleteSeries(ms->ref);
    absl::Status written = rocks_->Write(*batch, false);
    for (auto& ms : removed) {
      index_.Delete(ms->ref, ms->labels);
      num_series_.fetch_sub(1);
      if (series_removed_) series_removed_->Inc();
      // Queries in flight may hold the pointer: retire it rather than free it now.
      absl::MutexLock lock(&retired_mu_);
      retired_.push_back({now, std::move(ms)});
    }
    // A failed delete leaves label records of empty series on disk; they are loaded as empty
    // series after a restart and forgotten again.
    if (!written.ok()) return written;
    opts_.log->info("msg=\"retention removed series without data\" count={}", removed.size());
    return absl::OkStatus();
  }

  void FlushLoop() {
    int64_t last_retention = 0;
    std::unique_lock<std::mutex> lock(loop_mu_);
    while (!stop_) {
      loop_cv_.wait_for(lock, std::chrono::milliseconds(opts_.flush_interval_ms));
      if (stop_) break;
      lock.unlock();
      (void)Flush(false);
      int64_t now = opts_.now_ms();
      if (now - last_retention >= opts_.retention_interval_ms) {
        if (absl::Status s = EnforceRetention(); !s.ok()) {
          opts_.log->error("msg=\"retention failed\" err={}", Quoted(s.message()));
        }
        last_retention = now;
        // Series retired more than the longest query timeout ago are no longer referenced.
        absl::MutexLock rl(&retired_mu_);
        retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                      [&](const Retired& r) {
                                        return now - r.when_ms > kRetireMs;
                                      }),
                       retired_.end());
      }
      lock.lock();
    }
  }

  absl::Status Close() {
    if (closed_) return absl::OkStatus();
    closed_ = true;
    {
      std::lock_guard<std::mutex> lock(loop_mu_);
      stop_ = true;
    }
    loop_cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    absl::Status s;
    if (rocks_ && wal_) s = Flush(true);
    if (s.ok() && rocks_) s = rocks_->FlushMemtables();
    rocks_.reset();
    wal_.reset();
    return s;
  }

  void Collect(MetricWriter& w) {
    w.Header("pharos_storage_head_series", "Series in the head (all series with data).",
             MetricType::kGauge);
    w.Sample("pharos_storage_head_series", static_cast<double>(num_series_.load()));
    if (rocks_) {
      w.Header("pharos_storage_rocksdb_stall_seconds_total",
               "Time writes were stalled by RocksDB.", MetricType::kCounter);
      w.Sample("pharos_storage_rocksdb_stall_seconds_total",
               static_cast<double>(rocks_->StallMicros()) / 1e6);
      w.Header("pharos_storage_compaction_bytes_written_total",
               "Bytes written by RocksDB compactions.", MetricType::kCounter);
      w.Sample("pharos_storage_compaction_bytes_written_total",
               static_cast<double>(rocks_->CompactionBytesWritten()));
      w.Header("pharos_storage_disk_bytes", "Bytes of RocksDB data (SST files and memtables).",
               MetricType::kGauge);
      w.Sample("pharos_storage_disk_bytes", static_cast<double>(rocks_->DiskBytes()));
    }
    if (wal_) {
      w.Header("pharos_storage_wal_size_bytes", "Bytes of WAL segments on disk.",
               MetricType::kGauge);
      w.Sample("pharos_storage_wal_size_bytes", static_cast<double>(wal_->SizeBytes()));
    }
  }

  DBStats Stats(size_t top_n) {
    DBStats st;
    IndexStats is = index_.Stats(top_n);
    st.num_series = num_series_.load();
    st.num_label_pairs = is.num_label_pairs;
    auto conv = [](const std::vector<IndexStatEntry>& in, std::vector<DBStats::Count>* out) {
      for (const auto& e : in) out->push_back({e.name, e.value});
    };
    conv(is.series_count_by_metric_name, &st.series_by_metric);
    conv(is.series_count_by_label_value_pair, &st.series_by_label_pair);
    conv(is.label_value_count_by_label_name, &st.label_value_counts);
    conv(is.memory_in_bytes_by_label_name, &st.memory_by_label_name);
    int64_t mint = std::numeric_limits<int64_t>::max(), maxt = std::numeric_limits<int64_t>::min();
    for (MemSeries* ms : AllSeries()) {
      absl::MutexLock lock(&ms->mu);
      st.head_chunks += ms->pending.size() + (ms->open.num_samples() > 0 ? 1 : 0);
      st.head_bytes += ms->open.stream_size();
      for (const auto& c : ms->pending) {
        st.head_bytes += c.data.size();
        mint = std::min(mint, c.min_t);
        maxt = std::max(maxt, c.max_t);
      }
      st.head_bytes += ms->ooo.size() * 48;
      if (ms->open.num_samples() > 0) {
        mint = std::min(mint, ms->open.first_time());
        maxt = std::max(maxt, ms->max_t);
      }
      if (!ms->ooo.empty()) mint = std::min(mint, ms->ooo.begin()->first);
    }
    {
      absl::MutexLock lock(&parts_mu_);
      if (!parts_.empty()) mint = std::min(mint, PartitionStart(parts_.begin()->first));
    }
    if (mint != std::numeric_limits<int64_t>::max()) st.min_time = mint;
    if (maxt != std::numeric_limits<int64_t>::min()) st.max_time = maxt;
    st.wal_bytes = wal_ ? wal_->SizeBytes() : 0;
    st.disk_bytes = rocks_ ? rocks_->DiskBytes() : 0;
    return st;
  }

  absl::Status FlushAndCompact() {
    if (absl::Status s = Flush(true); !s.ok()) return s;
    return rocks_->FlushAndCompact();
  }

  absl::Status Snapshot(const std::string& dir) {
    if (absl::Status s = Flush(true); !s.ok()) return s;
    return rocks_->Checkpoint(dir);
  }

  DBOptions opts_;
  std::unique_ptr<RocksStore> rocks_;
  std::unique_ptr<Wal> wal_;
  MemPostings index_;
  RefStripe refs_[kStripes];
  HashStripe hashes_[kStripes];
  std::atomic<uint64_t> next_ref_{1};
  std::atomic<uint64_t> next_seq_{1};
  std::atomic<uint64_t> num_series_{0};

  struct Part {
    absl::btree_set<SeriesRef> refs;
    std::vector<SeriesRef> unpersisted;
  };
  absl::Mutex parts_mu_;
  std::map<int32_t, Part> parts_ ABSL_GUARDED_BY(parts_mu_);

  absl::Mutex inflight_mu_;
  std::map<uint64_t, int> inflight_ ABSL_GUARDED_BY(inflight_mu_);

  absl::Mutex flush_mu_;  // one flush, compaction or retention pass at a time
  absl::Mutex dirty_mu_;
  std::set<std::pair<int32_t, SeriesRef>> dirty_ ABSL_GUARDED_BY(dirty_mu_);
  int64_t last_cut_ms_ = 0;

  // Series removed by retention stay allocated for a while: a query may still hold them.
  static constexpr int64_t kRetireMs = 15 * 60 * 1000;
  struct Retired {
    int64_t when_ms;
    std::unique_ptr<MemSeries> ms;
  };
  absl::Mutex retired_mu_;
  std::vector<Retired> retired_ ABSL_GUARDED_BY(retired_mu_);

  // Bumped after every flush batch reaches RocksDB (see ReadSeries).
  std::atomic<uint64_t> rocks_gen_{0};

  std::thread flusher_;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
  bool closed_ = false;

  Counter* appended_ = nullptr;
  CounterFamily* rejected_ = nullptr;
  Counter* ooo_ = nullptr;
  Counter* dup_ = nullptr;
  Counter* series_created_ = nullptr;
  Counter* series_removed_ = nullptr;
  Counter* chunks_written_ = nullptr;
  Counter* chunk_bytes_written_ = nullptr;
  Histogram* flush_seconds_ = nullptr;
  Counter* flush_failures_ = nullptr;
  Counter* partitions_dropped_ = nullptr;
  Counter* compactions_ = nullptr;
};

namespace {

class SeriesImpl final : public Series {
 public:
  SeriesImpl(DB::Impl* db, MemSeries* ms, int64_t mint, int64_t maxt,
             DB::Impl::ReaderCache* cache)
      : db_(db), ms_(ms), mint_(mint), maxt_(maxt), cache_(cache) {}
  const Labels& labels() const override { return ms_->labels; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return db_->ReadSeries(ms_, mint_, maxt_, cache_);
  }

 private:
  DB::Impl* db_;
  MemSeries* ms_;
  int64_t mint_, maxt_;
  DB::Impl::ReaderCache* cache_;  // owned by the set
};

class SeriesSetImpl final : public SeriesSet {
 public:
  SeriesSetImpl(std::vector<std::unique_ptr<SeriesImpl>> series, absl::Status err,
                std::unique_ptr<DB::Impl::ReaderCache> cache = nullptr)
      : series_(std::move(series)), err_(std::move(err)), cache_(std::move(cache)) {}
  bool Next() override {
    if (i_ + 1 >= static_cast<int64_t>(series_.size())) {
      i_ = static_cast<int64_t>(series_.size());
      return false;
    }
    ++i_;
    return true;
  }
  const Series& At() const override { return *series_[i_]; }
  absl::Status Err() const override { return err_; }

 private:
  std::vector<std::unique_ptr<SeriesImpl>> series_;
  absl::Status err_;
  std::unique_ptr<DB::Impl::ReaderCache> cache_;
  int64_t i_ = -1;
};

class QuerierImpl final : public Querier {
 public:
  QuerierImpl(DB::Impl* db, int64_t mint, int64_t maxt) : db_(db), mint_(mint), maxt_(maxt) {}

  std::unique_ptr<SeriesSet> Select(std::span<const Matcher> matchers,
                                    const SelectHints& hints) const override {
    auto sel = db_->SelectSeries(matchers, mint_, maxt_);
    if (!sel.ok()) return std::make_unique<SeriesSetImpl>(
        std::vector<std::unique_ptr<SeriesImpl>>{}, sel.status());
    std::vector<MemSeries*>& ms = *sel;
    if (hints.sorted) {
      std::sort(ms.begin(), ms.end(),
                [](const MemSeries* a, const MemSeries* b) { return a->labels < b->labels; });
    }
    if (hints.limit > 0 && ms.size() > hints.limit) ms.resize(hints.limit);
    std::vector<std::unique_ptr<SeriesImpl>> out;
    out.reserve(ms.size());
    auto cache = std::make_unique<DB::Impl::ReaderCache>();
    for (MemSeries* m : ms) {
      out.push_back(std::make_unique<SeriesImpl>(db_, m, mint_, maxt_, cache.get()));
    }
    return std::make_unique<SeriesSetImpl>(std::move(out), absl::OkStatus(), std::move(cache));
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers,
                                                      size_t limit) const override {
    auto sel = db_->SelectSeries(matchers, mint_, maxt_);
    if (!sel.ok()) return sel.status();
    absl::btree_set<std::string> names;
    for (MemSeries* ms : *sel) {
      for (const Label& l : ms->labels) names.emplace(l.name);
    }
    std::vector<std::string> out(names.begin(), names.end());
    if (limit > 0 && out.size() > limit) out.resize(limit);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view name,
                                                       std::span<const Matcher> matchers,
                                                       size_t limit) const override {
    auto sel = db_->SelectSeries(matchers, mint_, maxt_);
    if (!sel.ok()) return sel.status();
    absl::btree_set<std::string> values;
    for (MemSeries* ms : *sel) {
      std::string_view v = ms->labels.Get(name);
      if (!v.empty()) values.emplace(v);
    }
    std::vector<std::string> out(values.begin(), values.end());
    if (limit > 0 && out.size() > limit) out.resize(limit);
    return out;
  }

  uint64_t EstimateSamples(std::span<const Matcher> matchers) const override {
    auto sel = db_->SelectSeries(matchers, mint_, maxt_);
    if (!sel.ok()) return 0;
    // Assume a 15s interval: the common scrape interval, and an upper bound for most setups.
    uint64_t per_series = static_cast<uint64_t>(std::max<int64_t>(0, maxt_ - mint_) / 15000 + 1);
    return sel->size() * per_series;
  }

 private:
  DB::Impl* db_;
  int64_t mint_, maxt_;
};

}  // namespace

DB::DB(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DB::~DB() = default;

absl::StatusOr<std::unique_ptr<DB>> DB::Open(DBOptions options) {
  if (!options.log) return absl::InvalidArgumentError("DBOptions.log is required");
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Open(); !s.ok()) return s;
  return std::unique_ptr<DB>(new DB(std::move(impl)));
}

std::unique_ptr<Appender> DB::NewAppender() {
  return std::make_unique<Impl::AppenderImpl>(impl_.get());
}

absl::StatusOr<std::unique_ptr<Querier>> DB::NewQuerier(int64_t mint, int64_t maxt) {
  if (mint > maxt) return absl::InvalidArgumentError("querier: mint > maxt");
  return std::unique_ptr<Querier>(new QuerierImpl(impl_.get(), mint, maxt));
}

absl::Status DB::Flush(bool seal_all) { return impl_->Flush(seal_all); }
absl::Status DB::FlushAndCompact() { return impl_->FlushAndCompact(); }
absl::Status DB::EnforceRetention() { return impl_->EnforceRetention(); }
absl::Status DB::Close() { return impl_->Close(); }
absl::Status DB::Snapshot(const std::string& dir) { return impl_->Snapshot(dir); }
DBStats DB::Stats(size_t top_n) { return impl_->Stats(top_n); }

}  // namespace pharos::storage
