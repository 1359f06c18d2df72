#include "storage/index/postings.h"

#include <algorithm>
#include <utility>

namespace pharos::storage {
namespace {

class EmptyPostingsImpl final : public Postings {
 public:
  bool Next() override { return false; }
  bool Seek(SeriesRef) override { return false; }
  SeriesRef At() const override { return 0; }
  absl::Status Err() const override { return absl::OkStatus(); }
};

class ErrPostingsImpl final : public Postings {
 public:
  explicit ErrPostingsImpl(absl::Status s) : status_(std::move(s)) {}
  bool Next() override { return false; }
  bool Seek(SeriesRef) override { return false; }
  SeriesRef At() const override { return 0; }
  absl::Status Err() const override { return status_; }

 private:
  absl::Status status_;
};

class ListPostings : public Postings {
 public:
  explicit ListPostings(std::span<const SeriesRef> refs) : refs_(refs) {}

  bool Next() override {
    if (!started_) {
      started_ = true;
      return pos_ < refs_.size();
    }
    if (pos_ < refs_.size()) ++pos_;
    return pos_ < refs_.size();
  }

  bool Seek(SeriesRef v) override {
    started_ = true;
    if (pos_ >= refs_.size()) return false;
    if (refs_[pos_] >= v) return true;
    // Gallop from the current position, then binary search the bracket: cheap when the
    // target is near (dense intersections) and logarithmic when it is far.
    size_t lo = pos_ + 1, step = 1, hi = lo;
    while (hi < refs_.size() && refs_[hi] < v) {
      lo = hi + 1;
      step <<= 1;
      hi = lo + step;
    }
    hi = std::min(hi, refs_.size());
    pos_ = static_cast<size_t>(std::lower_bound(refs_.begin() + lo, refs_.begin() + hi, v) -
                               refs_.begin());
    return pos_ < refs_.size();
  }

  SeriesRef At() const override { return refs_[pos_]; }
  absl::Status Err() const override { return absl::OkStatus(); }

 protected:
  void Reset(std::span<const SeriesRef> refs) { refs_ = refs; }

 private:
  std::span<const SeriesRef> refs_;
  size_t pos_ = 0;
  bool started_ = false;
};

class OwningListPostings final : public ListPostings {
 public:
  explicit OwningListPostings(std::vector<SeriesRef> refs)
      : ListPostings({}), refs_(std::move(refs)) {
    Reset(refs_);
  }

 private:
  std::vector<SeriesRef> refs_;
};

// Leapfrog intersection: seek every input to the largest current ref until all agree.
class IntersectPostings final : public Postings {
 public:
  explicit IntersectPostings(std::vector<PostingsPtr> its) : its_(std::move(its)) {}

