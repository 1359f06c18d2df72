#pragma once

// The default rules shipped in deploy/rules/*.yml, embedded into the binary at build time
// (server/CMakeLists.txt) like the default config. Pharos loads them when it runs with the
// embedded default config (no --config.file); with a config file, list the rule files under
// `rule_files` instead (the container and systemd deploys install them as files).

#include <string_view>
#include <utility>
#include <vector>

namespace pharos::config {

// (name, YAML text) per file, sorted by name; names are "embedded:rules/<file>.yml".
const std::vector<std::pair<std::string_view, std::string_view>>& DefaultRuleFiles();

}  // namespace pharos::config
