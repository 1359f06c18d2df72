// Alertmanager's dispatch.Route: the routing tree with options inherited from the parent.

#include "alerting/am/route.h"

#include <algorithm>

#include "alerting/am/internal/matchers.h"

namespace pharos::alerting::am {

bool MatchesAll(const Matchers& ms, const LabelSet& labels) {
  static const std::string kEmpty;
  for (const Matcher& m : ms) {
    auto it = labels.find(m.name());
    if (!m.Matches(it == labels.end() ? kEmpty : it->second)) return false;
  }
  return true;
}

LabelSet RouteOpts::GroupLabels(const LabelSet& alert) const {
  LabelSet out;
  for (const auto& [name, value] : alert) {
    if (group_by_all || std::binary_search(group_by.begin(), group_by.end(), name)) {
      out.emplace(name, value);
    }
  }
  return out;
}

struct RouteBuilder {
  static std::unique_ptr<RouteNode> Build(const Route& cr, const RouteNode* parent, int index) {
    auto node = std::make_unique<RouteNode>();
    RouteOpts opts = parent ? parent->opts_ : RouteOpts();
    if (!cr.receiver.empty()) opts.receiver = cr.receiver;
    if (!cr.group_by.empty()) {
      opts.group_by = cr.group_by;
      std::sort(opts.group_by.begin(), opts.group_by.end());
      opts.group_by.erase(std::unique(opts.group_by.begin(), opts.group_by.end()),
                          opts.group_by.end());
      opts.group_by_all = false;
    } else if (cr.group_by_all) {
      opts.group_by_all = true;
    }
    if (cr.group_wait_ms) opts.group_wait_ms = *cr.group_wait_ms;
    if (cr.group_interval_ms) opts.group_interval_ms = *cr.group_interval_ms;
    if (cr.repeat_interval_ms) opts.repeat_interval_ms = *cr.repeat_interval_ms;
    // As in Alertmanager, time intervals apply to the route that names them and are not
    // inherited by its children (dispatch.NewRoute assigns them unconditionally).
    opts.mute_time_intervals = cr.mute_time_intervals;
    opts.active_time_intervals = cr.active_time_intervals;
    node->opts_ = std::move(opts);
    node->matchers_ = cr.matchers;
    internal::SortMatchers(&node->matchers_);
    node->continue_ = cr.continue_;
    node->parent_ = parent;
    node->index_ = index;
    for (size_t i = 0; i < cr.routes.size(); ++i) {
      node->children_.push_back(Build(cr.routes[i], node.get(), static_cast<int>(i)));
    }
    return node;
  }
};

absl::StatusOr<std::unique_ptr<RouteNode>> RouteNode::Build(const Route& root) {
  if (root.receiver.empty()) {
    return absl::InvalidArgumentError("root route must specify a default receiver");
  }
  if (!root.matchers.empty()) {
    return absl::InvalidArgumentError("root route must not have any matchers");
  }
  return RouteBuilder::Build(root, nullptr, 0);
}

std::string RouteNode::Key() const {
  std::string key = parent_ ? parent_->Key() + "/" : std::string();
  key += internal::MatchersString(matchers_);
  return key;
}

std::string RouteNode::ID() const {
  std::string id = Key();
  if (parent_) {
    id += '/';
    id += std::to_string(index_);
  }
  return id;
}

namespace {

// Depth-first, left to right; appends to `out` and says whether this node matched.
bool MatchInto(const RouteNode& node, const LabelSet& labels,
               std::vector<const RouteNode*>* out) {
  if (!MatchesAll(node.matchers(), labels)) return false;
  const size_t before = out->size();
  for (const auto& child : node.children()) {
    if (MatchInto(*child, labels, out) && !child->continue_matching()) break;
  }
  if (out->size() == before) out->push_back(&node);
  return true;
}

}  // namespace

std::vector<const RouteNode*> RouteNode::Match(const LabelSet& labels) const {
  std::vector<const RouteNode*> out;
  MatchInto(*this, labels, &out);
  return out;
}

}  // namespace pharos::alerting::am
