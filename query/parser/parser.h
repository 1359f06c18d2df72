#pragma once

// PromQL parser and type checker (Prometheus 3.x syntax).
//
//   PHAROS_ASSIGN_OR_RETURN(promql::ExprPtr expr, promql::ParseExpr("rate(x[5m])", {}));
//
// Errors are absl::InvalidArgumentError with Prometheus' text, e.g.
//   1:6: parse error: expected type range vector in call to function "rate", got instant vector

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/parser/ast.h"

namespace pharos::promql {

struct ParserOptions {
  // Experimental syntax, each behind its own feature flag in Prometheus: experimental
  // functions (incl. limitk/limit_ratio, info, step()/range()/start()/end()), duration
  // expressions ([5m+1m], offset (2^2), min_of/max_of), the anchored/smoothed range modifiers
  // and the fill()/fill_left()/fill_right() binary modifiers. Default: off.
  bool enable_experimental = false;
};

// Parses and type-checks a PromQL expression.
[[nodiscard]] absl::StatusOr<ExprPtr> ParseExpr(std::string_view input,
                                                const ParserOptions& options = {});

// Parses a series selector such as `up{job="x"}` or `{"a.b", c=~"d"}` (match[] of the
// series/labels APIs). Returns its matchers, including __name__ for a named selector.
[[nodiscard]] absl::StatusOr<std::vector<LabelMatcher>> ParseMetricSelector(
    std::string_view input);

}  // namespace pharos::promql
