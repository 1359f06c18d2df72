#include "bench/gen/encode.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "snappy.h"

namespace pharos::bench {

namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutLenField(uint8_t tag, std::string_view bytes, std::string* out) {
  out->push_back(static_cast<char>(tag));
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// prometheus.Sample{value = 1 (double), timestamp = 2 (int64)}; zero fields omitted as
// proto3 (and Prometheus's gogo marshaller) omit them.
void AppendSample(double v, int64_t t, std::string* out) {
  char buf[32];
  size_t n = 0;
  if (v != 0 || std::signbit(v)) {
    buf[n++] = 0x09;
    std::memcpy(buf + n, &v, 8);  // little endian on every platform we build for
    n += 8;
  }
  std::string sample(buf, n);
  if (t != 0) {
    sample.push_back(0x10);
    PutVarint(static_cast<uint64_t>(t), &sample);
  }
  PutLenField(0x12, sample, out);
}

struct Pending {
  std::string raw;        // WriteRequest bytes so far
  uint32_t samples = 0;
};

void PutU32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t GetU32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

void AppendLabelsWire(const std::vector<LabelPair>& labels, std::string* out) {
  std::string label;
  for (const auto& [name, value] : labels) {
    label.clear();
    PutLenField(0x0A, name, &label);
    PutLenField(0x12, value, &label);
    PutLenField(0x0A, label, out);  // TimeSeries.labels = 1
  }
}

absl::Status GenerateRemoteWrite(const Dataset& ds, const RemoteWriteOptions& opts,
                                 const std::function<absl::Status(EncodedRequest&&)>& sink) {
  if (opts.shards < 1 || opts.max_samples_per_send < 1 || opts.samples_per_series < 1) {
    return absl::InvalidArgumentError("shards, max_samples_per_send, samples_per_series must be >= 1");
  }
  const auto& series = ds.series();
  std::vector<std::string> label_wire(series.size());
  for (size_t i = 0; i < series.size(); ++i) AppendLabelsWire(series[i].labels, &label_wire[i]);

  const auto& targets = ds.targets();
  std::vector<TargetGenerator> gens;
  gens.reserve(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) gens.push_back(ds.Generator(static_cast<int>(t)));
  std::vector<int> order(targets.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return targets[a].offset_ms < targets[b].offset_ms;
  });

  std::vector<Pending> shards(opts.shards);
  auto flush = [&](int s) -> absl::Status {
    Pending& p = shards[s];
    if (p.samples == 0) return absl::OkStatus();
    EncodedRequest r;
    r.shard = static_cast<uint32_t>(s);
    r.samples = p.samples;
    r.raw_bytes = p.raw.size();
    snappy::Compress(p.raw.data(), p.raw.size(), &r.body);
    p.raw.clear();
    p.samples = 0;
    return sink(std::move(r));
  };

  // With samples_per_series > 1, scrapes are buffered per shard and grouped per series.
  const int group = opts.samples_per_series;
  struct Buffered {
    uint32_t series;
    int64_t t;
    double v;
  };
  std::vector<std::vector<Buffered>> buffered(opts.shards);
  std::string ts;
  auto emit_grouped = [&](int s) -> absl::Status {
    auto& b = buffered[s];
    std::stable_sort(b.begin(), b.end(),
                     [](const Buffered& x, const Buffered& y) { return x.series < y.series; });
    for (size_t i = 0; i < b.size();) {
      size_t j = i;
      ts.assign(label_wire[b[i].series]);
      while (j < b.size() && b[j].series == b[i].series) {
        AppendSample(b[j].v, b[j].t, &ts);
        ++j;
      }
      Pending& p = shards[s];
      uint32_t n = static_cast<uint32_t>(j - i);
      if (p.samples + n > static_cast<uint32_t>(opts.max_samples_per_send)) {
        if (auto st = flush(s); !st.ok()) return st;
      }
      PutLenField(0x0A, ts, &p.raw);
      p.samples += n;
      i = j;
    }
    b.clear();
    return absl::OkStatus();
  };

  std::vector<double> values;
  int64_t t_ms = 0;
  for (int64_t step = 0; step < ds.num_scrapes(); ++step) {
    for (int t : order) {
      if (!gens[t].Next(&t_ms, &values)) continue;
      const int first = targets[t].first_series;
      for (size_t j = 0; j < values.size(); ++j) {
        const uint32_t ref = static_cast<uint32_t>(first + j);
        const int s = static_cast<int>(ref % static_cast<uint32_t>(opts.shards));
        if (group > 1) {
          buffered[s].push_back({ref, t_ms, values[j]});
          if (buffered[s].size() >= static_cast<size_t>(opts.max_samples_per_send) * group) {
            if (auto st = emit_grouped(s); !st.ok()) return st;
          }
          continue;
        }
        ts.assign(label_wire[ref]);
        AppendSample(values[j], t_ms, &ts);
        Pending& p = shards[s];
        PutLenField(0x0A, ts, &p.raw);  // WriteRequest.timeseries = 1
        if (++p.samples >= static_cast<uint32_t>(opts.max_samples_per_send)) {
          if (auto st = flush(s); !st.ok()) return st;
        }
      }
    }
  }
  for (int s = 0; s < opts.shards; ++s) {
    if (group > 1) {
      if (auto st = emit_grouped(s); !st.ok()) return st;
    }
    if (auto st = flush(s); !st.ok()) return st;
  }
  return absl::OkStatus();
}

RequestFileWriter::~RequestFileWriter() {
  if (f_ != nullptr) std::fclose(f_);
}

absl::Status RequestFileWriter::Open(const std::string& path) {
  path_ = path;
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) return absl::UnavailableError(absl::StrCat("cannot create ", path));
  if (std::fwrite("PHRWREQ1", 1, 8, f_) != 8) return absl::DataLossError("write failed");
  return absl::OkStatus();
}

