#include "alerting/am/digest.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "alerting/am/nflog.h"
#include "alerting/state/state_store.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace pharos::alerting::am {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

absl::Time ToTime(int64_t ms) { return absl::FromUnixMillis(ms); }
int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

// ---- Record encoding: length-prefixed strings, "<len>:<bytes>", so any label value is safe.

void PutStr(std::string* out, std::string_view s) {
  absl::StrAppend(out, s.size(), ":");
  out->append(s);
}
void PutInt(std::string* out, int64_t v) { PutStr(out, std::to_string(v)); }

bool GetStr(std::string_view* in, std::string* out) {
  size_t colon = in->find(':');
  if (colon == std::string_view::npos) return false;
  size_t n;
  if (!absl::SimpleAtoi(Av(in->substr(0, colon)), &n)) return false;
  if (in->size() < colon + 1 + n) return false;
  *out = std::string(in->substr(colon + 1, n));
  in->remove_prefix(colon + 1 + n);
  return true;
}
bool GetInt(std::string_view* in, int64_t* v) {
  std::string s;
  return GetStr(in, &s) && absl::SimpleAtoi(s, v);
}
void PutLabels(std::string* out, const LabelSet& ls) {
  PutInt(out, static_cast<int64_t>(ls.size()));
  for (const auto& [n, v] : ls) {
    PutStr(out, n);
    PutStr(out, v);
  }
}
bool GetLabels(std::string_view* in, LabelSet* ls) {
  int64_t n;
  if (!GetInt(in, &n) || n < 0 || n > 100000) return false;
  for (int64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!GetStr(in, &k) || !GetStr(in, &v)) return false;
    (*ls)[k] = v;
  }
  return true;
}

std::string EncodeRecord(const DigestRecord& r) {
  std::string out = "1;";
  PutLabels(&out, r.alert.labels);
  PutLabels(&out, r.alert.annotations);
  PutInt(&out, r.alert.starts_at_ms);
  PutInt(&out, r.alert.ends_at_ms);
  PutStr(&out, r.alert.generator_url);
  PutInt(&out, r.first_seen_ms);
  PutInt(&out, r.last_seen_ms);
  PutInt(&out, r.resolved ? 1 : 0);
  return out;
}

bool DecodeRecord(std::string_view in, DigestRecord* r) {
  if (in.substr(0, 2) != "1;") return false;
  in.remove_prefix(2);
  int64_t resolved = 0;
  bool ok = GetLabels(&in, &r->alert.labels) && GetLabels(&in, &r->alert.annotations) &&
            GetInt(&in, &r->alert.starts_at_ms) && GetInt(&in, &r->alert.ends_at_ms) &&
            GetStr(&in, &r->alert.generator_url) && GetInt(&in, &r->first_seen_ms) &&
            GetInt(&in, &r->last_seen_ms) && GetInt(&in, &resolved) && in.empty();
  r->resolved = resolved != 0;
  return ok;
}

std::string FormatIn(int64_t ms, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", ToTime(ms), tz);
}

}  // namespace

std::string GoDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  uint64_t u = ms < 0 ? static_cast<uint64_t>(-ms) : static_cast<uint64_t>(ms);
  if (u < 1000) return absl::StrCat(sign, u, "ms");
  uint64_t h = u / 3600000, m = (u / 60000) % 60, s = (u / 1000) % 60, frac = u % 1000;
  std::string secs = std::to_string(s);
  if (frac) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03llu", static_cast<unsigned long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    secs += f;
  }
  if (h) return absl::StrCat(sign, h, "h", m, "m", secs, "s");
  if (m) return absl::StrCat(sign, m, "m", secs, "s");
  return absl::StrCat(sign, secs, "s");
}

// ---- DigestBuffer

DigestBuffer::DigestBuffer(StateStore* store, std::string receiver)
    : store_(store), receiver_(std::move(receiver)),
      prefix_(absl::StrCat("digest/", EscapeKeyPart(receiver_), "/")) {}

std::string DigestBuffer::RecordKey(uint64_t fp) const {
  return absl::StrCat(prefix_, "a/", FingerprintHex(fp));
}

absl::StatusOr<std::unique_ptr<DigestBuffer>> DigestBuffer::Open(StateStore* store,
                                                                 std::string receiver) {
  if (store == nullptr) return absl::InvalidArgumentError("digest: a state store is required");
  std::unique_ptr<DigestBuffer> b(new DigestBuffer(store, std::move(receiver)));
  absl::MutexLock l(&b->mu_);
  std::vector<StateStore::Write> drop;
  PHAROS_RETURN_IF_ERROR(
      store->Scan(b->prefix_ + "a/", [&](std::string_view k, std::string_view v) {
        DigestRecord r;
        if (DecodeRecord(v, &r)) {
          b->records_.push_back(std::move(r));
        } else {
          drop.push_back({std::string(k), std::nullopt});
        }
        return true;
      }));
  if (!drop.empty()) PHAROS_RETURN_IF_ERROR(store->Apply(drop));
  std::sort(b->records_.begin(), b->records_.end(), [](const auto& x, const auto& y) {
    return x.alert.fingerprint() < y.alert.fingerprint();
  });
  PHAROS_ASSIGN_OR_RETURN(auto sent, store->Get(b->prefix_ + "sent"));
  if (sent.has_value() && !absl::SimpleAtoi(*sent, &b->last_sent_ms_)) b->last_sent_ms_ = 0;
  return b;
}

