#include "alerting/template/internal/parse.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "alerting/template/internal/gofmt.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace pharos::alerting::tmpl::internal {
namespace {

// ---------------------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go): the whole input becomes a vector of items up front.

enum class Item {
  kError, kEOF, kText, kLeftDelim, kRightDelim, kSpace, kIdentifier, kField, kVariable,
  kString, kRawString, kChar, kCharConstant, kNumber, kBool, kNil, kDot, kDeclare, kAssign,
  kPipe, kLeftParen, kRightParen,
  // Keywords (after kKeyword).
  kKeyword, kBlock, kBreak, kContinue, kDefine, kElse, kEnd, kIf, kRange, kTemplate, kWith,
};

struct Token {
  Item type;
  uint32_t pos;
  int line;
  std::string_view val;
  std::string err;  // kError
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(unsigned char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80;  // non-ASCII: treated as letters
}

constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";

Item Keyword(std::string_view w) {
  static constexpr std::pair<std::string_view, Item> kWords[] = {
      {"block", Item::kBlock},   {"break", Item::kBreak}, {"continue", Item::kContinue},
      {"define", Item::kDefine}, {"else", Item::kElse},   {"end", Item::kEnd},
      {"if", Item::kIf},         {"range", Item::kRange}, {"nil", Item::kNil},
      {"template", Item::kTemplate}, {"with", Item::kWith},
  };
  for (const auto& [k, v] : kWords) {
    if (k == w) return v;
  }
  return Item::kError;
}

std::string RuneDesc(std::string_view s, size_t i) {
  // %#U: U+0040 '@'
  unsigned char c = s[i];
  char buf[32];
  if (c < 0x80) {
    if (c >= 0x20 && c < 0x7F) {
      std::snprintf(buf, sizeof buf, "U+%04X '%c'", c, c);
    } else {
      std::snprintf(buf, sizeof buf, "U+%04X", c);
    }
    return buf;
  }
  std::snprintf(buf, sizeof buf, "U+%04X", c);
  return buf;
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  // Returns false on a lexical error (the last token is then kError).
  void Run(std::vector<Token>* out) {
    out_ = out;
    while (true) {
      if (!LexText()) return;
      if (pos_ >= in_.size()) break;
      if (!LexAction()) return;
    }
    Emit(Item::kEOF, pos_, pos_);
  }

 private:
  void Emit(Item t, size_t start, size_t end) {
    out_->push_back(Token{t, static_cast<uint32_t>(start), line_,
                          in_.substr(start, end - start), {}});
    for (size_t i = start; i < end; ++i) line_ += in_[i] == '\n';
  }
  bool Error(std::string msg) {
    out_->push_back(Token{Item::kError, static_cast<uint32_t>(pos_), line_, {}, std::move(msg)});
    return false;
  }
  static bool HasLeftTrim(std::string_view s) { return s.size() >= 2 && s[0] == '-' && IsSpace(s[1]); }
  bool AtRightDelim(size_t p, bool* trim) const {
    std::string_view s = in_.substr(p);
    if (s.size() >= 2 && IsSpace(s[0]) && s[1] == '-' && s.substr(2).starts_with(kRightDelim)) {
      *trim = true;
      return true;
    }
    *trim = false;
    return s.starts_with(kRightDelim);
  }

  bool LexText() {
    size_t x = in_.find(kLeftDelim, pos_);
    size_t end = x == std::string_view::npos ? in_.size() : x;
    size_t text_end = end;
    if (x != std::string_view::npos && HasLeftTrim(in_.substr(x + 2))) {
      while (text_end > pos_ && IsSpace(in_[text_end - 1])) --text_end;
    }
    if (text_end > pos_) Emit(Item::kText, pos_, text_end);
    for (size_t i = text_end; i < end; ++i) line_ += in_[i] == '\n';
    pos_ = end;
    return true;
  }

  // At "{{": lexes one action (or comment) through its closing delimiter.
  bool LexAction() {
    bool trim = HasLeftTrim(in_.substr(pos_ + 2));
    size_t after = pos_ + 2 + (trim ? 2 : 0);
    if (in_.substr(after).starts_with("/*")) {
      // Comment: skipped entirely.
      size_t close = in_.find("*/", after + 2);
      if (close == std::string_view::npos) {
        pos_ = after;
        return Error("unclosed comment");
      }
      size_t p = close + 2;
      bool rtrim;
      if (!AtRightDelim(p, &rtrim)) {
        pos_ = p;
        return Error("comment ends before closing delimiter");
      }
      for (size_t i = pos_; i < p; ++i) line_ += in_[i] == '\n';
      pos_ = p + (rtrim ? 2 : 0) + 2;
      if (rtrim) SkipLeadingSpace();
      return true;
    }
    Emit(Item::kLeftDelim, pos_, pos_ + 2);
    pos_ = after;
    if (trim) line_ += in_[pos_ - 1] == '\n';
    int paren_depth = 0;
    while (true) {
      bool rtrim;
      if (AtRightDelim(pos_, &rtrim)) {
        if (paren_depth != 0) return Error("unclosed left paren");
        if (rtrim) {
          line_ += in_[pos_] == '\n';
          pos_ += 2;
        }
        Emit(Item::kRightDelim, pos_, pos_ + 2);
        pos_ += 2;
        if (rtrim) SkipLeadingSpace();
        return true;
      }
      if (pos_ >= in_.size()) return Error("unclosed action");
      char c = in_[pos_];
      size_t start = pos_;
      if (IsSpace(c)) {
        size_t p = pos_;
        while (p < in_.size() && IsSpace(in_[p])) ++p;
        // A space that belongs to " -}}" is not an item of its own.
        bool t2;
        if (p - pos_ >= 1 && AtRightDelim(p - 1, &t2) && t2) {
          if (p - 1 > pos_) Emit(Item::kSpace, pos_, p - 1);
          pos_ = p - 1;
          continue;
        }
        Emit(Item::kSpace, pos_, p);
        pos_ = p;
        continue;
      }
      switch (c) {
        case '=':
          Emit(Item::kAssign, pos_, pos_ + 1);
          ++pos_;
          continue;
        case ':':
          if (pos_ + 1 >= in_.size() || in_[pos_ + 1] != '=') {
            ++pos_;
            return Error("expected :=");
          }
          Emit(Item::kDeclare, pos_, pos_ + 2);
          pos_ += 2;
          continue;
        case '|':
          Emit(Item::kPipe, pos_, pos_ + 1);
          ++pos_;
          continue;
        case '"':
          if (!LexQuote()) return false;
          Emit(Item::kString, start, pos_);
          continue;
        case '`': {
          size_t close = in_.find('`', pos_ + 1);
          if (close == std::string_view::npos) return Error("unterminated raw quoted string");
          pos_ = close + 1;
          Emit(Item::kRawString, start, pos_);
          continue;
        }
        case '\'':
          if (!LexChar()) return false;
          Emit(Item::kCharConstant, start, pos_);
          continue;
        case '$':
        case '.': {
          if (c == '.' && pos_ + 1 < in_.size() && in_[pos_ + 1] >= '0' && in_[pos_ + 1] <= '9') {
            if (!LexNumber()) return false;
            continue;
          }
          ++pos_;
          if (AtTerminator()) {
            Emit(c == '.' ? Item::kDot : Item::kVariable, start, pos_);
            continue;
          }
          while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
          if (!AtTerminator()) return Error("bad character " + RuneDesc(in_, pos_));
          Emit(c == '.' ? Item::kField : Item::kVariable, start, pos_);
          continue;
        }
        case '(':
          Emit(Item::kLeftParen, pos_, pos_ + 1);
          ++pos_;
          ++paren_depth;
          continue;
        case ')':
          --paren_depth;
          if (paren_depth < 0) return Error("unexpected right paren");
          Emit(Item::kRightParen, pos_, pos_ + 1);
          ++pos_;
          continue;
        default:
          break;
      }
      if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        if (!LexNumber()) return false;
        continue;
      }
      if (IsAlnum(c)) {
        while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
        std::string_view word = in_.substr(start, pos_ - start);
        if (!AtTerminator()) return Error("bad character " + RuneDesc(in_, pos_));
        Item k = Keyword(word);
        if (k == Item::kNil) {
          Emit(Item::kNil, start, pos_);
        } else if (k != Item::kError) {
          Emit(k, start, pos_);
        } else if (word == "true" || word == "false") {
          Emit(Item::kBool, start, pos_);
        } else {
          Emit(Item::kIdentifier, start, pos_);
        }
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x80 && c >= 0x20 && c < 0x7F) {
        Emit(Item::kChar, pos_, pos_ + 1);
        ++pos_;
        continue;
      }
      return Error("unrecognized character in action: " + RuneDesc(in_, pos_));
    }
  }

