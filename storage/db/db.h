#pragma once

// pharos::storage::DB: the time-series store. Implements Appendable and Queryable over
//   - the head: per-series open chunks (XOR, in memory), sealed chunks awaiting flush, and an
//     out-of-order buffer; an in-memory inverted index (MemPostings) over every series, and
//     per-day partition membership so a query only looks at series with data in its range;
//   - the WAL (storage/wal): every committed batch is logged before it is acknowledged;
//   - RocksDB (storage/rocks): sealed chunks under [partition][ref][start][seq], series
//     labels, partition membership.
// A background flusher seals full, old or idle chunks, writes them to RocksDB in batches,
// and truncates the WAL behind them; retention drops whole partitions.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/logging.h"
#include "storage/api/storage.h"
#include "storage/labels/labels.h"
#include "storage/wal/wal.h"

namespace pharos {
class Registry;
}

namespace pharos::storage {

struct DBOptions {
  std::string path;                       // required; holds wal/ and rocksdb/
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;  // 0: keep forever. Default 30d.
  int64_t retention_bytes = 0;            // 0: no size limit
  // Samples newer than now + this are rejected. Default 1h. 0: no limit.
  int64_t future_tolerance_ms = 3600LL * 1000;
  WalSync wal_sync = WalSync::kBatch;
  uint64_t wal_segment_bytes = 64ull << 20;     // Default 64 MiB.
  LabelLimits label_limits;               // validation at append
  uint64_t max_series = 0;                // head series limit; 0: none
  int chunk_samples = 120;                // seal an open chunk at this many samples
  // Seal an open chunk this long after its first sample arrived, so the WAL behind it can go.
  int64_t max_chunk_age_ms = 3600LL * 1000;  // Default 1h.
  // How often the background flusher runs. Default 10s. 0: no background thread (tests call
  // Flush() themselves).
  int64_t flush_interval_ms = 10 * 1000;
  // How often retention is enforced. Default 1m.
  int64_t retention_interval_ms = 60 * 1000;
  // Clock in ms since the epoch; default: system clock. Tests inject one.
  std::function<int64_t()> now_ms;
  Registry* registry = nullptr;           // optional: pharos_storage_* metrics
  LoggerPtr log;                          // required
};

struct DBStats {
  uint64_t num_series = 0;
  uint64_t num_label_pairs = 0;
  uint64_t head_chunks = 0;
  uint64_t head_bytes = 0;          // open chunks + pending sealed chunks + OOO buffers
  int64_t min_time = 0, max_time = 0;  // over all data (0 if empty)
  uint64_t wal_bytes = 0;
  uint64_t disk_bytes = 0;          // RocksDB live SST + memtables
  struct Count {
    std::string name;
    uint64_t value;
  };
  std::vector<Count> series_by_metric;       // top N
  std::vector<Count> series_by_label_pair;   // top N, "name=value"
  std::vector<Count> label_value_counts;     // top N label names by distinct values
  std::vector<Count> memory_by_label_name;   // top N
};

class DB : public Appendable, public Queryable {
 public:
  // Opens (creating if needed) and recovers: loads series and partitions from RocksDB, then
  // replays the WAL into the head. Returns when the data is queryable (-> /-/ready).
  static absl::StatusOr<std::unique_ptr<DB>> Open(DBOptions options);
  ~DB() override;

  std::unique_ptr<Appender> NewAppender() override;
  absl::StatusOr<std::unique_ptr<Querier>> NewQuerier(int64_t mint, int64_t maxt) override;

  // Seals and writes what the flusher would (everything pending, plus chunks past their
  // age), then truncates the WAL. With `seal_all`, every open chunk and OOO buffer is sealed
  // and written too (shutdown, benchmarks, tests).
  [[nodiscard]] absl::Status Flush(bool seal_all = false);
  // Flush(seal_all) plus a full RocksDB flush and compaction.
  [[nodiscard]] absl::Status FlushAndCompact();
  // Drops partitions older than retention and series left without data.
  [[nodiscard]] absl::Status EnforceRetention();
  // Stops background work, flushes everything, closes. Also done by the destructor.
  [[nodiscard]] absl::Status Close();
  // Online backup: a consistent copy of the data in `dir` after flushing the head.
  [[nodiscard]] absl::Status Snapshot(const std::string& dir);

  DBStats Stats(size_t top_n = 10);

  class Impl;

 private:
  explicit DB(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::storage
