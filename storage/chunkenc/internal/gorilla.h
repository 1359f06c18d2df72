#pragma once

// Gorilla (Pelkonen et al., VLDB 2015) sample coding, as used by Prometheus' XOR chunks:
// delta-of-delta timestamps and XOR'd float bits. All timestamp arithmetic is modulo 2^64, so
// any int64 sequence (negative, huge, decreasing) round-trips; large jumps merely cost the
// 64-bit escape. Layouts are documented in storage/docs/format/chunks.md.

#include <bit>
#include <cstdint>

#include "storage/chunkenc/internal/bitstream.h"
#include "storage/chunkenc/internal/coding.h"

namespace pharos::chunkenc::internal {

inline void WriteVarintBits(uint64_t v, BitWriter* w) {
  while (v >= 0x80) {
    w->WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  w->WriteBits(v, 8);
}

inline bool ReadVarintBits(BitReader* r, uint64_t* out) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint64_t byte;
    if (!r->ReadBits(8, &byte)) return false;
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      *out = result;
      return true;
    }
  }
  return false;
}

inline bool FitsSigned(int64_t v, int bits) {
  const int64_t lim = int64_t{1} << (bits - 1);
  return v >= -lim && v < lim;
}

// Delta-of-delta timestamp coder state. Sample 0 is a zigzag varint, sample 1 a zigzag varint
// delta, later samples a prefix-coded delta-of-delta:
//   0 -> dod 0;  10 + 14 bits;  110 + 17 bits;  1110 + 20 bits;  1111 + 64 bits.
struct TimestampEncoder {
  uint64_t prev_t = 0;
  uint64_t prev_delta = 0;

  void Write(uint64_t index, int64_t t_signed, BitWriter* w) {
    const uint64_t t = static_cast<uint64_t>(t_signed);
    if (index == 0) {
      WriteVarintBits(ZigZagEncode(t_signed), w);
    } else if (index == 1) {
      prev_delta = t - prev_t;
      WriteVarintBits(ZigZagEncode(static_cast<int64_t>(prev_delta)), w);
    } else {
      const uint64_t delta = t - prev_t;
      const int64_t dod = static_cast<int64_t>(delta - prev_delta);
      prev_delta = delta;
      if (dod == 0) {
        w->WriteBits(0, 1);
      } else if (FitsSigned(dod, 14)) {
        w->WriteBits((uint64_t{0b10} << 14) | (static_cast<uint64_t>(dod) & 0x3fff), 16);
      } else if (FitsSigned(dod, 17)) {
        w->WriteBits((uint64_t{0b110} << 17) | (static_cast<uint64_t>(dod) & 0x1ffff), 20);
      } else if (FitsSigned(dod, 20)) {
        w->WriteBits((uint64_t{0b1110} << 20) | (static_cast<uint64_t>(dod) & 0xfffff), 24);
      } else {
        w->WriteBits(0b1111, 4);
        w->WriteBits(static_cast<uint64_t>(dod), 64);
      }
    }
    prev_t = t;
  }
};

struct TimestampDecoder {
  uint64_t t = 0;
  uint64_t delta = 0;

  bool Read(uint64_t index, BitReader* r) {
    if (index == 0) {
      uint64_t u;
      if (!ReadVarintBits(r, &u)) return false;
      t = static_cast<uint64_t>(ZigZagDecode(u));
      return true;
    }
    if (index == 1) {
      uint64_t u;
      if (!ReadVarintBits(r, &u)) return false;
      delta = static_cast<uint64_t>(ZigZagDecode(u));
      t += delta;
      return true;
    }
    int prefix = 0;
    for (; prefix < 4; ++prefix) {
      bool bit;
      if (!r->ReadBit(&bit)) return false;
      if (!bit) break;
    }
    static constexpr int kBits[5] = {0, 14, 17, 20, 64};
    const int nbits = kBits[prefix];
    if (nbits != 0) {
      uint64_t raw;
      if (!r->ReadBits(nbits, &raw)) return false;
      if (nbits < 64) {
        // Sign-extend.
        const int shift = 64 - nbits;
        raw = static_cast<uint64_t>(static_cast<int64_t>(raw << shift) >> shift);
      }
      delta += raw;
    }
    t += delta;
    return true;
  }
};

// XOR float coder state. The first value is 64 raw bits; later ones:
//   0 -> same bits;  10 + meaningful bits in the previous window;
//   11 + 5 bits leading zeros + 6 bits significant length (0 means 64) + significant bits.
struct ValueEncoder {
  uint64_t prev = 0;
  uint8_t leading = 0xff;  // 0xff: no window yet.
  uint8_t trailing = 0;

  void Write(uint64_t index, double v, BitWriter* w) {
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    if (index == 0) {
      w->WriteBits(bits, 64);
      prev = bits;
      return;
    }
    const uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      w->WriteBits(0, 1);
      return;
    }
    int lz = std::countl_zero(x);
    const int tz = std::countr_zero(x);
    if (lz > 31) lz = 31;
    if (leading != 0xff && lz >= leading && tz >= trailing) {
      const int sig = 64 - leading - trailing;
      w->WriteBits(0b10, 2);
      w->WriteBits(x >> trailing, sig);
      return;
    }
    leading = static_cast<uint8_t>(lz);
    trailing = static_cast<uint8_t>(tz);
    const int sig = 64 - lz - tz;
    w->WriteBits((uint64_t{0b11} << 11) | (static_cast<uint64_t>(lz) << 6) |
                     static_cast<uint64_t>(sig & 63),
                 13);
    w->WriteBits(x >> tz, sig);
  }
};

struct ValueDecoder {
  uint64_t bits = 0;
  uint8_t leading = 0xff;
  uint8_t trailing = 0;

  bool Read(uint64_t index, BitReader* r) {
    if (index == 0) return r->ReadBits(64, &bits);
    bool bit;
    if (!r->ReadBit(&bit)) return false;
    if (!bit) return true;
    if (!r->ReadBit(&bit)) return false;
    if (bit) {
      uint64_t hdr;
      if (!r->ReadBits(11, &hdr)) return false;
      const int lz = static_cast<int>(hdr >> 6);
      int sig = static_cast<int>(hdr & 63);
      if (sig == 0) sig = 64;
      if (lz + sig > 64) return false;
      leading = static_cast<uint8_t>(lz);
      trailing = static_cast<uint8_t>(64 - lz - sig);
    } else if (leading == 0xff) {
      return false;  // Window reuse before any window was set.
    }
    const int sig = 64 - leading - trailing;
    uint64_t x;
    if (!r->ReadBits(sig, &x)) return false;
    bits ^= x << trailing;
    return true;
  }
};

}  // namespace pharos::chunkenc::internal
