#include "alerting/state/state_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace pharos::alerting {

namespace {

absl::Status ToStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("alerting state: ", Av(what), ": ", s.ToString()));
}

rocksdb::Slice Sl(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

}  // namespace

StateStore::StateStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
StateStore::~StateStore() = default;

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("alerting state: cannot create ", dir, ": ", ec.message()));
  }
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.max_open_files = 64;
  opts.keep_log_file_num = 2;
  opts.write_buffer_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, &raw);
  if (!s.ok()) return ToStatus(s, absl::StrCat("open ", dir));
  return std::unique_ptr<StateStore>(new StateStore(std::unique_ptr<rocksdb::DB>(raw)));
}

absl::Status StateStore::Put(std::string_view key, std::string_view value) {
  return ToStatus(db_->Put(SyncWrite(), Sl(key), Sl(value)), "put");
}

absl::Status StateStore::Delete(std::string_view key) {
  return ToStatus(db_->Delete(SyncWrite(), Sl(key)), "delete");
}

absl::Status StateStore::Apply(const std::vector<Write>& writes) {
  rocksdb::WriteBatch batch;
  for (const Write& w : writes) {
    if (w.value) {
      batch.Put(Sl(w.key), Sl(*w.value));
    } else {
      batch.Delete(Sl(w.key));
    }
  }
  return ToStatus(db_->Write(SyncWrite(), &batch), "write");
}

absl::StatusOr<std::optional<std::string>> StateStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Sl(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return ToStatus(s, "get");
  return std::optional<std::string>(std::move(value));
}

absl::Status StateStore::Scan(
    std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(Sl(prefix)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view key(k.data(), k.size());
    if (key.substr(0, prefix.size()) != prefix) break;
    rocksdb::Slice v = it->value();
    if (!fn(key, std::string_view(v.data(), v.size()))) break;
  }
  return ToStatus(it->status(), "scan");
}

}  // namespace pharos::alerting
