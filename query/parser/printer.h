#pragma once

// PromQL printers: the canonical one-line form (Prometheus Expr.String(), used by
// /api/v1/format_query's round trip and in error messages) and an indented pretty form
// (Prometheus parser.Prettify, simplified).

#include <string>

#include "query/parser/ast.h"

namespace pharos::promql {

// Canonical form, e.g. `sum by (job) (rate(http_requests_total{code="200"}[5m] offset 1m))`.
std::string Format(const Expr& expr);

// Duration expression as written, e.g. `5m + step()`.
std::string Format(const DurationExpr& expr);

// Multi-line form after Prometheus' Pretty() (used by /api/v1/format_query): a node whose
// canonical form is at most `max_width` characters stays on one line; otherwise aggregation
// and function arguments and parenthesized expressions go on their own lines, and binary
// operands are indented one level (two spaces) deeper than their operator line.
std::string FormatPretty(const Expr& expr, int max_width = 100);

}  // namespace pharos::promql
