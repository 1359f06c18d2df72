#include "storage/chunkenc/internal/packed.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string_view>
#include <utility>

namespace pharos::chunkenc::internal {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;
// Rough size of one exception (index gap byte + ~2 value bytes), used only to pick the width.
constexpr uint64_t kExceptionCostBits = 24;

inline uint64_t Mask(int w) { return w == 0 ? 0 : (~uint64_t{0} >> (64 - w)); }

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

class PackWriter {
 public:
  explicit PackWriter(std::string* dst) : dst_(dst) {}
  void Put(uint64_t u, int w) {
    if (w == 0) return;
    acc_ |= u << nacc_;
    nacc_ += w;
    if (nacc_ >= 64) {
      PutFixed64(acc_, dst_);
      nacc_ -= 64;
      acc_ = nacc_ > 0 ? (u >> (w - nacc_)) : 0;
    }
  }
  void Finish() {
    char buf[8];
    std::memcpy(buf, &acc_, 8);
    dst_->append(buf, (nacc_ + 7) / 8);
  }

 private:
  std::string* dst_;
  uint64_t acc_ = 0;
  int nacc_ = 0;
};

inline int BitLength(uint64_t v) { return v == 0 ? 0 : 64 - std::countl_zero(v); }

void EncodeBlock(const int64_t* x, size_t m, std::string* dst) {
  if (m == 0) return;
  // Without exceptions: base = min, width = bits of (max - min), compared as unsigned after an
  // order-preserving flip of the sign bit so that the window never wraps.
  uint64_t lo = ~uint64_t{0}, hi = 0;
  for (size_t j = 0; j < m; ++j) {
    const uint64_t s = static_cast<uint64_t>(x[j]) ^ kSignBit;
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  const int full_w = BitLength(hi - lo);
  int best_w = full_w;
  uint64_t best_base = lo ^ kSignBit;
  uint64_t best_cost = uint64_t{m} * static_cast<uint64_t>(full_w);

  if (full_w > 0) {
    // With exceptions: a window of 2^w values centred on the median (outliers may sit on both
    // sides, e.g. the +15000/-15000 delta-of-delta pair of a missed scrape). Histogram of how
    // many values fit each width, then the cheapest width.
    // The centre only has to sit in the bulk of the values: the median of up to 15 evenly
    // spaced samples is enough and much cheaper than a full selection.
    std::array<int64_t, 15> sample;
    const size_t k = std::min<size_t>(m, sample.size());
    for (size_t j = 0; j < k; ++j) sample[j] = x[j * m / k];
    std::sort(sample.begin(), sample.begin() + k);
    const uint64_t median = static_cast<uint64_t>(sample[k / 2]);
    std::array<uint32_t, 66> hist{};
    for (size_t j = 0; j < m; ++j) {
      ++hist[BitLength(ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(x[j]) - median)))];
    }
    uint64_t covered = 0;
    for (int w = 0; w < full_w; ++w) {
      covered += hist[w];
      const uint64_t exceptions = m - covered;
      const uint64_t cost =
          uint64_t{m} * static_cast<uint64_t>(w) + exceptions * kExceptionCostBits + 8;
      if (cost < best_cost) {
        best_cost = cost;
        best_w = w;
        best_base = median - (w == 0 ? 0 : uint64_t{1} << (w - 1));
      }
    }
  }

  const int64_t base = static_cast<int64_t>(best_base);
  const uint64_t mask = Mask(best_w);
  size_t num_exceptions = 0;
  for (size_t j = 0; j < m; ++j) {
    if (static_cast<uint64_t>(x[j]) - static_cast<uint64_t>(base) > mask) ++num_exceptions;
  }
  dst->push_back(static_cast<char>(best_w | (num_exceptions > 0 ? 0x80 : 0)));
  PutZigZag64(base, dst);
  if (num_exceptions > 0) {
    PutVarint64(num_exceptions, dst);
    size_t prev = 0;
    for (size_t j = 0; j < m; ++j) {
      const uint64_t u = static_cast<uint64_t>(x[j]) - static_cast<uint64_t>(base);
      if (u > mask) {
        PutVarint64(j - prev, dst);
        PutZigZag64(static_cast<int64_t>(u), dst);
        prev = j;
      }
    }
  }
  PackWriter pw(dst);
  for (size_t j = 0; j < m; ++j) {
    const uint64_t u = static_cast<uint64_t>(x[j]) - static_cast<uint64_t>(base);
    pw.Put(u > mask ? 0 : u, best_w);
  }
  pw.Finish();
}

