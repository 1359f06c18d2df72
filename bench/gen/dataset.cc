#include "bench/gen/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string_view>

namespace pharos::bench {

namespace {

// SplitMix64: tiny, fast, and the same on every platform (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t Below(int64_t n) { return n <= 0 ? 0 : static_cast<int64_t>(Next() % uint64_t(n)); }
  // Standard normal (Box–Muller; one value per call is plenty here).
  double Normal() {
    double u1 = Uniform();
    double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  // A count with mean `mean`: Bernoulli below 1, normal approximation above.
  int64_t Count(double mean) {
    if (mean <= 0) return 0;
    if (mean < 1) return Uniform() < mean ? 1 : 0;
    double v = std::round(mean + Normal() * std::sqrt(mean));
    return v < 0 ? 0 : static_cast<int64_t>(v);
  }

 private:
  uint64_t s_;
};

uint64_t Mix(uint64_t a, uint64_t b) {
  Rng r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull));
  return r.Next();
}

double Clamp(double v, double lo, double hi) { return std::max(lo, std::min(hi, v)); }
double Round2(double v) { return std::round(v * 100.0) / 100.0; }

constexpr int kScrapeSeries = 5;  // up, scrape_duration_seconds, ... (appended by Prometheus)

}  // namespace

// Shared by both target kinds: series labels in value order, the timestamp grid, and
// Prometheus's per-target series at the end.
class TargetState {
 public:
  TargetState(const DatasetOptions& o, const TargetInfo& t, uint64_t seed, int64_t scrapes)
      : o_(o), job_(t.job), instance_(t.instance), offset_ms_(t.offset_ms), rng_(seed),
        scrapes_(scrapes) {}
  virtual ~TargetState() = default;

  // Labels of every series, in the order Next() fills values. Valid after Build().
  const std::vector<std::vector<LabelPair>>& labels() const { return labels_; }

  bool Next(int64_t* t_ms, std::vector<double>* values) {
    if (step_ >= scrapes_) return false;
    int64_t t = o_.start_ms + offset_ms_ + step_ * o_.interval_ms;
    // About one scrape in 400 starts outside Prometheus's 2 ms alignment tolerance.
    if (rng_.Below(400) == 0) t += 3 + rng_.Below(38);
    *t_ms = t;
    values->resize(labels_.size());
    double* v = values->data();
    Fill(v);
    size_t n = labels_.size() - kScrapeSeries;
    double* s = v + n;
    s[0] = 1;                                                          // up
    s[1] = 0.002 + 0.004 * std::exp(0.5 * rng_.Normal()) * scrape_cost_;  // duration
    s[2] = static_cast<double>(n);                                     // samples_scraped
    s[3] = static_cast<double>(n);                                     // post relabeling
    s[4] = step_ == 0 ? static_cast<double>(n) : 0;                    // series_added
    ++step_;
    return true;
  }

 protected:
  // Adds a series `name{extra..., instance, job}`.
  void Add(const std::string& name, std::vector<LabelPair> extra = {}) {
    extra.emplace_back("__name__", name);
    extra.emplace_back("instance", instance_);
    extra.emplace_back("job", job_);
    std::sort(extra.begin(), extra.end());
    labels_.push_back(std::move(extra));
  }
  void AddScrapeSeries() {
    for (const char* n : {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                          "scrape_samples_post_metric_relabeling", "scrape_series_added"}) {
      Add(n);
    }
  }
  // Fills the target's own series (all but the last kScrapeSeries).
  virtual void Fill(double* v) = 0;

  DatasetOptions o_;
  std::string job_, instance_;
  int64_t offset_ms_;
  Rng rng_;
  int64_t scrapes_;
  int64_t step_ = 0;
  double scrape_cost_ = 1;
  std::vector<std::vector<LabelPair>> labels_;
};

