#pragma once

// Helpers for remote-write tests and benchmarks: requests built with the generated protobuf
// classes, snappy-compressed, and a fake storage::Appender.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "io/prometheus/write/v2/types.pb.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"
#include "storage/api/storage.h"

namespace pharos::ingest::testing {

inline std::string Snappy(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

using NameValues = std::vector<std::pair<std::string, std::string>>;

inline void AddV1Series(::prometheus::WriteRequest* req, const NameValues& labels,
                        const std::vector<std::pair<int64_t, double>>& samples) {
  ::prometheus::TimeSeries* ts = req->add_timeseries();
  for (const auto& [n, v] : labels) {
    ::prometheus::Label* l = ts->add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  for (const auto& [t, v] : samples) {
    ::prometheus::Sample* s = ts->add_samples();
    s->set_timestamp(t);
    s->set_value(v);
  }
}

// Builds 2.0 requests, interning strings.
class V2Builder {
 public:
  V2Builder() { Ref(""); }
  uint32_t Ref(const std::string& s) {
    auto [it, inserted] = refs_.emplace(s, static_cast<uint32_t>(req_.symbols_size()));
    if (inserted) req_.add_symbols(s);
    return it->second;
  }
  io::prometheus::write::v2::TimeSeries* AddSeries(
      const NameValues& labels, const std::vector<std::pair<int64_t, double>>& samples) {
    auto* ts = req_.add_timeseries();
    for (const auto& [n, v] : labels) {
      ts->add_labels_refs(Ref(n));
      ts->add_labels_refs(Ref(v));
    }
    for (const auto& [t, v] : samples) {
      auto* s = ts->add_samples();
      s->set_timestamp(t);
      s->set_value(v);
    }
    return ts;
  }
  io::prometheus::write::v2::Request& req() { return req_; }

 private:
  io::prometheus::write::v2::Request req_;
  std::map<std::string, uint32_t> refs_;
};

// node-exporter-like label sets: ~10 labels, 15 s apart timestamps.
inline NameValues NodeExporterLabels(int series, int instances = 50) {
  static const char* kMetrics[] = {"node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
                                   "node_network_receive_bytes_total",
                                   "node_filesystem_avail_bytes", "node_disk_io_time_seconds_total"};
  const int inst = series % instances;
  const int m = (series / instances) % 5;
  return {{"__name__", kMetrics[m]},
          {"cluster", "prod-eu-west-1"},
          {"cpu", std::to_string(series / (instances * 5) % 16)},
          {"device", "eth" + std::to_string(series / (instances * 80) % 4)},
          {"env", "production"},
          {"instance", "10.0." + std::to_string(inst / 250) + "." + std::to_string(inst % 250) +
                           ":9100"},
          {"job", "node-exporter"},
          {"mode", (series & 1) ? "idle" : "user"},
          {"region", "eu-west-1"},
          {"team", "platform"}};
}

// A fake Appender: series by label string, refs 1.., optional rejection by predicate.
class FakeAppender : public storage::Appender {
 public:
  struct Stored {
    std::string series;
    int64_t t;
    double v;
  };
  storage::AppendResult Append(storage::SeriesRef ref, const Labels& labels, int64_t t_ms,
                               double v) override {
    std::string key;
    if (ref != 0) {
      ++appends_by_ref;
      key = by_ref_.at(ref - 1);
    } else {
      ++appends_by_labels;
      key = labels.String();
      auto [it, inserted] = refs_->emplace(key, by_ref_.size() + 1);
      if (inserted) by_ref_.push_back(key);
      ref = it->second;
    }
    if (reject_before != 0 && t_ms < reject_before) {
      ++rejected;
      return {ref, storage::RejectReason::kOutOfRetention};
    }
    stored.push_back({key, t_ms, v});
    return {ref, storage::RejectReason::kNone};
  }
  absl::Status Commit() override { return absl::OkStatus(); }
  void Rollback() override {}
  size_t NumAccepted() const override { return stored.size(); }
  size_t NumRejected() const override { return rejected; }

  std::vector<Stored> stored;
  size_t rejected = 0;
  size_t appends_by_ref = 0;
  size_t appends_by_labels = 0;
  int64_t reject_before = 0;

 private:
  // Refs stay valid for the fake's lifetime; tests reuse one fake across requests (a real
  // Appender is one-shot, its storage keeps the refs).
  std::map<std::string, storage::SeriesRef> refs_map_;
  std::map<std::string, storage::SeriesRef>* refs_ = &refs_map_;
  std::vector<std::string> by_ref_;
};

}  // namespace pharos::ingest::testing
