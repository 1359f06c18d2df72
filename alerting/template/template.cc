#include "alerting/template/template.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "alerting/template/internal/gofmt.h"
#include "alerting/template/internal/parse.h"
#include "alerting/template/internal/value_access.h"
#include "alerting/template/internal/funcs.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace pharos::alerting::tmpl {

using internal::Builtin;
using internal::Node;
using internal::NodeType;
using internal::Tree;
using internal::ValueAccess;

namespace {

// Bounds that keep a hostile template from hanging or exhausting memory or stack.
constexpr size_t kMaxOutputBytes = 4 << 20;  // email bodies of big alert groups fit
constexpr int kMaxTemplateDepth = 100;       // nested {{template}} calls
constexpr int kMaxEvalDepth = 2000;          // recursion of walk/eval, all causes
constexpr int64_t kMaxSteps = 5'000'000;     // nodes evaluated (bounds `range 1000000000`)

enum class Flow { kNormal, kBreak, kContinue };

struct TemplateSet {
  std::string name;
  FuncMap funcs;
  Mode mode = Mode::kText;
  std::map<std::string, std::unique_ptr<Tree>, std::less<>> trees;

  absl::Status AddText(std::string_view tname, std::string_view text) {
    std::vector<std::unique_ptr<Tree>> parsed;
    PHAROS_RETURN_IF_ERROR(internal::ParseTrees(tname, text, funcs, {}, &parsed));
    for (auto& t : parsed) {
      auto it = trees.find(t->name);
      // As Go's AddParseTree: an empty (whitespace-only) body does not replace a definition.
      if (it != trees.end() && internal::IsEmptyTree(t->root.get())) continue;
      std::string key = t->name;
      trees[key] = std::move(t);
    }
    return absl::OkStatus();
  }
};

class Exec {
 public:
  Exec(const TemplateSet& impl, std::string* out) : impl_(impl), out_(out) {}

  absl::Status Run(const Tree* tree, const Value& dot) {
    tree_ = tree;
    vars_.clear();
    vars_.emplace_back("$", dot);
    auto r = Walk(dot, tree->root.get());
    if (!r.ok()) return r.status();
    return absl::OkStatus();
  }

 private:
  // ---- errors ----
  absl::Status Errorf(const Node* n, std::string_view msg) const {
    if (n == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("template: ", Av(tree_->name), ": ", Av(msg)));
    }
    const std::string& text = tree_->source->text;
    size_t pos = std::min<size_t>(n->pos, text.size());
    std::string_view before(text.data(), pos);
    size_t nl = before.rfind('\n');
    size_t col = nl == std::string_view::npos ? pos : pos - (nl + 1);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    return absl::InvalidArgumentError(absl::StrCat(
        "template: ", Av(tree_->source->parse_name), ":", line, ":", col, ": executing \"",
        Av(tree_->name), "\" at <", Av(internal::NodeString(*n)), ">: ", Av(msg)));
  }

  absl::Status Step(const Node* n) {
    if (++steps_ > kMaxSteps) {
      return Errorf(n, absl::StrCat("template execution exceeded ", kMaxSteps, " steps"));
    }
    return absl::OkStatus();
  }

  struct DepthGuard {
    explicit DepthGuard(int* d) : d(d) { ++*d; }
    ~DepthGuard() { --*d; }
    int* d;
  };

  absl::Status Write(std::string_view s, const Node* n) {
    if (out_->size() + s.size() > kMaxOutputBytes) {
      return Errorf(n, absl::StrCat("template output exceeds ", kMaxOutputBytes, " bytes"));
    }
    out_->append(s);
    return absl::OkStatus();
  }

