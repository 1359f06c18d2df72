#include "alerting/template/internal/funcs.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "alerting/template/internal/gofmt.h"
#include "alerting/template/internal/value_access.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace pharos::alerting::tmpl::internal {
namespace {

constexpr char kArgErrorPayload[] = "pharos.alerting.tmpl/arg-error";

enum class BasicKind { kInvalid, kBool, kInt, kFloat, kString, kOther };

BasicKind KindOf(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil: return BasicKind::kInvalid;
    case Value::Kind::kBool: return BasicKind::kBool;
    case Value::Kind::kInt: return BasicKind::kInt;
    case Value::Kind::kFloat: return BasicKind::kFloat;
    case Value::Kind::kString: return BasicKind::kString;
    default: return BasicKind::kOther;
  }
}

absl::Status Incompatible() { return absl::InvalidArgumentError("incompatible types for comparison"); }
absl::Status BadType() { return absl::InvalidArgumentError("invalid type for comparison"); }

absl::StatusOr<bool> Eq(std::span<const Value> args) {
  if (args.size() < 2) return absl::InvalidArgumentError("missing argument for comparison");
  const Value& a = args[0];
  BasicKind k1 = KindOf(a);
  for (const Value& b : args.subspan(1)) {
    BasicKind k2 = KindOf(b);
    bool truth = false;
    if (k1 != k2) {
      if (!a.is_nil() && !b.is_nil()) return Incompatible();
    } else {
      switch (k1) {
        case BasicKind::kBool: truth = a.AsBool() == b.AsBool(); break;
        case BasicKind::kInt: truth = a.AsInt() == b.AsInt(); break;
        case BasicKind::kFloat: truth = a.AsFloat() == b.AsFloat(); break;
        case BasicKind::kString: truth = a.AsString() == b.AsString(); break;
        case BasicKind::kInvalid: truth = true; break;
        case BasicKind::kOther:
          if (a.kind() == Value::Kind::kTime && b.kind() == Value::Kind::kTime) {
            truth = a.AsTimeMs() == b.AsTimeMs();
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat("non-comparable type ", a.ToString(), ": ", TypeName(a)));
          }
          break;
      }
    }
    if (truth) return true;
  }
  return false;
}

absl::StatusOr<bool> Lt(const Value& a, const Value& b) {
  BasicKind k1 = KindOf(a), k2 = KindOf(b);
  if (k1 == BasicKind::kInvalid || k1 == BasicKind::kOther || k2 == BasicKind::kInvalid ||
      k2 == BasicKind::kOther) {
    return BadType();
  }
  if (k1 != k2) return Incompatible();
  switch (k1) {
    case BasicKind::kInt: return a.AsInt() < b.AsInt();
    case BasicKind::kFloat: return a.AsFloat() < b.AsFloat();
    case BasicKind::kString: return a.AsString() < b.AsString();
    default: return BadType();
  }
}

absl::StatusOr<bool> Le(const Value& a, const Value& b) {
  absl::StatusOr<bool> lt = Lt(a, b);
  if (!lt.ok() || *lt) return lt;
  Value pair[2] = {a, b};
  return Eq(pair);
}

absl::StatusOr<int64_t> IndexArg(const Value& index, size_t cap) {
  if (index.is_nil()) return absl::InvalidArgumentError("cannot index slice/array with nil");
  if (index.kind() != Value::Kind::kInt) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot index slice/array with type ", TypeName(index)));
  }
  int64_t x = index.AsInt();
  if (x < 0 || static_cast<uint64_t>(x) > cap) {
    return absl::InvalidArgumentError(absl::StrCat("index out of range: ", x));
  }
  return x;
}

