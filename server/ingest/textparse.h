#pragma once

// Pull parsers for the Prometheus text format (0.0.4, and 1.0.0's quoted UTF-8 names) and
// OpenMetrics 1.0.0, modelled on Prometheus's model/textparse.Parser.
//
//   TextParser p(body, ExpositionFormat::kOpenMetrics);
//   while (true) {
//     absl::StatusOr<EntryType> e = p.Next();
//     if (!e.ok()) return e.status();          // "line 12: expected label value, got ..."
//     if (*e == EntryType::kEof) break;
//     if (*e != EntryType::kSeries) continue;  // or read p.MetaName() / p.Help() / p.Type()
//     Labels ls(p.Labels());                   // copies; p.Series() is a cheap cache key
//     app.Append(ls, p.TimestampMs().value_or(now), p.Value());
//   }
//
// All string_views point into the body, or into the parser's scratch buffer where unescaping
// or normalisation was needed; they stay valid until the next call to Next(). In the common
// case (no escapes) parsing a sample allocates nothing: the parser reuses its vectors.
//
// Dialects. Text format: whitespace (spaces, tabs) is allowed between tokens, blank lines and
// free comments are allowed, a trailing CR is stripped, the data must end with a newline.
// OpenMetrics: single spaces only, no blank lines or free comments, CR is an error, timestamps
// are seconds (converted to milliseconds, truncated), exemplars, `# UNIT`, and the body must end
// with `# EOF`. Both: `le` (histograms) and `quantile` (summaries) label values must be numbers
// and are normalised as Prometheus 3 does (`1` -> `1.0`); a second HELP/TYPE/UNIT line for the
// same family, or a TYPE line after the family's samples, is an error.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/labels/labels.h"

namespace pharos::ingest {

enum class ExpositionFormat {
  kPrometheusText,  // text/plain; version=0.0.4 (and 1.0.0)
  kOpenMetrics,     // application/openmetrics-text; version=1.0.0 (and 0.0.1)
};

enum class EntryType { kSeries, kHelp, kType, kUnit, kComment, kEof };

enum class MetricType {
  kUnknown,  // no TYPE line for the family, or OpenMetrics "unknown"
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateset,
  kUntyped,  // text format "untyped"
};

// "counter", "gauge", ... ("unknown" for kUnknown, "untyped" for kUntyped).
std::string_view MetricTypeName(MetricType t);

struct Exemplar {
  std::span<const Label> labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

class TextParser {
 public:
  // `body` must outlive the parser.
  TextParser(std::string_view body, ExpositionFormat format);

  TextParser(const TextParser&) = delete;
  TextParser& operator=(const TextParser&) = delete;

  // The next entry; kEof at the end (and on every call after it). After an error the parser
  // stays failed and returns the same error.
  [[nodiscard]] absl::StatusOr<EntryType> Next();

  // --- kSeries ---
  // The series as written (metric name and label set, without value): a cache key.
  std::string_view Series() const { return series_; }
  std::string_view MetricName() const { return labels_.empty() ? std::string_view() : labels_[0].value; }
  // {__name__, name} first, then the labels in the order written (not sorted, not checked for
  // duplicates or UTF-8 validity: run ValidateLabels on the built Labels).
  std::span<const Label> Labels() const { return labels_; }
  double Value() const { return value_; }
  std::optional<int64_t> TimestampMs() const { return timestamp_ms_; }
  // The exemplar on this sample (OpenMetrics), or nullptr.
  const Exemplar* GetExemplar() const { return has_exemplar_ ? &exemplar_ : nullptr; }
  // OpenMetrics: this sample is `<family>_created` of a counter, histogram, gauge histogram or
  // summary; Value() is the creation time in seconds. The scraper uses it as the created
  // timestamp of the family's other series rather than storing it.
  bool IsCreated() const { return is_created_; }
  // The created timestamp in milliseconds when IsCreated().
  std::optional<int64_t> CreatedTimestampMs() const;

  // --- kSeries, kType: the family type (for kSeries: from the TYPE line of the family the
  // series belongs to by name and suffix; kUnknown when none) ---
  MetricType Type() const { return type_; }

  // --- kHelp, kType, kUnit: the family name ---
  std::string_view MetaName() const { return meta_name_; }
  // --- kHelp: unescaped help text ---
  std::string_view Help() const { return text_; }
  // --- kUnit ---
  std::string_view Unit() const { return text_; }
  // --- kComment: the text after '#' (text format only) ---
  std::string_view Comment() const { return text_; }

  // 1-based line number of the entry last returned.
  int line() const { return line_no_; }
  ExpositionFormat format() const { return format_; }

 private:
  // A string produced while parsing a line: either a view into the body or a range of
  // scratch_ (which may reallocate while the line is parsed, so views are resolved at the end).
  struct Piece {
    const char* data = nullptr;  // nullptr: scratch_[offset, offset + size)
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct PendingLabel {
    Piece name;
    Piece value;
  };

  absl::Status ParseLine(const char* p, const char* e, EntryType* out);
  absl::Status ParseMeta(const char* p, const char* e, EntryType* out);
  absl::Status ParseSeries(const char* p, const char* e);
  // Parses `{...}` starting at *p (which is '{'); appends to `out`. With `name` (series label
  // sets), a __name__ label sets *name, and so does a quoted name standing alone if
  // `allow_name`; setting it twice is an error. Exemplars pass name == nullptr.
  absl::Status ParseLabelSet(const char** p, const char* e, std::vector<PendingLabel>* out,
                             Piece* name, bool allow_name);
  absl::Status ParseQuoted(const char** p, const char* e, Piece* out, std::string_view what);
  absl::Status NormalizeFloatLabels();
  void ResolveLabels(const std::vector<PendingLabel>& in, std::vector<Label>* out) const;
  std::string_view View(const Piece& piece) const {
    return piece.data ? std::string_view(piece.data, piece.size)
                      : std::string_view(scratch_).substr(piece.offset, piece.size);
  }
  MetricType SeriesType(std::string_view name, bool* is_created) const;

  absl::Status Error(std::string_view expected, const char* p, const char* e) const;
  absl::Status ErrorMsg(std::string_view msg) const;

  const std::string_view body_;
  const ExpositionFormat format_;
  size_t pos_ = 0;
  int line_no_ = 0;
  bool done_ = false;
  absl::Status error_;

  // Current entry.
  std::string_view series_;
  std::vector<PendingLabel> pending_;
  std::vector<PendingLabel> pending_exemplar_;
  std::vector<Label> labels_;
  std::vector<Label> exemplar_labels_;
  double value_ = 0;
  std::optional<int64_t> timestamp_ms_;
  bool has_exemplar_ = false;
  Exemplar exemplar_;
  bool is_created_ = false;
  MetricType type_ = MetricType::kUnknown;
  std::string_view meta_name_;
  std::string_view text_;
  std::string scratch_;

  // Current family (the last HELP/TYPE/UNIT name, or the name of a series outside it).
  std::string family_;
  MetricType family_type_ = MetricType::kUnknown;
  bool family_has_help_ = false;
  bool family_has_type_ = false;
  bool family_has_unit_ = false;
  bool family_has_samples_ = false;
};

}  // namespace pharos::ingest
