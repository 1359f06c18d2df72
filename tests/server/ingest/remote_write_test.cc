#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "server/ingest/remote_write_append.h"
#include "server/ingest/remote_write_decoder.h"
#include "server/ingest/remote_write_negotiate.h"
#include "server/ingest/snappy_block.h"
#include "tests/server/ingest/rw_test_util.h"

namespace pharos::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::AddV1Series;
using testing::FakeAppender;
using testing::NameValues;
using testing::Snappy;
using testing::V2Builder;
namespace v2 = ::io::prometheus::write::v2;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

NameValues ToPairs(std::span<const Label> ls) {
  NameValues out;
  for (const Label& l : ls) out.emplace_back(std::string(l.name), std::string(l.value));
  return out;
}

// ---- content negotiation ---------------------------------------------------------------------

TEST(NegotiateTest, Versions) {
  EXPECT_EQ(*NegotiateRemoteWrite("application/x-protobuf", "snappy", "0.1.0"),
            RemoteWriteVersion::kV1);
  EXPECT_EQ(*NegotiateRemoteWrite("application/x-protobuf;proto=prometheus.WriteRequest",
                                  "snappy"),
            RemoteWriteVersion::kV1);
  EXPECT_EQ(*NegotiateRemoteWrite("application/x-protobuf;proto=io.prometheus.write.v2.Request",
                                  "snappy", "2.0.0"),
            RemoteWriteVersion::kV2);
  EXPECT_EQ(*NegotiateRemoteWrite("Application/X-Protobuf ; charset=utf-8; proto = "
                                  "\"io.prometheus.write.v2.Request\"",
                                  "SNAPPY"),
            RemoteWriteVersion::kV2);
  // Missing Content-Type and Content-Encoding: 1.0 and snappy, as Prometheus does.
  EXPECT_EQ(*NegotiateRemoteWrite("", ""), RemoteWriteVersion::kV1);
  // The version header does not choose the message; Content-Type does.
  EXPECT_EQ(*NegotiateRemoteWrite("application/x-protobuf", "snappy", "2.0.0"),
            RemoteWriteVersion::kV1);
  EXPECT_EQ(RemoteWriteContentType(RemoteWriteVersion::kV2),
            "application/x-protobuf;proto=io.prometheus.write.v2.Request");
}

TEST(NegotiateTest, UnsupportedIs415WithPrometheusWording) {
  auto r = NegotiateRemoteWrite("application/json", "snappy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Msg(r.status()),
            "expected application/x-protobuf as the first (media) part, got application/json "
            "content-type");
  r = NegotiateRemoteWrite("application/x-protobuf;proto=foo.Bar", "snappy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Msg(r.status()),
            "got application/x-protobuf;proto=foo.Bar content type; unknown remote write "
            "protobuf message foo.Bar, supported: prometheus.WriteRequest, "
            "io.prometheus.write.v2.Request");
  r = NegotiateRemoteWrite("application/x-protobuf;proto", "snappy");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Msg(r.status()), HasSubstr("expected parameters to be key-values"));
  r = NegotiateRemoteWrite("application/x-protobuf", "gzip");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Msg(r.status()),
            "gzip encoding (compression) is not accepted by this server; only snappy is "
            "acceptable");
}

// ---- snappy ------------------------------------------------------------------------------------

TEST(SnappyTest, RoundTripReusesBuffer) {
  std::string out;
  const std::string raw(100000, 'x');
  ASSERT_TRUE(SnappyUncompress(Snappy(raw), 1 << 20, &out).ok());
  EXPECT_EQ(out, raw);
  const size_t cap = out.capacity();
  ASSERT_TRUE(SnappyUncompress(Snappy("abc"), 1 << 20, &out).ok());
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(out.capacity(), cap);
}

