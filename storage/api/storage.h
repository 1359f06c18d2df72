#pragma once

// The storage interfaces every other module uses (DESIGN.md "The two storage interfaces").
// Nothing here includes RocksDB or protobuf: query, alerting and server see storage only
// through these classes.
//
// Writing:  Appendable -> Appender (one-shot, single-threaded; Append... then Commit or
//           Rollback). Commit returns once the batch is durable; per-sample rejections are
//           reported by Append without failing the batch.
// Reading:  Queryable -> Querier for [mint, maxt] -> Select(matchers) -> SeriesSet of Series,
//           each with its labels and a sample iterator over head, disk and out-of-order data
//           merged, sorted by time and deduplicated.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/labels/labels.h"
#include "storage/labels/matcher.h"

namespace pharos::storage {

using SeriesRef = uint64_t;  // 0 is never a valid ref

// Why a sample was not stored. Keep in sync with RejectReasonName().
enum class RejectReason : uint8_t {
  kNone = 0,
  kInvalidLabels,     // empty/duplicate/invalid-UTF-8 names, invalid values, label limits
  kOutOfRetention,    // older than now - retention
  kTooFarInFuture,    // newer than now + the future tolerance
  kSeriesLimit,       // the head's series limit was reached
};
std::string_view RejectReasonName(RejectReason r);  // e.g. "out_of_retention"

struct AppendResult {
  SeriesRef ref = 0;                        // cache it and pass it to later Append calls
  RejectReason reject = RejectReason::kNone;
  bool ok() const { return reject == RejectReason::kNone; }
};

class Appender {
 public:
  virtual ~Appender() = default;
  // Adds one float sample. `ref` is 0 or a ref returned earlier for the same labels (then
  // `labels` is not looked at). Labels may be unsorted; they are validated. A sample with the
  // timestamp of an existing sample replaces it (same value: a no-op duplicate).
  virtual AppendResult Append(SeriesRef ref, const Labels& labels, int64_t t_ms, double v) = 0;
  // Makes every accepted sample durable and visible. After Commit or Rollback the appender is
  // spent.
  [[nodiscard]] virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
  // Counts for this batch so far.
  virtual size_t NumAccepted() const = 0;
  virtual size_t NumRejected() const = 0;
};

class Appendable {
 public:
  virtual ~Appendable() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
};

// Pull iterator over one series' samples in increasing time order, each timestamp once.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  virtual bool Next() = 0;
  // Advances to the first sample with t >= `t` (never backwards); false if none.
  virtual bool Seek(int64_t t) = 0;
  virtual int64_t T() const = 0;
  virtual double V() const = 0;
  virtual absl::Status Err() const = 0;
};

class Series {
 public:
  virtual ~Series() = default;
  virtual const Labels& labels() const = 0;
  // A fresh iterator over the querier's [mint, maxt] range each call.
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  virtual bool Next() = 0;
  // Valid until the next Next(); owned by the set.
  virtual const Series& At() const = 0;
  virtual absl::Status Err() const = 0;
  virtual std::vector<std::string> Warnings() const { return {}; }
};

struct SelectHints {
  bool sorted = true;        // series ordered by labels (Prometheus order)
  bool labels_only = false;  // caller needs no samples (e.g. /api/v1/series)
  size_t limit = 0;          // at most this many series (0: no limit)
};

class Querier {
 public:
  virtual ~Querier() = default;
  // Series matching every matcher that have data in a day partition overlapping
  // [mint, maxt]; a series' iterator may hold no sample inside the range itself.
  virtual std::unique_ptr<SeriesSet> Select(std::span<const Matcher> matchers,
                                            const SelectHints& hints = {}) const = 0;
  // Sorted label names / values of series matching `matchers` (all series if empty) in range.
  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      std::span<const Matcher> matchers, size_t limit = 0) const = 0;
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, std::span<const Matcher> matchers, size_t limit = 0) const = 0;
  // Upper bound on the samples Select(matchers) would read, for query limits.
  virtual uint64_t EstimateSamples(std::span<const Matcher> matchers) const = 0;
};

class Queryable {
 public:
  virtual ~Queryable() = default;
  virtual absl::StatusOr<std::unique_ptr<Querier>> NewQuerier(int64_t mint, int64_t maxt) = 0;
};

// Prometheus's staleness marker: a NaN with this exact bit pattern ends a series.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
bool IsStaleNaN(double v);

}  // namespace pharos::storage
