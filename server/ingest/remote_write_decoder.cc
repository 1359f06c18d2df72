#include "server/ingest/remote_write_decoder.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "server/ingest/internal/proto_wire.h"
#include "server/ingest/snappy_block.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

namespace pharos::ingest {

using internal::kI64;
using internal::kLen;
using internal::kVarint;
using internal::WireError;
using internal::WireReader;

std::string_view RwMetricTypeName(RwMetricType t) {
  switch (t) {
    case RwMetricType::kCounter:
      return "counter";
    case RwMetricType::kGauge:
      return "gauge";
    case RwMetricType::kHistogram:
      return "histogram";
    case RwMetricType::kGaugeHistogram:
      return "gaugehistogram";
    case RwMetricType::kSummary:
      return "summary";
    case RwMetricType::kInfo:
      return "info";
    case RwMetricType::kStateset:
      return "stateset";
    case RwMetricType::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view SeriesErrorName(SeriesError e) {
  switch (e) {
    case SeriesError::kNone:
      return "ok";
    case SeriesError::kNoLabels:
      return "no labels";
    case SeriesError::kEmptyLabelName:
      return "empty label name";
    case SeriesError::kDuplicateLabelName:
      return "duplicate label name";
    case SeriesError::kInvalidUtf8:
      return "label name or value is not valid UTF-8";
    case SeriesError::kLabelLimit:
      return "label limit exceeded";
    case SeriesError::kInvalidName:
      return "invalid metric or label name";
    case SeriesError::kOddLabelRefs:
      return "odd number of label references";
    case SeriesError::kSymbolRefOutOfRange:
      return "symbol reference out of range";
  }
  return "unknown";
}

void DecodedRequest::Reset() {
  version = RemoteWriteVersion::kV1;
  series.clear();
  labels.clear();
  samples.clear();
  metadata.clear();
  num_samples = num_histograms = num_invalid_histograms = num_exemplars = 0;
  num_series_rejected = 0;
  series_rejected_by_reason.fill(0);
  first_rejection.clear();
}

namespace {

// UTF-8 validity with an 8-bytes-at-a-time ASCII fast path (label sets are nearly all ASCII).
bool Utf8Ok(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return IsValidUtf8(s);
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return IsValidUtf8(s);
  }
  return true;
}

// string_view::compare without the memcmp call: label names usually differ in the first bytes.
inline int CompareNames(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]) ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// Folds a label's name and value hashes into one 128-bit word pair (the series key then hashes
// 16 bytes per label). Order-sensitive, so a="b" and b="a" differ.
inline void FoldLabel(uint64_t* out, uint64_t n_lo, uint64_t n_hi, uint64_t v_lo, uint64_t v_hi) {
  constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full;
  out[0] = n_lo ^ (v_lo * kP1 + ((v_hi << 23) | (v_hi >> 41)));
  out[1] = n_hi ^ (v_hi * kP2 + ((v_lo << 41) | (v_lo >> 23)));
}

bool WrongType(WireReader& r, const char* what) { return r.Fail(what); }

// Label { name = 1; value = 2; } (1.0 series and exemplar labels). Last occurrence wins.
bool DecodeLabel(std::string_view msg, WireError* err, Label* out) {
  WireReader r(msg, err);
  *out = Label{};
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1 || f == 2) {
      if (wt != kLen) return WrongType(r, "Label: wrong wire type for name/value");
      if (!r.ReadLen(f == 1 ? &out->name : &out->value)) return false;
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

// Sample { double value = 1; int64 timestamp = 2; } (same numbering in 1.0 and 2.0).
bool DecodeSample(std::string_view msg, WireError* err, Sample* out) {
  WireReader r(msg, err);
  *out = Sample{};
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1) {
      if (wt != kI64) return WrongType(r, "Sample: wrong wire type for value");
      if (!r.ReadDouble(&out->v)) return false;
    } else if (f == 2) {
      if (wt != kVarint) return WrongType(r, "Sample: wrong wire type for timestamp");
      uint64_t t;
      if (!r.ReadVarint(&t)) return false;
      out->t_ms = static_cast<int64_t>(t);
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

// Counts the elements of a repeated varint field, packed (LEN) or not (VARINT).
bool CountVarints(WireReader& r, uint32_t wt, WireError* err, uint64_t* n, const char* what) {
  if (wt == kVarint) {
    uint64_t v;
    if (!r.ReadVarint(&v)) return false;
    ++*n;
    return true;
  }
  if (wt != kLen) return r.Fail(what);
  std::string_view packed;
  if (!r.ReadLen(&packed)) return false;
  WireReader pr(packed, err);
  while (!pr.done()) {
    uint64_t v;
    if (!pr.ReadVarint(&v)) return false;
    ++*n;
  }
  return true;
}

// Counts the elements of a repeated double field, packed (LEN) or not (I64).
bool CountDoubles(WireReader& r, uint32_t wt, uint64_t* n, const char* what) {
  if (wt == kI64) {
    double d;
    if (!r.ReadDouble(&d)) return false;
    ++*n;
    return true;
  }
  if (wt != kLen) return r.Fail(what);
  std::string_view packed;
  if (!r.ReadLen(&packed)) return false;
  if (packed.size() % 8 != 0) return r.Fail("packed doubles: length not a multiple of 8");
  *n += packed.size() / 8;
  return true;
}

// BucketSpan { sint32 offset = 1; uint32 length = 2; }: adds length to *total.
bool DecodeBucketSpan(std::string_view msg, WireError* err, uint64_t* total) {
  WireReader r(msg, err);
  uint32_t length = 0;
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1 || f == 2) {
      if (wt != kVarint) return WrongType(r, "BucketSpan: wrong wire type for offset/length");
      uint64_t v;
      if (!r.ReadVarint(&v)) return false;
      if (f == 2) length = static_cast<uint32_t>(v);
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  *total += length;
  return true;
}

// Native histogram (same field numbers in 1.0 and 2.0). Checks the wire format (false on error)
// and sets *valid: integer or float consistently, bucket counts matching the spans, a known
// schema (-4..8, or -53 custom buckets without negative buckets).
bool DecodeHistogram(std::string_view msg, WireError* err, bool* valid) {
  WireReader r(msg, err);
  int count_kind = 0, zero_kind = 0;  // 0 absent, 1 integer, 2 float
  int32_t schema = 0;
  uint64_t span_len[2] = {0, 0}, deltas[2] = {0, 0}, counts[2] = {0, 0}, custom = 0;
  constexpr const char* kWrong = "Histogram: wrong wire type for a known field";
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    switch (f) {
      case 1:  // count_int
      case 6:  // zero_count_int
      case 4:  // schema (sint32)
      case 14:  // reset_hint
      case 15: {  // timestamp
        if (wt != kVarint) return r.Fail(kWrong);
        uint64_t v;
        if (!r.ReadVarint(&v)) return false;
        if (f == 1) count_kind = 1;
        if (f == 6) zero_kind = 1;
        if (f == 4) schema = static_cast<int32_t>(internal::ZigZagDecode64(static_cast<uint32_t>(v)));
        break;
      }
      case 2:  // count_float
      case 3:  // sum
      case 5:  // zero_threshold
      case 7: {  // zero_count_float
        if (wt != kI64) return r.Fail(kWrong);
        double d;
        if (!r.ReadDouble(&d)) return false;
        if (f == 2) count_kind = 2;
        if (f == 7) zero_kind = 2;
        break;
      }
      case 8:  // negative_spans
      case 11: {  // positive_spans
        if (wt != kLen) return r.Fail(kWrong);
        std::string_view span;
        if (!r.ReadLen(&span)) return false;
        if (!DecodeBucketSpan(span, err, &span_len[f == 11])) return false;
        break;
      }
      case 9:  // negative_deltas
      case 12:  // positive_deltas
        if (!CountVarints(r, wt, err, &deltas[f == 12], kWrong)) return false;
        break;
      case 10:  // negative_counts
      case 13:  // positive_counts
        if (!CountDoubles(r, wt, &counts[f == 13], kWrong)) return false;
        break;
      case 16:  // custom_values
        if (!CountDoubles(r, wt, &custom, kWrong)) return false;
        break;
      default:
        if (!r.Skip(f, wt)) return false;
    }
  }
  const bool is_float = count_kind == 2;
  bool ok = (schema >= -4 && schema <= 8) || schema == -53;
  if (zero_kind != 0 && (zero_kind == 2) != is_float) ok = false;
  for (int side = 0; side < 2; ++side) {
    const uint64_t buckets = is_float ? counts[side] : deltas[side];
    if ((is_float ? deltas[side] : counts[side]) != 0) ok = false;
    if (buckets != span_len[side]) ok = false;
  }
  if (schema == -53 && (span_len[0] != 0 || counts[0] != 0 || deltas[0] != 0)) ok = false;
  *valid = ok;
  return true;
}

// 1.0 Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }.
bool DecodeV1Exemplar(std::string_view msg, WireError* err) {
  WireReader r(msg, err);
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1) {
      if (wt != kLen) return WrongType(r, "Exemplar: wrong wire type for labels");
      std::string_view lm;
      Label l;
      if (!r.ReadLen(&lm) || !DecodeLabel(lm, err, &l)) return false;
    } else if (f == 2) {
      if (wt != kI64) return WrongType(r, "Exemplar: wrong wire type for value");
      double d;
      if (!r.ReadDouble(&d)) return false;
    } else if (f == 3) {
      if (wt != kVarint) return WrongType(r, "Exemplar: wrong wire type for timestamp");
      uint64_t v;
      if (!r.ReadVarint(&v)) return false;
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

// Appends the elements of a repeated uint32 field (packed or not) to *out, truncated to 32 bits
// as protobuf does.
bool ReadUint32s(WireReader& r, uint32_t wt, WireError* err, std::vector<uint32_t>* out,
                 const char* what) {
  if (wt == kVarint) {
    uint64_t v;
    if (!r.ReadVarint(&v)) return false;
    out->push_back(static_cast<uint32_t>(v));
    return true;
  }
  if (wt != kLen) return r.Fail(what);
  std::string_view packed;
  if (!r.ReadLen(&packed)) return false;
  WireReader pr(packed, err);
  while (!pr.done()) {
    uint64_t v;
    if (!pr.ReadVarint(&v)) return false;
    out->push_back(static_cast<uint32_t>(v));
  }
  return true;
}

// 2.0 Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }.
// Sets *series_error for odd or out-of-range refs (nothing else is kept).
bool DecodeV2Exemplar(std::string_view msg, WireError* err, size_t num_symbols,
                      std::vector<uint32_t>* scratch, SeriesError* series_error) {
  WireReader r(msg, err);
  scratch->clear();
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1) {
      if (!ReadUint32s(r, wt, err, scratch, "Exemplar: wrong wire type for labels_refs")) {
        return false;
      }
    } else if (f == 2) {
      if (wt != kI64) return WrongType(r, "Exemplar: wrong wire type for value");
      double d;
      if (!r.ReadDouble(&d)) return false;
    } else if (f == 3) {
      if (wt != kVarint) return WrongType(r, "Exemplar: wrong wire type for timestamp");
      uint64_t v;
      if (!r.ReadVarint(&v)) return false;
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  if (*series_error == SeriesError::kNone) {
    if (scratch->size() % 2 != 0) {
      *series_error = SeriesError::kOddLabelRefs;
    } else {
      for (uint32_t ref : *scratch) {
        if (ref >= num_symbols) {
          *series_error = SeriesError::kSymbolRefOutOfRange;
          break;
        }
      }
    }
  }
  return true;
}

absl::Status WireStatus(const WireError& err, std::string_view msg, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "remote write: malformed ", Av(what), ": ", err.what, " at byte ",
      err.at - msg.data(), " of ", msg.size()));
}

// {a="b", c="d"} from a label span, cut to about `max` bytes.
std::string SeriesString(std::span<const Label> labels, size_t max = 512) {
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (s.size() > max) {
      s += ", ...";
      break;
    }
    if (i > 0) s += ", ";
    if (IsValidLegacyLabelName(labels[i].name)) {
      s += labels[i].name.substr(0, 128);
    } else {
      AppendQuoted(s, labels[i].name.substr(0, 128));
    }
    s += '=';
    AppendQuoted(s, labels[i].value.substr(0, 256));
  }
  s += '}';
  return s;
}

}  // namespace

