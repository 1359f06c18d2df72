#pragma once

// Lexer and parser for Go text/template: turns template text into trees of Nodes, one per
// defined template. Error messages follow text/template/parse ("template: NAME:LINE: ...").

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "alerting/template/template.h"

namespace pharos::alerting::tmpl::internal {

enum class NodeType {
  kList, kText, kAction, kIf, kRange, kWith, kTemplate, kBreak, kContinue,
  // Pipeline pieces.
  kPipe, kCommand, kField, kVariable, kChain, kIdentifier, kDot, kNil, kBool, kNumber, kString,
};

enum class Builtin {
  kNone, kAnd, kOr, kNot, kLen, kIndex, kSlice, kPrint, kPrintf, kPrintln, kEq, kNe, kLt, kLe,
  kGt, kGe, kHtml, kJs, kUrlquery, kCall,
};

struct Node {
  NodeType type;
  uint32_t pos = 0;
  std::string text;                 // text, literal as written, template/identifier name
  Value value;                      // kNumber, kString, kBool constants; kText as string
  std::vector<std::string> idents;  // kField: names; kVariable: $name then names; kChain: names
  std::vector<std::unique_ptr<Node>> kids;  // kList nodes, kPipe commands, kCommand args,
                                            // kChain: [operand]
  // kPipe declarations.
  std::vector<std::string> decl;
  bool is_assign = false;
  // kAction/kIf/kRange/kWith/kTemplate: pipe (may be null for template); control lists.
  std::unique_ptr<Node> pipe, list, else_list;
  // kIdentifier: resolved function.
  const Value::Func* func = nullptr;
  Builtin builtin = Builtin::kNone;
};

// The source a set of trees was parsed from, for error locations.
struct Source {
  std::string parse_name;  // the name given to Parse/Add
  std::string text;
};

struct Tree {
  std::string name;
  std::shared_ptr<const Source> source;
  std::unique_ptr<Node> root;
};

struct ParseLimits {
  size_t max_text_bytes = 1 << 20;
  int max_nesting = 200;
};

// Parses `text` into trees: the top-level one named `name` plus every {{define}}/{{block}}.
// Identifiers resolve against `funcs` first, then the builtins.
absl::Status ParseTrees(std::string_view name, std::string_view text, const FuncMap& funcs,
                        const ParseLimits& limits, std::vector<std::unique_ptr<Tree>>* out);

// Go's Node.String(), for "executing ... at <...>" error context.
std::string NodeString(const Node& n);
// True if the list holds only whitespace text (Go's parse.IsEmptyTree).
bool IsEmptyTree(const Node* root);

}  // namespace pharos::alerting::tmpl::internal
