#include "storage/index/mem_postings.h"

#include <algorithm>
#include <utility>


namespace pharos::storage {
namespace {

// Inserts ref keeping the list sorted and unique; O(1) for the usual growing refs.
void InsertRef(std::vector<SeriesRef>& list, SeriesRef ref) {
  if (list.empty() || list.back() < ref) {
    list.push_back(ref);
    return;
  }
  auto it = std::lower_bound(list.begin(), list.end(), ref);
  if (it == list.end() || *it != ref) list.insert(it, ref);
}

bool EraseRef(std::vector<SeriesRef>& list, SeriesRef ref) {
  auto it = std::lower_bound(list.begin(), list.end(), ref);
  if (it == list.end() || *it != ref) return false;
  list.erase(it);
  return true;
}

// Above this many lists a union is cheaper as concatenate + sort than as a heap merge.
constexpr size_t kSortMergeThreshold = 32;

void TopN(std::vector<IndexStatEntry>& v, size_t limit) {
  auto by_value = [](const IndexStatEntry& a, const IndexStatEntry& b) {
    return a.value != b.value ? a.value > b.value : a.name < b.name;
  };
  if (v.size() > limit) {
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(limit), v.end(),
                      by_value);
    v.resize(limit);
  } else {
    std::sort(v.begin(), v.end(), by_value);
  }
}

}  // namespace

void MemPostings::Add(SeriesRef ref, const Labels& labels) {
  std::vector<Label> interned;
  interned.reserve(labels.size());
  for (Label l : labels) {
    interned.push_back(Label{symbols_.Intern(l.name), symbols_.Intern(l.value)});
  }
  absl::MutexLock lock(&mu_);
  for (const Label& l : interned) InsertRef(index_[l.name][l.value], ref);
  InsertRef(all_, ref);
}

void MemPostings::Delete(SeriesRef ref, const Labels& labels) {
  absl::MutexLock lock(&mu_);
  for (Label l : labels) {
    auto name_it = index_.find(l.name);
    if (name_it == index_.end()) continue;
    auto value_it = name_it->second.find(l.value);
    if (value_it == name_it->second.end()) continue;
    EraseRef(value_it->second, ref);
    if (value_it->second.empty()) {
      name_it->second.erase(value_it);
      if (name_it->second.empty()) index_.erase(name_it);
    }
  }
  EraseRef(all_, ref);
}

void MemPostings::Delete(const absl::flat_hash_set<SeriesRef>& refs) {
  if (refs.empty()) return;
  absl::MutexLock lock(&mu_);
  auto drop = [&](SeriesRef r) { return refs.contains(r); };
  for (auto name_it = index_.begin(); name_it != index_.end();) {
    ValueMap& values = name_it->second;
    for (auto value_it = values.begin(); value_it != values.end();) {
      std::erase_if(value_it->second, drop);
      value_it = value_it->second.empty() ? values.erase(value_it) : std::next(value_it);
    }
    if (values.empty()) {
      index_.erase(name_it++);
    } else {
      ++name_it;
    }
  }
  std::erase_if(all_, drop);
}

PostingsPtr MemPostings::Get(std::string_view name, std::string_view value) const {
  absl::ReaderMutexLock lock(&mu_);
  auto name_it = index_.find(name);
  if (name_it == index_.end()) return EmptyPostings();
  auto value_it = name_it->second.find(value);
  if (value_it == name_it->second.end()) return EmptyPostings();
  return NewOwningListPostings(value_it->second);
}

PostingsPtr MemPostings::All() const {
  absl::ReaderMutexLock lock(&mu_);
  return NewOwningListPostings(all_);
}