// Unpacks m values of width W (1..56) from buf (which has >= 8 readable bytes past the data).
template <int W>
void Unpack(const uint8_t* buf, size_t m, uint64_t base, int64_t* out) {
  constexpr uint64_t kMask = ~uint64_t{0} >> (64 - W);
  for (size_t j = 0; j < m; ++j) {
    const size_t bit = j * W;
    const uint64_t u = (Load64(buf + (bit >> 3)) >> (bit & 7)) & kMask;
    out[j] = static_cast<int64_t>(base + u);
  }
}

void UnpackWide(const uint8_t* buf, size_t m, int w, uint64_t base, int64_t* out) {
  const uint64_t mask = Mask(w);
  for (size_t j = 0; j < m; ++j) {
    const size_t bit = j * static_cast<size_t>(w);
    const int shift = static_cast<int>(bit & 7);
    uint64_t u = Load64(buf + (bit >> 3)) >> shift;
    if (shift != 0) u |= Load64(buf + (bit >> 3) + 8) << (64 - shift);
    out[j] = static_cast<int64_t>(base + (u & mask));
  }
}

using UnpackFn = void (*)(const uint8_t*, size_t, uint64_t, int64_t*);

template <size_t... I>
constexpr std::array<UnpackFn, sizeof...(I)> MakeUnpackTable(std::index_sequence<I...>) {
  return {&Unpack<static_cast<int>(I) + 1>...};
}
constexpr auto kUnpack = MakeUnpackTable(std::make_index_sequence<56>());

}  // namespace

bool DecodePackedBlock(ByteReader* r, size_t m, int64_t* out) {
  uint8_t header;
  int64_t base_signed;
  if (!r->ReadByte(&header) || !r->ReadZigZag64(&base_signed)) return false;
  const int w = header & 0x7f;
  if (w > 64) return false;
  const uint64_t base = static_cast<uint64_t>(base_signed);

  std::array<uint32_t, kPackedBlockSize> exc_index;
  std::array<uint64_t, kPackedBlockSize> exc_value;
  uint64_t num_exceptions = 0;
  if (header & 0x80) {
    if (!r->ReadVarint64(&num_exceptions) || num_exceptions == 0 || num_exceptions > m) {
      return false;
    }
    uint64_t idx = 0;
    for (uint64_t e = 0; e < num_exceptions; ++e) {
      uint64_t gap;
      int64_t v;
      if (!r->ReadVarint64(&gap) || !r->ReadZigZag64(&v)) return false;
      if (e > 0 && gap == 0) return false;
      if (gap >= m - idx) return false;
      idx += gap;
      exc_index[e] = static_cast<uint32_t>(idx);
      exc_value[e] = static_cast<uint64_t>(v);
    }
  }

  const size_t nbytes = (m * static_cast<size_t>(w) + 7) / 8;
  std::string_view packed;
  if (!r->ReadBytes(nbytes, &packed)) return false;
  if (w == 0) {
    std::fill(out, out + m, static_cast<int64_t>(base));
  } else {
    alignas(16) uint8_t buf[kPackedBlockSize * 8 + 16];
    std::memcpy(buf, packed.data(), nbytes);
    std::memset(buf + nbytes, 0, 16);
    if (w <= 56) {
      kUnpack[w - 1](buf, m, base, out);
    } else {
      UnpackWide(buf, m, w, base, out);
    }
  }
  for (uint64_t e = 0; e < num_exceptions; ++e) {
    out[exc_index[e]] = static_cast<int64_t>(base + exc_value[e]);
  }
  return true;
}

void EncodePackedColumn(std::span<const int64_t> values, std::string* dst) {
  for (size_t i = 0; i < values.size(); i += kPackedBlockSize) {
    EncodeBlock(values.data() + i, std::min(kPackedBlockSize, values.size() - i), dst);
  }
}

bool DecodePackedColumn(ByteReader* reader, size_t n, int64_t* out) {
  for (size_t i = 0; i < n; i += kPackedBlockSize) {
    if (!DecodePackedBlock(reader, std::min(kPackedBlockSize, n - i), out + i)) return false;
  }
  return true;
}

}  // namespace pharos::chunkenc::internal
