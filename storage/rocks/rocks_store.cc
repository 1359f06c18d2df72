#include "storage/rocks/rocks_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace pharos::storage {

namespace {

constexpr char kSeriesCf[] = "series";
constexpr char kChunksCf[] = "chunks";
constexpr char kPartsCf[] = "parts";

absl::Status ToStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("rocksdb ", Av(what), ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

void PutU32BE(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64BE(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
// Signed values with the sign bit flipped sort correctly as unsigned big-endian bytes.
uint32_t Flip32(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }
int32_t Unflip32(uint32_t v) { return static_cast<int32_t>(v ^ 0x80000000u); }
uint64_t Flip64(int64_t v) { return static_cast<uint64_t>(v) ^ 0x8000000000000000ull; }
int64_t Unflip64(uint64_t v) { return static_cast<int64_t>(v ^ 0x8000000000000000ull); }

std::string PartPrefix(int32_t partition) {
  std::string k;
  PutU32BE(&k, Flip32(partition));
  return k;
}
std::string SeriesChunkPrefix(int32_t partition, uint64_t ref) {
  std::string k = PartPrefix(partition);
  PutU64BE(&k, ref);
  return k;
}
std::string ChunkKey(int32_t partition, uint64_t ref, int64_t start, uint64_t seq) {
  std::string k = SeriesChunkPrefix(partition, ref);
  PutU64BE(&k, Flip64(start));
  PutU64BE(&k, seq);
  return k;
}
std::string SeriesKey(uint64_t ref) {
  std::string k;
  PutU64BE(&k, ref);
  return k;
}

class BatchImpl final : public RocksStore::Batch {
 public:
  BatchImpl(rocksdb::ColumnFamilyHandle* series, rocksdb::ColumnFamilyHandle* chunks,
            rocksdb::ColumnFamilyHandle* parts, rocksdb::ColumnFamilyHandle* meta)
      : series_(series), chunks_(chunks), parts_(parts), meta_(meta) {}
  void PutSeries(uint64_t ref, std::string_view encoded) override {
    wb_.Put(series_, SeriesKey(ref), rocksdb::Slice(encoded.data(), encoded.size()));
  }
  void DeleteSeries(uint64_t ref) override { wb_.Delete(series_, SeriesKey(ref)); }
  void PutChunk(int32_t partition, uint64_t ref, int64_t start, uint64_t seq,
                std::string_view data) override {
    wb_.Put(chunks_, ChunkKey(partition, ref, start, seq),
            rocksdb::Slice(data.data(), data.size()));
  }
  void PutPart(int32_t partition, uint64_t ref) override {
    wb_.Put(parts_, SeriesChunkPrefix(partition, ref), rocksdb::Slice());
  }
  void PutMeta(std::string_view key, uint64_t value) override {
    std::string v;
    PutU64BE(&v, value);
    wb_.Put(meta_, rocksdb::Slice(key.data(), key.size()), v);
  }
  size_t Count() const override { return static_cast<size_t>(wb_.Count()); }
  rocksdb::WriteBatch wb_;

 private:
  rocksdb::ColumnFamilyHandle *series_, *chunks_, *parts_, *meta_;
};

class RocksStoreImpl final : public RocksStore {
 public:
  ~RocksStoreImpl() override {
    if (db_) {
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
      db_->Close();
    }
  }

  absl::Status Open(const RocksOptions& o) {
    std::error_code ec;
    std::filesystem::create_directories(o.path, ec);
    if (ec) return absl::InternalError(absl::StrCat("create ", o.path, ": ", ec.message()));
    stats_ = rocksdb::CreateDBStatistics();
    stats_->set_stats_level(rocksdb::StatsLevel::kExceptTimeForMutex);
    rocksdb::DBOptions dbo;
    dbo.create_if_missing = true;
    dbo.create_missing_column_families = true;
    dbo.max_background_jobs = o.background_jobs;
    dbo.statistics = stats_;
    dbo.keep_log_file_num = 5;
    dbo.max_total_wal_size = 256ull << 20;
    dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

    cache_ = rocksdb::NewLRUCache(o.block_cache_bytes);
    auto table = [&](bool bloom) {
      rocksdb::BlockBasedTableOptions t;
      t.block_cache = cache_;
      t.block_size = 16 * 1024;
      t.format_version = 5;
      if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
      return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(t));
    };
    auto cf_base = [&] {
      rocksdb::ColumnFamilyOptions c;
      c.write_buffer_size = o.write_buffer_bytes;
      c.compression = rocksdb::kLZ4Compression;
      c.bottommost_compression = rocksdb::kZSTD;
      c.level_compaction_dynamic_level_bytes = true;
      return c;
    };
    rocksdb::ColumnFamilyOptions meta_cf = cf_base();
    rocksdb::ColumnFamilyOptions series_cf = cf_base();
    series_cf.table_factory = table(true);
    series_cf.optimize_filters_for_hits = true;
    // Chunks: every read is a prefix scan of (partition, ref); a prefix bloom filter lets
    // RocksDB skip SST files that don't hold the series.
    rocksdb::ColumnFamilyOptions chunks_cf = cf_base();
    chunks_cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(12));
    chunks_cf.table_factory = table(true);
    chunks_cf.compression_opts.max_dict_bytes = 0;
    chunks_cf.bottommost_compression_opts.level = 3;
    chunks_cf.bottommost_compression_opts.enabled = true;
    rocksdb::ColumnFamilyOptions parts_cf = cf_base();
    parts_cf.table_factory = table(false);

    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, meta_cf},
        {kSeriesCf, series_cf},
        {kChunksCf, chunks_cf},
        {kPartsCf, parts_cf}};
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(dbo, o.path, cfs, &handles_, &db);
    if (!s.ok()) return ToStatus(s, absl::StrCat("open ", o.path));
    db_.reset(db);
    meta_ = handles_[0];
    series_ = handles_[1];
    chunks_ = handles_[2];
    parts_ = handles_[3];
    return absl::OkStatus();
  }

