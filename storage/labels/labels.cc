#include "storage/labels/labels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#define XXH_INLINE_ALL
#include "xxhash.h"

namespace pharos {

// Layout of the single heap block: Rep header, then uint32_t ends[2 * n] (end offset of each
// name and value in the string bytes), then the bytes name0 value0 name1 value1 ...
struct Labels::Rep {
  std::atomic<uint32_t> refs;
  uint32_t n;

  const uint32_t* ends() const { return reinterpret_cast<const uint32_t*>(this + 1); }
  uint32_t* ends() { return reinterpret_cast<uint32_t*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(ends() + 2 * n); }
  char* data() { return reinterpret_cast<char*>(ends() + 2 * n); }
  uint32_t bytes() const { return n == 0 ? 0 : ends()[2 * n - 1]; }
  size_t AllocSize() const { return sizeof(Rep) + 2 * n * sizeof(uint32_t) + bytes(); }

  Label At(size_t i) const {
    const uint32_t* e = ends();
    const uint32_t start = i == 0 ? 0 : e[2 * i - 1];
    return Label{std::string_view(data() + start, e[2 * i] - start),
                 std::string_view(data() + e[2 * i], e[2 * i + 1] - e[2 * i])};
  }
};

namespace {

constexpr char kSep = '\xff';

bool LabelNameLess(const Label& a, const Label& b) { return a.name < b.name; }

// Decodes one UTF-8 sequence at s[i]. Returns the code point, or -1 for an invalid byte
// (overlong forms, surrogates and values above U+10FFFF are invalid); *width is set to the
// number of bytes consumed (1 for an invalid byte).
int32_t DecodeRune(std::string_view s, size_t i, size_t* width) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *width = 1;
  if (b0 < 0x80) return b0;
  size_t need;
  int32_t r;
  int32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    need = 1, r = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    need = 2, r = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    need = 3, r = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + need >= s.size()) return -1;  // truncated sequence
  for (size_t k = 1; k <= need; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return -1;
  *width = need + 1;
  return r;
}

// Approximation of Go's unicode.IsPrint for non-ASCII runes: C1 controls, non-ASCII spaces,
// format characters and non-characters are not printable.
bool IsPrintNonAscii(int32_t r) {
  if (r >= 0x80 && r <= 0xA0) return false;
  if (r == 0xAD || r == 0x1680 || r == 0x061C || r == 0x180E) return false;
  if (r >= 0x2000 && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202F) return false;
  if (r >= 0x205F && r <= 0x206F) return false;
  if (r == 0x3000 || r == 0xFEFF) return false;
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  if ((r & 0xFFFE) == 0xFFFE) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;  // private use
  if (r >= 0xF0000) return false;                 // supplementary private use
  return true;
}

void AppendHex(std::string& out, uint32_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int d = digits - 1; d >= 0; --d) out.push_back(kHex[(v >> (4 * d)) & 0xF]);
}

bool IsLegacyNameChar(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsLegacyName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsLegacyNameChar(s[i], i == 0, allow_colon)) return false;
  }
  return true;
}

// Hashes name 0xff value 0xff for each selected label, like Prometheus's labels.Hash.
template <typename Pred>
uint64_t HashSelected(const Labels& ls, Pred keep) {
  char buf[1024];
  size_t len = 0;
  bool streaming = false;
  XXH64_state_t state;
  auto add = [&](std::string_view piece) {
    if (!streaming) {
      if (len + piece.size() <= sizeof(buf)) {
        std::memcpy(buf + len, piece.data(), piece.size());
        len += piece.size();
        return;
      }
      streaming = true;
      XXH64_reset(&state, 0);
      XXH64_update(&state, buf, len);
    }
    XXH64_update(&state, piece.data(), piece.size());
  };
  const std::string_view sep(&kSep, 1);
  for (Label l : ls) {
    if (!keep(l.name)) continue;
    add(l.name);
    add(sep);
    add(l.value);
    add(sep);
  }
  return streaming ? XXH64_digest(&state) : XXH64(buf, len, 0);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t w;
    if (DecodeRune(s, i, &w) < 0) return false;
    i += w;
  }
  return true;
}

bool IsValidLegacyLabelName(std::string_view name) { return IsLegacyName(name, false); }
bool IsValidLegacyMetricName(std::string_view name) { return IsLegacyName(name, true); }

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    size_t w;
    const int32_t r = DecodeRune(s, i, &w);
    if (r < 0) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(s[i]), 2);
    } else if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x20 && r < 0x7F) {
      out.push_back(static_cast<char>(r));
    } else if (r >= 0x80 && IsPrintNonAscii(r)) {
      out.append(s.substr(i, w));
    } else {
      switch (r) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (r < 0x20 || r == 0x7F) {
            out += "\\x";
            AppendHex(out, static_cast<uint32_t>(r), 2);
          } else if (r < 0x10000) {
            out += "\\u";
            AppendHex(out, static_cast<uint32_t>(r), 4);
          } else {
            out += "\\U";
            AppendHex(out, static_cast<uint32_t>(r), 8);
          }
      }
    }
    i += w;
  }
  out.push_back('"');
}

