#include "server/ingest/scrape_format.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace pharos::ingest {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// RFC 7230 token characters, which a media type's type and subtype consist of.
bool IsTokenChar(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

}  // namespace

absl::StatusOr<ExpositionFormat> FormatForContentType(std::string_view content_type,
                                                      std::optional<ExpositionFormat> fallback) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  size_t slash = media.find('/');
  bool well_formed = slash != std::string_view::npos && slash > 0 && slash + 1 < media.size() &&
                     std::all_of(media.begin(), media.end(),
                                 [](char c) { return c == '/' || IsTokenChar(c); }) &&
                     media.find('/', slash + 1) == std::string_view::npos;
  if (well_formed) {
    if (EqualsIgnoreCase(media, "application/openmetrics-text")) {
      return ExpositionFormat::kOpenMetrics;
    }
    if (EqualsIgnoreCase(media, "text/plain")) return ExpositionFormat::kPrometheusText;
  }
  if (fallback) return *fallback;
  if (content_type.empty()) {
    return absl::InvalidArgumentError(
        "non-compliant scrape target sending blank Content-Type and no fallback scrape protocol "
        "configured");
  }
  if (well_formed && EqualsIgnoreCase(media, "application/vnd.google.protobuf")) {
    return absl::UnimplementedError(
        "protobuf exposition (application/vnd.google.protobuf) is not supported");
  }
  std::string quoted;
  AppendQuoted(quoted, content_type);
  return absl::InvalidArgumentError(absl::StrCat(
      "unsupported Content-Type ", quoted, " and no fallback scrape protocol configured"));
}

absl::Status GunzipBody(std::string_view compressed, size_t max_bytes, std::string* out) {
  out->clear();
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("gzip: inflateInit2 failed");
  }
  struct Closer {
    z_stream* zs;
    ~Closer() { inflateEnd(zs); }
  } closer{&zs};

  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), UINT32_MAX));
  size_t in_left = compressed.size() - zs.avail_in;
  const size_t limit = max_bytes == 0 ? SIZE_MAX : max_bytes;
  size_t produced = 0;
  bool member_done = false;
  while (true) {
    // Grow the output; at most limit + 1 bytes so that overflow is detected.
    if (out->size() == produced) {
      size_t want = std::max<size_t>(out->size() * 2, std::max<size_t>(compressed.size() * 4, 4096));
      if (limit != SIZE_MAX) want = std::min(want, limit + 1);
      if (want <= produced) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "body size limit exceeded: decompressed body is larger than ", max_bytes, " bytes"));
      }
      out->resize(want);
    }
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    size_t room = std::min<size_t>(out->size() - produced, UINT32_MAX);
    zs.avail_out = static_cast<uInt>(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (zs.avail_in == 0 && in_left > 0) {
      size_t n = std::min<size_t>(in_left, UINT32_MAX);
      zs.avail_in = static_cast<uInt>(n);
      in_left -= n;
    }
    if (produced > limit) {
      out->clear();
      return absl::ResourceExhaustedError(absl::StrCat(
          "body size limit exceeded: decompressed body is larger than ", max_bytes, " bytes"));
    }
    if (rc == Z_STREAM_END) {
      member_done = true;
      if (zs.avail_in == 0 && in_left == 0) break;
      // Another gzip member follows.
      if (inflateReset(&zs) != Z_OK) return absl::InternalError("gzip: inflateReset failed");
      member_done = false;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs.avail_out == 0) continue;  // needs more output room
      break;                            // no progress possible: truncated input
    }
    out->clear();
    return absl::InvalidArgumentError(
        absl::StrCat("gzip: corrupt body: ", zs.msg ? zs.msg : "inflate error"));
  }
  if (!member_done) {
    out->clear();
    return absl::InvalidArgumentError("gzip: unexpected end of compressed body");
  }
  out->resize(produced);
  return absl::OkStatus();
}

}  // namespace pharos::ingest
