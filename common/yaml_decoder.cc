#include "common/yaml_decoder.h"

namespace pharos::yaml {

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status LoadAndDecode(const Decoder& d, const std::string& text,
                           const std::function<absl::Status(const YAML::Node&)>& fn) {
  try {
    YAML::Node root = YAML::Load(text);
    return fn(root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports syntax errors by exception; this is the edge where they become Status.
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(d.source(), ": ", e.msg));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(d.source(), ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
}

}  // namespace pharos::yaml
