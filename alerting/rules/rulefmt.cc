#include "alerting/rules/rulefmt.h"

#include <glob.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "alerting/template/template.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/yaml_decoder.h"
#include "query/parser/parser.h"
#include "storage/labels/labels.h"
#include "yaml-cpp/yaml.h"

namespace pharos::alerting::rules {

size_t RuleFile::NumRules() const {
  size_t n = 0;
  for (const auto& g : groups) n += g.rules.size();
  return n;
}

namespace {

// "line:col" of a node (1-based), or "" when yaml-cpp has no mark.
std::string Pos(const YAML::Node& n) {
  if (!n.IsDefined()) return "";
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return "";
  return absl::StrCat(m.line + 1, ":", m.column + 1);
}

// Errors collected over the whole file, each "source:line:col: message".
class Errors {
 public:
  explicit Errors(std::string_view source) : source_(source) {}
  void Add(const std::string& pos, std::string_view msg) {
    if (pos.empty()) {
      errs_.push_back(absl::StrCat(source_, ": ", Av(msg)));
    } else {
      errs_.push_back(absl::StrCat(source_, ":", pos, ": ", Av(msg)));
    }
  }
  void Add(const YAML::Node& n, std::string_view msg) { Add(Pos(n), msg); }
  bool empty() const { return errs_.empty(); }
  absl::Status ToStatus() const {
    return absl::InvalidArgumentError(absl::StrJoin(errs_, "\n"));
  }

 private:
  std::string source_;
  std::vector<std::string> errs_;
};

// One (key, value) of a mapping after resolving YAML merge keys (<<), which yaml-cpp leaves
// as plain keys: explicit keys win over merged ones, earlier merges over later ones (YAML 1.1
// merge semantics, as Go's yaml.v3 applies them).
struct Field {
  YAML::Node key;
  YAML::Node value;
  std::string name;
};

absl::Status CollectFields(const yaml::Decoder& d, const YAML::Node& n, std::string_view type,
                           std::vector<Field>* out, int depth = 0) {
  if (depth > 16) return d.Err(n, "merge keys nested too deeply");
  if (!n.IsMap()) {
    return d.Err(n, absl::StrCat("cannot unmarshal ", n.IsSequence() ? "!!seq" : "!!str",
                                 " into ", Av(type)));
  }
  std::set<std::string> explicit_keys;
  std::vector<YAML::Node> merges;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) return d.Err(it->first, absl::StrCat("bad key in ", Av(type)));
    const std::string& k = it->first.Scalar();
    if (k == "<<" && it->first.Tag() != "!") {
      merges.push_back(YAML::Node(it->second));
      continue;
    }
    if (!explicit_keys.insert(k).second) {
      return d.Err(it->first, absl::StrCat("mapping key \"", k, "\" already defined"));
    }
    out->push_back({YAML::Node(it->first), YAML::Node(it->second), k});
  }
  std::set<std::string> have = explicit_keys;
  auto merge_one = [&](const YAML::Node& m) -> absl::Status {
    if (!m.IsMap()) return d.Err(m, "map merge requires map or sequence of maps as the value");
    std::vector<Field> sub;
    PHAROS_RETURN_IF_ERROR(CollectFields(d, m, type, &sub, depth + 1));
    for (auto& f : sub) {
      if (have.insert(f.name).second) out->push_back(std::move(f));
    }
    return absl::OkStatus();
  };
  for (const YAML::Node& m : merges) {
    if (m.IsSequence()) {
      for (const auto& item : m) PHAROS_RETURN_IF_ERROR(merge_one(item));
    } else {
      PHAROS_RETURN_IF_ERROR(merge_one(m));
    }
  }
  return absl::OkStatus();
}

using FieldFn = std::function<absl::Status(const YAML::Node&)>;

