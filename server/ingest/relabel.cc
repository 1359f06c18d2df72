#include "server/ingest/relabel.h"

#include <locale.h>
#include <re2/re2.h>
#include <wctype.h>

#include <array>
#include <charconv>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "server/ingest/internal/md5.h"

namespace pharos::ingest {
namespace {

struct ActionName {
  std::string_view name;
  RelabelAction action;
};
constexpr ActionName kActions[] = {
    {"replace", RelabelAction::kReplace},     {"keep", RelabelAction::kKeep},
    {"drop", RelabelAction::kDrop},           {"keepequal", RelabelAction::kKeepEqual},
    {"dropequal", RelabelAction::kDropEqual}, {"hashmod", RelabelAction::kHashMod},
    {"labelmap", RelabelAction::kLabelMap},   {"labeldrop", RelabelAction::kLabelDrop},
    {"labelkeep", RelabelAction::kLabelKeep}, {"lowercase", RelabelAction::kLowercase},
    {"uppercase", RelabelAction::kUppercase},
};

constexpr std::string_view kDefaultRegex = "(.*)";
constexpr std::string_view kDefaultReplacement = "$1";
constexpr std::string_view kDefaultSeparator = ";";

bool IsNameByte(unsigned char c) {
  // Go's extract takes unicode letters, digits and '_'; non-ASCII bytes are taken as letters.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c >= 0x80;
}

// A valid label name in the UTF-8 scheme (Prometheus 3): non-empty, valid UTF-8.
bool IsValidLabelName(std::string_view s) { return !s.empty() && IsValidUtf8(s); }

constexpr size_t kMaxInlineGroups = 16;

}  // namespace

std::string_view RelabelActionName(RelabelAction a) {
  for (const ActionName& n : kActions) {
    if (n.action == a) return n.name;
  }
  return "unknown";
}

std::vector<TemplatePart> ParseTemplate(std::string_view tmpl, const re2::RE2& re) {
  std::vector<TemplatePart> parts;
  TemplatePart cur;
  const std::map<std::string, int>& named = re.NamedCapturingGroups();
  const int ngroups = re.NumberOfCapturingGroups();
  while (!tmpl.empty()) {
    size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    cur.literal.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {  // $$ is a literal $
      cur.literal.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // extract(): $name or ${name}.
    std::string_view s = tmpl;
    bool brace = false;
    if (!s.empty() && s[0] == '{') {
      brace = true;
      s.remove_prefix(1);
    }
    size_t i = 0;
    while (i < s.size() && IsNameByte(static_cast<unsigned char>(s[i]))) ++i;
    bool ok = i > 0;
    if (ok && brace) ok = i < s.size() && s[i] == '}';
    if (!ok) {  // malformed: the $ is literal text
      cur.literal.push_back('$');
      continue;
    }
    std::string_view name = s.substr(0, i);
    tmpl = s.substr(i + (brace ? 1 : 0));
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;  // no leading zeros
    int group = -1;
    if (num >= 0) {
      if (num <= ngroups) group = num;
    } else if (auto it = named.find(std::string(name)); it != named.end()) {
      group = it->second;
    }
    if (group < 0) continue;  // unknown reference: expands to nothing
    cur.group = group;
    parts.push_back(std::move(cur));
    cur = TemplatePart();
  }
  cur.literal.append(tmpl);
  if (!cur.literal.empty() || parts.empty()) parts.push_back(std::move(cur));
  return parts;
}

void ExpandTemplate(std::span<const TemplatePart> tmpl, std::span<const std::string_view> groups,
                    std::string* out) {
  for (const TemplatePart& p : tmpl) {
    out->append(p.literal);
    if (p.group >= 0 && static_cast<size_t>(p.group) < groups.size()) {
      out->append(groups[p.group]);
    }
  }
}

absl::StatusOr<CompiledRelabel> Compile(const config::RelabelConfig& cfg) {
  CompiledRelabel c;
  bool found = false;
  std::string action = cfg.action;
  for (char& ch : action) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  if (action.empty()) return absl::InvalidArgumentError("relabel action cannot be empty");
  for (const ActionName& n : kActions) {
    if (n.name == action) {
      c.action = n.action;
      found = true;
    }
  }
  if (!found) {
    return absl::InvalidArgumentError(absl::StrCat("unknown relabel action \"", cfg.action, "\""));
  }
  c.source_labels = cfg.source_labels;
  c.separator = cfg.separator;
  c.target_label = cfg.target_label;
  c.regex_source = cfg.regex;
  c.modulus = cfg.modulus;
  c.replacement = cfg.replacement;

  using A = RelabelAction;
  const A a = c.action;
  if (a == A::kHashMod && c.modulus == 0) {
    return absl::InvalidArgumentError("relabel configuration for hashmod requires non-zero modulus");
  }
  if ((a == A::kReplace || a == A::kHashMod || a == A::kLowercase || a == A::kUppercase ||
       a == A::kKeepEqual || a == A::kDropEqual) &&
      c.target_label.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("relabel configuration for ", action,
                                                   " action requires 'target_label' value"));
  }
  c.target_has_var = c.target_label.find('$') != std::string::npos;
  c.replacement_has_var = c.replacement.find('$') != std::string::npos;
  if ((a == A::kReplace && !c.target_has_var && !IsValidLabelName(c.target_label)) ||
      ((a == A::kLowercase || a == A::kUppercase || a == A::kHashMod || a == A::kKeepEqual ||
        a == A::kDropEqual) &&
       !IsValidLabelName(c.target_label))) {
    std::string q;
    AppendQuoted(q, c.target_label);
    return absl::InvalidArgumentError(
        absl::StrCat(q, " is invalid 'target_label' for ", action, " action"));
  }
  if ((a == A::kLowercase || a == A::kUppercase) && c.replacement != kDefaultReplacement) {
    return absl::InvalidArgumentError(
        absl::StrCat("'replacement' can not be set for ", action, " action"));
  }
  if (a == A::kLabelMap && !c.replacement_has_var && !IsValidLabelName(c.replacement)) {
    std::string q;
    AppendQuoted(q, c.replacement);
    return absl::InvalidArgumentError(
        absl::StrCat(q, " is invalid 'replacement' for ", action, " action"));
  }
  if ((a == A::kLabelDrop || a == A::kLabelKeep) &&
      (!c.source_labels.empty() || !c.target_label.empty() || c.modulus != 0 ||
       c.separator != kDefaultSeparator || c.replacement != kDefaultReplacement)) {
    return absl::InvalidArgumentError(
        absl::StrCat(action, " action requires only 'regex', and no other fields"));
  }
  if ((a == A::kKeepEqual || a == A::kDropEqual) &&
      (c.regex_source != kDefaultRegex || c.modulus != 0 || c.separator != kDefaultSeparator ||
       c.replacement != kDefaultReplacement)) {
    return absl::InvalidArgumentError(absl::StrCat(
        action, " action requires only 'source_labels' and `target_label`, and no other fields"));
  }

  // As Prometheus's relabel.NewRegexp: "^(?s:" + regex + ")$".
  RE2::Options opts;
  opts.set_encoding(RE2::Options::EncodingUTF8);
  opts.set_log_errors(false);
  auto re = std::make_shared<RE2>(absl::StrCat("^(?s:", cfg.regex, ")$"), opts);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression \"", cfg.regex, "\": ", re->error()));
  }
  c.default_regex = c.regex_source == kDefaultRegex;
  c.target_template = ParseTemplate(c.target_label, *re);
  c.replacement_template = ParseTemplate(c.replacement, *re);
  c.regex = std::move(re);
  return c;
}