// ---------------------------------------------------------------------------------------------
// Labels

Labels::Rep* Labels::Build(std::vector<Label>& v) {
  if (v.empty()) return nullptr;
  size_t bytes = 0;
  for (const Label& l : v) bytes += l.name.size() + l.value.size();
  const size_t n = v.size();
  void* mem = ::operator new(sizeof(Rep) + 2 * n * sizeof(uint32_t) + bytes);
  Rep* rep = new (mem) Rep;
  rep->refs.store(1, std::memory_order_relaxed);
  rep->n = static_cast<uint32_t>(n);
  uint32_t* ends = rep->ends();
  char* out = rep->data();
  uint32_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(out + off, v[i].name.data(), v[i].name.size());
    off += static_cast<uint32_t>(v[i].name.size());
    ends[2 * i] = off;
    std::memcpy(out + off, v[i].value.data(), v[i].value.size());
    off += static_cast<uint32_t>(v[i].value.size());
    ends[2 * i + 1] = off;
  }
  return rep;
}

Labels::Labels(std::initializer_list<Label> labels)
    : Labels(std::span<const Label>(labels.begin(), labels.size())) {}

Labels::Labels(std::span<const Label> labels) {
  std::vector<Label> v;
  v.reserve(labels.size());
  for (const Label& l : labels) {
    if (!l.value.empty()) v.push_back(l);
  }
  if (!std::is_sorted(v.begin(), v.end(), LabelNameLess)) {
    std::stable_sort(v.begin(), v.end(), LabelNameLess);
  }
  rep_ = Build(v);
}

Labels Labels::FromStrings(std::initializer_list<std::string_view> name_values) {
  std::vector<Label> v;
  for (auto it = name_values.begin(); it != name_values.end() && it + 1 != name_values.end();
       it += 2) {
    v.push_back(Label{*it, *(it + 1)});
  }
  return Labels(std::span<const Label>(v));
}

Labels::Labels(const Labels& other) noexcept : rep_(other.rep_) {
  if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
}

void Labels::Unref() noexcept {
  if (rep_ != nullptr && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep_->~Rep();
    ::operator delete(rep_);
  }
  rep_ = nullptr;
}

Labels& Labels::operator=(const Labels& other) noexcept {
  Rep* rep = other.rep_;  // read first: `other` may be *this
  if (rep != nullptr) rep->refs.fetch_add(1, std::memory_order_relaxed);
  Unref();
  rep_ = rep;
  return *this;
}

Labels& Labels::operator=(Labels&& other) noexcept {
  if (this != &other) {
    Unref();
    rep_ = std::exchange(other.rep_, nullptr);
  }
  return *this;
}

Labels::~Labels() { Unref(); }

size_t Labels::size() const { return rep_ == nullptr ? 0 : rep_->n; }
Label Labels::operator[](size_t i) const { return rep_->At(i); }
Labels::Iterator Labels::begin() const { return Iterator(this, 0); }
Labels::Iterator Labels::end() const { return Iterator(this, size()); }
size_t Labels::ByteSize() const { return rep_ == nullptr ? 0 : rep_->AllocSize(); }

std::string_view Labels::Get(std::string_view name) const {
  // Binary search; sets are small but __name__ sorts early and most lookups are short.
  size_t lo = 0, hi = size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const Label l = rep_->At(mid);
    if (l.name < name) {
      lo = mid + 1;
    } else if (l.name == name) {
      return l.value;
    } else {
      hi = mid;
    }
  }
  return {};
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

uint64_t Labels::Hash() const {
  if (rep_ == nullptr) return XXH64(nullptr, 0, 0);
  return HashSelected(*this, [](std::string_view) { return true; });
}

uint64_t Labels::HashForLabels(std::span<const std::string_view> names) const {
  return HashSelected(*this, [&](std::string_view n) {
    return std::binary_search(names.begin(), names.end(), n);
  });
}

uint64_t Labels::HashWithoutLabels(std::span<const std::string_view> names) const {
  // As Prometheus: __name__ is always excluded.
  return HashSelected(*this, [&](std::string_view n) {
    return n != kMetricName && !std::binary_search(names.begin(), names.end(), n);
  });
}

std::string Labels::String() const {
  std::string out = "{";
  bool first = true;
  for (Label l : *this) {
    if (!first) out += ", ";
    first = false;
    if (IsValidLegacyLabelName(l.name)) {
      out += l.name;
    } else {
      AppendQuoted(out, l.name);
    }
    out.push_back('=');
    AppendQuoted(out, l.value);
  }
  out.push_back('}');
  return out;
}

