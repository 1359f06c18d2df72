#pragma once

// Test-only construction of a routing tree by hand (see fake_route.cc).

#include <memory>

#include "alerting/am/route.h"

namespace pharos::alerting::am::testing {

std::unique_ptr<RouteNode> MakeRoute(const RouteOpts& opts, Matchers ms = {}, bool cont = false);
RouteNode* AddChild(RouteNode* parent, std::unique_ptr<RouteNode> child);

}  // namespace pharos::alerting::am::testing
