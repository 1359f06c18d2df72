#pragma once

// Sealed-chunk codec. EncodeChunk picks, per chunk and per column, the smallest of several
// encodings (regular/jittered/delta/delta-of-delta timestamps; constant, scaled-decimal or XOR
// values). Byte layout: storage/docs/format/chunks.md.
//
// Timestamps may be any int64 values in any order (arithmetic is modulo 2^64); values may be any
// float64 bit pattern. Both round-trip bit-exactly.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pharos::chunkenc {

// First byte of every sealed chunk.
enum class Encoding : uint8_t {
  kXor = 1,       // Gorilla stream, as written by XorAppender.
  kColumnar = 2,  // Timestamp column, then value column, each with its own codec.
};

enum class TimestampCodec : uint8_t {
  kRegular = 0,       // t0 + i*step.
  kGrid = 1,          // t0 + i*step + small per-sample deviation (scrape jitter).
  kDelta = 2,         // Bit-packed deltas.
  kDeltaOfDelta = 3,  // Bit-packed deltas of deltas (also reported for kXor chunks).
};

enum class ValueCodec : uint8_t {
  kConst = 0,         // One raw float64.
  kDecimalDelta = 1,  // v = i / 10^k; bit-packed deltas of i.
  kDecimalDoD = 2,    // v = i / 10^k; bit-packed deltas of deltas of i.
  kXor = 3,           // Gorilla XOR of float bits (also reported for kXor chunks).
};

// Most samples one chunk may hold; EncodeChunk aborts above it, decoders reject it.
inline constexpr uint64_t kMaxChunkSamples = uint64_t{1} << 16;

// Appends one sealed chunk holding the samples to *dst. Requires ts.size() == vs.size() <=
// kMaxChunkSamples (aborts otherwise: a caller bug). An empty input gives a valid empty chunk.
void EncodeChunk(std::span<const int64_t> ts, std::span<const double> vs, std::string* dst);

// Appends the chunk's samples to *ts and *vs. On error (corrupt or truncated chunk) neither
// vector is changed.
[[nodiscard]] absl::Status DecodeChunk(std::string_view chunk, std::vector<int64_t>* ts,
                                       std::vector<double>* vs);

struct ChunkHeader {
  Encoding encoding;
  TimestampCodec timestamp_codec;
  ValueCodec value_codec;
  uint64_t num_samples;
  int64_t first_time;  // = MinTime for time-ordered chunks (what the head writes).
  int64_t last_time;   // = MaxTime for time-ordered chunks.
};

// Parses only the header (a few bytes); does not validate the body.
[[nodiscard]] absl::StatusOr<ChunkHeader> ReadChunkHeader(std::string_view chunk);
[[nodiscard]] absl::StatusOr<uint64_t> NumSamples(std::string_view chunk);
// First and last timestamps of a non-empty chunk, read from the header.
[[nodiscard]] absl::StatusOr<int64_t> MinTime(std::string_view chunk);
[[nodiscard]] absl::StatusOr<int64_t> MaxTime(std::string_view chunk);

// Iterator over a sealed chunk of any encoding. Holds a view of the chunk, which must outlive
// it. Decodes the whole chunk in bulk on the first Next/Seek (chunks are ~120 samples), so
// At() is O(1) and Reset() reuses the buffers.
class ChunkIterator {
 public:
  ChunkIterator() = default;
  explicit ChunkIterator(std::string_view chunk) : chunk_(chunk) {}

  void Reset(std::string_view chunk);

  // Advances to the next sample; false at the end or on error.
  bool Next() {
    if (!loaded_ && !Load()) return false;
    if (!started_) {
      started_ = true;
      pos_ = 0;
    } else if (pos_ < ts_.size()) {
      ++pos_;
    }
    return pos_ < ts_.size();
  }
  // Advances to the first sample with timestamp >= t. If the current sample already qualifies
  // it stays put. Never moves backwards. False if there is no such sample or on error.
  bool Seek(int64_t t);
  // The current sample; valid only after Next/Seek returned true.
  std::pair<int64_t, double> At() const { return {ts_[pos_], vs_[pos_]}; }
  // Error, if any, once iteration stopped.
  absl::Status Err() const { return err_; }

 private:
  bool Load();

  std::string_view chunk_;
  std::vector<int64_t> ts_;
  std::vector<double> vs_;
  size_t pos_ = 0;
  bool loaded_ = false;
  bool started_ = false;
  absl::Status err_;
};

}  // namespace pharos::chunkenc
