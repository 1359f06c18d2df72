#include "query/parser/ast.h"

#include <algorithm>
#include <cmath>

#include "query/parser/functions.h"
#include "re2/re2.h"

namespace pharos::promql {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNone: return "none";
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "vector";
    case ValueType::kMatrix: return "matrix";
    case ValueType::kString: return "string";
  }
  return "none";
}

std::string_view DocumentedType(ValueType type) {
  switch (type) {
    case ValueType::kVector: return "instant vector";
    case ValueType::kMatrix: return "range vector";
    default: return ValueTypeName(type);
  }
}

std::string_view MatchTypeString(MatchType type) {
  switch (type) {
    case MatchType::kEqual: return "=";
    case MatchType::kNotEqual: return "!=";
    case MatchType::kRegexMatch: return "=~";
    case MatchType::kRegexNoMatch: return "!~";
  }
  return "=";
}

bool LabelMatcher::MatchesEmpty() const {
  switch (type) {
    case MatchType::kEqual: return value.empty();
    case MatchType::kNotEqual: return !value.empty();
    case MatchType::kRegexMatch:
    case MatchType::kRegexNoMatch: {
      RE2 re("^(?s:" + value + ")$", RE2::Quiet);
      bool matches = re.ok() && RE2::FullMatch("", re);
      return type == MatchType::kRegexMatch ? matches : !matches;
    }
  }
  return false;
}

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kPow: return "^";
    case BinaryOp::kAtan2: return "atan2";
    case BinaryOp::kEql: return "==";
    case BinaryOp::kNeq: return "!=";
    case BinaryOp::kGtr: return ">";
    case BinaryOp::kLss: return "<";
    case BinaryOp::kGte: return ">=";
    case BinaryOp::kLte: return "<=";
    case BinaryOp::kAnd: return "and";
    case BinaryOp::kOr: return "or";
    case BinaryOp::kUnless: return "unless";
    case BinaryOp::kTrimUpper: return "</";
    case BinaryOp::kTrimLower: return ">/";
  }
  return "?";
}

bool IsComparisonOp(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEql: case BinaryOp::kNeq: case BinaryOp::kGtr:
    case BinaryOp::kLss: case BinaryOp::kGte: case BinaryOp::kLte:
      return true;
    default:
      return false;
  }
}

bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpString(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum: return "sum";
    case AggregateOp::kAvg: return "avg";
    case AggregateOp::kCount: return "count";
    case AggregateOp::kMin: return "min";
    case AggregateOp::kMax: return "max";
    case AggregateOp::kGroup: return "group";
    case AggregateOp::kStddev: return "stddev";
    case AggregateOp::kStdvar: return "stdvar";
    case AggregateOp::kTopK: return "topk";
    case AggregateOp::kBottomK: return "bottomk";
    case AggregateOp::kCountValues: return "count_values";
    case AggregateOp::kQuantile: return "quantile";
    case AggregateOp::kLimitK: return "limitk";
    case AggregateOp::kLimitRatio: return "limit_ratio";
  }
  return "?";
}

bool AggregateOpHasParam(AggregateOp op) {
  switch (op) {
    case AggregateOp::kTopK: case AggregateOp::kBottomK: case AggregateOp::kCountValues:
    case AggregateOp::kQuantile: case AggregateOp::kLimitK: case AggregateOp::kLimitRatio:
      return true;
    default:
      return false;
  }
}

bool IsExperimentalAggregateOp(AggregateOp op) {
  return op == AggregateOp::kLimitK || op == AggregateOp::kLimitRatio;
}

bool DurationExpr::IsConstant() const {
  if (op == Op::kStep || op == Op::kRange) return false;
  return (!lhs || lhs->IsConstant()) && (!rhs || rhs->IsConstant());
}