// Decodes mapping `n` of Go type `type` (named in errors as Prometheus's decoder names it:
// "field foo not found in type rulefmt.Rule").
absl::Status DecodeMap(const yaml::Decoder& d, const YAML::Node& n, std::string_view type,
                       const std::map<std::string, FieldFn, std::less<>>& fields) {
  if (!n || n.IsNull()) return absl::OkStatus();
  std::vector<Field> fs;
  PHAROS_RETURN_IF_ERROR(CollectFields(d, n, type, &fs));
  for (const Field& f : fs) {
    auto it = fields.find(f.name);
    if (it == fields.end()) {
      return d.Err(f.key, absl::StrCat("field ", f.name, " not found in type ", Av(type)));
    }
    PHAROS_RETURN_IF_ERROR(it->second(f.value));
  }
  return absl::OkStatus();
}

bool ValidLabelName(std::string_view name, bool legacy) {
  if (name.empty()) return false;
  return legacy ? IsValidLegacyLabelName(name) : IsValidUtf8(name);
}

bool ValidMetricName(std::string_view name, bool legacy) {
  if (name.empty()) return false;
  return legacy ? IsValidLegacyMetricName(name) : IsValidUtf8(name);
}

// rulefmt's testTemplateParsing: the text must parse with the variables and functions
// Prometheus defines.
absl::Status ParseTemplate(const std::string& alert, const std::string& text) {
  return tmpl::ParseRuleTemplate(absl::StrCat("__alert_", alert), text);
}

class FileParser {
 public:
  FileParser(std::string_view source, const ParseOptions& opts)
      : d_(Av(source)), errs_(source), opts_(opts) {}

  absl::StatusOr<RuleFile> Parse(std::string_view text) {
    RuleFile file;
    file.source = d_.source();
    absl::Status s = yaml::LoadAndDecode(d_, std::string(text), [&](const YAML::Node& root) {
      return DecodeRoot(root, &file);
    });
    if (!s.ok()) return s;  // structural (decode) errors stop at the first, like yaml.v3
    Validate(file);
    if (!errs_.empty()) return errs_.ToStatus();
    return file;
  }

 private:
  struct GroupNodes {
    YAML::Node node;
    struct RuleNodes {
      YAML::Node node, record, alert, expr, labels, annotations;
    };
    std::vector<RuleNodes> rules;
    YAML::Node labels;
  };

  absl::Status DecodeRoot(const YAML::Node& root, RuleFile* file) {
    if (!root || root.IsNull()) return absl::OkStatus();  // empty file: no groups
    return DecodeMap(d_, root, "rulefmt.RuleGroups", {
        {"groups", [&](const YAML::Node& v) -> absl::Status {
           if (v.IsNull()) return absl::OkStatus();
           if (!v.IsSequence()) return d_.Err(v, "cannot unmarshal into []rulefmt.RuleGroup");
           for (const auto& item : v) {
             GroupSpec g;
             GroupNodes gn;
             gn.node = YAML::Node(item);
             PHAROS_RETURN_IF_ERROR(DecodeGroup(item, &g, &gn));
             file->groups.push_back(std::move(g));
             nodes_.push_back(std::move(gn));
           }
           return absl::OkStatus();
         }},
    });
  }

  absl::Status DecodeGroup(const YAML::Node& n, GroupSpec* g, GroupNodes* gn) {
    if (n.IsNull()) return absl::OkStatus();
    return DecodeMap(d_, n, "rulefmt.RuleGroup", {
        {"name", [&](const YAML::Node& v) { return d_.Scalar(v, "name", &g->name); }},
        {"interval", [&](const YAML::Node& v) { return d_.Duration(v, "interval", &g->interval_ms); }},
        {"query_offset", [&](const YAML::Node& v) {
           return d_.Duration(v, "query_offset", &g->query_offset_ms);
         }},
        {"limit", [&](const YAML::Node& v) { return d_.Uint(v, "limit", &g->limit); }},
        {"labels", [&](const YAML::Node& v) {
           gn->labels = v;
           return d_.StringMap(v, "labels", &g->labels);
         }},
        {"rules", [&](const YAML::Node& v) -> absl::Status {
           if (v.IsNull()) return absl::OkStatus();
           if (!v.IsSequence()) return d_.Err(v, "cannot unmarshal into []rulefmt.Rule");
           for (const auto& item : v) {
             RuleSpec r;
             GroupNodes::RuleNodes rn;
             rn.node = YAML::Node(item);
             PHAROS_RETURN_IF_ERROR(DecodeRule(item, &r, &rn));
             g->rules.push_back(std::move(r));
             gn->rules.push_back(std::move(rn));
           }
           return absl::OkStatus();
         }},
    });
  }

