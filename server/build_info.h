#pragma once

// What this binary is: baked in at configure time (pharos_build_info, /api/v1/status/buildinfo,
// --version).

namespace pharos {

struct BuildInfo {
  const char* version;     // Pharos's own version, e.g. "0.1.0"
  const char* revision;    // git commit
  const char* branch;
  const char* build_date;  // UTC, RFC 3339 date-time
  const char* compiler;
};

const BuildInfo& GetBuildInfo();

// The Prometheus HTTP API version whose behaviour Pharos follows; reported as `version` in
// /api/v1/status/buildinfo because Grafana gates features on it.
inline constexpr const char kPrometheusCompatVersion[] = "3.0.0";
// The Alertmanager version whose API v2 Pharos's built-in router implements (what
// /api/v2/status reports, so amtool and Grafana pick the right features).
inline constexpr const char kAlertmanagerCompatVersion[] = "0.25.0";

}  // namespace pharos
