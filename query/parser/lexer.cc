#include "query/parser/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "query/parser/internal/strings.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace pharos::promql {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexVal(char c) {
  if (IsDigit(c)) return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// Decodes one UTF-8 sequence at s[i]. Returns the rune and sets *len; returns -1 (and *len =
// 1) for an invalid sequence.
int32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  *len = 1;
  if (c < 0x80) return c;
  size_t n;
  int32_t r;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    r = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    r = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    r = c & 0x07;
  } else {
    return -1;
  }
  if (i + n > s.size()) return -1;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return -1;
    r = (r << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
      (r >= 0xD800 && r <= 0xDFFF)) {
    return -1;
  }
  *len = n;
  return r;
}

// Go's %q of a single character, as used in lexer error messages.
std::string QuoteChar(std::string_view input, size_t pos) {
  size_t len;
  int32_t r = DecodeRune(input, pos, &len);
  std::string s = "'";
  if (r < 0) {
    absl::StrAppend(&s, "\\x", absl::Hex(static_cast<unsigned char>(input[pos]), absl::kZeroPad2));
  } else if (r == '\'') {
    s += "\\'";
  } else if (r == '\\') {
    s += "\\\\";
  } else if (r == '\n') {
    s += "\\n";
  } else if (r == '\t') {
    s += "\\t";
  } else if (r < 0x20 || r == 0x7f) {
    absl::StrAppend(&s, "\\x", absl::Hex(r, absl::kZeroPad2));
  } else {
    s.append(input.substr(pos, len));
  }
  s += "'";
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  std::vector<Token> Run() {
    std::vector<Token> out;
    while (true) {
      Token t = NextToken();
      TokenType type = t.type;
      out.push_back(std::move(t));
      if (type == TokenType::kEof || type == TokenType::kError) break;
    }
    return out;
  }

 private:
  char Peek(size_t k = 0) const { return pos_ + k < in_.size() ? in_[pos_ + k] : '\0'; }
  bool AtEnd(size_t k = 0) const { return pos_ + k >= in_.size(); }

  Token Make(TokenType type, size_t start) {
    Token t;
    t.type = type;
    t.pos = static_cast<int32_t>(start);
    t.text = in_.substr(start, pos_ - start);
    return t;
  }
  Token Error(size_t at, std::string msg) {
    Token t;
    t.type = TokenType::kError;
    t.pos = static_cast<int32_t>(at);
    t.text = in_.substr(at, 0);
    t.error = std::move(msg);
    return t;
  }

  void SkipSpaceAndComments() {
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#' && !brace_open_) {  // as Prometheus: no comments inside braces
        while (!AtEnd() && Peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  Token NextToken() {
    SkipSpaceAndComments();
    size_t start = pos_;
    if (brace_open_) return InsideBraces();
    if (AtEnd()) {
      if (paren_depth_ > 0) return Error(start, "unclosed left parenthesis");
      if (bracket_open_) return Error(start, "unclosed left bracket");
      return Make(TokenType::kEof, start);
    }
    char c = Peek();
    auto one = [&](TokenType type) {
      ++pos_;
      return Make(type, start);
    };
    auto two = [&](TokenType type) {
      pos_ += 2;
      return Make(type, start);
    };
    switch (c) {
      case ',': return one(TokenType::kComma);
      case '(':
        ++paren_depth_;
        return one(TokenType::kLeftParen);
      case ')':
        if (paren_depth_ == 0) return Error(start, "unexpected right parenthesis ')'");
        --paren_depth_;
        return one(TokenType::kRightParen);
      case '{':
        brace_open_ = true;
        return one(TokenType::kLeftBrace);
      case '}': return Error(start, "unexpected right brace '}'");
      case '[':
        if (bracket_open_) return Error(start, "unexpected left bracket '['");
        bracket_open_ = true;
        return one(TokenType::kLeftBracket);
      case ']':
        if (!bracket_open_) return Error(start, "unexpected right bracket ']'");
        bracket_open_ = false;
        return one(TokenType::kRightBracket);
      case '+': return one(TokenType::kAdd);
      case '-': return one(TokenType::kSub);
      case '*': return one(TokenType::kMul);
      case '/': return one(TokenType::kDiv);
      case '%': return one(TokenType::kMod);
      case '^': return one(TokenType::kPow);
      case '@': return one(TokenType::kAt);
      case '=':
        if (Peek(1) == '=') return two(TokenType::kEqlc);
        if (Peek(1) == '~') return two(TokenType::kEqlRegex);
        return one(TokenType::kAssign);
      case '!':
        if (Peek(1) == '=') return two(TokenType::kNeq);
        if (Peek(1) == '~') return two(TokenType::kNeqRegex);
        if (AtEnd(1)) return Error(start, "unexpected end of input after '!'");
        return Error(start, "unexpected character after '!': " + QuoteChar(in_, start + 1));
      case '<':
        if (Peek(1) == '=') return two(TokenType::kLte);
        if (Peek(1) == '/') return two(TokenType::kTrimUpper);
        return one(TokenType::kLss);
      case '>':
        if (Peek(1) == '=') return two(TokenType::kGte);
        if (Peek(1) == '/') return two(TokenType::kTrimLower);
        return one(TokenType::kGtr);
      case '"':
      case '\'':
      case '`': return String();
      case ':':
        if (bracket_open_) return one(TokenType::kColon);
        return Identifier();
      default: break;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return NumberOrDuration();
    if (IsAlpha(c)) return Identifier();
    return Error(start, "unexpected character: " + QuoteChar(in_, start));
  }

  Token InsideBraces() {
    size_t start = pos_;
    if (AtEnd()) return Error(start, "unexpected end of input inside braces");
    char c = Peek();
    switch (c) {
      case ',':
        ++pos_;
        return Make(TokenType::kComma, start);
      case '}':
        ++pos_;
        brace_open_ = false;
        return Make(TokenType::kRightBrace, start);
      case '=':
        if (Peek(1) == '~') {
          pos_ += 2;
          return Make(TokenType::kEqlRegex, start);
        }
        ++pos_;
        return Make(TokenType::kAssign, start);
      case '!':
        if (Peek(1) == '=') {
          pos_ += 2;
          return Make(TokenType::kNeq, start);
        }
        if (Peek(1) == '~') {
          pos_ += 2;
          return Make(TokenType::kNeqRegex, start);
        }
        return Error(start, "unexpected character inside braces: '!'");
      case '"':
      case '\'':
      case '`': return String();
      case '{': return Error(start, "unexpected left brace '{' inside braces");
      default: break;
    }
    if (IsAlpha(c)) {
      while (IsAlnum(Peek())) ++pos_;
      return Make(TokenType::kIdentifier, start);
    }
    return Error(start, "unexpected character inside braces: " + QuoteChar(in_, start));
  }

  Token Identifier() {
    size_t start = pos_;
    bool colon = false;
    while (!AtEnd()) {
      char c = Peek();
      if (IsAlnum(c)) {
        ++pos_;
      } else if (c == ':' && !bracket_open_) {
        colon = true;
        ++pos_;
      } else {
        break;
      }
    }
    std::string_view word = in_.substr(start, pos_ - start);
    if (internal::EqualsIgnoreCase(word, "inf") || internal::EqualsIgnoreCase(word, "nan")) {
      return Make(TokenType::kNumber, start);
    }
    return Make(colon ? TokenType::kMetricIdentifier : TokenType::kIdentifier, start);
  }

  Token String() {
    size_t start = pos_;
    char quote = Peek();
    ++pos_;
    if (quote == '`') {
      while (true) {
        if (AtEnd()) return Error(start, "unterminated raw string");
        size_t len;
        if (DecodeRune(in_, pos_, &len) < 0) return Error(start, "invalid UTF-8 rune");
        char c = Peek();
        pos_ += len;
        if (c == '`') break;
      }
      return Make(TokenType::kString, start);
    }
    while (true) {
      if (AtEnd() || Peek() == '\n') return Error(start, "unterminated quoted string");
      char c = Peek();
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) return Error(start, "unterminated quoted string");
        char e = Peek();
        ++pos_;
        switch (e) {
          case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
            break;
          case 'x': case 'u': case 'U': {
            int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
            for (int i = 0; i < n; ++i) {
              if (!IsHex(Peek())) {
                if (AtEnd() || Peek() == '\n') return Error(start, "unterminated quoted string");
                return Error(start, "illegal character " + QuoteChar(in_, pos_) +
                                        " in escape sequence");
              }
              ++pos_;
            }
            break;
          }
          case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
            for (int i = 0; i < 2; ++i) {
              if (Peek() < '0' || Peek() > '7') {
                if (AtEnd() || Peek() == '\n') return Error(start, "unterminated quoted string");
                return Error(start, "illegal character " + QuoteChar(in_, pos_) +
                                        " in escape sequence");
              }
              ++pos_;
            }
            break;
          default:
            if (e == quote) break;
            return Error(start, absl::StrFormat("unknown escape sequence U+%04X ",
                                                   static_cast<unsigned char>(e)) +
                                       QuoteChar(in_, pos_ - 1));
        }
        continue;
      }
      size_t len;
      if (DecodeRune(in_, pos_, &len) < 0) return Error(start, "invalid UTF-8 rune");
      pos_ += len;
      if (c == quote) break;
    }
    return Make(TokenType::kString, start);
  }

  // Scans a run of digits (from `digits`), allowing single underscores between digits.
  void ScanDigits(bool hex) {
    while (!AtEnd()) {
      char c = Peek();
      if (hex ? IsHex(c) : IsDigit(c)) {
        ++pos_;
      } else if (c == '_' && pos_ > 0 && (hex ? IsHex(in_[pos_ - 1]) : IsDigit(in_[pos_ - 1])) &&
                 (hex ? IsHex(Peek(1)) : IsDigit(Peek(1)))) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  Token NumberOrDuration() {
    size_t start = pos_;
    bool hex = false;
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X') &&
        (IsHex(Peek(2)) || (Peek(2) == '_' && IsHex(Peek(3))))) {
      pos_ += Peek(2) == '_' ? 3 : 2;  // 0x_1F == 0x1F (Go syntax)
      hex = true;
    }
    ScanDigits(hex);
    if (!hex) {
      if (Peek() == '.') {
        ++pos_;
        ScanDigits(false);
      }
      if ((Peek() == 'e' || Peek() == 'E') &&
          (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
        pos_ += (IsDigit(Peek(1)) ? 1 : 2);
        ScanDigits(false);
      }
    }
    if (!IsAlnum(Peek()) && Peek() != '.') return Make(TokenType::kNumber, start);
    // Duration: <number><unit>(<digits><unit>)*, not followed by an alphanumeric.
    auto unit = [&](std::string_view units) {
      char c = Peek();
      if (units.find(c) == std::string_view::npos || c == '\0') return false;
      ++pos_;
      if (Peek() == 's') ++pos_;  // ms (bad units are caught by ParseDurationMs)
      return true;
    };
    bool ok = unit("smhdwy");
    while (ok && IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
      ok = unit("smhdw");
    }
    if (ok && !IsAlnum(Peek()) && Peek() != '.') return Make(TokenType::kDuration, start);
    if (IsAlnum(Peek()) || Peek() == '.') ++pos_;  // the offending character, as Prometheus
    return Error(start, absl::StrCat("bad number or duration syntax: ",
                                     QuoteString(in_.substr(start, pos_ - start))));
  }

  std::string_view in_;
  size_t pos_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
};

}  // namespace

std::vector<Token> Lex(std::string_view input) { return Lexer(input).Run(); }

absl::StatusOr<std::string> UnquoteString(std::string_view q) {
  if (q.size() < 2 || q.front() != q.back() ||
      (q.front() != '"' && q.front() != '\'' && q.front() != '`')) {
    return absl::InvalidArgumentError("invalid syntax");
  }
  char quote = q.front();
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') {
    if (body.find('`') != std::string_view::npos) return absl::InvalidArgumentError("invalid syntax");
    std::string out;
    for (char c : body) {
      if (c != '\r') out.push_back(c);  // Go drops carriage returns from raw strings
    }
    return out;
  }
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size();) {
    char c = body[i];
    if (c == quote || c == '\n') return absl::InvalidArgumentError("invalid syntax");
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= body.size()) return absl::InvalidArgumentError("invalid syntax");
    char e = body[i + 1];
    i += 2;
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case 'x': case 'u': case 'U': {
        size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + n > body.size()) return absl::InvalidArgumentError("invalid syntax");
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          if (!IsHex(body[i + k])) return absl::InvalidArgumentError("invalid syntax");
          v = v * 16 + static_cast<uint32_t>(HexVal(body[i + k]));
        }
        i += n;
        if (e == 'x') {
          out.push_back(static_cast<char>(v));
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            return absl::InvalidArgumentError("invalid syntax");
          }
          AppendUtf8(&out, v);
        }
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        if (i + 2 > body.size()) return absl::InvalidArgumentError("invalid syntax");
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (size_t k = 0; k < 2; ++k) {
          char d = body[i + k];
          if (d < '0' || d > '7') return absl::InvalidArgumentError("invalid syntax");
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        i += 2;
        if (v > 255) return absl::InvalidArgumentError("invalid syntax");
        out.push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e != quote) return absl::InvalidArgumentError("invalid syntax");
        out.push_back(e);
    }
  }
  return out;
}

