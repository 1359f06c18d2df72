#pragma once

// Forced-codec entry point for tests and benchmarks; production code calls EncodeChunk.

#include <cstdint>
#include <span>
#include <string>

#include "storage/chunkenc/chunk.h"

namespace pharos::chunkenc::internal {

// Appends a kColumnar chunk using exactly the given codecs. Returns false (appending nothing)
// if a codec cannot represent the data (e.g. kRegular for jittered timestamps, a decimal codec
// for non-decimal values, kConst for varying values).
[[nodiscard]] bool EncodeColumnarWith(std::span<const int64_t> ts, std::span<const double> vs,
                                      TimestampCodec ts_codec, ValueCodec value_codec,
                                      std::string* dst);

}  // namespace pharos::chunkenc::internal
