#pragma once

// Zero-copy decoder for Prometheus remote-write requests: 1.0 `prometheus.WriteRequest` and
// 2.0 `io.prometheus.write.v2.Request`, hand-written over the protobuf wire format (no
// generated-code parsing on this path).
//
// The result is flat and reusable: one vector of series, one of labels (views into the
// decompressed body), one of samples; Reset() keeps every buffer's capacity, so a decoder kept
// per connection stops allocating after the first few requests (STYLE.md "pools").
//
// Two kinds of failure:
//  - Request errors (Decode returns non-OK, answer 400/413): snappy corruption or size limit,
//    malformed wire format (truncated varints, lengths past the end, wrong wire types for known
//    fields, bad tags), a 2.0 symbols table whose first entry is not "". Nothing is usable.
//  - Series errors (DecodedSeries::error): a well-formed series that cannot be stored (empty,
//    duplicate or invalid-UTF-8 label names, label limits, 2.0 symbol references out of range,
//    odd labels_refs). The other series remain valid; the handler writes them and then answers
//    400 saying how many were rejected and why (see remote_write_append.h).
//
// Unknown fields are skipped (all wire types, groups included). Unsorted labels are sorted,
// not rejected. Labels with empty values are dropped (an empty value means "absent", as in
// storage/labels/labels.h). Native histograms and exemplars are decoded far enough to
// validate and count them; storage takes float samples only for now.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/ingest/remote_write_negotiate.h"
#include "storage/labels/labels.h"

namespace pharos::ingest {

namespace internal {
struct WireError;
}  // namespace internal

// Metric types as both protos number them (1.0 UNKNOWN and 2.0 UNSPECIFIED are 0).
enum class RwMetricType : uint32_t {
  kUnknown = 0,
  kCounter = 1,
  kGauge = 2,
  kHistogram = 3,
  kGaugeHistogram = 4,
  kSummary = 5,
  kInfo = 6,
  kStateset = 7,
};
// "counter", "gauge", ...; "unknown" for 0 and for values outside the enum.
std::string_view RwMetricTypeName(RwMetricType t);

// Why a whole series was rejected. Keep in sync with SeriesErrorName().
enum class SeriesError : uint8_t {
  kNone = 0,
  kNoLabels,             // no labels at all (after dropping empty values)
  kEmptyLabelName,       // a label with an empty name
  kDuplicateLabelName,   // two labels with the same name
  kInvalidUtf8,          // label name or value is not valid UTF-8
  kLabelLimit,           // too many labels, or a name or value too long (LabelLimits)
  kInvalidName,          // legacy name syntax or missing __name__ (LabelLimits options)
  kOddLabelRefs,         // 2.0: labels_refs (of the series or an exemplar) has odd length
  kSymbolRefOutOfRange,  // 2.0: a label, exemplar or metadata ref past the symbols table
};
inline constexpr size_t kNumSeriesErrors = 9;
// Human-readable, e.g. "duplicate label name".
std::string_view SeriesErrorName(SeriesError e);

struct Sample {
  int64_t t_ms = 0;
  double v = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};

// 128-bit hash of the final label set (sorted, empty values dropped): XXH3-128 over, per
// label in order, the XXH3-128 of its name and of its value folded into 128 bits (so 2.0 hashes each distinct symbol once per
// request; 1.0 and 2.0 give the same key for the same label set). Used as the series-ref cache
// key; collisions are negligible (~2^-64 per pair of distinct strings or sets) and no labels
// need to be kept to verify hits. Not stable across Pharos versions: never persist it.
struct SeriesKey {
  uint64_t lo = 0;
  uint64_t hi = 0;
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SeriesKey& k) {
    return H::combine(std::move(h), k.lo, k.hi);
  }
};

struct DecodedSeries {
  // Ranges into DecodedRequest::labels / ::samples (use DecodedRequest::LabelsOf/SamplesOf).
  // Labels are sorted by name with empty values dropped when error == kNone; for a rejected
  // series they are as far as decoding got (for the error message only).
  uint32_t labels_begin = 0;
  uint32_t labels_size = 0;
  uint32_t samples_begin = 0;
  uint32_t samples_size = 0;
  // Native histogram samples and exemplars in this series, and how many of the histograms
  // were invalid (int/float mix, bucket counts not matching spans, bad schema).
  uint32_t num_histograms = 0;
  uint32_t num_invalid_histograms = 0;
  uint32_t num_exemplars = 0;
  // 2.0 per-series metadata (1.0 carries metadata per metric family: DecodedRequest::metadata).
  RwMetricType type = RwMetricType::kUnknown;
  std::string_view help;
  std::string_view unit;
  // 2.0 created (start) timestamp in ms; 0 when unknown.
  int64_t created_timestamp_ms = 0;
  SeriesKey key;  // valid when error == kNone
  SeriesError error = SeriesError::kNone;
  bool ok() const { return error == SeriesError::kNone; }
};