absl::StatusOr<std::vector<CompiledRelabel>> CompileAll(
    std::span<const config::RelabelConfig> cfgs) {
  std::vector<CompiledRelabel> out;
  out.reserve(cfgs.size());
  for (size_t i = 0; i < cfgs.size(); ++i) {
    absl::StatusOr<CompiledRelabel> c = Compile(cfgs[i]);
    if (!c.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("relabel config #", i + 1, ": ", c.status().message()));
    }
    out.push_back(*std::move(c));
  }
  return out;
}

namespace {

bool FullMatch(const re2::RE2& re, std::string_view s) {
  return re.Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::UNANCHORED, nullptr, 0);
}

// Match with submatches; `groups` must have NumberOfCapturingGroups() + 1 entries.
bool MatchGroups(const re2::RE2& re, std::string_view s, std::span<std::string_view> groups) {
  std::array<re2::StringPiece, kMaxInlineGroups> inline_sp;
  std::vector<re2::StringPiece> heap_sp;
  re2::StringPiece* sp = inline_sp.data();
  if (groups.size() > inline_sp.size()) {
    heap_sp.resize(groups.size());
    sp = heap_sp.data();
  }
  if (!re.Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::UNANCHORED, sp,
                static_cast<int>(groups.size()))) {
    return false;
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i] = sp[i].data() ? std::string_view(sp[i].data(), sp[i].size()) : std::string_view();
  }
  return true;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* out) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  if (n == 0 || c >= 0xf8 || i + n > s.size()) return 0;
  char32_t r = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    r = (r << 6) | (b(k) & 0x3f);
  }
  if ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && r < 0x10000) || r > 0x10ffff ||
      (r >= 0xd800 && r <= 0xdfff)) {
    return 0;
  }
  *out = r;
  return n;
}

void EncodeUtf8(char32_t r, std::string* out) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3f)));
  }
}

// glibc's C.UTF-8 locale carries Unicode's simple case mappings, which are what Go's
// strings.ToLower/ToUpper apply. Null when the locale is missing (then only ASCII is mapped).
locale_t Utf8Locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

