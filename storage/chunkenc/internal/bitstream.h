#pragma once

// MSB-first bit stream used by the Gorilla (XOR) codecs. The writer owns its buffer and keeps
// at least 8 zero bytes of slack past the last written bit so that every write is one unaligned
// 64-bit load/store. The reader is bounds-checked against the number of valid bits.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pharos::chunkenc::internal {

inline uint64_t LoadBigEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

inline void StoreBigEndian64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

class BitWriter {
 public:
  // Appends the low `n` bits of `v` (0 <= n <= 64), most significant first.
  void WriteBits(uint64_t v, int n) {
    if (n > 56) {
      WriteBits(v >> 32, n - 32);
      v &= 0xffffffffu;
      n = 32;
    }
    if (n == 0) return;
    const size_t byte = nbits_ >> 3;
    const int off = static_cast<int>(nbits_ & 7);
    if (buf_.size() < byte + 9) Grow(byte + 9);
    char* p = buf_.data() + byte;
    const uint64_t masked = v & (~uint64_t{0} >> (64 - n));
    StoreBigEndian64(p, LoadBigEndian64(p) | (masked << (64 - off - n)));
    nbits_ += static_cast<uint64_t>(n);
  }

  void WriteBit(bool bit) { WriteBits(bit ? 1 : 0, 1); }

  // Makes room for `bytes` bytes of output without further reallocation.
  void Reserve(size_t bytes) {
    if (buf_.size() < bytes + 9) Grow(bytes + 9);
  }

  uint64_t num_bits() const { return nbits_; }
  // The written bytes; the last byte is zero-padded.
  std::string_view bytes() const { return std::string_view(buf_.data(), (nbits_ + 7) >> 3); }
  size_t capacity_bytes() const { return buf_.capacity(); }

  void Clear() {
    std::memset(buf_.data(), 0, std::min(buf_.size(), static_cast<size_t>((nbits_ + 7) >> 3)));
    nbits_ = 0;
  }

 private:
  void Grow(size_t min_size) {
    size_t size = buf_.size() < 32 ? 32 : buf_.size() * 2;
    if (size < min_size) size = min_size;
    buf_.resize(size, '\0');
  }

  std::string buf_;
  uint64_t nbits_ = 0;
};

class BitReader {
 public:
  BitReader() = default;
  explicit BitReader(std::string_view data) : data_(data), limit_(uint64_t{data.size()} * 8) {}

  // Reads `n` bits (0 <= n <= 64). Returns false, consuming nothing, if fewer remain.
  bool ReadBits(int n, uint64_t* out) {
    if (limit_ - pos_ < static_cast<uint64_t>(n)) return false;
    if (n > 56) {
      uint64_t hi, lo;
      ReadUnchecked(n - 32, &hi);
      ReadUnchecked(32, &lo);
      *out = (hi << 32) | lo;
      return true;
    }
    ReadUnchecked(n, out);
    return true;
  }

  bool ReadBit(bool* out) {
    if (pos_ >= limit_) return false;
    *out = (static_cast<uint8_t>(data_[pos_ >> 3]) >> (7 - (pos_ & 7))) & 1;
    ++pos_;
    return true;
  }

  uint64_t position() const { return pos_; }
  uint64_t remaining_bits() const { return limit_ - pos_; }

 private:
  // n <= 56 and n bits are known to be available.
  void ReadUnchecked(int n, uint64_t* out) {
    if (n == 0) {
      *out = 0;
      return;
    }
    const size_t byte = pos_ >> 3;
    const int off = static_cast<int>(pos_ & 7);
    uint64_t window;
    if (byte + 8 <= data_.size()) {
      window = LoadBigEndian64(data_.data() + byte);
    } else {
      char tmp[8] = {};
      std::memcpy(tmp, data_.data() + byte, data_.size() - byte);
      window = LoadBigEndian64(tmp);
    }
    *out = (window << off) >> (64 - n);
    pos_ += static_cast<uint64_t>(n);
  }

  std::string_view data_;
  uint64_t limit_ = 0;
  uint64_t pos_ = 0;
};

}  // namespace pharos::chunkenc::internal
