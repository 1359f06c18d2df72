#include "common/json.h"

#include <cmath>

#include "gtest/gtest.h"

namespace pharos {
namespace {

TEST(JsonWriter, NestedWithCommasAndEscapes) {
  JsonWriter w;
  w.BeginObject();
  w.KV("status", "success");
  w.Key("data");
  w.BeginArray();
  w.String("a\"b\\c\n\x01");
  w.Int(-42);
  w.Double(0.5);
  w.Double(std::nan(""));
  w.Bool(true);
  w.Null();
  w.BeginObject();
  w.EndObject();
  w.EndArray();
  w.Key("raw");
  w.Raw("[1,2]");
  w.EndObject();
  EXPECT_EQ(w.str(),
            R"({"status":"success","data":["a\"b\\c\n\u0001",-42,0.5,null,true,null,{}],)"
            R"("raw":[1,2]})");
}

}  // namespace
}  // namespace pharos