TEST(SnappyTest, BombRefusedBeforeAllocating) {
  // Header: varint 0xFFFFFFFF (4 GiB - 1), then a few literal bytes.
  const std::string bomb = std::string("\xff\xff\xff\xff\x0f", 5) + std::string("\x00x", 2);
  std::string out;
  const absl::Status s = SnappyUncompress(bomb, 64 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Msg(s), "snappy: decompressed size 4294967295 bytes exceeds the limit of 67108864 bytes");
  EXPECT_EQ(out.capacity() < 1024, true);
  // Limit is inclusive.
  EXPECT_TRUE(SnappyUncompress(Snappy(std::string(1000, 'a')), 1000, &out).ok());
  EXPECT_EQ(SnappyUncompress(Snappy(std::string(1001, 'a')), 1000, &out).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SnappyTest, CorruptInput) {
  std::string out;
  EXPECT_EQ(SnappyUncompress("", 100, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SnappyUncompress("\xff\xff\xff", 100, &out).code(),
            absl::StatusCode::kInvalidArgument);
  std::string c = Snappy(std::string(5000, 'q') + "some text that is not repeated");
  c.resize(c.size() - 3);
  const absl::Status s = SnappyUncompress(c, 1 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(s), "snappy: corrupt input");
  // Framed (stream) format is refused clearly.
  EXPECT_FALSE(SnappyUncompress(std::string("\xff\x06\x00\x00sNaPpY", 10), 1 << 20, &out).ok());
}

// ---- 1.0 decoding -----------------------------------------------------------------------------

TEST(DecodeV1Test, SeriesSamplesMetadataExemplarsHistograms) {
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "up"}, {"job", "api"}, {"instance", "a:1"}},
              {{1000, 1}, {16000, 0}});
  AddV1Series(&req, {{"__name__", "http_requests_total"}, {"code", "200"}, {"empty", ""}},
              {{2000, 42.5}});
  auto* ts = req.mutable_timeseries(1);
  auto* ex = ts->add_exemplars();
  ex->add_labels()->set_name("trace_id");
  ex->mutable_labels(0)->set_value("abc");
  ex->set_value(1);
  ts->add_exemplars()->set_value(2);
  auto* h = ts->add_histograms();
  h->set_count_int(3);
  h->set_schema(0);
  auto* span = h->add_positive_spans();
  span->set_offset(0);
  span->set_length(2);
  h->add_positive_deltas(1);
  h->add_positive_deltas(1);
  auto* bad = ts->add_histograms();  // float count with integer deltas: invalid
  bad->set_count_float(1);
  bad->add_positive_spans()->set_length(1);
  bad->add_positive_deltas(1);
  auto* md = req.add_metadata();
  md->set_type(::prometheus::MetricMetadata::COUNTER);
  md->set_metric_family_name("http_requests_total");
  md->set_help("Requests.");
  md->set_unit("requests");

  RemoteWriteDecoder dec;
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV1, Snappy(req.SerializeAsString())).ok());
  const DecodedRequest& r = dec.result();
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_EQ(r.num_series_rejected, 0u);
  // Sorted; empty value dropped.
  EXPECT_EQ(ToPairs(r.LabelsOf(r.series[0])),
            (NameValues{{"__name__", "up"}, {"instance", "a:1"}, {"job", "api"}}));
  EXPECT_EQ(ToPairs(r.LabelsOf(r.series[1])),
            (NameValues{{"__name__", "http_requests_total"}, {"code", "200"}}));
  EXPECT_THAT(r.SamplesOf(r.series[0]), ElementsAre(Sample{1000, 1}, Sample{16000, 0}));
  EXPECT_THAT(r.SamplesOf(r.series[1]), ElementsAre(Sample{2000, 42.5}));
  EXPECT_EQ(r.series[1].num_exemplars, 2u);
  EXPECT_EQ(r.series[1].num_histograms, 2u);
  EXPECT_EQ(r.series[1].num_invalid_histograms, 1u);
  EXPECT_EQ(r.num_samples, 3u);
  EXPECT_EQ(r.num_exemplars, 2u);
  EXPECT_EQ(r.num_histograms, 2u);
  ASSERT_EQ(r.metadata.size(), 1u);
  EXPECT_EQ(r.metadata[0].type, RwMetricType::kCounter);
  EXPECT_EQ(r.metadata[0].family_name, "http_requests_total");
  EXPECT_EQ(r.metadata[0].help, "Requests.");
  EXPECT_EQ(r.metadata[0].unit, "requests");
  // Same label set, same key, whatever the order sent.
  ::prometheus::WriteRequest req2;
  AddV1Series(&req2, {{"job", "api"}, {"instance", "a:1"}, {"__name__", "up"}}, {{1, 1}});
  const SeriesKey k0 = r.series[0].key;
  const std::string wire = req2.SerializeAsString();  // outlives the decoded views
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, wire).ok());
  EXPECT_EQ(dec.result().series[0].key, k0);
}

TEST(DecodeV1Test, ResetKeepsCapacity) {
  ::prometheus::WriteRequest req;
  for (int i = 0; i < 100; ++i) AddV1Series(&req, testing::NodeExporterLabels(i), {{1, 2}});
  const std::string body = Snappy(req.SerializeAsString());
  RemoteWriteDecoder dec;
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV1, body).ok());
  const size_t cap_labels = dec.result().labels.capacity();
  const size_t cap_series = dec.result().series.capacity();
  const Label* labels_data = dec.result().labels.data();
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV1, body).ok());
  EXPECT_EQ(dec.result().labels.capacity(), cap_labels);
  EXPECT_EQ(dec.result().series.capacity(), cap_series);
  EXPECT_EQ(dec.result().labels.data(), labels_data);
  EXPECT_EQ(dec.result().series.size(), 100u);
}

// Adds unknown fields of every wire type (varint, fixed64, length, group, fixed32).
void AddUnknowns(google::protobuf::Message* m) {
  auto* u = m->GetReflection()->MutableUnknownFields(m);
  u->AddVarint(1000, 12345678901ull);
  u->AddFixed64(1001, 7);
  u->AddLengthDelimited(1002, "opaque");
  auto* g = u->AddGroup(1003);
  g->AddVarint(1, 1);
  g->AddGroup(2)->AddFixed32(3, 9);
  u->AddFixed32(1004, 5);
}

TEST(DecodeV1Test, UnknownFieldsSkippedAtEveryLevel) {
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "up"}, {"job", "a"}}, {{5, 6}});
  auto* ts = req.mutable_timeseries(0);
  AddUnknowns(&req);
  AddUnknowns(ts);
  AddUnknowns(ts->mutable_labels(0));
  AddUnknowns(ts->mutable_samples(0));
  AddUnknowns(ts->add_exemplars());
  AddUnknowns(ts->add_histograms());
  AddUnknowns(req.add_metadata());
  RemoteWriteDecoder dec;
  const std::string wire = req.SerializeAsString();  // outlives the decoded views
  const absl::Status s = dec.Decode(RemoteWriteVersion::kV1, wire);
  ASSERT_TRUE(s.ok()) << s;
  const DecodedRequest& r = dec.result();
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_EQ(ToPairs(r.LabelsOf(r.series[0])), (NameValues{{"__name__", "up"}, {"job", "a"}}));
  EXPECT_THAT(r.SamplesOf(r.series[0]), ElementsAre(Sample{5, 6}));
  EXPECT_EQ(r.series[0].num_exemplars, 1u);
  EXPECT_EQ(r.series[0].num_histograms, 1u);
  EXPECT_EQ(r.metadata.size(), 1u);
}

// ---- 2.0 decoding -----------------------------------------------------------------------------

