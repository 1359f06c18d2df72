#include "storage/wal/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace pharos::storage {

namespace {

constexpr size_t kHeaderBytes = 8;

uint32_t Crc(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large records in pieces.
  while (!data.empty()) {
    uInt n = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

void PutU32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out->append(b, 4);
}

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(Av(what), " ", path, ": ", std::strerror(errno)));
}

std::string SegmentName(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(n));
  return buf;
}

absl::Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

class Wal::Impl {
 public:
  explicit Impl(WalOptions o) : opts_(std::move(o)) {
    if (opts_.registry) {
      Registry& r = *opts_.registry;
      records_ = &r.AddCounter("pharos_storage_wal_records_total", "Records written to the WAL.").Get();
      bytes_ = &r.AddCounter("pharos_storage_wal_bytes_total", "Bytes written to the WAL.").Get();
      writes_ = &r.AddCounter("pharos_storage_wal_writes_total",
                              "Group-committed write system calls to the WAL.").Get();
      fsyncs_ = &r.AddCounter("pharos_storage_wal_fsyncs_total", "WAL fsyncs.").Get();
      fsync_seconds_ = &r.AddHistogram("pharos_storage_wal_fsync_duration_seconds",
                                       "Duration of WAL fsyncs.", {},
                                       ExponentialBuckets(0.0001, 4, 10)).Get();
      segment_gauge_ = &r.AddGauge("pharos_storage_wal_segment_current",
                                   "Number of the WAL segment being written.").Get();
    }
  }