namespace {

// node-exporter on a host with `cpus` CPUs.
class NodeState final : public TargetState {
 public:
  NodeState(const DatasetOptions& o, const TargetInfo& t, uint64_t seed, int64_t scrapes, int cpus)
      : TargetState(o, t, seed, scrapes), cpus_(cpus) {
    static const char* kModes[8] = {"idle", "iowait", "irq", "nice",
                                    "softirq", "steal", "system", "user"};
    for (int c = 0; c < cpus_; ++c) {
      for (const char* m : kModes) Add("node_cpu_seconds_total", {{"cpu", std::to_string(c)}, {"mode", m}});
    }
    for (const char* m : {"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Active",
                          "Inactive", "Dirty", "SwapTotal", "SwapFree"}) {
      Add(std::string("node_memory_") + m + "_bytes");
    }
    for (const auto& fs : kFs) {
      for (const char* what : {"size", "avail", "free"}) {
        Add(std::string("node_filesystem_") + what + "_bytes",
            {{"device", fs.device}, {"fstype", fs.fstype}, {"mountpoint", fs.mountpoint}});
      }
    }
    for (const char* dev : {"eth0", "eth1", "lo"}) {
      Add("node_network_receive_bytes_total", {{"device", dev}});
      Add("node_network_transmit_bytes_total", {{"device", dev}});
    }
    Add("node_load1");
    Add("node_load5");
    Add("node_load15");
    Add("node_boot_time_seconds");
    AddScrapeSeries();

    // Initial state: the host has been up for 1–60 days.
    uptime_s_ = 86400 + rng_.Below(59 * 86400);
    util_ = 0.05 + 0.5 * rng_.Uniform();
    ticks_.assign(static_cast<size_t>(cpus_) * 8, 0);
    for (int c = 0; c < cpus_; ++c) {
      int64_t total = uptime_s_ * 100;
      int64_t* t = &ticks_[c * 8];
      t[7] = static_cast<int64_t>(total * util_ * 0.65);  // user
      t[6] = static_cast<int64_t>(total * util_ * 0.25);  // system
      t[1] = total / 200;                                  // iowait
      t[2] = total / 5000;                                 // irq
      t[3] = rng_.Below(2) ? total / 1000 : 0;             // nice
      t[4] = total / 800;                                  // softirq
      t[5] = 0;                                            // steal
      t[0] = total - t[1] - t[2] - t[3] - t[4] - t[6] - t[7];
    }
    static const int64_t kGiB = 1LL << 30;
    mem_total_kb_ = (cpus_ <= 2 ? 8 : cpus_ <= 4 ? 16 : cpus_ <= 8 ? 32 : 64) * kGiB / 1024 -
                    rng_.Below(200) * 1024;
    free_kb_ = mem_total_kb_ * (0.1 + 0.3 * rng_.Uniform());
    cached_kb_ = mem_total_kb_ * (0.2 + 0.3 * rng_.Uniform());
    buffers_kb_ = 100'000 + rng_.Below(400'000);
    dirty_kb_ = rng_.Below(20'000);
    swap_total_kb_ = rng_.Below(2) ? 2 * 1024 * 1024 : 0;
    for (size_t i = 0; i < 3; ++i) {
      fs_size_[i] = (i == 0 ? 100 : i == 1 ? 500 : 1) * kGiB;
      fs_free_[i] = static_cast<int64_t>(fs_size_[i] * (0.2 + 0.6 * rng_.Uniform())) / 4096 * 4096;
    }
    for (int i = 0; i < 6; ++i) net_[i] = uptime_s_ * (i < 2 ? 200'000 : i < 4 ? 20'000 : 2'000);
    load1_ = load5_ = load15_ = util_ * cpus_;
    boot_time_ = o.start_ms / 1000 - uptime_s_;
    scrape_cost_ = 1 + cpus_ / 8.0;
  }

 private:
  struct Fs {
    const char* device;
    const char* fstype;
    const char* mountpoint;
  };
  static constexpr Fs kFs[3] = {{"/dev/sda1", "ext4", "/"},
                                {"/dev/sdb1", "xfs", "/data"},
                                {"tmpfs", "tmpfs", "/run"}};

  void Fill(double* v) override {
    util_ = Clamp(util_ + 0.03 * rng_.Normal(), 0.02, 0.9);
    size_t i = 0;
    const int64_t per_step = o_.interval_ms / 10;  // ticks (1/100 s) per CPU per scrape
    for (int c = 0; c < cpus_; ++c) {
      double u = Clamp(util_ * (0.7 + 0.6 * rng_.Uniform()), 0.0, 0.98);
      int64_t* t = &ticks_[c * 8];
      int64_t user = std::llround(per_step * u * 0.65 * (0.8 + 0.4 * rng_.Uniform()));
      int64_t system = std::llround(per_step * u * 0.25 * (0.8 + 0.4 * rng_.Uniform()));
      int64_t iowait = rng_.Below(per_step / 50 + 1);
      int64_t irq = rng_.Below(3);
      int64_t softirq = rng_.Below(12);
      int64_t nice = rng_.Below(20) == 0 ? rng_.Below(6) : 0;
      int64_t idle = std::max<int64_t>(0, per_step - user - system - iowait - irq - softirq - nice);
      t[0] += idle;
      t[1] += iowait;
      t[2] += irq;
      t[3] += nice;
      t[4] += softirq;
      // t[5] steal stays 0
      t[6] += system;
      t[7] += user;
      for (int m = 0; m < 8; ++m) v[i++] = static_cast<double>(t[m]) / 100.0;
    }
    // /proc/meminfo is in kB: bytes are multiples of 1024.
    free_kb_ = Clamp(free_kb_ + 8000 * rng_.Normal(), mem_total_kb_ * 0.02, mem_total_kb_ * 0.6);
    cached_kb_ = Clamp(cached_kb_ + 3000 * rng_.Normal(), mem_total_kb_ * 0.05, mem_total_kb_ * 0.5);
    if (rng_.Below(4) == 0) buffers_kb_ += rng_.Below(41) - 20;
    dirty_kb_ = std::max<int64_t>(0, dirty_kb_ + rng_.Below(2001) - 1000);
    auto kb = [](double x) { return static_cast<double>(static_cast<int64_t>(x) * 1024); };
    double used = mem_total_kb_ - free_kb_ - cached_kb_ - buffers_kb_;
    v[i++] = kb(mem_total_kb_);
    v[i++] = kb(free_kb_);
    v[i++] = kb(free_kb_ + cached_kb_ * 0.8 + buffers_kb_);
    v[i++] = kb(buffers_kb_);
    v[i++] = kb(cached_kb_);
    v[i++] = kb(used * 0.7 + cached_kb_ * 0.4);
    v[i++] = kb(used * 0.3 + cached_kb_ * 0.6);
    v[i++] = kb(dirty_kb_);
    v[i++] = kb(swap_total_kb_);
    v[i++] = kb(swap_total_kb_);  // no swapping: SwapFree == SwapTotal
    for (size_t f = 0; f < 3; ++f) {
      if (rng_.Below(5) < 2) {  // 40% of scrapes see a change, in 4 KiB blocks
        fs_free_[f] = Clamp(fs_free_[f] - 4096 * (rng_.Below(2000) - 900), 0, fs_size_[f]);
      }
      int64_t reserved = f == 0 ? fs_size_[f] / 20 : 0;  // ext4 reserves 5% for root
      v[i++] = static_cast<double>(fs_size_[f]);
      v[i++] = static_cast<double>(std::max<int64_t>(0, fs_free_[f] - reserved));
      v[i++] = static_cast<double>(fs_free_[f]);
    }
    double secs = o_.interval_ms / 1000.0;
    for (int d = 0; d < 6; ++d) {
      double rate = (d < 2 ? 200'000 : d < 4 ? 20'000 : 2'000) * (0.3 + 2 * util_);
      net_[d] += static_cast<int64_t>(rate * secs * std::exp(0.4 * rng_.Normal()));
      v[i++] = static_cast<double>(net_[d]);
    }
    double secs_per_min = secs / 60.0;
    load1_ = std::max(0.0, load1_ + (util_ * cpus_ * (1 + 0.3 * rng_.Normal()) - load1_) * 0.22);
    load5_ += (load1_ - load5_) * secs_per_min / 5;
    load15_ += (load1_ - load15_) * secs_per_min / 15;
    v[i++] = Round2(load1_);
    v[i++] = Round2(load5_);
    v[i++] = Round2(load15_);
    v[i++] = static_cast<double>(boot_time_);
  }

  int cpus_;
  int64_t uptime_s_ = 0;
  double util_ = 0;
  std::vector<int64_t> ticks_;
  double mem_total_kb_ = 0, free_kb_ = 0, cached_kb_ = 0;
  int64_t buffers_kb_ = 0, dirty_kb_ = 0, swap_total_kb_ = 0;
  int64_t fs_size_[3] = {}, fs_free_[3] = {};
  int64_t net_[6] = {};
  double load1_ = 0, load5_ = 0, load15_ = 0;
  int64_t boot_time_ = 0;
};

// An HTTP API service instrumented with the Go client.
class ApiState final : public TargetState {
 public:
  ApiState(const DatasetOptions& o, const TargetInfo& t, uint64_t seed, int64_t scrapes,
           bool restarts)
      : TargetState(o, t, seed, scrapes), restart_step_(restarts ? scrapes / 2 : -1) {
    for (const auto& r : kRoutes) {
      for (const auto& s : r.statuses) {
        if (s.code == nullptr) continue;
        Add("http_requests_total", {{"handler", r.handler}, {"method", r.method}, {"status", s.code}});
      }
    }
    for (const auto& r : kRoutes) {
      for (const char* le : kLe) {
        Add("http_request_duration_seconds_bucket", {{"handler", r.handler}, {"le", le}, {"method", r.method}});
      }
      Add("http_request_duration_seconds_sum", {{"handler", r.handler}, {"method", r.method}});
      Add("http_request_duration_seconds_count", {{"handler", r.handler}, {"method", r.method}});
    }
    Add("failed_logins_total");
    Add("process_cpu_seconds_total");
    Add("process_resident_memory_bytes");
    Add("process_open_fds");
    Add("go_goroutines");
    AddScrapeSeries();

    size_t n_counters = labels_.size() - kScrapeSeries - 4;
    counters_.assign(n_counters, 0);
    sums_.assign(std::size(kRoutes), 0);
    scale_ = 0.3 + 1.7 * rng_.Uniform();
    Reset(/*uptime_s=*/3600 + rng_.Below(20 * 86400));
    rss_pages_ = 20'000 + rng_.Below(30'000);
    fds_ = 30 + rng_.Below(20);
    goroutines_ = 40 + rng_.Below(40);
  }

 private:
  struct Status {
    const char* code;
    double share;  // of the route's requests; the first status takes the rest
  };
  struct Route {
    const char* method;
    const char* handler;
    double rps;        // at scale 1
    double median_s;   // latency
    Status statuses[3];
  };
  static constexpr Route kRoutes[7] = {
      {"GET", "/api/v1/users", 40, 0.018, {{"200", 0}, {"404", 0.03}, {"500", 0.002}}},
      {"POST", "/api/v1/users", 2, 0.045, {{"201", 0}, {"400", 0.04}, {"500", 0.004}}},
      {"GET", "/api/v1/orders", 25, 0.07, {{"200", 0}, {"404", 0.01}, {"500", 0.003}}},
      {"POST", "/api/v1/orders", 5, 0.12, {{"201", 0}, {"400", 0.02}, {"500", 0.005}}},
      {"POST", "/api/v1/login", 3, 0.21, {{"200", 0}, {"401", 0.08}, {"500", 0.001}}},
      {"GET", "/healthz", 0, 0.0008, {{"200", 0}, {nullptr, 0}, {nullptr, 0}}},
      {"GET", "/metrics", 0, 0.004, {{"200", 0}, {nullptr, 0}, {nullptr, 0}}},
  };
  static constexpr const char* kLe[12] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                          "0.5", "1", "2.5", "5", "10", "+Inf"};
  static constexpr double kLeV[11] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static constexpr double kSigma = 0.9;