absl::StatusOr<Value> Index(std::span<const Value> args) {
  Value item = args[0];
  if (item.is_nil()) return absl::InvalidArgumentError("index of untyped nil");
  for (const Value& index : args.subspan(1)) {
    switch (item.kind()) {
      case Value::Kind::kList: {
        const Value::List& l = item.AsList();
        PHAROS_ASSIGN_OR_RETURN(int64_t x, IndexArg(index, l.size()));
        if (static_cast<size_t>(x) == l.size()) {
          return absl::InvalidArgumentError(absl::StrCat("index out of range: ", x));
        }
        Value next = l[x];
        item = std::move(next);
        break;
      }
      case Value::Kind::kString: {
        const std::string& s = item.AsString();
        PHAROS_ASSIGN_OR_RETURN(int64_t x, IndexArg(index, s.size()));
        if (static_cast<size_t>(x) == s.size()) {
          return absl::InvalidArgumentError(absl::StrCat("index out of range: ", x));
        }
        item = Value::Int(static_cast<unsigned char>(s[x]));
        break;
      }
      case Value::Kind::kMap: {
        if (index.is_nil()) {
          return absl::InvalidArgumentError("value is nil; should be of type string");
        }
        if (index.kind() != Value::Kind::kString) {
          return absl::InvalidArgumentError(
              absl::StrCat("value has type ", TypeName(index), "; should be string"));
        }
        const Value::Map& m = item.AsMap();
        auto it = m.find(index.AsString());
        Value next = it != m.end() ? it->second : MapZero(m);
        item = std::move(next);
        break;
      }
      default:
        if (item.is_nil()) return absl::InvalidArgumentError("index of nil pointer");
        return absl::InvalidArgumentError(
            absl::StrCat("can't index item of type ", TypeName(item)));
    }
  }
  return item;
}

absl::StatusOr<Value> Slice(std::span<const Value> args) {
  const Value& item = args[0];
  if (item.is_nil()) return absl::InvalidArgumentError("slice of untyped nil");
  auto idx = args.subspan(1);
  if (idx.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat("too many slice indexes: ", idx.size()));
  }
  size_t cap;
  if (item.kind() == Value::Kind::kString) {
    if (idx.size() == 3) return absl::InvalidArgumentError("cannot 3-index slice a string");
    cap = item.AsString().size();
  } else if (item.kind() == Value::Kind::kList) {
    cap = item.AsList().size();
  } else {
    return absl::InvalidArgumentError(absl::StrCat("can't slice item of type ", TypeName(item)));
  }
  int64_t x[3] = {0, static_cast<int64_t>(cap), static_cast<int64_t>(cap)};
  for (size_t i = 0; i < idx.size(); ++i) {
    PHAROS_ASSIGN_OR_RETURN(x[i], IndexArg(idx[i], cap));
  }
  if (x[0] > x[1]) {
    return absl::InvalidArgumentError(absl::StrCat("invalid slice index: ", x[0], " > ", x[1]));
  }
  if (idx.size() == 3 && x[1] > x[2]) {
    return absl::InvalidArgumentError(absl::StrCat("invalid slice index: ", x[1], " > ", x[2]));
  }
  if (item.kind() == Value::Kind::kString) {
    return Value::String(item.AsString().substr(x[0], x[1] - x[0]));
  }
  const Value::List& l = item.AsList();
  return Value::MakeList(Value::List(l.begin() + x[0], l.begin() + x[1]));
}

std::string EvalArgs(std::span<const Value> args) {
  if (args.size() == 1 && args[0].kind() == Value::Kind::kString) return args[0].AsString();
  return Sprint(args);
}

}  // namespace

absl::Status ArgError(std::string_view msg) {
  absl::Status st = absl::InvalidArgumentError(Av(msg));
  st.SetPayload(kArgErrorPayload, absl::Cord("1"));
  return st;
}

bool IsArgError(const absl::Status& st) {
  return st.GetPayload(kArgErrorPayload).has_value();
}

absl::StatusOr<std::string_view> StringArg(const Value& v) {
  if (v.kind() == Value::Kind::kString) return std::string_view(v.AsString());
  if (v.is_nil()) return ArgError("invalid value; expected string");
  return ArgError(absl::StrCat("wrong type for value; expected string; got ", TypeName(v)));
}

absl::Status CheckArity(std::string_view name, std::span<const Value> args, size_t want) {
  if (args.size() == want) return absl::OkStatus();
  return ArgError(absl::StrCat("wrong number of args for ", Av(name), ": want ", want, " got ",
                               args.size()));
}