  ~Impl() {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Open() {
    std::error_code ec;
    std::filesystem::create_directories(opts_.dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("create WAL dir ", opts_.dir, ": ", ec.message()));
    DIR* d = ::opendir(opts_.dir.c_str());
    if (!d) return Errno("open WAL dir", opts_.dir);
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() != 20 || name.find_first_not_of("0123456789") != std::string::npos) continue;
      existing_.push_back(std::stoull(name));
    }
    ::closedir(d);
    std::sort(existing_.begin(), existing_.end());
    uint64_t next = existing_.empty() ? 0 : existing_.back() + 1;
    absl::MutexLock lock(&mu_);
    return OpenSegmentLocked(next);
  }

  absl::Status OpenSegmentLocked(uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string path = Path(n);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("create WAL segment", path);
    if (fd_ >= 0) {
      // The old segment is complete: make it durable before new records land elsewhere.
      if (::fdatasync(fd_) != 0) {
        ::close(fd);
        return Errno("sync WAL segment", Path(segment_));
      }
      ::close(fd_);
    }
    fd_ = fd;
    segment_ = n;
    segment_size_ = 0;
    // The directory entry must be durable too for kAlways.
    if (opts_.sync == WalSync::kAlways) SyncDir();
    if (segment_gauge_) segment_gauge_->Set(static_cast<double>(n));
    return absl::OkStatus();
  }

  void SyncDir() {
    int dfd = ::open(opts_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

  std::string Path(uint64_t n) const { return opts_.dir + "/" + SegmentName(n); }

  absl::StatusOr<ReplayStats> Replay(
      const std::function<absl::Status(uint64_t, std::string_view)>& fn) {
    ReplayStats stats;
    std::string data;
    for (uint64_t n : existing_) {
      std::string path = Path(n);
      data.clear();
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Errno("open WAL segment", path);
      char buf[1 << 16];
      while (true) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0) {
          if (errno == EINTR) continue;
          ::close(fd);
          return Errno("read WAL segment", path);
        }
        if (r == 0) break;
        data.append(buf, static_cast<size_t>(r));
      }
      ::close(fd);
      ++stats.segments;
      size_t off = 0;
      while (off < data.size()) {
        std::string why;
        if (data.size() - off < kHeaderBytes) {
          why = "torn record header";
        } else {
          uint32_t len = GetU32(data.data() + off);
          uint32_t crc = GetU32(data.data() + off + 4);
          if (len > opts_.max_record_bytes || data.size() - off - kHeaderBytes < len) {
            why = "torn record (length past end of segment)";
          } else {
            std::string_view payload(data.data() + off + kHeaderBytes, len);
            if (Crc(payload) != crc) {
              why = "record checksum mismatch";
            } else {
              absl::Status s = fn(n, payload);
              if (!s.ok()) return s;
              ++stats.records;
              stats.bytes += len + kHeaderBytes;
              off += kHeaderBytes + len;
              continue;
            }
          }
        }
        ++stats.corrupt_segments;
        opts_.log->warn(
            "msg=\"WAL segment has a torn or corrupt record; keeping the records before it\" "
            "segment={} offset={} reason=\"{}\" dropped_bytes={}",
            path, off, why, data.size() - off);
        // Cut the garbage off so the file reads cleanly next time.
        if (::truncate(path.c_str(), static_cast<off_t>(off)) != 0) {
          opts_.log->warn("msg=\"cannot truncate corrupt WAL segment\" segment={} err={}",
                          path, std::strerror(errno));
        }
        break;
      }
    }
    return stats;
  }

  absl::StatusOr<uint64_t> Log(std::string_view record) {
    if (record.size() > opts_.max_record_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("WAL record of ", record.size(), " bytes exceeds the limit"));
    }
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return error_;
    const uint64_t my_seq = ++enqueued_seq_;
    PutU32(&pending_, static_cast<uint32_t>(record.size()));
    PutU32(&pending_, Crc(record));
    pending_.append(record.data(), record.size());
    while (true) {
      if (durable_seq_ >= my_seq) return durable_segment_;
      if (!error_.ok()) return error_;
      if (!writing_) break;
      // Another thread is writing: wait for it; it or the next leader covers our record.
      struct WaitArg {
        Impl* self;
        uint64_t seq;
      } arg{this, my_seq};
      mu_.Await(absl::Condition(
          +[](WaitArg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !a->self->writing_ || a->self->durable_seq_ >= a->seq;
          },
          &arg));
    }
    // Leader: take everything pending and write it outside the lock.
    writing_ = true;
    std::string batch;
    batch.swap(pending_);
    const uint64_t batch_seq = enqueued_seq_;
    const uint64_t batch_records = batch_seq - durable_seq_;
    if (segment_size_ > 0 && segment_size_ + batch.size() > opts_.segment_bytes) {
      absl::Status s = OpenSegmentLocked(segment_ + 1);
      if (!s.ok()) {
        error_ = s;
        writing_ = false;
        return s;
      }
    }
    const int fd = fd_;
    const uint64_t seg = segment_;
    const std::string path = Path(seg);
    mu_.Unlock();
    absl::Status s = WriteAll(fd, batch.data(), batch.size(), path);
    if (s.ok() && opts_.sync == WalSync::kAlways) {
      auto start = std::chrono::steady_clock::now();
      if (::fdatasync(fd) != 0) s = Errno("fdatasync", path);
      if (fsyncs_) {
        fsyncs_->Inc();
        fsync_seconds_->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    mu_.Lock();
    writing_ = false;
    if (!s.ok()) {
      // A failed write leaves the segment in an unknown state; refuse further writes rather
      // than acknowledge records that may not be there.
      error_ = s;
      return s;
    }
    segment_size_ += batch.size();
    durable_seq_ = batch_seq;
    durable_segment_ = seg;
    if (records_) {
      records_->Inc(static_cast<double>(batch_records));
      bytes_->Inc(static_cast<double>(batch.size()));
      writes_->Inc();
    }
    return seg;
  }

  uint64_t CurrentSegment() {
    absl::MutexLock lock(&mu_);
    return segment_;
  }

  absl::StatusOr<uint64_t> Cut() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !self->writing_; }, this));
    if (!pending_.empty()) {
      // Records are pending with no leader yet; let their owners write them first.
      writing_ = true;
      std::string batch;
      batch.swap(pending_);
      absl::Status s = WriteAll(fd_, batch.data(), batch.size(), Path(segment_));
      writing_ = false;
      if (!s.ok()) {
        error_ = s;
        return s;
      }
      durable_seq_ = enqueued_seq_;
      durable_segment_ = segment_;
    }
    absl::Status s = OpenSegmentLocked(segment_ + 1);
    if (!s.ok()) return s;
    return segment_;
  }

  absl::Status TruncateBefore(uint64_t segment) {
    uint64_t current = CurrentSegment();
    DIR* d = ::opendir(opts_.dir.c_str());
    if (!d) return Errno("open WAL dir", opts_.dir);
    std::vector<uint64_t> doomed;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() != 20 || name.find_first_not_of("0123456789") != std::string::npos) continue;
      uint64_t n = std::stoull(name);
      if (n < segment && n < current) doomed.push_back(n);
    }
    ::closedir(d);
    for (uint64_t n : doomed) {
      if (::unlink(Path(n).c_str()) != 0 && errno != ENOENT) return Errno("remove WAL segment", Path(n));
    }
    return absl::OkStatus();
  }

  uint64_t SizeBytes() const {
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(opts_.dir, ec)) {
      total += e.is_regular_file(ec) ? e.file_size(ec) : 0;
    }
    return total;
  }

 private:
  WalOptions opts_;
  std::vector<uint64_t> existing_;
  Counter* records_ = nullptr;
  Counter* bytes_ = nullptr;
  Counter* writes_ = nullptr;
  Counter* fsyncs_ = nullptr;
  Histogram* fsync_seconds_ = nullptr;
  Gauge* segment_gauge_ = nullptr;

  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t segment_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t segment_size_ ABSL_GUARDED_BY(mu_) = 0;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  uint64_t enqueued_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_segment_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

Wal::Wal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Wal::~Wal() = default;

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(WalOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Open(); !s.ok()) return s;
  return std::unique_ptr<Wal>(new Wal(std::move(impl)));
}

absl::StatusOr<Wal::ReplayStats> Wal::Replay(
    const std::function<absl::Status(uint64_t, std::string_view)>& fn) {
  return impl_->Replay(fn);
}
absl::StatusOr<uint64_t> Wal::Log(std::string_view record) { return impl_->Log(record); }
uint64_t Wal::CurrentSegment() const { return impl_->CurrentSegment(); }
absl::StatusOr<uint64_t> Wal::Cut() { return impl_->Cut(); }
absl::Status Wal::TruncateBefore(uint64_t segment) { return impl_->TruncateBefore(segment); }
uint64_t Wal::SizeBytes() const { return impl_->SizeBytes(); }

}  // namespace pharos::storage
