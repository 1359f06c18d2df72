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

// Multi-line form: a node whose canonical form fits in `max_width` columns stays on one
// line; otherwise binary operands, function and aggregation arguments are split over lines
// with two-space indentation.
std::string FormatPretty(const Expr& expr, int max_width = 100);

}  // namespace pharos::promql
