#include "storage/labels/symbol_table.h"

#include <cstring>

#include "absl/hash/hash.h"

namespace pharos {
namespace {
constexpr size_t kBlockSize = 32 << 10;
constexpr size_t kLargeString = kBlockSize / 8;  // larger strings get their own block
}  // namespace

SymbolTable::SymbolTable() : shards_(new Shard[kShards]) {}
SymbolTable::~SymbolTable() = default;

SymbolTable::Shard& SymbolTable::ShardFor(std::string_view, size_t hash) const {
  // Use high bits: flat_hash_set uses the low ones for its own probing.
  return shards_[(hash >> 56) & (kShards - 1)];
}

std::string_view SymbolTable::Intern(std::string_view s) {
  if (s.empty()) return std::string_view("", 0);
  const size_t hash = absl::Hash<std::string_view>{}(s);
  Shard& shard = ShardFor(s, hash);
  {
    absl::ReaderMutexLock lock(&shard.mu);
    if (auto it = shard.set.find(s); it != shard.set.end()) return *it;
  }
  absl::MutexLock lock(&shard.mu);
  if (auto it = shard.set.find(s); it != shard.set.end()) return *it;
  char* dst;
  if (s.size() >= kLargeString) {
    shard.blocks.emplace_back(new char[s.size()]);
    dst = shard.blocks.back().get();
    shard.bytes += s.size();
  } else {
    if (shard.left < s.size()) {
      shard.blocks.emplace_back(new char[kBlockSize]);
      shard.pos = shard.blocks.back().get();
      shard.left = kBlockSize;
      shard.bytes += kBlockSize;
    }
    dst = shard.pos;
    shard.pos += s.size();
    shard.left -= s.size();
  }
  std::memcpy(dst, s.data(), s.size());
  std::string_view interned(dst, s.size());
  shard.set.insert(interned);
  return interned;
}

std::string_view SymbolTable::Find(std::string_view s) const {
  if (s.empty()) return std::string_view("", 0);
  const size_t hash = absl::Hash<std::string_view>{}(s);
  Shard& shard = ShardFor(s, hash);
  absl::ReaderMutexLock lock(&shard.mu);
  if (auto it = shard.set.find(s); it != shard.set.end()) return *it;
  return {};
}

size_t SymbolTable::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    n += shards_[i].set.size();
  }
  return n;
}

size_t SymbolTable::MemoryBytes() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    absl::ReaderMutexLock lock(&shards_[i].mu);
    n += shards_[i].bytes + shards_[i].set.capacity() * (sizeof(std::string_view) + 1);
  }
  return n;
}

}  // namespace pharos
