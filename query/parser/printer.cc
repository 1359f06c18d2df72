#include "query/parser/printer.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "query/parser/functions.h"
#include "query/parser/internal/strings.h"
#include "query/parser/lexer.h"

namespace pharos::promql {
namespace {

// Go's fmt %v for float64: shortest round-trip digits, %e form when the decimal exponent is
// < -4 or >= 6 (1e+06, 1.5e-07), else plain decimal (100000, 0.0001).
std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci: [-]d[.ddd]e[+-]XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    int ax = std::abs(exp);
    if (ax < 10) out += '0';
    internal::CatAppend(&out, ax);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  size_t int_len = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out += digits;
    out.append(int_len - digits.size(), '0');
  } else {
    out.append(digits, 0, int_len);
    out += '.';
    out.append(digits, int_len, std::string::npos);
  }
  return out;
}

std::string FormatLabelName(std::string_view name) {
  if (IsLegacyLabelName(name)) return std::string(name);
  return QuoteString(name);
}

std::string FormatLabelList(const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  out.reserve(labels.size());
  for (const auto& l : labels) out.push_back(FormatLabelName(l));
  return absl::StrJoin(out, ", ");
}

std::string FormatMatcher(const LabelMatcher& m) {
  return internal::Cat(FormatLabelName(m.name), MatchTypeString(m.type), QuoteString(m.value));
}

std::string FormatNumber(const NumberLiteral& n) {
  if (n.is_duration && std::isfinite(n.value)) {
    int64_t ms = static_cast<int64_t>(std::llround(n.value * 1000));
    if (ms < 0) return "-" + FormatDurationMs(-ms);
    return FormatDurationMs(ms);
  }
  return FormatGoFloat(n.value);
}

std::string FormatOffset(int64_t offset_ms, const std::unique_ptr<DurationExpr>& expr) {
  if (expr) return internal::Cat(" offset ", Format(*expr));
  if (offset_ms > 0) return internal::Cat(" offset ", FormatDurationMs(offset_ms));
  if (offset_ms < 0) return internal::Cat(" offset -", FormatDurationMs(-offset_ms));
  return "";
}

std::string FormatAt(AtKind at, int64_t ts_ms) {
  switch (at) {
    case AtKind::kNone: return "";
    case AtKind::kStart: return " @ start()";
    case AtKind::kEnd: return " @ end()";
    case AtKind::kTimestamp:
      return absl::StrFormat(" @ %.3f", static_cast<double>(ts_ms) / 1000.0);
  }
  return "";
}

std::string FormatRangeValue(int64_t ms, const std::unique_ptr<DurationExpr>& expr) {
  if (expr) return Format(*expr);
  return FormatDurationMs(ms);
}

// Selector without offset/@ (the matrix printer puts them after the range).
std::string FormatSelectorBody(const VectorSelector& vs) {
  std::vector<std::string> parts;
  for (const LabelMatcher& m : vs.matchers) {
    if (m.name == kMetricNameLabel && m.type == MatchType::kEqual && m.value == vs.name &&
        !m.value.empty()) {
      continue;
    }
    parts.push_back(FormatMatcher(m));
  }
  std::sort(parts.begin(), parts.end());
  if (!vs.name.empty() && !IsLegacyMetricName(vs.name)) {
    parts.insert(parts.begin(), QuoteString(vs.name));
    return internal::Cat("{", absl::StrJoin(parts, ","), "}");
  }
  if (parts.empty()) return vs.name;
  return internal::Cat(vs.name, "{", absl::StrJoin(parts, ","), "}");
}

std::string FormatExtended(const VectorSelector& vs) {
  if (vs.anchored) return " anchored";
  if (vs.smoothed) return " smoothed";
  return "";
}

