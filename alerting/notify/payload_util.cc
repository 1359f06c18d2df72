// Small pieces of Alertmanager's notifier behaviour (declared in integrations.h), apart from
// the integrations so they link without the template engine.

#include <openssl/sha.h>

#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "alerting/notify/integrations.h"
#include "common/strings.h"

namespace pharos::alerting::notify {

namespace {

int SeverityRank(std::string_view s) {
  if (s == "critical") return 4;
  if (s == "error") return 3;
  if (s == "warning") return 2;
  if (s == "info") return 1;
  return 0;
}

}  // namespace

std::string GroupKeyHash(std::string_view group_key) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(group_key.data()), group_key.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string TruncateRunes(std::string_view s, size_t n, bool* truncated) {
  // Byte offsets of rune starts (UTF-8 lead bytes), as Go's []rune(s) counts.
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) starts.push_back(i);
  }
  if (truncated != nullptr) *truncated = starts.size() > n;
  if (starts.size() <= n) return std::string(s);
  if (n <= 3) return std::string(s.substr(0, n < starts.size() ? starts[n] : s.size()));
  return absl::StrCat(Av(s.substr(0, starts[n - 1])), "…");
}

std::string PagerDutySeverity(std::string_view rendered) {
  std::string best;
  size_t i = 0;
  while (i < rendered.size()) {
    while (i < rendered.size() && (std::isspace(static_cast<unsigned char>(rendered[i])) ||
                                   rendered[i] == ',')) {
      ++i;
    }
    size_t j = i;
    while (j < rendered.size() && !std::isspace(static_cast<unsigned char>(rendered[j])) &&
           rendered[j] != ',') {
      ++j;
    }
    std::string w(rendered.substr(i, j - i));
    for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = j;
    if (w.empty()) continue;
    std::string mapped;
    if (w == "critical" || w == "crit" || w == "page" || w == "high" || w == "fatal" ||
        w == "emergency") {
      mapped = "critical";
    } else if (w == "error" || w == "err" || w == "major") {
      mapped = "error";
    } else if (w == "warning" || w == "warn" || w == "minor" || w == "medium") {
      mapped = "warning";
    } else if (w == "info" || w == "information" || w == "informational" || w == "low" ||
               w == "none" || w == "notice" || w == "debug") {
      mapped = "info";
    }
    if (SeverityRank(mapped) > SeverityRank(best)) best = mapped;
  }
  return best.empty() ? "error" : best;
}

}  // namespace pharos::alerting::notify