  absl::Status DecodeRule(const YAML::Node& n, RuleSpec* r, GroupNodes::RuleNodes* rn) {
    if (n.IsNull()) return absl::OkStatus();
    return DecodeMap(d_, n, "rulefmt.Rule", {
        {"record", [&](const YAML::Node& v) {
           rn->record = v;
           return d_.Scalar(v, "record", &r->record);
         }},
        {"alert", [&](const YAML::Node& v) {
           rn->alert = v;
           return d_.Scalar(v, "alert", &r->alert);
         }},
        {"expr", [&](const YAML::Node& v) {
           rn->expr = v;
           return d_.Scalar(v, "expr", &r->expr);
         }},
        {"for", [&](const YAML::Node& v) { return d_.Duration(v, "for", &r->for_ms); }},
        {"keep_firing_for", [&](const YAML::Node& v) {
           return d_.Duration(v, "keep_firing_for", &r->keep_firing_for_ms);
         }},
        {"labels", [&](const YAML::Node& v) {
           rn->labels = v;
           return d_.StringMap(v, "labels", &r->labels);
         }},
        {"annotations", [&](const YAML::Node& v) {
           rn->annotations = v;
           return d_.StringMap(v, "annotations", &r->annotations);
         }},
    });
  }

  // The position of key `name` in mapping `m` (or of `m` itself).
  static YAML::Node KeyNode(const YAML::Node& m, const std::string& name) {
    if (m.IsDefined() && m.IsMap()) {
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == name) return it->first;
      }
    }
    return m;
  }

  void ValidateLabels(const std::map<std::string, std::string>& labels, const YAML::Node& node,
                      const std::function<void(const YAML::Node&, std::string)>& add) {
    for (const auto& [k, v] : labels) {
      if (!ValidLabelName(k, opts_.legacy_names) || k == kMetricName) {
        add(KeyNode(node, k), absl::StrCat("invalid label name: ", k));
      }
      if (!IsValidUtf8(v)) add(KeyNode(node, k), absl::StrCat("invalid label value: ", v));
    }
  }

  void Validate(const RuleFile& file) {
    std::set<std::string> names;
    for (size_t j = 0; j < file.groups.size(); ++j) {
      const GroupSpec& g = file.groups[j];
      const GroupNodes& gn = nodes_[j];
      if (g.name.empty()) errs_.Add(gn.node, "Groupname must not be empty");
      if (!names.insert(g.name).second) {
        errs_.Add(gn.node, absl::StrCat("groupname: \"", g.name, "\" is repeated in the same file"));
      }
      ValidateLabels(g.labels, gn.labels,
                     [&](const YAML::Node& n, std::string msg) { errs_.Add(n, msg); });
      for (size_t i = 0; i < g.rules.size(); ++i) {
        ValidateRule(g, i, gn.rules[i]);
      }
    }
  }

  void ValidateRule(const GroupSpec& g, size_t i, const GroupNodes::RuleNodes& rn) {
    const RuleSpec& r = g.rules[i];
    const std::string prefix =
        absl::StrCat("group \"", g.name, "\", rule ", i + 1, ", \"", r.name(), "\": ");
    auto add = [&](const YAML::Node& n, std::string_view msg) {
      errs_.Add(n.IsDefined() ? n : rn.node, absl::StrCat(prefix, Av(msg)));
    };
    if (!r.record.empty() && !r.alert.empty()) add(rn.record, "only one of 'record' and 'alert' must be set");
    if (r.record.empty() && r.alert.empty()) add(rn.node, "one of 'record' or 'alert' must be set");
    if (r.expr.empty()) {
      add(rn.node, "field 'expr' must be set in rule");
    } else if (auto e = promql::ParseExpr(r.expr); !e.ok()) {
      add(rn.expr, absl::StrCat("could not parse expression: ", e.status().message()));
    }
    if (!r.record.empty()) {
      if (!r.annotations.empty()) add(rn.record, "invalid field 'annotations' in recording rule");
      if (r.for_ms != 0) add(rn.record, "invalid field 'for' in recording rule");
      if (r.keep_firing_for_ms != 0) add(rn.record, "invalid field 'keep_firing_for' in recording rule");
      if (!ValidMetricName(r.record, opts_.legacy_names)) {
        add(rn.record, absl::StrCat("invalid recording rule name: ", r.record));
      }
      if (r.record.find_first_of("{}") != std::string::npos) {
        add(rn.record, absl::StrCat(
                           "braces present in the recording rule name; should it be in expr?: ",
                           r.record));
      }
    }
    ValidateLabels(r.labels, rn.labels, [&](const YAML::Node& n, std::string msg) { add(n, msg); });
    for (const auto& [k, v] : r.annotations) {
      if (!ValidLabelName(k, opts_.legacy_names)) {
        add(KeyNode(rn.annotations, k), absl::StrCat("invalid annotation name: ", k));
      }
    }
    if (!r.alert.empty()) {
      for (const auto& [k, v] : r.labels) {
        if (absl::Status s = ParseTemplate(r.alert, v); !s.ok()) {
          add(KeyNode(rn.labels, k), absl::StrCat("label \"", k, "\": ", s.message()));
        }
      }
      for (const auto& [k, v] : r.annotations) {
        if (absl::Status s = ParseTemplate(r.alert, v); !s.ok()) {
          add(KeyNode(rn.annotations, k), absl::StrCat("annotation \"", k, "\": ", s.message()));
        }
      }
    }
  }

  yaml::Decoder d_;
  Errors errs_;
  ParseOptions opts_;
  std::vector<GroupNodes> nodes_;
};

}  // namespace