  bool Next() override {
    if (!its_[0]->Next()) return false;
    return DoNext(its_[0]->At());
  }
  bool Seek(SeriesRef v) override {
    if (!its_[0]->Seek(v)) return false;
    return DoNext(its_[0]->At());
  }
  SeriesRef At() const override { return cur_; }
  absl::Status Err() const override {
    for (const auto& it : its_) {
      if (absl::Status s = it->Err(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  bool DoNext(SeriesRef target) {
    for (;;) {
      bool agreed = true;
      for (auto& it : its_) {
        if (!it->Seek(target)) return false;
        if (const SeriesRef at = it->At(); at > target) {
          target = at;
          agreed = false;
        }
      }
      if (agreed) {
        cur_ = target;
        return true;
      }
    }
  }

  std::vector<PostingsPtr> its_;
  SeriesRef cur_ = 0;
};

// k-way union with a binary min-heap of the non-exhausted inputs.
class MergePostings final : public Postings {
 public:
  explicit MergePostings(std::vector<PostingsPtr> its) : its_(std::move(its)) {}

  bool Next() override {
    if (!initialized_) {
      initialized_ = true;
      for (auto& it : its_) {
        if (it->Next()) heap_.push_back(it.get());
        else if (!it->Err().ok()) err_ = it->Err();
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Pop();
    }
    // Advance every input sitting at cur_.
    while (!heap_.empty() && heap_.front()->At() == cur_) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      Postings* p = heap_.back();
      if (p->Next()) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        if (!p->Err().ok()) err_ = p->Err();
        heap_.pop_back();
      }
    }
    return Pop();
  }

  bool Seek(SeriesRef v) override {
    if (!initialized_) {
      initialized_ = true;
      for (auto& it : its_) {
        if (it->Seek(v)) heap_.push_back(it.get());
        else if (!it->Err().ok()) err_ = it->Err();
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Pop();
    }
    if (has_cur_ && cur_ >= v) return true;
    while (!heap_.empty() && heap_.front()->At() < v) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      Postings* p = heap_.back();
      if (p->Seek(v)) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        if (!p->Err().ok()) err_ = p->Err();
        heap_.pop_back();
      }
    }
    return Pop();
  }

  SeriesRef At() const override { return cur_; }
  absl::Status Err() const override { return err_; }

 private:
  static bool Greater(const Postings* a, const Postings* b) { return a->At() > b->At(); }

  // Makes the heap minimum current (without advancing it).
  bool Pop() {
    if (heap_.empty() || !err_.ok()) {
      has_cur_ = false;
      return false;
    }
    cur_ = heap_.front()->At();
    has_cur_ = true;
    return true;
  }

  std::vector<PostingsPtr> its_;
  std::vector<Postings*> heap_;
  SeriesRef cur_ = 0;
  bool has_cur_ = false;
  bool initialized_ = false;
  absl::Status err_;
};

class WithoutPostings final : public Postings {
 public:
  WithoutPostings(PostingsPtr full, PostingsPtr drop)
      : full_(std::move(full)), drop_(std::move(drop)) {}

  bool Next() override {
    if (!full_->Next()) return false;
    return Skip();
  }
  bool Seek(SeriesRef v) override {
    if (!full_->Seek(v)) return false;
    return Skip();
  }
  SeriesRef At() const override { return full_->At(); }
  absl::Status Err() const override {
    if (absl::Status s = full_->Err(); !s.ok()) return s;
    return drop_->Err();
  }

 private:
  // Moves full_ forward past refs present in drop_.
  bool Skip() {
    for (;;) {
      const SeriesRef at = full_->At();
      if (drop_ok_) {
        if (!drop_->Seek(at)) {
          drop_ok_ = false;
          if (!drop_->Err().ok()) return false;
        }
      }
      if (!drop_ok_ || drop_->At() != at) return true;
      if (!full_->Next()) return false;
    }
  }

  PostingsPtr full_;
  PostingsPtr drop_;
  bool drop_ok_ = true;
};

}  // namespace

PostingsPtr EmptyPostings() { return std::make_unique<EmptyPostingsImpl>(); }

PostingsPtr ErrPostings(absl::Status status) {
  return std::make_unique<ErrPostingsImpl>(std::move(status));
}

PostingsPtr NewListPostings(std::span<const SeriesRef> refs) {
  return std::make_unique<ListPostings>(refs);
}

PostingsPtr NewOwningListPostings(std::vector<SeriesRef> refs) {
  return std::make_unique<OwningListPostings>(std::move(refs));
}

PostingsPtr Intersect(std::vector<PostingsPtr> its) {
  if (its.empty()) return EmptyPostings();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<IntersectPostings>(std::move(its));
}

PostingsPtr Merge(std::vector<PostingsPtr> its) {
  if (its.empty()) return EmptyPostings();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<MergePostings>(std::move(its));
}

PostingsPtr Without(PostingsPtr full, PostingsPtr drop) {
  return std::make_unique<WithoutPostings>(std::move(full), std::move(drop));
}

absl::StatusOr<std::vector<SeriesRef>> ExpandPostings(Postings& p) {
  std::vector<SeriesRef> out;
  while (p.Next()) out.push_back(p.At());
  if (absl::Status s = p.Err(); !s.ok()) return s;
  return out;
}

}  // namespace pharos::storage
