#include "alerting/am/mute.h"

namespace pharos::alerting::am {

namespace {
void UpdateState(AlertStatus* s) {
  s->state = (s->silenced_by.empty() && s->inhibited_by.empty()) ? "active" : "suppressed";
}
}  // namespace

void Marker::SetSilenced(uint64_t fp, std::vector<std::string> silence_ids) {
  absl::MutexLock l(&mu_);
  AlertStatus& s = status_[fp];
  s.silenced_by = std::move(silence_ids);
  UpdateState(&s);
}

void Marker::SetInhibited(uint64_t fp, std::vector<std::string> inhibiting_fps) {
  absl::MutexLock l(&mu_);
  AlertStatus& s = status_[fp];
  s.inhibited_by = std::move(inhibiting_fps);
  UpdateState(&s);
}

AlertStatus Marker::Status(uint64_t fp) const {
  absl::MutexLock l(&mu_);
  auto it = status_.find(fp);
  if (it == status_.end()) return AlertStatus();
  return it->second;
}

void Marker::Delete(uint64_t fp) {
  absl::MutexLock l(&mu_);
  status_.erase(fp);
}

}  // namespace pharos::alerting::am
