#include "alerting/template/internal/gofmt.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "alerting/template/internal/value_access.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/utf8.h"

namespace pharos::alerting::tmpl::internal {
namespace {

struct Flags {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  bool wid_present = false, prec_present = false;
  int wid = 0, prec = 0;
};

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void WritePadding(std::string* out, int n, bool zero) {
  if (n > 0) out->append(static_cast<size_t>(n), zero ? '0' : ' ');
}

// fmt's pad: width counted in runes, zeros only to the left.
void Pad(std::string* out, std::string_view s, const Flags& f) {
  if (!f.wid_present || f.wid == 0) {
    out->append(s);
    return;
  }
  int padding = f.wid - static_cast<int>(RuneCount(s));
  if (f.minus) {
    out->append(s);
    WritePadding(out, padding, false);
  } else {
    WritePadding(out, padding, f.zero);
    out->append(s);
  }
}

// Decodes one UTF-8 rune at s[i]; invalid bytes decode as U+FFFD of width 1.
uint32_t DecodeRune(std::string_view s, size_t i, size_t* width) {
  unsigned char c = s[i];
  auto cont = [&](size_t k) { return i + k < s.size() && (s[i + k] & 0xC0) == 0x80; };
  if (c < 0x80) {
    *width = 1;
    return c;
  }
  if (c >= 0xC2 && c < 0xE0 && cont(1)) {
    *width = 2;
    return ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if (c >= 0xE0 && c < 0xF0 && cont(1) && cont(2)) {
    uint32_t r = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    if (r >= 0x800 && !(r >= 0xD800 && r <= 0xDFFF)) {
      *width = 3;
      return r;
    }
  }
  if (c >= 0xF0 && c < 0xF5 && cont(1) && cont(2) && cont(3)) {
    uint32_t r = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
                 (s[i + 3] & 0x3F);
    if (r >= 0x10000 && r <= 0x10FFFF) {
      *width = 4;
      return r;
    }
  }
  *width = 1;
  return 0xFFFD;
}

// unicode.IsPrint, approximated outside ASCII: C1 controls, surrogates, non-characters and
// the few format characters seen in practice are not printable.
bool IsPrint(uint32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r < 0xA0 || r == 0xAD) return false;
  if (r >= 0x200B && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202E) return false;
  if (r == 0xFEFF || r == 0xFFFE || r == 0xFFFF) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  return true;
}

constexpr char kLower[] = "0123456789abcdefx";
constexpr char kUpper[] = "0123456789ABCDEFX";

void AppendEscapedRune(std::string* out, uint32_t r, char quote, bool ascii_only) {
  if (r == static_cast<uint32_t>(quote) || r == '\\') {
    out->push_back('\\');
    out->push_back(static_cast<char>(r));
    return;
  }
  if (ascii_only ? (r < 0x80 && IsPrint(r)) : IsPrint(r)) {
    AppendUtf8(out, r);
    return;
  }
  switch (r) {
    case '\a': out->append("\\a"); return;
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    case '\v': out->append("\\v"); return;
  }
  char buf[16];
  if (r < ' ' || r == 0x7F) {
    std::snprintf(buf, sizeof buf, "\\x%02x", r);
  } else if (r < 0x10000) {
    std::snprintf(buf, sizeof buf, "\\u%04x", r);
  } else {
    std::snprintf(buf, sizeof buf, "\\U%08x", r);
  }
  out->append(buf);
}

std::string Quote(std::string_view s, bool ascii_only) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t w;
    uint32_t r = DecodeRune(s, i, &w);
    if (r == 0xFFFD && w == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out.append(buf);
    } else {
      AppendEscapedRune(&out, r, '"', ascii_only);
    }
    i += w;
  }
  out.push_back('"');
  return out;
}

std::string QuoteRune(uint32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  std::string out = "'";
  AppendEscapedRune(&out, r, '\'', false);
  out.push_back('\'');
  return out;
}

bool CanBackquote(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t w;
    uint32_t r = DecodeRune(s, i, &w);
    if (r == 0xFFFD && w == 1 && static_cast<unsigned char>(s[i]) >= 0x80) return false;
    if ((r < ' ' && r != '\t') || r == '`' || r == 0x7F || r == 0xFEFF) return false;
    i += w;
  }
  return true;
}

