#pragma once

// The only code that includes RocksDB. Stores Pharos's on-disk data in four column families:
//
//   default  meta:    "next_ref", "next_seq" -> u64
//   series   ref(8, BE) -> encoded label set
//   chunks   partition(4, BE, sign-flipped) ref(8, BE) start(8, BE, sign-flipped) seq(8, BE)
//            -> sealed chunk (storage/chunkenc). Time ranges and retention are key ranges.
//   parts    partition(4) ref(8) -> "" : which series have data in a partition (a UTC day)
//
// Layout documented in storage/docs/format/rocksdb.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos::storage {

struct RocksOptions {
  std::string path;                   // directory; created if missing
  uint64_t block_cache_bytes = 64ull << 20;   // shared LRU block cache. Default 64 MiB.
  uint64_t write_buffer_bytes = 32ull << 20;  // memtable size per column family. Default 32 MiB.
  int background_jobs = 2;            // flush + compaction threads. Default 2.
};

struct StoredChunk {
  int32_t partition;
  uint64_t ref;
  int64_t start;
  uint64_t seq;
  std::string data;
};

class RocksStore {
 public:
  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const RocksOptions& options);
  virtual ~RocksStore() = default;

  class Batch {
   public:
    virtual ~Batch() = default;
    virtual void PutSeries(uint64_t ref, std::string_view encoded_labels) = 0;
    virtual void DeleteSeries(uint64_t ref) = 0;
    virtual void PutChunk(int32_t partition, uint64_t ref, int64_t start, uint64_t seq,
                          std::string_view data) = 0;
    virtual void PutPart(int32_t partition, uint64_t ref) = 0;
    virtual void PutMeta(std::string_view key, uint64_t value) = 0;
    virtual size_t Count() const = 0;
  };
  virtual std::unique_ptr<Batch> NewBatch() = 0;
  // Writes atomically; with `sync`, fsyncs RocksDB's log first.
  [[nodiscard]] virtual absl::Status Write(Batch& batch, bool sync) = 0;

  [[nodiscard]] virtual absl::StatusOr<uint64_t> GetMeta(std::string_view key) = 0;  // 0 if absent
  [[nodiscard]] virtual absl::Status ForEachSeries(
      const std::function<void(uint64_t ref, std::string_view encoded_labels)>& fn) = 0;
  [[nodiscard]] virtual absl::Status ForEachPart(
      const std::function<void(int32_t partition, uint64_t ref)>& fn) = 0;
  // Chunks of `ref` in `partition`, in key order (start, seq). Chunks starting after `maxt`
  // are skipped; the caller filters by the chunk's own time range.
  [[nodiscard]] virtual absl::Status ReadChunks(
      int32_t partition, uint64_t ref, int64_t maxt,
      const std::function<void(int64_t start, uint64_t seq, std::string_view data)>& fn) = 0;
  // Reads chunks like ReadChunks, reusing one RocksDB iterator across calls (a query reads
  // many series; creating an iterator per series was ~5% of a cheap query's CPU). It reads
  // the store as of its creation: callers that need later writes make a new one.
  class ChunkReader {
   public:
    virtual ~ChunkReader() = default;
    [[nodiscard]] virtual absl::Status Read(
        int32_t partition, uint64_t ref, int64_t maxt,
        const std::function<void(int64_t start, uint64_t seq, std::string_view data)>& fn) = 0;
  };
  virtual std::unique_ptr<ChunkReader> NewChunkReader() = 0;
  // Every chunk of a partition (compaction, verification).
  [[nodiscard]] virtual absl::Status ForEachChunk(
      int32_t partition, const std::function<void(const StoredChunk&)>& fn) = 0;
  // Partitions that hold chunks, ascending.
  [[nodiscard]] virtual absl::StatusOr<std::vector<int32_t>> Partitions() = 0;
  // Removes every chunk and part entry of the partition (range deletions).
  [[nodiscard]] virtual absl::Status DropPartition(int32_t partition) = 0;
  // Deletes chunks of `ref` in `partition` (compaction rewrites them).
  [[nodiscard]] virtual absl::Status ReplaceChunks(int32_t partition, uint64_t ref,
                                                   const std::vector<StoredChunk>& chunks) = 0;

  // Makes everything written so far survive power loss (fsync of RocksDB's log).
  [[nodiscard]] virtual absl::Status SyncWal() = 0;
  // Flushes memtables to SST files (compressed), so a closed store holds no data only in
  // RocksDB's log.
  [[nodiscard]] virtual absl::Status FlushMemtables() = 0;
  // Flushes memtables to SST files and compacts everything (tests and benchmarks: "after a
  // flush and compaction").
  [[nodiscard]] virtual absl::Status FlushAndCompact() = 0;
  // Bytes of live SST and log files.
  virtual uint64_t DiskBytes() = 0;
  // A consistent on-disk copy (hard links where possible) in `dir`, which must not exist.
  [[nodiscard]] virtual absl::Status Checkpoint(const std::string& dir) = 0;
  // For self-metrics: write stall time and bytes written by compactions.
  virtual uint64_t StallMicros() = 0;
  virtual uint64_t CompactionBytesWritten() = 0;
};

// Key helpers exposed for tests.
int32_t PartitionOf(int64_t t_ms);  // floor(t / 1 day)
int64_t PartitionStart(int32_t partition);
constexpr int64_t kPartitionMs = 24LL * 3600 * 1000;

}  // namespace pharos::storage
