#pragma once

// POST /api/v1/write: the Prometheus remote-write receiver (1.0 and 2.0).

#include <functional>

#include "common/logging.h"
#include "server/http/http.h"
#include "storage/labels/labels.h"

namespace pharos {
class Registry;
namespace storage {
class Appendable;
}
}  // namespace pharos

namespace pharos::api {

struct WriteApiOptions {
  // Returns the store, or nullptr while it is still recovering (requests then get 503).
  std::function<storage::Appendable*()> storage;  // required
  Registry* registry = nullptr;            // required: pharos_remote_write_* metrics
  LoggerPtr log;                           // required
  // Label limits checked while decoding (same as storage's, for precise 400 messages).
  LabelLimits label_limits;
  // Largest decompressed request. Default 128 MiB.
  size_t max_decompressed_bytes = 128ull << 20;
  // Write requests queued or running at once; more get 503 + Retry-After (senders back off).
  // Default 0: 4 per core.
  int max_inflight = 0;
};

void RegisterWriteApi(http::Router& router, const WriteApiOptions& options);

}  // namespace pharos::api
