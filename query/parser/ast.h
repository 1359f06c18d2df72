#pragma once

// PromQL abstract syntax tree (Prometheus 3.x, promql/parser/ast.go).
//
// Nodes own their children through std::unique_ptr. Every node records the byte range
// [start, end) of the query text it was parsed from. Times are integer milliseconds, as in
// Prometheus (which truncates float seconds to whole milliseconds).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pharos::promql {

struct Function;  // query/parser/functions.h

enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };

// "scalar", "vector", "matrix", "string" (ValueType.String() in Prometheus).
std::string_view ValueTypeName(ValueType type);
// "scalar", "instant vector", "range vector", "string" (DocumentedType in Prometheus).
std::string_view DocumentedType(ValueType type);

struct PosRange {
  int32_t start = 0;
  int32_t end = 0;
};

// A label matcher as written in a selector. The engine converts it to a storage matcher.
enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
std::string_view MatchTypeString(MatchType type);  // "=", "!=", "=~", "!~"

struct LabelMatcher {
  MatchType type = MatchType::kEqual;
  std::string name;
  std::string value;

  // True if this matcher accepts the empty string (a label that is absent).
  bool MatchesEmpty() const;
  friend bool operator==(const LabelMatcher&, const LabelMatcher&) = default;
};

inline constexpr std::string_view kMetricNameLabel = "__name__";

enum class BinaryOp {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kAtan2,
  kEql, kNeq, kGtr, kLss, kGte, kLte,
  kAnd, kOr, kUnless,
  kTrimUpper,  // </ (experimental): removes native histogram observations above the value
  kTrimLower,  // >/ (experimental): removes native histogram observations below the value
};
std::string_view BinaryOpString(BinaryOp op);  // "+", "==", "and", "atan2", "</", ...
bool IsComparisonOp(BinaryOp op);
bool IsSetOp(BinaryOp op);

enum class AggregateOp {
  kSum, kAvg, kCount, kMin, kMax, kGroup, kStddev, kStdvar,
  kTopK, kBottomK, kCountValues, kQuantile, kLimitK, kLimitRatio,
};
std::string_view AggregateOpString(AggregateOp op);  // "sum", "count_values", ...
bool AggregateOpHasParam(AggregateOp op);             // topk, bottomk, quantile, count_values, limit*
bool IsExperimentalAggregateOp(AggregateOp op);       // limitk, limit_ratio

enum class UnaryOp { kAdd, kSub };

// `@` modifier of a selector or subquery.
enum class AtKind { kNone, kTimestamp, kStart, kEnd };

enum class VectorMatchCard { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// Experimental duration arithmetic ([5m+1m], offset (2^2), step(), range(), min_of/max_of).
// A constant expression is folded at parse time; the tree is kept for printing and for the
// engine when it depends on step() or range().
struct DurationExpr {
  enum class Op { kLiteral, kParen, kNeg, kPos, kAdd, kSub, kMul, kDiv, kMod, kPow,
                  kStep, kRange, kMinOf, kMaxOf };
  Op op = Op::kLiteral;
  double value = 0;         // kLiteral: seconds
  bool is_duration = false; // kLiteral written with units (5m) rather than as a number
  std::unique_ptr<DurationExpr> lhs;  // operand of unary/paren; first argument of min_of/max_of
  std::unique_ptr<DurationExpr> rhs;
  PosRange pos;

  bool IsConstant() const;  // no step() / range()
};

// Evaluates a duration expression to seconds. step_seconds/range_seconds are the query's
// step and end-start (0 for instant queries).
double EvalDurationSeconds(const DurationExpr& expr, double step_seconds, double range_seconds);

enum class ExprKind {
  kNumberLiteral, kStringLiteral, kVectorSelector, kMatrixSelector, kSubquery,
  kParen, kUnary, kBinary, kAggregate, kCall,
};

class Expr {
 public:
  virtual ~Expr() = default;
  ExprKind kind() const { return kind_; }
  PosRange pos;