void FmtInteger(std::string* out, uint64_t u, bool negative, int base, char verb,
                const char* digits, Flags f) {
  char buf[96];
  int prec = 0;
  if (f.prec_present) {
    prec = f.prec;
    if (prec == 0 && u == 0) {
      WritePadding(out, f.wid, false);
      return;
    }
  } else if (f.zero && f.wid_present) {
    prec = f.wid;
    if (negative || f.plus || f.space) --prec;
  }
  std::string s;  // built backwards
  do {
    s.push_back(digits[u % base]);
    u /= base;
  } while (u > 0);
  if (prec > 4096) prec = 4096;
  while (static_cast<int>(s.size()) < prec) s.push_back('0');
  if (f.sharp) {
    if (base == 2) {
      s.push_back('b');
      s.push_back('0');
    } else if (base == 8) {
      if (s.back() != '0') s.push_back('0');
    } else if (base == 16) {
      s.push_back(digits[16]);
      s.push_back('0');
    }
  }
  if (verb == 'O') {
    s.push_back('o');
    s.push_back('0');
  }
  if (negative) {
    s.push_back('-');
  } else if (f.plus) {
    s.push_back('+');
  } else if (f.space) {
    s.push_back(' ');
  }
  (void)buf;
  std::string fwd(s.rbegin(), s.rend());
  f.zero = false;
  Pad(out, fwd, f);
}

void FmtSx(std::string* out, std::string_view b, const char* digits, const Flags& f) {
  size_t length = b.size();
  if (f.prec_present && static_cast<size_t>(f.prec) < length) length = f.prec;
  int width = 2 * static_cast<int>(length);
  if (width > 0) {
    if (f.space) {
      if (f.sharp) width *= 2;
      width += static_cast<int>(length) - 1;
    } else if (f.sharp) {
      width += 2;
    }
  } else {
    if (f.wid_present) WritePadding(out, f.wid, f.zero);
    return;
  }
  if (f.wid_present && f.wid > width && !f.minus) WritePadding(out, f.wid - width, f.zero);
  if (f.sharp) {
    out->push_back('0');
    out->push_back(digits[16]);
  }
  for (size_t i = 0; i < length; ++i) {
    if (f.space && i > 0) {
      out->push_back(' ');
      if (f.sharp) {
        out->push_back('0');
        out->push_back(digits[16]);
      }
    }
    unsigned char c = b[i];
    out->push_back(digits[c >> 4]);
    out->push_back(digits[c & 0xF]);
  }
  if (f.wid_present && f.wid > width && f.minus) WritePadding(out, f.wid - width, false);
}

std::string TruncateRunes(std::string_view s, const Flags& f) {
  if (!f.prec_present) return std::string(s);
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<int>(n) == f.prec) return std::string(s.substr(0, i));
    size_t w;
    DecodeRune(s, i, &w);
    i += w;
    ++n;
  }
  return std::string(s);
}

// strconv.AppendFloat(v, verb, prec, 64) for finite v with a sign always present.
std::string StrconvFloat(double v, char verb, int prec) {
  char buf[512];
  if (prec < 0) {
    if (verb == 'g' || verb == 'G') {
      std::string s = FormatFloatG(v);
      if (verb == 'G') {
        for (char& c : s) c = (c == 'e') ? 'E' : c;
      }
      return s;
    }
    auto fmt = (verb == 'e' || verb == 'E') ? std::chars_format::scientific
                                            : std::chars_format::fixed;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, fmt);
    std::string s(buf, end);
    if (fmt == std::chars_format::scientific) {
      size_t e = s.find('e');
      if (e != std::string::npos && s.size() - e == 3) s.insert(e + 2, "0");
      if (verb == 'E') s[e] = 'E';
    }
    return s;
  }
  if (prec > 400) prec = 400;
  char cfmt[8] = {'%', '.', '*', verb, 0};
  if (verb == 'x' || verb == 'X') cfmt[3] = verb == 'x' ? 'a' : 'A';
  std::snprintf(buf, sizeof buf, cfmt, prec, v);
  std::string s(buf);
  if (verb == 'x' || verb == 'X') {
    // C writes p+1, Go writes p+01.
    size_t p = s.find_first_of("pP");
    if (p != std::string::npos && s.size() - p == 3) s.insert(p + 2, "0");
  }
  return s;
}

