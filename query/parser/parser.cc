#include "query/parser/parser.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "query/parser/internal/strings.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "query/parser/functions.h"
#include "query/parser/lexer.h"
#include "query/parser/printer.h"
#include "re2/re2.h"

namespace pharos::promql {
namespace {

// Binary operator precedences, lowest first (Prometheus generated_parser.y).
constexpr int kPrecOr = 1;
constexpr int kPrecAnd = 2;
constexpr int kPrecCmp = 3;
constexpr int kPrecAdd = 4;
constexpr int kPrecMul = 5;
constexpr int kPrecPow = 6;

// Deepest nesting accepted; guards the recursive-descent stack against hostile input.
constexpr int kMaxDepth = 500;

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr: return kPrecOr;
    case BinaryOp::kAnd: case BinaryOp::kUnless: return kPrecAnd;
    case BinaryOp::kAdd: case BinaryOp::kSub: return kPrecAdd;
    case BinaryOp::kMul: case BinaryOp::kDiv: case BinaryOp::kMod: case BinaryOp::kAtan2:
    case BinaryOp::kTrimUpper: case BinaryOp::kTrimLower:
      return kPrecMul;
    case BinaryOp::kPow: return kPrecPow;
    default: return kPrecCmp;
  }
}

std::optional<AggregateOp> AggregatorFromWord(std::string_view lower) {
  static constexpr std::pair<std::string_view, AggregateOp> kAggs[] = {
      {"sum", AggregateOp::kSum},         {"avg", AggregateOp::kAvg},
      {"count", AggregateOp::kCount},     {"min", AggregateOp::kMin},
      {"max", AggregateOp::kMax},         {"group", AggregateOp::kGroup},
      {"stddev", AggregateOp::kStddev},   {"stdvar", AggregateOp::kStdvar},
      {"topk", AggregateOp::kTopK},       {"bottomk", AggregateOp::kBottomK},
      {"count_values", AggregateOp::kCountValues}, {"quantile", AggregateOp::kQuantile},
      {"limitk", AggregateOp::kLimitK},   {"limit_ratio", AggregateOp::kLimitRatio},
  };
  for (const auto& [name, op] : kAggs) {
    if (name == lower) return op;
  }
  return std::nullopt;
}

bool IsKeywordWord(std::string_view lower) {
  static constexpr std::string_view kKeywords[] = {
      "bool", "by", "group_left", "group_right", "ignoring", "offset", "on", "without",
      "anchored", "smoothed", "fill", "fill_left", "fill_right"};
  for (auto k : kKeywords) {
    if (k == lower) return true;
  }
  return false;
}

std::optional<BinaryOp> OperatorWord(std::string_view lower) {
  if (lower == "and") return BinaryOp::kAnd;
  if (lower == "or") return BinaryOp::kOr;
  if (lower == "unless") return BinaryOp::kUnless;
  if (lower == "atan2") return BinaryOp::kAtan2;
  return std::nullopt;
}

// Words that cannot name a metric (Prometheus' metric_identifier rule excludes them).
bool IsReservedWord(std::string_view lower) {
  static constexpr std::string_view kReserved[] = {
      "bool", "on", "ignoring", "group_left", "group_right", "atan2"};
  for (auto k : kReserved) {
    if (k == lower) return true;
  }
  return false;
}

std::string Lower(std::string_view s) { return internal::AsciiLowerString(s); }

bool IsWord(const Token& t, std::string_view lower_kw) {
  return t.type == TokenType::kIdentifier && internal::EqualsIgnoreCase(t.text, lower_kw);
}

std::optional<BinaryOp> BinaryOpOf(const Token& t) {
  switch (t.type) {
    case TokenType::kAdd: return BinaryOp::kAdd;
    case TokenType::kSub: return BinaryOp::kSub;
    case TokenType::kMul: return BinaryOp::kMul;
    case TokenType::kDiv: return BinaryOp::kDiv;
    case TokenType::kMod: return BinaryOp::kMod;
    case TokenType::kPow: return BinaryOp::kPow;
    case TokenType::kEqlc: return BinaryOp::kEql;
    case TokenType::kNeq: return BinaryOp::kNeq;
    case TokenType::kLss: return BinaryOp::kLss;
    case TokenType::kLte: return BinaryOp::kLte;
    case TokenType::kGtr: return BinaryOp::kGtr;
    case TokenType::kGte: return BinaryOp::kGte;
    case TokenType::kTrimUpper: return BinaryOp::kTrimUpper;
    case TokenType::kTrimLower: return BinaryOp::kTrimLower;
    case TokenType::kIdentifier: return OperatorWord(Lower(t.text));
    default: return std::nullopt;
  }
}

// Prometheus Item.desc(), used in "unexpected …" messages.
std::string Describe(const Token& t) {
  switch (t.type) {
    case TokenType::kEof: return "end of input";
    case TokenType::kError: return t.error;
    case TokenType::kIdentifier: {
      std::string lower = Lower(t.text);
      if (AggregatorFromWord(lower)) return internal::Cat("<aggr:", t.text, ">");
      if (IsKeywordWord(lower)) return internal::Cat("<", t.text, ">");
      if (OperatorWord(lower)) return internal::Cat("<op:", t.text, ">");
      return internal::Cat("identifier ", QuoteString(t.text));
    }
    case TokenType::kMetricIdentifier: return internal::Cat("metric identifier ", QuoteString(t.text));
    case TokenType::kNumber: return internal::Cat("number ", QuoteString(t.text));
    case TokenType::kDuration: return internal::Cat("duration ", QuoteString(t.text));
    case TokenType::kString:
      if (t.text.size() > 10) return internal::Cat("string ", QuoteString(t.text.substr(0, 10)), "...");
      return internal::Cat("string ", QuoteString(t.text));
    case TokenType::kAdd: case TokenType::kSub: case TokenType::kMul: case TokenType::kDiv:
    case TokenType::kMod: case TokenType::kPow: case TokenType::kEqlc: case TokenType::kNeq:
    case TokenType::kLss: case TokenType::kLte: case TokenType::kGtr: case TokenType::kGte:
    case TokenType::kEqlRegex: case TokenType::kNeqRegex: case TokenType::kAt:
    case TokenType::kTrimUpper: case TokenType::kTrimLower:
      return internal::Cat("<op:", t.text, ">");
    default:
      return QuoteString(t.text);
  }
}

PosRange Merge(PosRange a, PosRange b) { return {a.start, b.end}; }
PosRange TokRange(const Token& t) { return {t.pos, t.end()}; }