TEST(DecodeV2Test, SymbolsMetadataCreatedTimestampExemplarsHistograms) {
  V2Builder b;
  auto* ts = b.AddSeries({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}},
                         {{1000, 5}, {16000, 7}});
  ts->mutable_metadata()->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
  ts->mutable_metadata()->set_help_ref(b.Ref("Total requests."));
  ts->mutable_metadata()->set_unit_ref(b.Ref("requests"));
  ts->set_created_timestamp(500);
  auto* ex = ts->add_exemplars();
  ex->add_labels_refs(b.Ref("trace_id"));
  ex->add_labels_refs(b.Ref("0af7651916cd43dd"));
  ex->set_value(1.5);
  auto* ts2 = b.AddSeries({{"__name__", "latency_seconds"}, {"job", "api"}}, {});
  auto* h = ts2->add_histograms();
  h->set_count_float(2);
  h->set_schema(3);
  h->add_negative_spans()->set_length(1);
  h->add_negative_counts(2);
  ts2->add_histograms()->set_schema(9);  // unknown schema: invalid
  RemoteWriteDecoder dec;
  const absl::Status s =
      dec.DecodeSnappy(RemoteWriteVersion::kV2, Snappy(b.req().SerializeAsString()));
  ASSERT_TRUE(s.ok()) << s;
  const DecodedRequest& r = dec.result();
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_EQ(ToPairs(r.LabelsOf(r.series[0])),
            (NameValues{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}));
  EXPECT_THAT(r.SamplesOf(r.series[0]), ElementsAre(Sample{1000, 5}, Sample{16000, 7}));
  EXPECT_EQ(r.series[0].type, RwMetricType::kCounter);
  EXPECT_EQ(r.series[0].help, "Total requests.");
  EXPECT_EQ(r.series[0].unit, "requests");
  EXPECT_EQ(r.series[0].created_timestamp_ms, 500);
  EXPECT_EQ(r.series[0].num_exemplars, 1u);
  EXPECT_EQ(r.series[1].num_histograms, 2u);
  EXPECT_EQ(r.series[1].num_invalid_histograms, 1u);
  EXPECT_EQ(r.series[1].type, RwMetricType::kUnknown);
  EXPECT_EQ(r.series[1].help, "");
  EXPECT_EQ(r.num_series_rejected, 0u);
}

TEST(DecodeV2Test, FieldOrderDoesNotMatterAndUnknownsSkipped) {
  V2Builder b;
  b.AddSeries({{"__name__", "up"}, {"job", "x"}}, {{1, 1}});
  AddUnknowns(&b.req());
  AddUnknowns(b.req().mutable_timeseries(0));
  AddUnknowns(b.req().mutable_timeseries(0)->mutable_metadata());
  AddUnknowns(b.req().mutable_timeseries(0)->add_exemplars());
  // Timeseries before symbols on the wire.
  v2::Request series_only, symbols_only;
  *series_only.mutable_timeseries() = b.req().timeseries();
  *symbols_only.mutable_symbols() = b.req().symbols();
  const std::string body = series_only.SerializeAsString() + symbols_only.SerializeAsString();
  RemoteWriteDecoder dec;
  const absl::Status s = dec.Decode(RemoteWriteVersion::kV2, body);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(dec.result().series.size(), 1u);
  EXPECT_EQ(ToPairs(dec.result().LabelsOf(dec.result().series[0])),
            (NameValues{{"__name__", "up"}, {"job", "x"}}));
}

TEST(DecodeV2Test, SeriesKeyIndependentOfVersionAndOrder) {
  const NameValues sorted{{"__name__", "up"}, {"instance", "a:1"}, {"job", "x"}};
  const NameValues unsorted{{"job", "x"}, {"__name__", "up"}, {"empty", ""}, {"instance", "a:1"}};
  std::vector<SeriesKey> keys;
  for (const NameValues& ls : {sorted, unsorted}) {
    V2Builder b;
    b.AddSeries(ls, {{1, 1}});
    ::prometheus::WriteRequest v1;
    AddV1Series(&v1, ls, {{1, 1}});
    RemoteWriteDecoder dec;
    ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV2, b.req().SerializeAsString()).ok());
    keys.push_back(dec.result().series[0].key);
    ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, v1.SerializeAsString()).ok());
    keys.push_back(dec.result().series[0].key);
  }
  for (const SeriesKey& k : keys) EXPECT_EQ(k, keys[0]);
  ::prometheus::WriteRequest other;
  AddV1Series(&other, {{"__name__", "up"}, {"instance", "a:1"}, {"job", "y"}}, {{1, 1}});
  RemoteWriteDecoder dec;
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, other.SerializeAsString()).ok());
  EXPECT_NE(dec.result().series[0].key, keys[0]);
}

TEST(DecodeV2Test, UnpackedLabelRefsAccepted) {
  // labels_refs as individual varints (wire type 0) instead of packed.
  std::string ts;
  for (uint8_t ref : {1, 2}) ts += std::string{'\x08', static_cast<char>(ref)};
  std::string body("\x22\x00\x22\x08__name__\x22\x02up", 16);  // symbols "", __name__, up
  body += std::string{'\x2a', static_cast<char>(ts.size())} + ts;
  RemoteWriteDecoder dec;
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV2, std::string_view(body.data(), body.size())).ok());
  ASSERT_EQ(dec.result().series.size(), 1u);
  EXPECT_EQ(ToPairs(dec.result().LabelsOf(dec.result().series[0])),
            (NameValues{{"__name__", "up"}}));
}

// ---- bad input ---------------------------------------------------------------------------------

absl::Status DecodeRaw(RemoteWriteVersion v, std::string_view body) {
  RemoteWriteDecoder dec;
  return dec.Decode(v, body);
}

