#pragma once

// Gorilla/XOR coding for open head chunks: an O(1) streaming appender and an iterator over the
// bits it has written so far. Sealed chunks normally go through EncodeChunk (chunk.h), which
// picks a denser encoding; XorAppender::AppendSealedTo emits the same bits as a sealed chunk
// (encoding id kXor) when re-encoding is not wanted.
//
// Every int64 timestamp sequence and every float64 bit pattern round-trips exactly: timestamp
// arithmetic is modulo 2^64 (non-increasing or huge jumps cost a 68-bit escape, never
// corruption) and values are compared as raw bits (NaN payloads, -0.0, denormals survive).

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "storage/chunkenc/internal/bitstream.h"
#include "storage/chunkenc/internal/gorilla.h"

namespace pharos::chunkenc {

// Iterates over a raw Gorilla stream of `num_samples` samples (no chunk header). Holds a view:
// the bytes must outlive the iterator and must not be appended to while it is in use.
class XorIterator {
 public:
  XorIterator() = default;
  XorIterator(std::string_view stream, uint64_t num_samples)
      : reader_(stream), num_samples_(num_samples) {}

  // Advances to the next sample. Returns false at the end or on corrupt data (see Err()).
  bool Next() {
    if (done_) return false;
    if (index_ >= num_samples_) {
      done_ = true;
      return false;
    }
    if (!ts_.Read(index_, &reader_) || !vs_.Read(index_, &reader_)) {
      err_ = absl::DataLossError("xor chunk: truncated or corrupt bit stream");
      done_ = true;
      return false;
    }
    ++index_;
    return true;
  }

  // Advances to the first sample with timestamp >= t; no-op if the current one qualifies.
  bool Seek(int64_t t) {
    if (done_) return false;
    if (index_ > 0 && static_cast<int64_t>(ts_.t) >= t) return true;
    while (Next()) {
      if (static_cast<int64_t>(ts_.t) >= t) return true;
    }
    return false;
  }

  std::pair<int64_t, double> At() const {
    return {static_cast<int64_t>(ts_.t), std::bit_cast<double>(vs_.bits)};
  }
  absl::Status Err() const { return err_; }

 private:
  internal::BitReader reader_;
  internal::TimestampDecoder ts_;
  internal::ValueDecoder vs_;
  uint64_t num_samples_ = 0;
  uint64_t index_ = 0;
  bool done_ = false;
  absl::Status err_;
};

class XorAppender {
 public:
  // O(1): appends about 1-2 bits for a regular timestamp and 1..77 bits for the value.
  void Append(int64_t t_ms, double v) {
    ts_.Write(num_samples_, t_ms, &writer_);
    vs_.Write(num_samples_, v, &writer_);
    if (num_samples_ == 0) first_t_ = t_ms;
    last_t_ = t_ms;
    ++num_samples_;
  }

  uint64_t num_samples() const { return num_samples_; }
  // First and last appended timestamps (meaningless when empty).
  int64_t first_time() const { return first_t_; }
  int64_t last_time() const { return last_t_; }
  // The raw bit stream written so far (no header).
  std::string_view stream() const { return writer_.bytes(); }
  size_t stream_size() const { return writer_.bytes().size(); }

  XorIterator Iterator() const { return XorIterator(stream(), num_samples_); }

  // Appends a sealed chunk with encoding id kXor (see chunk.h) holding all samples so far.
  void AppendSealedTo(std::string* dst) const;

  // Forgets all samples but keeps the buffer's capacity.
  void Reset() {
    writer_.Clear();
    ts_ = {};
    vs_ = {};
    num_samples_ = 0;
  }

 private:
  internal::BitWriter writer_;
  internal::TimestampEncoder ts_;
  internal::ValueEncoder vs_;
  uint64_t num_samples_ = 0;
  int64_t first_t_ = 0;
  int64_t last_t_ = 0;
};

// Encodes samples as a sealed kXor chunk (the Gorilla baseline); appends to *dst.
void EncodeXorChunk(std::span<const int64_t> ts, std::span<const double> vs, std::string* dst);

}  // namespace pharos::chunkenc