double EvalDurationSeconds(const DurationExpr& e, double step_seconds, double range_seconds) {
  auto eval = [&](const std::unique_ptr<DurationExpr>& x) {
    return x ? EvalDurationSeconds(*x, step_seconds, range_seconds) : 0.0;
  };
  switch (e.op) {
    case DurationExpr::Op::kLiteral: return e.value;
    case DurationExpr::Op::kParen:
    case DurationExpr::Op::kPos: return eval(e.lhs);
    case DurationExpr::Op::kNeg: return -eval(e.lhs);
    case DurationExpr::Op::kAdd: return eval(e.lhs) + eval(e.rhs);
    case DurationExpr::Op::kSub: return eval(e.lhs) - eval(e.rhs);
    case DurationExpr::Op::kMul: return eval(e.lhs) * eval(e.rhs);
    case DurationExpr::Op::kDiv: return eval(e.lhs) / eval(e.rhs);
    case DurationExpr::Op::kMod: return std::fmod(eval(e.lhs), eval(e.rhs));
    case DurationExpr::Op::kPow: return std::pow(eval(e.lhs), eval(e.rhs));
    case DurationExpr::Op::kStep: return step_seconds;
    case DurationExpr::Op::kRange: return range_seconds;
    case DurationExpr::Op::kMinOf: return std::min(eval(e.lhs), eval(e.rhs));
    case DurationExpr::Op::kMaxOf: return std::max(eval(e.lhs), eval(e.rhs));
  }
  return 0;
}

ValueType TypeOf(const Expr& expr) {
  switch (expr.kind()) {
    case ExprKind::kNumberLiteral: return ValueType::kScalar;
    case ExprKind::kStringLiteral: return ValueType::kString;
    case ExprKind::kVectorSelector: return ValueType::kVector;
    case ExprKind::kMatrixSelector: return ValueType::kMatrix;
    case ExprKind::kSubquery: return ValueType::kMatrix;
    case ExprKind::kParen: return TypeOf(*expr.As<ParenExpr>().expr);
    case ExprKind::kUnary: return TypeOf(*expr.As<UnaryExpr>().expr);
    case ExprKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      if (TypeOf(*b.lhs) == ValueType::kScalar && TypeOf(*b.rhs) == ValueType::kScalar) {
        return ValueType::kScalar;
      }
      return ValueType::kVector;
    }
    case ExprKind::kAggregate: return ValueType::kVector;
    case ExprKind::kCall: {
      const auto& c = expr.As<Call>();
      return c.func ? c.func->return_type : ValueType::kNone;
    }
  }
  return ValueType::kNone;
}

std::vector<const Expr*> Children(const Expr& expr) {
  std::vector<const Expr*> out;
  auto add = [&](const ExprPtr& e) {
    if (e) out.push_back(e.get());
  };
  switch (expr.kind()) {
    case ExprKind::kMatrixSelector: add(expr.As<MatrixSelector>().vector_selector); break;
    case ExprKind::kSubquery: add(expr.As<SubqueryExpr>().expr); break;
    case ExprKind::kParen: add(expr.As<ParenExpr>().expr); break;
    case ExprKind::kUnary: add(expr.As<UnaryExpr>().expr); break;
    case ExprKind::kBinary:
      add(expr.As<BinaryExpr>().lhs);
      add(expr.As<BinaryExpr>().rhs);
      break;
    case ExprKind::kAggregate:
      add(expr.As<AggregateExpr>().param);
      add(expr.As<AggregateExpr>().expr);
      break;
    case ExprKind::kCall:
      for (const ExprPtr& a : expr.As<Call>().args) add(a);
      break;
    default:
      break;
  }
  return out;
}

std::vector<Expr*> Children(Expr& expr) {
  std::vector<Expr*> out;
  for (const Expr* c : Children(static_cast<const Expr&>(expr))) out.push_back(const_cast<Expr*>(c));
  return out;
}

std::unique_ptr<DurationExpr> Clone(const DurationExpr& e) {
  auto out = std::make_unique<DurationExpr>();
  out->op = e.op;
  out->value = e.value;
  out->is_duration = e.is_duration;
  out->pos = e.pos;
  if (e.lhs) out->lhs = Clone(*e.lhs);
  if (e.rhs) out->rhs = Clone(*e.rhs);
  return out;
}