RemoteWriteDecoder::RemoteWriteDecoder(DecoderOptions options) : options_(std::move(options)) {}

absl::Status RemoteWriteDecoder::DecodeSnappy(RemoteWriteVersion version, std::string_view body) {
  req_.Reset();
  req_.version = version;
  if (absl::Status s = SnappyUncompress(body, options_.max_decompressed_bytes, &body_); !s.ok()) {
    return s;
  }
  return Decode(version, body_);
}

absl::Status RemoteWriteDecoder::Decode(RemoteWriteVersion version, std::string_view message) {
  req_.Reset();
  req_.version = version;
  absl::Status s = version == RemoteWriteVersion::kV2 ? DecodeV2(message) : DecodeV1(message);
  if (!s.ok()) {
    req_.Reset();
    req_.version = version;
  }
  return s;
}

void RemoteWriteDecoder::RecordRejection(const DecodedSeries& s, std::string_view detail) {
  ++req_.num_series_rejected;
  ++req_.series_rejected_by_reason[static_cast<size_t>(s.error)];
  if (req_.first_rejection.empty()) {
    req_.first_rejection = absl::StrCat(Av(SeriesErrorName(s.error)), Av(detail), " in series ",
                                        SeriesString(req_.LabelsOf(s)));
  }
}

void RemoteWriteDecoder::FinishSeries(DecodedSeries* s, bool utf8_checked, bool have_hashes) {
  const LabelLimits& lim = options_.label_limits;
  Label* const first = req_.labels.data() + s->labels_begin;
  Label* const last = first + s->labels_size;
  std::string detail;
  if (s->error != SeriesError::kNone) {
    RecordRejection(*s, detail);
    return;
  }
  // Order check and duplicate detection in one pass; sort when unsorted (senders normally
  // sort, so this is rare, and then the per-label hashes are recomputed).
  bool check_dup = false;
  for (Label* p = first + 1; p < last; ++p) {
    const int c = CompareNames(p->name, (p - 1)->name);
    if (c < 0) {
      std::sort(first, last, [](const Label& a, const Label& b) {
        return a.name != b.name ? a.name < b.name : a.value < b.value;
      });
      have_hashes = false;
      check_dup = true;
      break;
    }
    check_dup |= c == 0;
  }
  SeriesError e = SeriesError::kNone;
  const Label* bad = nullptr;
  for (Label* p = first; p < last; ++p) {
    if (p->name.empty()) {
      e = SeriesError::kEmptyLabelName;
    } else if (check_dup && p > first && p->name == (p - 1)->name) {
      e = SeriesError::kDuplicateLabelName;
    } else if ((lim.max_name_length != 0 && p->name.size() > lim.max_name_length) ||
               (lim.max_value_length != 0 && p->value.size() > lim.max_value_length)) {
      e = SeriesError::kLabelLimit;
      detail = absl::StrCat(" (label name ", p->name.size(), " bytes, value ", p->value.size(),
                            " bytes; limits ", lim.max_name_length, " and ",
                            lim.max_value_length, ")");
    } else if (!utf8_checked && (!Utf8Ok(p->name) || !Utf8Ok(p->value))) {
      e = SeriesError::kInvalidUtf8;
    } else if (lim.legacy_names &&
               (!IsValidLegacyLabelName(p->name) ||
                (p->name == kMetricName && !IsValidLegacyMetricName(p->value)))) {
      e = SeriesError::kInvalidName;
    }
    if (e != SeriesError::kNone) {
      bad = p;
      break;
    }
  }
  if (e == SeriesError::kNone) {
    // Drop empty values (compacting in place) while collecting the per-label hashes.
    key_buf_.resize(2 * static_cast<size_t>(last - first));
    uint64_t* kw = key_buf_.data();
    const uint64_t* hw = label_hashes_.data();
    Label* out = first;
    for (Label* p = first; p < last; ++p, hw += 4) {
      if (p->value.empty()) continue;
      *out++ = *p;
      if (have_hashes) {
        FoldLabel(kw, hw[0], hw[1], hw[2], hw[3]);
      } else {
        const XXH128_hash_t hn = XXH3_128bits(p->name.data(), p->name.size());
        const XXH128_hash_t hv = XXH3_128bits(p->value.data(), p->value.size());
        FoldLabel(kw, hn.low64, hn.high64, hv.low64, hv.high64);
      }
      kw += 2;
    }
    s->labels_size = static_cast<uint32_t>(out - first);
    req_.labels.resize(s->labels_begin + s->labels_size);
    if (s->labels_size == 0) {
      e = SeriesError::kNoLabels;
    } else if (lim.max_label_count != 0 && s->labels_size > lim.max_label_count) {
      e = SeriesError::kLabelLimit;
      detail = absl::StrCat(" (", s->labels_size, " labels, limit ", lim.max_label_count, ")");
    } else if (lim.require_metric_name) {
      bool has_name = false;
      for (const Label* p = first; p < out; ++p) has_name |= p->name == kMetricName;
      if (!has_name) {
        e = SeriesError::kInvalidName;
        detail = " (no __name__ label)";
      }
    }
    if (e == SeriesError::kNone) {
      const XXH128_hash_t h = XXH3_128bits(key_buf_.data(), (kw - key_buf_.data()) * sizeof(uint64_t));
      s->key = SeriesKey{h.low64, h.high64};
      return;
    }
  }
  s->error = e;
  if (bad != nullptr && detail.empty() && req_.first_rejection.empty()) {
    std::string q;
    AppendQuoted(q, bad->name.substr(0, 128));
    detail = absl::StrCat(" ", q);
  }
  RecordRejection(*s, detail);
}