  std::unique_ptr<Batch> NewBatch() override {
    return std::make_unique<BatchImpl>(series_, chunks_, parts_, meta_);
  }

  absl::Status Write(Batch& batch, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return ToStatus(db_->Write(wo, &static_cast<BatchImpl&>(batch).wb_), "write");
  }

  absl::StatusOr<uint64_t> GetMeta(std::string_view key) override {
    std::string v;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), meta_, rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return 0;
    if (!s.ok()) return ToStatus(s, "get meta");
    if (v.size() != 8) return absl::DataLossError("rocksdb meta value has the wrong size");
    return GetU64BE(v.data());
  }

  absl::Status ForEachSeries(
      const std::function<void(uint64_t, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), series_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 8) return absl::DataLossError("bad series key");
      fn(GetU64BE(it->key().data()), std::string_view(it->value().data(), it->value().size()));
    }
    return ToStatus(it->status(), "scan series");
  }

  absl::Status ForEachPart(const std::function<void(int32_t, uint64_t)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), parts_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 12) return absl::DataLossError("bad parts key");
      fn(Unflip32(GetU32BE(it->key().data())), GetU64BE(it->key().data() + 4));
    }
    return ToStatus(it->status(), "scan parts");
  }

  class ChunkReaderImpl final : public ChunkReader {
   public:
    ChunkReaderImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
      rocksdb::ReadOptions ro;
      ro.prefix_same_as_start = true;
      it_.reset(db->NewIterator(ro, cf));
    }
    absl::Status Read(
        int32_t partition, uint64_t ref, int64_t maxt,
        const std::function<void(int64_t, uint64_t, std::string_view)>& fn) override {
      std::string prefix = SeriesChunkPrefix(partition, ref);
      rocksdb::Iterator* it = it_.get();
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        if (it->key().size() != 28) return absl::DataLossError("bad chunk key");
        int64_t start = Unflip64(GetU64BE(it->key().data() + 12));
        if (start > maxt) break;
        fn(start, GetU64BE(it->key().data() + 20),
           std::string_view(it->value().data(), it->value().size()));
      }
      return ToStatus(it->status(), "read chunks");
    }

   private:
    std::unique_ptr<rocksdb::Iterator> it_;
  };

  std::unique_ptr<ChunkReader> NewChunkReader() override {
    return std::make_unique<ChunkReaderImpl>(db_.get(), chunks_);
  }

  absl::Status ReadChunks(
      int32_t partition, uint64_t ref, int64_t maxt,
      const std::function<void(int64_t, uint64_t, std::string_view)>& fn) override {
    return ChunkReaderImpl(db_.get(), chunks_).Read(partition, ref, maxt, fn);
  }

  absl::Status ForEachChunk(int32_t partition,
                            const std::function<void(const StoredChunk&)>& fn) override {
    std::string prefix = PartPrefix(partition);
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, chunks_));
    StoredChunk c;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (it->key().size() != 28) return absl::DataLossError("bad chunk key");
      c.partition = partition;
      c.ref = GetU64BE(it->key().data() + 4);
      c.start = Unflip64(GetU64BE(it->key().data() + 12));
      c.seq = GetU64BE(it->key().data() + 20);
      c.data.assign(it->value().data(), it->value().size());
      fn(c);
    }
    return ToStatus(it->status(), "scan chunks");
  }

  absl::StatusOr<std::vector<int32_t>> Partitions() override {
    std::vector<int32_t> out;
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, chunks_));
    it->SeekToFirst();
    while (it->Valid()) {
      if (it->key().size() < 4) return absl::DataLossError("bad chunk key");
      uint32_t raw = GetU32BE(it->key().data());
      out.push_back(Unflip32(raw));
      if (raw == 0xffffffffu) break;
      std::string next;
      PutU32BE(&next, raw + 1);
      it->Seek(next);
    }
    if (!it->status().ok()) return ToStatus(it->status(), "list partitions");
    return out;
  }

  absl::Status DropPartition(int32_t partition) override {
    std::string begin = PartPrefix(partition);
    std::string end;
    PutU32BE(&end, Flip32(partition) + 1);
    rocksdb::WriteBatch wb;
    wb.DeleteRange(chunks_, begin, end);
    wb.DeleteRange(parts_, begin, end);
    rocksdb::WriteOptions wo;
    if (auto s = db_->Write(wo, &wb); !s.ok()) return ToStatus(s, "drop partition");
    // Reclaim the space now rather than at some later compaction.
    rocksdb::Slice b(begin), e(end);
    rocksdb::CompactRangeOptions co;
    return ToStatus(db_->CompactRange(co, chunks_, &b, &e), "compact dropped partition");
  }

  absl::Status ReplaceChunks(int32_t partition, uint64_t ref,
                             const std::vector<StoredChunk>& chunks) override {
    std::string begin = SeriesChunkPrefix(partition, ref);
    std::string end = SeriesChunkPrefix(partition, ref + 1);
    rocksdb::WriteBatch wb;
    wb.DeleteRange(chunks_, begin, end);
    for (const auto& c : chunks) {
      wb.Put(chunks_, ChunkKey(partition, ref, c.start, c.seq), c.data);
    }
    return ToStatus(db_->Write(rocksdb::WriteOptions(), &wb), "replace chunks");
  }

  absl::Status SyncWal() override { return ToStatus(db_->SyncWAL(), "sync wal"); }

  absl::Status FlushMemtables() override {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    return ToStatus(db_->Flush(fo, handles_), "flush");
  }

  absl::Status FlushAndCompact() override {
    if (absl::Status s = FlushMemtables(); !s.ok()) return s;
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (auto* h : handles_) {
      if (auto s = db_->CompactRange(co, h, nullptr, nullptr); !s.ok()) {
        return ToStatus(s, "compact");
      }
    }
    return absl::OkStatus();
  }

  uint64_t DiskBytes() override {
    uint64_t total = 0;
    for (auto* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, "rocksdb.live-sst-files-size", &v)) total += v;
    }
    uint64_t wal = 0;
    if (db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &wal)) {
      // Memtable data lives in RocksDB's log until flushed; count it as on-disk.
      total += wal;
    }
    return total;
  }

  absl::Status Checkpoint(const std::string& dir) override {
    rocksdb::Checkpoint* cp = nullptr;
    if (auto s = rocksdb::Checkpoint::Create(db_.get(), &cp); !s.ok()) {
      return ToStatus(s, "checkpoint");
    }
    std::unique_ptr<rocksdb::Checkpoint> holder(cp);
    return ToStatus(cp->CreateCheckpoint(dir), "checkpoint");
  }

  uint64_t StallMicros() override { return stats_->getTickerCount(rocksdb::STALL_MICROS); }
  uint64_t CompactionBytesWritten() override {
    return stats_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle *meta_ = nullptr, *series_ = nullptr, *chunks_ = nullptr,
                              *parts_ = nullptr;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::Statistics> stats_;
};

}  // namespace

int32_t PartitionOf(int64_t t) {
  int64_t p = t / kPartitionMs;
  if (t % kPartitionMs < 0) --p;
  return static_cast<int32_t>(p);
}

int64_t PartitionStart(int32_t partition) { return int64_t{partition} * kPartitionMs; }

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const RocksOptions& options) {
  auto s = std::make_unique<RocksStoreImpl>();
  if (absl::Status st = s->Open(options); !st.ok()) return st;
  return std::unique_ptr<RocksStore>(std::move(s));
}

}  // namespace pharos::storage