std::string FormatMatching(const BinaryExpr& b) {
  if (!b.matching) return "";
  const VectorMatching& vm = *b.matching;
  std::string out;
  bool grouped = vm.card == VectorMatchCard::kManyToOne || vm.card == VectorMatchCard::kOneToMany;
  if (!vm.matching_labels.empty() || vm.on || grouped) {
    internal::CatAppend(&out, vm.on ? " on" : " ignoring", " (", FormatLabelList(vm.matching_labels), ")");
    if (grouped) {
      internal::CatAppend(&out, vm.card == VectorMatchCard::kManyToOne ? " group_left" : " group_right",
                      " (", FormatLabelList(vm.include), ")");
    }
  }
  if (vm.fill_lhs && vm.fill_rhs &&
      (*vm.fill_lhs == *vm.fill_rhs || (std::isnan(*vm.fill_lhs) && std::isnan(*vm.fill_rhs)))) {
    internal::CatAppend(&out, " fill(", FormatGoFloat(*vm.fill_lhs), ")");
  } else {
    if (vm.fill_lhs) internal::CatAppend(&out, " fill_left(", FormatGoFloat(*vm.fill_lhs), ")");
    if (vm.fill_rhs) internal::CatAppend(&out, " fill_right(", FormatGoFloat(*vm.fill_rhs), ")");
  }
  return out;
}

std::string AggregateHead(const AggregateExpr& a) {
  std::string out(AggregateOpString(a.op));
  if (a.without) {
    internal::CatAppend(&out, " without (", FormatLabelList(a.grouping), ") ");
  } else if (!a.grouping.empty()) {
    internal::CatAppend(&out, " by (", FormatLabelList(a.grouping), ") ");
  }
  return out;
}

std::string BinaryOpText(const BinaryExpr& b) {
  return internal::Cat(BinaryOpString(b.op), b.return_bool ? " bool" : "", FormatMatching(b));
}

std::string SubquerySuffix(const SubqueryExpr& s) {
  std::string step;
  if (s.step_expr) {
    step = Format(*s.step_expr);
  } else if (s.step_ms != 0) {
    step = FormatDurationMs(s.step_ms);
  }
  return internal::Cat("[", FormatRangeValue(s.range_ms, s.range_expr), ":", step, "]",
                      FormatAt(s.at, s.at_timestamp_ms),
                      FormatOffset(s.original_offset_ms, s.offset_expr));
}

std::string DurationOpString(DurationExpr::Op op) {
  switch (op) {
    case DurationExpr::Op::kAdd: return "+";
    case DurationExpr::Op::kSub: return "-";
    case DurationExpr::Op::kMul: return "*";
    case DurationExpr::Op::kDiv: return "/";
    case DurationExpr::Op::kMod: return "%";
    case DurationExpr::Op::kPow: return "^";
    default: return "?";
  }
}

void Pretty(const Expr& e, int indent, int max_width, std::string* out);

}  // namespace

std::string Format(const DurationExpr& d) {
  using Op = DurationExpr::Op;
  switch (d.op) {
    case Op::kLiteral: {
      NumberLiteral n;
      n.value = d.value;
      n.is_duration = d.is_duration;
      return FormatNumber(n);
    }
    case Op::kParen: return internal::Cat("(", Format(*d.lhs), ")");
    case Op::kNeg: return internal::Cat("-", Format(*d.lhs));
    case Op::kPos: return internal::Cat("+", Format(*d.lhs));
    case Op::kStep: return "step()";
    case Op::kRange: return "range()";
    case Op::kMinOf: return internal::Cat("min_of(", Format(*d.lhs), ", ", Format(*d.rhs), ")");
    case Op::kMaxOf: return internal::Cat("max_of(", Format(*d.lhs), ", ", Format(*d.rhs), ")");
    default:
      return internal::Cat(Format(*d.lhs), " ", DurationOpString(d.op), " ", Format(*d.rhs));
  }
}

