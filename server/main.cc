// pharos: metrics, alerting and monitoring server.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/app.h"
#include "server/build_info.h"
#include "server/flags.h"

int main(int argc, char** argv) {
  // Abseil's mutex deadlock detection costs a graph update on every lock; tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "check" && args[1] == "config") {
    return pharos::CheckConfigCommand({args.begin() + 2, args.end()});
  }
  if (args.size() >= 2 && args[0] == "check" && args[1] == "alertmanager-config") {
    return pharos::CheckAlertmanagerConfigCommand({args.begin() + 2, args.end()});
  }
  if (args.size() >= 2 && args[0] == "check" && args[1] == "rules") {
    return pharos::CheckRulesCommand({args.begin() + 2, args.end()});
  }
  auto flags = pharos::ParseFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "pharos: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->show_help) {
    std::fputs(pharos::FlagsHelp().c_str(), stdout);
    return 0;
  }
  if (flags->show_version) {
    const auto& b = pharos::GetBuildInfo();
    std::printf("pharos, version %s (branch: %s, revision: %s)\n  build date: %s\n  compiler: %s\n",
                b.version, b.branch, b.revision, b.build_date, b.compiler);
    return 0;
  }
  return pharos::RunServer(*flags);
}
