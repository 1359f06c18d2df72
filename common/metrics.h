#pragma once

// A small self-instrumentation registry: counters, gauges and histograms with labels, exposed in
// the Prometheus text format 0.0.4. Every module takes a Registry& through its options struct and
// registers its own families; nothing here is global.
//
//   auto& requests = registry.AddCounter("pharos_http_requests_total", "HTTP requests.",
//                                        {"handler", "code"});
//   requests.WithLabels({"/metrics", "200"}).Inc();

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace pharos {

class Counter {
 public:
  void Inc(double delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `upper_bounds` are the finite bucket bounds in increasing order; +Inf is implicit.
  explicit Histogram(const std::vector<double>* upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per finite bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1 entries
  std::atomic<double> sum_{0};
};

// Bucket layouts commonly used for latency, in seconds.
std::vector<double> DefaultLatencyBuckets();
std::vector<double> ExponentialBuckets(double start, double factor, int count);

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

// One metric family: a name, help, type, label names, and a child per label-value tuple.
// WithLabels returns a reference that stays valid for the registry's lifetime, so hot paths
// resolve it once and keep it.
template <typename T>
class Family {
 public:
  T& WithLabels(const std::vector<std::string>& values);
  // Convenience for families without labels.
  T& Get() { return WithLabels({}); }

 private:
  friend class Registry;
  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), type_(type),
        label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Writes samples for a computed family (collected at scrape time, e.g. process_* metrics).
class MetricWriter {
 public:
  explicit MetricWriter(std::string* out) : out_(out) {}
  void Header(std::string_view name, std::string_view help, MetricType type);
  void Sample(std::string_view name, double value,
              const std::vector<std::pair<std::string_view, std::string_view>>& labels = {});

 private:
  std::string* out_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering the same name twice returns the existing family (the label names must match).
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds);
  // A callback run on every exposition, for values read from elsewhere (e.g. /proc).
  void AddCollector(std::function<void(MetricWriter&)> collect);

  // The whole registry in text format 0.0.4, families sorted by name.
  std::string Expose() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<GaugeFamily>> gauges_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(MetricWriter&)>> collectors_ ABSL_GUARDED_BY(mu_);
};

// Text-format helpers shared with the HTTP API and the exposition code.
// Shortest text that parses back to the same double; "+Inf", "-Inf", "NaN" for specials.
std::string FormatFloat(double v);
void AppendFloat(std::string* out, double v);
// Escapes a label value for the text format (backslash, double quote, newline).
void AppendEscapedLabelValue(std::string* out, std::string_view v);

}  // namespace pharos