void FmtFloat(std::string* out, double v, char verb, int prec, Flags f) {
  if (f.prec_present) prec = f.prec;
  if (verb == 'F') verb = 'f';
  std::string num;
  if (std::isnan(v)) {
    num = "+NaN";
  } else if (std::isinf(v)) {
    num = v > 0 ? "+Inf" : "-Inf";
  } else {
    num = StrconvFloat(v, verb, prec);
    if (num[0] != '-' && num[0] != '+') num.insert(num.begin(), '+');
  }
  if (f.space && num[0] == '+' && !f.plus) num[0] = ' ';
  if (num[1] == 'I' || num[1] == 'N') {
    f.zero = false;
    if (num[1] == 'N' && !f.space && !f.plus) num.erase(0, 1);
    Pad(out, num, f);
    return;
  }
  if (f.sharp && (verb == 'g' || verb == 'G') && num.find('.') == std::string::npos) {
    size_t e = num.find_first_of("eE");
    num.insert(e == std::string::npos ? num.size() : e, ".");
  }
  if (f.plus || num[0] != '+') {
    if (f.zero && f.wid_present && f.wid > static_cast<int>(num.size())) {
      out->push_back(num[0]);
      WritePadding(out, f.wid - static_cast<int>(num.size()), true);
      out->append(num, 1);
      return;
    }
    Pad(out, num, f);
    return;
  }
  Pad(out, std::string_view(num).substr(1), f);
}

void FmtString(std::string* out, std::string_view s, char verb, const Flags& f) {
  switch (verb) {
    case 'v':
    case 's':
      Pad(out, TruncateRunes(s, f), f);
      return;
    case 'x':
      FmtSx(out, s, kLower, f);
      return;
    case 'X':
      FmtSx(out, s, kUpper, f);
      return;
    case 'q': {
      std::string t = TruncateRunes(s, f);
      if (f.sharp && CanBackquote(t)) {
        Pad(out, "`" + t + "`", f);
      } else {
        Pad(out, Quote(t, f.plus), f);
      }
      return;
    }
  }
}

void PrintArg(std::string* out, const Value& v, char verb, const Flags& f, int depth);

void BadVerb(std::string* out, const Value& v, char verb, const Flags& f, int depth) {
  out->append("%!");
  AppendUtf8(out, static_cast<unsigned char>(verb));
  out->push_back('(');
  if (v.is_nil()) {
    out->append("<nil>");
  } else {
    out->append(TypeName(v));
    out->push_back('=');
    PrintArg(out, v, 'v', f, depth);
  }
  out->push_back(')');
}

bool StringerText(const Value& v, std::string* text) {
  switch (v.kind()) {
    case Value::Kind::kTime:
      *text = TimeString(v);
      return true;
    case Value::Kind::kInt:
      if (!ValueAccess::IsDuration(v)) return false;
      *text = DurationString(v.AsInt());
      return true;
    case Value::Kind::kList:
    case Value::Kind::kMap: {
      const Value::Map* methods = ValueAccess::Methods(v);
      if (methods == nullptr) return false;
      auto it = methods->find("String");
      if (it == methods->end() || it->second.kind() != Value::Kind::kFunc) return false;
      auto r = it->second.AsFunc()({});
      if (!r.ok() || r->kind() != Value::Kind::kString) return false;
      *text = r->AsString();
      return true;
    }
    default:
      return false;
  }
}