  // ---- variables ----
  absl::StatusOr<Value> VarValue(const Node* n, std::string_view name) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) return vars_[i].second;
    }
    return Errorf(n, absl::StrCat("undefined variable: ", Av(name)));
  }
  absl::Status SetVar(const Node* n, std::string_view name, Value v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) {
        vars_[i].second = std::move(v);
        return absl::OkStatus();
      }
    }
    return Errorf(n, absl::StrCat("undefined variable: ", Av(name)));
  }

  // ---- walking ----
  absl::StatusOr<Flow> Walk(const Value& dot, const Node* n) {
    if (n == nullptr) return Flow::kNormal;
    DepthGuard g(&depth_);
    if (depth_ > kMaxEvalDepth) return Errorf(n, "template recursion too deep");
    PHAROS_RETURN_IF_ERROR(Step(n));
    switch (n->type) {
      case NodeType::kList:
        for (const auto& k : n->kids) {
          PHAROS_ASSIGN_OR_RETURN(Flow f, Walk(dot, k.get()));
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case NodeType::kText:
        PHAROS_RETURN_IF_ERROR(Write(n->value.AsString(), n));
        return Flow::kNormal;
      case NodeType::kAction: {
        PHAROS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, n->pipe.get()));
        if (n->pipe->decl.empty()) PHAROS_RETURN_IF_ERROR(PrintValue(n, v));
        return Flow::kNormal;
      }
      case NodeType::kIf:
      case NodeType::kWith: {
        size_t mark = vars_.size();
        PHAROS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, n->pipe.get()));
        if (v.kind() == Value::Kind::kFunc) {
          return Errorf(n->pipe.get(), absl::StrCat("if/with can't use ", v.ToString()));
        }
        absl::StatusOr<Flow> f = Flow::kNormal;
        if (v.Truth()) {
          f = Walk(n->type == NodeType::kWith ? v : dot, n->list.get());
        } else if (n->else_list) {
          f = Walk(dot, n->else_list.get());
        }
        vars_.resize(mark);
        return f;
      }
      case NodeType::kRange: return WalkRange(dot, n);
      case NodeType::kTemplate: return WalkTemplate(dot, n);
      case NodeType::kBreak: return Flow::kBreak;
      case NodeType::kContinue: return Flow::kContinue;
      default: return Errorf(n, "unknown node");
    }
  }

  absl::StatusOr<Flow> WalkRange(const Value& dot, const Node* n) {
    size_t mark = vars_.size();
    PHAROS_ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, n->pipe.get()));
    const Node* pipe = n->pipe.get();
    size_t body_mark = vars_.size();
    // One iteration; false stops the loop ({{break}}).
    auto iterate = [&](Value index, const Value& elem) -> absl::StatusOr<bool> {
      if (!pipe->decl.empty()) {
        if (pipe->is_assign) {
          if (pipe->decl.size() > 1) {
            PHAROS_RETURN_IF_ERROR(SetVar(pipe, pipe->decl[0], std::move(index)));
            PHAROS_RETURN_IF_ERROR(SetVar(pipe, pipe->decl[1], elem));
          } else {
            PHAROS_RETURN_IF_ERROR(SetVar(pipe, pipe->decl[0], elem));
          }
        } else if (pipe->decl.size() > 1) {
          vars_[body_mark - 2].second = std::move(index);
          vars_[body_mark - 1].second = elem;
        } else {
          vars_[body_mark - 1].second = elem;
        }
      }
      absl::StatusOr<Flow> f = Walk(elem, n->list.get());
      vars_.resize(body_mark);
      if (!f.ok()) return f.status();
      return *f != Flow::kBreak;
    };
    bool ran = false;
    absl::Status st;
    switch (v.kind()) {
      case Value::Kind::kList: {
        const Value::List& l = v.AsList();
        for (size_t i = 0; i < l.size(); ++i) {
          ran = true;
          auto r = iterate(Value::Int(static_cast<int64_t>(i)), l[i]);
          if (!r.ok()) { st = r.status(); break; }
          if (!*r) break;
        }
        break;
      }
      case Value::Kind::kMap:
        for (const auto& [k, e] : v.AsMap()) {
          ran = true;
          auto r = iterate(Value::String(k), e);
          if (!r.ok()) { st = r.status(); break; }
          if (!*r) break;
        }
        break;
      case Value::Kind::kInt: {
        if (pipe->decl.size() > 1) {
          st = Errorf(n, absl::StrCat("can't use ", v.ToString(),
                                      " to iterate over more than one variable"));
          break;
        }
        for (int64_t i = 0; i < v.AsInt(); ++i) {
          ran = true;
          auto r = iterate(Value(), Value::Int(i));
          if (!r.ok()) { st = r.status(); break; }
          if (!*r) break;
        }
        break;
      }
      case Value::Kind::kNil:
        break;
      default:
        st = Errorf(n, absl::StrCat("range can't iterate over ", v.ToString()));
        break;
    }
    if (st.ok() && !ran && n->else_list) {
      auto f = Walk(dot, n->else_list.get());
      if (!f.ok()) st = f.status();
    }
    vars_.resize(mark);
    if (!st.ok()) return st;
    return Flow::kNormal;
  }

  absl::StatusOr<Flow> WalkTemplate(const Value& dot, const Node* n) {
    auto it = impl_.trees.find(n->text);
    if (it == impl_.trees.end()) {
      return Errorf(n, absl::StrCat("template ", internal::GoQuote(n->text), " not defined"));
    }
    if (template_depth_ >= kMaxTemplateDepth) {
      return Errorf(n, absl::StrCat("exceeded maximum template depth (", kMaxTemplateDepth, ")"));
    }
    Value new_dot;
    if (n->pipe) {
      PHAROS_ASSIGN_OR_RETURN(new_dot, EvalPipeline(dot, n->pipe.get()));
    }
    // No dynamic scoping: the callee sees only $.
    std::vector<std::pair<std::string_view, Value>> saved_vars;
    saved_vars.swap(vars_);
    vars_.emplace_back("$", new_dot);
    const Tree* saved_tree = tree_;
    tree_ = it->second.get();
    ++template_depth_;
    auto f = Walk(new_dot, tree_->root.get());
    --template_depth_;
    tree_ = saved_tree;
    vars_.swap(saved_vars);
    if (!f.ok()) return f.status();
    return Flow::kNormal;
  }

  absl::Status PrintValue(const Node* n, const Value& v) {
    if (v.kind() == Value::Kind::kFunc) {
      return Errorf(n, absl::StrCat("can't print ", Av(internal::NodeString(*n)), " of type func"));
    }
    if (impl_.mode == Mode::kHtml) {
      if (v.is_nil()) return absl::OkStatus();
      if (ValueAccess::IsSafeHtml(v)) return Write(v.AsString(), n);
      return Write(internal::HtmlTemplateEscape(v.ToString()), n);
    }
    if (v.is_nil()) return Write("<no value>", n);
    if (v.kind() == Value::Kind::kString) return Write(v.AsString(), n);
    return Write(v.ToString(), n);
  }

  // ---- evaluation ----
  absl::StatusOr<Value> EvalPipeline(const Value& dot, const Node* pipe) {
    DepthGuard g(&depth_);
    if (depth_ > kMaxEvalDepth) return Errorf(pipe, "template recursion too deep");
    Value value;
    bool have_final = false;
    for (const auto& cmd : pipe->kids) {
      PHAROS_ASSIGN_OR_RETURN(value, EvalCommand(dot, cmd.get(), have_final ? &value : nullptr));
      have_final = true;
    }
    for (const auto& d : pipe->decl) {
      if (pipe->is_assign) {
        PHAROS_RETURN_IF_ERROR(SetVar(pipe, d, value));
      } else {
        vars_.emplace_back(d, value);
      }
    }
    return value;
  }

  absl::Status NotAFunction(const Node* cmd, const Value* final) {
    if (cmd->kids.size() > 1 || final != nullptr) {
      return Errorf(cmd->kids[0].get(),
                    absl::StrCat("can't give argument to non-function ",
                                 Av(internal::NodeString(*cmd->kids[0]))));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Value> EvalCommand(const Value& dot, const Node* cmd, const Value* final) {
    PHAROS_RETURN_IF_ERROR(Step(cmd));
    const Node* first = cmd->kids[0].get();
    std::span<const std::unique_ptr<Node>> args(cmd->kids.data() + 1, cmd->kids.size() - 1);
    switch (first->type) {
      case NodeType::kField:
        return EvalFieldChain(dot, dot, first, first->idents, args, final);
      case NodeType::kChain: {
        if (first->kids[0]->type == NodeType::kNil) {
          return Errorf(first, absl::StrCat("indirection through explicit nil in ",
                                            Av(internal::NodeString(*first))));
        }
        PHAROS_ASSIGN_OR_RETURN(Value recv, EvalArg(dot, first->kids[0].get()));
        return EvalFieldChain(dot, recv, first, first->idents, args, final);
      }
      case NodeType::kIdentifier:
        return EvalFunction(dot, first, cmd, args, final);
      case NodeType::kPipe:
        PHAROS_RETURN_IF_ERROR(NotAFunction(cmd, final));
        return EvalPipeline(dot, first);
      case NodeType::kVariable: {
        PHAROS_ASSIGN_OR_RETURN(Value v, VarValue(first, first->idents[0]));
        if (first->idents.size() == 1) {
          PHAROS_RETURN_IF_ERROR(NotAFunction(cmd, final));
          return v;
        }
        return EvalFieldChain(dot, v, first,
                              std::span<const std::string>(first->idents).subspan(1), args,
                              final);
      }
      default: break;
    }
    PHAROS_RETURN_IF_ERROR(NotAFunction(cmd, final));
    switch (first->type) {
      case NodeType::kBool:
      case NodeType::kNumber:
      case NodeType::kString: return first->value;
      case NodeType::kDot: return dot;
      case NodeType::kNil: return Errorf(first, "nil is not a command");
      default: return Errorf(first, "can't evaluate command");
    }
  }

  // An argument: a value, never called with further arguments.
  absl::StatusOr<Value> EvalArg(const Value& dot, const Node* n) {
    PHAROS_RETURN_IF_ERROR(Step(n));
    switch (n->type) {
      case NodeType::kDot: return dot;
      case NodeType::kNil: return Value();
      case NodeType::kField: return EvalFieldChain(dot, dot, n, n->idents, {}, nullptr);
      case NodeType::kVariable: {
        PHAROS_ASSIGN_OR_RETURN(Value v, VarValue(n, n->idents[0]));
        if (n->idents.size() == 1) return v;
        return EvalFieldChain(dot, v, n, std::span<const std::string>(n->idents).subspan(1), {},
                              nullptr);
      }
      case NodeType::kPipe: return EvalPipeline(dot, n);
      case NodeType::kIdentifier: return EvalFunction(dot, n, n, {}, nullptr);
      case NodeType::kChain: {
        if (n->kids[0]->type == NodeType::kNil) {
          return Errorf(n, absl::StrCat("indirection through explicit nil in ",
                                        Av(internal::NodeString(*n))));
        }
        PHAROS_ASSIGN_OR_RETURN(Value recv, EvalArg(dot, n->kids[0].get()));
        return EvalFieldChain(dot, recv, n, n->idents, {}, nullptr);
      }
      case NodeType::kBool:
      case NodeType::kNumber:
      case NodeType::kString: return n->value;
      default: return Errorf(n, "can't handle argument");
    }
  }

  absl::StatusOr<Value> EvalFieldChain(const Value& dot, Value receiver, const Node* n,
                                       std::span<const std::string> idents,
                                       std::span<const std::unique_ptr<Node>> args,
                                       const Value* final) {
    for (size_t i = 0; i + 1 < idents.size(); ++i) {
      PHAROS_ASSIGN_OR_RETURN(receiver, EvalField(dot, idents[i], n, {}, nullptr, receiver));
    }
    return EvalField(dot, idents.back(), n, args, final, receiver);
  }

  absl::StatusOr<Value> CallFunc(const Value& dot, const Value::Func& f, std::string_view name,
                                 const Node* n, std::span<const std::unique_ptr<Node>> args,
                                 const Value* final) {
    std::vector<Value> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) {
      PHAROS_ASSIGN_OR_RETURN(Value v, EvalArg(dot, a.get()));
      argv.push_back(std::move(v));
    }
    if (final != nullptr) argv.push_back(*final);
    if (!f) return Errorf(n, absl::StrCat("call of nil function ", Av(name)));
    absl::StatusOr<Value> r = f(argv);
    if (!r.ok()) return CallError(n, name, r.status());
    return std::move(*r);
  }

  absl::Status CallError(const Node* n, std::string_view name, const absl::Status& st) {
    // Argument type errors read as Go's reflection checks; others as "error calling".
    if (internal::IsArgError(st)) return Errorf(n, Sv(st.message()));
    return Errorf(n, absl::StrCat("error calling ", Av(name), ": ", st.message()));
  }

  absl::StatusOr<Value> EvalField(const Value& dot, const std::string& name, const Node* n,
                                  std::span<const std::unique_ptr<Node>> args,
                                  const Value* final, const Value& receiver) {
    bool has_args = !args.empty() || final != nullptr;
    if (receiver.is_nil()) return Value();  // Go: a field of <no value> is <no value>
    if (const Value::Map* methods = ValueAccess::Methods(receiver)) {
      auto it = methods->find(name);
      if (it != methods->end()) {
        if (it->second.kind() == Value::Kind::kFunc) {
          return CallFunc(dot, it->second.AsFunc(), name, n, args, final);
        }
        if (has_args) {
          return Errorf(n, absl::StrCat(Av(name), " is not a method but has arguments"));
        }
        return it->second;
      }
    }
    switch (receiver.kind()) {
      case Value::Kind::kMap: {
        const Value::Map& m = receiver.AsMap();
        auto it = m.find(name);
        if (it != m.end() && it->second.kind() == Value::Kind::kFunc) {
          return CallFunc(dot, it->second.AsFunc(), name, n, args, final);
        }
        if (has_args) {
          return Errorf(n, absl::StrCat(Av(name), " is not a method but has arguments"));
        }
        if (it != m.end()) return it->second;
        return internal::MapZero(m);
      }
      case Value::Kind::kTime: {
        Value::Func method = internal::TimeMethod(receiver, name);
        if (method) return CallFunc(dot, method, name, n, args, final);
        break;
      }
      default:
        break;
    }
    return Errorf(n, absl::StrCat("can't evaluate field ", Av(name), " in type ",
                                  Av(internal::TypeName(receiver))));
  }

  // `n` is the identifier; errors are reported at `cmd`, the whole command, as Go does.
  absl::StatusOr<Value> EvalFunction(const Value& dot, const Node* n, const Node* cmd,
                                     std::span<const std::unique_ptr<Node>> args,
                                     const Value* final) {
    if (n->func != nullptr) return CallFunc(dot, *n->func, n->text, cmd, args, final);
    size_t nargs = args.size() + (final != nullptr ? 1 : 0);
    // and/or evaluate lazily and return the deciding value.
    if (n->builtin == Builtin::kAnd || n->builtin == Builtin::kOr) {
      if (nargs < 1) {
        return Errorf(cmd, absl::StrCat("wrong number of args for ", Av(n->text),
                                      ": want at least 1 got 0"));
      }
      bool is_or = n->builtin == Builtin::kOr;
      Value v;
      for (const auto& a : args) {
        PHAROS_ASSIGN_OR_RETURN(v, EvalArg(dot, a.get()));
        if (v.Truth() == is_or) return v;
      }
      if (final != nullptr) v = *final;
      return v;
    }
    std::vector<Value> argv;
    argv.reserve(nargs);
    for (const auto& a : args) {
      PHAROS_ASSIGN_OR_RETURN(Value v, EvalArg(dot, a.get()));
      argv.push_back(std::move(v));
    }
    if (final != nullptr) argv.push_back(*final);
    absl::StatusOr<Value> r = internal::CallBuiltin(n->builtin, n->text, argv);
    if (!r.ok()) return CallError(cmd, n->text, r.status());
    return std::move(*r);
  }

  const TemplateSet& impl_;
  std::string* out_;
  const Tree* tree_ = nullptr;
  std::vector<std::pair<std::string_view, Value>> vars_;
  int depth_ = 0;
  int template_depth_ = 0;
  int64_t steps_ = 0;
};

}  // namespace