// ---- remote-write 1.0 ------------------------------------------------------------------------

// TimeSeries { labels = 1; samples = 2; exemplars = 3; histograms = 4; }
bool RemoteWriteDecoder::DecodeV1Series(std::string_view msg, WireError* err) {
  WireReader r(msg, err);
  DecodedSeries s;
  s.labels_begin = static_cast<uint32_t>(req_.labels.size());
  s.samples_begin = static_cast<uint32_t>(req_.samples.size());
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f >= 1 && f <= 4) {
      if (wt != kLen) return WrongType(r, "TimeSeries: wrong wire type for a known field");
      std::string_view sub;
      if (!r.ReadLen(&sub)) return false;
      switch (f) {
        case 1: {
          Label l;
          if (!DecodeLabel(sub, err, &l)) return false;
          req_.labels.push_back(l);
          break;
        }
        case 2: {
          Sample smp;
          if (!DecodeSample(sub, err, &smp)) return false;
          req_.samples.push_back(smp);
          break;
        }
        case 3:
          if (!DecodeV1Exemplar(sub, err)) return false;
          ++s.num_exemplars;
          break;
        case 4: {
          bool valid;
          if (!DecodeHistogram(sub, err, &valid)) return false;
          ++s.num_histograms;
          s.num_invalid_histograms += !valid;
          break;
        }
      }
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  s.labels_size = static_cast<uint32_t>(req_.labels.size() - s.labels_begin);
  s.samples_size = static_cast<uint32_t>(req_.samples.size() - s.samples_begin);
  FinishSeries(&s, /*utf8_checked=*/false, /*have_hashes=*/false);
  req_.num_samples += s.samples_size;
  req_.num_histograms += s.num_histograms;
  req_.num_invalid_histograms += s.num_invalid_histograms;
  req_.num_exemplars += s.num_exemplars;
  req_.series.push_back(s);
  return true;
}