  void SkipLeadingSpace() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) {
      line_ += in_[pos_] == '\n';
      ++pos_;
    }
  }

  bool AtTerminator() const {
    if (pos_ >= in_.size()) return true;
    char c = in_[pos_];
    if (IsSpace(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(') {
      return true;
    }
    return in_.substr(pos_).starts_with(kRightDelim);
  }

  bool LexQuote() {
    ++pos_;
    while (true) {
      if (pos_ >= in_.size() || in_[pos_] == '\n') return Error("unterminated quoted string");
      char c = in_[pos_++];
      if (c == '\\') {
        if (pos_ >= in_.size() || in_[pos_] == '\n') return Error("unterminated quoted string");
        ++pos_;
      } else if (c == '"') {
        return true;
      }
    }
  }

  bool LexChar() {
    ++pos_;
    while (true) {
      if (pos_ >= in_.size() || in_[pos_] == '\n') {
        return Error("unterminated character constant");
      }
      char c = in_[pos_++];
      if (c == '\\') {
        if (pos_ >= in_.size() || in_[pos_] == '\n') {
          return Error("unterminated character constant");
        }
        ++pos_;
      } else if (c == '\'') {
        return true;
      }
    }
  }

  // Go's scanNumber: accepts more than is valid; the parser rejects the rest.
  bool LexNumber() {
    size_t start = pos_;
    auto accept = [&](std::string_view valid) {
      if (pos_ < in_.size() && valid.find(in_[pos_]) != std::string_view::npos) {
        ++pos_;
        return true;
      }
      return false;
    };
    auto accept_run = [&](std::string_view valid) {
      while (pos_ < in_.size() && valid.find(in_[pos_]) != std::string_view::npos) ++pos_;
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (accept("oO")) digits = "01234567_";
      else if (accept("bB")) digits = "01_";
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (pos_ < in_.size() && IsAlnum(in_[pos_])) {
      ++pos_;
      return Error(absl::StrCat("bad number syntax: \"", Av(in_.substr(start, pos_ - start)),
                                "\""));
    }
    Emit(Item::kNumber, start, pos_);
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token>* out_ = nullptr;
};

// ---------------------------------------------------------------------------------------
// Literals.

bool HexVal(char c, int* v) {
  if (c >= '0' && c <= '9') *v = c - '0';
  else if (c >= 'a' && c <= 'f') *v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F') *v = c - 'A' + 10;
  else return false;
  return true;
}

// strconv.UnquoteChar for the escape at s[*i] (just after the backslash); appends to out.
// Returns false on invalid syntax. `is_byte` is set for \x and octal escapes (raw bytes).
bool UnquoteEscape(std::string_view s, size_t* i, char quote, std::string* out,
                   uint32_t* rune) {
  if (*i >= s.size()) return false;
  char c = s[(*i)++];
  uint32_t r;
  switch (c) {
    case 'a': r = '\a'; break;
    case 'b': r = '\b'; break;
    case 'f': r = '\f'; break;
    case 'n': r = '\n'; break;
    case 'r': r = '\r'; break;
    case 't': r = '\t'; break;
    case 'v': r = '\v'; break;
    case '\\': r = '\\'; break;
    case '\'':
    case '"':
      if (c != quote) return false;
      r = c;
      break;
    case 'x':
    case 'u':
    case 'U': {
      int n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        int d;
        if (*i >= s.size() || !HexVal(s[*i], &d)) return false;
        v = v * 16 + d;
        ++*i;
      }
      if (c == 'x') {
        out->push_back(static_cast<char>(v));
        *rune = v;
        return true;
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
      r = v;
      break;
    }
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
      uint32_t v = c - '0';
      for (int k = 0; k < 2; ++k) {
        if (*i >= s.size() || s[*i] < '0' || s[*i] > '7') return false;
        v = v * 8 + (s[*i] - '0');
        ++*i;
      }
      if (v > 255) return false;
      out->push_back(static_cast<char>(v));
      *rune = v;
      return true;
    }
    default:
      return false;
  }
  AppendUtf8(out, r);
  *rune = r;
  return true;
}

// strconv.Unquote for "..." and `...`.
bool Unquote(std::string_view lit, std::string* out) {
  out->clear();
  if (lit.size() < 2) return false;
  if (lit[0] == '`') {
    if (lit.back() != '`') return false;
    for (char c : lit.substr(1, lit.size() - 2)) {
      if (c != '\r') out->push_back(c);  // Go drops carriage returns from raw strings
    }
    return true;
  }
  if (lit[0] != '"' || lit.back() != '"') return false;
  std::string_view s = lit.substr(1, lit.size() - 2);
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '"' || c == '\n') return false;
    if (c != '\\') {
      out->push_back(c);
      ++i;
      continue;
    }
    ++i;
    uint32_t r;
    if (!UnquoteEscape(s, &i, '"', out, &r)) return false;
  }
  return true;
}