absl::StatusOr<RuleFile> ParseRuleFile(std::string_view text, std::string_view source,
                                       const ParseOptions& options) {
  FileParser p(source, options);
  return p.Parse(text);
}

absl::StatusOr<RuleFile> LoadRuleFile(const std::string& path, const ParseOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open rule file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read error"));
  return ParseRuleFile(ss.str(), path, options);
}

absl::StatusOr<std::vector<std::string>> ExpandRuleFileGlobs(
    const std::vector<std::string>& globs, const std::string& base_dir) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& pattern : globs) {
    std::string p = pattern;
    if (!p.empty() && p[0] != '/' && !base_dir.empty()) p = absl::StrCat(base_dir, "/", p);
    glob_t g{};
    int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOSPACE || rc == GLOB_ABORTED) {
      globfree(&g);
      return absl::InternalError(absl::StrCat("cannot expand rule file glob \"", p, "\""));
    }
    std::vector<std::string> matched;
    for (size_t i = 0; i < g.gl_pathc; ++i) matched.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    std::sort(matched.begin(), matched.end());
    for (auto& m : matched) {
      if (seen.insert(m).second) out.push_back(std::move(m));
    }
  }
  return out;
}

absl::StatusOr<std::vector<RuleFile>> LoadRuleFiles(const std::vector<std::string>& globs,
                                                    const std::string& base_dir,
                                                    const ParseOptions& options) {
  PHAROS_ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandRuleFileGlobs(globs, base_dir));
  std::vector<RuleFile> out;
  for (const auto& f : files) {
    PHAROS_ASSIGN_OR_RETURN(RuleFile rf, LoadRuleFile(f, options));
    out.push_back(std::move(rf));
  }
  return out;
}

}  // namespace pharos::alerting::rules