  template <typename T>
  const T& As() const { return static_cast<const T&>(*this); }
  template <typename T>
  T& As() { return static_cast<T&>(*this); }

 protected:
  explicit Expr(ExprKind kind) : kind_(kind) {}

 private:
  ExprKind kind_;
};
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral : Expr {
  static constexpr ExprKind kKind = ExprKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  double value = 0;
  bool is_duration = false;  // written as a duration (5m); printed back in that form
};

struct StringLiteral : Expr {
  static constexpr ExprKind kKind = ExprKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  std::string value;  // unquoted
};

struct VectorSelector : Expr {
  static constexpr ExprKind kKind = ExprKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  std::string name;                    // empty when only {…} was written
  std::vector<LabelMatcher> matchers;  // includes __name__="name" when name is set
  int64_t original_offset_ms = 0;      // as written; negative for `offset -5m`
  // Set when the offset was written as a duration expression rather than a single literal.
  // If offset_expr->IsConstant(), original_offset_ms already holds its value; otherwise the
  // engine evaluates it (EvalDurationSeconds) once per query.
  std::unique_ptr<DurationExpr> offset_expr;
  AtKind at = AtKind::kNone;
  int64_t at_timestamp_ms = 0;  // when at == kTimestamp
  bool anchored = false;        // experimental range modifiers
  bool smoothed = false;
  bool bypass_empty_matcher_check = false;  // second argument of info()
};

struct MatrixSelector : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  ExprPtr vector_selector;  // always a VectorSelector in a checked tree; holds offset and @
  int64_t range_ms = 0;
  std::unique_ptr<DurationExpr> range_expr;  // like VectorSelector::offset_expr

  const VectorSelector& selector() const { return vector_selector->As<VectorSelector>(); }
};

struct SubqueryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0: default evaluation interval
  int64_t original_offset_ms = 0;
  // Like VectorSelector::offset_expr: set when written as duration expressions.
  std::unique_ptr<DurationExpr> range_expr;
  std::unique_ptr<DurationExpr> step_expr;
  std::unique_ptr<DurationExpr> offset_expr;
  AtKind at = AtKind::kNone;
  int64_t at_timestamp_ms = 0;
};

struct ParenExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ExprPtr expr;
};

struct UnaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  UnaryOp op = UnaryOp::kSub;
  ExprPtr expr;
};

struct VectorMatching {
  VectorMatchCard card = VectorMatchCard::kOneToOne;
  std::vector<std::string> matching_labels;  // on(...) / ignoring(...)
  bool on = false;
  std::vector<std::string> include;  // group_left(...) / group_right(...)
  // Experimental fill()/fill_left()/fill_right(): value used for a missing side.
  std::optional<double> fill_lhs;
  std::optional<double> fill_rhs;
};

struct BinaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  // Present iff both sides are instant vectors (Prometheus sets it to nil otherwise).
  std::optional<VectorMatching> matching;
};

struct AggregateExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile/count_values/limitk/limit_ratio
  std::vector<std::string> grouping;
  bool without = false;
};

struct Call : Expr {
  static constexpr ExprKind kKind = ExprKind::kCall;
  Call() : Expr(kKind) {}
  const Function* func = nullptr;  // never null in a parsed tree
  std::vector<ExprPtr> args;
};

// The value type an expression evaluates to.
ValueType TypeOf(const Expr& expr);

// Direct children in Prometheus' order (parser.Children): aggregation param then
// expression, call arguments, binary lhs then rhs, the operand of paren/unary/subquery and
// the selector of a matrix selector.
std::vector<const Expr*> Children(const Expr& expr);
std::vector<Expr*> Children(Expr& expr);

// Deep copy.
ExprPtr Clone(const Expr& expr);
std::unique_ptr<DurationExpr> Clone(const DurationExpr& expr);

}  // namespace pharos::promql