// Truncating conversion of float seconds to milliseconds, as Prometheus'
// time.Duration(v*1000)*time.Millisecond.
int64_t SecondsToMs(double s) {
  // Round to whole microseconds first so that decimal literals such as 1.001s (1001ms) do not
  // lose a millisecond to binary rounding, then truncate to milliseconds as Prometheus does.
  double ms = std::round(s * 1e6) / 1000;
  if (std::isnan(ms)) return 0;
  if (ms >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (ms <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(ms);
}

class Parser {
 public:
  Parser(std::string_view input, const ParserOptions& options)
      : input_(input), tokens_(Lex(input)), options_(options) {}

  absl::StatusOr<ExprPtr> ParseTop() {
    if (Peek().type == TokenType::kEof) return Error({0, 0}, "no expression found in input");
    PHAROS_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpression(0));
    if (Peek().type != TokenType::kEof) return Unexpected(Peek(), "", "");
    PHAROS_RETURN_IF_ERROR(Check(*expr).status());
    return expr;
  }

  absl::StatusOr<std::vector<LabelMatcher>> ParseSelectorOnly() {
    if (Peek().type == TokenType::kEof) return Error({0, 0}, "no expression found in input");
    ExprPtr expr;
    const Token& t = Peek();
    if (t.type == TokenType::kLeftBrace ||
        ((t.type == TokenType::kIdentifier || t.type == TokenType::kMetricIdentifier) &&
         !IsReservedWord(Lower(t.text)))) {
      PHAROS_ASSIGN_OR_RETURN(expr, ParseVectorSelector());
    } else {
      return Unexpected(t, "", "");
    }
    if (Peek().type != TokenType::kEof) return Unexpected(Peek(), "", "");
    PHAROS_RETURN_IF_ERROR(Check(*expr).status());
    return std::move(expr->As<VectorSelector>().matchers);
  }

 private:
  // ---- Tokens and errors ----------------------------------------------------------------

  const Token& Peek(size_t k = 0) const {
    size_t i = std::min(idx_ + k, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[std::min(idx_, tokens_.size() - 1)];
    if (idx_ < tokens_.size() - 1) ++idx_;
    return t;
  }

  [[nodiscard]] absl::Status Error(PosRange r, std::string_view msg) const {
    int32_t pos = r.start;
    if (pos < 0 || static_cast<size_t>(pos) > input_.size()) {
      return absl::InvalidArgumentError(internal::Cat("invalid position: parse error: ", msg));
    }
    int line = 1;
    int32_t last_break = -1;
    for (int32_t i = 0; i < pos; ++i) {
      if (input_[i] == '\n') {
        ++line;
        last_break = i;
      }
    }
    return absl::InvalidArgumentError(
        internal::Cat(line, ":", pos - last_break, ": parse error: ", msg));
  }

  [[nodiscard]] absl::Status Unexpected(const Token& t, std::string_view context, std::string_view expected) const {
    if (t.type == TokenType::kError) return Error(TokRange(t), t.error);
    std::string msg = internal::Cat("unexpected ", Describe(t));
    if (!context.empty()) internal::CatAppend(&msg, " in ", context);
    if (!expected.empty()) internal::CatAppend(&msg, ", expected ", expected);
    return Error(TokRange(t), msg);
  }

  [[nodiscard]] absl::Status Expect(TokenType type, std::string_view context, std::string_view expected) {
    if (Peek().type != type) return Unexpected(Peek(), context, expected);
    Next();
    return absl::OkStatus();
  }

  // ---- Expressions ------------------------------------------------------------------------

  absl::StatusOr<ExprPtr> ParseExpression(int min_prec) {
    if (++depth_ > kMaxDepth) return Error(TokRange(Peek()), "expression nested too deeply");
    PHAROS_ASSIGN_OR_RETURN(ExprPtr lhs, ParseUnary());
    int chain = 0;
    while (true) {
      const Token& t = Peek();
      std::optional<BinaryOp> op = BinaryOpOf(t);
      if (!op || Precedence(*op) < min_prec) break;
      if ((*op == BinaryOp::kTrimUpper || *op == BinaryOp::kTrimLower) &&
          !options_.enable_experimental) {
        return Error(TokRange(t), internal::Cat("operator \"", t.text, "\" is experimental and not enabled"));
      }
      Next();
      // Each operator in a chain deepens the (left-leaning) tree by one level.
      ++chain;
      if (++depth_ > kMaxDepth) return Error(TokRange(t), "expression nested too deeply");
      auto bin = std::make_unique<BinaryExpr>();
      bin->op = *op;
      PHAROS_RETURN_IF_ERROR(ParseBinaryModifiers(*bin));
      int next_prec = *op == BinaryOp::kPow ? kPrecPow : Precedence(*op) + 1;
      PHAROS_ASSIGN_OR_RETURN(ExprPtr rhs, ParseExpression(next_prec));
      bin->pos = Merge(lhs->pos, rhs->pos);
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      lhs = std::move(bin);
    }
    depth_ -= chain + 1;
    return lhs;
  }

  absl::StatusOr<ExprPtr> ParseUnary() {
    const Token& t = Peek();
    if (t.type == TokenType::kAdd || t.type == TokenType::kSub) {
      Token op = Next();
      if (++depth_ > kMaxDepth) return Error(TokRange(op), "expression nested too deeply");
      // Same precedence as MUL: only ^ and the postfix modifiers bind tighter.
      PHAROS_ASSIGN_OR_RETURN(ExprPtr operand, ParseExpression(kPrecPow));
      --depth_;
      if (operand->kind() == ExprKind::kNumberLiteral) {
        auto& n = operand->As<NumberLiteral>();
        if (op.type == TokenType::kSub) n.value = -n.value;
        n.pos.start = op.pos;
        return operand;
      }
      auto u = std::make_unique<UnaryExpr>();
      u->op = op.type == TokenType::kSub ? UnaryOp::kSub : UnaryOp::kAdd;
      u->pos = {op.pos, operand->pos.end};
      u->expr = std::move(operand);
      return ExprPtr(std::move(u));
    }
    PHAROS_ASSIGN_OR_RETURN(ExprPtr primary, ParsePrimary());
    return ParsePostfix(std::move(primary));
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kNumber: {
        Token tok = Next();
        auto n = std::make_unique<NumberLiteral>();
        absl::StatusOr<double> v = ParseNumberLiteral(tok.text);
        if (!v.ok()) return Error(TokRange(tok), internal::Cat("error parsing number: ", std::string(v.status().message())));
        n->value = *v;
        n->pos = TokRange(tok);
        return ExprPtr(std::move(n));
      }
      case TokenType::kDuration: {
        Token tok = Next();
        PHAROS_ASSIGN_OR_RETURN(int64_t ms, DurationTokenMs(tok));
        auto n = std::make_unique<NumberLiteral>();
        n->value = static_cast<double>(ms) / 1000.0;
        n->is_duration = true;
        n->pos = TokRange(tok);
        return ExprPtr(std::move(n));
      }
      case TokenType::kString: {
        Token tok = Next();
        PHAROS_ASSIGN_OR_RETURN(std::string value, Unquote(tok));
        auto s = std::make_unique<StringLiteral>();
        s->value = std::move(value);
        s->pos = TokRange(tok);
        return ExprPtr(std::move(s));
      }
      case TokenType::kLeftParen: {
        Token open = Next();
        PHAROS_ASSIGN_OR_RETURN(ExprPtr inner, ParseExpression(0));
        if (Peek().type != TokenType::kRightParen) return Unexpected(Peek(), "", "");
        Token close = Next();
        auto p = std::make_unique<ParenExpr>();
        p->expr = std::move(inner);
        p->pos = {open.pos, close.end()};
        return ExprPtr(std::move(p));
      }
      case TokenType::kLeftBrace:
        return ParseVectorSelector();
      case TokenType::kIdentifier: {
        std::string lower = Lower(t.text);
        const Token& next = Peek(1);
        if (std::optional<AggregateOp> agg = AggregatorFromWord(lower);
            agg && (next.type == TokenType::kLeftParen || IsWord(next, "by") ||
                    IsWord(next, "without"))) {
          return ParseAggregate(*agg);
        }
        if (next.type == TokenType::kLeftParen && !IsKeywordWord(lower) &&
            !OperatorWord(lower) && !AggregatorFromWord(lower)) {
          return ParseCall();
        }
        if (AggregatorFromWord(lower) && next.type != TokenType::kLeftBrace) {
          // `sum` followed by anything else: Prometheus reports it in aggregation context
          // unless it can be a metric name (end of input, operator, ...).
          if (next.type == TokenType::kIdentifier || next.type == TokenType::kNumber ||
              next.type == TokenType::kString || next.type == TokenType::kDuration) {
            Next();
            return Unexpected(Peek(), "aggregation", "");
          }
        }
        if (IsReservedWord(lower)) return Unexpected(t, "", "");
        return ParseVectorSelector();
      }
      case TokenType::kMetricIdentifier:
        return ParseVectorSelector();
      default:
        return Unexpected(t, "", "");
    }
  }

  // A duration token in milliseconds. Zero ("0s") is a valid literal (older Prometheus
  // rejected it everywhere; 3.x accepts it, e.g. [30m+0s]); ranges and steps are checked for
  // being positive where they are used.
  absl::StatusOr<int64_t> DurationTokenMs(const Token& tok) const {
    absl::StatusOr<int64_t> ms = ParseDurationMs(tok.text);
    if (!ms.ok()) return Error(TokRange(tok), std::string(ms.status().message()));
    return *ms;
  }

  absl::StatusOr<std::string> Unquote(const Token& tok) const {
    absl::StatusOr<std::string> s = UnquoteString(tok.text);
    if (!s.ok()) {
      return Error(TokRange(tok), internal::Cat("error unquoting string ", QuoteString(tok.text),
                                                ": ", std::string(s.status().message())));
    }
    return std::move(*s);
  }

  // ---- Selectors --------------------------------------------------------------------------

  absl::StatusOr<ExprPtr> ParseVectorSelector() {
    auto vs = std::make_unique<VectorSelector>();
    const Token& first = Peek();
    vs->pos = TokRange(first);
    if (first.type != TokenType::kLeftBrace) {
      Token name = Next();
      vs->name = std::string(name.text);
    }
    if (Peek().type == TokenType::kLeftBrace) {
      Next();
      while (true) {
        const Token& t = Peek();
        if (t.type == TokenType::kRightBrace) break;
        PHAROS_RETURN_IF_ERROR(ParseLabelMatcher(*vs));
        const Token& sep = Peek();
        if (sep.type == TokenType::kComma) {
          Next();
          continue;
        }
        if (sep.type == TokenType::kRightBrace) break;
        return Unexpected(sep, "label matching", "\",\" or \"}\"");
      }
      Token close = Next();
      vs->pos.end = close.end();
    }
    if (!vs->name.empty()) {
      vs->matchers.push_back({MatchType::kEqual, std::string(kMetricNameLabel), vs->name});
    }
    return ExprPtr(std::move(vs));
  }

  [[nodiscard]] absl::Status ParseLabelMatcher(VectorSelector& vs) {
    const Token& name_tok = Peek();
    const int32_t label_pos = name_tok.pos;
    std::string name;
    if (name_tok.type == TokenType::kIdentifier) {
      name = std::string(name_tok.text);
      Next();
    } else if (name_tok.type == TokenType::kString) {
      Token tok = Next();
      PHAROS_ASSIGN_OR_RETURN(name, Unquote(tok));
      const Token& after = Peek();
      if (after.type == TokenType::kComma || after.type == TokenType::kRightBrace) {
        // {"metric.name"}: a bare quoted string is the metric name.
        vs.matchers.push_back({MatchType::kEqual, std::string(kMetricNameLabel), std::move(name)});
        return absl::OkStatus();
      }
    } else {
      return Unexpected(name_tok, "label matching", "identifier or \"}\"");
    }
    const Token& op_tok = Peek();
    MatchType type;
    switch (op_tok.type) {
      case TokenType::kAssign: type = MatchType::kEqual; break;
      case TokenType::kNeq: type = MatchType::kNotEqual; break;
      case TokenType::kEqlRegex: type = MatchType::kRegexMatch; break;
      case TokenType::kNeqRegex: type = MatchType::kRegexNoMatch; break;
      default: return Unexpected(op_tok, "label matching", "label matching operator");
    }
    Next();
    const Token& value_tok = Peek();
    if (value_tok.type != TokenType::kString) {
      return Unexpected(value_tok, "label matching", "string");
    }
    Token vt = Next();
    PHAROS_ASSIGN_OR_RETURN(std::string value, Unquote(vt));
    if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
      RE2 re("^(?s:" + value + ")$", RE2::Quiet);
      if (!re.ok()) {
        RE2 bare(value, RE2::Quiet);  // for an error text that does not show our anchoring
        return Error({label_pos, vt.end()}, internal::Cat("error parsing regexp: ",
                                                 bare.ok() ? re.error() : bare.error()));
      }
    }
    vs.matchers.push_back({type, std::move(name), std::move(value)});
    return absl::OkStatus();
  }

  // ---- Aggregations and calls ---------------------------------------------------------------

  absl::StatusOr<std::vector<std::string>> ParseGroupingLabels() {
    if (Peek().type != TokenType::kLeftParen) return Unexpected(Peek(), "grouping opts", "\"(\"");
    Next();
    std::vector<std::string> labels;
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kRightParen) break;
      if (t.type == TokenType::kIdentifier) {
        labels.emplace_back(t.text);
        Next();
      } else if (t.type == TokenType::kString) {
        Token tok = Next();
        PHAROS_ASSIGN_OR_RETURN(std::string label, Unquote(tok));
        labels.push_back(std::move(label));
      } else {
        return Unexpected(t, "grouping opts", "label");
      }
      const Token& sep = Peek();
      if (sep.type == TokenType::kComma) {
        Next();
        continue;
      }
      if (sep.type == TokenType::kRightParen) break;
      return Unexpected(sep, "grouping opts", "\",\" or \")\"");
    }
    Next();
    return labels;
  }

  // Parses `( args )`, returning the arguments and the end offset of `)`.
  absl::StatusOr<std::vector<ExprPtr>> ParseCallArgs(int32_t* end) {
    if (Peek().type != TokenType::kLeftParen) return Unexpected(Peek(), "", "");
    Next();
    std::vector<ExprPtr> args;
    if (Peek().type == TokenType::kRightParen) {
      *end = Next().end();
      return args;
    }
    while (true) {
      PHAROS_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpression(0));
      args.push_back(std::move(arg));
      const Token& sep = Peek();
      if (sep.type == TokenType::kComma) {
        Token comma = Next();
        if (Peek().type == TokenType::kRightParen) {
          return Error(TokRange(comma), "trailing commas not allowed in function call args");
        }
        continue;
      }
      if (sep.type == TokenType::kRightParen) {
        *end = Next().end();
        return args;
      }
      return Unexpected(sep, "", "");
    }
  }

  absl::StatusOr<ExprPtr> ParseAggregate(AggregateOp op) {
    Token op_tok = Next();
    auto agg = std::make_unique<AggregateExpr>();
    agg->op = op;
    if (IsExperimentalAggregateOp(op) && !options_.enable_experimental) {
      return Error(TokRange(op_tok),
                   "limitk() and limit_ratio() are experimental and must be enabled with "
                   "--enable-feature=promql-experimental-functions");
    }
    bool have_modifier = false;
    auto parse_modifier = [&]() -> absl::Status {
      const Token& t = Peek();
      if (IsWord(t, "by") || IsWord(t, "without")) {
        agg->without = IsWord(t, "without");
        Next();
        PHAROS_ASSIGN_OR_RETURN(agg->grouping, ParseGroupingLabels());
        have_modifier = true;
      }
      return absl::OkStatus();
    };
    PHAROS_RETURN_IF_ERROR(parse_modifier());
    if (Peek().type != TokenType::kLeftParen) return Unexpected(Peek(), "aggregation", "");
    int32_t end = 0;
    PHAROS_ASSIGN_OR_RETURN(std::vector<ExprPtr> args, ParseCallArgs(&end));
    agg->pos = {op_tok.pos, end};
    if (!have_modifier) {
      PHAROS_RETURN_IF_ERROR(parse_modifier());
      if (have_modifier) agg->pos.end = tokens_[idx_ - 1].end();
    }
    if (args.empty()) return Error(agg->pos, "no arguments for aggregate expression provided");
    size_t want = AggregateOpHasParam(op) ? 2 : 1;
    if (args.size() != want) {
      return Error(agg->pos,
                   absl::StrFormat("wrong number of arguments for aggregate expression provided, "
                                   "expected %d, got %d",
                                   want, args.size()));
    }
    if (want == 2) agg->param = std::move(args[0]);
    agg->expr = std::move(args[want - 1]);
    return ExprPtr(std::move(agg));
  }

  absl::StatusOr<ExprPtr> ParseCall() {
    Token name = Next();
    const Function* fn = LookupFunction(name.text);
    if (fn == nullptr) {
      return Error(TokRange(name),
                   internal::Cat("unknown function with name ", QuoteString(name.text)));
    }
    if (fn->experimental && !options_.enable_experimental) {
      return Error(TokRange(name), internal::Cat("function ", QuoteString(name.text), " is not enabled"));
    }
    auto call = std::make_unique<Call>();
    call->func = fn;
    int32_t end = 0;
    PHAROS_ASSIGN_OR_RETURN(call->args, ParseCallArgs(&end));
    call->pos = {name.pos, end};
    return ExprPtr(std::move(call));
  }

  // ---- Binary operator modifiers ------------------------------------------------------------

  [[nodiscard]] absl::Status ParseBinaryModifiers(BinaryExpr& bin) {
    VectorMatching vm;
    if (IsWord(Peek(), "bool")) {
      Next();
      bin.return_bool = true;
    }
    bool have_on_ignoring = false;
    if (IsWord(Peek(), "on") || IsWord(Peek(), "ignoring")) {
      vm.on = IsWord(Peek(), "on");
      Next();
      PHAROS_ASSIGN_OR_RETURN(vm.matching_labels, ParseGroupingLabels());
      have_on_ignoring = true;
    }
    if (have_on_ignoring && (IsWord(Peek(), "group_left") || IsWord(Peek(), "group_right"))) {
      vm.card = IsWord(Peek(), "group_left") ? VectorMatchCard::kManyToOne
                                             : VectorMatchCard::kOneToMany;
      Next();
      if (Peek().type == TokenType::kLeftParen) {
        PHAROS_ASSIGN_OR_RETURN(vm.include, ParseGroupingLabels());
      }
    }
    // fill(v) | fill_left(v) [fill_right(v)] | fill_right(v) [fill_left(v)]
    // fill* are modifiers only when followed by "(" (`a + fill` is the metric `fill`).
    while ((IsWord(Peek(), "fill") || IsWord(Peek(), "fill_left") || IsWord(Peek(), "fill_right")) &&
           Peek(1).type == TokenType::kLeftParen) {
      Token kw = Next();
      if (!options_.enable_experimental) {
        return Error(TokRange(kw), "binop fill modifiers are experimental and not enabled");
      }
      PHAROS_RETURN_IF_ERROR(Expect(TokenType::kLeftParen, "fill modifier", "\"(\""));
      double sign = 1;
      if (Peek().type == TokenType::kSub || Peek().type == TokenType::kAdd) {
        if (Next().type == TokenType::kSub) sign = -1;
      }
      const Token& num = Peek();
      if (num.type != TokenType::kNumber) return Unexpected(num, "fill modifier", "number");
      Token nt = Next();
      absl::StatusOr<double> v = ParseNumberLiteral(nt.text);
      if (!v.ok()) return Error(TokRange(nt), internal::Cat("error parsing number: ", std::string(v.status().message())));
      PHAROS_RETURN_IF_ERROR(Expect(TokenType::kRightParen, "fill modifier", "\")\""));
      std::string lower = Lower(kw.text);
      bool left = lower == "fill" || lower == "fill_left";
      bool right = lower == "fill" || lower == "fill_right";
      if ((left && vm.fill_lhs) || (right && vm.fill_rhs)) {
        return Error(TokRange(kw), "fill modifier may not be set multiple times");
      }
      if (left) vm.fill_lhs = sign * *v;
      if (right) vm.fill_rhs = sign * *v;
    }
    bin.matching = std::move(vm);
    return absl::OkStatus();
  }

  // ---- Postfix modifiers: [range], [range:step], offset, @, anchored, smoothed --------------

  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr e) {
    int saved_depth = depth_;
    while (true) {
      const Token& t = Peek();
      if (++depth_ > kMaxDepth) return Error(TokRange(t), "expression nested too deeply");
      if (t.type == TokenType::kLeftBracket) {
        PHAROS_ASSIGN_OR_RETURN(e, ParseRangeOrSubquery(std::move(e)));
      } else if (IsWord(t, "offset")) {
        PHAROS_RETURN_IF_ERROR(ParseOffset(*e));
      } else if (t.type == TokenType::kAt) {
        PHAROS_RETURN_IF_ERROR(ParseAt(*e));
      } else if (IsWord(t, "anchored") || IsWord(t, "smoothed")) {
        PHAROS_RETURN_IF_ERROR(ParseExtendedRangeModifier(*e));
      } else {
        depth_ = saved_depth;
        return e;
      }
    }
  }

  // A range, subquery range/step or offset operand: a single literal, or (experimental) a
  // duration expression.
  struct DurationValue {
    int64_t ms = 0;
    std::unique_ptr<DurationExpr> expr;  // set when not a single literal
  };

  absl::StatusOr<DurationValue> ToDurationValue(std::unique_ptr<DurationExpr> d) {
    DurationValue v;
    // A signed literal (offset -5m) is still a literal.
    if ((d->op == DurationExpr::Op::kNeg || d->op == DurationExpr::Op::kPos) &&
        d->lhs->op == DurationExpr::Op::kLiteral) {
      auto lit = std::move(d->lhs);
      if (d->op == DurationExpr::Op::kNeg) lit->value = -lit->value;
      lit->pos.start = d->pos.start;
      d = std::move(lit);
    }
    if (d->IsConstant()) {
      double secs = EvalDurationSeconds(*d, 0, 0);
      if (std::isnan(secs) || std::isinf(secs)) {
        return Error(d->pos, "duration expression evaluates to an invalid value");
      }
      v.ms = SecondsToMs(secs);
    }
    if (d->op != DurationExpr::Op::kLiteral) v.expr = std::move(d);
    return v;
  }

  static bool IsConstant(const DurationValue& v) { return !v.expr || v.expr->IsConstant(); }

  absl::StatusOr<ExprPtr> ParseRangeOrSubquery(ExprPtr e) {
    Token open = Next();
    const Token& first = Peek();
    if (!StartsDuration(first)) {
      return Unexpected(first, "subquery selector", "number or duration");
    }
    PHAROS_ASSIGN_OR_RETURN(auto range_expr, ParseDurationOperand(/*in_brackets=*/true));
    PosRange range_pos = range_expr->pos;
    PHAROS_ASSIGN_OR_RETURN(DurationValue range, ToDurationValue(std::move(range_expr)));
    const Token& sep = Peek();
    if (sep.type == TokenType::kRightBracket) {
      Token close = Next();
      std::string err;
      if (e->kind() != ExprKind::kVectorSelector) {
        err = "ranges only allowed for vector selectors";
      } else if (e->As<VectorSelector>().original_offset_ms != 0 ||
                 e->As<VectorSelector>().offset_expr) {
        err = "no offset modifiers allowed before range";
      } else if (e->As<VectorSelector>().at != AtKind::kNone) {
        err = "no @ modifiers allowed before range";
      }
      if (!err.empty()) return Error({open.pos, close.end()}, err);
      if (IsConstant(range) && range.ms <= 0) {
        return Error(range_pos, "duration must be greater than 0");
      }
      auto m = std::make_unique<MatrixSelector>();
      m->pos = {e->pos.start, close.end()};
      m->vector_selector = std::move(e);
      m->range_ms = range.ms;
      m->range_expr = std::move(range.expr);
      return ExprPtr(std::move(m));
    }
    if (sep.type != TokenType::kColon) {
      return Unexpected(sep, "subquery or range", "\":\" or \"]\"");
    }
    Next();
    auto sq = std::make_unique<SubqueryExpr>();
    if (IsConstant(range) && range.ms <= 0) return Error(range_pos, "duration must be greater than 0");
    sq->range_ms = range.ms;
    sq->range_expr = std::move(range.expr);
    if (Peek().type != TokenType::kRightBracket) {
      if (!StartsDuration(Peek())) {
        return Unexpected(Peek(), "subquery selector", "number or duration or \"]\"");
      }
      PHAROS_ASSIGN_OR_RETURN(auto step_expr, ParseDurationOperand(/*in_brackets=*/true));
      PosRange step_pos = step_expr->pos;
      PHAROS_ASSIGN_OR_RETURN(DurationValue step, ToDurationValue(std::move(step_expr)));
      if (IsConstant(step) && step.ms <= 0) return Error(step_pos, "duration must be greater than 0");
      sq->step_ms = step.ms;
      sq->step_expr = std::move(step.expr);
      if (Peek().type != TokenType::kRightBracket) {
        return Unexpected(Peek(), "subquery selector", "\"]\"");
      }
    }
    Token close = Next();
    sq->pos = {e->pos.start, close.end()};
    sq->expr = std::move(e);
    return ExprPtr(std::move(sq));
  }

  bool StartsDuration(const Token& t) const {
    if (t.type == TokenType::kNumber || t.type == TokenType::kDuration) return true;
    if (!options_.enable_experimental) return false;
    return t.type == TokenType::kLeftParen || t.type == TokenType::kSub ||
           t.type == TokenType::kAdd || t.type == TokenType::kIdentifier;
  }

  // Inside [...]: a full duration expression when experimental syntax is on, else a literal.
  absl::StatusOr<std::unique_ptr<DurationExpr>> ParseDurationOperand(bool in_brackets) {
    if (!options_.enable_experimental) return ParseDurationLiteral();
    if (in_brackets) return ParseDurationExpr(0);
    return ParseDurationUnary(/*offset_atom=*/true);
  }

  absl::StatusOr<std::unique_ptr<DurationExpr>> ParseDurationLiteral() {
    const Token& t = Peek();
    auto d = std::make_unique<DurationExpr>();
    d->pos = TokRange(t);
    if (t.type == TokenType::kNumber) {
      Token tok = Next();
      absl::StatusOr<double> v = ParseNumberLiteral(tok.text);
      if (!v.ok()) return Error(TokRange(tok), internal::Cat("error parsing number: ", std::string(v.status().message())));
      d->value = *v;
      return d;
    }
    if (t.type == TokenType::kDuration) {
      Token tok = Next();
      PHAROS_ASSIGN_OR_RETURN(int64_t ms, DurationTokenMs(tok));
      d->value = static_cast<double>(ms) / 1000.0;
      d->is_duration = true;
      return d;
    }
    return Unexpected(t, "duration expression", "number or duration");
  }

  static std::optional<DurationExpr::Op> DurationBinaryOp(const Token& t, int* prec) {
    switch (t.type) {
      case TokenType::kAdd: *prec = 1; return DurationExpr::Op::kAdd;
      case TokenType::kSub: *prec = 1; return DurationExpr::Op::kSub;
      case TokenType::kMul: *prec = 2; return DurationExpr::Op::kMul;
      case TokenType::kDiv: *prec = 2; return DurationExpr::Op::kDiv;
      case TokenType::kMod: *prec = 2; return DurationExpr::Op::kMod;
      case TokenType::kPow: *prec = 3; return DurationExpr::Op::kPow;
      default: return std::nullopt;
    }
  }

  absl::StatusOr<std::unique_ptr<DurationExpr>> ParseDurationExpr(int min_prec) {
    if (++depth_ > kMaxDepth) return Error(TokRange(Peek()), "expression nested too deeply");
    PHAROS_ASSIGN_OR_RETURN(auto lhs, ParseDurationUnary(/*offset_atom=*/false));
    int chain = 0;
    while (true) {
      int prec = 0;
      std::optional<DurationExpr::Op> op = DurationBinaryOp(Peek(), &prec);
      if (!op || prec < min_prec) break;
      ++chain;
      if (++depth_ > kMaxDepth) return Error(TokRange(Peek()), "expression nested too deeply");
      Next();
      PHAROS_ASSIGN_OR_RETURN(auto rhs, ParseDurationExpr(*op == DurationExpr::Op::kPow ? 3 : prec + 1));
      auto bin = std::make_unique<DurationExpr>();
      bin->op = *op;
      bin->pos = Merge(lhs->pos, rhs->pos);
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      lhs = std::move(bin);
    }
    depth_ -= chain + 1;
    return lhs;
  }

  // Unary +/- then an atom. In offset position (offset_atom) the operand is a single atom, so
  // `offset -2 ^ 2` is `(x offset -2) ^ 2`; in brackets it binds like PromQL (-2^2 == -(2^2)).
  absl::StatusOr<std::unique_ptr<DurationExpr>> ParseDurationUnary(bool offset_atom) {
    const Token& t = Peek();
    if (t.type == TokenType::kSub || t.type == TokenType::kAdd) {
      Token op = Next();
      if (++depth_ > kMaxDepth) return Error(TokRange(op), "expression nested too deeply");
      std::unique_ptr<DurationExpr> operand;
      if (offset_atom) {
        PHAROS_ASSIGN_OR_RETURN(operand, ParseDurationAtom());
      } else {
        PHAROS_ASSIGN_OR_RETURN(operand, ParseDurationExpr(3));
      }
      --depth_;
      auto u = std::make_unique<DurationExpr>();
      u->op = op.type == TokenType::kSub ? DurationExpr::Op::kNeg : DurationExpr::Op::kPos;
      u->pos = {op.pos, operand->pos.end};
      u->lhs = std::move(operand);
      return u;
    }
    return ParseDurationAtom();
  }

  absl::StatusOr<std::unique_ptr<DurationExpr>> ParseDurationAtom() {
    const Token& t = Peek();
    if (t.type == TokenType::kNumber || t.type == TokenType::kDuration) {
      return ParseDurationLiteral();
    }
    if (t.type == TokenType::kLeftParen) {
      Token open = Next();
      PHAROS_ASSIGN_OR_RETURN(auto inner, ParseDurationExpr(0));
      if (Peek().type != TokenType::kRightParen) {
        return Unexpected(Peek(), "duration expression", "\")\"");
      }
      Token close = Next();
      auto p = std::make_unique<DurationExpr>();
      p->op = DurationExpr::Op::kParen;
      p->pos = {open.pos, close.end()};
      p->lhs = std::move(inner);
      return p;
    }
    if (t.type == TokenType::kIdentifier && Peek(1).type == TokenType::kLeftParen) {
      std::string lower = Lower(t.text);
      Token name = Next();
      Next();  // (
      auto d = std::make_unique<DurationExpr>();
      if (lower == "step" || lower == "range") {
        d->op = lower == "step" ? DurationExpr::Op::kStep : DurationExpr::Op::kRange;
      } else if (lower == "min_of" || lower == "max_of") {
        d->op = lower == "min_of" ? DurationExpr::Op::kMinOf : DurationExpr::Op::kMaxOf;
        PHAROS_ASSIGN_OR_RETURN(d->lhs, ParseDurationExpr(0));
        PHAROS_RETURN_IF_ERROR(Expect(TokenType::kComma, "duration expression", "\",\""));
        PHAROS_ASSIGN_OR_RETURN(d->rhs, ParseDurationExpr(0));
      } else {
        return Error(TokRange(name), internal::Cat("unknown function with name ",
                                                  QuoteString(name.text),
                                                  " in duration expression"));
      }
      if (Peek().type != TokenType::kRightParen) {
        return Unexpected(Peek(), "duration expression", "\")\"");
      }
      d->pos = {name.pos, Next().end()};
      return d;
    }
    return Unexpected(t, "duration expression", "number or duration");
  }

  [[nodiscard]] absl::Status ParseOffset(Expr& e) {
    Next();  // offset
    const Token& t = Peek();
    std::unique_ptr<DurationExpr> d;
    if (options_.enable_experimental) {
      if (!StartsDuration(t)) return Unexpected(t, "offset", "number or duration");
      PHAROS_ASSIGN_OR_RETURN(d, ParseDurationOperand(/*in_brackets=*/false));
    } else {
      bool negative = false;
      if (t.type == TokenType::kSub) {
        Next();
        negative = true;
      }
      const Token& lit = Peek();
      if (lit.type != TokenType::kNumber && lit.type != TokenType::kDuration) {
        return Unexpected(lit, "offset", "number or duration");
      }
      PHAROS_ASSIGN_OR_RETURN(d, ParseDurationLiteral());
      if (negative) d->value = -d->value;
    }
    PHAROS_ASSIGN_OR_RETURN(DurationValue v, ToDurationValue(std::move(d)));
    int64_t* offset = nullptr;
    std::unique_ptr<DurationExpr>* offset_expr = nullptr;
    if (e.kind() == ExprKind::kVectorSelector) {
      offset = &e.As<VectorSelector>().original_offset_ms;
      offset_expr = &e.As<VectorSelector>().offset_expr;
    } else if (e.kind() == ExprKind::kMatrixSelector) {
      auto& vs = e.As<MatrixSelector>().vector_selector->As<VectorSelector>();
      offset = &vs.original_offset_ms;
      offset_expr = &vs.offset_expr;
    } else if (e.kind() == ExprKind::kSubquery) {
      offset = &e.As<SubqueryExpr>().original_offset_ms;
      offset_expr = &e.As<SubqueryExpr>().offset_expr;
    } else {
      return Error(e.pos,
                   "offset modifier must be preceded by an instant vector selector or range "
                   "vector selector or a subquery");
    }
    if (*offset != 0 || *offset_expr) return Error(e.pos, "offset may not be set multiple times");
    *offset = v.ms;
    *offset_expr = std::move(v.expr);
    e.pos.end = tokens_[idx_ - 1].end();
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status ParseAt(Expr& e) {
    Next();  // @
    const Token& t = Peek();
    AtKind kind = AtKind::kTimestamp;
    int64_t ts_ms = 0;
    if ((IsWord(t, "start") || IsWord(t, "end")) && Peek(1).type == TokenType::kLeftParen) {
      kind = IsWord(t, "start") ? AtKind::kStart : AtKind::kEnd;
      Next();
      Next();
      PHAROS_RETURN_IF_ERROR(Expect(TokenType::kRightParen, "@", "\")\""));
    } else {
      double sign = 1;
      if (t.type == TokenType::kSub || t.type == TokenType::kAdd) {
        if (Next().type == TokenType::kSub) sign = -1;
      }
      const Token& num = Peek();
      double secs;
      if (num.type == TokenType::kNumber) {
        Token tok = Next();
        absl::StatusOr<double> v = ParseNumberLiteral(tok.text);
        if (!v.ok()) return Error(TokRange(tok), internal::Cat("error parsing number: ", std::string(v.status().message())));
        secs = *v;
      } else if (num.type == TokenType::kDuration) {
        Token tok = Next();
        PHAROS_ASSIGN_OR_RETURN(int64_t ms, DurationTokenMs(tok));
        secs = static_cast<double>(ms) / 1000.0;
      } else {
        return Unexpected(num, "@", "timestamp");
      }
      secs *= sign;
      if (std::isnan(secs) || std::isinf(secs) || secs * 1000 >= 9.223372036854775e18 ||
          secs * 1000 <= -9.223372036854775e18) {
        std::string shown = std::isnan(secs)   ? "NaN"
                            : std::isinf(secs) ? (secs > 0 ? "+Inf" : "-Inf")
                                               : absl::StrFormat("%f", secs);
        return Error(e.pos, internal::Cat("timestamp out of bounds for @ modifier: ", shown));
      }
      ts_ms = static_cast<int64_t>(std::round(secs * 1000));
    }
    AtKind* at = nullptr;
    int64_t* at_ts = nullptr;
    if (e.kind() == ExprKind::kVectorSelector) {
      at = &e.As<VectorSelector>().at;
      at_ts = &e.As<VectorSelector>().at_timestamp_ms;
    } else if (e.kind() == ExprKind::kMatrixSelector) {
      auto& vs = e.As<MatrixSelector>().vector_selector->As<VectorSelector>();
      at = &vs.at;
      at_ts = &vs.at_timestamp_ms;
    } else if (e.kind() == ExprKind::kSubquery) {
      at = &e.As<SubqueryExpr>().at;
      at_ts = &e.As<SubqueryExpr>().at_timestamp_ms;
    } else {
      return Error(e.pos,
                   "@ modifier must be preceded by an instant vector selector or range vector "
                   "selector or a subquery");
    }
    if (*at != AtKind::kNone) return Error(e.pos, "@ <timestamp> may not be set multiple times");
    *at = kind;
    *at_ts = ts_ms;
    e.pos.end = tokens_[idx_ - 1].end();
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status ParseExtendedRangeModifier(Expr& e) {
    Token kw = Next();
    bool anchored = IsWord(kw, "anchored");
    std::string name = anchored ? "anchored" : "smoothed";
    if (!options_.enable_experimental) {
      return Error(TokRange(kw), internal::Cat(name, " modifier is experimental and not enabled"));
    }
    VectorSelector* vs = nullptr;
    if (e.kind() == ExprKind::kVectorSelector) {
      vs = &e.As<VectorSelector>();
    } else if (e.kind() == ExprKind::kMatrixSelector) {
      vs = &e.As<MatrixSelector>().vector_selector->As<VectorSelector>();
    } else {
      return Error(e.pos, internal::Cat(name, " modifier must be preceded by an instant vector "
                                             "selector or range vector selector"));
    }
    if (vs->anchored || vs->smoothed) {
      return Error(TokRange(kw), "anchored or smoothed modifier may not be set multiple times");
    }
    (anchored ? vs->anchored : vs->smoothed) = true;
    e.pos.end = kw.end();
    return absl::OkStatus();
  }

  // ---- Type checking (Prometheus parser.checkAST) -------------------------------------------

  [[nodiscard]] absl::Status ExpectType(Expr& e, ValueType want, std::string_view context) {
    PHAROS_ASSIGN_OR_RETURN(ValueType got, Check(e));
    if (got != want) {
      return Error(e.pos, internal::Cat("expected type ", DocumentedType(want), " in ", context,
                                       ", got ", DocumentedType(got)));
    }
    return absl::OkStatus();
  }

  // The operator's position in the text, for binary expression errors.
  PosRange OpRange(const BinaryExpr& b) const {
    PosRange r{b.lhs->pos.end, b.rhs->pos.start};
    while (r.start < r.end && absl::ascii_isspace(static_cast<unsigned char>(input_[r.start]))) {
      ++r.start;
    }
    return r;
  }

  absl::StatusOr<ValueType> Check(Expr& e) {
    switch (e.kind()) {
      case ExprKind::kNumberLiteral:
      case ExprKind::kStringLiteral:
        break;
      case ExprKind::kParen:
        return Check(*e.As<ParenExpr>().expr);
      case ExprKind::kAggregate: {
        auto& a = e.As<AggregateExpr>();
        PHAROS_RETURN_IF_ERROR(ExpectType(*a.expr, ValueType::kVector, "aggregation expression"));
        if (a.op == AggregateOp::kCountValues) {
          PHAROS_RETURN_IF_ERROR(ExpectType(*a.param, ValueType::kString, "aggregation parameter"));
        } else if (a.param) {
          PHAROS_RETURN_IF_ERROR(ExpectType(*a.param, ValueType::kScalar, "aggregation parameter"));
        }
        break;
      }
      case ExprKind::kBinary: {
        auto& b = e.As<BinaryExpr>();
        PHAROS_ASSIGN_OR_RETURN(ValueType lt, Check(*b.lhs));
        PHAROS_ASSIGN_OR_RETURN(ValueType rt, Check(*b.rhs));
        if (b.return_bool && !IsComparisonOp(b.op)) {
          return Error(OpRange(b), "bool modifier can only be used on comparison operators");
        }
        if (IsComparisonOp(b.op) && !b.return_bool && lt == ValueType::kScalar &&
            rt == ValueType::kScalar) {
          return Error(OpRange(b), "comparisons between scalars must use BOOL modifier");
        }
        if (b.matching) {
          VectorMatching& vm = *b.matching;
          if (IsSetOp(b.op) && vm.card == VectorMatchCard::kOneToOne) {
            vm.card = VectorMatchCard::kManyToMany;
          }
          for (const std::string& l : vm.matching_labels) {
            for (const std::string& inc : vm.include) {
              if (l == inc && vm.on) {
                return Error(OpRange(b), internal::Cat("label ", QuoteString(l),
                                                      " must not occur in ON and GROUP clause "
                                                      "at once"));
              }
            }
          }
        }
        if (lt != ValueType::kScalar && lt != ValueType::kVector) {
          return Error(b.lhs->pos, "binary expression must contain only scalar and instant vector types");
        }
        if (rt != ValueType::kScalar && rt != ValueType::kVector) {
          return Error(b.rhs->pos, "binary expression must contain only scalar and instant vector types");
        }
        if ((lt != ValueType::kVector || rt != ValueType::kVector) && b.matching) {
          if (!b.matching->matching_labels.empty()) {
            return Error(e.pos, "vector matching only allowed between instant vectors");
          }
          if ((b.matching->fill_lhs || b.matching->fill_rhs)) {
            return Error(e.pos, "fill modifiers only allowed between instant vectors");
          }
          b.matching.reset();
        } else if (IsSetOp(b.op) && b.matching) {
          if (b.matching->card == VectorMatchCard::kOneToMany ||
              b.matching->card == VectorMatchCard::kManyToOne) {
            return Error(e.pos, internal::Cat("no grouping allowed for \"", BinaryOpString(b.op),
                                             "\" operation"));
          }
          if (b.matching->card != VectorMatchCard::kManyToMany) {
            return Error(e.pos, "set operations must always be many-to-many");
          }
          if (b.matching->fill_lhs || b.matching->fill_rhs) {
            return Error(OpRange(b), internal::Cat("fill modifiers not allowed for \"",
                                                  BinaryOpString(b.op), "\" operation"));
          }
        }
        if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOp(b.op)) {
          return Error(e.pos, internal::Cat("set operator \"", BinaryOpString(b.op),
                                           "\" not allowed in binary scalar expression"));
        }
        break;
      }
      case ExprKind::kCall: {
        auto& c = e.As<Call>();
        const Function& fn = *c.func;
        int nargs = static_cast<int>(fn.arg_types.size());
        int got = static_cast<int>(c.args.size());
        if (fn.variadic == 0) {
          if (nargs != got) {
            return Error(e.pos, absl::StrFormat("expected %d argument(s) in call to %s, got %d",
                                                nargs, QuoteString(fn.name), got));
          }
        } else {
          int na = nargs - 1;
          if (na > got) {
            return Error(e.pos, absl::StrFormat("expected at least %d argument(s) in call to %s, got %d",
                                                na, QuoteString(fn.name), got));
          }
          if (fn.variadic > 0 && na + fn.variadic < got) {
            return Error(e.pos, absl::StrFormat("expected at most %d argument(s) in call to %s, got %d",
                                                na + fn.variadic, QuoteString(fn.name), got));
          }
        }
        if (fn.name == "info" && c.args.size() > 1) {
          ValueType t = TypeOf(*c.args[1]);
          if (t != ValueType::kVector) {
            return Error(e.pos, internal::Cat("expected type instant vector in call to function "
                                              "\"info\", got ",
                                              DocumentedType(t)));
          }
          if (c.args[1]->kind() != ExprKind::kVectorSelector) {
            return Error(c.args[1]->pos, "expected label selectors only");
          }
          if (!c.args[1]->As<VectorSelector>().name.empty()) {
            return Error(c.args[1]->pos,
                         "expected label selectors only, got vector selector instead");
          }
          c.args[1]->As<VectorSelector>().bypass_empty_matcher_check = true;
        }
        std::string context = internal::Cat("call to function ", QuoteString(fn.name));
        for (size_t i = 0; i < c.args.size(); ++i) {
          size_t ti = std::min(i, fn.arg_types.size() - 1);
          PHAROS_RETURN_IF_ERROR(ExpectType(*c.args[i], fn.arg_types[ti], context));
        }
        for (const ExprPtr& arg : c.args) {
          if (arg->kind() != ExprKind::kMatrixSelector) continue;
          const VectorSelector& vs = arg->As<MatrixSelector>().selector();
          if (vs.anchored && !(fn.name == "changes" || fn.name == "delta" ||
                               fn.name == "increase" || fn.name == "rate" || fn.name == "resets")) {
            return Error(e.pos, internal::Cat("anchored modifier can only be used with: changes, "
                                             "delta, increase, rate, resets - not with ",
                                             fn.name));
          }
          if (vs.smoothed &&
              !(fn.name == "delta" || fn.name == "increase" || fn.name == "rate")) {
            return Error(e.pos, internal::Cat("smoothed modifier can only be used with: delta, "
                                             "increase, rate - not with ",
                                             fn.name));
          }
        }
        break;
      }
      case ExprKind::kUnary: {
        auto& u = e.As<UnaryExpr>();
        PHAROS_ASSIGN_OR_RETURN(ValueType t, Check(*u.expr));
        if (t != ValueType::kScalar && t != ValueType::kVector) {
          return Error(e.pos, internal::Cat("unary expression only allowed on expressions of type "
                                           "scalar or instant vector, got \"",
                                           DocumentedType(t), "\""));
        }
        break;
      }
      case ExprKind::kSubquery: {
        auto& s = e.As<SubqueryExpr>();
        PHAROS_ASSIGN_OR_RETURN(ValueType t, Check(*s.expr));
        if (t != ValueType::kVector) {
          return Error(e.pos, internal::Cat("subquery is only allowed on instant vector, got ",
                                            ValueTypeName(t), " instead"));
        }
        break;
      }
      case ExprKind::kMatrixSelector: {
        auto& m = e.As<MatrixSelector>();
        PHAROS_RETURN_IF_ERROR(Check(*m.vector_selector).status());
        break;
      }
      case ExprKind::kVectorSelector: {
        auto& vs = e.As<VectorSelector>();
        if (!vs.name.empty()) {
          // The last matcher is the name given outside the braces.
          for (size_t i = 0; i + 1 < vs.matchers.size(); ++i) {
            if (vs.matchers[i].name == kMetricNameLabel) {
              return Error(e.pos, internal::Cat("metric name must not be set twice: ",
                                               QuoteString(vs.name), " or ",
                                               QuoteString(vs.matchers[i].value)));
            }
          }
          break;
        }
        if (vs.bypass_empty_matcher_check) break;
        bool non_empty = false;
        for (const LabelMatcher& m : vs.matchers) {
          if (!m.MatchesEmpty()) {
            non_empty = true;
            break;
          }
        }
        if (!non_empty) {
          return Error(e.pos, "vector selector must contain at least one non-empty matcher");
        }
        break;
      }
    }
    return TypeOf(e);
  }

  std::string_view input_;
  std::vector<Token> tokens_;
  ParserOptions options_;
  size_t idx_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input, const ParserOptions& options) {
  return Parser(input, options).ParseTop();
}

absl::StatusOr<std::vector<LabelMatcher>> ParseMetricSelector(std::string_view input) {
  return Parser(input, ParserOptions{}).ParseSelectorOnly();
}

}  // namespace pharos::promql