absl::StatusOr<double> ToFloat(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kFloat: return v.AsFloat();
    case Value::Kind::kInt:
      if (ValueAccess::IsDuration(v)) return static_cast<double>(v.AsInt()) / 1e9;
      return static_cast<double>(v.AsInt());
    case Value::Kind::kString: {
      const std::string& s = v.AsString();
      auto bad = [&](std::string_view why) {
        return absl::InvalidArgumentError(
            absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": ", Av(why)));
      };
      if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])) ||
          s.find('(') != std::string::npos) {
        return bad("invalid syntax");
      }
      std::string t;
      for (char c : s) {
        if (c != '_') t.push_back(c);
      }
      errno = 0;
      char* end;
      double f = std::strtod(t.c_str(), &end);
      if (*end != '\0') return bad("invalid syntax");
      if (errno == ERANGE && std::isinf(f)) return bad("value out of range");
      return f;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("can't convert ", v.is_nil() ? "<nil>" : TypeName(v), " to float"));
  }
}

Value MapZero(const Value::Map& m) {
  for (const auto& [k, v] : m) {
    if (v.kind() != Value::Kind::kString) return Value();
  }
  return Value::String("");
}

absl::StatusOr<Value> CallBuiltin(Builtin b, std::string_view name, std::span<const Value> args) {
  auto at_least = [&](size_t n) -> absl::Status {
    if (args.size() >= n) return absl::OkStatus();
    return ArgError(absl::StrCat("wrong number of args for ", Av(name), ": want at least ", n,
                                 " got ", args.size()));
  };
  switch (b) {
    case Builtin::kNot:
      PHAROS_RETURN_IF_ERROR(CheckArity(name, args, 1));
      return Value::Bool(!args[0].Truth());
    case Builtin::kLen: {
      PHAROS_RETURN_IF_ERROR(CheckArity(name, args, 1));
      const Value& v = args[0];
      switch (v.kind()) {
        case Value::Kind::kString: return Value::Int(static_cast<int64_t>(v.AsString().size()));
        case Value::Kind::kList: return Value::Int(static_cast<int64_t>(v.AsList().size()));
        case Value::Kind::kMap: return Value::Int(static_cast<int64_t>(v.AsMap().size()));
        case Value::Kind::kNil: return absl::InvalidArgumentError("len of nil pointer");
        default:
          return absl::InvalidArgumentError(absl::StrCat("len of type ", TypeName(v)));
      }
    }
    case Builtin::kIndex:
      PHAROS_RETURN_IF_ERROR(at_least(1));
      return Index(args);
    case Builtin::kSlice:
      PHAROS_RETURN_IF_ERROR(at_least(1));
      return Slice(args);
    case Builtin::kPrint: return Value::String(Sprint(args));
    case Builtin::kPrintln: return Value::String(Sprintln(args));
    case Builtin::kPrintf: {
      PHAROS_RETURN_IF_ERROR(at_least(1));
      PHAROS_ASSIGN_OR_RETURN(std::string_view format, StringArg(args[0]));
      return Value::String(Sprintf(format, args.subspan(1)));
    }
    case Builtin::kEq: {
      PHAROS_RETURN_IF_ERROR(at_least(1));
      PHAROS_ASSIGN_OR_RETURN(bool r, Eq(args));
      return Value::Bool(r);
    }
    case Builtin::kNe: {
      PHAROS_RETURN_IF_ERROR(CheckArity(name, args, 2));
      PHAROS_ASSIGN_OR_RETURN(bool r, Eq(args));
      return Value::Bool(!r);
    }
    case Builtin::kLt:
    case Builtin::kGe: {
      PHAROS_RETURN_IF_ERROR(CheckArity(name, args, 2));
      PHAROS_ASSIGN_OR_RETURN(bool r, Lt(args[0], args[1]));
      return Value::Bool(b == Builtin::kLt ? r : !r);
    }
    case Builtin::kLe:
    case Builtin::kGt: {
      PHAROS_RETURN_IF_ERROR(CheckArity(name, args, 2));
      PHAROS_ASSIGN_OR_RETURN(bool r, Le(args[0], args[1]));
      return Value::Bool(b == Builtin::kLe ? r : !r);
    }
    case Builtin::kHtml: return Value::String(HtmlEscape(EvalArgs(args)));
    case Builtin::kJs: return Value::String(JsEscape(EvalArgs(args)));
    case Builtin::kUrlquery: return Value::String(QueryEscape(EvalArgs(args)));
    case Builtin::kCall: {
      PHAROS_RETURN_IF_ERROR(at_least(1));
      const Value& fn = args[0];
      if (fn.is_nil()) return absl::InvalidArgumentError("call of nil");
      if (fn.kind() != Value::Kind::kFunc) {
        return absl::InvalidArgumentError(absl::StrCat("non-function of type ", TypeName(fn)));
      }
      return fn.AsFunc()(args.subspan(1));
    }
    default:
      return absl::InternalError(absl::StrCat("unknown builtin ", Av(name)));
  }
}