struct Template::Impl : TemplateSet {};

Template::Template(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

absl::StatusOr<Template> Template::Parse(std::string_view name, std::string_view text,
                                         FuncMap funcs, Mode mode) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::string(name);
  impl->funcs = std::move(funcs);
  impl->mode = mode;
  PHAROS_RETURN_IF_ERROR(impl->AddText(name, text));
  if (impl->trees.find(name) == impl->trees.end()) {
    // Only {{define}}s: the named template exists with an empty body, as in Go.
    auto t = std::make_unique<Tree>();
    t->name = std::string(name);
    auto src = std::make_shared<internal::Source>();
    src->parse_name = std::string(name);
    t->source = std::move(src);
    t->root = std::make_unique<Node>();
    t->root->type = NodeType::kList;
    impl->trees[std::string(name)] = std::move(t);
  }
  return Template(std::move(impl));
}

absl::Status Template::Add(std::string_view name, std::string_view text) {
  return impl_->AddText(name, text);
}

bool Template::Has(std::string_view name) const {
  return impl_->trees.find(name) != impl_->trees.end();
}

absl::StatusOr<std::string> Template::Execute(const Value& dot, std::string_view name) const {
  if (name.empty()) name = impl_->name;
  auto it = impl_->trees.find(name);
  if (it == impl_->trees.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("template: no template ", internal::GoQuote(name),
                     " associated with template ", internal::GoQuote(impl_->name)));
  }
  std::string out;
  Exec exec(*impl_, &out);
  PHAROS_RETURN_IF_ERROR(exec.Run(it->second.get(), dot));
  return out;
}

}  // namespace pharos::alerting::tmpl
