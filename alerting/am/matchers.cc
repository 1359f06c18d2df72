// Alertmanager's matcher syntax (pkg/labels/parse.go in 0.25, the "classic" parser that amtool,
// the API and the config's `matchers` share).

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "alerting/am/config.h"
#include "alerting/am/internal/matchers.h"
#include "common/strings.h"
#include "common/yaml_decoder.h"
#include "storage/labels/labels.h"

namespace pharos::alerting::am {
namespace internal {

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

void SortMatchers(Matchers* ms) {
  std::stable_sort(ms->begin(), ms->end(), [](const Matcher& a, const Matcher& b) {
    if (a.name() != b.name()) return a.name() < b.name();
    if (a.value() != b.value()) return a.value() < b.value();
    return static_cast<int>(a.type()) < static_cast<int>(b.type());
  });
}

std::string MatchersString(const Matchers& ms) {
  std::string out = "{";
  for (size_t i = 0; i < ms.size(); ++i) {
    if (i > 0) out += ',';
    out += MatcherString(ms[i]);
  }
  out += '}';
  return out;
}

}  // namespace internal

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// One `name op value` (Alertmanager's ParseMatcher).
absl::StatusOr<Matcher> ParseOne(std::string_view token) {
  const std::string bad = absl::StrCat("bad matcher format: ", Av(token));
  std::string_view s = TrimSpace(token);
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' ||
                          s[i] == ':')) {
    ++i;
  }
  std::string_view name = s.substr(0, i);
  // Alertmanager 0.25's matcher regex allows ':' in names ([a-zA-Z_:][a-zA-Z0-9_:]*).
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return absl::InvalidArgumentError(bad);
  }
  std::string_view rest = TrimSpace(s.substr(i));
  MatchType type;
  if (rest.starts_with("=~")) {
    type = MatchType::kRegexMatch;
    rest.remove_prefix(2);
  } else if (rest.starts_with("!=")) {
    type = MatchType::kNotEqual;
    rest.remove_prefix(2);
  } else if (rest.starts_with("!~")) {
    type = MatchType::kRegexNoMatch;
    rest.remove_prefix(2);
  } else if (rest.starts_with("=")) {
    type = MatchType::kEqual;
    rest.remove_prefix(1);
  } else {
    return absl::InvalidArgumentError(bad);
  }
  const std::string_view raw_full = TrimSpace(rest);
  std::string_view raw = raw_full;
  bool expect_trailing_quote = false;
  if (raw.starts_with("\"")) {
    raw.remove_prefix(1);
    expect_trailing_quote = true;
  }
  if (!yaml::IsValidUtf8(Av(raw))) {
    return absl::InvalidArgumentError(
        absl::StrCat("matcher value not valid UTF-8: ", Av(raw_full)));
  }
  std::string value;
  bool escaped = false;
  for (size_t k = 0; k < raw.size(); ++k) {
    char c = raw[k];
    if (escaped) {
      escaped = false;
      switch (c) {
        case 'n': value += '\n'; break;
        case '"': case '\\': value += c; break;
        default: value += '\\'; value += c;  // a spurious escape is kept literally
      }
      continue;
    }
    switch (c) {
      case '\\':
        if (k + 1 < raw.size()) {
          escaped = true;
        } else {
          value += '\\';
        }
        break;
      case '"':
        if (!expect_trailing_quote || k + 1 < raw.size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "matcher value contains unescaped double quote: ", Av(raw_full)));
        }
        expect_trailing_quote = false;
        break;
      default:
        value += c;
    }
  }
  if (expect_trailing_quote) {
    return absl::InvalidArgumentError(
        absl::StrCat("matcher value contains unescaped double quote: ", Av(raw_full)));
  }
  auto m = Matcher::Make(type, name, value);
  if (!m.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid matcher ", Av(TrimSpace(token)),
                                                   ": ", m.status().message()));
  }
  return m;
}

}  // namespace

absl::StatusOr<Matchers> ParseMatchers(std::string_view text) {
  std::string_view s = text;
  if (s.starts_with("{")) s.remove_prefix(1);
  if (s.ends_with("}")) s.remove_suffix(1);
  // Split on commas outside double quotes (a backslash escapes a quote).
  std::vector<std::string> tokens;
  std::string token;
  bool in_quotes = false, escaped = false;
  for (char c : s) {
    switch (c) {
      case ',':
        if (!in_quotes) {
          tokens.push_back(token);
          token.clear();
          continue;
        }
        break;
      case '"':
        if (!escaped) {
          in_quotes = !in_quotes;
        } else {
          escaped = false;
        }
        break;
      case '\\':
        escaped = !escaped;
        break;
      default:
        escaped = false;
    }
    token += c;
  }
  if (std::string_view last = TrimSpace(token); !last.empty()) tokens.emplace_back(last);
  Matchers out;
  for (const std::string& t : tokens) {
    PHAROS_ASSIGN_OR_RETURN(Matcher m, ParseOne(t));
    out.push_back(std::move(m));
  }
  return out;
}

std::string MatcherString(const Matcher& m) {
  std::string out = m.name();
  out += MatchTypeString(m.type());
  out += '"';
  for (char c : m.value()) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"': out += "\\\""; break;
      default: out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace pharos::alerting::am
