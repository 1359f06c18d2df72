#pragma once

// Write-ahead log: numbered segment files of length-prefixed, CRC-checked records.
//
// Log() returns once the record is written to the OS (it survives kill -9), or, in kAlways
// mode, once it is also fsynced (it survives power loss). Concurrent callers are group-
// committed: one leader writes (and syncs) everybody's pending records in one system call.
//
// Record framing (little-endian): u32 payload length, u32 CRC-32 of the payload, payload.
// Segments are files named %020llu in the WAL directory, cut at `segment_bytes`.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/logging.h"

namespace pharos {
class Registry;
}

namespace pharos::storage {

enum class WalSync {
  kBatch,   // write(2) before acknowledging; the OS flushes (survives a process crash)
  kAlways,  // write(2) + fdatasync before acknowledging (survives power loss)
};

struct WalOptions {
  std::string dir;                         // created if missing; required
  uint64_t segment_bytes = 128ull << 20;   // cut a new segment past this size. Default 128 MiB.
  uint32_t max_record_bytes = 256u << 20;  // larger records are refused. Default 256 MiB.
  WalSync sync = WalSync::kBatch;
  Registry* registry = nullptr;            // optional: pharos_storage_wal_* metrics
  LoggerPtr log;                           // required
};

class Wal {
 public:
  // Opens the directory. Existing segments are kept for Replay(); new records go to a fresh
  // segment numbered after the last existing one.
  static absl::StatusOr<std::unique_ptr<Wal>> Open(WalOptions options);
  ~Wal();

  // Replays every record of every segment that existed at Open(), in order. A torn or corrupt
  // record (bad length or checksum) ends that segment's replay: it is logged with its segment
  // and offset, everything before it is kept, and replay continues with the next segment.
  // Call before the first Log().
  struct ReplayStats {
    uint64_t segments = 0, records = 0, bytes = 0, corrupt_segments = 0;
  };
  absl::StatusOr<ReplayStats> Replay(
      const std::function<absl::Status(uint64_t segment, std::string_view record)>& fn);

  // Appends one record; durable per `sync` when it returns OK. Returns the segment it went to.
  absl::StatusOr<uint64_t> Log(std::string_view record);

  // The segment new records currently go to.
  uint64_t CurrentSegment() const;
  // Closes the current segment and starts a new one; returns the new segment's number.
  absl::StatusOr<uint64_t> Cut();
  // Deletes every segment numbered below `segment` (never the current one).
  absl::Status TruncateBefore(uint64_t segment);
  // Bytes in all segments on disk.
  uint64_t SizeBytes() const;

  class Impl;

 private:
  explicit Wal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::storage
