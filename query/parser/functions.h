#pragma once

// The PromQL function table (Prometheus 3.x, promql/parser/functions.go).

#include <span>
#include <string_view>
#include <vector>

#include "query/parser/ast.h"

namespace pharos::promql {

struct Function {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // As in Prometheus: 0 means exactly arg_types.size() arguments; N > 0 means between
  // arg_types.size()-1 and arg_types.size()-1+N; -1 means at least arg_types.size()-1.
  // Arguments past the end of arg_types have the type of its last element.
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  bool experimental = false;  // needs ParserOptions::enable_experimental
  bool native_histogram = false;  // histogram_* family: reads native histogram samples
};

// Returns nullptr for an unknown name.
const Function* LookupFunction(std::string_view name);

// All functions, sorted by name.
std::span<const Function> AllFunctions();

}  // namespace pharos::promql
