#include "server/ingest/snappy_block.h"

#include "absl/strings/str_cat.h"
#include "snappy.h"

namespace pharos::ingest {

absl::Status SnappyUncompress(std::string_view compressed, size_t max_uncompressed_bytes,
                              std::string* out) {
  out->clear();
  size_t n = 0;
  if (!snappy::GetUncompressedLength(compressed.data(), compressed.size(), &n)) {
    return absl::InvalidArgumentError(
        "snappy: corrupt input: cannot read the uncompressed length (the body must be "
        "snappy block format, not framed/stream format)");
  }
  if (n > max_uncompressed_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("snappy: decompressed size ", n, " bytes exceeds the limit of ",
                     max_uncompressed_bytes, " bytes"));
  }
  out->resize(n);
  // RawUncompress bounds-checks every copy and literal against the claimed length, so corrupt
  // input yields false, never an out-of-bounds access.
  if (!snappy::RawUncompress(compressed.data(), compressed.size(), out->data())) {
    out->clear();
    return absl::InvalidArgumentError("snappy: corrupt input");
  }
  return absl::OkStatus();
}

}  // namespace pharos::ingest
