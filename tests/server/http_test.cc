#include "server/http/http.h"

#include "gtest/gtest.h"

namespace pharos::http {
namespace {

TEST(Url, DecodeAndForm) {
  EXPECT_EQ(UrlDecode("a%20b+c%2", true), "a b c%2");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
  auto p = ParseUrlEncoded("query=up%7Bjob%3D%22x%22%7D&&time=1.5&flag&match%5B%5D=a");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].second, "up{job=\"x\"}");
  EXPECT_EQ(p[1].first, "time");
  EXPECT_EQ(p[2].first, "flag");
  EXPECT_EQ(p[3].first, "match[]");
}

TEST(Request, ParamsMergeQueryAndFormBody) {
  Request r;
  r.method = Method::kPost;
  r.query = "a=1";
  r.headers = {{"content-type", "application/x-www-form-urlencoded; charset=UTF-8"}};
  r.body = "b=2&c=x+y";
  auto p = r.Params();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[2].second, "x y");
  EXPECT_EQ(r.Header("Content-Type"), "application/x-www-form-urlencoded; charset=UTF-8");
  r.headers = {{"content-type", "application/json"}};
  EXPECT_EQ(r.Params().size(), 1u);
}

TEST(Router, ExactPrefixAndMethods) {
  Router router;
  auto h = [](const Request&) { return Response::Text(200, "x"); };
  router.Handle("/api/v1/query", {Method::kGet, Method::kPost}, h);
  router.Handle("/api/v1/label/", {Method::kGet}, h);
  router.Handle("/api/v1/label/special", {Method::kDelete}, h);
  EXPECT_NE(router.Find("/api/v1/query", Method::kPost).route, nullptr);
  auto m = router.Find("/api/v1/query", Method::kDelete);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_NE(router.Find("/api/v1/label/job/values", Method::kGet).route, nullptr);
  EXPECT_NE(router.Find("/api/v1/label/special", Method::kDelete).route, nullptr);
  EXPECT_EQ(router.Find("/api/v1/label/special", Method::kGet).route, nullptr);
  auto none = router.Find("/api/v1/nope", Method::kGet);
  EXPECT_FALSE(none.path_known);
  EXPECT_EQ(router.Find("/api/v1/query/x", Method::kGet).route, nullptr);
}

}  // namespace
}  // namespace pharos::http