TEST(DecodeErrorsTest, WireFormat) {
  using V = RemoteWriteVersion;
  // Truncated varint (tag of field 1 LEN, then a length varint with the continuation bit).
  absl::Status s = DecodeRaw(V::kV1, std::string("\x0a\x80", 2));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), HasSubstr("truncated varint at byte 2 of 2"));
  // Length past the end.
  s = DecodeRaw(V::kV1, std::string("\x0a\x05\x0a\x01", 4));
  EXPECT_THAT(Msg(s), HasSubstr("length-delimited field past the end"));
  // Wrong wire type for timeseries (varint instead of LEN).
  s = DecodeRaw(V::kV1, std::string("\x08\x01", 2));
  EXPECT_THAT(Msg(s), HasSubstr("WriteRequest: wrong wire type"));
  // Sample value as varint.
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"a", "b"}}, {});
  std::string ts = req.timeseries(0).SerializeAsString() + std::string("\x12\x02\x08\x01", 4);
  s = DecodeRaw(V::kV1, std::string{'\x0a', static_cast<char>(ts.size())} + ts);
  EXPECT_THAT(Msg(s), HasSubstr("Sample: wrong wire type for value"));
  // Field number 0, invalid wire types, stray end-group.
  EXPECT_THAT(Msg(DecodeRaw(V::kV1, std::string("\x00\x00", 2))), HasSubstr("field number 0"));
  EXPECT_THAT(Msg(DecodeRaw(V::kV1, std::string("\x4e", 1))), HasSubstr("invalid wire type"));  // unknown field 9, wire type 6
  EXPECT_THAT(Msg(DecodeRaw(V::kV1, std::string("\x7c", 1))), HasSubstr("unexpected end-group"));
  EXPECT_THAT(Msg(DecodeRaw(V::kV1, std::string("\x7b\x08\x01", 3))),
              HasSubstr("unterminated group"));
  // Overlong varint (11 bytes).
  EXPECT_THAT(Msg(DecodeRaw(V::kV1, std::string("\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                                                12))),
              HasSubstr("varint longer than 10 bytes"));
  // 2.0: symbols must start with "".
  v2::Request v2req;
  v2req.add_symbols("x");
  s = DecodeRaw(V::kV2, v2req.SerializeAsString());
  EXPECT_EQ(Msg(s), "remote write: the symbols table must start with the empty string");
  // 2.0 wrong wire type (labels_refs as fixed64).
  s = DecodeRaw(V::kV2, std::string("\x22\x00\x2a\x09\x09", 5) + std::string(8, '\0'));
  EXPECT_THAT(Msg(s), HasSubstr("TimeSeries: wrong wire type"));
}

TEST(DecodeErrorsTest, WrongMessageForContentType) {
  ::prometheus::WriteRequest v1;
  AddV1Series(&v1, {{"__name__", "up"}}, {{1, 1}});
  EXPECT_THAT(Msg(DecodeRaw(RemoteWriteVersion::kV2, v1.SerializeAsString())),
              HasSubstr("send it with Content-Type application/x-protobuf"));
  V2Builder b;
  b.AddSeries({{"__name__", "up"}}, {{1, 1}});
  EXPECT_THAT(Msg(DecodeRaw(RemoteWriteVersion::kV1, b.req().SerializeAsString())),
              HasSubstr("proto=io.prometheus.write.v2.Request"));
}

TEST(DecodeErrorsTest, PerSeriesRejectionsKeepOtherSeries) {
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "good"}}, {{1, 1}});
  AddV1Series(&req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}}, {{1, 1}, {2, 2}});
  AddV1Series(&req, {{"__name__", "empty_name"}, {"", "x"}}, {{1, 1}});
  AddV1Series(&req, {{"__name__", "bad_utf8"}, {"a", "\xff\xfe"}}, {{1, 1}});
  AddV1Series(&req, {{"__name__", "bad_utf8_name"}, {"\xc3\x28", "v"}}, {{1, 1}});
  AddV1Series(&req, {}, {{1, 1}});
  AddV1Series(&req, {{"only_empty", ""}}, {{1, 1}});
  RemoteWriteDecoder dec;
  const std::string wire = req.SerializeAsString();  // outlives the decoded views
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, wire).ok());
  const DecodedRequest& r = dec.result();
  ASSERT_EQ(r.series.size(), 7u);
  EXPECT_EQ(r.series[0].error, SeriesError::kNone);
  EXPECT_EQ(r.series[1].error, SeriesError::kDuplicateLabelName);
  EXPECT_EQ(r.series[2].error, SeriesError::kEmptyLabelName);
  EXPECT_EQ(r.series[3].error, SeriesError::kInvalidUtf8);
  EXPECT_EQ(r.series[4].error, SeriesError::kInvalidUtf8);
  EXPECT_EQ(r.series[5].error, SeriesError::kNoLabels);
  EXPECT_EQ(r.series[6].error, SeriesError::kNoLabels);
  EXPECT_EQ(r.num_series_rejected, 6u);
  EXPECT_EQ(r.series_rejected_by_reason[static_cast<size_t>(SeriesError::kInvalidUtf8)], 2u);
  EXPECT_EQ(r.first_rejection,
            "duplicate label name \"a\" in series {__name__=\"dup\", a=\"1\", a=\"2\"}");

  FakeAppender app;
  SeriesRefCache cache;
  const AppendStats st = AppendDecoded(r, app, &cache);
  EXPECT_EQ(st.samples_written, 1u);
  EXPECT_EQ(st.samples_rejected, 7u);
  EXPECT_TRUE(st.HasRejections());
  EXPECT_EQ(st.Message(r),
            "7 of 8 samples rejected: 2 in 2 series with no labels, 1 in 1 series with empty "
            "label name, 2 in 1 series with duplicate label name, 2 in 2 series with label name "
            "or value is not valid UTF-8 (first rejected series: duplicate label name \"a\" in "
            "series {__name__=\"dup\", a=\"1\", a=\"2\"})");
}