void PrintArg(std::string* out, const Value& v, char verb, const Flags& f, int depth) {
  if (depth > 64) {
    out->append("...");
    return;
  }
  if (verb == 'T') {
    Pad(out, v.is_nil() ? "<nil>" : TypeName(v), f);
    return;
  }
  if (verb == 'v' || verb == 's' || verb == 'x' || verb == 'X' || verb == 'q') {
    std::string text;
    if (StringerText(v, &text)) {
      FmtString(out, text, verb, f);
      return;
    }
  }
  switch (v.kind()) {
    case Value::Kind::kNil:
      if (verb == 'v') {
        Pad(out, "<nil>", f);
      } else {
        BadVerb(out, v, verb, f, depth);
      }
      return;
    case Value::Kind::kBool:
      if (verb == 'v' || verb == 't') {
        Pad(out, v.AsBool() ? "true" : "false", f);
      } else {
        BadVerb(out, v, verb, f, depth);
      }
      return;
    case Value::Kind::kInt: {
      int64_t i = v.AsInt();
      uint64_t u = i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
      switch (verb) {
        case 'v':
        case 'd': FmtInteger(out, u, i < 0, 10, verb, kLower, f); return;
        case 'b': FmtInteger(out, u, i < 0, 2, verb, kLower, f); return;
        case 'o':
        case 'O': FmtInteger(out, u, i < 0, 8, verb, kLower, f); return;
        case 'x': FmtInteger(out, u, i < 0, 16, verb, kLower, f); return;
        case 'X': FmtInteger(out, u, i < 0, 16, verb, kUpper, f); return;
        case 'c': {
          std::string s;
          AppendUtf8(&s, (i < 0 || i > 0x10FFFF) ? 0xFFFD : static_cast<uint32_t>(i));
          Pad(out, s, f);
          return;
        }
        case 'q':
          Pad(out, QuoteRune((i < 0 || i > 0x10FFFF) ? 0xFFFD : static_cast<uint32_t>(i)), f);
          return;
        case 'U': {
          char buf[32];
          std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(u));
          std::string s = buf;
          if (f.sharp && i >= 0 && i <= 0x10FFFF && IsPrint(static_cast<uint32_t>(i))) {
            s += " '";
            AppendUtf8(&s, static_cast<uint32_t>(i));
            s += "'";
          }
          Flags g = f;
          g.zero = false;
          Pad(out, s, g);
          return;
        }
        default: BadVerb(out, v, verb, f, depth); return;
      }
    }
    case Value::Kind::kFloat:
      switch (verb) {
        case 'v': FmtFloat(out, v.AsFloat(), 'g', -1, f); return;
        case 'b':
        case 'g':
        case 'G':
        case 'x':
        case 'X': FmtFloat(out, v.AsFloat(), verb, -1, f); return;
        case 'f':
        case 'F':
        case 'e':
        case 'E': FmtFloat(out, v.AsFloat(), verb, 6, f); return;
        default: BadVerb(out, v, verb, f, depth); return;
      }
    case Value::Kind::kString:
      if (verb == 'v' || verb == 's' || verb == 'x' || verb == 'X' || verb == 'q') {
        FmtString(out, v.AsString(), verb, f);
      } else {
        BadVerb(out, v, verb, f, depth);
      }
      return;
    case Value::Kind::kTime:
      BadVerb(out, v, verb, f, depth);
      return;
    case Value::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.AsList()) {
        if (!first) out->push_back(' ');
        first = false;
        PrintArg(out, e, verb, f, depth + 1);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kMap: {
      out->append("map[");
      bool first = true;
      for (const auto& [k, e] : v.AsMap()) {
        if (!first) out->push_back(' ');
        first = false;
        FmtString(out, k, verb == 'v' ? 's' : verb, f);
        out->push_back(':');
        PrintArg(out, e, verb, f, depth + 1);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kFunc:
      if (verb == 'v') {
        Pad(out, "<func>", f);
      } else {
        BadVerb(out, v, verb, f, depth);
      }
      return;
  }
}

}  // namespace

std::string FormatFloatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return FormatFloat(v);
}

std::string GoQuote(std::string_view s) { return Quote(s, false); }

const char* TypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil: return "<nil>";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return ValueAccess::IsDuration(v) ? "time.Duration" : "int";
    case Value::Kind::kFloat: return "float64";
    case Value::Kind::kString: return ValueAccess::IsSafeHtml(v) ? "template.HTML" : "string";
    case Value::Kind::kTime: return "time.Time";
    case Value::Kind::kList: return "[]interface {}";
    case Value::Kind::kMap: return "map[string]interface {}";
    case Value::Kind::kFunc: return "func";
  }
  return "?";
}

