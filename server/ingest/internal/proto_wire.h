#pragma once

// Minimal protobuf wire-format reader for the remote-write decoder: bounds-checked, no
// allocation, views into the input. Every read returns false on malformed input and records
// the first error (what and where) in the shared WireError.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace pharos::ingest::internal {

enum WireType : uint32_t {
  kVarint = 0,
  kI64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kI32 = 5,
};

struct WireError {
  const char* what = nullptr;  // static string; nullptr: no error
  const char* at = nullptr;    // position in the message being decoded
};

class WireReader {
 public:
  WireReader(std::string_view data, WireError* err)
      : p_(data.data()), end_(data.data() + data.size()), err_(err) {}

  bool done() const { return p_ >= end_; }
  const char* pos() const { return p_; }

  // Reads a field tag. Field number 0 and tags above 32 bits are errors.
  bool ReadTag(uint32_t* field, uint32_t* wire_type) {
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    if (tag > 0xFFFFFFFFu) return Fail("field tag larger than 32 bits");
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    if (*field == 0) return Fail("field number 0");
    return true;
  }

  bool ReadVarint(uint64_t* v) {
    if (p_ < end_ && static_cast<uint8_t>(*p_) < 0x80) {
      *v = static_cast<uint8_t>(*p_++);
      return true;
    }
    return ReadVarintSlow(v);
  }

  bool ReadFixed64(uint64_t* v) {
    if (end_ - p_ < 8) return Fail("truncated 64-bit field");
    std::memcpy(v, p_, 8);  // little-endian hosts only (x86-64, aarch64)
    p_ += 8;
    return true;
  }
  bool ReadDouble(double* d) {
    uint64_t u;
    if (!ReadFixed64(&u)) return false;
    std::memcpy(d, &u, 8);
    return true;
  }
  bool ReadFixed32(uint32_t* v) {
    if (end_ - p_ < 4) return Fail("truncated 32-bit field");
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }

  // A length-delimited value (string, bytes, sub-message, packed repeated field).
  bool ReadLen(std::string_view* v) {
    uint64_t n;
    if (!ReadVarint(&n)) return false;
    if (n > static_cast<uint64_t>(end_ - p_)) return Fail("length-delimited field past the end");
    *v = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  // Skips the value of an unknown field with the given tag (groups included, nested up to a
  // depth limit, as protobuf's own parser does).
  bool Skip(uint32_t field, uint32_t wire_type, int depth = 0) {
    switch (wire_type) {
      case kVarint: {
        uint64_t v;
        return ReadVarint(&v);
      }
      case kI64:
        if (end_ - p_ < 8) return Fail("truncated 64-bit field");
        p_ += 8;
        return true;
      case kLen: {
        std::string_view v;
        return ReadLen(&v);
      }
      case kI32:
        if (end_ - p_ < 4) return Fail("truncated 32-bit field");
        p_ += 4;
        return true;
      case kStartGroup: {
        if (depth >= kMaxGroupDepth) return Fail("groups nested too deeply");
        for (;;) {
          if (done()) return Fail("unterminated group");
          uint32_t f, wt;
          if (!ReadTag(&f, &wt)) return false;
          if (wt == kEndGroup) {
            if (f != field) return Fail("mismatched end-group tag");
            return true;
          }
          if (!Skip(f, wt, depth + 1)) return false;
        }
      }
      case kEndGroup:
        return Fail("unexpected end-group tag");
      default:
        return Fail("invalid wire type");
    }
  }

  bool Fail(const char* what) {
    if (err_->what == nullptr) {
      err_->what = what;
      err_->at = p_;
    }
    return false;
  }

 private:
  static constexpr int kMaxGroupDepth = 100;

  bool ReadVarintSlow(uint64_t* v) {
    uint64_t r = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ >= end_) return Fail("truncated varint");
      const uint8_t b = static_cast<uint8_t>(*p_++);
      // Bits past 64 in the 10th byte are dropped, as protobuf's parser does.
      r |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return Fail("varint longer than 10 bytes");
  }

  const char* p_;
  const char* end_;
  WireError* err_;
};

inline int64_t ZigZagDecode64(uint64_t n) {
  return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
}

}  // namespace pharos::ingest::internal