std::string Format(const Expr& e) {
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: return FormatNumber(e.As<NumberLiteral>());
    case ExprKind::kStringLiteral: return QuoteString(e.As<StringLiteral>().value);
    case ExprKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      return internal::Cat(FormatSelectorBody(vs), FormatAt(vs.at, vs.at_timestamp_ms),
                          FormatOffset(vs.original_offset_ms, vs.offset_expr), FormatExtended(vs));
    }
    case ExprKind::kMatrixSelector: {
      const auto& m = e.As<MatrixSelector>();
      if (m.vector_selector->kind() != ExprKind::kVectorSelector) {
        return internal::Cat(Format(*m.vector_selector), "[", FormatRangeValue(m.range_ms, m.range_expr), "]");
      }
      const auto& vs = m.selector();
      return internal::Cat(FormatSelectorBody(vs), "[", FormatRangeValue(m.range_ms, m.range_expr), "]",
                          FormatAt(vs.at, vs.at_timestamp_ms),
                          FormatOffset(vs.original_offset_ms, vs.offset_expr), FormatExtended(vs));
    }
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      return internal::Cat(Format(*s.expr), SubquerySuffix(s));
    }
    case ExprKind::kParen: return internal::Cat("(", Format(*e.As<ParenExpr>().expr), ")");
    case ExprKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      return internal::Cat(u.op == UnaryOp::kSub ? "-" : "+", Format(*u.expr));
    }
    case ExprKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      std::string lhs = Format(*b.lhs);
      if (b.op == BinaryOp::kPow && b.lhs->kind() == ExprKind::kNumberLiteral &&
          (lhs[0] == '+' || lhs[0] == '-')) {
        // A signed literal before ^ would re-parse as a unary expression: -1 ^ 2 is -(1 ^ 2).
        lhs = lhs == "+Inf" ? "Inf" : internal::Cat("(", lhs, ")");
      }
      return internal::Cat(lhs, " ", BinaryOpText(b), " ", Format(*b.rhs));
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      std::string out = AggregateHead(a);
      out += "(";
      if (a.param) internal::CatAppend(&out, Format(*a.param), ", ");
      internal::CatAppend(&out, Format(*a.expr), ")");
      return out;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(Format(*a));
      return internal::Cat(c.func->name, "(", absl::StrJoin(args, ", "), ")");
    }
  }
  return "";
}

namespace {

void Pretty(const Expr& e, int indent, int max_width, std::string* out) {
  // Prometheus' Pretty(level): a node whose canonical form fits stays on one line (the indent
  // does not count towards the limit); otherwise it is split as below.
  std::string pad(static_cast<size_t>(indent) * 2, ' ');
  std::string flat = Format(e);
  if (static_cast<int>(flat.size()) <= max_width) {
    internal::CatAppend(out, pad, flat);
    return;
  }
  switch (e.kind()) {
    case ExprKind::kParen:
      internal::CatAppend(out, pad, "(\n");
      Pretty(*e.As<ParenExpr>().expr, indent + 1, max_width, out);
      internal::CatAppend(out, "\n", pad, ")");
      return;
    case ExprKind::kBinary: {
      // Operands one level deeper than the operator line.
      const auto& b = e.As<BinaryExpr>();
      Pretty(*b.lhs, indent + 1, max_width, out);
      internal::CatAppend(out, "\n", pad, BinaryOpText(b), "\n");
      Pretty(*b.rhs, indent + 1, max_width, out);
      return;
    }
    case ExprKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      internal::CatAppend(out, pad, AggregateHead(a), "(\n");
      if (a.param) {
        Pretty(*a.param, indent + 1, max_width, out);
        internal::CatAppend(out, ",\n");
      }
      Pretty(*a.expr, indent + 1, max_width, out);
      internal::CatAppend(out, "\n", pad, ")");
      return;
    }
    case ExprKind::kCall: {
      const auto& c = e.As<Call>();
      internal::CatAppend(out, pad, c.func->name, "(\n");
      for (size_t i = 0; i < c.args.size(); ++i) {
        Pretty(*c.args[i], indent + 1, max_width, out);
        internal::CatAppend(out, i + 1 < c.args.size() ? ",\n" : "\n");
      }
      internal::CatAppend(out, pad, ")");
      return;
    }
    case ExprKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      Pretty(*s.expr, indent, max_width, out);
      internal::CatAppend(out, SubquerySuffix(s));
      return;
    }
    case ExprKind::kUnary: {
      // The operator is attached to the operand's first line.
      const auto& u = e.As<UnaryExpr>();
      std::string child;
      Pretty(*u.expr, indent, max_width, &child);
      size_t first = child.find_first_not_of(' ');
      internal::CatAppend(out, pad, u.op == UnaryOp::kSub ? "-" : "+",
                          first == std::string::npos ? child : child.substr(first));
      return;
    }
    default:
      internal::CatAppend(out, pad, flat);
  }
}

}  // namespace

std::string FormatPretty(const Expr& expr, int max_width) {
  std::string out;
  Pretty(expr, 0, max_width, &out);
  return out;
}

}  // namespace pharos::promql
