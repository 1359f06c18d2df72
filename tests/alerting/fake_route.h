#pragma once

// Builds routing trees for tests through the real RouteNode::Build: a root from RouteOpts,
// children added to the config before building.

#include <memory>
#include <string>

#include "alerting/am/config.h"
#include "alerting/am/route.h"
#include <cstdio>
#include <cstdlib>

namespace pharos::alerting::am::testing {

// A config route with these options (all set explicitly, so nothing is inherited).
inline Route MakeRoute(const RouteOpts& opts, Matchers ms = {}, bool cont = false) {
  Route r;
  r.receiver = opts.receiver;
  r.group_by = opts.group_by;
  r.group_by_all = opts.group_by_all;
  r.group_wait_ms = opts.group_wait_ms;
  r.group_interval_ms = opts.group_interval_ms;
  r.repeat_interval_ms = opts.repeat_interval_ms;
  r.mute_time_intervals = opts.mute_time_intervals;
  r.active_time_intervals = opts.active_time_intervals;
  r.matchers = std::move(ms);
  r.continue_ = cont;
  return r;
}

inline std::unique_ptr<RouteNode> Build(const Route& root) {
  auto n = RouteNode::Build(root);
  if (!n.ok()) {
    std::fprintf(stderr, "RouteNode::Build: %s\n", std::string(n.status().message()).c_str());
    std::abort();
  }
  return std::move(*n);
}

}  // namespace pharos::alerting::am::testing
