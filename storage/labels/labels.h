#pragma once

// Label sets: the identity of a series.
//
// `Labels` is an immutable, name-sorted set of (name, value) pairs held in one reference-counted
// heap block (8-byte header + 8 bytes of offsets per label + the string bytes), so copying is
// one atomic increment and a set costs `8 + 8 * n + sum(len(name) + len(value))` bytes plus
// the allocator's overhead. Iteration yields Label by value: `for (const Label& l : labels)`.
// `Label` is a pair of string_views into that block (or into caller storage while building).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace pharos {

// Name of the label holding the metric name.
inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string_view name;
  std::string_view value;

  friend bool operator==(const Label&, const Label&) = default;
};

class Labels {
 public:
  class Iterator;

  // The empty label set (no allocation).
  Labels() = default;
  // Copies the strings. Input may be unsorted; labels with empty values are dropped (an empty
  // value means "label absent"). Duplicate names are kept so that ValidateLabels can report them.
  Labels(std::initializer_list<Label> labels);
  explicit Labels(std::span<const Label> labels);
  // FromStrings({"__name__", "up", "job", "x"}): alternating names and values (test helper).
  static Labels FromStrings(std::initializer_list<std::string_view> name_values);

  Labels(const Labels& other) noexcept;
  Labels(Labels&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  Labels& operator=(const Labels& other) noexcept;
  Labels& operator=(Labels&& other) noexcept;
  ~Labels();

  size_t size() const;
  bool empty() const { return size() == 0; }
  Label operator[](size_t i) const;
  Iterator begin() const;
  Iterator end() const;

  // Value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricName); }

  // XXH64 (seed 0) of name 0xff value 0xff ... — byte-for-byte Prometheus's labels.Hash, so the
  // value is stable across processes, versions and implementations (hashmod relabelling, sharding).
  uint64_t Hash() const;
  // Hash over only the listed names / over all but the listed names (`by` / `without`);
  // `names` must be sorted. Same byte layout as Hash().
  uint64_t HashForLabels(std::span<const std::string_view> names) const;
  uint64_t HashWithoutLabels(std::span<const std::string_view> names) const;

  // Prometheus Labels.String(): {__name__="up", job="x"}; names that are not legacy-valid are
  // quoted; values are Go-quoted (strconv.Quote).
  std::string String() const;
  // PromQL / model.Metric form: up{job="x"}, `up` alone, `{}` when empty; a name that is not a
  // legacy metric name is written as the first quoted item: {"my.metric", job="x"}.
  std::string MetricString() const;

  // Heap bytes owned by this set (shared between copies).
  size_t ByteSize() const;

  friend bool operator==(const Labels& a, const Labels& b);
  // Prometheus labels.Compare: pairwise by name then value, then shorter first.
  friend int Compare(const Labels& a, const Labels& b);
  friend bool operator<(const Labels& a, const Labels& b) { return Compare(a, b) < 0; }

  template <typename H>
  friend H AbslHashValue(H h, const Labels& l) {
    return H::combine(std::move(h), l.Hash());
  }

 private:
  struct Rep;
  explicit Labels(Rep* rep) : rep_(rep) {}
  static Rep* Build(std::vector<Label>& sorted_nonempty);
  void Unref() noexcept;
  friend class LabelsBuilder;

  Rep* rep_ = nullptr;
};

class Labels::Iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Label;
  using difference_type = std::ptrdiff_t;
  using reference = Label;
  using pointer = void;

  Iterator() = default;
  Label operator*() const { return (*labels_)[i_]; }
  Iterator& operator++() {
    ++i_;
    return *this;
  }
  Iterator operator++(int) {
    Iterator t = *this;
    ++i_;
    return t;
  }
  friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }

 private:
  friend class Labels;
  Iterator(const Labels* l, size_t i) : labels_(l), i_(i) {}
  const Labels* labels_ = nullptr;
  size_t i_ = 0;
};

// Edits a label set. Set with an empty value deletes. Labels() returns the result; the builder
// can be reused after Reset().
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const ::pharos::Labels& base) { Reset(base); }

  void Reset(const ::pharos::Labels& base);
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  // Keeps only the listed names.
  LabelsBuilder& Keep(std::span<const std::string_view> names);
  LabelsBuilder& Keep(std::initializer_list<std::string_view> names) {
    return Keep(std::span<const std::string_view>(names.begin(), names.size()));
  }
  std::string_view Get(std::string_view name) const;

  ::pharos::Labels Labels() const;

 private:
  // Owned copies; sorted by name, unique.
  std::vector<std::pair<std::string, std::string>> labels_;
};

// Limits applied at ingestion. 0 means unlimited.
struct LabelLimits {
  // Maximum number of labels per series (including __name__). Default: 64.
  size_t max_label_count = 64;
  // Maximum label name length in bytes. Default: 256.
  size_t max_name_length = 256;
  // Maximum label value length in bytes. Default: 4096.
  size_t max_value_length = 4096;
  // Legacy (pre-3.0) names: label names [a-zA-Z_][a-zA-Z0-9_]*, metric names additionally ':'.
  // Default: false (Prometheus 3.x: any valid UTF-8 name).
  bool legacy_names = false;
  // Reject series without a __name__. Default: false.
  bool require_metric_name = false;
};

// Checks UTF-8 validity, empty and duplicate names, legacy name syntax (if enabled) and limits.
// The error message names the offending label and the reason.
[[nodiscard]] absl::Status ValidateLabels(const Labels& labels, const LabelLimits& limits = {});

bool IsValidLegacyLabelName(std::string_view name);
bool IsValidLegacyMetricName(std::string_view name);
bool IsValidUtf8(std::string_view s);

// Appends s quoted as Go's strconv.Quote does (ASCII escapes, \xNN for invalid bytes).
void AppendQuoted(std::string& out, std::string_view s);

}  // namespace pharos
