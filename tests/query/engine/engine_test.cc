#include "query/engine/engine.h"

#include <gtest/gtest.h>

namespace pharos::promql {
namespace {

TEST(EngineTest, ErrorTypeNames) {
  EXPECT_EQ(ErrorTypeName(ErrorType::kBadData), "bad_data");
}

}  // namespace
}  // namespace pharos::promql
