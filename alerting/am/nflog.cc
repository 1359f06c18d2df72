#include "alerting/am/nflog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "alerting/clock.h"
#include "alerting/state/state_store.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace pharos::alerting::am {
namespace {

constexpr std::string_view kPrefix = "nflog/";

bool IsSubset(const std::vector<uint64_t>& set, const std::vector<uint64_t>& fps) {
  for (uint64_t fp : fps) {
    if (!std::binary_search(set.begin(), set.end(), fp)) return false;
  }
  return true;
}

void AppendFps(std::string* out, const std::vector<uint64_t>& fps) {
  if (fps.empty()) {
    out->push_back('-');
    return;
  }
  for (size_t i = 0; i < fps.size(); ++i) {
    if (i) out->push_back(',');
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fps[i]));
    out->append(buf);
  }
}

// Value format (version 1): "1 <timestamp_ms> <expires_at_ms> <firing> <resolved>", fingerprint
// lists as comma-separated hex or "-" when empty. Text, so the state can be inspected by hand.
std::string Encode(const NflogEntry& e) {
  std::string out = absl::StrCat("1 ", e.timestamp_ms, " ", e.expires_at_ms, " ");
  AppendFps(&out, e.firing);
  out.push_back(' ');
  AppendFps(&out, e.resolved);
  return out;
}

bool ParseFps(absl::string_view s, std::vector<uint64_t>* out) {
  if (s == "-") return true;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    uint64_t v;
    if (!absl::SimpleHexAtoi(part, &v)) return false;
    out->push_back(v);
  }
  std::sort(out->begin(), out->end());
  return true;
}

bool Decode(std::string_view value, NflogEntry* e) {
  std::vector<absl::string_view> f = absl::StrSplit(Av(value), ' ');
  if (f.size() != 5 || f[0] != "1") return false;
  return absl::SimpleAtoi(f[1], &e->timestamp_ms) && absl::SimpleAtoi(f[2], &e->expires_at_ms) &&
         ParseFps(f[3], &e->firing) && ParseFps(f[4], &e->resolved);
}

}  // namespace

std::string EscapeKeyPart(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out.append(buf);
    }
  }
  return out;
}

bool NflogEntry::IsFiringSubset(const std::vector<uint64_t>& fps) const {
  return IsSubset(firing, fps);
}
bool NflogEntry::IsResolvedSubset(const std::vector<uint64_t>& fps) const {
  return IsSubset(resolved, fps);
}

std::string Nflog::StoreKey(const NflogReceiver& r, std::string_view group_key) {
  return absl::StrCat(Av(kPrefix), EscapeKeyPart(r.receiver), "/", EscapeKeyPart(r.integration),
                      "/", r.index, "/", EscapeKeyPart(group_key));
}

absl::StatusOr<std::unique_ptr<Nflog>> Nflog::Open(const NflogOptions& opts) {
  if (opts.store == nullptr || opts.clock == nullptr) {
    return absl::InvalidArgumentError("nflog: store and clock are required");
  }
  if (opts.retention_ms <= 0) return absl::InvalidArgumentError("nflog: retention must be > 0");
  std::unique_ptr<Nflog> log(new Nflog(opts));
  const int64_t now = opts.clock->NowMs();
  std::vector<StateStore::Write> drop;
  absl::MutexLock l(&log->mu_);
  PHAROS_RETURN_IF_ERROR(opts.store->Scan(kPrefix, [&](std::string_view k, std::string_view v) {
    NflogEntry e;
    // An undecodable or expired entry is dropped: at worst one notification is repeated.
    if (!Decode(v, &e) || e.expires_at_ms <= now) {
      drop.push_back({std::string(k), std::nullopt});
    } else {
      log->entries_[std::string(k)] = std::move(e);
    }
    return true;
  }));
  if (!drop.empty()) PHAROS_RETURN_IF_ERROR(opts.store->Apply(drop));
  return log;
}

std::optional<NflogEntry> Nflog::Query(const NflogReceiver& r, std::string_view group_key) const {
  std::string key = StoreKey(r, group_key);
  absl::MutexLock l(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

absl::Status Nflog::Log(const NflogReceiver& r, std::string_view group_key,
                        std::vector<uint64_t> firing, std::vector<uint64_t> resolved) {
  NflogEntry e;
  std::sort(firing.begin(), firing.end());
  std::sort(resolved.begin(), resolved.end());
  e.firing = std::move(firing);
  e.resolved = std::move(resolved);
  e.timestamp_ms = opts_.clock->NowMs();
  e.expires_at_ms = e.timestamp_ms + opts_.retention_ms;
  std::string key = StoreKey(r, group_key);
  absl::MutexLock l(&mu_);
  PHAROS_RETURN_IF_ERROR(opts_.store->Put(key, Encode(e)));
  entries_[key] = std::move(e);
  return absl::OkStatus();
}

absl::StatusOr<int> Nflog::GC() {
  const int64_t now = opts_.clock->NowMs();
  absl::MutexLock l(&mu_);
  std::vector<StateStore::Write> drop;
  for (const auto& [k, e] : entries_) {
    if (e.expires_at_ms <= now) drop.push_back({k, std::nullopt});
  }
  if (drop.empty()) return 0;
  PHAROS_RETURN_IF_ERROR(opts_.store->Apply(drop));
  for (const auto& w : drop) entries_.erase(w.key);
  return static_cast<int>(drop.size());
}

size_t Nflog::size() const {
  absl::MutexLock l(&mu_);
  return entries_.size();
}

}  // namespace pharos::alerting::am
