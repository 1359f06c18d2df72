#pragma once

// Appends a decoded remote-write request to storage, with a bounded per-connection cache of
// label set -> SeriesRef so that a series seen before is appended by ref, without building its
// Labels again.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/ingest/remote_write_decoder.h"
#include "storage/api/storage.h"

namespace pharos::ingest {

// Maps SeriesKey (128-bit label-set hash, see remote_write_decoder.h) to the SeriesRef the
// Appender returned. No labels are stored, so an entry costs ~40 bytes.
//
// Bounded by two generations of at most `max_entries` each (at most 2 * max_entries entries,
// ~80 bytes * max_entries): when the current generation is full it becomes the previous one
// and a new one starts; a hit in the previous generation moves the entry forward. Series sent
// regularly stay cached; series that stopped being sent fall out after two generations.
//
// Refs are only valid for the storage that issued them: Clear() the cache when the storage is
// replaced, and after a Commit error or Rollback (refs of series created in that batch may not
// exist).
class SeriesRefCache {
 public:
  // Default: 16384 per generation (~1.3 MiB at most). A sender shards series over its
  // connections, so one connection sees a fraction of all series.
  explicit SeriesRefCache(size_t max_entries = 16384);

  // 0 when not cached.
  storage::SeriesRef Get(const SeriesKey& key);
  void Put(const SeriesKey& key, storage::SeriesRef ref);
  void Erase(const SeriesKey& key);
  void Clear();
  size_t size() const { return current_.size() + previous_.size(); }
  size_t max_entries() const { return max_entries_; }

 private:
  size_t max_entries_;
  absl::flat_hash_map<SeriesKey, storage::SeriesRef> current_;
  absl::flat_hash_map<SeriesKey, storage::SeriesRef> previous_;
};

inline constexpr size_t kNumStorageRejectReasons = 5;  // storage::RejectReason values

// Counts for one request: the X-Prometheus-Remote-Write-*-Written headers and the response body.
struct AppendStats {
  uint64_t series = 0;           // series in the request
  uint64_t series_rejected = 0;  // by the decoder (invalid labels, bad refs, ...)

  uint64_t samples_written = 0;   // accepted by the Appender
  uint64_t samples_rejected = 0;  // both kinds below
  // Samples of series the decoder rejected, by SeriesError.
  std::array<uint64_t, kNumSeriesErrors> samples_rejected_by_series_error{};
  // Samples the Appender rejected, by storage::RejectReason.
  std::array<uint64_t, kNumStorageRejectReasons> samples_rejected_by_storage{};

  // Native histograms: storage takes floats only, so none is written yet. Invalid ones are
  // counted apart from valid ones ("native histograms not supported yet").
  uint64_t histograms_received = 0;
  uint64_t histograms_written = 0;
  uint64_t histograms_invalid = 0;
  uint64_t histograms_unsupported = 0;
  // Exemplars: counted, not stored yet.
  uint64_t exemplars_received = 0;
  uint64_t exemplars_written = 0;
  uint64_t exemplars_not_stored = 0;

  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;

  // Something valid-looking was refused: a series or sample was rejected, or a histogram was
  // invalid. The handler answers 400 with Message() after committing what was written
  // (senders drop a 4xx batch and do not retry it, so only invalid data should cause it).
  bool HasRejections() const { return samples_rejected != 0 || series_rejected != 0 ||
                                      histograms_invalid != 0; }
  // Histograms or exemplars were received but not stored. Reported through the
  // -Histograms-Written / -Exemplars-Written headers (a 2.0 sender compares them with what it
  // sent); whether that alone warrants a 400 is the handler's policy.
  bool HasUnstored() const { return histograms_unsupported != 0 || exemplars_not_stored != 0; }

  // One line for the response body and logs, e.g.
  //   "3 of 2000 samples rejected: 2 in 1 series with duplicate label name (duplicate label
  //    name "job" in series {...}), 1 out of retention; 4 native histograms not written:
  //    native histograms not supported yet; 7 exemplars not written: exemplars not stored yet"
  // `decoded` supplies the example rejection. Empty when nothing was rejected or dropped.
  std::string Message(const DecodedRequest& decoded) const;
};

// Human-readable storage rejection reason, e.g. "out of retention".
std::string_view StorageRejectReasonText(storage::RejectReason r);

// Appends every float sample of every valid series in `req` to `app` (series refs from and
// into `cache`, which may be null), counting what was written and what was rejected and why.
// Does not Commit: the caller commits (and answers 5xx if Commit fails, so the sender retries).
AppendStats AppendDecoded(const DecodedRequest& req, storage::Appender& app,
                          SeriesRefCache* cache);

}  // namespace pharos::ingest