void AppendV(std::string* out, const Value& v) {
  switch (v.kind()) {  // fast paths
    case Value::Kind::kString: out->append(v.AsString()); return;
    case Value::Kind::kFloat: out->append(FormatFloatG(v.AsFloat())); return;
    case Value::Kind::kInt:
      if (!ValueAccess::IsDuration(v)) {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.AsInt());
        out->append(buf, end);
        return;
      }
      break;
    default: break;
  }
  PrintArg(out, v, 'v', Flags{}, 0);
}

std::string Sprint(std::span<const Value> args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_string = args[i].kind() == Value::Kind::kString;
    if (i > 0 && !is_string && !prev_string) out.push_back(' ');
    AppendV(&out, args[i]);
    prev_string = is_string;
  }
  return out;
}

std::string Sprintln(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    AppendV(&out, args[i]);
  }
  out.push_back('\n');
  return out;
}

std::string Sprintf(std::string_view format, std::span<const Value> args) {
  std::string out;
  size_t argn = 0;
  const size_t end = format.size();
  for (size_t i = 0; i < end;) {
    size_t lasti = i;
    while (i < end && format[i] != '%') ++i;
    out.append(format.substr(lasti, i - lasti));
    if (i >= end) break;
    ++i;  // skip %
    Flags f;
    for (; i < end; ++i) {
      char c = format[i];
      if (c == '#') f.sharp = true;
      else if (c == '0') f.zero = !f.minus;
      else if (c == '+') f.plus = true;
      else if (c == '-') { f.minus = true; f.zero = false; }
      else if (c == ' ') f.space = true;
      else break;
    }
    // Width.
    if (i < end && format[i] == '*') {
      ++i;
      if (argn < args.size() && args[argn].kind() == Value::Kind::kInt &&
          std::llabs(args[argn].AsInt()) <= 1000000) {
        int64_t w = args[argn].AsInt();
        f.wid_present = true;
        f.wid = static_cast<int>(w);
        if (w < 0) {
          f.minus = true;
          f.zero = false;
          f.wid = static_cast<int>(-w);
        }
      } else {
        out.append("%!(BADWIDTH)");
      }
      ++argn;
    } else {
      while (i < end && format[i] >= '0' && format[i] <= '9') {
        f.wid = std::min(f.wid * 10 + (format[i] - '0'), 1000000);
        f.wid_present = true;
        ++i;
      }
    }
    // Precision.
    if (i < end && format[i] == '.') {
      ++i;
      f.prec_present = true;
      if (i < end && format[i] == '*') {
        ++i;
        if (argn < args.size() && args[argn].kind() == Value::Kind::kInt &&
            args[argn].AsInt() >= 0 && args[argn].AsInt() <= 1000000) {
          f.prec = static_cast<int>(args[argn].AsInt());
        } else {
          f.prec_present = false;
          out.append("%!(BADPREC)");
        }
        ++argn;
      } else {
        while (i < end && format[i] >= '0' && format[i] <= '9') {
          f.prec = std::min(f.prec * 10 + (format[i] - '0'), 1000000);
          ++i;
        }
      }
    }
    if (i >= end) {
      out.append("%!(NOVERB)");
      break;
    }
    size_t w;
    uint32_t verb = DecodeRune(format, i, &w);
    i += w;
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argn >= args.size()) {
      out.append("%!");
      AppendUtf8(&out, verb);
      out.append("(MISSING)");
      continue;
    }
    if (verb > 0x7F) {
      BadVerb(&out, args[argn], '?', f, 0);  // non-ASCII verbs are never valid
    } else {
      PrintArg(&out, args[argn], static_cast<char>(verb), f, 0);
    }
    ++argn;
  }
  if (argn < args.size()) {
    out.append("%!(EXTRA ");
    for (size_t k = argn; k < args.size(); ++k) {
      if (k > argn) out.append(", ");
      if (args[k].is_nil()) {
        out.append("<nil>");
      } else {
        out.append(TypeName(args[k]));
        out.push_back('=');
        AppendV(&out, args[k]);
      }
    }
    out.push_back(')');
  }
  return out;
}

