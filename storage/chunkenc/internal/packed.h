#pragma once

// Bit-packed int64 column: frame of reference per block of up to 128 values, a bit width chosen
// per block, and patched exceptions for outliers (a missed scrape, a counter reset) so that one
// outlier does not widen the whole block. Layout: storage/docs/format/chunks.md.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "storage/chunkenc/internal/coding.h"

namespace pharos::chunkenc::internal {

inline constexpr size_t kPackedBlockSize = 128;

// Appends the encoding of `values` to *dst. The count is not stored: the reader knows it.
void EncodePackedColumn(std::span<const int64_t> values, std::string* dst);

// Decodes one block of m (<= kPackedBlockSize) values into out[0..m). False on corrupt input.
[[nodiscard]] bool DecodePackedBlock(ByteReader* reader, size_t m, int64_t* out);

// Decodes `n` values written by EncodePackedColumn into out[0..n). False on corrupt input.
[[nodiscard]] bool DecodePackedColumn(ByteReader* reader, size_t n, int64_t* out);

}  // namespace pharos::chunkenc::internal
