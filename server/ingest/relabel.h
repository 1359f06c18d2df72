#pragma once

// Relabelling (relabel_configs, metric_relabel_configs, alert_relabel_configs) with
// Prometheus's semantics (model/relabel/relabel.go): every action, regexes fully anchored with
// `.` matching newlines, $1 / ${1} / ${name} / $$ expansion as Go's regexp.Expand does, hashmod
// as MD5 of the joined source values (last 8 bytes, big-endian) modulo `modulus`.
//
//   PHAROS_ASSIGN_OR_RETURN(std::vector<CompiledRelabel> rules, CompileAll(scrape.metric_relabel_configs));
//   LabelsBuilder lb(series);
//   if (!Relabel(rules, lb)) { /* dropped */ }
//   Labels out = lb.Labels();

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/config.h"
#include "storage/labels/labels.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace pharos::ingest {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// "replace", "keep", ... as written in the configuration.
std::string_view RelabelActionName(RelabelAction a);

// A replacement or target-label template split at its $ references (Go regexp.Expand syntax).
struct TemplatePart {
  std::string literal;  // appended as is
  int group = -1;       // then, if >= 0, the text of this capturing group
};

// The compiled form of config::RelabelConfig. Copyable (the regex is shared, immutable).
struct CompiledRelabel {
  RelabelAction action = RelabelAction::kReplace;
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string target_label;
  std::string regex_source = "(.*)";
  std::shared_ptr<const re2::RE2> regex;  // matched with ANCHOR_BOTH, dot_nl
  uint64_t modulus = 0;
  std::string replacement = "$1";

  // Derived at compile time.
  bool default_regex = true;          // regex_source == "(.*)"
  bool target_has_var = false;        // target_label contains '$'
  bool replacement_has_var = false;   // replacement contains '$'
  std::vector<TemplatePart> target_template;
  std::vector<TemplatePart> replacement_template;
};

// Validates as Prometheus's RelabelConfig.Validate does (UTF-8 label-name scheme) and compiles
// the regex. Errors are InvalidArgument with Prometheus's wording, e.g. "relabel configuration
// for hashmod requires non-zero modulus".
[[nodiscard]] absl::StatusOr<CompiledRelabel> Compile(const config::RelabelConfig& cfg);
// Compile for each; the error names the index: "relabel config #2: ...".
[[nodiscard]] absl::StatusOr<std::vector<CompiledRelabel>> CompileAll(
    std::span<const config::RelabelConfig> cfgs);

// Applies the rules in order to `lb`. Returns false as soon as a rule drops the series (lb is
// then in an unspecified state).
bool Relabel(std::span<const CompiledRelabel> rules, LabelsBuilder& lb);

// Convenience: the relabelled set, or nullopt when dropped. (Prometheus's relabel.Process.)
std::optional<Labels> Process(const Labels& labels, std::span<const CompiledRelabel> rules);

// Go's regexp.Expand for a pre-split template: appends to *out.
void ExpandTemplate(std::span<const TemplatePart> tmpl, std::span<const std::string_view> groups,
                    std::string* out);
// Splits a template (exposed for tests). Numbered and named references are resolved against
// `re`; one to a group `re` does not have expands to nothing, as in Go.
std::vector<TemplatePart> ParseTemplate(std::string_view tmpl, const re2::RE2& re);

}  // namespace pharos::ingest
