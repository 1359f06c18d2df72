#include "storage/labels/matcher.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "storage/labels/labels.h"

namespace pharos {
namespace internal {

// How a regex is evaluated. Every kind but kGeneral is decided without RE2.
enum class RegexKind { kGeneral, kAll, kNonEmpty, kLiteral, kSet, kPrefix, kSuffix, kContains };

struct RegexState {
  std::unique_ptr<RE2> re;  // always compiled: validates the pattern and serves kGeneral
  RegexKind kind = RegexKind::kGeneral;
  std::string literal;            // kLiteral / kPrefix / kSuffix / kContains
  std::vector<std::string> set;   // kSet, sorted and unique
  std::string prefix;             // literal prefix known for any kind (may be empty)

  bool Match(std::string_view v) const {
    switch (kind) {
      case RegexKind::kAll: return true;
      case RegexKind::kNonEmpty: return !v.empty();
      case RegexKind::kLiteral: return v == literal;
      case RegexKind::kPrefix: return v.starts_with(literal);
      case RegexKind::kSuffix: return v.ends_with(literal);
      case RegexKind::kContains: return v.find(literal) != std::string_view::npos;
      case RegexKind::kSet:
        if (set.size() <= 8) {
          for (const std::string& s : set) {
            if (s == v) return true;
          }
          return false;
        }
        return std::binary_search(set.begin(), set.end(), v);
      case RegexKind::kGeneral:
        break;
    }
    return RE2::FullMatch(v, *re);
  }
};

}  // namespace internal

namespace {

using internal::RegexKind;
using internal::RegexState;

bool IsMeta(char c) {
  switch (c) {
    case '\\': case '.': case '+': case '*': case '?': case '(': case ')': case '|':
    case '[': case ']': case '{': case '}': case '^': case '$':
      return true;
    default:
      return false;
  }
}

// Parses a regex that denotes exactly one literal string: plain characters and backslash-escaped
// ASCII punctuation. Anything else (classes, \d, flags, ...) is not a literal.
std::optional<std::string> ParseLiteral(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return std::nullopt;
      const char e = p[i + 1];
      const auto u = static_cast<unsigned char>(e);
      if (u >= 0x80 || (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
          (e >= 'A' && e <= 'Z') || e == '_' || u < 0x20) {
        return std::nullopt;
      }
      out.push_back(e);
      ++i;
    } else if (IsMeta(c)) {
      return std::nullopt;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Strips one pair of outer parentheses "(...)" or "(?:...)" if they enclose the whole pattern
// and there are no other parentheses or escapes that could confuse the scan.
std::string_view StripGroup(std::string_view p) {
  if (p.size() < 2 || p.front() != '(' || p.back() != ')') return p;
  std::string_view inner = p.substr(1, p.size() - 2);
  if (inner.starts_with("?:")) {
    inner.remove_prefix(2);
  } else if (!inner.empty() && inner.front() == '?') {
    return p;  // flags such as (?i...)
  }
  for (char c : inner) {
    if (c == '(' || c == ')' || c == '\\' || c == '[') return p;
  }
  return inner;
}

// "a|b|c" where every alternative is a literal.
std::optional<std::vector<std::string>> ParseAlternation(std::string_view p) {
  p = StripGroup(p);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i < p.size() && p[i] == '\\') {
      ++i;
      continue;
    }
    if (i == p.size() || p[i] == '|') {
      auto lit = ParseLiteral(p.substr(start, i - start));
      if (!lit) return std::nullopt;
      out.push_back(std::move(*lit));
      start = i + 1;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Longest literal prefix of a general pattern, used only to narrow index lookups. Stops at the
// first metacharacter; a following quantifier (?, *, {) would make the last char optional.
std::string LiteralPrefix(std::string_view p) {
  if (p.find('|') != std::string_view::npos) return "";
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (IsMeta(c)) {
      if (!out.empty() && (c == '?' || c == '*' || c == '{')) out.pop_back();
      break;
    }
    out.push_back(c);
  }
  // Drop a trailing multi-byte character that a following quantifier might apply to only
  // partially: simplest is to drop any trailing non-ASCII bytes.
  while (!out.empty() && static_cast<unsigned char>(out.back()) >= 0x80) out.pop_back();
  return out;
}

void Analyze(std::string_view p, RegexState& st) {
  if (p == ".*") {
    st.kind = RegexKind::kAll;
    return;
  }
  if (p == ".+") {
    st.kind = RegexKind::kNonEmpty;
    return;
  }
  if (auto lit = ParseLiteral(p)) {
    st.kind = RegexKind::kLiteral;
    st.literal = *lit;
    st.prefix = *lit;
    return;
  }
  const bool leading = p.starts_with(".*");
  const bool trailing = p.size() >= 3 && p.ends_with(".*") && p[p.size() - 3] != '\\';
  if (leading && trailing && p.size() >= 4) {
    if (auto lit = ParseLiteral(p.substr(2, p.size() - 4))) {
      st.kind = RegexKind::kContains;
      st.literal = *lit;
      return;
    }
  }
  if (trailing) {
    if (auto lit = ParseLiteral(p.substr(0, p.size() - 2))) {
      st.kind = RegexKind::kPrefix;
      st.literal = *lit;
      st.prefix = *lit;
      return;
    }
  }
  if (leading) {
    if (auto lit = ParseLiteral(p.substr(2))) {
      st.kind = RegexKind::kSuffix;
      st.literal = *lit;
      return;
    }
  }
  if (auto set = ParseAlternation(p)) {
    st.kind = RegexKind::kSet;
    st.set = std::move(*set);
    if (st.set.size() == 1) {
      st.kind = RegexKind::kLiteral;
      st.literal = st.set.front();
      st.prefix = st.literal;
    }
    return;
  }
  st.kind = RegexKind::kGeneral;
  st.prefix = LiteralPrefix(p);
}

}  // namespace

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual: return "=";
    case MatchType::kNotEqual: return "!=";
    case MatchType::kRegexMatch: return "=~";
    case MatchType::kRegexNoMatch: return "!~";
  }
  return "?";
}

absl::StatusOr<Matcher> Matcher::Make(MatchType type, std::string_view name,
                                      std::string_view value) {
  Matcher m;
  m.type_ = type;
  m.name_ = std::string(name);
  m.value_ = std::string(value);
  if (m.IsRegex()) {
    auto st = std::make_shared<RegexState>();
    RE2::Options opts;
    opts.set_encoding(RE2::Options::EncodingUTF8);
    opts.set_dot_nl(true);
    opts.set_log_errors(false);
    opts.set_never_capture(true);
    // Anchoring comes from RE2::FullMatch (ANCHOR_BOTH), so the pattern is compiled as given:
    // no "^(?:" + v + ")$" string splicing that a pattern such as "a)|(b" could break out of.
    st->re = std::make_unique<RE2>(value, opts);
    if (!st->re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid regular expression \"", m.value_, "\": ", st->re->error()));
    }
    Analyze(value, *st);
    m.re_ = std::move(st);
  }
  // Compute MatchesEmpty with the positive sense, then flip for negative types.
  switch (type) {
    case MatchType::kEqual: m.matches_empty_ = m.value_.empty(); break;
    case MatchType::kNotEqual: m.matches_empty_ = !m.value_.empty(); break;
    case MatchType::kRegexMatch: m.matches_empty_ = m.re_->Match(""); break;
    case MatchType::kRegexNoMatch: m.matches_empty_ = !m.re_->Match(""); break;
  }
  return m;
}