TEST(DecodeErrorsTest, V2RefsOutOfRangeAndOddRefs) {
  V2Builder b;
  b.AddSeries({{"__name__", "good"}}, {{1, 1}});
  auto* odd = b.AddSeries({{"__name__", "odd"}}, {{1, 1}});
  odd->add_labels_refs(1);
  auto* oor = b.AddSeries({{"__name__", "oor"}}, {{1, 1}});
  oor->add_labels_refs(1);
  oor->add_labels_refs(9999);
  auto* help = b.AddSeries({{"__name__", "help_oor"}}, {{1, 1}});
  help->mutable_metadata()->set_help_ref(12345);
  auto* ex = b.AddSeries({{"__name__", "exemplar_oor"}}, {{1, 1}});
  ex->add_exemplars()->add_labels_refs(777);
  ex->mutable_exemplars(0)->add_labels_refs(1);
  auto* ex_odd = b.AddSeries({{"__name__", "exemplar_odd"}}, {{1, 1}});
  ex_odd->add_exemplars()->add_labels_refs(1);
  auto* empty_name = b.AddSeries({{"__name__", "x"}}, {{1, 1}});
  empty_name->add_labels_refs(0);  // name "" ...
  empty_name->add_labels_refs(b.Ref("v"));
  b.AddSeries({{"__name__", "bad"}, {"a", "\xed\xa0\x80"}}, {{1, 1}});  // surrogate: invalid
  b.AddSeries({{"__name__", "d"}, {"a", "1"}, {"a", "1"}}, {{1, 1}});
  RemoteWriteDecoder dec;
  const std::string wire = b.req().SerializeAsString();  // outlives the decoded views
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV2, wire).ok());
  const DecodedRequest& r = dec.result();
  ASSERT_EQ(r.series.size(), 9u);
  EXPECT_EQ(r.series[0].error, SeriesError::kNone);
  EXPECT_EQ(r.series[1].error, SeriesError::kOddLabelRefs);
  EXPECT_EQ(r.series[2].error, SeriesError::kSymbolRefOutOfRange);
  EXPECT_EQ(r.series[3].error, SeriesError::kSymbolRefOutOfRange);
  EXPECT_EQ(r.series[4].error, SeriesError::kSymbolRefOutOfRange);
  EXPECT_EQ(r.series[5].error, SeriesError::kOddLabelRefs);
  EXPECT_EQ(r.series[6].error, SeriesError::kEmptyLabelName);
  EXPECT_EQ(r.series[7].error, SeriesError::kInvalidUtf8);
  EXPECT_EQ(r.series[8].error, SeriesError::kDuplicateLabelName);
  EXPECT_EQ(r.num_series_rejected, 8u);
}

TEST(DecodeErrorsTest, HugeValuesAndManyLabels) {
  const std::string mb(1 << 20, 'v');
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "big"}, {"a", mb}}, {{1, 1}});
  NameValues many{{"__name__", "many"}};
  for (int i = 0; i < 10000; ++i) many.emplace_back("l" + std::to_string(i), "v");
  AddV1Series(&req, many, {{1, 1}});
  NameValues repeated{{"__name__", "rep"}};
  for (int i = 0; i < 10000; ++i) repeated.emplace_back("same", "v");
  AddV1Series(&req, repeated, {{1, 1}});
  const std::string body = Snappy(req.SerializeAsString());

  // Default limits (labels.h: 64 labels, 4096-byte values): rejected per series, clearly.
  RemoteWriteDecoder dec;
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV1, body).ok());
  const DecodedRequest& r = dec.result();
  EXPECT_EQ(r.series[0].error, SeriesError::kLabelLimit);
  EXPECT_EQ(r.series[1].error, SeriesError::kLabelLimit);
  EXPECT_EQ(r.series[2].error, SeriesError::kDuplicateLabelName);
  EXPECT_THAT(r.first_rejection,
              HasSubstr("label limit exceeded (label name 1 bytes, value 1048576 bytes; limits "
                        "256 and 4096)"));

  // No limits: the big value and the 10001 labels are accepted; duplicates never are.
  DecoderOptions unlimited;
  unlimited.label_limits = LabelLimits{0, 0, 0, false, false};
  RemoteWriteDecoder dec2(unlimited);
  ASSERT_TRUE(dec2.DecodeSnappy(RemoteWriteVersion::kV1, body).ok());
  const DecodedRequest& r2 = dec2.result();
  EXPECT_TRUE(r2.series[0].ok());
  EXPECT_EQ(r2.LabelsOf(r2.series[0])[1].value.size(), mb.size());
  EXPECT_TRUE(r2.series[1].ok());
  EXPECT_EQ(r2.series[1].labels_size, 10001u);
  EXPECT_EQ(r2.series[2].error, SeriesError::kDuplicateLabelName);

  // Decompressed-size limit.
  DecoderOptions small;
  small.max_decompressed_bytes = 1000;
  RemoteWriteDecoder dec3(small);
  EXPECT_EQ(dec3.DecodeSnappy(RemoteWriteVersion::kV1, body).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(DecodeErrorsTest, LegacyNamesAndRequireMetricName) {
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "my.metric"}}, {{1, 1}});
  AddV1Series(&req, {{"job", "x"}}, {{1, 1}});
  DecoderOptions o;
  o.label_limits.legacy_names = true;
  o.label_limits.require_metric_name = true;
  RemoteWriteDecoder dec(o);
  const std::string wire = req.SerializeAsString();  // outlives the decoded views
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, wire).ok());
  EXPECT_EQ(dec.result().series[0].error, SeriesError::kInvalidName);
  EXPECT_EQ(dec.result().series[1].error, SeriesError::kInvalidName);
}

