#pragma once

// Thread-safe string interner: equal strings map to one stable string_view, so millions of
// series share the bytes of their label names and values. Strings are copied into per-shard
// arena blocks (32 KiB) and live as long as the table; nothing is freed individually (the head
// rebuilds its table on compaction/GC to drop strings of deleted series).

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace pharos {

class SymbolTable {
 public:
  SymbolTable();
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;
  ~SymbolTable();

  // Returns the interned copy of s, valid until the table is destroyed.
  std::string_view Intern(std::string_view s);
  // The interned copy if present, else an empty view with data() == nullptr.
  std::string_view Find(std::string_view s) const;

  // Number of distinct strings, and bytes held (arena blocks plus hash-set slots).
  size_t size() const;
  size_t MemoryBytes() const;

 private:
  static constexpr size_t kShards = 16;  // power of two
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_set<std::string_view> set ABSL_GUARDED_BY(mu);
    std::vector<std::unique_ptr<char[]>> blocks ABSL_GUARDED_BY(mu);
    char* pos ABSL_GUARDED_BY(mu) = nullptr;
    size_t left ABSL_GUARDED_BY(mu) = 0;
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
  };
  Shard& ShardFor(std::string_view s, size_t hash) const;

  std::unique_ptr<Shard[]> shards_;
};

}  // namespace pharos