// MetricMetadata { type = 1; metric_family_name = 2; help = 4; unit = 5; }
bool RemoteWriteDecoder::DecodeV1Metadata(std::string_view msg, WireError* err) {
  WireReader r(msg, err);
  MetricFamilyMetadata m;
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    if (f == 1) {
      if (wt != kVarint) return WrongType(r, "MetricMetadata: wrong wire type for type");
      uint64_t v;
      if (!r.ReadVarint(&v)) return false;
      m.type = static_cast<RwMetricType>(static_cast<uint32_t>(v));
    } else if (f == 2 || f == 4 || f == 5) {
      if (wt != kLen) return WrongType(r, "MetricMetadata: wrong wire type for a string field");
      if (!r.ReadLen(f == 2 ? &m.family_name : f == 4 ? &m.help : &m.unit)) return false;
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  req_.metadata.push_back(m);
  return true;
}

// WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; metadata = 3; }
absl::Status RemoteWriteDecoder::DecodeV1(std::string_view msg) {
  WireError err;
  WireReader r(msg, &err);
  bool saw_v2_fields = false;
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) break;
    if (f == 1 || f == 3) {
      if (wt != kLen) {
        WrongType(r, "WriteRequest: wrong wire type for a known field");
        break;
      }
      std::string_view sub;
      if (!r.ReadLen(&sub)) break;
      if (!(f == 1 ? DecodeV1Series(sub, &err) : DecodeV1Metadata(sub, &err))) break;
    } else {
      saw_v2_fields |= (f == 4 || f == 5) && wt == kLen;
      if (!r.Skip(f, wt)) break;
    }
  }
  if (err.what != nullptr) return WireStatus(err, msg, "prometheus.WriteRequest");
  if (saw_v2_fields && req_.series.empty() && req_.metadata.empty()) {
    // Without this, a 2.0 body sent with a 1.0 Content-Type would decode as an empty request
    // and be acknowledged while every sample is lost.
    return absl::InvalidArgumentError(
        "remote write: the body has no prometheus.WriteRequest fields but has "
        "io.prometheus.write.v2.Request ones; send it with Content-Type "
        "application/x-protobuf;proto=io.prometheus.write.v2.Request");
  }
  return absl::OkStatus();
}