// 1.0 WriteRequest.metadata entry.
struct MetricFamilyMetadata {
  RwMetricType type = RwMetricType::kUnknown;
  std::string_view family_name;
  std::string_view help;
  std::string_view unit;
};

struct DecodedRequest {
  RemoteWriteVersion version = RemoteWriteVersion::kV1;
  std::vector<DecodedSeries> series;
  std::vector<Label> labels;
  std::vector<Sample> samples;
  std::vector<MetricFamilyMetadata> metadata;  // 1.0 only

  // Totals over all series, valid or rejected.
  uint64_t num_samples = 0;
  uint64_t num_histograms = 0;
  uint64_t num_invalid_histograms = 0;
  uint64_t num_exemplars = 0;
  // Rejected series, by reason, and the first rejection spelled out (reason, offending label,
  // series) for the 400 response body; empty when nothing was rejected.
  uint64_t num_series_rejected = 0;
  std::array<uint64_t, kNumSeriesErrors> series_rejected_by_reason{};
  std::string first_rejection;

  std::span<const Label> LabelsOf(const DecodedSeries& s) const {
    return std::span<const Label>(labels).subspan(s.labels_begin, s.labels_size);
  }
  std::span<const Sample> SamplesOf(const DecodedSeries& s) const {
    return std::span<const Sample>(samples).subspan(s.samples_begin, s.samples_size);
  }
  // Empties the request, keeping every buffer's capacity.
  void Reset();
};

struct DecoderOptions {
  // Largest decompressed body accepted, checked before allocating. Default: 128 MiB. Senders
  // batch ~2,000 samples (a few hundred KiB decompressed); the limit exists to stop snappy
  // bombs, not to shape traffic.
  size_t max_decompressed_bytes = size_t{128} << 20;
  // Label limits applied per series (storage/labels/labels.h; the same checks as
  // ValidateLabels). Default: LabelLimits{} (64 labels, names 256 bytes, values 4096 bytes).
  LabelLimits label_limits;
};

// Decodes requests into a reusable DecodedRequest. Single-threaded; keep one per connection
// (or in a pool) and reuse it. Views in result() stay valid until the next Decode* call.
class RemoteWriteDecoder {
 public:
  explicit RemoteWriteDecoder(DecoderOptions options = {});

  // Decompresses a snappy block-format body into the decoder's own buffer, then decodes it.
  [[nodiscard]] absl::Status DecodeSnappy(RemoteWriteVersion version, std::string_view body);
  // Decodes an uncompressed protobuf message; result() views point into `message`, which must
  // outlive their use.
  [[nodiscard]] absl::Status Decode(RemoteWriteVersion version, std::string_view message);

  // On error, result() is empty (Reset).
  const DecodedRequest& result() const { return req_; }
  const DecoderOptions& options() const { return options_; }

 private:
  [[nodiscard]] absl::Status DecodeV1(std::string_view msg);
  [[nodiscard]] absl::Status DecodeV2(std::string_view msg);
  // Each returns false on a wire-format error (recorded in *err).
  bool DecodeV1Series(std::string_view msg, internal::WireError* err);
  bool DecodeV1Metadata(std::string_view msg, internal::WireError* err);
  bool DecodeV2Series(std::string_view msg, internal::WireError* err);
  // Sorts, validates, drops empty values and hashes the labels of the last series, setting
  // its error (a series error already set by the caller is kept).
  // With `have_hashes`, label_hashes_ holds each label's name and value hashes (4 words per
  // label, parallel to the series' labels).
  void FinishSeries(DecodedSeries* s, bool utf8_checked, bool have_hashes);
  void RecordRejection(const DecodedSeries& s, std::string_view detail);

  DecoderOptions options_;
  DecodedRequest req_;
  std::string body_;                  // decompressed body (DecodeSnappy)
  std::vector<std::string_view> symbols_;     // 2.0 symbols table
  struct SymbolInfo {
    uint64_t hash_lo = 0, hash_hi = 0;  // XXH3-128 of the symbol
    uint8_t state = 0;                  // 0 not looked at yet, 1 valid UTF-8, 2 invalid
  };
  std::vector<SymbolInfo> symbol_info_;      // 2.0: per symbol, filled lazily
  const SymbolInfo& Symbol(uint32_t ref) {
    const SymbolInfo& si = symbol_info_[ref];
    return si.state != 0 ? si : SymbolSlow(ref);
  }
  const SymbolInfo& SymbolSlow(uint32_t ref);
  std::vector<std::string_view> series_msgs_; // 2.0: TimeSeries messages (second pass)
  std::vector<uint32_t> refs_;                // 2.0: labels_refs of the current series
  std::vector<uint64_t> label_hashes_;       // see FinishSeries
  std::vector<uint64_t> key_buf_;            // words hashed into SeriesKey
};

}  // namespace pharos::ingest
