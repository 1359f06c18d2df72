#pragma once

// Label matchers: =, !=, =~, !~ with Prometheus 3.x semantics. Regexes are RE2, fully anchored,
// `.` matches newlines (dot_nl), UTF-8. Common regex shapes are answered without running RE2:
//   literal ("foo", "foo\.bar")          -> string compare
//   alternation of literals ("a|b|c")    -> set lookup
//   "prefix.*", ".*suffix", ".*infix.*"  -> starts_with / ends_with / contains
//   ".*" -> everything, ".+" -> non-empty
// Semantics are defined for valid UTF-8 inputs (label values are validated at ingestion).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos {

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

namespace internal {
struct RegexState;
}  // namespace internal

class Matcher {
 public:
  // Compiles the regex for kRegexMatch / kRegexNoMatch; InvalidArgument on a bad pattern.
  static absl::StatusOr<Matcher> Make(MatchType type, std::string_view name,
                                      std::string_view value);
  // For tests and constants: aborts on an invalid regex.
  static Matcher MustMake(MatchType type, std::string_view name, std::string_view value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  bool IsRegex() const { return type_ == MatchType::kRegexMatch || type_ == MatchType::kRegexNoMatch; }
  bool IsNegative() const {
    return type_ == MatchType::kNotEqual || type_ == MatchType::kRegexNoMatch;
  }

  bool Matches(std::string_view v) const;
  // Whether the empty string (i.e. an absent label) matches; precomputed.
  bool MatchesEmpty() const { return matches_empty_; }

  // The same matcher with the opposite type (= <-> !=, =~ <-> !~); shares the compiled regex.
  Matcher Inverse() const;

  // For positive matchers that can only match a finite set of values (= and =~ literal or
  // alternation of literals): those values, sorted and unique. nullopt otherwise.
  std::optional<std::vector<std::string>> SetMatches() const;
  // A literal prefix every matching value must start with ("" if none is known). For =~ only.
  std::string_view Prefix() const;
  // True when every string starting with Prefix() matches (=~ "prefix.*").
  bool PrefixIsExact() const;
  // =~ ".*" (matches everything) / =~ ".+" (matches every non-empty value).
  bool MatchesAll() const;
  bool MatchesAllNonEmpty() const;

  // Prometheus form: name=~"value" (name quoted when not a legacy label name).
  std::string String() const;

  friend bool operator==(const Matcher& a, const Matcher& b) {
    return a.type_ == b.type_ && a.name_ == b.name_ && a.value_ == b.value_;
  }

 private:
  Matcher() = default;

  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  bool matches_empty_ = false;
  std::shared_ptr<const internal::RegexState> re_;  // set for regex types
};

}  // namespace pharos