std::vector<std::string_view> MemPostings::LabelNames() const {
  std::vector<std::string_view> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    out.reserve(index_.size());
    for (const auto& [name, values] : index_) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string_view> MemPostings::LabelValues(std::string_view name) const {
  std::vector<std::string_view> out;
  absl::ReaderMutexLock lock(&mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [value, list] : it->second) out.push_back(value);
  return out;
}

size_t MemPostings::NumSeries() const {
  absl::ReaderMutexLock lock(&mu_);
  return all_.size();
}

MemPostings::Lists MemPostings::ListsMatching(const Matcher& m) const {
  Lists out;
  auto name_it = index_.find(m.name());
  if (name_it == index_.end()) return out;
  const ValueMap& values = name_it->second;

  if (auto set = m.SetMatches()) {  // = and =~"a|b|c": direct lookups
    for (const std::string& v : *set) {
      if (auto it = values.find(v); it != values.end()) out.emplace_back(it->second);
    }
    return out;
  }
  if (m.type() == MatchType::kNotEqual) {  // every value but one
    for (const auto& [v, list] : values) {
      if (v != m.value()) out.emplace_back(list);
    }
    return out;
  }
  if (m.MatchesAll() || m.MatchesAllNonEmpty()) {  // stored values are never empty
    for (const auto& [v, list] : values) out.emplace_back(list);
    return out;
  }
  if (const std::string_view prefix = m.Prefix(); !prefix.empty()) {
    // Only the sorted range of values starting with the prefix can match.
    const bool exact = m.PrefixIsExact();
    for (auto it = values.lower_bound(prefix);
         it != values.end() && it->first.starts_with(prefix); ++it) {
      if (exact || m.Matches(it->first)) out.emplace_back(it->second);
    }
    return out;
  }
  for (const auto& [v, list] : values) {
    if (m.Matches(v)) out.emplace_back(list);
  }
  return out;
}

PostingsPtr MemPostings::MergeLists(const Lists& lists) {
  if (lists.empty()) return EmptyPostings();
  if (lists.size() == 1) return NewListPostings(lists.front());
  if (lists.size() >= kSortMergeThreshold) {
    // Lists of one label name are disjoint (a series has one value per name): no dedupe.
    size_t total = 0;
    for (const auto& l : lists) total += l.size();
    std::vector<SeriesRef> out;
    out.reserve(total);
    for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
    std::sort(out.begin(), out.end());
    return NewOwningListPostings(std::move(out));
  }
  std::vector<PostingsPtr> its;
  its.reserve(lists.size());
  for (const auto& l : lists) its.push_back(NewListPostings(l));
  return Merge(std::move(its));
}

PostingsPtr MemPostings::PostingsForMatchers(std::span<const Matcher> matchers) const {
  if (matchers.empty()) return EmptyPostings();

  // Names that every selected series must carry: those with a matcher rejecting "".
  absl::flat_hash_set<std::string_view> must_be_set;
  for (const Matcher& m : matchers) {
    if (!m.MatchesEmpty()) must_be_set.insert(m.name());
  }
  bool has_subtracting = false, has_intersecting = false;
  for (const Matcher& m : matchers) {
    const bool subtracting =
        !must_be_set.contains(m.name()) || (m.IsNegative() && m.MatchesEmpty());
    (subtracting ? has_subtracting : has_intersecting) = true;
  }

  absl::ReaderMutexLock lock(&mu_);
  std::vector<PostingsPtr> its;
  std::vector<PostingsPtr> not_its;
  // Only subtractions: start from every series.
  if (has_subtracting && !has_intersecting) its.push_back(NewListPostings(all_));

  for (const Matcher& m : matchers) {
    if (m.MatchesAll()) continue;  // =~".*" selects everything
    if (must_be_set.contains(m.name())) {
      if (m.IsNegative() && m.MatchesEmpty()) {
        // l!="x", l!~"x.*" with l set elsewhere: subtract the series where l matches x.
        Lists lists = ListsMatching(m.Inverse());
        if (!lists.empty()) not_its.push_back(MergeLists(lists));
      } else {
        // l="x", l=~"x.+", l!="", l!~"": the series whose value matches.
        Lists lists = ListsMatching(m);
        if (lists.empty()) return EmptyPostings();
        its.push_back(MergeLists(lists));
      }
    } else {
      // m matches "" (e.g. l="", l!="x", l=~"x|"), so series lacking l match too: subtract
      // the series whose value for l fails m.
      Lists lists = ListsMatching(m.Inverse());
      if (!lists.empty()) not_its.push_back(MergeLists(lists));
    }
  }

  PostingsPtr result = Intersect(std::move(its));
  if (!not_its.empty()) result = Without(std::move(result), Merge(std::move(not_its)));
  auto refs = ExpandPostings(*result);
  if (!refs.ok()) return ErrPostings(refs.status());
  return NewOwningListPostings(*std::move(refs));
}

IndexStats MemPostings::Stats(size_t limit) const {
  IndexStats stats;
  absl::ReaderMutexLock lock(&mu_);
  stats.num_series = all_.size();
  stats.num_label_names = index_.size();
  for (const auto& [name, values] : index_) {
    stats.num_label_pairs += values.size();
    uint64_t bytes = 0;
    for (const auto& [value, list] : values) {
      bytes += value.size();
      std::string pair;
      pair.reserve(name.size() + 1 + value.size());
      pair.append(name).append("=").append(value);
      stats.series_count_by_label_value_pair.push_back({std::move(pair), list.size()});
      if (name == kMetricName) {
        stats.series_count_by_metric_name.push_back({std::string(value), list.size()});
      }
    }
    stats.label_value_count_by_label_name.push_back({std::string(name), values.size()});
    stats.memory_in_bytes_by_label_name.push_back({std::string(name), bytes});
  }
  TopN(stats.series_count_by_metric_name, limit);
  TopN(stats.label_value_count_by_label_name, limit);
  TopN(stats.memory_in_bytes_by_label_name, limit);
  TopN(stats.series_count_by_label_value_pair, limit);
  return stats;
}

size_t MemPostings::MemoryBytes() const {
  // btree_map nodes hold ~ (key + value) per slot at a fill of roughly 3/4.
  constexpr size_t kSlot = sizeof(std::string_view) + sizeof(List);
  size_t bytes = symbols_.MemoryBytes();
  absl::ReaderMutexLock lock(&mu_);
  bytes += all_.capacity() * sizeof(SeriesRef);
  bytes += index_.capacity() * (sizeof(std::string_view) + sizeof(ValueMap) + 1);
  for (const auto& [name, values] : index_) {
    bytes += values.size() * kSlot * 4 / 3;
    for (const auto& [value, list] : values) bytes += list.capacity() * sizeof(SeriesRef);
  }
  return bytes;
}

}  // namespace pharos::storage
