#pragma once

// Scrape targets: how a scrape config plus a discovered target group becomes the label set and
// URL of a target, as Prometheus's scrape.PopulateLabels does.
//
//   PHAROS_ASSIGN_OR_RETURN(std::shared_ptr<const JobSpec> job, CompileJob(scrape_config));
//   for (const TargetGroup& g : groups)
//     for (const Labels& t : g.targets) {
//       absl::StatusOr<PopulatedTarget> pt = PopulateTarget(*job, g.labels, t);
//       ...  // pt->dropped: kept for /api/v1/targets as a dropped target
//     }

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/config.h"
#include "server/ingest/relabel.h"
#include "storage/labels/labels.h"

namespace pharos::scrape {

namespace internal {
struct TlsClient;
}

// One target group as discovered (static_configs entry or one group of a file_sd file).
struct TargetGroup {
  std::vector<Labels> targets;  // each at least {__address__}
  Labels labels;                // group labels (static labels, __meta_filepath, ...)
  std::string source;           // "static/0", "<file path>:3", for messages
};

// A scrape config, validated and compiled (relabel rules). Immutable and shared by the pool's
// loops.
struct JobSpec {
  config::ScrapeConfig cfg;
  std::vector<ingest::CompiledRelabel> relabel;
  std::vector<ingest::CompiledRelabel> metric_relabel;
  std::shared_ptr<const internal::TlsClient> tls;  // tls_config loaded (CA, client cert)
};

// Validates what the config loader leaves to the scraper, compiles the relabel rules and loads
// the TLS files.
// Errors name the job: `job "node": relabel_configs: relabel config #0: ...`.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const JobSpec>> CompileJob(
    const config::ScrapeConfig& cfg);

// The static_configs of a job as target groups.
std::vector<TargetGroup> StaticGroups(const config::ScrapeConfig& cfg);

struct PopulatedTarget {
  bool dropped = false;     // relabelling dropped it
  Labels discovered;        // group + target + scrape labels before relabelling
  Labels labels;            // final labels ('__' labels removed, instance set); empty if dropped
  std::string url;          // scheme://address/path?params (from labels after relabelling)
  int64_t interval_ms = 0;  // from __scrape_interval__ after relabelling
  int64_t timeout_ms = 0;   // from __scrape_timeout__ after relabelling
  // Hash of the final labels and URL: the target's identity across reloads and SD updates.
  uint64_t hash = 0;
};

// Builds a target as Prometheus does: the group labels, then the target's own labels, then
// job, __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__ and
// __param_<name> where not already set; relabel_configs; '__'-prefixed labels removed;
// instance defaults to __address__. Errors (no address, bad interval, ...) are per target.
[[nodiscard]] absl::StatusOr<PopulatedTarget> PopulateTarget(const JobSpec& job,
                                                             const Labels& group_labels,
                                                             const Labels& target_labels);

// A URL's query string for `params` (keys sorted, values in order, form-encoded).
std::string EncodeQuery(const std::map<std::string, std::vector<std::string>>& params);

}  // namespace pharos::scrape
