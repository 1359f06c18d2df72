#pragma once

// The routing tree: Alertmanager's dispatch.Route. Built from Config::route with every option
// inherited down the tree, so a matched node carries its effective settings.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "alerting/am/config.h"
#include "alerting/am/types.h"

namespace pharos::alerting::am {

struct RouteOpts {
  std::string receiver;
  std::vector<std::string> group_by;  // sorted, unique
  bool group_by_all = false;          // group_by: ['...']
  int64_t group_wait_ms = 30 * 1000;
  int64_t group_interval_ms = 5 * 60 * 1000;
  int64_t repeat_interval_ms = 4 * 60 * 60 * 1000;
  std::vector<std::string> mute_time_intervals, active_time_intervals;

  // The labels of `alert` this route groups by.
  LabelSet GroupLabels(const LabelSet& alert) const;
};

class RouteNode {
 public:
  const RouteNode* parent() const { return parent_; }
  const RouteOpts& opts() const { return opts_; }
  const Matchers& matchers() const { return matchers_; }
  bool continue_matching() const { return continue_; }
  const std::vector<std::unique_ptr<RouteNode>>& children() const { return children_; }

  // Alertmanager's Route.Key(): parent key + "/" + matchers ("{}" for the root), e.g.
  // `{}/{severity="critical"}`; with the sibling index appended where Alertmanager does for ID().
  std::string Key() const;
  std::string ID() const;

  // The nodes an alert with `labels` is routed to: depth first, the deepest matching nodes,
  // siblings after a match only when it has `continue: true`; the node itself when no child
  // matches.
  std::vector<const RouteNode*> Match(const LabelSet& labels) const;

  // Builds the tree from a validated config.
  static absl::StatusOr<std::unique_ptr<RouteNode>> Build(const Route& root);

 private:
  friend struct RouteBuilder;
  const RouteNode* parent_ = nullptr;
  RouteOpts opts_;
  Matchers matchers_;
  bool continue_ = false;
  int index_ = 0;  // position among siblings
  std::vector<std::unique_ptr<RouteNode>> children_;
};

// Whether all matchers match `labels` (absent labels match as "").
bool MatchesAll(const Matchers& ms, const LabelSet& labels);

}  // namespace pharos::alerting::am