// ---- robustness ------------------------------------------------------------------------------

std::string RichV1Body() {
  ::prometheus::WriteRequest req;
  for (int i = 0; i < 5; ++i) {
    AddV1Series(&req, testing::NodeExporterLabels(i), {{1000 * i, i * 0.5}, {2000 * i, 1}});
  }
  auto* ts = req.mutable_timeseries(0);
  auto* ex = ts->add_exemplars();
  ex->add_labels()->set_name("trace_id");
  auto* h = ts->add_histograms();
  h->add_positive_spans()->set_length(2);
  h->add_positive_deltas(1);
  h->add_positive_deltas(-1);
  h->add_custom_values(1.0);
  req.add_metadata()->set_help("x");
  AddUnknowns(ts);
  return req.SerializeAsString();
}

std::string RichV2Body() {
  V2Builder b;
  for (int i = 0; i < 5; ++i) {
    auto* ts = b.AddSeries(testing::NodeExporterLabels(i), {{1000 * i, i * 0.5}});
    ts->mutable_metadata()->set_help_ref(b.Ref("help " + std::to_string(i)));
    ts->set_created_timestamp(i);
  }
  auto* ts = b.req().mutable_timeseries(1);
  ts->add_exemplars()->add_labels_refs(1);
  ts->mutable_exemplars(0)->add_labels_refs(2);
  auto* h = ts->add_histograms();
  h->set_count_float(1);
  h->add_positive_spans()->set_length(1);
  h->add_positive_counts(1);
  AddUnknowns(ts);
  return b.req().SerializeAsString();
}

TEST(RobustnessTest, TruncationAtEveryOffsetNeverCrashes) {
  for (RemoteWriteVersion v : {RemoteWriteVersion::kV1, RemoteWriteVersion::kV2}) {
    const std::string body = v == RemoteWriteVersion::kV1 ? RichV1Body() : RichV2Body();
    RemoteWriteDecoder dec;
    ASSERT_TRUE(dec.Decode(v, body).ok());
    size_t errors = 0;
    for (size_t n = 0; n < body.size(); ++n) {
      // A copy of exactly n bytes, so ASan catches any read past the end.
      const std::unique_ptr<char[]> buf(new char[n + 1]);
      std::memcpy(buf.get(), body.data(), n);
      errors += !dec.Decode(v, std::string_view(buf.get(), n)).ok();
    }
    EXPECT_GT(errors, body.size() / 2);
    // Truncated compressed bodies too.
    const std::string c = Snappy(body);
    for (size_t n = 0; n < c.size(); ++n) {
      const std::unique_ptr<char[]> buf(new char[n + 1]);
      std::memcpy(buf.get(), c.data(), n);
      EXPECT_FALSE(dec.DecodeSnappy(v, std::string_view(buf.get(), n)).ok());
    }
  }
}

TEST(RobustnessTest, RandomMutationsNeverCrash) {
  std::mt19937_64 rng(42);
  FakeAppender app;
  SeriesRefCache cache(64);
  for (RemoteWriteVersion v : {RemoteWriteVersion::kV1, RemoteWriteVersion::kV2}) {
    const std::string body = v == RemoteWriteVersion::kV1 ? RichV1Body() : RichV2Body();
    RemoteWriteDecoder dec;
    for (int iter = 0; iter < 20000; ++iter) {
      std::string m = body;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % m.size();
        switch (rng() % 4) {
          case 0: m[pos] = static_cast<char>(rng()); break;
          case 1: m[pos] ^= static_cast<char>(1u << (rng() % 8)); break;
          case 2: m.erase(pos, 1 + rng() % 8); break;
          default: m.insert(pos, 1, static_cast<char>(rng())); break;
        }
        if (m.empty()) m = "x";
      }
      if (dec.Decode(v, m).ok()) {
        (void)AppendDecoded(dec.result(), app, &cache);
      }
      std::string c = Snappy(m);
      c[rng() % c.size()] ^= static_cast<char>(1u << (rng() % 8));
      (void)dec.DecodeSnappy(v, c);
    }
  }
}

// ---- equivalence with the protobuf library ------------------------------------------------------

std::string RandomString(std::mt19937_64& rng, bool allow_empty) {
  static const std::string kChars = "abcdefghijklmnopqrstuvwxyz_0123456789:.-/ ";
  static const char* kUtf8[] = {"é", "日本", "€", "\xf0\x9f\x98\x80"};
  const size_t n = (allow_empty ? 0 : 1) + rng() % 20;
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 16 == 0) {
      s += kUtf8[rng() % 4];
    } else {
      s += kChars[rng() % kChars.size()];
    }
  }
  return s;
}