  // Counters as if the process had run `uptime_s` at its average rate (0 = fresh start).
  void Reset(int64_t uptime_s) {
    std::fill(counters_.begin(), counters_.end(), 0);
    std::fill(sums_.begin(), sums_.end(), 0);
    cpu_ticks_ = uptime_s * 30;
    steps_up_ = uptime_s * 1000 / o_.interval_ms;
    if (uptime_s > 0) Advance(uptime_s, /*exact=*/true);
  }

  // Requests served in `secs` seconds, added to the counters.
  void Advance(double secs, bool exact) {
    size_t c = 0;
    size_t h = CountersBeforeHistograms();
    int64_t failed = 0;
    for (size_t r = 0; r < std::size(kRoutes); ++r) {
      const Route& route = kRoutes[r];
      int64_t n;
      if (route.rps > 0) {
        double mean = route.rps * scale_ * traffic_ * secs;
        n = exact ? static_cast<int64_t>(mean) : rng_.Count(mean);
      } else {  // probes: a fixed number per scrape
        int64_t per_step = std::string_view(route.handler) == "/healthz" ? 3 : 1;
        n = per_step * static_cast<int64_t>(secs * 1000 / o_.interval_ms);
      }
      int64_t ok = n;
      size_t first = c;
      ++c;
      for (int s = 1; s < 3; ++s) {
        if (route.statuses[s].code == nullptr) continue;
        double mean = n * route.statuses[s].share * (s == 2 ? error_burst_ : 1.0);
        int64_t k = exact ? static_cast<int64_t>(mean) : std::min(ok, rng_.Count(mean));
        ok -= k;
        counters_[c++] += k;
        if (std::string_view(route.statuses[s].code) == "401") failed += k;
      }
      counters_[first] += ok;
      // Histogram: cumulative buckets from a lognormal latency distribution.
      double med = route.median_s * (exact ? 1 : std::exp(0.1 * rng_.Normal()));
      for (size_t b = 0; b < std::size(kLeV); ++b) {
        double z = (std::log(kLeV[b]) - std::log(med)) / kSigma;
        counters_[h++] += std::llround(n * 0.5 * std::erfc(-z / M_SQRT2));
      }
      counters_[h++] += n;  // +Inf
      sums_[r] += n * med * std::exp(kSigma * kSigma / 2) * (exact ? 1 : 1 + 0.05 * rng_.Normal());
      h++;                  // _sum slot (kept in sums_)
      counters_[h++] += n;  // _count
    }
    counters_[h] += failed;  // failed_logins_total
  }