static int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

Value::Func TimeMethod(const Value& t, std::string_view name) {
  const int64_t ms = t.AsTimeMs();
  auto no_args = [](std::string_view n, auto fn) -> Value::Func {
    return [n = std::string(n), fn](std::span<const Value> args) -> absl::StatusOr<Value> {
      PHAROS_RETURN_IF_ERROR(CheckArity(n, args, 0));
      return fn();
    };
  };
  auto time_arg = [](std::string_view n, auto fn) -> Value::Func {
    return [n = std::string(n), fn](std::span<const Value> args) -> absl::StatusOr<Value> {
      PHAROS_RETURN_IF_ERROR(CheckArity(n, args, 1));
      if (args[0].kind() != Value::Kind::kTime) {
        return ArgError(absl::StrCat("wrong type for value; expected time.Time; got ",
                                     TypeName(args[0])));
      }
      return fn(args[0]);
    };
  };
  if (name == "Format") {
    return [t](std::span<const Value> args) -> absl::StatusOr<Value> {
      PHAROS_RETURN_IF_ERROR(CheckArity("Format", args, 1));
      PHAROS_ASSIGN_OR_RETURN(std::string_view layout, StringArg(args[0]));
      return Value::String(FormatTime(t, layout));
    };
  }
  if (name == "String") return no_args(name, [t] { return Value::String(TimeString(t)); });
  if (name == "Unix") return no_args(name, [=] { return Value::Int(FloorDiv(ms, 1000)); });
  if (name == "UnixMilli") return no_args(name, [=] { return Value::Int(ms); });
  if (name == "UnixMicro") return no_args(name, [=] { return Value::Int(ms * 1000); });
  if (name == "UnixNano") return no_args(name, [=] { return Value::Int(ms * 1000000); });
  if (name == "UTC" || name == "Local") return no_args(name, [=] { return Value::Time(ms); });
  if (name == "IsZero") return no_args(name, [=] { return Value::Bool(ms == kGoZeroTimeMs); });
  if (name == "Before") {
    return time_arg(name, [=](const Value& o) { return Value::Bool(ms < o.AsTimeMs()); });
  }
  if (name == "After") {
    return time_arg(name, [=](const Value& o) { return Value::Bool(ms > o.AsTimeMs()); });
  }
  if (name == "Equal") {
    return time_arg(name, [=](const Value& o) { return Value::Bool(ms == o.AsTimeMs()); });
  }
  if (name == "Sub") {
    return time_arg(name, [=](const Value& o) {
      return ValueAccess::Duration((ms - o.AsTimeMs()) * 1000000);
    });
  }
  if (name == "Add") {
    return [t](std::span<const Value> args) -> absl::StatusOr<Value> {
      PHAROS_RETURN_IF_ERROR(CheckArity("Add", args, 1));
      if (args[0].kind() != Value::Kind::kInt) {
        return ArgError(absl::StrCat("wrong type for value; expected time.Duration; got ",
                                     TypeName(args[0])));
      }
      std::shared_ptr<const ZoneRep> zone;
      Value r = Value::Time(t.AsTimeMs() + FloorDiv(args[0].AsInt(), 1000000));
      if (const ZoneRep* z = ValueAccess::Zone(t)) {
        r = ValueAccess::TimeIn(r.AsTimeMs(), std::make_shared<const ZoneRep>(*z));
      }
      return r;
    };
  }
  return {};
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out.append("&#34;"); break;
      case '\'': out.append("&#39;"); break;
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '\0': out.append("\xEF\xBF\xBD"); break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string HtmlTemplateEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '+') {
      out.append("&#43;");
    } else {
      char one[1] = {c};
      out.append(HtmlEscape(std::string_view(one, 1)));
    }
  }
  return out;
}

