// Test-only implementation of the routing tree and Marker (alerting/am/{route,mute}.h) so the
// router runtime can be tested before the am config library lands. Follows Alertmanager's
// dispatch.Route Key/ID/Match. Remove once the real route.cc/mute.cc are linked into the tests.

#include "alerting/am/mute.h"
#include "alerting/am/route.h"
#include "fake_route.h"

namespace pharos::alerting::am {
namespace {

std::string MatchersString(const Matchers& ms) {
  std::string out = "{";
  for (size_t i = 0; i < ms.size(); ++i) {
    if (i) out += ",";
    const Matcher& m = ms[i];
    const char* op = m.type() == MatchType::kEqual      ? "="
                     : m.type() == MatchType::kNotEqual ? "!="
                     : m.type() == MatchType::kRegexMatch ? "=~"
                                                          : "!~";
    out += m.name() + op + "\"" + m.value() + "\"";
  }
  return out + "}";
}

}  // namespace

LabelSet RouteOpts::GroupLabels(const LabelSet& alert) const {
  if (group_by_all) return alert;
  LabelSet out;
  for (const std::string& n : group_by) {
    auto it = alert.find(n);
    if (it != alert.end()) out.emplace(n, it->second);
  }
  return out;
}

std::string RouteNode::Key() const {
  return (parent_ ? parent_->Key() + "/" : std::string()) + MatchersString(matchers_);
}

std::string RouteNode::ID() const {
  std::string id = (parent_ ? parent_->ID() + "/" : std::string()) + MatchersString(matchers_);
  if (parent_) id += "/" + std::to_string(index_);
  return id;
}

bool MatchesAll(const Matchers& ms, const LabelSet& labels) {
  for (const Matcher& m : ms) {
    auto it = labels.find(m.name());
    if (!m.Matches(it == labels.end() ? std::string_view() : std::string_view(it->second))) {
      return false;
    }
  }
  return true;
}

std::vector<const RouteNode*> RouteNode::Match(const LabelSet& labels) const {
  if (!MatchesAll(matchers_, labels)) return {};
  std::vector<const RouteNode*> all;
  for (const auto& c : children_) {
    auto m = c->Match(labels);
    all.insert(all.end(), m.begin(), m.end());
    if (!m.empty() && !c->continue_) break;
  }
  if (all.empty()) all.push_back(this);
  return all;
}

struct RouteBuilder {
  static std::unique_ptr<RouteNode> Make(const RouteOpts& opts, Matchers ms, bool cont) {
    auto n = std::make_unique<RouteNode>();
    n->opts_ = opts;
    n->matchers_ = std::move(ms);
    n->continue_ = cont;
    return n;
  }
  static RouteNode* Add(RouteNode* parent, std::unique_ptr<RouteNode> child) {
    child->parent_ = parent;
    child->index_ = static_cast<int>(parent->children_.size());
    parent->children_.push_back(std::move(child));
    return parent->children_.back().get();
  }
};

namespace testing {
std::unique_ptr<RouteNode> MakeRoute(const RouteOpts& opts, Matchers ms, bool cont) {
  return RouteBuilder::Make(opts, std::move(ms), cont);
}
RouteNode* AddChild(RouteNode* parent, std::unique_ptr<RouteNode> child) {
  return RouteBuilder::Add(parent, std::move(child));
}
}  // namespace testing

void Marker::SetSilenced(uint64_t fp, std::vector<std::string> ids) {
  absl::MutexLock l(&mu_);
  status_[fp].silenced_by = std::move(ids);
}
void Marker::SetInhibited(uint64_t fp, std::vector<std::string> fps) {
  absl::MutexLock l(&mu_);
  status_[fp].inhibited_by = std::move(fps);
}
AlertStatus Marker::Status(uint64_t fp) const {
  absl::MutexLock l(&mu_);
  auto it = status_.find(fp);
  if (it == status_.end()) return AlertStatus{};
  AlertStatus s = it->second;
  s.state = s.silenced_by.empty() && s.inhibited_by.empty() ? "active" : "suppressed";
  return s;
}
void Marker::Delete(uint64_t fp) {
  absl::MutexLock l(&mu_);
  status_.erase(fp);
}

}  // namespace pharos::alerting::am