// ---- time ----

namespace {

constexpr const char* kLongDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};
constexpr const char* kLongMonths[] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};

enum Std {
  kNone, kLongMonth, kMonth, kNumMonth, kZeroMonth, kLongWeekDay, kWeekDay, kDay, kUnderDay,
  kZeroDay, kUnderYearDay, kZeroYearDay, kHour, kHour12, kZeroHour12, kMinute, kZeroMinute,
  kSecond, kZeroSecond, kLongYear, kYear, kPM, kpm, kTZ, kISO8601TZ, kISO8601SecondsTZ,
  kISO8601ShortTZ, kISO8601ColonTZ, kISO8601ColonSecondsTZ, kNumTZ, kNumSecondsTz,
  kNumShortTZ, kNumColonTZ, kNumColonSecondsTZ, kFracSecond0, kFracSecond9,
};

bool StartsWithLower(std::string_view s) { return !s.empty() && s[0] >= 'a' && s[0] <= 'z'; }
bool IsDigitAt(std::string_view s, size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

struct Chunk {
  size_t pos;     // start of the std element in the layout
  size_t len;     // its length
  Std std;
  int digits = 0;  // fractional-second digits
  char sep = '.';
};

// time.nextStdChunk: the next layout element at or after `from`.
Chunk NextStd(std::string_view l, size_t from) {
  auto has = [&](size_t i, std::string_view p) { return l.substr(i, p.size()) == p; };
  for (size_t i = from; i < l.size(); ++i) {
    switch (l[i]) {
      case 'J':
        if (has(i, "Jan")) {
          if (has(i, "January")) return {i, 7, kLongMonth};
          if (!StartsWithLower(l.substr(i + 3))) return {i, 3, kMonth};
        }
        break;
      case 'M':
        if (has(i, "Mon")) {
          if (has(i, "Monday")) return {i, 6, kLongWeekDay};
          if (!StartsWithLower(l.substr(i + 3))) return {i, 3, kWeekDay};
        }
        if (has(i, "MST")) return {i, 3, kTZ};
        break;
      case '0':
        if (i + 1 < l.size() && l[i + 1] >= '1' && l[i + 1] <= '6') {
          static constexpr Std k0x[] = {kZeroMonth, kZeroDay, kZeroHour12,
                                        kZeroMinute, kZeroSecond, kYear};
          return {i, 2, k0x[l[i + 1] - '1']};
        }
        if (has(i, "002")) return {i, 3, kZeroYearDay};
        break;
      case '1':
        if (has(i, "15")) return {i, 2, kHour};
        return {i, 1, kNumMonth};
      case '2':
        if (has(i, "2006")) return {i, 4, kLongYear};
        return {i, 1, kDay};
      case '_':
        if (has(i, "_2")) {
          if (has(i + 1, "2006")) return {i + 1, 4, kLongYear};
          return {i, 2, kUnderDay};
        }
        if (has(i, "__2")) return {i, 3, kUnderYearDay};
        break;
      case '3': return {i, 1, kHour12};
      case '4': return {i, 1, kMinute};
      case '5': return {i, 1, kSecond};
      case 'P':
        if (has(i, "PM")) return {i, 2, kPM};
        break;
      case 'p':
        if (has(i, "pm")) return {i, 2, kpm};
        break;
      case '-':
        if (has(i, "-070000")) return {i, 7, kNumSecondsTz};
        if (has(i, "-07:00:00")) return {i, 9, kNumColonSecondsTZ};
        if (has(i, "-0700")) return {i, 5, kNumTZ};
        if (has(i, "-07:00")) return {i, 6, kNumColonTZ};
        if (has(i, "-07")) return {i, 3, kNumShortTZ};
        break;
      case 'Z':
        if (has(i, "Z070000")) return {i, 7, kISO8601SecondsTZ};
        if (has(i, "Z07:00:00")) return {i, 9, kISO8601ColonSecondsTZ};
        if (has(i, "Z0700")) return {i, 5, kISO8601TZ};
        if (has(i, "Z07:00")) return {i, 6, kISO8601ColonTZ};
        if (has(i, "Z07")) return {i, 3, kISO8601ShortTZ};
        break;
      case '.':
      case ',':
        if (i + 1 < l.size() && (l[i + 1] == '0' || l[i + 1] == '9')) {
          char ch = l[i + 1];
          size_t j = i + 1;
          while (j < l.size() && l[j] == ch) ++j;
          if (!IsDigitAt(l, j)) {
            Chunk c{i, j - i, ch == '0' ? kFracSecond0 : kFracSecond9};
            c.digits = static_cast<int>(j - i - 1);
            c.sep = l[i];
            return c;
          }
        }
        break;
    }
  }
  return {l.size(), 0, kNone};
}

void AppendInt(std::string* out, int64_t x, int width) {
  if (x < 0) {
    out->push_back('-');
    x = -x;
  }
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  int n = static_cast<int>(end - buf);
  for (int k = n; k < width; ++k) out->push_back('0');
  out->append(buf, end);
}

}  // namespace

