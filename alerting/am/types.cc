#include "alerting/am/types.h"

#include <cstdio>

namespace pharos::alerting::am {

uint64_t Fingerprint(const LabelSet& labels) {
  // FNV-1a 64, as Go's prometheus/common model.labelSetToFingerprint (hashNew/hashAdd).
  constexpr uint64_t kOffset = 14695981039346656037ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t h = kOffset;
  auto add = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= kPrime;
    }
  };
  auto sep = [&h] {
    h ^= 0xff;
    h *= kPrime;
  };
  if (labels.empty()) return h;
  for (const auto& [name, value] : labels) {
    add(name);
    sep();
    add(value);
    sep();
  }
  return h;
}

std::string FingerprintHex(uint64_t fp) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fp));
  return buf;
}

std::string Alert::Name() const {
  auto it = labels.find("alertname");
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace pharos::alerting::am