// A character literal: its rune value.
bool UnquoteChar(std::string_view lit, int64_t* rune) {
  if (lit.size() < 3 || lit[0] != '\'' || lit.back() != '\'') return false;
  std::string_view s = lit.substr(1, lit.size() - 2);
  std::string tmp;
  size_t i = 0;
  uint32_t r;
  if (s[0] == '\\') {
    i = 1;
    if (!UnquoteEscape(s, &i, '\'', &tmp, &r)) return false;
  } else {
    // One UTF-8 rune.
    unsigned char c = s[0];
    int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (static_cast<size_t>(n) > s.size()) return false;
    r = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < n; ++k) r = (r << 6) | (s[k] & 0x3F);
    i = n;
    if (s[0] == '\'') return false;
  }
  if (i != s.size()) return false;
  *rune = r;
  return true;
}

// Go's parse.newNumber + exec's idealConstant: the Value a number literal stands for.
absl::Status ParseNumber(std::string_view text, Value* out) {
  auto syntax = [&] {
    return absl::InvalidArgumentError(absl::StrCat("illegal number syntax: \"", Av(text), "\""));
  };
  if (!text.empty() && text.back() == 'i') {
    return absl::InvalidArgumentError("complex numbers are not supported");
  }
  std::string_view t = text;
  bool neg = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  if (t.empty()) return syntax();
  int base = 10;
  std::string_view body = t;
  bool base_prefix = false;
  if (t.size() > 1 && t[0] == '0') {
    char b = t[1] | 0x20;
    if (b == 'x') base = 16, body = t.substr(2), base_prefix = true;
    else if (b == 'o') base = 8, body = t.substr(2), base_prefix = true;
    else if (b == 'b') base = 2, body = t.substr(2), base_prefix = true;
    else base = 8, body = t.substr(1);
  }
  // Underscores: only between digits (or after a base prefix).
  std::string digits;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '_') {
      bool prev_ok = i > 0 ? body[i - 1] != '_' : base_prefix;
      bool next_ok = i + 1 < body.size() && body[i + 1] != '_';
      if (!prev_ok || !next_ok) return syntax();
      continue;
    }
    digits.push_back(body[i]);
  }
  bool is_hex_int = base == 16 && digits.find_first_of("pP.") == std::string::npos;
  bool looks_float = !is_hex_int && text.find_first_of(".eEpP") != std::string_view::npos;
  if (!looks_float) {
    if (digits.empty()) {
      if (base == 8 && !base_prefix) {  // plain "0"
        *out = Value::Int(0);
        return absl::OkStatus();
      }
      return syntax();
    }
    uint64_t u;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (ec == std::errc::result_out_of_range) {
      return absl::InvalidArgumentError(absl::StrCat(Av(text), " overflows int"));
    }
    if (ec != std::errc() || p != digits.data() + digits.size()) {
      // Maybe "08" style: Go's ParseInt fails, ParseFloat accepts it as decimal 8.
      if (base == 8 && !base_prefix) {
        char* end;
        std::string dec(t);
        double f = std::strtod(dec.c_str(), &end);
        if (*end == '\0') {
          *out = Value::Int(static_cast<int64_t>(neg ? -f : f));
          return absl::OkStatus();
        }
      }
      return syntax();
    }
    if (u > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
      return absl::InvalidArgumentError(absl::StrCat(Av(text), " overflows int"));
    }
    *out = Value::Int(neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u));
    return absl::OkStatus();
  }
  std::string f_text = base == 16 ? absl::StrCat("0x", digits) : std::string(t);
  if (base != 16) {
    f_text.erase(std::remove(f_text.begin(), f_text.end(), '_'), f_text.end());
  }
  if (base == 8 && base_prefix) return syntax();
  if (base == 2) return syntax();
  errno = 0;
  char* end;
  double f = std::strtod(f_text.c_str(), &end);
  if (*end != '\0' || f_text.empty() || (errno == ERANGE && std::isinf(f))) return syntax();
  *out = Value::Float(neg ? -f : f);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Parser (text/template/parse/parse.go).