// ---- remote-write 2.0 ------------------------------------------------------------------------

const RemoteWriteDecoder::SymbolInfo& RemoteWriteDecoder::SymbolSlow(uint32_t ref) {
  SymbolInfo& si = symbol_info_[ref];
  const std::string_view sym = symbols_[ref];
  si.state = Utf8Ok(sym) ? 1 : 2;
  const XXH128_hash_t h = XXH3_128bits(sym.data(), sym.size());
  si.hash_lo = h.low64;
  si.hash_hi = h.high64;
  return si;
}

// TimeSeries { labels_refs = 1; samples = 2; histograms = 3; exemplars = 4; metadata = 5;
//              created_timestamp = 6; }
bool RemoteWriteDecoder::DecodeV2Series(std::string_view msg, WireError* err) {
  WireReader r(msg, err);
  DecodedSeries s;
  s.labels_begin = static_cast<uint32_t>(req_.labels.size());
  s.samples_begin = static_cast<uint32_t>(req_.samples.size());
  refs_.clear();
  uint32_t help_ref = 0, unit_ref = 0;
  std::vector<uint32_t> exemplar_refs;  // rarely used: exemplars are uncommon
  constexpr const char* kWrong = "TimeSeries: wrong wire type for a known field";
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) return false;
    switch (f) {
      case 1:
        if (!ReadUint32s(r, wt, err, &refs_, kWrong)) return false;
        break;
      case 2:
      case 3:
      case 4:
      case 5: {
        if (wt != kLen) return r.Fail(kWrong);
        std::string_view sub;
        if (!r.ReadLen(&sub)) return false;
        if (f == 2) {
          Sample smp;
          if (!DecodeSample(sub, err, &smp)) return false;
          req_.samples.push_back(smp);
        } else if (f == 3) {
          bool valid;
          if (!DecodeHistogram(sub, err, &valid)) return false;
          ++s.num_histograms;
          s.num_invalid_histograms += !valid;
        } else if (f == 4) {
          if (!DecodeV2Exemplar(sub, err, symbols_.size(), &exemplar_refs, &s.error)) return false;
          ++s.num_exemplars;
        } else {
          // Metadata { type = 1; help_ref = 3; unit_ref = 4; }; repeated occurrences merge.
          WireReader mr(sub, err);
          while (!mr.done()) {
            uint32_t mf, mwt;
            if (!mr.ReadTag(&mf, &mwt)) return false;
            if (mf == 1 || mf == 3 || mf == 4) {
              if (mwt != kVarint) return mr.Fail("Metadata: wrong wire type for a known field");
              uint64_t v;
              if (!mr.ReadVarint(&v)) return false;
              const auto v32 = static_cast<uint32_t>(v);
              if (mf == 1) s.type = static_cast<RwMetricType>(v32);
              if (mf == 3) help_ref = v32;
              if (mf == 4) unit_ref = v32;
            } else if (!mr.Skip(mf, mwt)) {
              return false;
            }
          }
        }
        break;
      }
      case 6: {
        if (wt != kVarint) return r.Fail(kWrong);
        uint64_t v;
        if (!r.ReadVarint(&v)) return false;
        s.created_timestamp_ms = static_cast<int64_t>(v);
        break;
      }
      default:
        if (!r.Skip(f, wt)) return false;
    }
  }
  s.samples_size = static_cast<uint32_t>(req_.samples.size() - s.samples_begin);

  // Resolve references. Each symbol's UTF-8 validity and hash are computed once per request.
  const size_t n = symbols_.size();
  bool utf8_ok = true;
  if (s.error == SeriesError::kNone) {
    if (refs_.size() % 2 != 0) {
      s.error = SeriesError::kOddLabelRefs;
    } else if (help_ref >= n || unit_ref >= n) {
      s.error = SeriesError::kSymbolRefOutOfRange;
    } else {
      s.help = symbols_[help_ref];
      s.unit = symbols_[unit_ref];
      label_hashes_.resize(2 * refs_.size());
      uint64_t* hw = label_hashes_.data();
      for (size_t i = 0; i < refs_.size(); i += 2, hw += 4) {
        const uint32_t nr = refs_[i], vr = refs_[i + 1];
        if (nr >= n || vr >= n) {
          s.error = SeriesError::kSymbolRefOutOfRange;
          break;
        }
        const SymbolInfo& ni = Symbol(nr);
        const SymbolInfo& vi = Symbol(vr);
        utf8_ok &= (ni.state & vi.state) == 1;
        hw[0] = ni.hash_lo, hw[1] = ni.hash_hi, hw[2] = vi.hash_lo, hw[3] = vi.hash_hi;
        req_.labels.push_back(Label{symbols_[nr], symbols_[vr]});
      }
    }
  }
  s.labels_size = static_cast<uint32_t>(req_.labels.size() - s.labels_begin);
  if (s.error == SeriesError::kNone && !utf8_ok) s.error = SeriesError::kInvalidUtf8;
  FinishSeries(&s, /*utf8_checked=*/true, /*have_hashes=*/true);
  req_.num_samples += s.samples_size;
  req_.num_histograms += s.num_histograms;
  req_.num_invalid_histograms += s.num_invalid_histograms;
  req_.num_exemplars += s.num_exemplars;
  req_.series.push_back(s);
  return true;
}