  size_t CountersBeforeHistograms() const {
    size_t n = 0;
    for (const auto& r : kRoutes) {
      for (const auto& s : r.statuses) n += s.code != nullptr;
    }
    return n;
  }

  void Fill(double* v) override {
    if (step_ == restart_step_) Reset(0);
    traffic_ = Clamp(traffic_ + 0.04 * rng_.Normal(), 0.5, 1.6);
    // Now and then a burst of 5xx.
    error_burst_ = rng_.Below(200) == 0 ? 20 : std::max(1.0, error_burst_ * 0.5);
    double secs = o_.interval_ms / 1000.0;
    Advance(secs, /*exact=*/false);
    size_t i = 0;
    size_t h = CountersBeforeHistograms();
    for (; i < h; ++i) v[i] = static_cast<double>(counters_[i]);
    for (size_t r = 0; r < std::size(kRoutes); ++r) {
      for (size_t b = 0; b < 12; ++b, ++i) v[i] = static_cast<double>(counters_[i]);
      v[i] = sums_[r];
      ++i;
      v[i] = static_cast<double>(counters_[i]);
      ++i;
    }
    v[i] = static_cast<double>(counters_[i]);  // failed_logins_total
    ++i;
    cpu_ticks_ += std::llround(secs * 100 * 0.3 * scale_ * traffic_ * (0.8 + 0.4 * rng_.Uniform()));
    v[i++] = static_cast<double>(cpu_ticks_) / 100.0;
    rss_pages_ = std::max<int64_t>(5000, rss_pages_ + rng_.Below(201) - 100);
    v[i++] = static_cast<double>(rss_pages_ * 4096);
    if (rng_.Below(3) == 0) fds_ = std::max<int64_t>(10, fds_ + rng_.Below(5) - 2);
    v[i++] = static_cast<double>(fds_);
    goroutines_ = std::max<int64_t>(10, goroutines_ + rng_.Below(7) - 3);
    v[i++] = static_cast<double>(goroutines_);
    ++steps_up_;
  }

