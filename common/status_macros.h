#pragma once

// Debian's Abseil (20220623) predates ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN; these are
// the two local equivalents (STYLE.md). Usage:
//   PHAROS_RETURN_IF_ERROR(DoThing());
//   PHAROS_ASSIGN_OR_RETURN(auto value, ComputeValue());

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PHAROS_STATUS_CONCAT_INNER_(a, b) a##b
#define PHAROS_STATUS_CONCAT_(a, b) PHAROS_STATUS_CONCAT_INNER_(a, b)

#define PHAROS_RETURN_IF_ERROR(expr)                        \
  do {                                                      \
    if (::absl::Status pharos_status_ = (expr); !pharos_status_.ok()) { \
      return pharos_status_;                                \
    }                                                       \
  } while (0)

#define PHAROS_ASSIGN_OR_RETURN(lhs, rexpr) \
  PHAROS_ASSIGN_OR_RETURN_IMPL_(PHAROS_STATUS_CONCAT_(pharos_statusor_, __LINE__), lhs, rexpr)

#define PHAROS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) {                                     \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = std::move(statusor).value()