absl::Status RequestFileWriter::Write(const EncodedRequest& r) {
  char h[12];
  PutU32(r.shard, h);
  PutU32(r.samples, h + 4);
  PutU32(static_cast<uint32_t>(r.body.size()), h + 8);
  if (std::fwrite(h, 1, 12, f_) != 12 ||
      std::fwrite(r.body.data(), 1, r.body.size(), f_) != r.body.size()) {
    return absl::DataLossError(absl::StrCat("write to ", path_, " failed"));
  }
  return absl::OkStatus();
}

absl::Status RequestFileWriter::Close() {
  char h[12];
  PutU32(0xFFFFFFFFu, h);
  PutU32(0, h + 4);
  PutU32(0, h + 8);
  bool ok = std::fwrite(h, 1, 12, f_) == 12;
  ok = std::fclose(f_) == 0 && ok;
  f_ = nullptr;
  if (!ok) return absl::DataLossError(absl::StrCat("write to ", path_, " failed"));
  return absl::OkStatus();
}

absl::StatusOr<RequestFile> ReadRequestFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  RequestFile out;
  char magic[8];
  absl::Status st;
  if (std::fread(magic, 1, 8, f) != 8 || std::memcmp(magic, "PHRWREQ1", 8) != 0) {
    st = absl::InvalidArgumentError(absl::StrCat(path, ": not a request file"));
  }
  while (st.ok()) {
    unsigned char h[12];
    if (std::fread(h, 1, 12, f) != 12) {
      st = absl::DataLossError(absl::StrCat(path, ": truncated"));
      break;
    }
    EncodedRequest r;
    r.shard = GetU32(h);
    if (r.shard == 0xFFFFFFFFu) break;
    r.samples = GetU32(h + 4);
    r.body.resize(GetU32(h + 8));
    if (std::fread(r.body.data(), 1, r.body.size(), f) != r.body.size()) {
      st = absl::DataLossError(absl::StrCat(path, ": truncated"));
      break;
    }
    out.shards = std::max(out.shards, r.shard + 1);
    out.samples += r.samples;
    out.bytes += r.body.size();
    out.requests.push_back(std::move(r));
  }
  std::fclose(f);
  if (!st.ok()) return st;
  return out;
}

absl::Status WriteOpenMetrics(const Dataset& ds, std::FILE* out) {
  const auto& targets = ds.targets();
  const auto& series = ds.series();
  std::vector<std::vector<double>> values;  // [step][series in target]
  std::vector<int64_t> times;
  std::string buf;
  for (size_t t = 0; t < targets.size(); ++t) {
    TargetGenerator gen = ds.Generator(static_cast<int>(t));
    values.clear();
    times.clear();
    std::vector<double> v;
    int64_t ts = 0;
    while (gen.Next(&ts, &v)) {
      values.push_back(v);
      times.push_back(ts);
    }
    for (int j = 0; j < targets[t].num_series; ++j) {
      const auto& labels = series[targets[t].first_series + j].labels;
      std::string prefix;
      for (const auto& [n, val] : labels) {
        if (n == "__name__") prefix = val;
      }
      prefix.push_back('{');
      bool first = true;
      for (const auto& [n, val] : labels) {
        if (n == "__name__") continue;
        if (!first) prefix.push_back(',');
        first = false;
        absl::StrAppend(&prefix, n, "=\"", val, "\"");  // no value needs escaping
      }
      prefix.append("} ");
      buf.clear();
      for (size_t k = 0; k < times.size(); ++k) {
        buf.append(prefix);
        char num[64];
        auto r = std::to_chars(num, num + sizeof num, values[k][j]);
        buf.append(num, r.ptr);
        char tsbuf[48];
        int n = std::snprintf(tsbuf, sizeof tsbuf, " %lld.%03lld\n",
                              static_cast<long long>(times[k] / 1000),
                              static_cast<long long>(times[k] % 1000));
        buf.append(tsbuf, n);
      }
      if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size()) {
        return absl::DataLossError("OpenMetrics write failed");
      }
    }
  }
  if (std::fputs("# EOF\n", out) < 0) return absl::DataLossError("OpenMetrics write failed");
  return absl::OkStatus();
}

}  // namespace pharos::bench
