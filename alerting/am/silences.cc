#include "alerting/am/silences.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "alerting/am/internal/matchers.h"
#include "alerting/am/route.h"
#include "common/status_macros.h"
#include "storage/labels/labels.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace pharos::alerting::am {
namespace {

constexpr char kPrefix[] = "silence/";

Matchers Sorted(Matchers ms) {
  internal::SortMatchers(&ms);
  return ms;
}

// Alertmanager's validateSilence plus the API's checks for a silence being written.
absl::Status Validate(const Silence& s) {
  if (s.matchers.empty()) return absl::InvalidArgumentError("at least one matcher required");
  bool all_match_empty = true;
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    const Matcher& m = s.matchers[i];
    if (!IsValidLegacyLabelName(m.name())) {
      return absl::InvalidArgumentError(absl::StrCat("invalid label matcher ", i,
                                                     ": invalid label name ",
                                                     internal::GoQuote(m.name())));
    }
    all_match_empty = all_match_empty && m.MatchesEmpty();
  }
  if (all_match_empty) {
    return absl::InvalidArgumentError("at least one matcher must not match the empty string");
  }
  if (s.starts_at_ms == 0) return absl::InvalidArgumentError("invalid zero start timestamp");
  if (s.ends_at_ms == 0) return absl::InvalidArgumentError("invalid zero end timestamp");
  if (s.ends_at_ms < s.starts_at_ms) {
    return absl::InvalidArgumentError("end time must not be before start time");
  }
  return absl::OkStatus();
}

// Alertmanager's canUpdate: an update must not change what the silence did in the past.
bool CanUpdate(const Silence& a, const Silence& b, int64_t now) {
  if (Sorted(a.matchers) != Sorted(b.matchers)) return false;
  switch (a.StateAt(now)) {
    case SilenceState::kActive:
      if (b.starts_at_ms != a.starts_at_ms) return false;
      if (b.ends_at_ms < now) return false;
      return true;
    case SilenceState::kPending:
      return b.starts_at_ms >= now;
    case SilenceState::kExpired:
      return false;
  }
  return false;
}

}  // namespace

std::string_view SilenceStateString(SilenceState s) {
  switch (s) {
    case SilenceState::kPending: return "pending";
    case SilenceState::kActive: return "active";
    case SilenceState::kExpired: return "expired";
  }
  return "expired";
}

SilenceState Silence::StateAt(int64_t now_ms) const {
  if (now_ms < starts_at_ms) return SilenceState::kPending;
  // Alertmanager counts the instant ends_at itself as active; with nanoseconds that instant is
  // gone at once, with milliseconds it is not, so an expired silence (ends_at = now) would stay
  // active for the rest of the millisecond. ends_at is therefore exclusive here.
  if (now_ms >= ends_at_ms) return SilenceState::kExpired;
  return SilenceState::kActive;
}