std::string FormatTime(const Value& t, std::string_view layout) {
  const ZoneRep* zone = ValueAccess::Zone(t);
  absl::TimeZone tz = zone ? zone->tz : absl::UTCTimeZone();
  absl::Time at = absl::FromUnixMillis(t.AsTimeMs());
  absl::TimeZone::CivilInfo ci = tz.At(at);
  const absl::CivilSecond cs = ci.cs;
  int64_t ms = t.AsTimeMs() % 1000;
  if (ms < 0) ms += 1000;
  const int64_t nanos = ms * 1000000;
  const int offset = ci.offset;  // seconds east of UTC
  std::string abbr = ci.zone_abbr;
  if (zone == nullptr) abbr = "UTC";

  std::string out;
  size_t pos = 0;
  while (pos <= layout.size()) {
    Chunk c = NextStd(layout, pos);
    out.append(layout.substr(pos, c.pos - pos));
    if (c.std == kNone) break;
    pos = c.pos + c.len;
    const int64_t year = cs.year();
    const int hour = cs.hour();
    switch (c.std) {
      case kNone: break;
      case kYear: AppendInt(&out, ((year % 100) + 100) % 100, 2); break;
      case kLongYear: AppendInt(&out, year, 4); break;
      case kMonth: out.append(kLongMonths[cs.month() - 1], 3); break;
      case kLongMonth: out.append(kLongMonths[cs.month() - 1]); break;
      case kNumMonth: AppendInt(&out, cs.month(), 0); break;
      case kZeroMonth: AppendInt(&out, cs.month(), 2); break;
      case kWeekDay:
      case kLongWeekDay: {
        int wd = static_cast<int>(absl::GetWeekday(cs));  // absl: Monday == 0
        if (c.std == kWeekDay) out.append(kLongDays[wd], 3);
        else out.append(kLongDays[wd]);
        break;
      }
      case kDay: AppendInt(&out, cs.day(), 0); break;
      case kUnderDay:
        if (cs.day() < 10) out.push_back(' ');
        AppendInt(&out, cs.day(), 0);
        break;
      case kZeroDay: AppendInt(&out, cs.day(), 2); break;
      case kUnderYearDay: {
        int yd = absl::GetYearDay(cs);
        if (yd < 100) out.push_back(' ');
        if (yd < 10) out.push_back(' ');
        AppendInt(&out, yd, 0);
        break;
      }
      case kZeroYearDay: AppendInt(&out, absl::GetYearDay(cs), 3); break;
      case kHour: AppendInt(&out, hour, 2); break;
      case kHour12: AppendInt(&out, hour % 12 == 0 ? 12 : hour % 12, 0); break;
      case kZeroHour12: AppendInt(&out, hour % 12 == 0 ? 12 : hour % 12, 2); break;
      case kMinute: AppendInt(&out, cs.minute(), 0); break;
      case kZeroMinute: AppendInt(&out, cs.minute(), 2); break;
      case kSecond: AppendInt(&out, cs.second(), 0); break;
      case kZeroSecond: AppendInt(&out, cs.second(), 2); break;
      case kPM: out.append(hour >= 12 ? "PM" : "AM"); break;
      case kpm: out.append(hour >= 12 ? "pm" : "am"); break;
      case kISO8601TZ: case kISO8601ColonTZ: case kISO8601SecondsTZ: case kISO8601ShortTZ:
      case kISO8601ColonSecondsTZ: case kNumTZ: case kNumColonTZ: case kNumSecondsTz:
      case kNumShortTZ: case kNumColonSecondsTZ: {
        bool iso = c.std == kISO8601TZ || c.std == kISO8601ColonTZ ||
                   c.std == kISO8601SecondsTZ || c.std == kISO8601ShortTZ ||
                   c.std == kISO8601ColonSecondsTZ;
        if (offset == 0 && iso) {
          out.push_back('Z');
          break;
        }
        int zone_min = offset / 60;
        int abs_off = offset;
        if (zone_min < 0) {
          out.push_back('-');
          zone_min = -zone_min;
          abs_off = -abs_off;
        } else {
          out.push_back('+');
        }
        AppendInt(&out, zone_min / 60, 2);
        bool colon = c.std == kISO8601ColonTZ || c.std == kNumColonTZ ||
                     c.std == kISO8601ColonSecondsTZ || c.std == kNumColonSecondsTZ;
        if (colon) out.push_back(':');
        if (c.std != kNumShortTZ && c.std != kISO8601ShortTZ) AppendInt(&out, zone_min % 60, 2);
        if (c.std == kISO8601SecondsTZ || c.std == kNumSecondsTz ||
            c.std == kNumColonSecondsTZ || c.std == kISO8601ColonSecondsTZ) {
          if (colon) out.push_back(':');
          AppendInt(&out, abs_off % 60, 2);
        }
        break;
      }
      case kTZ:
        if (!abbr.empty()) {
          out.append(abbr);
        } else {
          int zone_min = offset / 60;
          if (zone_min < 0) {
            out.push_back('-');
            zone_min = -zone_min;
          } else {
            out.push_back('+');
          }
          AppendInt(&out, zone_min / 60, 2);
          AppendInt(&out, zone_min % 60, 2);
        }
        break;
      case kFracSecond0:
      case kFracSecond9: {
        char digits[10];
        std::snprintf(digits, sizeof digits, "%09lld", static_cast<long long>(nanos));
        int n = std::min(c.digits, 9);
        if (c.std == kFracSecond9) {
          while (n > 0 && digits[n - 1] == '0') --n;
          if (n == 0) break;
        }
        out.push_back(c.sep);
        out.append(digits, n);
        break;
      }
    }
  }
  return out;
}

