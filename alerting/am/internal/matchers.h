#pragma once

// Helpers shared by the router's parts for Alertmanager's labels.Matchers.

#include <string>

#include "alerting/am/config.h"

namespace pharos::alerting::am::internal {

// Alertmanager's labels.Matchers order: by name, then value, then type.
void SortMatchers(Matchers* ms);
// Alertmanager's labels.Matchers.String(): `{a="b",c=~"d"}`.
std::string MatchersString(const Matchers& ms);
// Go's %q for a string, as Alertmanager's error messages print names and values.
std::string GoQuote(std::string_view s);

}  // namespace pharos::alerting::am::internal