// Request { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
// Two passes: fields may come in any order, and series refer to the whole symbols table.
absl::Status RemoteWriteDecoder::DecodeV2(std::string_view msg) {
  WireError err;
  WireReader r(msg, &err);
  symbols_.clear();
  series_msgs_.clear();
  bool saw_v1_fields = false;
  while (!r.done()) {
    uint32_t f, wt;
    if (!r.ReadTag(&f, &wt)) break;
    if (f == 4 || f == 5) {
      if (wt != kLen) {
        WrongType(r, "Request: wrong wire type for a known field");
        break;
      }
      std::string_view sub;
      if (!r.ReadLen(&sub)) break;
      (f == 4 ? symbols_ : series_msgs_).push_back(sub);
    } else {
      saw_v1_fields |= (f == 1 || f == 3) && wt == kLen;
      if (!r.Skip(f, wt)) break;
    }
  }
  if (err.what != nullptr) return WireStatus(err, msg, "io.prometheus.write.v2.Request");
  if (!symbols_.empty() && !symbols_[0].empty()) {
    return absl::InvalidArgumentError(
        "remote write: the symbols table must start with the empty string");
  }
  if (saw_v1_fields && series_msgs_.empty()) {
    return absl::InvalidArgumentError(
        "remote write: the body has no io.prometheus.write.v2.Request fields but has "
        "prometheus.WriteRequest ones; send it with Content-Type application/x-protobuf or "
        "application/x-protobuf;proto=prometheus.WriteRequest");
  }
  symbol_info_.assign(symbols_.size(), SymbolInfo{});
  for (std::string_view ts : series_msgs_) {
    if (!DecodeV2Series(ts, &err)) return WireStatus(err, msg, "io.prometheus.write.v2.Request");
  }
  return absl::OkStatus();
}

}  // namespace pharos::ingest