  int64_t restart_step_;
  double scale_ = 1, traffic_ = 1, error_burst_ = 1;
  std::vector<int64_t> counters_;  // requests, buckets/_count (the _sum slots unused), failed logins
  std::vector<double> sums_;       // per route
  int64_t cpu_ticks_ = 0, steps_up_ = 0, rss_pages_ = 0, fds_ = 0, goroutines_ = 0;
};

constexpr int kCpuChoices[6] = {2, 4, 4, 8, 8, 16};

}  // namespace

TargetGenerator::TargetGenerator(std::unique_ptr<TargetState> state) : state_(std::move(state)) {}
TargetGenerator::TargetGenerator(TargetGenerator&&) noexcept = default;
TargetGenerator& TargetGenerator::operator=(TargetGenerator&&) noexcept = default;
TargetGenerator::~TargetGenerator() = default;
bool TargetGenerator::Next(int64_t* t_ms, std::vector<double>* values) {
  return state_->Next(t_ms, values);
}

namespace {
std::unique_ptr<TargetState> MakeState(const DatasetOptions& o, const TargetInfo& t, int target,
                                       int cpus, int64_t scrapes) {
  uint64_t seed = Mix(o.seed, static_cast<uint64_t>(target));
  int host = target / 2;
  if (target % 2 == 0) return std::make_unique<NodeState>(o, t, seed, scrapes, cpus);
  return std::make_unique<ApiState>(o, t, seed, scrapes, host % 16 == 5);
}
}  // namespace

