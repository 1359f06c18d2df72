#pragma once

// PromQL tokenizer (Prometheus 3.x promql/parser/lex.go). Exposed for tests and tools; the
// parser is the only production user.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pharos::promql {

enum class TokenType {
  kEof,
  kError,             // `error` holds the message
  kIdentifier,        // foo, sum, by, offset (keywords are classified by the parser)
  kMetricIdentifier,  // foo:bar
  kNumber,            // 1, 1.5e3, 0x1F, Inf, NaN (no sign)
  kDuration,          // 5m, 1h30m, 10ms
  kString,            // "…", '…', `…` (raw text, still quoted)
  kLeftParen, kRightParen, kLeftBrace, kRightBrace, kLeftBracket, kRightBracket,
  kComma, kColon,
  kAssign,     // =
  kEqlRegex,   // =~
  kNeqRegex,   // !~
  kAdd, kSub, kMul, kDiv, kMod, kPow,
  kEqlc, kNeq, kLss, kLte, kGtr, kGte,
  kTrimUpper,  // </
  kTrimLower,  // >/
  kAt,
};

struct Token {
  TokenType type = TokenType::kEof;
  int32_t pos = 0;        // byte offset of the first character
  std::string_view text;  // slice of the input (empty for kError)
  std::string error;      // kError only: the message

  int32_t end() const { return pos + static_cast<int32_t>(text.size()); }
};

// Tokenizes `input` up to and including the first kEof or kError token. Comments and white
// space are dropped. Token texts point into `input`, which must outlive the result.
std::vector<Token> Lex(std::string_view input);

// Go-style unquoting of a "…", '…' or `…` literal (Prometheus strutil.Unquote): \a \b \f \n
// \r \t \v \\ \" or \' (matching quote), \NNN octal, \xHH, \uHHHH, \UHHHHHHHH.
[[nodiscard]] absl::StatusOr<std::string> UnquoteString(std::string_view quoted);

// Number literal text (as lexed, without sign) to its value, Go ParseInt(base 0) then
// ParseFloat semantics: 010 == 8, 0x1F == 31, 1_000 == 1000, Inf, NaN.
[[nodiscard]] absl::StatusOr<double> ParseNumberLiteral(std::string_view text);

// Prometheus model.ParseDuration: "1y2w3d4h5m6s7ms" (units in that order, each once) or "0".
[[nodiscard]] absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// model.Duration.String(): 90000 -> "1m30s", 0 -> "0s". Requires ms >= 0.
std::string FormatDurationMs(int64_t ms);

// Go strconv.Quote for label values and string literals (double quotes, \x for bad UTF-8).
std::string QuoteString(std::string_view s);

// True if s matches [a-zA-Z_:][a-zA-Z0-9_:]* (legacy metric name).
bool IsLegacyMetricName(std::string_view s);
// True if s matches [a-zA-Z_][a-zA-Z0-9_]* (legacy label name).
bool IsLegacyLabelName(std::string_view s);

}  // namespace pharos::promql