Matcher Matcher::MustMake(MatchType type, std::string_view name, std::string_view value) {
  auto m = Make(type, name, value);
  if (!m.ok()) {
    std::fprintf(stderr, "Matcher::MustMake: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return *std::move(m);
}

bool Matcher::Matches(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegexMatch: return re_->Match(v);
    case MatchType::kRegexNoMatch: return !re_->Match(v);
  }
  return false;
}

Matcher Matcher::Inverse() const {
  Matcher m = *this;
  switch (type_) {
    case MatchType::kEqual: m.type_ = MatchType::kNotEqual; break;
    case MatchType::kNotEqual: m.type_ = MatchType::kEqual; break;
    case MatchType::kRegexMatch: m.type_ = MatchType::kRegexNoMatch; break;
    case MatchType::kRegexNoMatch: m.type_ = MatchType::kRegexMatch; break;
  }
  m.matches_empty_ = !matches_empty_;
  return m;
}

std::optional<std::vector<std::string>> Matcher::SetMatches() const {
  if (type_ == MatchType::kEqual) return std::vector<std::string>{value_};
  if (type_ != MatchType::kRegexMatch) return std::nullopt;
  if (re_->kind == RegexKind::kLiteral) return std::vector<std::string>{re_->literal};
  if (re_->kind == RegexKind::kSet) return re_->set;
  return std::nullopt;
}

std::string_view Matcher::Prefix() const {
  return type_ == MatchType::kRegexMatch ? std::string_view(re_->prefix) : std::string_view();
}

bool Matcher::PrefixIsExact() const {
  return type_ == MatchType::kRegexMatch && re_->kind == RegexKind::kPrefix;
}

bool Matcher::MatchesAll() const {
  return type_ == MatchType::kRegexMatch && re_->kind == RegexKind::kAll;
}

bool Matcher::MatchesAllNonEmpty() const {
  return type_ == MatchType::kRegexMatch && re_->kind == RegexKind::kNonEmpty;
}

std::string Matcher::String() const {
  std::string out;
  if (IsValidLegacyLabelName(name_)) {
    out = name_;
  } else {
    AppendQuoted(out, name_);
  }
  out += MatchTypeString(type_);
  AppendQuoted(out, value_);
  return out;
}

}  // namespace pharos