// Random valid labels: unique non-empty names; some empty values.
NameValues RandomLabels(std::mt19937_64& rng) {
  std::map<std::string, std::string> m;
  const size_t n = 1 + rng() % 12;
  while (m.size() < n) m[RandomString(rng, false)] = rng() % 8 == 0 ? "" : RandomString(rng, false);
  NameValues out(m.begin(), m.end());
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

double RandomValue(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0: return static_cast<double>(rng() % 1000);
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -0.0;
    default: {
      const uint64_t bits = rng() & 0x7fefffffffffffffull;
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

NameValues Expected(const NameValues& in) {
  NameValues out;
  for (const auto& p : in) {
    if (!p.second.empty()) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(EquivalenceTest, V1MatchesProtobufParse) {
  std::mt19937_64 rng(7);
  RemoteWriteDecoder dec;
  for (int iter = 0; iter < 300; ++iter) {
    ::prometheus::WriteRequest req;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      std::vector<std::pair<int64_t, double>> samples(rng() % 4);
      for (auto& s : samples) s = {static_cast<int64_t>(rng()) >> (rng() % 64), RandomValue(rng)};
      AddV1Series(&req, RandomLabels(rng), samples);
      auto* ts = req.mutable_timeseries(i);
      for (int e = static_cast<int>(rng() % 3); e > 0; --e) ts->add_exemplars()->set_value(1);
      for (int h = static_cast<int>(rng() % 3); h > 0; --h) ts->add_histograms()->set_sum(1);
    }
    for (int m = static_cast<int>(rng() % 3); m > 0; --m) {
      auto* md = req.add_metadata();
      md->set_type(static_cast<::prometheus::MetricMetadata::MetricType>(rng() % 8));
      md->set_metric_family_name(RandomString(rng, true));
      md->set_help(RandomString(rng, true));
      md->set_unit(RandomString(rng, true));
    }
    const std::string wire = req.SerializeAsString();
    ::prometheus::WriteRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, wire).ok());
    const DecodedRequest& r = dec.result();
    ASSERT_EQ(r.series.size(), static_cast<size_t>(parsed.timeseries_size()));
    for (int i = 0; i < parsed.timeseries_size(); ++i) {
      const auto& pts = parsed.timeseries(i);
      const DecodedSeries& s = r.series[i];
      NameValues want;
      for (const auto& l : pts.labels()) want.emplace_back(l.name(), l.value());
      want = Expected(want);
      if (want.empty()) {
        EXPECT_EQ(s.error, SeriesError::kNoLabels);
        continue;
      }
      ASSERT_TRUE(s.ok()) << SeriesErrorName(s.error);
      EXPECT_EQ(ToPairs(r.LabelsOf(s)), want);
      ASSERT_EQ(s.samples_size, static_cast<uint32_t>(pts.samples_size()));
      for (int j = 0; j < pts.samples_size(); ++j) {
        EXPECT_EQ(r.SamplesOf(s)[j].t_ms, pts.samples(j).timestamp());
        EXPECT_EQ(Bits(r.SamplesOf(s)[j].v), Bits(pts.samples(j).value()));
      }
      EXPECT_EQ(s.num_exemplars, static_cast<uint32_t>(pts.exemplars_size()));
      EXPECT_EQ(s.num_histograms, static_cast<uint32_t>(pts.histograms_size()));
    }
    ASSERT_EQ(r.metadata.size(), static_cast<size_t>(parsed.metadata_size()));
    for (int i = 0; i < parsed.metadata_size(); ++i) {
      EXPECT_EQ(static_cast<int>(r.metadata[i].type), parsed.metadata(i).type());
      EXPECT_EQ(r.metadata[i].family_name, parsed.metadata(i).metric_family_name());
      EXPECT_EQ(r.metadata[i].help, parsed.metadata(i).help());
      EXPECT_EQ(r.metadata[i].unit, parsed.metadata(i).unit());
    }
  }
}

TEST(EquivalenceTest, V2MatchesProtobufParse) {
  std::mt19937_64 rng(11);
  RemoteWriteDecoder dec;
  for (int iter = 0; iter < 300; ++iter) {
    V2Builder b;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      std::vector<std::pair<int64_t, double>> samples(rng() % 4);
      for (auto& s : samples) s = {static_cast<int64_t>(rng()) >> (rng() % 64), RandomValue(rng)};
      auto* ts = b.AddSeries(RandomLabels(rng), samples);
      if (rng() % 2) {
        ts->mutable_metadata()->set_type(static_cast<v2::Metadata::MetricType>(rng() % 8));
        ts->mutable_metadata()->set_help_ref(b.Ref(RandomString(rng, true)));
        ts->mutable_metadata()->set_unit_ref(b.Ref(RandomString(rng, true)));
      }
      if (rng() % 2) ts->set_created_timestamp(static_cast<int64_t>(rng() >> 20));
      for (int e = static_cast<int>(rng() % 3); e > 0; --e) ts->add_exemplars()->set_value(1);
      for (int h = static_cast<int>(rng() % 3); h > 0; --h) ts->add_histograms()->set_sum(1);
    }
    const std::string wire = b.req().SerializeAsString();
    v2::Request parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV2, wire).ok());
    const DecodedRequest& r = dec.result();
    ASSERT_EQ(r.series.size(), static_cast<size_t>(parsed.timeseries_size()));
    for (int i = 0; i < parsed.timeseries_size(); ++i) {
      const auto& pts = parsed.timeseries(i);
      const DecodedSeries& s = r.series[i];
      NameValues want;
      for (int j = 0; j + 1 < pts.labels_refs_size(); j += 2) {
        want.emplace_back(parsed.symbols(pts.labels_refs(j)), parsed.symbols(pts.labels_refs(j + 1)));
      }
      want = Expected(want);
      if (want.empty()) {
        EXPECT_EQ(s.error, SeriesError::kNoLabels);
        continue;
      }
      ASSERT_TRUE(s.ok()) << SeriesErrorName(s.error);
      EXPECT_EQ(ToPairs(r.LabelsOf(s)), want);
      ASSERT_EQ(s.samples_size, static_cast<uint32_t>(pts.samples_size()));
      for (int j = 0; j < pts.samples_size(); ++j) {
        EXPECT_EQ(r.SamplesOf(s)[j].t_ms, pts.samples(j).timestamp());
        EXPECT_EQ(Bits(r.SamplesOf(s)[j].v), Bits(pts.samples(j).value()));
      }
      EXPECT_EQ(static_cast<int>(s.type), pts.metadata().type());
      EXPECT_EQ(s.help, parsed.symbols(pts.metadata().help_ref()));
      EXPECT_EQ(s.unit, parsed.symbols(pts.metadata().unit_ref()));
      EXPECT_EQ(s.created_timestamp_ms, pts.created_timestamp());
      EXPECT_EQ(s.num_exemplars, static_cast<uint32_t>(pts.exemplars_size()));
      EXPECT_EQ(s.num_histograms, static_cast<uint32_t>(pts.histograms_size()));
    }
  }
}

