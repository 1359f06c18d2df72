#pragma once

// The composition root's engine: owns logging, the metrics registry, the config, the HTTP
// server and (as they land) storage, query and alerting, and wires them together. main.cc only
// parses the command line and calls RunServer.

#include "server/flags.h"

namespace pharos {

// Runs the server until SIGTERM/SIGINT or /-/quit; returns the process exit code.
int RunServer(const Flags& flags);

// `pharos check config FILE...`: validates each file; prints one line per file; exit code.
int CheckConfigCommand(const std::vector<std::string>& files);

// `pharos check rules FILE...`: validates rule files as `promtool check rules` does
// ("SUCCESS: N rules found", or "FAILED:" and file:line:col errors; exit code 1).
int CheckRulesCommand(const std::vector<std::string>& files);
// `pharos check alertmanager-config FILE...`: the built-in router's config format.
int CheckAlertmanagerConfigCommand(const std::vector<std::string>& files);

}  // namespace pharos
