#pragma once

// Values the evaluator passes between nodes (engine-internal). As in Prometheus, an instant
// vector evaluated over all steps of a range is a Matrix whose series hold one point per step
// at which they have a value; a scalar is a Matrix with one label-less series.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "storage/labels/labels.h"

namespace pharos::promql::internal {

struct FPoint {
  int64_t t = 0;
  double f = 0;
};

struct Sample {
  Labels metric;
  double f = 0;
  int64_t t = 0;
  bool drop_name = false;  // delayed name removal: drop __name__ at the end
};
using Vector = std::vector<Sample>;

struct MSeries {
  Labels metric;
  std::vector<FPoint> floats;
  bool drop_name = false;
};
using Matrix = std::vector<MSeries>;

// Warning and info annotations, deduplicated, in insertion order.
class Annotations {
 public:
  void Warn(std::string text) { Add(true, std::move(text)); }
  void Info(std::string text) { Add(false, std::move(text)); }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& infos() const { return infos_; }

 private:
  void Add(bool warning, std::string text) {
    if (!seen_.insert(text).second) return;
    (warning ? warnings_ : infos_).push_back(std::move(text));
  }
  std::vector<std::string> warnings_;
  std::vector<std::string> infos_;
  absl::flat_hash_set<std::string> seen_;
};

// Kahan-Babuska (Neumaier) summation step, as Prometheus's kahansum.Inc.
inline void KahanInc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

}  // namespace pharos::promql::internal