std::string NewUuidV4() {
  // One generator per thread, seeded from the OS; ids only need to be unique, not secret.
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                              // version 4
  lo = (lo & ~(0xc000ULL << 48)) | (0x8000ULL << 48);              // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    const uint64_t word = i < 8 ? hi : lo;
    const int shift = 56 - 8 * (i % 8);
    const unsigned byte = static_cast<unsigned>((word >> shift) & 0xff);
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

std::string SilenceToJson(const Silence& s) {
  nlohmann::json j;
  j["id"] = s.id;
  nlohmann::json ms = nlohmann::json::array();
  for (const Matcher& m : s.matchers) {
    ms.push_back({{"name", m.name()},
                  {"value", m.value()},
                  {"isRegex", m.IsRegex()},
                  {"isEqual", !m.IsNegative()}});
  }
  j["matchers"] = std::move(ms);
  j["startsAt"] = s.starts_at_ms;
  j["endsAt"] = s.ends_at_ms;
  j["updatedAt"] = s.updated_at_ms;
  j["createdBy"] = s.created_by;
  j["comment"] = s.comment;
  return j.dump();
}

absl::StatusOr<Silence> SilenceFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("silence: invalid JSON");
  }
  Silence s;
  try {
    s.id = j.at("id").get<std::string>();
    for (const auto& m : j.at("matchers")) {
      const bool re = m.at("isRegex").get<bool>(), eq = m.value("isEqual", true);
      const MatchType t = re ? (eq ? MatchType::kRegexMatch : MatchType::kRegexNoMatch)
                             : (eq ? MatchType::kEqual : MatchType::kNotEqual);
      PHAROS_ASSIGN_OR_RETURN(Matcher mm, Matcher::Make(t, m.at("name").get<std::string>(),
                                                        m.at("value").get<std::string>()));
      s.matchers.push_back(std::move(mm));
    }
    s.starts_at_ms = j.at("startsAt").get<int64_t>();
    s.ends_at_ms = j.at("endsAt").get<int64_t>();
    s.updated_at_ms = j.at("updatedAt").get<int64_t>();
    s.created_by = j.value("createdBy", "");
    s.comment = j.value("comment", "");
  } catch (const nlohmann::json::exception& e) {
    // Stored data is only ever written by SilenceToJson; a bad record is reported, not fatal.
    return absl::InvalidArgumentError(absl::StrCat("silence: ", e.what()));
  }
  return s;
}