// ---- appending ---------------------------------------------------------------------------------

TEST(AppendTest, WritesSamplesCachesRefsAndCountsEverything) {
  V2Builder b;
  for (int i = 0; i < 10; ++i) b.AddSeries(testing::NodeExporterLabels(i), {{1000, i}, {16000, i}});
  auto* ts = b.req().mutable_timeseries(0);
  ts->add_exemplars()->set_value(1);
  ts->add_exemplars()->set_value(2);
  auto* h = ts->add_histograms();
  h->set_count_int(0);
  b.req().mutable_timeseries(1)->add_histograms()->set_schema(42);  // invalid
  const std::string body = Snappy(b.req().SerializeAsString());

  RemoteWriteDecoder dec;
  FakeAppender app;
  SeriesRefCache cache;
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV2, body).ok());
  AppendStats st = AppendDecoded(dec.result(), app, &cache);
  EXPECT_EQ(st.samples_written, 20u);
  EXPECT_EQ(st.samples_rejected, 0u);
  EXPECT_EQ(app.appends_by_labels, 10u);  // one Labels build per new series
  EXPECT_EQ(app.appends_by_ref, 10u);
  EXPECT_EQ(st.cache_misses, 10u);
  EXPECT_EQ(cache.size(), 10u);
  EXPECT_EQ(st.histograms_received, 2u);
  EXPECT_EQ(st.histograms_written, 0u);
  EXPECT_EQ(st.histograms_invalid, 1u);
  EXPECT_EQ(st.histograms_unsupported, 1u);
  EXPECT_EQ(st.exemplars_received, 2u);
  EXPECT_EQ(st.exemplars_written, 0u);
  EXPECT_TRUE(st.HasRejections());  // the invalid histogram
  EXPECT_TRUE(st.HasUnstored());
  EXPECT_EQ(st.Message(dec.result()),
            "1 native histograms rejected: invalid native histogram (integer/float mix, bucket "
            "counts not matching spans, or unknown schema); 1 native histograms not written: "
            "native histograms not supported yet; 2 exemplars not written: exemplars not stored "
            "yet");
  EXPECT_EQ(app.stored[0].series, Labels(std::span<const Label>(
                                              dec.result().LabelsOf(dec.result().series[0])))
                                      .String());

  // Second request: every series by ref, no Labels built.
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV2, body).ok());
  st = AppendDecoded(dec.result(), app, &cache);
  EXPECT_EQ(st.cache_hits, 10u);
  EXPECT_EQ(app.appends_by_labels, 10u);
  EXPECT_EQ(app.appends_by_ref, 30u);

  // Storage rejections are counted by reason.
  app.reject_before = 2000;
  ASSERT_TRUE(dec.DecodeSnappy(RemoteWriteVersion::kV2, body).ok());
  st = AppendDecoded(dec.result(), app, &cache);
  EXPECT_EQ(st.samples_written, 10u);
  EXPECT_EQ(st.samples_rejected, 10u);
  EXPECT_EQ(st.samples_rejected_by_storage[static_cast<size_t>(
                storage::RejectReason::kOutOfRetention)],
            10u);
  EXPECT_THAT(st.Message(dec.result()), HasSubstr("10 of 20 samples rejected: 10 out of retention"));
}

TEST(AppendTest, WithoutCacheAndV1) {
  ::prometheus::WriteRequest req;
  AddV1Series(&req, {{"__name__", "a"}}, {{1, 1}, {2, 2}, {3, 3}});
  RemoteWriteDecoder dec;
  const std::string wire = req.SerializeAsString();  // outlives the decoded views
  ASSERT_TRUE(dec.Decode(RemoteWriteVersion::kV1, wire).ok());
  FakeAppender app;
  const AppendStats st = AppendDecoded(dec.result(), app, nullptr);
  EXPECT_EQ(st.samples_written, 3u);
  EXPECT_EQ(app.appends_by_labels, 1u);
  EXPECT_EQ(app.appends_by_ref, 2u);
  EXPECT_FALSE(st.HasRejections());
  EXPECT_FALSE(st.HasUnstored());
  EXPECT_EQ(st.Message(dec.result()), "");
}

TEST(SeriesRefCacheTest, BoundedByTwoGenerations) {
  SeriesRefCache cache(4);
  for (uint64_t i = 1; i <= 100; ++i) {
    cache.Put(SeriesKey{i, i}, i);
    EXPECT_LE(cache.size(), 8u);
  }
  EXPECT_EQ(cache.Get(SeriesKey{100, 100}), 100u);
  EXPECT_EQ(cache.Get(SeriesKey{1, 1}), 0u);
  // A hit in the previous generation survives the next rotation.
  SeriesRefCache c2(2);
  c2.Put({1, 1}, 1);
  c2.Put({2, 2}, 2);
  c2.Put({3, 3}, 3);                 // rotates: previous {1,2}, current {3}
  EXPECT_EQ(c2.Get({1, 1}), 1u);     // moved to current {3,1}
  c2.Put({4, 4}, 4);                 // rotates: previous {3,1}, current {4}
  c2.Put({5, 5}, 5);
  EXPECT_EQ(c2.Get({1, 1}), 1u);
  c2.Clear();
  EXPECT_EQ(c2.size(), 0u);
}

}  // namespace
}  // namespace pharos::ingest