std::string JsEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    switch (c) {
      case '\\': out.append("\\\\"); continue;
      case '\'': out.append("\\'"); continue;
      case '"': out.append("\\\""); continue;
      case '<': out.append("\\u003C"); continue;
      case '>': out.append("\\u003E"); continue;
      case '&': out.append("\\u0026"); continue;
      case '=': out.append("\\u003D"); continue;
      default: break;
    }
    if (c < ' ') {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

namespace {

absl::StatusOr<std::unique_ptr<RE2>> Compile(std::string_view pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("regexp: Compile(", GoQuote(pattern),
                                                   "): error parsing regexp: ", re->error()));
  }
  return re;
}

bool IsNameChar(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Go's Regexp.expand: $name / ${name} / $$ in `tmpl`.
void Expand(std::string* out, std::string_view tmpl, const RE2& re,
            const std::vector<re2::StringPiece>& groups) {
  while (!tmpl.empty()) {
    size_t d = tmpl.find('$');
    if (d == std::string_view::npos) break;
    out->append(tmpl.substr(0, d));
    tmpl.remove_prefix(d);
    if (tmpl.size() > 1 && tmpl[1] == '$') {
      out->push_back('$');
      tmpl.remove_prefix(2);
      continue;
    }
    std::string_view name;
    size_t consumed = 0;
    if (tmpl.size() > 1 && tmpl[1] == '{') {
      size_t i = 2;
      while (i < tmpl.size() && IsNameChar(tmpl[i])) ++i;
      if (i < tmpl.size() && tmpl[i] == '}' && i > 2) {
        name = tmpl.substr(2, i - 2);
        consumed = i + 1;
      }
    } else {
      size_t i = 1;
      while (i < tmpl.size() && IsNameChar(tmpl[i])) ++i;
      if (i > 1) {
        name = tmpl.substr(1, i - 1);
        consumed = i;
      }
    }
    if (consumed == 0) {  // malformed: a literal '$'
      out->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    tmpl.remove_prefix(consumed);
    int num = 0;
    bool numeric = !(name.size() > 1 && name[0] == '0');
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        numeric = false;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (numeric) {
      if (num < static_cast<int>(groups.size()) && groups[num].data() != nullptr) {
        out->append(groups[num].data(), groups[num].size());
      }
    } else {
      const auto& names = re.NamedCapturingGroups();
      auto it = names.find(std::string(name));
      if (it != names.end() && it->second < static_cast<int>(groups.size()) &&
          groups[it->second].data() != nullptr) {
        out->append(groups[it->second].data(), groups[it->second].size());
      }
    }
  }
  out->append(tmpl);
}

}  // namespace

absl::StatusOr<std::string> ReReplaceAll(std::string_view pattern, std::string_view repl,
                                         std::string_view text) {
  PHAROS_ASSIGN_OR_RETURN(auto re, Compile(pattern));
  const int ngroups = re->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(ngroups);
  re2::StringPiece src(text.data(), text.size());
  std::string out;
  size_t last_end = 0, search = 0;
  while (search <= text.size()) {
    if (!re->Match(src, search, text.size(), RE2::UNANCHORED, groups.data(), ngroups)) break;
    size_t a0 = groups[0].data() - text.data();
    size_t a1 = a0 + groups[0].size();
    out.append(text.substr(last_end, a0 - last_end));
    if (a1 > last_end || a0 == 0) Expand(&out, repl, *re, groups);
    last_end = a1;
    size_t width = 1;
    if (search < text.size()) {
      unsigned char c = text[search];
      width = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (search + width > text.size()) width = 1;
    }
    if (search + width > a1) {
      search += width;
    } else {
      search = a1;
    }
  }
  if (last_end < text.size()) out.append(text.substr(last_end));
  return out;
}

absl::StatusOr<bool> ReMatch(std::string_view pattern, std::string_view text) {
  PHAROS_ASSIGN_OR_RETURN(auto re, Compile(pattern));
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

std::string GoTitle(std::string_view s) {
  std::string out(s);
  bool prev_sep = true;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    bool sep;
    if (c < 0x80) {
      sep = !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_');
    } else {
      sep = false;  // non-ASCII letters and continuation bytes
    }
    if (prev_sep && c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
    prev_sep = sep;
  }
  return out;
}

}  // namespace pharos::alerting::tmpl::internal
