#pragma once

// Debian's Abseil 20220623 is built with its own absl::string_view (ABSL_OPTION_USE_STD_
// STRING_VIEW 0), so absl::StrCat and friends do not take std::string_view. Wrap views with
// Av(); read absl::Status::message() back with Sv().

#include <string_view>

#include "absl/strings/string_view.h"
#include "fmt/core.h"

namespace pharos {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace pharos

// Lets spdlog/fmt format absl::string_view (e.g. status.message()) directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};