absl::Status DigestBuffer::Record(const std::vector<Alert>& alerts, int64_t now_ms) {
  absl::MutexLock l(&mu_);
  std::vector<StateStore::Write> writes;
  std::vector<DigestRecord> updated = records_;
  auto less = [](const DigestRecord& r, uint64_t fp) { return r.alert.fingerprint() < fp; };
  for (const Alert& a : alerts) {
    uint64_t fp = a.fingerprint();
    auto it = std::lower_bound(updated.begin(), updated.end(), fp, less);
    if (it == updated.end() || it->alert.fingerprint() != fp) {
      DigestRecord r;
      r.first_seen_ms = now_ms;
      it = updated.insert(it, std::move(r));
    }
    int64_t starts = it->alert.starts_at_ms;
    it->alert = a;
    // Keep the earliest start seen in the period (a re-fired alert keeps its first start).
    if (starts != 0 && starts < a.starts_at_ms) it->alert.starts_at_ms = starts;
    it->last_seen_ms = now_ms;
    it->resolved = a.ResolvedAt(now_ms);
    if (!it->resolved) it->alert.ends_at_ms = 0;
    writes.push_back({RecordKey(fp), EncodeRecord(*it)});
  }
  if (writes.empty()) return absl::OkStatus();
  PHAROS_RETURN_IF_ERROR(store_->Apply(writes));
  records_ = std::move(updated);
  return absl::OkStatus();
}

std::vector<DigestRecord> DigestBuffer::Records() const {
  absl::MutexLock l(&mu_);
  return records_;
}

int64_t DigestBuffer::last_sent_ms() const {
  absl::MutexLock l(&mu_);
  return last_sent_ms_;
}

absl::Status DigestBuffer::MarkSent(int64_t period_end_ms, const std::vector<DigestRecord>& sent) {
  absl::MutexLock l(&mu_);
  std::vector<StateStore::Write> writes;
  writes.push_back({prefix_ + "sent", std::to_string(period_end_ms)});
  std::vector<DigestRecord> keep;
  for (const DigestRecord& r : records_) {
    // A record updated after the digest was built stays for the next period.
    bool in_sent = std::any_of(sent.begin(), sent.end(), [&](const DigestRecord& s) {
      return s.alert.fingerprint() == r.alert.fingerprint() && s.last_seen_ms == r.last_seen_ms;
    });
    if (in_sent) {
      writes.push_back({RecordKey(r.alert.fingerprint()), std::nullopt});
    } else {
      keep.push_back(r);
    }
  }
  PHAROS_RETURN_IF_ERROR(store_->Apply(writes));
  records_ = std::move(keep);
  last_sent_ms_ = period_end_ms;
  return absl::OkStatus();
}

DigestNotification BuildDigest(const std::string& receiver, const DigestSchedule& schedule,
                               int64_t period_start_ms, int64_t period_end_ms,
                               const std::vector<DigestRecord>& records) {
  DigestNotification n;
  n.group_key = absl::StrCat("digest/", receiver, "/",
                             absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ToTime(period_start_ms),
                                              absl::UTCTimeZone()));
  n.group_labels = {{"digest", schedule.KindName()}};
  int still_firing = 0;
  for (const DigestRecord& r : records) still_firing += r.resolved ? 0 : 1;
  n.summary = absl::StrCat(records.size(), records.size() == 1 ? " alert" : " alerts",
                           " fired between ", FormatIn(period_start_ms, schedule.tz), " and ",
                           FormatIn(period_end_ms, schedule.tz), "; ", still_firing,
                           " still firing.");
  for (const DigestRecord& r : records) {
    Alert a = r.alert;
    if (r.resolved) {
      a.annotations["digest_duration"] = GoDuration(a.ends_at_ms - a.starts_at_ms);
    } else {
      a.ends_at_ms = 0;
      a.annotations["digest_duration"] =
          absl::StrCat("still firing since ", FormatIn(a.starts_at_ms, schedule.tz));
    }
    a.annotations["digest_summary"] = n.summary;
    n.alerts.push_back(std::move(a));
  }
  // Still-firing alerts first, then by start time.
  std::stable_sort(n.alerts.begin(), n.alerts.end(), [](const Alert& x, const Alert& y) {
    bool fx = x.ends_at_ms == 0, fy = y.ends_at_ms == 0;
    if (fx != fy) return fx;
    return x.starts_at_ms < y.starts_at_ms;
  });
  return n;
}

}  // namespace pharos::alerting::am