Dataset::Dataset(const DatasetOptions& options) : options_(options) {
  num_scrapes_ = options_.interval_ms > 0 ? options_.duration_ms / options_.interval_ms : 0;
  Rng rng(Mix(options_.seed, 0xC0FFEE));
  for (int host = 0; static_cast<int64_t>(series_.size()) < options_.series; ++host) {
    int cpus = kCpuChoices[rng.Below(6)];
    host_cpus_.push_back(cpus);
    for (int kind = 0; kind < 2; ++kind) {
      TargetInfo t;
      char inst[64];
      std::snprintf(inst, sizeof inst, "host-%03d.prod.example.net:%d", host,
                    kind == 0 ? 9100 : 8080);
      t.job = kind == 0 ? "node" : "api";
      t.instance = inst;
      t.offset_ms = rng.Below(options_.interval_ms);
      t.first_series = static_cast<int>(series_.size());
      int index = static_cast<int>(targets_.size());
      auto state = MakeState(options_, t, index, cpus, 0);
      t.num_series = static_cast<int>(state->labels().size());
      for (const auto& l : state->labels()) series_.push_back({l, index});
      targets_.push_back(std::move(t));
    }
  }
}

int64_t Dataset::min_time_ms() const {
  int64_t off = options_.interval_ms;
  for (const auto& t : targets_) off = std::min(off, t.offset_ms);
  return options_.start_ms + off;
}

int64_t Dataset::max_time_ms() const {
  int64_t off = 0;
  for (const auto& t : targets_) off = std::max(off, t.offset_ms);
  return options_.start_ms + (num_scrapes_ - 1) * options_.interval_ms + off + 40;
}

TargetGenerator Dataset::Generator(int t) const {
  return TargetGenerator(MakeState(options_, targets_[t], t, host_cpus_[t / 2], num_scrapes_));
}

int64_t DefaultStartMs(int64_t now_ms, int64_t duration_ms) {
  const int64_t hour = 3600 * 1000;
  return now_ms / hour * hour - duration_ms;
}

}  // namespace pharos::bench