namespace {
std::unique_ptr<DurationExpr> CloneOpt(const std::unique_ptr<DurationExpr>& e) {
  return e ? Clone(*e) : nullptr;
}
ExprPtr CloneOpt(const ExprPtr& e) { return e ? Clone(*e) : nullptr; }
}  // namespace

ExprPtr Clone(const Expr& expr) {
  ExprPtr out;
  switch (expr.kind()) {
    case ExprKind::kNumberLiteral: {
      const auto& n = expr.As<NumberLiteral>();
      auto c = std::make_unique<NumberLiteral>();
      c->value = n.value;
      c->is_duration = n.is_duration;
      out = std::move(c);
      break;
    }
    case ExprKind::kStringLiteral: {
      auto c = std::make_unique<StringLiteral>();
      c->value = expr.As<StringLiteral>().value;
      out = std::move(c);
      break;
    }
    case ExprKind::kVectorSelector: {
      const auto& v = expr.As<VectorSelector>();
      auto c = std::make_unique<VectorSelector>();
      c->name = v.name;
      c->matchers = v.matchers;
      c->original_offset_ms = v.original_offset_ms;
      c->offset_expr = CloneOpt(v.offset_expr);
      c->at = v.at;
      c->at_timestamp_ms = v.at_timestamp_ms;
      c->anchored = v.anchored;
      c->smoothed = v.smoothed;
      c->bypass_empty_matcher_check = v.bypass_empty_matcher_check;
      out = std::move(c);
      break;
    }
    case ExprKind::kMatrixSelector: {
      const auto& m = expr.As<MatrixSelector>();
      auto c = std::make_unique<MatrixSelector>();
      c->vector_selector = CloneOpt(m.vector_selector);
      c->range_ms = m.range_ms;
      c->range_expr = CloneOpt(m.range_expr);
      out = std::move(c);
      break;
    }
    case ExprKind::kSubquery: {
      const auto& s = expr.As<SubqueryExpr>();
      auto c = std::make_unique<SubqueryExpr>();
      c->expr = CloneOpt(s.expr);
      c->range_ms = s.range_ms;
      c->step_ms = s.step_ms;
      c->original_offset_ms = s.original_offset_ms;
      c->range_expr = CloneOpt(s.range_expr);
      c->step_expr = CloneOpt(s.step_expr);
      c->offset_expr = CloneOpt(s.offset_expr);
      c->at = s.at;
      c->at_timestamp_ms = s.at_timestamp_ms;
      out = std::move(c);
      break;
    }
    case ExprKind::kParen: {
      auto c = std::make_unique<ParenExpr>();
      c->expr = CloneOpt(expr.As<ParenExpr>().expr);
      out = std::move(c);
      break;
    }
    case ExprKind::kUnary: {
      const auto& u = expr.As<UnaryExpr>();
      auto c = std::make_unique<UnaryExpr>();
      c->op = u.op;
      c->expr = CloneOpt(u.expr);
      out = std::move(c);
      break;
    }
    case ExprKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      auto c = std::make_unique<BinaryExpr>();
      c->op = b.op;
      c->lhs = CloneOpt(b.lhs);
      c->rhs = CloneOpt(b.rhs);
      c->return_bool = b.return_bool;
      c->matching = b.matching;
      out = std::move(c);
      break;
    }
    case ExprKind::kAggregate: {
      const auto& a = expr.As<AggregateExpr>();
      auto c = std::make_unique<AggregateExpr>();
      c->op = a.op;
      c->expr = CloneOpt(a.expr);
      c->param = CloneOpt(a.param);
      c->grouping = a.grouping;
      c->without = a.without;
      out = std::move(c);
      break;
    }
    case ExprKind::kCall: {
      const auto& f = expr.As<Call>();
      auto c = std::make_unique<Call>();
      c->func = f.func;
      for (const auto& a : f.args) c->args.push_back(CloneOpt(a));
      out = std::move(c);
      break;
    }
  }
  out->pos = expr.pos;
  return out;
}

}  // namespace pharos::promql