absl::StatusOr<double> ParseNumberLiteral(std::string_view text) {
  if (internal::EqualsIgnoreCase(text, "inf")) return std::numeric_limits<double>::infinity();
  if (internal::EqualsIgnoreCase(text, "nan")) return std::numeric_limits<double>::quiet_NaN();
  std::string s;
  s.reserve(text.size());
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  if (s.empty()) return absl::InvalidArgumentError("invalid number");
  bool all_digits = true;
  for (char c : s) all_digits = all_digits && IsDigit(c);
  errno = 0;
  char* end = nullptr;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    unsigned long long v = std::strtoull(s.c_str() + 2, &end, 16);
    if (*end != '\0') return absl::InvalidArgumentError("invalid number");
    if (errno == ERANGE || v > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
      // Go: ParseInt overflows, ParseFloat rejects hex without a p exponent.
      return absl::InvalidArgumentError(absl::StrCat("strconv.ParseFloat: parsing ",
                                                     QuoteString(text), ": invalid syntax"));
    }
    return static_cast<double>(v);
  }
  if (all_digits && s.size() > 1 && s[0] == '0') {
    // Go base-0 ParseInt: a leading 0 means octal. Falls back to decimal float (08 == 8).
    bool octal = true;
    for (char c : s) octal = octal && c <= '7';
    if (octal) {
      unsigned long long v = std::strtoull(s.c_str(), &end, 8);
      if (errno != ERANGE && v <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
        return static_cast<double>(v);
      }
      errno = 0;
    }
  }
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return absl::InvalidArgumentError("invalid number");
  return v;  // ERANGE: strtod returns ±HUGE_VAL or 0 like Go's ParseFloat (which also errors)
}

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not a valid duration string: ", QuoteString(text)));
  };
  if (text == "0") return 0;
  if (text.empty()) return absl::InvalidArgumentError("empty duration string");
  static constexpr struct {
    std::string_view unit;
    int64_t ms;
  } kUnits[] = {{"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
                {"d", 24LL * 3600 * 1000},       {"h", 3600LL * 1000},
                {"m", 60LL * 1000},              {"s", 1000},
                {"ms", 1}};
  size_t next_unit = 0;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t d = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (d == i) return invalid();
    std::string_view digits = text.substr(d, i - d);
    size_t u = i;
    while (i < text.size() && !IsDigit(text[i])) ++i;
    std::string_view unit = text.substr(u, i - u);
    size_t k = next_unit;
    while (k < std::size(kUnits) && kUnits[k].unit != unit) ++k;
    if (k == std::size(kUnits)) return invalid();
    next_unit = k + 1;
    int64_t n = 0;
    for (char c : digits) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return absl::InvalidArgumentError("duration out of range");
      }
      n = n * 10 + (c - '0');
    }
    if (n > std::numeric_limits<int64_t>::max() / kUnits[k].ms) {
      return absl::InvalidArgumentError("duration out of range");
    }
    n *= kUnits[k].ms;
    if (total > std::numeric_limits<int64_t>::max() - n) {
      return absl::InvalidArgumentError("duration out of range");
    }
    total += n;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms <= 0) return "0s";
  std::string out;
  auto emit = [&](int64_t unit, const char* name) {
    int64_t n = ms / unit;
    if (n > 0) {
      absl::StrAppend(&out, n, name);
      ms -= n * unit;
    }
  };
  // model.Duration prints years and weeks only when they divide the whole value exactly.
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  if (ms % (365 * kDay) == 0) emit(365 * kDay, "y");
  if (ms > 0 && ms % (7 * kDay) == 0) emit(7 * kDay, "w");
  emit(kDay, "d");
  emit(3600LL * 1000, "h");
  emit(60LL * 1000, "m");
  emit(1000, "s");
  emit(1, "ms");
  return out;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t len;
    int32_t r = DecodeRune(s, i, &len);
    if (r < 0) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(s[i]), absl::kZeroPad2));
      ++i;
      continue;
    }
    switch (r) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (r < 0x20 || r == 0x7f) {
          absl::StrAppend(&out, "\\x", absl::Hex(r, absl::kZeroPad2));
        } else if ((r >= 0x80 && r < 0xA0) || r == 0xAD || r == 0xFEFF ||
                   (r >= 0x2028 && r <= 0x202E) || (r >= 0xFFF9 && r <= 0xFFFB)) {
          // Not printable in Go's sense (controls and format characters).
          if (r < 0x10000) {
            absl::StrAppend(&out, "\\u", absl::Hex(r, absl::kZeroPad4));
          } else {
            absl::StrAppend(&out, "\\U", absl::Hex(r, absl::kZeroPad8));
          }
        } else {
          out.append(s.substr(i, len));
        }
    }
    i += len;
  }
  out += "\"";
  return out;
}

bool IsLegacyMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!(IsAlpha(c) || c == ':' || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

bool IsLegacyLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!(IsAlpha(c) || (i > 0 && IsDigit(c)))) return false;
  }
  return true;
}

}  // namespace pharos::promql
