#include "storage/chunkenc/xor.h"

#include <cstdio>
#include <cstdlib>

#include "storage/chunkenc/chunk.h"
#include "storage/chunkenc/internal/coding.h"

namespace pharos::chunkenc {

void XorAppender::AppendSealedTo(std::string* dst) const {
  dst->push_back(static_cast<char>(Encoding::kXor));
  internal::PutVarint64(num_samples_, dst);
  if (num_samples_ == 0) return;
  internal::PutZigZag64(first_t_, dst);
  internal::PutZigZag64(
      static_cast<int64_t>(static_cast<uint64_t>(last_t_) - static_cast<uint64_t>(first_t_)),
      dst);
  const std::string_view s = stream();
  dst->append(s.data(), s.size());
}

void EncodeXorChunk(std::span<const int64_t> ts, std::span<const double> vs, std::string* dst) {
  if (ts.size() != vs.size() || ts.size() > kMaxChunkSamples) {
    std::fprintf(stderr, "EncodeXorChunk: bad sample count %zu/%zu\n", ts.size(), vs.size());
    std::abort();
  }
  XorAppender app;
  for (size_t i = 0; i < ts.size(); ++i) app.Append(ts[i], vs[i]);
  app.AppendSealedTo(dst);
}

}  // namespace pharos::chunkenc
