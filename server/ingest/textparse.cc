#include "server/ingest/textparse.h"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "server/ingest/internal/numbers.h"

namespace pharos::ingest {
namespace {

using internal::ParseGoFloat;
using internal::ParseInt64;

bool IsMetricNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsMetricNameChar(char c) { return IsMetricNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsLabelNameChar(char c) { return IsLabelNameStart(c) || (c >= '0' && c <= '9'); }

constexpr std::string_view kCreatedSuffix = "_created";

struct TypeName {
  std::string_view name;
  MetricType type;
};
constexpr TypeName kTextTypes[] = {
    {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
    {"histogram", MetricType::kHistogram}, {"summary", MetricType::kSummary},
    {"untyped", MetricType::kUntyped},
};
constexpr TypeName kOpenMetricsTypes[] = {
    {"counter", MetricType::kCounter},
    {"gauge", MetricType::kGauge},
    {"histogram", MetricType::kHistogram},
    {"gaugehistogram", MetricType::kGaugeHistogram},
    {"summary", MetricType::kSummary},
    {"info", MetricType::kInfo},
    {"stateset", MetricType::kStateset},
    {"unknown", MetricType::kUnknown},
};

// Go %q of the offending input: the rest of the token (up to whitespace), at most 32 bytes.
std::string Got(const char* p, const char* e) {
  if (p >= e) return "end of line";
  const char* q = p + 1;
  while (q < e && q - p < 32 && *q != ' ' && *q != '\t') ++q;
  std::string out;
  AppendQuoted(out, std::string_view(p, q - p));
  return out;
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

}  // namespace

std::string_view MetricTypeName(MetricType t) {
  switch (t) {
    case MetricType::kUnknown: return "unknown";
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kGaugeHistogram: return "gaugehistogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kInfo: return "info";
    case MetricType::kStateset: return "stateset";
    case MetricType::kUntyped: return "untyped";
  }
  return "unknown";
}

TextParser::TextParser(std::string_view body, ExpositionFormat format)
    : body_(body), format_(format) {}

std::optional<int64_t> TextParser::CreatedTimestampMs() const {
  if (!is_created_ || !std::isfinite(value_)) return std::nullopt;
  double ms = value_ * 1000.0;
  if (!(ms > -9.2e18 && ms < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(ms);
}

absl::Status TextParser::ErrorMsg(std::string_view msg) const {
  return absl::InvalidArgumentError(absl::StrCat("line ", line_no_, ": ", Av(msg)));
}

absl::Status TextParser::Error(std::string_view expected, const char* p, const char* e) const {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line_no_, ": expected ", Av(expected), ", got ", Got(p, e)));
}

absl::StatusOr<EntryType> TextParser::Next() {
  if (!error_.ok()) return error_;
  if (done_) return EntryType::kEof;
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  while (true) {
    if (pos_ >= body_.size()) {
      if (om) {
        // Reported at the line where "# EOF" was expected.
        error_ = absl::InvalidArgumentError(
            absl::StrCat("line ", line_no_ + 1, ": data does not end with # EOF"));
        return error_;
      }
      done_ = true;
      return EntryType::kEof;
    }
    ++line_no_;
    const char* b = body_.data() + pos_;
    const char* end = body_.data() + body_.size();
    const char* nl = static_cast<const char*>(std::memchr(b, '\n', end - b));
    const char* e = nl ? nl : end;
    // Only OpenMetrics' "# EOF" may end the data without a newline. The line is parsed first
    // so that a malformed last line reports what is wrong with it.
    const bool missing_newline = !nl && !(om && std::string_view(b, e - b) == "# EOF");
    pos_ = (e - body_.data()) + (nl ? 1 : 0);
    if (e > b && e[-1] == '\r') {
      if (om) {
        error_ = ErrorMsg("CR LF line endings are not allowed in OpenMetrics");
        return error_;
      }
      --e;
    }
    scratch_.clear();
    has_exemplar_ = false;
    is_created_ = false;
    EntryType entry = EntryType::kEof;
    absl::Status s = ParseLine(b, e, &entry);
    if (!s.ok()) {
      error_ = std::move(s);
      return error_;
    }
    if (missing_newline && !(entry == EntryType::kEof && !om)) {  // trailing blanks are fine
      error_ = ErrorMsg(om ? "data does not end with # EOF" : "data does not end with a newline");
      return error_;
    }
    if (entry == EntryType::kEof) {
      if (om) {
        if (pos_ < body_.size()) {
          ++line_no_;
          error_ = ErrorMsg("unexpected data after # EOF");
          return error_;
        }
        done_ = true;
        return EntryType::kEof;
      }
      continue;  // blank line (text format)
    }
    return entry;
  }
}

// Sets *out to kEof for lines that produce no entry (blank lines) and for "# EOF".
absl::Status TextParser::ParseLine(const char* p, const char* e, EntryType* out) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  if (!om) {
    while (p < e && (*p == ' ' || *p == '\t')) ++p;
    if (p == e) {
      *out = EntryType::kEof;
      return absl::OkStatus();
    }
  } else if (p == e) {
    return ErrorMsg("unexpected empty line");
  }
  if (*p == '#') return ParseMeta(p, e, out);
  absl::Status s = ParseSeries(p, e);
  if (!s.ok()) return s;
  *out = EntryType::kSeries;
  return absl::OkStatus();
}

absl::Status TextParser::ParseMeta(const char* p, const char* e, EntryType* out) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  const char* line = p;
  ++p;  // '#'
  auto is_space = [om](char c) { return c == ' ' || (!om && c == '\t'); };
  auto comment = [&]() {
    const char* q = line + 1;
    while (q < e && (*q == ' ' || *q == '\t')) ++q;
    text_ = std::string_view(q, e - q);
    *out = EntryType::kComment;
    return absl::OkStatus();
  };
  if (om) {
    if (std::string_view(line, e - line) == "# EOF") {
      *out = EntryType::kEof;
      return absl::OkStatus();
    }
    if (p == e || *p != ' ') return Error("\"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"", line, e);
    ++p;
  } else {
    if (p == e || !is_space(*p)) return comment();
    while (p < e && is_space(*p)) ++p;
  }
  std::string_view rest(p, e - p);
  EntryType kind;
  if (rest.size() > 4 && rest.substr(0, 4) == "HELP" && is_space(rest[4])) {
    kind = EntryType::kHelp;
  } else if (rest.size() > 4 && rest.substr(0, 4) == "TYPE" && is_space(rest[4])) {
    kind = EntryType::kType;
  } else if (om && rest.size() > 4 && rest.substr(0, 4) == "UNIT" && is_space(rest[4])) {
    kind = EntryType::kUnit;
  } else {
    if (om) return Error("\"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"", line, e);
    return comment();
  }
  std::string_view what = kind == EntryType::kHelp   ? "HELP"
                          : kind == EntryType::kType ? "TYPE"
                                                     : "UNIT";
  p += 5;
  if (!om) {
    while (p < e && is_space(*p)) ++p;
    // "# HELP" with nothing after it is a comment (as expfmt reads it).
    if (p == e) return comment();
  }
  // Metric name: bare, or quoted (UTF-8 names).
  Piece name;
  if (p < e && *p == '"') {
    PHAROS_RETURN_IF_ERROR(ParseQuoted(&p, e, &name, "metric name"));
    if (name.size == 0) return ErrorMsg(absl::StrCat("empty metric name in ", Av(what)));
  } else if (p < e && IsMetricNameStart(*p)) {
    const char* s = p;
    while (p < e && IsMetricNameChar(*p)) ++p;
    name = Piece{s, 0, static_cast<uint32_t>(p - s)};
  } else {
    return Error(absl::StrCat("metric name after ", Av(what)), p, e);
  }
  meta_name_ = View(name);
  if (p < e && !is_space(*p)) return Error("space after metric name", p, e);

  // Family bookkeeping.
  if (meta_name_ != family_) {
    family_.assign(meta_name_);
    family_type_ = MetricType::kUnknown;
    family_has_help_ = family_has_type_ = family_has_unit_ = family_has_samples_ = false;
  }
  *out = kind;
  switch (kind) {
    case EntryType::kHelp: {
      if (family_has_help_) {
        return ErrorMsg(absl::StrCat("second HELP line for metric name ", Quote(meta_name_)));
      }
      if (p < e) {
        ++p;
        if (!om) {
          while (p < e && is_space(*p)) ++p;
        }
      }
      // An empty HELP does not count as the family's HELP (expfmt ignores it).
      if (p < e) family_has_help_ = true;
      // Unescape: \\ and \n in both formats, \" in OpenMetrics; others are kept as written.
      const char* bs = static_cast<const char*>(std::memchr(p, '\\', e - p));
      if (!bs) {
        text_ = std::string_view(p, e - p);
        return absl::OkStatus();
      }
      size_t start = scratch_.size();
      scratch_.append(p, bs - p);
      for (const char* q = bs; q < e; ++q) {
        if (*q == '\\' && q + 1 < e) {
          char c = q[1];
          if (c == '\\') {
            scratch_.push_back('\\');
            ++q;
            continue;
          }
          if (c == 'n') {
            scratch_.push_back('\n');
            ++q;
            continue;
          }
          if (om && c == '"') {
            scratch_.push_back('"');
            ++q;
            continue;
          }
        }
        scratch_.push_back(*q);
      }
      // meta_name_ may point into scratch_, which may just have moved.
      meta_name_ = View(name);
      text_ = std::string_view(scratch_).substr(start);
      return absl::OkStatus();
    }
    case EntryType::kType: {
      if (family_has_type_) {
        return ErrorMsg(absl::StrCat("second TYPE line for metric name ", Quote(meta_name_)));
      }
      if (family_has_samples_) {
        return ErrorMsg(
            absl::StrCat("TYPE line for metric name ", Quote(meta_name_), " after its samples"));
      }
      if (p == e) return Error("metric type", p, e);
      ++p;
      if (!om) {
        while (p < e && is_space(*p)) ++p;
      }
      const char* s = p;
      while (p < e && !is_space(*p)) ++p;
      std::string_view word(s, p - s);
      if (!om) {
        while (p < e && is_space(*p)) ++p;
      }
      if (word.empty()) return Error("metric type", s, e);
      if (p != e) return Error("end of line after metric type", p, e);
      bool found = false;
      for (const TypeName& t : om ? std::span<const TypeName>(kOpenMetricsTypes)
                                  : std::span<const TypeName>(kTextTypes)) {
        if (t.name == word) {
          type_ = t.type;
          found = true;
          break;
        }
      }
      if (!found) return ErrorMsg(absl::StrCat("invalid metric type ", Quote(word)));
      family_type_ = type_;
      family_has_type_ = true;
      return absl::OkStatus();
    }
    case EntryType::kUnit: {
      if (family_has_unit_) {
        return ErrorMsg(absl::StrCat("second UNIT line for metric name ", Quote(meta_name_)));
      }
      family_has_unit_ = true;
      if (p < e) ++p;
      text_ = std::string_view(p, e - p);
      if (!text_.empty()) {
        std::string_view m = meta_name_;
        if (m.size() < text_.size() + 1 || m.substr(m.size() - text_.size()) != text_ ||
            m[m.size() - text_.size() - 1] != '_') {
          return ErrorMsg(absl::StrCat("unit ", Quote(text_), " is not a suffix of metric ",
                                       Quote(meta_name_)));
        }
      }
      return absl::OkStatus();
    }
    default:
      return absl::InternalError("unreachable");
  }
}

absl::Status TextParser::ParseQuoted(const char** pp, const char* e, Piece* out,
                                     std::string_view what) {
  const char* p = *pp + 1;  // past '"'
  const char* s = p;
  while (p < e && *p != '"' && *p != '\\') ++p;
  if (p < e && *p == '"') {
    *out = Piece{s, 0, static_cast<uint32_t>(p - s)};
    *pp = p + 1;
    return absl::OkStatus();
  }
  // Escapes: \\, \" and \n. The text format keeps other escapes as written (as Prometheus
  // does); OpenMetrics rejects them.
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  size_t start = scratch_.size();
  scratch_.append(s, p - s);
  while (p < e && *p != '"') {
    if (*p == '\\') {
      if (p + 1 >= e) break;
      char c = p[1];
      if (c == '\\' || c == '"') {
        scratch_.push_back(c);
      } else if (c == 'n') {
        scratch_.push_back('\n');
      } else if (om) {
        return ErrorMsg(absl::StrCat("invalid escape sequence ", Quote(std::string_view(p, 2)),
                                     " in ", Av(what)));
      } else {
        scratch_.append(p, 2);
      }
      p += 2;
      continue;
    }
    scratch_.push_back(*p++);
  }
  if (p >= e) return Error(absl::StrCat("closing '\"' of ", Av(what)), p, e);
  *out = Piece{nullptr, static_cast<uint32_t>(start), static_cast<uint32_t>(scratch_.size() - start)};
  *pp = p + 1;
  return absl::OkStatus();
}

absl::Status TextParser::ParseLabelSet(const char** pp, const char* e,
                                       std::vector<PendingLabel>* out, Piece* name,
                                       bool allow_name) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  auto skip_ws = [&](const char*& q) {
    if (!om) {
      while (q < e && (*q == ' ' || *q == '\t')) ++q;
    }
  };
  const char* p = *pp + 1;  // past '{'
  while (true) {
    skip_ws(p);
    if (p < e && *p == '}') {
      ++p;
      break;
    }
    Piece lname;
    if (p < e && *p == '"') {
      PHAROS_RETURN_IF_ERROR(ParseQuoted(&p, e, &lname, "label name"));
      skip_ws(p);
      if (p < e && (*p == ',' || *p == '}')) {
        // A quoted string standing alone is the metric name.
        if (!allow_name || name == nullptr) return Error("'=' after label name", p, e);
        if (name->size != 0 || name->data != nullptr) return ErrorMsg("metric name set twice");
        if (lname.size == 0) return ErrorMsg("empty metric name");
        *name = lname;
        if (*p == ',') ++p;
        continue;
      }
      if (lname.size == 0) return ErrorMsg("empty label name");
    } else if (p < e && IsLabelNameStart(*p)) {
      const char* s = p;
      while (p < e && IsLabelNameChar(*p)) ++p;
      lname = Piece{s, 0, static_cast<uint32_t>(p - s)};
    } else {
      return Error(out->empty() ? "label name or '}'" : "label name", p, e);
    }
    skip_ws(p);
    if (p >= e || *p != '=') return Error("'=' after label name", p, e);
    ++p;
    skip_ws(p);
    if (p >= e || *p != '"') return Error("label value", p, e);
    Piece lvalue;
    PHAROS_RETURN_IF_ERROR(ParseQuoted(&p, e, &lvalue, "label value"));
    if (name != nullptr && lname.size == kMetricName.size() && View(lname) == kMetricName) {
      // {__name__="x"}: the metric name written as a label.
      if (name->size != 0 || name->data != nullptr) return ErrorMsg("metric name set twice");
      *name = lvalue;
    } else {
      out->push_back(PendingLabel{lname, lvalue});
    }
    skip_ws(p);
    if (p < e && *p == ',') {
      ++p;
      continue;
    }
    if (p < e && *p == '}') {
      ++p;
      break;
    }
    return Error("',' or '}' after label value", p, e);
  }
  *pp = p;
  return absl::OkStatus();
}

MetricType TextParser::SeriesType(std::string_view name, bool* is_created) const {
  *is_created = false;
  if (family_.empty() || name.size() < family_.size() ||
      name.compare(0, family_.size(), family_) != 0) {
    return MetricType::kUnknown;
  }
  std::string_view suffix = name.substr(family_.size());
  if (suffix.empty()) return family_type_;
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  auto created = [&]() {
    if (om && suffix == kCreatedSuffix) {
      *is_created = true;
      return true;
    }
    return false;
  };
  switch (family_type_) {
    case MetricType::kCounter:
      if (suffix == "_total" || created()) return family_type_;
      break;
    case MetricType::kHistogram:
      if (suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || created()) {
        return family_type_;
      }
      break;
    case MetricType::kGaugeHistogram:
      if (suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount") return family_type_;
      break;
    case MetricType::kSummary:
      if (suffix == "_sum" || suffix == "_count" || created()) return family_type_;
      break;
    case MetricType::kInfo:
      if (suffix == "_info") return family_type_;
      break;
    default:
      break;
  }
  return MetricType::kUnknown;
}

absl::Status TextParser::ParseSeries(const char* p, const char* e) {
  const bool om = format_ == ExpositionFormat::kOpenMetrics;
  auto is_space = [om](char c) { return c == ' ' || (!om && c == '\t'); };
  pending_.clear();
  const char* series_start = p;
  Piece name;
  bool had_braces = false;
  if (IsMetricNameStart(*p)) {
    const char* s = p;
    while (p < e && IsMetricNameChar(*p)) ++p;
    name = Piece{s, 0, static_cast<uint32_t>(p - s)};
    const char* after_name = p;
    if (!om) {
      while (p < e && is_space(*p)) ++p;
    }
    if (p < e && *p == '{') {
      PHAROS_RETURN_IF_ERROR(ParseLabelSet(&p, e, &pending_, &name, /*allow_name=*/false));
      had_braces = true;
    } else {
      p = after_name;
      if (p < e && !is_space(*p)) return Error("'{' or space after metric name", p, e);
    }
  } else if (*p == '{') {
    PHAROS_RETURN_IF_ERROR(ParseLabelSet(&p, e, &pending_, &name, /*allow_name=*/true));
    if (name.size == 0 && name.data == nullptr) return ErrorMsg("metric name missing in label set");
    had_braces = true;
  } else {
    return Error("metric name or '{'", p, e);
  }
  series_ = std::string_view(series_start, p - series_start);

  // Value.
  if (om) {
    if (p >= e || *p != ' ') return Error("space before value", p, e);
    ++p;
  } else {
    const char* s = p;
    while (p < e && is_space(*p)) ++p;
    if (p == s && !had_braces) return Error("space before value", p, e);
  }
  const char* vs = p;
  while (p < e && !is_space(*p)) ++p;
  if (vs == p) return Error("value", vs, e);
  if (!ParseGoFloat(std::string_view(vs, p - vs), &value_)) return Error("a number as value", vs, e);

  // Timestamp, exemplar.
  timestamp_ms_.reset();
  if (!om) {
    while (p < e && is_space(*p)) ++p;
    if (p < e) {
      const char* ts = p;
      while (p < e && !is_space(*p)) ++p;
      int64_t t;
      if (!ParseInt64(std::string_view(ts, p - ts), &t)) {
        return Error("an integer timestamp in milliseconds", ts, e);
      }
      timestamp_ms_ = t;
      while (p < e && is_space(*p)) ++p;
      if (p < e) return Error("end of line after timestamp", p, e);
    }
  } else {
    auto at_exemplar = [&]() { return e - p >= 3 && p[0] == ' ' && p[1] == '#' && p[2] == ' '; };
    auto parse_ts = [&](std::optional<int64_t>* out) -> absl::Status {
      ++p;  // ' '
      const char* ts = p;
      while (p < e && *p != ' ') ++p;
      double sec;
      if (!ParseGoFloat(std::string_view(ts, p - ts), &sec) || !std::isfinite(sec)) {
        return Error("a timestamp in seconds", ts, e);
      }
      double ms = sec * 1000.0;
      if (!(ms > -9.2e18 && ms < 9.2e18)) return Error("a timestamp in range", ts, e);
      *out = static_cast<int64_t>(ms);
      return absl::OkStatus();
    };
    if (p < e && !at_exemplar()) {
      if (*p != ' ') return Error("space before timestamp", p, e);
      PHAROS_RETURN_IF_ERROR(parse_ts(&timestamp_ms_));
    }
    if (p < e) {
      if (!at_exemplar()) return Error("end of line or \" # \" before an exemplar", p, e);
      p += 3;
      if (p >= e || *p != '{') return Error("'{' starting the exemplar's labels", p, e);
      pending_exemplar_.clear();
      PHAROS_RETURN_IF_ERROR(
          ParseLabelSet(&p, e, &pending_exemplar_, /*name=*/nullptr, /*allow_name=*/false));
      if (p >= e || *p != ' ') return Error("space before exemplar value", p, e);
      ++p;
      const char* xs = p;
      while (p < e && *p != ' ') ++p;
      if (!ParseGoFloat(std::string_view(xs, p - xs), &exemplar_.value)) {
        return Error("a number as exemplar value", xs, e);
      }
      exemplar_.timestamp_ms.reset();
      if (p < e) PHAROS_RETURN_IF_ERROR(parse_ts(&exemplar_.timestamp_ms));
      if (p < e) return Error("end of line after exemplar", p, e);
      has_exemplar_ = true;
    }
  }

  // Family and type.
  std::string_view metric = View(name);
  type_ = SeriesType(metric, &is_created_);
  if (type_ == MetricType::kUnknown && metric != family_) {
    // A series outside the current family starts an implicit, untyped one.
    family_.assign(metric);
    family_type_ = MetricType::kUnknown;
    family_has_help_ = family_has_type_ = family_has_unit_ = false;
  }
  family_has_samples_ = true;

  PHAROS_RETURN_IF_ERROR(NormalizeFloatLabels());

  labels_.clear();
  labels_.push_back(Label{kMetricName, View(name)});
  ResolveLabels(pending_, &labels_);
  if (has_exemplar_) {
    exemplar_labels_.clear();
    ResolveLabels(pending_exemplar_, &exemplar_labels_);
    exemplar_.labels = exemplar_labels_;
  }
  return absl::OkStatus();
}

absl::Status TextParser::NormalizeFloatLabels() {
  std::string_view label;
  if (type_ == MetricType::kHistogram || type_ == MetricType::kGaugeHistogram) {
    label = "le";
  } else if (type_ == MetricType::kSummary) {
    label = "quantile";
  } else {
    return absl::OkStatus();
  }
  for (PendingLabel& l : pending_) {
    if (View(l.name) != label) continue;
    std::string_view v = View(l.value);
    double f;
    if (!ParseGoFloat(v, &f)) {
      return ErrorMsg(absl::StrCat("expected a number as ", Av(label), " label value, got ", Quote(v)));
    }
    size_t start = scratch_.size();
    internal::AppendOpenMetricsFloat(&scratch_, f);
    if (std::string_view(scratch_).substr(start) == View(l.value)) {
      scratch_.resize(start);  // already canonical
    } else {
      l.value = Piece{nullptr, static_cast<uint32_t>(start),
                      static_cast<uint32_t>(scratch_.size() - start)};
    }
  }
  return absl::OkStatus();
}

void TextParser::ResolveLabels(const std::vector<PendingLabel>& in,
                               std::vector<Label>* out) const {
  for (const PendingLabel& l : in) out->push_back(Label{View(l.name), View(l.value)});
}

}  // namespace pharos::ingest
