#pragma once

// Byte-level primitives shared by the chunk codecs: LEB128 varints, zigzag, and a bounds-checked
// reader. Private to storage/chunkenc.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pharos::chunkenc::internal {

static_assert(std::endian::native == std::endian::little,
              "chunk codecs assume a little-endian host");

inline constexpr uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

inline constexpr int64_t ZigZagDecode(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

inline void PutVarint64(uint64_t v, std::string* dst) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

inline void PutZigZag64(int64_t v, std::string* dst) { PutVarint64(ZigZagEncode(v), dst); }

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads from a string_view; every method returns false instead of reading past the end or
// accepting a malformed varint.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool ReadByte(uint8_t* out) {
    if (pos_ >= data_.size()) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  bool ReadVarint64(uint64_t* out) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      const uint64_t byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && byte > 1) return false;  // Overflows 64 bits.
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        *out = result;
        return true;
      }
    }
    return false;
  }

  bool ReadZigZag64(int64_t* out) {
    uint64_t u;
    if (!ReadVarint64(&u)) return false;
    *out = ZigZagDecode(u);
    return true;
  }

  bool ReadFixed64(uint64_t* out) {
    if (data_.size() - pos_ < 8) return false;
    std::memcpy(out, data_.data() + pos_, 8);  // Little-endian hosts only (x86-64, arm64).
    pos_ += 8;
    return true;
  }

  bool ReadBytes(size_t n, std::string_view* out) {
    if (data_.size() - pos_ < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  std::string_view Rest() const { return data_.substr(pos_); }
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

inline void PutFixed64(uint64_t v, std::string* dst) {
  char buf[8];
  std::memcpy(buf, &v, 8);  // Little-endian hosts only.
  dst->append(buf, 8);
}

}  // namespace pharos::chunkenc::internal
