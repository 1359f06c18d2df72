// pharos_bench_compact: opens a stopped Pharos data directory, runs DB::FlushAndCompact()
// (seal every chunk, flush RocksDB's memtables, full compaction: ZSTD on the bottommost level)
// and closes it. bench/compare.py uses it to measure Pharos's disk bytes per sample after a
// full flush, the counterpart of Prometheus's compacted block and VictoriaMetrics's
// /internal/force_flush: Pharos has no admin endpoint for it yet, and its graceful shutdown
// leaves the last chunks in RocksDB's own write-ahead log (uncompressed) rather than in SSTs.
//
//   pharos_bench_compact --storage.path=DIR
//
// Prints {"seconds":...} on stdout. Retention is disabled (the data is kept as is).

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/logging.h"
#include "common/strings.h"
#include "storage/db/db.h"

int main(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--storage.path=")) path = std::string(a.substr(15));
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: pharos_bench_compact --storage.path=DIR\n");
    return 2;
  }
  pharos::LogFactory logs(pharos::LogLevel::kWarn, pharos::LogFormat::kLogfmt);
  pharos::storage::DBOptions o;
  o.path = path;
  o.retention_ms = 0;
  o.future_tolerance_ms = 0;
  o.flush_interval_ms = 0;
  o.retention_interval_ms = 0;
  o.log = logs.Get("storage");
  auto t0 = std::chrono::steady_clock::now();
  auto db = pharos::storage::DB::Open(std::move(o));
  if (!db.ok()) {
    std::fprintf(stderr, "pharos_bench_compact: open: %s\n",
                 std::string(pharos::Sv(db.status().message())).c_str());
    return 1;
  }
  absl::Status s = (*db)->FlushAndCompact();
  if (s.ok()) s = (*db)->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "pharos_bench_compact: %s\n", std::string(pharos::Sv(s.message())).c_str());
    return 1;
  }
  std::printf("{\"seconds\":%.3f}\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
