#pragma once

// Encodings of a Dataset for the benchmarks:
//  - remote-write 1.0 requests (snappy block + prometheus.WriteRequest), shaped the way
//    Prometheus 2.x's queue manager sends them: series sharded by ref (ref % shards), each
//    shard sends batches of at most max_samples_per_send samples in the order they were
//    scraped, and every sample is its own TimeSeries entry carrying the full label set;
//  - a request file holding those requests, read back by the load generator;
//  - OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (series in one
//    target's block, each series' samples in time order, timestamps in seconds, `# EOF`).

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/gen/dataset.h"

namespace pharos::bench {

struct RemoteWriteOptions {
  int shards = 4;                     // Default 4 (Prometheus scales 1..200 with backlog).
  int max_samples_per_send = 2000;    // Default 2000 (Prometheus's default since 2.4x).
  // Samples per TimeSeries entry. 1 (default) is what Prometheus sends; >1 groups consecutive
  // samples of one series inside a batch the way vmagent does.
  int samples_per_series = 1;
};

struct EncodedRequest {
  uint32_t shard = 0;
  uint32_t samples = 0;
  uint64_t raw_bytes = 0;  // protobuf size before snappy
  std::string body;        // snappy block
};

// Calls `sink` for every request, in the order a Prometheus server would send them when it
// catches up (scrape time order; per shard strictly ordered).
absl::Status GenerateRemoteWrite(const Dataset& ds, const RemoteWriteOptions& opts,
                                 const std::function<absl::Status(EncodedRequest&&)>& sink);

// Writes one TimeSeries per sample (or per run of samples) for `labels` into `out` (appends).
// Exposed for tests.
void AppendLabelsWire(const std::vector<LabelPair>& labels, std::string* out);

// Request file: "PHRWREQ1", then records {u32 shard, u32 samples, u32 bytes, body}, all little
// endian, then a record with shard 0xFFFFFFFF.
class RequestFileWriter {
 public:
  ~RequestFileWriter();
  [[nodiscard]] absl::Status Open(const std::string& path);
  [[nodiscard]] absl::Status Write(const EncodedRequest& r);
  [[nodiscard]] absl::Status Close();

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

struct RequestFile {
  std::vector<EncodedRequest> requests;
  uint32_t shards = 0;  // max shard + 1
  uint64_t samples = 0;
  uint64_t bytes = 0;
};
absl::StatusOr<RequestFile> ReadRequestFile(const std::string& path);

// OpenMetrics text of the whole dataset into `out`.
absl::Status WriteOpenMetrics(const Dataset& ds, std::FILE* out);

}  // namespace pharos::bench