std::string TimeString(const Value& t) {
  return FormatTime(t, "2006-01-02 15:04:05.999999999 -0700 MST");
}

std::string DurationString(int64_t ns) {
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  // fmtFrac: the fraction of u/10^prec without trailing zeros; returns u/10^prec.
  auto frac = [](std::string* s, uint64_t v, int prec) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      int digit = static_cast<int>(v % 10);
      print = print || digit != 0;
      if (print) digits.push_back(static_cast<char>('0' + digit));
      v /= 10;
    }
    if (print) {
      digits.push_back('.');
      s->insert(0, std::string(digits.rbegin(), digits.rend()));
    }
    return v;
  };
  std::string s;
  if (u < 1000000000ULL) {
    int prec;
    if (u < 1000) {
      prec = 0;
      s = "ns";
    } else if (u < 1000000) {
      prec = 3;
      s = "\xC2\xB5s";
    } else {
      prec = 6;
      s = "ms";
    }
    u = frac(&s, u, prec);
    s.insert(0, std::to_string(u));
  } else {
    s = "s";
    u = frac(&s, u, 9);
    s.insert(0, std::to_string(u % 60));
    u /= 60;
    if (u > 0) {
      s.insert(0, "m");
      s.insert(0, std::to_string(u % 60));
      u /= 60;
      if (u > 0) {
        s.insert(0, "h");
        s.insert(0, std::to_string(u));
      }
    }
  }
  if (neg) s.insert(0, "-");
  return s;
}

}  // namespace pharos::alerting::tmpl::internal
