#pragma once

// Postings: sorted streams of series refs, and lazy set operations over them (Prometheus
// index.Postings). Intersect/Merge/Without pull from their inputs on demand and never copy
// them; only ExpandPostings materialises.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pharos::storage {

using SeriesRef = uint64_t;

class Postings {
 public:
  virtual ~Postings() = default;
  // Advances to the next ref; false when exhausted (or on error, see Err()).
  virtual bool Next() = 0;
  // Advances to the first ref >= v; does not move if already there. False when exhausted.
  // May be called before the first Next().
  virtual bool Seek(SeriesRef v) = 0;
  // The current ref; valid only after Next()/Seek() returned true.
  virtual SeriesRef At() const = 0;
  // The error that stopped iteration, if any.
  virtual absl::Status Err() const = 0;
};

using PostingsPtr = std::unique_ptr<Postings>;

PostingsPtr EmptyPostings();
PostingsPtr ErrPostings(absl::Status status);
// Over a sorted, duplicate-free span that must outlive the iterator.
PostingsPtr NewListPostings(std::span<const SeriesRef> refs);
// Owns its sorted, duplicate-free vector.
PostingsPtr NewOwningListPostings(std::vector<SeriesRef> refs);

// Refs present in every input. Empty input list -> empty postings.
PostingsPtr Intersect(std::vector<PostingsPtr> its);
// Refs present in any input (k-way heap merge, duplicates removed).
PostingsPtr Merge(std::vector<PostingsPtr> its);
// Refs in `full` that are not in `drop`.
PostingsPtr Without(PostingsPtr full, PostingsPtr drop);

[[nodiscard]] absl::StatusOr<std::vector<SeriesRef>> ExpandPostings(Postings& p);

}  // namespace pharos::storage
