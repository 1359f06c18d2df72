#pragma once

// Prometheus rule files (model/rulefmt): `groups` of recording and alerting rules.
//
//   groups:
//     - name: node            # required, unique in the file
//       interval: 30s         # default: global.evaluation_interval
//       limit: 10             # alerts / series per rule; 0: no limit
//       query_offset: 1m      # evaluate `expr` this far in the past (Prometheus 3.x)
//       labels: {team: ops}   # added to every rule of the group (Prometheus 3.x)
//       rules:
//         - record: job:up:sum
//           expr: sum by (job) (up)
//         - alert: HostDown
//           expr: up == 0
//           for: 1m
//           keep_firing_for: 5m
//           labels: {severity: critical}
//           annotations: {summary: "{{ $labels.instance }} is down"}
//
// Parsing is strict like Prometheus (unknown fields are errors) and validation follows
// rulefmt: every error names the file, line and column, e.g.
//   rules.yml:5:15: group "node", rule 1, "job:up:sum": could not parse expression: 1:6: ...
// Only the first YAML document of a file is read (as Prometheus does).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos::alerting::rules {

struct RuleSpec {
  std::string record;  // exactly one of record / alert is set
  std::string alert;
  std::string expr;
  int64_t for_ms = 0;              // alerting rules only
  int64_t keep_firing_for_ms = 0;  // alerting rules only
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;  // alerting rules only

  bool is_alert() const { return !alert.empty(); }
  const std::string& name() const { return is_alert() ? alert : record; }
  friend bool operator==(const RuleSpec&, const RuleSpec&) = default;
};

struct GroupSpec {
  std::string name;
  int64_t interval_ms = 0;          // 0: the global evaluation interval
  int64_t query_offset_ms = 0;      // default 0
  uint64_t limit = 0;               // 0: no limit
  std::map<std::string, std::string> labels;
  std::vector<RuleSpec> rules;

  friend bool operator==(const GroupSpec&, const GroupSpec&) = default;
};

struct RuleFile {
  std::string source;  // the file name as loaded (the API's `file`)
  std::vector<GroupSpec> groups;

  size_t NumRules() const;
};

struct ParseOptions {
  // Legacy (pre-3.0) name validation: label, annotation and record names must match
  // [a-zA-Z_][a-zA-Z0-9_]* ([a-zA-Z_:][a-zA-Z0-9_:]* for record names). Default: false
  // (Prometheus 3.x: any non-empty UTF-8 name).
  bool legacy_names = false;
};

// Parses and validates a rule file's text. All validation errors are reported, one per line.
[[nodiscard]] absl::StatusOr<RuleFile> ParseRuleFile(std::string_view text,
                                                     std::string_view source,
                                                     const ParseOptions& options = {});
// Reads and parses a file; `source` is the path.
[[nodiscard]] absl::StatusOr<RuleFile> LoadRuleFile(const std::string& path,
                                                    const ParseOptions& options = {});

// Expands `rule_files` globs (wildcards in the last path element only), relative paths taken
// relative to `base_dir` (the config file's directory; "" = the working directory). A glob
// that matches nothing is not an error (as Prometheus). Result sorted within each glob, with
// duplicates removed.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ExpandRuleFileGlobs(
    const std::vector<std::string>& globs, const std::string& base_dir);

// ExpandRuleFileGlobs + LoadRuleFile for each; the first file with errors fails the lot.
[[nodiscard]] absl::StatusOr<std::vector<RuleFile>> LoadRuleFiles(
    const std::vector<std::string>& globs, const std::string& base_dir,
    const ParseOptions& options = {});

}  // namespace pharos::alerting::rules
