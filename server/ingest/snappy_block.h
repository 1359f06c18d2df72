#pragma once

// Snappy block-format decompression for remote-write bodies (both remote-write 1.0 and 2.0 use
// the block format, never the framed/stream format).

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pharos::ingest {

// Decompresses `compressed` (snappy block format) into `*out`, replacing its contents but
// keeping its capacity (reuse one string per connection). The uncompressed length in the
// block header is checked against `max_uncompressed_bytes` before anything is allocated, so a
// "snappy bomb" (a few bytes claiming gigabytes) costs nothing.
// Errors: ResourceExhausted when the header claims more than the limit (answer 413);
// InvalidArgument for a corrupt header or body (answer 400). On error `*out` is cleared.
[[nodiscard]] absl::Status SnappyUncompress(std::string_view compressed,
                                            size_t max_uncompressed_bytes, std::string* out);

}  // namespace pharos::ingest
