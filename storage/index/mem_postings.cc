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

std::vector<SeriesRef> MemPostings::UnionLists(const Lists& lists, size_t total) const {
  if (total == all_.size()) return all_;  // disjoint subsets of all_ covering it
  if (lists.size() == 1) return {lists[0].begin(), lists[0].end()};
  SeriesRef lo = lists[0].front(), hi = lists[0].back();
  for (const auto& l : lists) {
    lo = std::min(lo, l.front());
    hi = std::max(hi, l.back());
  }
  std::vector<SeriesRef> out;
  out.reserve(total);
  if ((hi - lo) / 64 <= total + 1024) {
    // Dense: set bits, then read them back in order.
    std::vector<uint64_t> bits((hi - lo) / 64 + 1, 0);
    for (const auto& l : lists) {
      for (const SeriesRef r : l) bits[(r - lo) / 64] |= uint64_t{1} << ((r - lo) % 64);
    }
    for (size_t w = 0; w < bits.size(); ++w) {
      for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
        out.push_back(lo + w * 64 + static_cast<SeriesRef>(__builtin_ctzll(word)));
      }
    }
    return out;
  }
  for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
  std::sort(out.begin(), out.end());
  return out;
}

PostingsPtr MemPostings::PostingsForMatchers(std::span<const Matcher> matchers) const {
  if (matchers.empty()) return EmptyPostings();

  // Names that every selected series must carry: those with a matcher rejecting "".
  absl::flat_hash_set<std::string_view> must_be_set;
  for (const Matcher& m : matchers) {
    if (!m.MatchesEmpty()) must_be_set.insert(m.name());
  }

  // Each matcher becomes a step: keep the candidates found in its lists (intersect), or drop
  // them (subtract). Semantics as Prometheus's tsdb PostingsForMatchers.
  struct Step {
    Lists lists;
    size_t total = 0;
    bool subtract = false;
  };
  std::vector<Step> steps;
  steps.reserve(matchers.size());
  bool has_intersecting = false;

  absl::ReaderMutexLock lock(&mu_);
  for (const Matcher& m : matchers) {
    Step step;
    if (!must_be_set.contains(m.name())) {
      // m matches "" (l="", l!="x", l=~"x|", l=~".*"), so series lacking l match too:
      // subtract the series whose value for l fails m.
      if (m.MatchesAll()) continue;  // =~".*": nothing fails it
      step.lists = ListsMatching(m.Inverse());
      step.subtract = true;
    } else if (m.IsNegative() && m.MatchesEmpty()) {
      // l!="x" with l required by another matcher: subtract the series where l is x.
      step.lists = ListsMatching(m.Inverse());
      step.subtract = true;
    } else {
      // l="x", l=~"x.+", l!="", l!~"": the series whose value matches.
      has_intersecting = true;
      step.lists = ListsMatching(m);
      if (step.lists.empty()) return EmptyPostings();
    }
    if (step.subtract && step.lists.empty()) continue;
    for (const auto& l : step.lists) step.total += l.size();
    steps.push_back(std::move(step));
  }

  // Cheapest intersection first; it seeds the candidates, every other step filters them.
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
    if (a.subtract != b.subtract) return !a.subtract;
    return a.total < b.total;
  });
  std::vector<SeriesRef> cand;
  size_t first = 0;
  if (has_intersecting) {
    cand = UnionLists(steps[0].lists, steps[0].total);
    first = 1;
  } else {
    cand = all_;  // only subtractions: start from every series
  }

  std::vector<uint64_t> bits;
  std::vector<uint8_t> hit;
  for (size_t i = first; i < steps.size() && !cand.empty(); ++i) {
    // The lists of one name are disjoint subsets of all_, so covering all_.size() refs means
    // covering every series (e.g. __name__=~".+"): intersecting with it changes nothing.
    if (!steps[i].subtract && steps[i].total == all_.size()) continue;
    const uint8_t keep = steps[i].subtract ? 0 : 1;
    size_t out = 0;
    const SeriesRef lo = cand.front(), range = cand.back() - cand.front() + 1;
    if (range / 64 <= cand.size() + 1024) {
      // Dense refs: mark list members in a bitmap over the candidates' range. No searching.
      bits.assign(range / 64 + 1, 0);
      for (const auto& list : steps[i].lists) MarkBits(cand, list, bits);
      for (const SeriesRef c : cand) {
        const SeriesRef b = c - lo;
        if (((bits[b / 64] >> (b % 64)) & 1) == keep) cand[out++] = c;
      }
    } else {
      hit.assign(cand.size(), 0);
      for (const auto& list : steps[i].lists) MarkPresent(cand, list, hit);
      for (size_t k = 0; k < cand.size(); ++k) {
        if (hit[k] == keep) cand[out++] = cand[k];
      }
    }
    cand.resize(out);
  }
  return NewOwningListPostings(std::move(cand));
}

void MemPostings::MarkBits(std::span<const SeriesRef> cand, std::span<const SeriesRef> list,
                           std::vector<uint64_t>& bits) {
  if (list.empty()) return;
  const SeriesRef lo = cand.front(), hi = cand.back();
  auto set = [&](SeriesRef r) { bits[(r - lo) / 64] |= uint64_t{1} << ((r - lo) % 64); };
  if (list.size() > cand.size() * 8) {
    // Long list: gallop through it once per candidate.
    auto p = NewListPostings(list);
    for (const SeriesRef c : cand) {
      if (!p->Seek(c)) return;
      if (p->At() == c) set(c);
    }
    return;
  }
  for (auto it = std::lower_bound(list.begin(), list.end(), lo); it != list.end() && *it <= hi;
       ++it) {
    set(*it);
  }
}

void MemPostings::MarkPresent(std::span<const SeriesRef> cand, std::span<const SeriesRef> list,
                              std::vector<uint8_t>& hit) {
  if (list.empty() || cand.empty()) return;
  if (list.size() * 16 < cand.size()) {
    // Short list: binary search each of its refs among the candidates.
    for (SeriesRef r : list) {
      auto it = std::lower_bound(cand.begin(), cand.end(), r);
      if (it != cand.end() && *it == r) hit[static_cast<size_t>(it - cand.begin())] = 1;
    }
    return;
  }
  // Otherwise seek through the list for each candidate (galloping via ListPostings::Seek).
  auto p = NewListPostings(list);
  for (size_t k = 0; k < cand.size(); ++k) {
    if (!p->Seek(cand[k])) return;
    if (p->At() == cand[k]) hit[k] = 1;
  }
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
