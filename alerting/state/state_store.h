#pragma once

// The router's durable state (silences, notification log, digest buffers, ...) in one small
// RocksDB database of its own (`<storage.path>/alerting`), kept apart from the series store so
// either can be wiped or inspected on its own. Keys are namespaced by a prefix per owner
// ("silence/", "nflog/", ...). Every write is synced before it returns: this state is small and
// written rarely, and "a restart neither re-sends nor drops" depends on it.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
}

namespace pharos::alerting {

class StateStore {
 public:
  // Opens or creates the database in directory `dir`.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir);
  ~StateStore();

  absl::Status Put(std::string_view key, std::string_view value);
  absl::Status Delete(std::string_view key);
  // Puts and deletes applied atomically.
  struct Write {
    std::string key;
    std::optional<std::string> value;  // nullopt: delete
  };
  absl::Status Apply(const std::vector<Write>& writes);
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const;
  // Calls fn(key, value) for each key starting with `prefix`, in key order; stops early when
  // fn returns false.
  absl::Status Scan(std::string_view prefix,
                    const std::function<bool(std::string_view key, std::string_view value)>& fn)
      const;

 private:
  explicit StateStore(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace pharos::alerting