std::string Labels::MetricString() const {
  const std::string_view name = MetricName();
  std::string out;
  const bool legacy = name.empty() || IsValidLegacyMetricName(name);
  if (legacy) out += name;
  if (legacy && !name.empty() && size() == 1) return out;
  out.push_back('{');
  bool first = true;
  if (!legacy) {
    AppendQuoted(out, name);
    first = false;
  }
  for (Label l : *this) {
    if (l.name == kMetricName) continue;
    if (!first) out += ", ";
    first = false;
    if (IsValidLegacyLabelName(l.name)) {
      out += l.name;
    } else {
      AppendQuoted(out, l.name);
    }
    out.push_back('=');
    AppendQuoted(out, l.value);
  }
  out.push_back('}');
  return out;
}

bool operator==(const Labels& a, const Labels& b) {
  if (a.rep_ == b.rep_) return true;
  if (a.size() != b.size()) return false;
  if (a.size() == 0) return true;
  const size_t ends_bytes = 2 * a.rep_->n * sizeof(uint32_t);
  return std::memcmp(a.rep_->ends(), b.rep_->ends(), ends_bytes) == 0 &&
         std::memcmp(a.rep_->data(), b.rep_->data(), a.rep_->bytes()) == 0;
}

int Compare(const Labels& a, const Labels& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const Label la = a[i], lb = b[i];
    if (const int c = la.name.compare(lb.name); c != 0) return c < 0 ? -1 : 1;
    if (const int c = la.value.compare(lb.value); c != 0) return c < 0 ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// LabelsBuilder

void LabelsBuilder::Reset(const ::pharos::Labels& base) {
  labels_.clear();
  labels_.reserve(base.size());
  for (Label l : base) {
    if (!labels_.empty() && labels_.back().first == l.name) {
      labels_.back().second = std::string(l.value);  // duplicates: last one wins
    } else {
      labels_.emplace_back(std::string(l.name), std::string(l.value));
    }
  }
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it != labels_.end() && it->first == name) {
    it->second.assign(value);
  } else {
    labels_.emplace(it, std::string(name), std::string(value));
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it != labels_.end() && it->first == name) labels_.erase(it);
  return *this;
}

LabelsBuilder& LabelsBuilder::Keep(std::span<const std::string_view> names) {
  std::erase_if(labels_, [&](const auto& p) {
    return std::find(names.begin(), names.end(), p.first) == names.end();
  });
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it != labels_.end() && it->first == name) return it->second;
  return {};
}

::pharos::Labels LabelsBuilder::Labels() const {
  std::vector<Label> v;
  v.reserve(labels_.size());
  for (const auto& [n, val] : labels_) v.push_back(Label{n, val});
  return ::pharos::Labels(::pharos::Labels::Build(v));
}

// ---------------------------------------------------------------------------------------------
// Validation

absl::Status ValidateLabels(const Labels& labels, const LabelLimits& limits) {
  auto err = [&](Label l, const std::string& why) {
    std::string name;
    AppendQuoted(name, l.name);
    std::string msg = absl::StrCat("invalid label ", name, ": ", why);
    if (const std::string_view metric = labels.MetricName(); !metric.empty()) {
      std::string quoted;
      AppendQuoted(quoted, metric.substr(0, 256));
      absl::StrAppend(&msg, " (metric ", quoted, ")");
    }
    return absl::InvalidArgumentError(msg);
  };
  if (limits.max_label_count != 0 && labels.size() > limits.max_label_count) {
    return absl::InvalidArgumentError(absl::StrCat("series has ", labels.size(),
                                                   " labels, more than the limit of ",
                                                   limits.max_label_count));
  }
  if (limits.require_metric_name && !labels.Has(kMetricName)) {
    return absl::InvalidArgumentError("series has no metric name (__name__ label)");
  }
  std::string_view prev;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label l = labels[i];
    if (l.name.empty()) return err(l, "label name is empty");
    if (i > 0 && l.name == prev) return err(l, "duplicate label name");
    prev = l.name;
    if (limits.max_name_length != 0 && l.name.size() > limits.max_name_length) {
      return err(l, absl::StrCat("name is ", l.name.size(), " bytes, more than the limit of ",
                                 limits.max_name_length));
    }
    if (limits.max_value_length != 0 && l.value.size() > limits.max_value_length) {
      return err(l, absl::StrCat("value is ", l.value.size(), " bytes, more than the limit of ",
                                 limits.max_value_length));
    }
    if (!IsValidUtf8(l.name)) return err(l, "name is not valid UTF-8");
    if (!IsValidUtf8(l.value)) return err(l, "value is not valid UTF-8");
    if (limits.legacy_names) {
      if (!IsValidLegacyLabelName(l.name)) {
        return err(l, "name does not match [a-zA-Z_][a-zA-Z0-9_]* (legacy name validation)");
      }
      if (l.name == kMetricName && !IsValidLegacyMetricName(l.value)) {
        return err(l, "metric name does not match [a-zA-Z_:][a-zA-Z0-9_:]* "
                      "(legacy name validation)");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace pharos
