#include "alerting/am/inhibit.h"

#include "alerting/am/route.h"

namespace pharos::alerting::am {
namespace {

const std::string& LabelOrEmpty(const LabelSet& ls, const std::string& name) {
  static const std::string kEmpty;
  auto it = ls.find(name);
  return it == ls.end() ? kEmpty : it->second;
}

}  // namespace

Inhibitor::Inhibitor(std::vector<InhibitRule> rules, Marker* marker, const Clock* clock)
    : marker_(marker), clock_(clock) {
  for (InhibitRule& r : rules) rules_.push_back(Rule{std::move(r), {}});
}

void Inhibitor::Observe(const Alert& alert) {
  const uint64_t fp = alert.fingerprint();
  absl::MutexLock l(&mu_);
  for (Rule& r : rules_) {
    if (MatchesAll(r.config.source_matchers, alert.labels)) r.sources[fp] = alert;
  }
}

void Inhibitor::Forget(uint64_t fingerprint) {
  absl::MutexLock l(&mu_);
  for (Rule& r : rules_) r.sources.erase(fingerprint);
}

bool Inhibitor::Mutes(const LabelSet& labels) {
  const uint64_t fp = Fingerprint(labels);
  const int64_t now = clock_->NowMs();
  std::optional<uint64_t> by;
  {
    absl::MutexLock l(&mu_);
    for (const Rule& r : rules_) {
      if (!MatchesAll(r.config.target_matchers, labels)) continue;
      // When the alert is itself a source of this rule, sources that also match the target
      // side are skipped, so such alerts never inhibit each other (or themselves).
      const bool two_sided = MatchesAll(r.config.source_matchers, labels);
      for (const auto& [src_fp, src] : r.sources) {
        if (src.ResolvedAt(now)) continue;
        bool equal = true;
        for (const std::string& n : r.config.equal) {
          if (LabelOrEmpty(src.labels, n) != LabelOrEmpty(labels, n)) {
            equal = false;
            break;
          }
        }
        if (!equal) continue;
        if (two_sided && MatchesAll(r.config.target_matchers, src.labels)) continue;
        by = src_fp;
        break;
      }
      if (by) break;
    }
  }
  if (marker_) {
    marker_->SetInhibited(fp, by ? std::vector<std::string>{FingerprintHex(*by)}
                                 : std::vector<std::string>{});
  }
  return by.has_value();
}

int Inhibitor::GC() {
  const int64_t now = clock_->NowMs();
  int n = 0;
  absl::MutexLock l(&mu_);
  for (Rule& r : rules_) {
    for (auto it = r.sources.begin(); it != r.sources.end();) {
      if (it->second.ResolvedAt(now)) {
        it = r.sources.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
  }
  return n;
}

}  // namespace pharos::alerting::am
