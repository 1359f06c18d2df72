#pragma once

// The alert model of the router (Alertmanager's types.Alert / model.Alert).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pharos::alerting::am {

// Label names to values, sorted by name. Small (a handful of labels), so a std::map is fine.
using LabelSet = std::map<std::string, std::string, std::less<>>;

// Alertmanager's model.LabelSet.Fingerprint(): FNV-1a 64 over name 0xff value 0xff ... in
// name order. Shown as 16 lowercase hex digits in the API and webhook payload.
uint64_t Fingerprint(const LabelSet& labels);
std::string FingerprintHex(uint64_t fp);

struct Alert {
  LabelSet labels;
  LabelSet annotations;
  int64_t starts_at_ms = 0;
  // 0: not set (the router applies resolve_timeout and sets `timeout`).
  int64_t ends_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string generator_url;
  // ends_at was set by the router from resolve_timeout, not by the sender.
  bool timeout = false;

  uint64_t fingerprint() const { return Fingerprint(labels); }
  // Resolved at `now_ms`: ends_at is set and not after now.
  bool ResolvedAt(int64_t now_ms) const { return ends_at_ms != 0 && ends_at_ms <= now_ms; }
  // alertname label, for logs.
  std::string Name() const;
};

// An alert's state as the API reports it ("active", "suppressed", "unprocessed") with the ids
// of the silences and the fingerprints of the alerts that inhibit it.
struct AlertStatus {
  std::string state = "unprocessed";
  std::vector<std::string> silenced_by;
  std::vector<std::string> inhibited_by;
};

}  // namespace pharos::alerting::am