// strings.ToLower / strings.ToUpper: ASCII fast path; otherwise per code point (invalid bytes
// become U+FFFD, as strings.Map does).
void ChangeCase(std::string& s, bool upper) {
  bool ascii = true;
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
    } else if (upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (!upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  locale_t loc = Utf8Locale();
  if (ascii || loc == static_cast<locale_t>(0)) return;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t r;
    size_t n = DecodeUtf8(s, i, &r);
    if (n == 0) {
      if (static_cast<unsigned char>(s[i]) < 0x80) {
        out.push_back(s[i]);
      } else {
        EncodeUtf8(0xfffd, &out);
      }
      ++i;
      continue;
    }
    wint_t m = upper ? towupper_l(static_cast<wint_t>(r), loc) : towlower_l(static_cast<wint_t>(r), loc);
    EncodeUtf8(static_cast<char32_t>(m), &out);
    i += n;
  }
  s = std::move(out);
}

bool RelabelOne(const CompiledRelabel& c, LabelsBuilder& lb) {
  using A = RelabelAction;
  std::string val;
  for (size_t i = 0; i < c.source_labels.size(); ++i) {
    if (i > 0) val.append(c.separator);
    std::string_view v = lb.Get(c.source_labels[i]);
    val.append(v.data(), v.size());
  }
  const re2::RE2& re = *c.regex;
  switch (c.action) {
    case A::kDrop:
      if (FullMatch(re, val)) return false;
      break;
    case A::kKeep:
      if (!FullMatch(re, val)) return false;
      break;
    case A::kDropEqual:
      if (lb.Get(c.target_label) == val) return false;
      break;
    case A::kKeepEqual:
      if (lb.Get(c.target_label) != val) return false;
      break;
    case A::kReplace: {
      // Fast path to add or delete a label pair.
      if (val.empty() && c.default_regex && !c.target_has_var && !c.replacement_has_var) {
        lb.Set(c.target_label, c.replacement);
        break;
      }
      std::array<std::string_view, kMaxInlineGroups> inline_groups;
      std::vector<std::string_view> heap_groups;
      size_t n = static_cast<size_t>(re.NumberOfCapturingGroups()) + 1;
      std::span<std::string_view> groups;
      if (n <= inline_groups.size()) {
        groups = std::span<std::string_view>(inline_groups.data(), n);
      } else {
        heap_groups.resize(n);
        groups = heap_groups;
      }
      if (!MatchGroups(re, val, groups)) break;
      std::string target;
      if (c.target_has_var) {
        ExpandTemplate(c.target_template, groups, &target);
        if (!IsValidLabelName(target)) break;
      } else {
        target = c.target_label;
      }
      std::string res;
      ExpandTemplate(c.replacement_template, groups, &res);
      if (res.empty()) {
        lb.Del(target);
      } else {
        lb.Set(target, res);
      }
      break;
    }
    case A::kLowercase:
      ChangeCase(val, /*upper=*/false);
      lb.Set(c.target_label, val);
      break;
    case A::kUppercase:
      ChangeCase(val, /*upper=*/true);
      lb.Set(c.target_label, val);
      break;
    case A::kHashMod: {
      std::array<uint8_t, 16> sum = internal::Md5(val);
      // The last 8 bytes, big-endian, as Prometheus does ("to give the same result as earlier
      // versions of this code").
      uint64_t h = 0;
      for (int i = 8; i < 16; ++i) h = (h << 8) | sum[i];
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, h % c.modulus);
      lb.Set(c.target_label, std::string_view(buf, end - buf));
      break;
    }
    case A::kLabelMap:
    case A::kLabelDrop:
    case A::kLabelKeep: {
      // Iterate over a snapshot, as Prometheus's Builder.Range does.
      const Labels snapshot = lb.Labels();
      std::string res;
      for (const Label& l : snapshot) {
        bool match = FullMatch(re, l.name);
        if (c.action == A::kLabelMap) {
          if (!match) continue;
          // ReplaceAllString of a fully anchored regex: one match covering the whole name.
          std::array<std::string_view, kMaxInlineGroups> inline_groups;
          std::vector<std::string_view> heap_groups;
          size_t n = static_cast<size_t>(re.NumberOfCapturingGroups()) + 1;
          std::span<std::string_view> groups;
          if (n <= inline_groups.size()) {
            groups = std::span<std::string_view>(inline_groups.data(), n);
          } else {
            heap_groups.resize(n);
            groups = heap_groups;
          }
          MatchGroups(re, l.name, groups);
          res.clear();
          ExpandTemplate(c.replacement_template, groups, &res);
          if (!res.empty()) lb.Set(res, l.value);
        } else if (c.action == A::kLabelDrop ? match : !match) {
          lb.Del(l.name);
        }
      }
      break;
    }
  }
  return true;
}

}  // namespace

bool Relabel(std::span<const CompiledRelabel> rules, LabelsBuilder& lb) {
  for (const CompiledRelabel& c : rules) {
    if (!RelabelOne(c, lb)) return false;
  }
  return true;
}

std::optional<Labels> Process(const Labels& labels, std::span<const CompiledRelabel> rules) {
  LabelsBuilder lb(labels);
  if (!Relabel(rules, lb)) return std::nullopt;
  return lb.Labels();
}

}  // namespace pharos::ingest
