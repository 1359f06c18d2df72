#pragma once

// In-memory inverted index for the head: label name -> label value -> sorted series refs.
//
// Locking: one reader/writer absl::Mutex. Add/Delete take it exclusively once per call (label
// strings are interned beforehand, outside it, in the sharded SymbolTable); lookups and
// PostingsForMatchers share it and read the lists in place, copying only the result out.
//
// PostingsForMatchers orders the matchers by exact cardinality (sum of the matched lists'
// lengths), seeds the candidates from the cheapest intersecting one and filters them through
// the others (binary search or galloping, whichever is cheaper per list), so a selective
// matcher bounds the work even when another matcher spans thousands of values. New-series creation is rare next to sample appends (which
// never touch this index), so one RW lock is simpler than striping and keeps queries consistent.
//
// Memory: each label of a series costs one 8-byte ref in one postings vector (plus vector
// growth slack), and each series one more ref in the all-series list; each distinct value
// costs its interned bytes once plus a btree slot (~40 bytes) and a vector header.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "storage/index/postings.h"
#include "storage/labels/labels.h"
#include "storage/labels/matcher.h"
#include "storage/labels/symbol_table.h"

namespace pharos::storage {

struct IndexStatEntry {
  std::string name;  // a label name, a metric name, or "name=value"
  uint64_t value = 0;
};

// Cardinality figures for /api/v1/status/tsdb; each list is sorted by value, descending.
struct IndexStats {
  uint64_t num_series = 0;
  uint64_t num_label_names = 0;
  uint64_t num_label_pairs = 0;
  std::vector<IndexStatEntry> series_count_by_metric_name;
  std::vector<IndexStatEntry> label_value_count_by_label_name;
  std::vector<IndexStatEntry> memory_in_bytes_by_label_name;  // sum of its distinct values' lengths
  std::vector<IndexStatEntry> series_count_by_label_value_pair;
};

class MemPostings {
 public:
  MemPostings() = default;
  MemPostings(const MemPostings&) = delete;
  MemPostings& operator=(const MemPostings&) = delete;

  // Indexes series `ref`. Adding the same (ref, labels) twice is a no-op. Refs are expected to
  // grow (appends are O(1) then); smaller refs are inserted in order.
  void Add(SeriesRef ref, const Labels& labels);
  // Removes one series; only the lists of its labels are touched.
  void Delete(SeriesRef ref, const Labels& labels);
  // Removes many series by scanning every list (use when labels are not at hand).
  void Delete(const absl::flat_hash_set<SeriesRef>& refs);

  // Snapshots (copies) of one list / of all series.
  PostingsPtr Get(std::string_view name, std::string_view value) const;
  PostingsPtr All() const;

  // Sorted. The views stay valid for the lifetime of this index.
  std::vector<std::string_view> LabelNames() const;
  std::vector<std::string_view> LabelValues(std::string_view name) const;

  // Series matching all matchers, with Prometheus semantics: a matcher that matches "" also
  // selects series without the label; negative matchers are subtracted; no matchers -> empty.
  PostingsPtr PostingsForMatchers(std::span<const Matcher> matchers) const;

  size_t NumSeries() const;
  // Top `limit` entries of each list.
  IndexStats Stats(size_t limit = 10) const;
  // Approximate heap bytes of the index (lists, maps and interned strings).
  size_t MemoryBytes() const;

 private:
  using List = std::vector<SeriesRef>;
  using ValueMap = absl::btree_map<std::string_view, List>;
  using Lists = std::vector<std::span<const SeriesRef>>;

  // The lists of `m.name()`'s values matched by m; requires mu_ (shared).
  Lists ListsMatching(const Matcher& m) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Sorted union of one name's (disjoint, non-empty) lists holding `total` refs; requires mu_.
  std::vector<SeriesRef> UnionLists(const Lists& lists, size_t total) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Sets the bit (r - cand.front()) for each list ref r within the candidates' range.
  static void MarkBits(std::span<const SeriesRef> cand, std::span<const SeriesRef> list,
                       std::vector<uint64_t>& bits);
  // Sets hit[k] for each cand[k] present in list (both sorted).
  static void MarkPresent(std::span<const SeriesRef> cand, std::span<const SeriesRef> list,
                          std::vector<uint8_t>& hit);

  SymbolTable symbols_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string_view, ValueMap> index_ ABSL_GUARDED_BY(mu_);
  List all_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pharos::storage
