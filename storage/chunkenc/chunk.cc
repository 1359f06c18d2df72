#include "storage/chunkenc/chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "absl/container/inlined_vector.h"
#include "common/status_macros.h"
#include "storage/chunkenc/internal/bitstream.h"
#include "storage/chunkenc/internal/coding.h"
#include "storage/chunkenc/internal/columnar.h"
#include "storage/chunkenc/internal/gorilla.h"
#include "storage/chunkenc/internal/packed.h"
#include "storage/chunkenc/xor.h"

namespace pharos::chunkenc {
namespace {

using internal::ByteReader;
using internal::kPackedBlockSize;

// Largest decimal scale: 10^k is exact in a double up to k = 22; 18 keeps i * 10 in range.
constexpr int kMaxScale = 18;
constexpr double kPow10[kMaxScale + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                          1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                          1e14, 1e15, 1e16, 1e17, 1e18};
// Scaled integers must convert to double exactly.
constexpr int64_t kMaxExactInt = int64_t{1} << 53;

using IntBuffer = absl::InlinedVector<int64_t, 128>;

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(std::string("corrupt chunk: ") + what);
}

[[noreturn]] void DieBadInput(size_t nts, size_t nvs) {
  std::fprintf(stderr, "EncodeChunk: bad sample count ts=%zu vs=%zu (max %llu)\n", nts, nvs,
               static_cast<unsigned long long>(kMaxChunkSamples));
  std::abort();
}

inline uint64_t U(int64_t v) { return static_cast<uint64_t>(v); }
inline int64_t S(uint64_t v) { return static_cast<int64_t>(v); }

// ---------------------------------------------------------------------------------------------
// Timestamps.

// kRegular stores no step: it is (last - first) / (n - 1) from the header, so it applies only
// when every delta is equal and that division recovers the step exactly (no wrap-around).
bool IsRegular(std::span<const int64_t> ts) {
  if (ts.size() < 2) return true;
  const uint64_t step = U(ts[1]) - U(ts[0]);
  for (size_t i = 2; i < ts.size(); ++i) {
    if (U(ts[i]) - U(ts[i - 1]) != step) return false;
  }
  const int64_t span = S(U(ts.back()) - U(ts[0]));
  const int64_t d = static_cast<int64_t>(ts.size() - 1);
  return span % d == 0 && span / d == S(step);
}

// Nearest-integer average step (wrapping span interpreted as signed).
int64_t GridStep(std::span<const int64_t> ts) {
  const int64_t span = S(U(ts.back()) - U(ts[0]));
  const int64_t d = static_cast<int64_t>(ts.size() - 1);
  int64_t step = span / d;
  const int64_t rem = span % d;
  if (rem > 0 && 2 * rem >= d) ++step;
  if (rem < 0 && -2 * rem >= d) --step;
  return step;
}

// Requires n >= 2 except for kRegular.
void EncodeTimestamps(std::span<const int64_t> ts, TimestampCodec codec, IntBuffer* tmp,
                      std::string* dst) {
  const size_t n = ts.size();
  switch (codec) {
    case TimestampCodec::kRegular:
      return;
    case TimestampCodec::kGrid: {
      const int64_t step = GridStep(ts);
      internal::PutZigZag64(step, dst);
      tmp->resize(n - 1);
      for (size_t i = 1; i < n; ++i) {
        (*tmp)[i - 1] = S(U(ts[i]) - U(ts[0]) - U(static_cast<int64_t>(i)) * U(step));
      }
      internal::EncodePackedColumn(*tmp, dst);
      return;
    }
    case TimestampCodec::kDelta:
      tmp->resize(n - 1);
      for (size_t i = 1; i < n; ++i) (*tmp)[i - 1] = S(U(ts[i]) - U(ts[i - 1]));
      internal::EncodePackedColumn(*tmp, dst);
      return;
    case TimestampCodec::kDeltaOfDelta: {
      uint64_t prev_delta = U(ts[1]) - U(ts[0]);
      internal::PutZigZag64(S(prev_delta), dst);
      tmp->resize(n - 2);
      for (size_t i = 2; i < n; ++i) {
        const uint64_t delta = U(ts[i]) - U(ts[i - 1]);
        (*tmp)[i - 2] = S(delta - prev_delta);
        prev_delta = delta;
      }
      internal::EncodePackedColumn(*tmp, dst);
      return;
    }
  }
}

// Decodes n >= 1 timestamps into out given t0 (already in out[0]).
bool DecodeTimestamps(ByteReader* r, TimestampCodec codec, size_t n, int64_t span,
                      int64_t* out) {
  const uint64_t t0 = U(out[0]);
  if (n == 1) return codec == TimestampCodec::kRegular;
  switch (codec) {
    case TimestampCodec::kRegular: {
      const int64_t step = span / static_cast<int64_t>(n - 1);
      for (size_t i = 1; i < n; ++i) out[i] = S(t0 + U(static_cast<int64_t>(i)) * U(step));
      return true;
    }
    case TimestampCodec::kGrid: {
      int64_t step;
      if (!r->ReadZigZag64(&step)) return false;
      if (!internal::DecodePackedColumn(r, n - 1, out + 1)) return false;
      for (size_t i = 1; i < n; ++i) {
        out[i] = S(t0 + U(static_cast<int64_t>(i)) * U(step) + U(out[i]));
      }
      return true;
    }
    case TimestampCodec::kDelta: {
      if (!internal::DecodePackedColumn(r, n - 1, out + 1)) return false;
      uint64_t t = t0;
      for (size_t i = 1; i < n; ++i) {
        t += U(out[i]);
        out[i] = S(t);
      }
      return true;
    }
    case TimestampCodec::kDeltaOfDelta: {
      if (n < 3) return false;
      int64_t first_delta;
      if (!r->ReadZigZag64(&first_delta)) return false;
      if (!internal::DecodePackedColumn(r, n - 2, out + 2)) return false;
      uint64_t delta = U(first_delta);
      uint64_t t = t0 + delta;
      out[1] = S(t);
      for (size_t i = 2; i < n; ++i) {
        delta += U(out[i]);
        t += delta;
        out[i] = S(t);
      }
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Values.

bool AllSameBits(std::span<const double> vs) {
  const uint64_t first = std::bit_cast<uint64_t>(vs[0]);
  for (double v : vs) {
    if (std::bit_cast<uint64_t>(v) != first) return false;
  }
  return true;
}

// Finds the smallest scale k such that every v == double(i) / 10^k for an integer |i| < 2^53,
// filling ints. The check is the decoder's exact expression, so a hit round-trips bit-exactly.
bool ToDecimal(std::span<const double> vs, IntBuffer* ints, int* scale) {
  ints->resize(vs.size());
  int k = 0;
  for (size_t i = 0; i < vs.size(); ++i) {
    const double v = vs[i];
    if (v == 0 && std::signbit(v)) return false;  // -0.0 is not i / 10^k.
    for (;;) {
      const double s = v * kPow10[k];
      if (!(std::fabs(s) < static_cast<double>(kMaxExactInt))) return false;  // NaN too.
      const int64_t c = static_cast<int64_t>(s + (s >= 0 ? 0.5 : -0.5));
      const double back = k == 0 ? static_cast<double>(c) : static_cast<double>(c) / kPow10[k];
      if (back == v) {
        (*ints)[i] = c;
        break;
      }
      if (k == kMaxScale) return false;
      ++k;
      // Values exact at scale k-1 stay exact at scale k if the integer stays below 2^53.
      for (size_t j = 0; j < i; ++j) {
        const int64_t scaled = (*ints)[j] * 10;
        if (scaled >= kMaxExactInt || scaled <= -kMaxExactInt) return false;
        (*ints)[j] = scaled;
      }
    }
  }
  *scale = k;
  return true;
}

void EncodeDecimal(const IntBuffer& ints, int scale, ValueCodec codec, IntBuffer* tmp,
                   std::string* dst) {
  const size_t n = ints.size();
  dst->push_back(static_cast<char>(scale));
  internal::PutZigZag64(ints[0], dst);
  if (n == 1) return;
  if (codec == ValueCodec::kDecimalDelta) {
    tmp->resize(n - 1);
    for (size_t i = 1; i < n; ++i) (*tmp)[i - 1] = ints[i] - ints[i - 1];
  } else {
    int64_t prev_delta = ints[1] - ints[0];
    internal::PutZigZag64(prev_delta, dst);
    tmp->resize(n - 2);
    for (size_t i = 2; i < n; ++i) {
      const int64_t delta = ints[i] - ints[i - 1];
      (*tmp)[i - 2] = delta - prev_delta;
      prev_delta = delta;
    }
  }
  // Common factor of the column (e.g. 1024 for byte counts read from /proc/meminfo in kB).
  uint64_t g = 0;
  for (int64_t d : *tmp) {
    g = std::gcd(g, static_cast<uint64_t>(d < 0 ? -d : d));
    if (g == 1) break;
  }
  if (g == 0) g = 1;
  internal::PutVarint64(g, dst);
  if (g > 1) {
    for (int64_t& d : *tmp) d /= static_cast<int64_t>(g);
  }
  internal::EncodePackedColumn(*tmp, dst);
}

void EncodeXorValues(std::span<const double> vs, std::string* dst) {
  internal::BitWriter w;
  w.Reserve(vs.size() * 10 + 8);  // At most 77 bits a value.
  internal::ValueEncoder enc;
  for (size_t i = 0; i < vs.size(); ++i) enc.Write(i, vs[i], &w);
  const std::string_view b = w.bytes();
  dst->append(b.data(), b.size());
}

inline void IntsToDoubles(const int64_t* in, size_t m, double scale, bool divide, double* out) {
  if (!divide) {
    for (size_t j = 0; j < m; ++j) out[j] = static_cast<double>(in[j]);
  } else {
    for (size_t j = 0; j < m; ++j) out[j] = static_cast<double>(in[j]) / scale;
  }
}

bool DecodeDecimal(ByteReader* r, ValueCodec codec, size_t n, double* out) {
  uint8_t k;
  int64_t first;
  if (!r->ReadByte(&k) || k > kMaxScale || !r->ReadZigZag64(&first)) return false;
  const double scale = kPow10[k];
  const bool divide = k != 0;
  uint64_t value = U(first);
  IntsToDoubles(&first, 1, scale, divide, out);
  if (n == 1) return true;

  alignas(64) int64_t tmp[kPackedBlockSize];
  size_t done = 1;
  if (codec == ValueCodec::kDecimalDelta) {
    uint64_t g;
    if (!r->ReadVarint64(&g)) return false;
    while (done < n) {
      const size_t m = std::min(kPackedBlockSize, n - done);
      if (!internal::DecodePackedBlock(r, m, tmp)) return false;
      for (size_t j = 0; j < m; ++j) {
        value += U(tmp[j]) * g;
        tmp[j] = S(value);
      }
      IntsToDoubles(tmp, m, scale, divide, out + done);
      done += m;
    }
    return true;
  }
  int64_t first_delta;
  if (!r->ReadZigZag64(&first_delta)) return false;
  uint64_t delta = U(first_delta);
  value += delta;
  tmp[0] = S(value);
  IntsToDoubles(tmp, 1, scale, divide, out + 1);
  done = 2;
  uint64_t g = 1;
  if (n > 2 && !r->ReadVarint64(&g)) return false;
  while (done < n) {
    const size_t m = std::min(kPackedBlockSize, n - done);
    if (!internal::DecodePackedBlock(r, m, tmp)) return false;
    for (size_t j = 0; j < m; ++j) {
      delta += U(tmp[j]) * g;
      value += delta;
      tmp[j] = S(value);
    }
    IntsToDoubles(tmp, m, scale, divide, out + done);
    done += m;
  }
  return true;
}

bool DecodeXorValues(std::string_view data, size_t n, double* out) {
  internal::BitReader br(data);
  internal::ValueDecoder dec;
  for (size_t i = 0; i < n; ++i) {
    if (!dec.Read(i, &br)) return false;
    out[i] = std::bit_cast<double>(dec.bits);
  }
  // The stream must end in the last byte (which is zero-padded).
  return (br.position() + 7) / 8 == data.size();
}

// ---------------------------------------------------------------------------------------------
// Header and chunk assembly.

void PutHeader(Encoding enc, uint8_t codecs, std::span<const int64_t> ts, std::string* dst) {
  dst->push_back(static_cast<char>(enc));
  if (enc == Encoding::kColumnar) dst->push_back(static_cast<char>(codecs));
  internal::PutVarint64(ts.size(), dst);
  if (ts.empty()) return;
  internal::PutZigZag64(ts[0], dst);
  internal::PutZigZag64(S(U(ts.back()) - U(ts[0])), dst);
}

uint8_t Codecs(TimestampCodec t, ValueCodec v) {
  return static_cast<uint8_t>(static_cast<uint8_t>(t) | (static_cast<uint8_t>(v) << 4));
}

absl::Status ParseHeader(ByteReader* r, ChunkHeader* h) {
  uint8_t id;
  if (!r->ReadByte(&id)) return Corrupt("empty");
  if (id != static_cast<uint8_t>(Encoding::kXor) &&
      id != static_cast<uint8_t>(Encoding::kColumnar)) {
    return Corrupt("unknown encoding id");
  }
  h->encoding = static_cast<Encoding>(id);
  h->timestamp_codec = TimestampCodec::kDeltaOfDelta;
  h->value_codec = ValueCodec::kXor;
  if (h->encoding == Encoding::kColumnar) {
    uint8_t codecs;
    if (!r->ReadByte(&codecs)) return Corrupt("truncated header");
    if ((codecs & 0xf) > 3 || (codecs >> 4) > 3) return Corrupt("unknown codec");
    h->timestamp_codec = static_cast<TimestampCodec>(codecs & 0xf);
    h->value_codec = static_cast<ValueCodec>(codecs >> 4);
  }
  if (!r->ReadVarint64(&h->num_samples)) return Corrupt("truncated header");
  if (h->num_samples > kMaxChunkSamples) return Corrupt("too many samples");
  h->first_time = h->last_time = 0;
  if (h->num_samples == 0) return absl::OkStatus();
  int64_t span;
  if (!r->ReadZigZag64(&h->first_time) || !r->ReadZigZag64(&span)) {
    return Corrupt("truncated header");
  }
  h->last_time = S(U(h->first_time) + U(span));
  return absl::OkStatus();
}

// Decodes the body into ts[0..n) and vs[0..n).
absl::Status DecodeBody(ByteReader* r, const ChunkHeader& h, int64_t* ts, double* vs) {
  const size_t n = h.num_samples;
  if (n == 0) {
    return r->remaining() == 0 ? absl::OkStatus() : Corrupt("trailing bytes");
  }
  if (h.encoding == Encoding::kXor) {
    XorIterator it(r->Rest(), n);
    size_t i = 0;
    while (it.Next()) {
      std::tie(ts[i], vs[i]) = it.At();
      ++i;
    }
    PHAROS_RETURN_IF_ERROR(it.Err());
    if (ts[0] != h.first_time || ts[n - 1] != h.last_time) return Corrupt("time range mismatch");
    return absl::OkStatus();
  }
  ts[0] = h.first_time;
  const int64_t span = S(U(h.last_time) - U(h.first_time));
  if (!DecodeTimestamps(r, h.timestamp_codec, n, span, ts)) return Corrupt("timestamp column");
  if (ts[n - 1] != h.last_time) return Corrupt("time range mismatch");
  switch (h.value_codec) {
    case ValueCodec::kConst: {
      uint64_t bits;
      if (!r->ReadFixed64(&bits)) return Corrupt("value column");
      std::fill(vs, vs + n, std::bit_cast<double>(bits));
      break;
    }
    case ValueCodec::kDecimalDelta:
    case ValueCodec::kDecimalDoD:
      if (h.value_codec == ValueCodec::kDecimalDoD && n == 2) return Corrupt("value codec");
      if (!DecodeDecimal(r, h.value_codec, n, vs)) return Corrupt("value column");
      break;
    case ValueCodec::kXor:
      if (!DecodeXorValues(r->Rest(), n, vs)) return Corrupt("value column");
      return absl::OkStatus();
  }
  return r->remaining() == 0 ? absl::OkStatus() : Corrupt("trailing bytes");
}

}  // namespace

namespace internal {

bool EncodeColumnarWith(std::span<const int64_t> ts, std::span<const double> vs,
                        TimestampCodec ts_codec, ValueCodec value_codec, std::string* dst) {
  if (ts.size() != vs.size() || ts.size() > kMaxChunkSamples) DieBadInput(ts.size(), vs.size());
  const size_t n = ts.size();
  IntBuffer tmp, ints;
  int scale = 0;
  if (n == 0) {
    if (ts_codec != TimestampCodec::kRegular || value_codec != ValueCodec::kConst) return false;
  } else {
    switch (ts_codec) {
      case TimestampCodec::kRegular:
        if (!IsRegular(ts)) return false;
        break;
      case TimestampCodec::kGrid:
      case TimestampCodec::kDelta:
        if (n < 2) return false;
        break;
      case TimestampCodec::kDeltaOfDelta:
        if (n < 3) return false;
        break;
    }
    switch (value_codec) {
      case ValueCodec::kConst:
        if (!AllSameBits(vs)) return false;
        break;
      case ValueCodec::kDecimalDoD:
        if (n < 3) return false;
        [[fallthrough]];
      case ValueCodec::kDecimalDelta:
        if (!ToDecimal(vs, &ints, &scale)) return false;
        break;
      case ValueCodec::kXor:
        break;
    }
  }
  PutHeader(Encoding::kColumnar, Codecs(ts_codec, value_codec), ts, dst);
  if (n == 0) return true;
  EncodeTimestamps(ts, ts_codec, &tmp, dst);
  switch (value_codec) {
    case ValueCodec::kConst:
      internal::PutFixed64(std::bit_cast<uint64_t>(vs[0]), dst);
      break;
    case ValueCodec::kDecimalDelta:
    case ValueCodec::kDecimalDoD:
      EncodeDecimal(ints, scale, value_codec, &tmp, dst);
      break;
    case ValueCodec::kXor:
      EncodeXorValues(vs, dst);
      break;
  }
  return true;
}

}  // namespace internal

namespace {

// Keeps the smallest of several candidate sections, all encoded in place at the end of *dst
// (no temporary strings): each new candidate is appended after the current best and moved over
// it if smaller.
class SmallestSection {
 public:
  explicit SmallestSection(std::string* dst) : dst_(dst), start_(dst->size()) {}

  template <typename Codec, typename EncodeFn>
  void Try(Codec codec, EncodeFn encode) {
    const size_t begin = dst_->size();
    encode(dst_);
    const size_t len = dst_->size() - begin;
    if (!have_ || len < best_len_) {
      if (have_) std::memmove(dst_->data() + start_, dst_->data() + begin, len);
      dst_->resize(start_ + len);
      best_len_ = len;
      best_codec_ = static_cast<uint8_t>(codec);
      have_ = true;
    } else {
      dst_->resize(begin);
    }
  }

  bool empty() const { return !have_; }
  size_t size() const { return best_len_; }
  uint8_t codec() const { return best_codec_; }

 private:
  std::string* dst_;
  size_t start_;
  size_t best_len_ = 0;
  uint8_t best_codec_ = 0;
  bool have_ = false;
};

}  // namespace

void EncodeChunk(std::span<const int64_t> ts, std::span<const double> vs, std::string* dst) {
  if (ts.size() != vs.size() || ts.size() > kMaxChunkSamples) DieBadInput(ts.size(), vs.size());
  const size_t n = ts.size();
  const size_t codecs_pos = dst->size() + 1;
  PutHeader(Encoding::kColumnar, Codecs(TimestampCodec::kRegular, ValueCodec::kConst), ts, dst);
  if (n == 0) return;
  IntBuffer tmp;

  // Timestamp column: the smallest candidate.
  SmallestSection ts_section(dst);
  if (IsRegular(ts)) {
    ts_section.Try(TimestampCodec::kRegular, [&](std::string*) {});
  } else {
    for (TimestampCodec c : {TimestampCodec::kGrid, TimestampCodec::kDelta,
                             TimestampCodec::kDeltaOfDelta}) {
      if (c == TimestampCodec::kDeltaOfDelta && n < 3) continue;
      ts_section.Try(c, [&](std::string* out) { EncodeTimestamps(ts, c, &tmp, out); });
    }
  }

  // Value column: the smallest candidate.
  SmallestSection vs_section(dst);
  if (AllSameBits(vs)) {
    vs_section.Try(ValueCodec::kConst, [&](std::string* out) {
      internal::PutFixed64(std::bit_cast<uint64_t>(vs[0]), out);
    });
  }
  IntBuffer ints;
  int scale;
  if (ToDecimal(vs, &ints, &scale)) {
    for (ValueCodec c : {ValueCodec::kDecimalDelta, ValueCodec::kDecimalDoD}) {
      if (c == ValueCodec::kDecimalDoD && n < 3) continue;
      vs_section.Try(c, [&](std::string* out) { EncodeDecimal(ints, scale, c, &tmp, out); });
    }
  }
  // XOR rarely beats a decimal column; only try it when the decimal one is large.
  if (vs_section.empty() || vs_section.size() > 2 * n) {
    vs_section.Try(ValueCodec::kXor, [&](std::string* out) { EncodeXorValues(vs, out); });
  }

  (*dst)[codecs_pos] = static_cast<char>(
      Codecs(static_cast<TimestampCodec>(ts_section.codec()),
             static_cast<ValueCodec>(vs_section.codec())));
}

absl::StatusOr<ChunkHeader> ReadChunkHeader(std::string_view chunk) {
  ByteReader r(chunk);
  ChunkHeader h;
  PHAROS_RETURN_IF_ERROR(ParseHeader(&r, &h));
  return h;
}

absl::StatusOr<uint64_t> NumSamples(std::string_view chunk) {
  PHAROS_ASSIGN_OR_RETURN(ChunkHeader h, ReadChunkHeader(chunk));
  return h.num_samples;
}

absl::StatusOr<int64_t> MinTime(std::string_view chunk) {
  PHAROS_ASSIGN_OR_RETURN(ChunkHeader h, ReadChunkHeader(chunk));
  if (h.num_samples == 0) return absl::FailedPreconditionError("empty chunk has no time range");
  return h.first_time;
}

absl::StatusOr<int64_t> MaxTime(std::string_view chunk) {
  PHAROS_ASSIGN_OR_RETURN(ChunkHeader h, ReadChunkHeader(chunk));
  if (h.num_samples == 0) return absl::FailedPreconditionError("empty chunk has no time range");
  return h.last_time;
}

absl::Status DecodeChunk(std::string_view chunk, std::vector<int64_t>* ts,
                         std::vector<double>* vs) {
  ByteReader r(chunk);
  ChunkHeader h;
  PHAROS_RETURN_IF_ERROR(ParseHeader(&r, &h));
  const size_t ts_size = ts->size();
  const size_t vs_size = vs->size();
  ts->resize(ts_size + h.num_samples);
  vs->resize(vs_size + h.num_samples);
  absl::Status s = DecodeBody(&r, h, ts->data() + ts_size, vs->data() + vs_size);
  if (!s.ok()) {
    ts->resize(ts_size);
    vs->resize(vs_size);
  }
  return s;
}

void ChunkIterator::Reset(std::string_view chunk) {
  chunk_ = chunk;
  ts_.clear();
  vs_.clear();
  pos_ = 0;
  loaded_ = false;
  started_ = false;
  err_ = absl::OkStatus();
}

bool ChunkIterator::Load() {
  loaded_ = true;
  err_ = DecodeChunk(chunk_, &ts_, &vs_);
  return err_.ok();
}

bool ChunkIterator::Seek(int64_t t) {
  if (!loaded_ && !Load()) return false;
  if (!started_) {
    started_ = true;
    pos_ = 0;
  }
  while (pos_ < ts_.size() && ts_[pos_] < t) ++pos_;
  return pos_ < ts_.size();
}

}  // namespace pharos::chunkenc
