#include "common/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/strings.h"

namespace pharos {

namespace {

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

void AppendEscapedHelp(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out->append("\\\\");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, names[i], "=\"");
    AppendEscapedLabelValue(out, values[i]);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out->push_back(',');
    absl::StrAppend(out, Av(extra_name), "=\"");
    AppendEscapedLabelValue(out, extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

}  // namespace

std::string FormatFloat(double v) {
  std::string s;
  AppendFloat(&s, v);
  return s;
}

void AppendFloat(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  // Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang writes the text format: the
  // shortest round-trip digits, in %e form when the exponent is < -4 or >= 6 (1e+06, 5e-05).
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, end - buf);  // [-]d[.ddd]e[+-]XX
  size_t e = sci.find('e');
  int exp = 0;
  const char* exp_begin = sci.data() + e + 1;
  if (*exp_begin == '+') ++exp_begin;  // from_chars takes no leading '+'
  std::from_chars(exp_begin, sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 6) {
    out->append(sci.substr(0, e + 2));  // mantissa and exponent sign
    std::string_view digits = sci.substr(e + 2);
    if (digits.size() < 2) out->push_back('0');
    out->append(digits);
    return;
  }
  auto [fend, fec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out->append(buf, fend);
}

void AppendEscapedLabelValue(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out->append("\\\\");
    else if (c == '"') out->append("\\\"");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

Histogram::Histogram(const std::vector<double>* upper_bounds)
    : bounds_(upper_bounds),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds->size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  // A call site names a fixed number of labels; a mismatch is a programming error.
  PHAROS_CHECK(values.size() == label_names_.size(), name_.c_str());
  absl::MutexLock lock(&mu_);
  auto& slot = children_[values];
  if (!slot) {
    if constexpr (std::is_same_v<T, Histogram>) {
      slot = std::make_unique<Histogram>(&bounds_);
    } else {
      slot = std::make_unique<T>();
    }
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  auto& slot = counters_[name];
  if (!slot) {
    slot.reset(new CounterFamily(name, std::move(help), MetricType::kCounter,
                                 std::move(label_names)));
  }
  return *slot;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  auto& slot = gauges_[name];
  if (!slot) {
    slot.reset(new GaugeFamily(name, std::move(help), MetricType::kGauge,
                               std::move(label_names)));
  }
  return *slot;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> upper_bounds) {
  absl::MutexLock lock(&mu_);
  auto& slot = histograms_[name];
  if (!slot) {
    slot.reset(new HistogramFamily(name, std::move(help), MetricType::kHistogram,
                                   std::move(label_names), std::move(upper_bounds)));
  }
  return *slot;
}

void Registry::AddCollector(std::function<void(MetricWriter&)> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

void MetricWriter::Header(std::string_view name, std::string_view help, MetricType type) {
  absl::StrAppend(out_, "# HELP ", Av(name), " ");
  AppendEscapedHelp(out_, help);
  absl::StrAppend(out_, "\n# TYPE ", Av(name), " ", TypeName(type), "\n");
}

void MetricWriter::Sample(std::string_view name, double value,
                          const std::vector<std::pair<std::string_view, std::string_view>>& labels) {
  out_->append(name);
  if (!labels.empty()) {
    out_->push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out_->push_back(',');
      absl::StrAppend(out_, Av(labels[i].first), "=\"");
      AppendEscapedLabelValue(out_, labels[i].second);
      out_->push_back('"');
    }
    out_->push_back('}');
  }
  out_->push_back(' ');
  AppendFloat(out_, value);
  out_->push_back('\n');
}

std::string Registry::Expose() const {
  // Render each family into its own string keyed by name so the output is sorted.
  std::map<std::string, std::string> rendered;
  std::vector<std::function<void(MetricWriter&)>> collectors;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, fam] : counters_) {
      std::string& out = rendered[name];
      MetricWriter(&out).Header(name, fam->help_, fam->type_);
      absl::MutexLock flock(&fam->mu_);
      for (const auto& [values, c] : fam->children_) {
        out.append(name);
        AppendLabels(&out, fam->label_names_, values);
        out.push_back(' ');
        AppendFloat(&out, c->Value());
        out.push_back('\n');
      }
    }
    for (const auto& [name, fam] : gauges_) {
      std::string& out = rendered[name];
      MetricWriter(&out).Header(name, fam->help_, fam->type_);
      absl::MutexLock flock(&fam->mu_);
      for (const auto& [values, g] : fam->children_) {
        out.append(name);
        AppendLabels(&out, fam->label_names_, values);
        out.push_back(' ');
        AppendFloat(&out, g->Value());
        out.push_back('\n');
      }
    }
    for (const auto& [name, fam] : histograms_) {
      std::string& out = rendered[name];
      MetricWriter(&out).Header(name, fam->help_, fam->type_);
      absl::MutexLock flock(&fam->mu_);
      for (const auto& [values, h] : fam->children_) {
        Histogram::Snapshot s = h->Read();
        for (size_t i = 0; i < s.cumulative.size(); ++i) {
          std::string le = i < fam->bounds_.size() ? FormatFloat(fam->bounds_[i]) : "+Inf";
          absl::StrAppend(&out, name, "_bucket");
          AppendLabels(&out, fam->label_names_, values, "le", le);
          absl::StrAppend(&out, " ", s.cumulative[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum");
        AppendLabels(&out, fam->label_names_, values);
        out.push_back(' ');
        AppendFloat(&out, s.sum);
        absl::StrAppend(&out, "\n", name, "_count");
        AppendLabels(&out, fam->label_names_, values);
        absl::StrAppend(&out, " ", s.count, "\n");
      }
    }
    collectors = collectors_;
  }
  std::string out;
  for (const auto& [name, text] : rendered) out.append(text);
  for (const auto& collect : collectors) {
    MetricWriter w(&out);
    collect(w);
  }
  return out;
}

}  // namespace pharos
