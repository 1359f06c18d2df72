#pragma once

// File-based service discovery (file_sd_configs): JSON or YAML files holding a list of target
// groups, as Prometheus reads them:
//   [{"targets": ["host:9100", ...], "labels": {"env": "prod"}}, ...]
// Each group gets __meta_filepath. Files are found by glob and re-read when their mtime or size
// changes; a file that fails to read or parse keeps its last good groups.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/logging.h"
#include "server/config/config.h"
#include "server/scrape/target.h"

namespace pharos::scrape {

// Largest target file read. Default 16 MiB.
inline constexpr int64_t kMaxSdFileBytes = 16 << 20;

// Parses a target-group file's contents; `path` decides the syntax (.json, .yml, .yaml) and is
// set as __meta_filepath. Errors name the file.
[[nodiscard]] absl::StatusOr<std::vector<TargetGroup>> ParseTargetGroups(const std::string& path,
                                                                         std::string_view text);
// Reads and parses one file.
[[nodiscard]] absl::StatusOr<std::vector<TargetGroup>> ReadTargetGroupsFile(
    const std::string& path);

// The files of one file_sd_config. Not thread-safe: the owner serialises Refresh calls.
class FileDiscovery {
 public:
  FileDiscovery(config::FileSdConfig cfg, LoggerPtr log);

  // Expands the globs, re-reads new or changed files (mtime, size), forgets vanished ones.
  // Returns true when the groups changed. `read_errors` is incremented per failed file.
  bool Refresh(uint64_t* read_errors);
  // All groups of all files (last good contents), in file-name order.
  std::vector<TargetGroup> Groups() const;
  int64_t refresh_interval_ms() const { return cfg_.refresh_interval_ms; }

 private:
  struct FileState {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::vector<TargetGroup> groups;
  };
  config::FileSdConfig cfg_;
  LoggerPtr log_;
  std::map<std::string, FileState> files_;
};

}  // namespace pharos::scrape