Builtin LookupBuiltin(std::string_view name) {
  static constexpr std::pair<std::string_view, Builtin> kBuiltins[] = {
      {"and", Builtin::kAnd},       {"or", Builtin::kOr},         {"not", Builtin::kNot},
      {"len", Builtin::kLen},       {"index", Builtin::kIndex},   {"slice", Builtin::kSlice},
      {"print", Builtin::kPrint},   {"printf", Builtin::kPrintf}, {"println", Builtin::kPrintln},
      {"eq", Builtin::kEq},         {"ne", Builtin::kNe},         {"lt", Builtin::kLt},
      {"le", Builtin::kLe},         {"gt", Builtin::kGt},         {"ge", Builtin::kGe},
      {"html", Builtin::kHtml},     {"js", Builtin::kJs},         {"urlquery", Builtin::kUrlquery},
      {"call", Builtin::kCall},
  };
  for (const auto& [k, v] : kBuiltins) {
    if (k == name) return v;
  }
  return Builtin::kNone;
}

struct ParseError {
  std::string msg;
};

#define PHAROS_PARSE(expr)                \
  do {                                    \
    absl::Status _st = (expr);            \
    if (!_st.ok()) return _st;            \
  } while (0)

class Parser {
 public:
  Parser(std::string_view name, std::shared_ptr<const Source> src, const FuncMap& funcs,
         const ParseLimits& limits, std::vector<Token> toks,
         std::vector<std::unique_ptr<Tree>>* out)
      : name_(name), src_(std::move(src)), funcs_(funcs), limits_(limits),
        toks_(std::move(toks)), out_(out) {}

  absl::Status Run() {
    vars_ = {"$"};
    auto root = NewNode(NodeType::kList, 0);
    while (Peek().type != Item::kEOF) {
      if (Peek().type == Item::kLeftDelim) {
        size_t save = i_;
        Next();
        if (NextNonSpace().type == Item::kDefine) {
          PHAROS_PARSE(ParseDefinition());
          continue;
        }
        i_ = save;
      }
      std::unique_ptr<Node> n;
      PHAROS_PARSE(TextOrAction(&n));
      if (n == nullptr) continue;
      if (n->type == NodeType::kList && n->text == "end") return Errorf("unexpected {{end}}");
      if (n->type == NodeType::kList && n->text == "else") return Errorf("unexpected {{else}}");
      root->kids.push_back(std::move(n));
    }
    return AddTree(std::string(name_), std::move(root));
  }

 private:
  // Control-flow markers returned by TextOrAction: a kList node whose text is "end"/"else".

  // Reading past the end keeps returning the last token (EOF or a lexical error) while the
  // index still moves, so Backup() always undoes exactly one Next().
  const Token& At(size_t i) const { return toks_[std::min(i, toks_.size() - 1)]; }
  const Token& Peek() const { return At(i_); }
  const Token& Next() { return At(i_++); }
  const Token& NextNonSpace() {
    while (At(i_).type == Item::kSpace) ++i_;
    return Next();
  }
  const Token& PeekNonSpace() {
    while (At(i_).type == Item::kSpace) ++i_;
    return At(i_);
  }
  void Backup() {
    if (i_ > 0) --i_;
  }

