#include "server/ingest/remote_write_append.h"

#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace pharos::ingest {

SeriesRefCache::SeriesRefCache(size_t max_entries) : max_entries_(max_entries == 0 ? 1 : max_entries) {}

storage::SeriesRef SeriesRefCache::Get(const SeriesKey& key) {
  if (auto it = current_.find(key); it != current_.end()) return it->second;
  if (auto it = previous_.find(key); it != previous_.end()) {
    const storage::SeriesRef ref = it->second;
    previous_.erase(it);
    Put(key, ref);
    return ref;
  }
  return 0;
}

void SeriesRefCache::Put(const SeriesKey& key, storage::SeriesRef ref) {
  if (current_.size() >= max_entries_ && !current_.contains(key)) {
    // Rotate generations; swap keeps the old table's capacity for reuse.
    std::swap(previous_, current_);
    current_.clear();
  }
  current_[key] = ref;
}

void SeriesRefCache::Erase(const SeriesKey& key) {
  current_.erase(key);
  previous_.erase(key);
}

void SeriesRefCache::Clear() {
  current_.clear();
  previous_.clear();
}

std::string_view StorageRejectReasonText(storage::RejectReason r) {
  switch (r) {
    case storage::RejectReason::kNone:
      return "accepted";
    case storage::RejectReason::kInvalidLabels:
      return "invalid labels";
    case storage::RejectReason::kOutOfRetention:
      return "out of retention";
    case storage::RejectReason::kTooFarInFuture:
      return "too far in the future";
    case storage::RejectReason::kSeriesLimit:
      return "series limit reached";
  }
  return "rejected by storage";
}

AppendStats AppendDecoded(const DecodedRequest& req, storage::Appender& app,
                          SeriesRefCache* cache) {
  AppendStats st;
  st.series = req.series.size();
  st.series_rejected = req.num_series_rejected;
  st.histograms_received = req.num_histograms;
  st.histograms_invalid = req.num_invalid_histograms;
  st.histograms_unsupported = req.num_histograms - req.num_invalid_histograms;
  st.exemplars_received = req.num_exemplars;
  st.exemplars_not_stored = req.num_exemplars;

  const Labels no_labels;  // passed with a known ref (not looked at); no allocation
  for (const DecodedSeries& s : req.series) {
    if (!s.ok()) {
      st.samples_rejected_by_series_error[static_cast<size_t>(s.error)] += s.samples_size;
      st.samples_rejected += s.samples_size;
      continue;
    }
    if (s.samples_size == 0) continue;
    storage::SeriesRef ref = 0;
    if (cache != nullptr) {
      ref = cache->Get(s.key);
      ++(ref != 0 ? st.cache_hits : st.cache_misses);
    }
    Labels labels;  // built only when the ref is not known
    for (const Sample& smp : req.SamplesOf(s)) {
      if (ref == 0 && labels.empty()) labels = Labels(req.LabelsOf(s));
      const storage::AppendResult res = app.Append(ref, ref != 0 ? no_labels : labels, smp.t_ms, smp.v);
      if (res.ok()) {
        ++st.samples_written;
      } else {
        ++st.samples_rejected;
        const auto i = static_cast<size_t>(res.reject);
        ++st.samples_rejected_by_storage[i < kNumStorageRejectReasons ? i : 0];
      }
      if (res.ref != 0 && res.ref != ref) {
        ref = res.ref;
        if (cache != nullptr) cache->Put(s.key, ref);
      }
    }
  }
  return st;
}

std::string AppendStats::Message(const DecodedRequest& decoded) const {
  std::string out;
  auto sep = [&out] {
    if (!out.empty()) out += "; ";
  };
  if (samples_rejected != 0 || series_rejected != 0) {
    const uint64_t total = samples_written + samples_rejected;
    absl::StrAppend(&out, samples_rejected, " of ", total, " samples rejected");
    const char* lead = ": ";
    for (size_t i = 1; i < kNumSeriesErrors; ++i) {
      const uint64_t series_n = decoded.series_rejected_by_reason[i];
      if (series_n == 0) continue;
      absl::StrAppend(&out, lead, samples_rejected_by_series_error[i], " in ", series_n, " series with ",
                      Av(SeriesErrorName(static_cast<SeriesError>(i))));
      lead = ", ";
    }
    for (size_t i = 1; i < kNumStorageRejectReasons; ++i) {
      if (samples_rejected_by_storage[i] == 0) continue;
      absl::StrAppend(&out, lead, samples_rejected_by_storage[i], " ",
                      Av(StorageRejectReasonText(static_cast<storage::RejectReason>(i))));
      lead = ", ";
    }
    if (samples_rejected_by_storage[0] != 0) {
      absl::StrAppend(&out, lead, samples_rejected_by_storage[0], " rejected by storage");
    }
    if (!decoded.first_rejection.empty()) {
      absl::StrAppend(&out, " (first rejected series: ", decoded.first_rejection, ")");
    }
  }
  if (histograms_invalid != 0) {
    sep();
    absl::StrAppend(&out, histograms_invalid, " native histograms rejected: invalid native histogram "
                          "(integer/float mix, bucket counts not matching spans, or unknown schema)");
  }
  if (histograms_unsupported != 0) {
    sep();
    absl::StrAppend(&out, histograms_unsupported,
                    " native histograms not written: native histograms not supported yet");
  }
  if (exemplars_not_stored != 0) {
    sep();
    absl::StrAppend(&out, exemplars_not_stored, " exemplars not written: exemplars not stored yet");
  }
  return out;
}

}  // namespace pharos::ingest
