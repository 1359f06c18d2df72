#include "server/ingest/scrape_format.h"

#include <zlib.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pharos::ingest {
namespace {

using ::testing::HasSubstr;

std::string Gzip(std::string_view in) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(ContentTypeTest, PicksParserByMediaType) {
  EXPECT_EQ(*FormatForContentType("text/plain; version=0.0.4; charset=utf-8"),
            ExpositionFormat::kPrometheusText);
  EXPECT_EQ(*FormatForContentType("text/plain;version=1.0.0;escaping=allow-utf-8"),
            ExpositionFormat::kPrometheusText);
  EXPECT_EQ(*FormatForContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(*FormatForContentType("Application/OpenMetrics-Text;version=0.0.1"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(*FormatForContentType("  text/plain  "), ExpositionFormat::kPrometheusText);
}

TEST(ContentTypeTest, BlankUnknownAndProtobuf) {
  absl::StatusOr<ExpositionFormat> f = FormatForContentType("");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("blank Content-Type"));

  f = FormatForContentType("application/json");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(std::string(f.status().message()),
            "unsupported Content-Type \"application/json\" and no fallback scrape protocol "
            "configured");

  f = FormatForContentType(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kUnimplemented);

  EXPECT_FALSE(FormatForContentType("text/plain/x").ok());
  EXPECT_FALSE(FormatForContentType("/plain").ok());

  EXPECT_EQ(*FormatForContentType("", ExpositionFormat::kPrometheusText),
            ExpositionFormat::kPrometheusText);
  EXPECT_EQ(*FormatForContentType("text/html", ExpositionFormat::kOpenMetrics),
            ExpositionFormat::kOpenMetrics);
}

TEST(ContentTypeTest, AcceptHeaderIsPrometheus3Default) {
  EXPECT_EQ(kScrapeAcceptHeader,
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
            "application/openmetrics-text;version=0.0.1;q=0.5,"
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
            "text/plain;version=0.0.4;q=0.3,*/*;q=0.2");
}

TEST(GunzipTest, RoundTrip) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "metric{i=\"" + std::to_string(i) + "\"} 1\n";
  std::string out = "stale";
  ASSERT_TRUE(GunzipBody(Gzip(body), 0, &out).ok());
  EXPECT_EQ(out, body);
  ASSERT_TRUE(GunzipBody(Gzip(body), body.size(), &out).ok());
  EXPECT_EQ(out, body);
}

TEST(GunzipTest, EmptyPayload) {
  std::string out = "x";
  ASSERT_TRUE(GunzipBody(Gzip(""), 10, &out).ok());
  EXPECT_EQ(out, "");
}

TEST(GunzipTest, ConcatenatedMembers) {
  std::string out;
  ASSERT_TRUE(GunzipBody(Gzip("a 1\n") + Gzip("b 2\n"), 100, &out).ok());
  EXPECT_EQ(out, "a 1\nb 2\n");
}

TEST(GunzipTest, OverLimit) {
  std::string body(100000, 'x');
  std::string out;
  absl::Status s = GunzipBody(Gzip(body), body.size() - 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(std::string(s.message()),
            "body size limit exceeded: decompressed body is larger than 99999 bytes");
  EXPECT_TRUE(out.empty());
  // A gzip bomb stops at the limit, not at the end of the stream.
  std::string bomb = Gzip(std::string(50 << 20, '\0'));
  s = GunzipBody(bomb, 1 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
}

TEST(GunzipTest, CorruptAndTruncated) {
  std::string gz = Gzip("metric 1\nmetric 2\nmetric 3\n");
  std::string out;
  absl::Status s = GunzipBody(gz.substr(0, gz.size() - 6), 0, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "gzip: unexpected end of compressed body");

  s = GunzipBody("not gzip at all", 0, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("gzip: corrupt body"));

  s = GunzipBody("", 0, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  std::string flipped = gz;
  flipped[gz.size() / 2] ^= 0x55;
  EXPECT_FALSE(GunzipBody(flipped, 0, &out).ok());
}

}  // namespace
}  // namespace pharos::ingest