  absl::Status Errorf(std::string_view msg) const {
    const Token& t = At(i_ > 0 ? i_ - 1 : 0);
    return absl::InvalidArgumentError(
        absl::StrCat("template: ", Av(name_), ":", t.line, ": ", Av(msg)));
  }
  absl::Status ErrorAtToken(const Token& t, std::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat("template: ", Av(name_), ":", t.line, ": ", Av(msg)));
  }
  static std::string TokenString(const Token& t) {
    switch (t.type) {
      case Item::kEOF: return "EOF";
      case Item::kError: return t.err;
      default: break;
    }
    if (t.type > Item::kKeyword || t.type == Item::kNil) {
      return absl::StrCat("<", Av(t.val), ">");
    }
    if (t.val.size() > 10) {
      size_t n = 0, k = 0;
      while (k < t.val.size() && n < 10) {
        ++k;
        while (k < t.val.size() && (t.val[k] & 0xC0) == 0x80) ++k;
        ++n;
      }
      return GoQuote(t.val.substr(0, k)) + "...";
    }
    return GoQuote(t.val);
  }
  absl::Status Unexpected(const Token& t, std::string_view context) const {
    if (t.type == Item::kError) return ErrorAtToken(t, t.err);
    return ErrorAtToken(t, absl::StrCat("unexpected ", TokenString(t), " in ", Av(context)));
  }

  std::unique_ptr<Node> NewNode(NodeType type, uint32_t pos) {
    auto n = std::make_unique<Node>();
    n->type = type;
    n->pos = pos;
    return n;
  }

  absl::Status Enter() {
    if (++nesting_ > limits_.max_nesting) {
      return Errorf(absl::StrCat("template nesting exceeds ", limits_.max_nesting, " levels"));
    }
    return absl::OkStatus();
  }

  absl::Status AddTree(std::string name, std::unique_ptr<Node> root) {
    for (auto& t : *out_) {
      if (t->name != name) continue;
      if (IsEmptyTree(t->root.get())) {
        t->root = std::move(root);
        return absl::OkStatus();
      }
      if (!IsEmptyTree(root.get())) {
        return Errorf(absl::StrCat("template: multiple definition of template \"", name, "\""));
      }
      return absl::OkStatus();
    }
    auto t = std::make_unique<Tree>();
    t->name = std::move(name);
    t->source = src_;
    t->root = std::move(root);
    out_->push_back(std::move(t));
    return absl::OkStatus();
  }

  absl::Status ParseDefinition() {
    const Token& t = NextNonSpace();
    if (t.type != Item::kString && t.type != Item::kRawString) {
      return Unexpected(t, "define clause");
    }
    std::string name;
    if (!Unquote(t.val, &name)) return Errorf("invalid syntax");
    const Token& d = NextNonSpace();
    if (d.type != Item::kRightDelim) return Unexpected(d, "define clause");
    std::vector<std::string> saved_vars = std::move(vars_);
    vars_ = {"$"};
    std::unique_ptr<Node> list, end;
    PHAROS_PARSE(ItemList(&list, &end));
    vars_ = std::move(saved_vars);
    if (end->text != "end") return Errorf("unexpected {{else}} in define clause");
    return AddTree(std::move(name), std::move(list));
  }

  // Parses a list until {{end}} or {{else}}; `*end` gets the marker.
  absl::Status ItemList(std::unique_ptr<Node>* list, std::unique_ptr<Node>* end) {
    *list = NewNode(NodeType::kList, PeekNonSpace().pos);
    while (PeekNonSpace().type != Item::kEOF) {
      std::unique_ptr<Node> n;
      PHAROS_PARSE(TextOrAction(&n));
      if (n == nullptr) continue;
      if (n->type == NodeType::kList && (n->text == "end" || n->text == "else")) {
        *end = std::move(n);
        return absl::OkStatus();
      }
      (*list)->kids.push_back(std::move(n));
    }
    if (Peek().type == Item::kError) return ErrorAtToken(Peek(), Peek().err);
    return Errorf("unexpected EOF");
  }

  absl::Status TextOrAction(std::unique_ptr<Node>* n) {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kText:
        *n = NewNode(NodeType::kText, t.pos);
        (*n)->value = Value::String(std::string(t.val));
        return absl::OkStatus();
      case Item::kLeftDelim:
        return Action(n);
      default:
        return Unexpected(t, "input");
    }
  }

  absl::Status Action(std::unique_ptr<Node>* n) {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kBlock: return BlockControl(n);
      case Item::kBreak:
      case Item::kContinue: {
        bool is_break = t.type == Item::kBreak;
        uint32_t pos = t.pos;
        const Token& d = NextNonSpace();
        if (d.type != Item::kRightDelim) {
          return Unexpected(d, is_break ? "{{break}}" : "{{continue}}");
        }
        if (range_depth_ == 0) {
          return Errorf(is_break ? "{{break}} outside {{range}}" : "{{continue}} outside {{range}}");
        }
        *n = NewNode(is_break ? NodeType::kBreak : NodeType::kContinue, pos);
        return absl::OkStatus();
      }
      case Item::kElse: {
        const Token& p = PeekNonSpace();
        *n = NewNode(NodeType::kList, p.pos);
        (*n)->text = "else";
        if (p.type == Item::kIf || p.type == Item::kWith) return absl::OkStatus();
        const Token& d = Next();
        if (d.type != Item::kRightDelim) return Unexpected(d, "else");
        return absl::OkStatus();
      }
      case Item::kEnd: {
        const Token& d = NextNonSpace();
        if (d.type != Item::kRightDelim) return Unexpected(d, "end");
        *n = NewNode(NodeType::kList, d.pos);
        (*n)->text = "end";
        return absl::OkStatus();
      }
      case Item::kIf: return Control(NodeType::kIf, "if", n);
      case Item::kRange: return Control(NodeType::kRange, "range", n);
      case Item::kWith: return Control(NodeType::kWith, "with", n);
      case Item::kTemplate: return TemplateControl(n);
      default: break;
    }
    Backup();
    const Token& p = Peek();
    *n = NewNode(NodeType::kAction, p.pos);
    return Pipeline("command", Item::kRightDelim, &(*n)->pipe);
  }

  absl::Status Control(NodeType type, std::string_view context, std::unique_ptr<Node>* n) {
    PHAROS_PARSE(Enter());
    size_t saved_vars = vars_.size();
    std::unique_ptr<Node> pipe, list, end, else_list;
    PHAROS_PARSE(Pipeline(context, Item::kRightDelim, &pipe));
    if (type == NodeType::kRange) ++range_depth_;
    PHAROS_PARSE(ItemList(&list, &end));
    if (type == NodeType::kRange) --range_depth_;
    if (end->text == "else") {
      if ((type == NodeType::kIf && Peek().type == Item::kIf) ||
          (type == NodeType::kWith && Peek().type == Item::kWith)) {
        Next();
        else_list = NewNode(NodeType::kList, end->pos);
        std::unique_ptr<Node> nested;
        PHAROS_PARSE(Control(type, context, &nested));
        else_list->kids.push_back(std::move(nested));
      } else {
        std::unique_ptr<Node> end2;
        PHAROS_PARSE(ItemList(&else_list, &end2));
        if (end2->text != "end") return Errorf("expected end; found {{else}}");
      }
    }
    vars_.resize(saved_vars);
    --nesting_;
    *n = NewNode(type, pipe->pos);
    (*n)->pipe = std::move(pipe);
    (*n)->list = std::move(list);
    (*n)->else_list = std::move(else_list);
    return absl::OkStatus();
  }

  absl::Status TemplateName(const Token& t, std::string_view context, std::string* name) {
    if (t.type != Item::kString && t.type != Item::kRawString) return Unexpected(t, context);
    if (!Unquote(t.val, name)) return Errorf("invalid syntax");
    return absl::OkStatus();
  }

  absl::Status TemplateControl(std::unique_ptr<Node>* n) {
    const Token& t = NextNonSpace();
    uint32_t pos = t.pos;
    std::string name;
    PHAROS_PARSE(TemplateName(t, "template clause", &name));
    *n = NewNode(NodeType::kTemplate, pos);
    (*n)->text = std::move(name);
    if (NextNonSpace().type != Item::kRightDelim) {
      Backup();
      PHAROS_PARSE(Pipeline("template clause", Item::kRightDelim, &(*n)->pipe));
    }
    return absl::OkStatus();
  }

  absl::Status BlockControl(std::unique_ptr<Node>* n) {
    PHAROS_PARSE(Enter());
    const Token& t = NextNonSpace();
    uint32_t pos = t.pos;
    std::string name;
    PHAROS_PARSE(TemplateName(t, "block clause", &name));
    *n = NewNode(NodeType::kTemplate, pos);
    (*n)->text = name;
    PHAROS_PARSE(Pipeline("block clause", Item::kRightDelim, &(*n)->pipe));
    std::vector<std::string> saved_vars = std::move(vars_);
    vars_ = {"$"};
    int saved_range = range_depth_;
    range_depth_ = 0;
    std::unique_ptr<Node> list, end;
    PHAROS_PARSE(ItemList(&list, &end));
    vars_ = std::move(saved_vars);
    range_depth_ = saved_range;
    if (end->text != "end") return Errorf("unexpected {{else}} in block clause");
    --nesting_;
    return AddTree(std::move(name), std::move(list));
  }

  absl::Status Pipeline(std::string_view context, Item end, std::unique_ptr<Node>* out) {
    const Token& first = PeekNonSpace();
    auto pipe = NewNode(NodeType::kPipe, first.pos);
  decls:
    if (PeekNonSpace().type == Item::kVariable) {
      size_t v_index = i_;
      const Token& v = Next();
      const Token& after = Peek();
      bool after_is_space = after.type == Item::kSpace;
      const Token& next = PeekNonSpace();
      if (next.type == Item::kAssign || next.type == Item::kDeclare) {
        pipe->is_assign = next.type == Item::kAssign;
        NextNonSpace();
        pipe->decl.emplace_back(v.val);
        vars_.emplace_back(v.val);
      } else if (next.type == Item::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decl.emplace_back(v.val);
        vars_.emplace_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          Item p = PeekNonSpace().type;
          if (p == Item::kVariable || p == Item::kRightDelim || p == Item::kRightParen) {
            goto decls;
          }
          return Errorf("range can only initialize variables");
        }
        return Errorf(absl::StrCat("too many declarations in ", Av(context)));
      } else {
        (void)after_is_space;
        i_ = v_index;
      }
    }
    while (true) {
      const Token& t = NextNonSpace();
      if (t.type == end) {
        if (pipe->kids.empty()) return Errorf(absl::StrCat("missing value for ", Av(context)));
        for (size_t k = 1; k < pipe->kids.size(); ++k) {
          NodeType ft = pipe->kids[k]->kids[0]->type;
          if (ft == NodeType::kBool || ft == NodeType::kDot || ft == NodeType::kNil ||
              ft == NodeType::kNumber || ft == NodeType::kString) {
            return Errorf(
                absl::StrCat("non executable command in pipeline stage ", k + 1));
          }
        }
        *out = std::move(pipe);
        return absl::OkStatus();
      }
      switch (t.type) {
        case Item::kBool: case Item::kCharConstant: case Item::kDot: case Item::kField:
        case Item::kIdentifier: case Item::kNumber: case Item::kNil: case Item::kRawString:
        case Item::kString: case Item::kVariable: case Item::kLeftParen: {
          Backup();
          std::unique_ptr<Node> cmd;
          PHAROS_PARSE(Command(&cmd));
          pipe->kids.push_back(std::move(cmd));
          break;
        }
        default:
          return Unexpected(t, context);
      }
    }
  }

  absl::Status Command(std::unique_ptr<Node>* out) {
    auto cmd = NewNode(NodeType::kCommand, PeekNonSpace().pos);
    while (true) {
      PeekNonSpace();
      std::unique_ptr<Node> operand;
      PHAROS_PARSE(Operand(&operand));
      if (operand) cmd->kids.push_back(std::move(operand));
      const Token& t = Next();
      if (t.type == Item::kSpace) continue;
      if (t.type == Item::kRightDelim || t.type == Item::kRightParen) {
        Backup();
      } else if (t.type != Item::kPipe) {
        return Unexpected(t, "operand");
      }
      break;
    }
    if (cmd->kids.empty()) return Errorf("empty command");
    *out = std::move(cmd);
    return absl::OkStatus();
  }

  absl::Status Operand(std::unique_ptr<Node>* out) {
    std::unique_ptr<Node> node;
    PHAROS_PARSE(Term(&node));
    if (node == nullptr) return absl::OkStatus();
    if (Peek().type == Item::kField) {
      uint32_t chain_pos = Peek().pos;
      std::vector<std::string> fields;
      while (Peek().type == Item::kField) fields.emplace_back(Next().val.substr(1));
      switch (node->type) {
        case NodeType::kField:
        case NodeType::kVariable:
          for (auto& f : fields) node->idents.push_back(std::move(f));
          node->pos = chain_pos;
          break;
        case NodeType::kBool: case NodeType::kString: case NodeType::kNumber:
        case NodeType::kNil: case NodeType::kDot:
          return Errorf(absl::StrCat("unexpected . after term ", GoQuote(NodeString(*node))));
        default: {
          auto chain = NewNode(NodeType::kChain, chain_pos);
          chain->idents = std::move(fields);
          chain->kids.push_back(std::move(node));
          node = std::move(chain);
        }
      }
    }
    *out = std::move(node);
    return absl::OkStatus();
  }

  absl::Status Term(std::unique_ptr<Node>* out) {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kIdentifier: {
        auto n = NewNode(NodeType::kIdentifier, t.pos);
        n->text = std::string(t.val);
        auto it = funcs_.find(t.val);
        if (it != funcs_.end()) {
          n->func = &it->second;
        } else {
          n->builtin = LookupBuiltin(t.val);
          if (n->builtin == Builtin::kNone) {
            return Errorf(absl::StrCat("function \"", Av(t.val), "\" not defined"));
          }
        }
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kDot: *out = NewNode(NodeType::kDot, t.pos); return absl::OkStatus();
      case Item::kNil: *out = NewNode(NodeType::kNil, t.pos); return absl::OkStatus();
      case Item::kVariable: {
        auto n = NewNode(NodeType::kVariable, t.pos);
        n->idents.emplace_back(t.val);
        bool found = false;
        for (const auto& v : vars_) found = found || v == t.val;
        if (!found) return Errorf(absl::StrCat("undefined variable \"", Av(t.val), "\""));
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kField: {
        auto n = NewNode(NodeType::kField, t.pos);
        n->idents.emplace_back(t.val.substr(1));
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kBool: {
        auto n = NewNode(NodeType::kBool, t.pos);
        n->value = Value::Bool(t.val == "true");
        n->text = std::string(t.val);
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kCharConstant: {
        auto n = NewNode(NodeType::kNumber, t.pos);
        int64_t r;
        if (!UnquoteChar(t.val, &r)) {
          return Errorf(absl::StrCat("malformed character constant: ", Av(t.val)));
        }
        n->value = Value::Int(r);
        n->text = std::string(t.val);
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kNumber: {
        auto n = NewNode(NodeType::kNumber, t.pos);
        absl::Status st = ParseNumber(t.val, &n->value);
        if (!st.ok()) return Errorf(Sv(st.message()));
        n->text = std::string(t.val);
        *out = std::move(n);
        return absl::OkStatus();
      }
      case Item::kLeftParen: {
        PHAROS_PARSE(Enter());
        PHAROS_PARSE(Pipeline("parenthesized pipeline", Item::kRightParen, out));
        --nesting_;
        return absl::OkStatus();
      }
      case Item::kString:
      case Item::kRawString: {
        auto n = NewNode(NodeType::kString, t.pos);
        std::string s;
        if (!Unquote(t.val, &s)) return Errorf("invalid syntax");
        n->value = Value::String(std::move(s));
        n->text = std::string(t.val);
        *out = std::move(n);
        return absl::OkStatus();
      }
      default:
        Backup();
        return absl::OkStatus();
    }
  }
#undef PHAROS_PARSE

  std::string_view name_;
  std::shared_ptr<const Source> src_;
  const FuncMap& funcs_;
  const ParseLimits& limits_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  std::vector<std::unique_ptr<Tree>>* out_;
  std::vector<std::string> vars_;
  int range_depth_ = 0;
  int nesting_ = 0;
};

void AppendNodeString(std::string* out, const Node& n);

void AppendListString(std::string* out, const Node* list) {
  if (list == nullptr) return;
  for (const auto& k : list->kids) AppendNodeString(out, *k);
}

void AppendNodeString(std::string* out, const Node& n) {
  switch (n.type) {
    case NodeType::kList: AppendListString(out, &n); return;
    case NodeType::kText: out->append(n.value.AsString()); return;
    case NodeType::kAction:
      out->append("{{");
      AppendNodeString(out, *n.pipe);
      out->append("}}");
      return;
    case NodeType::kIf:
    case NodeType::kRange:
    case NodeType::kWith: {
      const char* kw = n.type == NodeType::kIf ? "if" : n.type == NodeType::kRange ? "range" : "with";
      absl::StrAppend(out, "{{", kw, " ");
      AppendNodeString(out, *n.pipe);
      out->append("}}");
      AppendListString(out, n.list.get());
      if (n.else_list) {
        out->append("{{else}}");
        AppendListString(out, n.else_list.get());
      }
      out->append("{{end}}");
      return;
    }
    case NodeType::kTemplate:
      absl::StrAppend(out, "{{template ", GoQuote(n.text));
      if (n.pipe) {
        out->push_back(' ');
        AppendNodeString(out, *n.pipe);
      }
      out->append("}}");
      return;
    case NodeType::kBreak: out->append("{{break}}"); return;
    case NodeType::kContinue: out->append("{{continue}}"); return;
    case NodeType::kPipe:
      if (!n.decl.empty()) {
        for (size_t i = 0; i < n.decl.size(); ++i) {
          if (i > 0) out->append(", ");
          out->append(n.decl[i]);
        }
        out->append(n.is_assign ? " = " : " := ");
      }
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i > 0) out->append(" | ");
        AppendNodeString(out, *n.kids[i]);
      }
      return;
    case NodeType::kCommand:
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i > 0) out->push_back(' ');
        if (n.kids[i]->type == NodeType::kPipe) {
          out->push_back('(');
          AppendNodeString(out, *n.kids[i]);
          out->push_back(')');
        } else {
          AppendNodeString(out, *n.kids[i]);
        }
      }
      return;
    case NodeType::kField:
      for (const auto& id : n.idents) absl::StrAppend(out, ".", id);
      return;
    case NodeType::kVariable:
      for (size_t i = 0; i < n.idents.size(); ++i) {
        if (i > 0) out->push_back('.');
        out->append(n.idents[i]);
      }
      return;
    case NodeType::kChain:
      if (n.kids[0]->type == NodeType::kPipe) {
        out->push_back('(');
        AppendNodeString(out, *n.kids[0]);
        out->push_back(')');
      } else {
        AppendNodeString(out, *n.kids[0]);
      }
      for (const auto& id : n.idents) absl::StrAppend(out, ".", id);
      return;
    case NodeType::kIdentifier: out->append(n.text); return;
    case NodeType::kDot: out->push_back('.'); return;
    case NodeType::kNil: out->append("nil"); return;
    case NodeType::kBool:
    case NodeType::kNumber:
    case NodeType::kString: out->append(n.text); return;
  }
}

}  // namespace

std::string NodeString(const Node& n) {
  std::string s;
  AppendNodeString(&s, n);
  return s;
}

bool IsEmptyTree(const Node* root) {
  if (root == nullptr) return true;
  for (const auto& k : root->kids) {
    if (k->type != NodeType::kText) return false;
    for (char c : k->value.AsString()) {
      if (!IsSpace(c)) return false;
    }
  }
  return true;
}

absl::Status ParseTrees(std::string_view name, std::string_view text, const FuncMap& funcs,
                        const ParseLimits& limits, std::vector<std::unique_ptr<Tree>>* out) {
  if (text.size() > limits.max_text_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("template: ", Av(name), ": text is ",
                                                   text.size(), " bytes, over the limit of ",
                                                   limits.max_text_bytes));
  }
  auto src = std::make_shared<Source>();
  src->parse_name = std::string(name);
  src->text = std::string(text);
  std::vector<Token> toks;
  Lexer(src->text).Run(&toks);
  // A lexical error is the last token; the parser reports it when it gets there, so an
  // earlier syntax error wins, as in Go.
  Parser p(src->parse_name, src, funcs, limits, std::move(toks), out);
  return p.Run();
}

}  // namespace pharos::alerting::tmpl::internal
