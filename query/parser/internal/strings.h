#pragma once

// Small string helpers over std::string_view. Debian's Abseil is built with its own
// absl::string_view type (not an alias of std::string_view), so absl::EqualsIgnoreCase and
// friends do not accept std::string_view directly.

#include <string>
#include <string_view>
#include <type_traits>

namespace pharos::promql::internal {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline std::string AsciiLowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, char> && !std::is_same_v<T, bool>)
void AppendPiece(std::string* out, T v) {
  out->append(std::to_string(v));
}

// Concatenation that accepts std::string_view (absl::StrCat does not, see above).
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendPiece(&out, args), ...);
  return out;
}
template <typename... Args>
void CatAppend(std::string* out, const Args&... args) {
  (AppendPiece(out, args), ...);
}

}  // namespace pharos::promql::internal