bool SilenceMatchesFilter(const Silence& s, const Matchers& filter) {
  std::map<std::string, std::string> sms;
  for (const Matcher& m : s.matchers) sms[m.name()] = m.value();
  for (const Matcher& m : filter) {
    auto it = sms.find(m.name());
    const bool present = it != sms.end();
    const std::string v = present ? it->second : "";
    if (m.IsNegative()) {
      if (m.value().empty() && present) continue;
    } else {
      if (m.value().empty() && !present) continue;
    }
    if (!m.Matches(v)) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Silences>> Silences::Open(SilencesOptions opts) {
  if (opts.clock == nullptr) return absl::InvalidArgumentError("silences: no clock");
  std::unique_ptr<Silences> s(new Silences(opts));
  PHAROS_RETURN_IF_ERROR(s->Load());
  return s;
}

absl::Status Silences::Load() {
  if (opts_.store == nullptr) return absl::OkStatus();
  absl::MutexLock l(&mu_);
  absl::Status bad;
  PHAROS_RETURN_IF_ERROR(opts_.store->Scan(kPrefix, [&](std::string_view key, std::string_view v) {
    auto s = SilenceFromJson(v);
    if (!s.ok()) {
      bad = absl::DataLossError(absl::StrCat("state store key ", Av(key), ": ", s.status().message()));
      return false;
    }
    silences_[s->id] = *std::move(s);
    return true;
  }));
  return bad;
}

absl::Status Silences::Store(const Silence& s) {
  ++version_;
  if (opts_.store == nullptr) return absl::OkStatus();
  return opts_.store->Put(absl::StrCat(kPrefix, s.id), SilenceToJson(s));
}

absl::StatusOr<std::string> Silences::Set(Silence s) {
  const int64_t now = opts_.clock->NowMs();
  if (s.starts_at_ms >= s.ends_at_ms) {
    return absl::InvalidArgumentError("start time must be before end time");
  }
  if (s.ends_at_ms < now) return absl::InvalidArgumentError("end time can't be in the past");
  PHAROS_RETURN_IF_ERROR(Validate(s));
  absl::MutexLock l(&mu_);
  if (!s.id.empty()) {
    auto it = silences_.find(s.id);
    if (it == silences_.end()) return absl::NotFoundError("silence not found");
    if (CanUpdate(it->second, s, now)) {
      s.updated_at_ms = now;
      PHAROS_RETURN_IF_ERROR(Store(s));
      it->second = s;
      return s.id;
    }
    if (it->second.StateAt(now) != SilenceState::kExpired) {
      PHAROS_RETURN_IF_ERROR(ExpireLocked(s.id, now));
    }
  }
  // A new silence, or the replacement of one whose past would change.
  s.id = NewUuidV4();
  if (s.starts_at_ms < now) s.starts_at_ms = now;
  s.updated_at_ms = now;
  PHAROS_RETURN_IF_ERROR(Store(s));
  silences_[s.id] = s;
  return s.id;
}

absl::Status Silences::ExpireLocked(const std::string& id, int64_t now) {
  auto it = silences_.find(id);
  if (it == silences_.end()) return absl::NotFoundError("silence not found");
  Silence s = it->second;
  switch (s.StateAt(now)) {
    case SilenceState::kExpired:
      return absl::InvalidArgumentError(absl::StrCat("silence ", id, " already expired"));
    case SilenceState::kActive:
      s.ends_at_ms = now;
      break;
    case SilenceState::kPending:
      // Both at now: the silence never took effect and counts as expired.
      s.starts_at_ms = now;
      s.ends_at_ms = now;
      break;
  }
  s.updated_at_ms = now;
  PHAROS_RETURN_IF_ERROR(Store(s));
  it->second = std::move(s);
  return absl::OkStatus();
}

absl::Status Silences::Expire(const std::string& id) {
  const int64_t now = opts_.clock->NowMs();
  absl::MutexLock l(&mu_);
  return ExpireLocked(id, now);
}

absl::StatusOr<Silence> Silences::Get(const std::string& id) const {
  absl::MutexLock l(&mu_);
  auto it = silences_.find(id);
  if (it == silences_.end()) return absl::NotFoundError("silence not found");
  return it->second;
}

std::vector<Silence> Silences::Query(const SilenceQuery& q) const {
  const int64_t now = opts_.clock->NowMs();
  std::vector<Silence> out;
  absl::MutexLock l(&mu_);
  for (const auto& [id, s] : silences_) {
    if (q.ids && std::find(q.ids->begin(), q.ids->end(), id) == q.ids->end()) continue;
    if (q.states &&
        std::find(q.states->begin(), q.states->end(), s.StateAt(now)) == q.states->end()) {
      continue;
    }
    if (!SilenceMatchesFilter(s, q.filter)) continue;
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> Silences::ActiveMatching(const LabelSet& labels) const {
  const int64_t now = opts_.clock->NowMs();
  std::vector<std::string> ids;
  absl::MutexLock l(&mu_);
  for (const auto& [id, s] : silences_) {
    if (s.StateAt(now) == SilenceState::kActive && MatchesAll(s.matchers, labels)) {
      ids.push_back(id);
    }
  }
  return ids;  // std::map order: sorted
}

absl::StatusOr<int> Silences::GC() {
  const int64_t now = opts_.clock->NowMs();
  absl::MutexLock l(&mu_);
  std::vector<StateStore::Write> writes;
  std::vector<std::string> ids;
  for (const auto& [id, s] : silences_) {
    if (s.ends_at_ms + opts_.retention_ms < now) {
      ids.push_back(id);
      writes.push_back({absl::StrCat(kPrefix, id), std::nullopt});
    }
  }
  if (ids.empty()) return 0;
  if (opts_.store) PHAROS_RETURN_IF_ERROR(opts_.store->Apply(writes));
  for (const std::string& id : ids) silences_.erase(id);
  ++version_;
  return static_cast<int>(ids.size());
}

uint64_t Silences::Version() const {
  absl::MutexLock l(&mu_);
  return version_;
}

bool Silencer::Mutes(const LabelSet& labels) {
  std::vector<std::string> ids = silences_->ActiveMatching(labels);
  const bool muted = !ids.empty();
  if (marker_) marker_->SetSilenced(Fingerprint(labels), std::move(ids));
  return muted;
}

}  // namespace pharos::alerting::am
