#include "storage/db/internal/codec.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pharos::storage::internal {

namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetString(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

void EncodeLabels(const Labels& labels, std::string* out) {
  PutVarint(out, labels.size());
  for (const Label& l : labels) {
    PutString(out, l.name);
    PutString(out, l.value);
  }
}

absl::StatusOr<Labels> DecodeLabels(std::string_view* in) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) {
    return absl::DataLossError("corrupt label set: bad count");
  }
  std::vector<Label> ls;
  ls.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Label l;
    if (!GetString(in, &l.name) || !GetString(in, &l.value)) {
      return absl::DataLossError("corrupt label set: truncated");
    }
    ls.push_back(l);
  }
  return Labels(std::span<const Label>(ls));
}

void WalBatchWriter::AddSeries(uint64_t ref, const Labels& labels) {
  PutVarint(&series_, ref);
  EncodeLabels(labels, &series_);
  ++nseries_;
}

void WalBatchWriter::AddSample(uint64_t ref, int64_t t, double v) {
  PutVarint(&samples_, ZigZag(static_cast<int64_t>(ref - last_ref_)));
  PutVarint(&samples_, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(t) -
                                                   static_cast<uint64_t>(last_t_))));
  uint64_t bits = std::bit_cast<uint64_t>(v);
  char b[8];
  std::memcpy(b, &bits, 8);
  samples_.append(b, 8);
  last_ref_ = ref;
  last_t_ = t;
  ++nsamples_;
}

std::string WalBatchWriter::Finish() {
  std::string out;
  out.reserve(series_.size() + samples_.size() + 24);
  out.push_back(1);
  PutVarint(&out, nseries_);
  out.append(series_);
  PutVarint(&out, nsamples_);
  out.append(samples_);
  return out;
}

absl::Status DecodeWalBatch(std::string_view rec, WalBatch* out) {
  out->series.clear();
  out->samples.clear();
  if (rec.empty() || rec.front() != 1) {
    return absl::DataLossError("WAL record: unknown version");
  }
  rec.remove_prefix(1);
  uint64_t ns;
  if (!GetVarint(&rec, &ns) || ns > rec.size()) return absl::DataLossError("WAL record: bad series count");
  for (uint64_t i = 0; i < ns; ++i) {
    uint64_t ref;
    if (!GetVarint(&rec, &ref)) return absl::DataLossError("WAL record: truncated series");
    auto labels = DecodeLabels(&rec);
    if (!labels.ok()) return labels.status();
    out->series.emplace_back(ref, std::move(*labels));
  }
  uint64_t nsamples;
  if (!GetVarint(&rec, &nsamples) || nsamples > rec.size()) {
    return absl::DataLossError("WAL record: bad sample count");
  }
  out->samples.reserve(nsamples);
  uint64_t ref = 0;
  int64_t t = 0;
  for (uint64_t i = 0; i < nsamples; ++i) {
    uint64_t dr, dt;
    if (!GetVarint(&rec, &dr) || !GetVarint(&rec, &dt) || rec.size() < 8) {
      return absl::DataLossError("WAL record: truncated samples");
    }
    ref += static_cast<uint64_t>(UnZigZag(dr));
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(UnZigZag(dt)));
    uint64_t bits;
    std::memcpy(&bits, rec.data(), 8);
    rec.remove_prefix(8);
    out->samples.push_back({ref, t, std::bit_cast<double>(bits)});
  }
  if (!rec.empty()) return absl::DataLossError("WAL record: trailing bytes");
  return absl::OkStatus();
}

}  // namespace pharos::storage::internal
