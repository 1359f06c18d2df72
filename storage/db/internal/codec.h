#pragma once

// Encodings shared by the WAL and RocksDB (storage/docs/format/rocksdb.md):
//   labels:     varint n, then n x (varint len, name bytes, varint len, value bytes)
//   WAL batch:  u8 version (1), varint nseries, nseries x (varint ref, labels),
//               varint nsamples, then per sample: zigzag-varint delta ref, zigzag-varint
//               delta t (both from the previous sample; the first from 0), u64 LE value bits.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/labels/labels.h"

namespace pharos::storage::internal {

void EncodeLabels(const Labels& labels, std::string* out);
// Consumes an encoded label set from the front of *in.
absl::StatusOr<Labels> DecodeLabels(std::string_view* in);

struct WalSample {
  uint64_t ref;
  int64_t t;
  double v;
};

struct WalBatch {
  std::vector<std::pair<uint64_t, Labels>> series;
  std::vector<WalSample> samples;
};

class WalBatchWriter {
 public:
  void AddSeries(uint64_t ref, const Labels& labels);
  void AddSample(uint64_t ref, int64_t t, double v);
  // The encoded record; the writer is spent.
  std::string Finish();

 private:
  std::string series_;
  uint64_t nseries_ = 0;
  std::string samples_;
  uint64_t nsamples_ = 0;
  uint64_t last_ref_ = 0;
  int64_t last_t_ = 0;
};

[[nodiscard]] absl::Status DecodeWalBatch(std::string_view rec, WalBatch* out);

}  // namespace pharos::storage::internal
