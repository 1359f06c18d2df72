// Unit tests of the receivers' transport pieces: MIME encoding, address lists, and the small
// pieces of Alertmanager behaviour (dedup key hash, truncation, PagerDuty severity, retries).

#include <string>

#include "alerting/notify/email.h"
#include "alerting/notify/http_client.h"
#include "alerting/notify/integrations.h"
#include "gtest/gtest.h"

namespace pharos::alerting::notify {
namespace {

TEST(QuotedPrintableTest, SoftBreaksTrailingSpaceAndUtf8) {
  std::string in = std::string(80, 'a') + " \nline = two\t\n\xC3\xBC" "n\xC3\xAF";
  // As Python's quopri and Go's mime/quotedprintable, with CRLF line breaks.
  EXPECT_EQ(QuotedPrintable(in), std::string(75, 'a') + "=\r\naaaaa=20\r\nline =3D two=09\r\n=C3=BCn=C3=AF");
  EXPECT_EQ(QuotedPrintable("a\r\nb"), "a\r\nb");
  EXPECT_EQ(QuotedPrintable("end "), "end=20");
}

TEST(EncodeHeaderValueTest, AsciiUnchangedOtherwiseQEncodedWords) {
  EXPECT_EQ(EncodeHeaderValue("[FIRING:1] HighCPU (critical)"), "[FIRING:1] HighCPU (critical)");
  EXPECT_EQ(EncodeHeaderValue("Alert: Temp\xC3\xA9rature"), "=?utf-8?q?Alert:_Temp=C3=A9rature?=");
  // Long values are split into several encoded words of at most 75 characters, never inside a
  // UTF-8 sequence.
  std::string long_value;
  for (int i = 0; i < 40; ++i) long_value += "\xC3\xA9";
  std::string enc = EncodeHeaderValue(long_value);
  size_t start = 0;
  int words = 0;
  while (start < enc.size()) {
    size_t end = enc.find(' ', start);
    if (end == std::string::npos) end = enc.size();
    std::string word = enc.substr(start, end - start);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_EQ(word.substr(0, 10), "=?utf-8?q?");
    EXPECT_EQ(word.substr(word.size() - 2), "?=");
    EXPECT_EQ((word.size() - 12) % 6, 0u) << "split inside a character: " << word;
    ++words;
    start = end + 1;
  }
  EXPECT_EQ(words, 4);  // 240 encoded chars, 60 per word (10 characters)
}

TEST(Rfc1123ZTest, Format) {
  EXPECT_EQ(Rfc1123Z(1700000000123), "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(ParseAddressListTest, CommonForms) {
  auto l = ParseAddressList("ops@example.com, Jane Doe <jane@example.com>,\"Doe, John\" <john@example.com>");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].address, "ops@example.com");
  EXPECT_EQ((*l)[0].name, "");
  EXPECT_EQ((*l)[1].address, "jane@example.com");
  EXPECT_EQ((*l)[1].name, "Jane Doe");
  EXPECT_EQ((*l)[2].address, "john@example.com");
  EXPECT_EQ((*l)[2].name, "Doe, John");
  EXPECT_FALSE(ParseAddressList("").ok());
  EXPECT_FALSE(ParseAddressList("not an address").ok());
  EXPECT_FALSE(ParseAddressList("a@b,").ok());
  EXPECT_FALSE(ParseAddressList("Name <a@b").ok());
}

TEST(BuildMimeMessageTest, MultipartAlternativeTextThenHtml) {
  MimeParts p;
  p.headers = {{"From", "pharos@example.com"}, {"To", "ops@example.com"}, {"Subject", "[FIRING:1] X"}};
  p.text = "plain body";
  p.html = "<b>html=body</b>";
  p.date_ms = 1700000000000;
  p.message_id_domain = "host.example";
  std::string m = BuildMimeMessage(p);
  auto ct = m.find("Content-Type: multipart/alternative; boundary=");
  ASSERT_NE(ct, std::string::npos);
  std::string boundary = m.substr(ct + 46, m.find("\r\n", ct) - ct - 46);
  EXPECT_EQ(boundary.size(), 60u);
  std::string expected_head =
      "From: pharos@example.com\r\nTo: ops@example.com\r\nSubject: [FIRING:1] X\r\n"
      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-Id: <1700000000000000000.";
  EXPECT_EQ(m.substr(0, expected_head.size()), expected_head);
  EXPECT_NE(m.find("@host.example>\r\n"), std::string::npos);
  std::string expected_body =
      "MIME-Version: 1.0\r\n\r\n--" + boundary +
      "\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=UTF-8"
      "\r\n\r\nplain body\r\n--" + boundary +
      "\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=UTF-8"
      "\r\n\r\n<b>html=3Dbody</b>\r\n--" + boundary + "--\r\n";
  ASSERT_GE(m.size(), expected_body.size());
  EXPECT_EQ(m.substr(m.size() - expected_body.size()), expected_body);
}

TEST(AlertmanagerBitsTest, GroupKeyHashIsSha256Hex) {
  // sha256("{}:{alertname=\"HighCPU\"}"), as Alertmanager's notify.Key.Hash.
  EXPECT_EQ(GroupKeyHash("{}:{alertname=\"HighCPU\"}"),
            "9f2a099adf99adbf3e1d24abbd84835468e75b8b96fca010db3f2b763340e4c1");
}

TEST(AlertmanagerBitsTest, TruncateRunes) {
  bool t = true;
  EXPECT_EQ(TruncateRunes("abc", 3, &t), "abc");
  EXPECT_FALSE(t);
  EXPECT_EQ(TruncateRunes("abcdef", 4, &t), "abc…");
  EXPECT_TRUE(t);
  EXPECT_EQ(TruncateRunes("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4), "\xC3\xA9\xC3\xA9\xC3\xA9…");
  EXPECT_EQ(TruncateRunes("abcdef", 2), "ab");
  std::string long_summary(2000, 'x');
  std::string cut = TruncateRunes(long_summary, 1024);
  EXPECT_EQ(cut, std::string(1023, 'x') + "…");
}

TEST(AlertmanagerBitsTest, PagerDutySeverity) {
  EXPECT_EQ(PagerDutySeverity("critical"), "critical");
  EXPECT_EQ(PagerDutySeverity("warning "), "warning");
  EXPECT_EQ(PagerDutySeverity("warning info warning "), "warning");
  EXPECT_EQ(PagerDutySeverity("info critical warning"), "critical");
  EXPECT_EQ(PagerDutySeverity("WARN"), "warning");
  EXPECT_EQ(PagerDutySeverity("page"), "critical");
  EXPECT_EQ(PagerDutySeverity("none"), "info");
  EXPECT_EQ(PagerDutySeverity(""), "error");
  EXPECT_EQ(PagerDutySeverity("P1"), "error");
}

TEST(AlertmanagerBitsTest, RetryClassification) {
  EXPECT_TRUE(IsRetryableStatus(500));
  EXPECT_TRUE(IsRetryableStatus(503));
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_FALSE(IsRetryableStatus(400));
  EXPECT_FALSE(IsRetryableStatus(404));
  EXPECT_TRUE(IsRetryableError(absl::UnavailableError("refused")));
  EXPECT_TRUE(IsRetryableError(absl::DeadlineExceededError("timeout")));
  EXPECT_FALSE(IsRetryableError(absl::FailedPreconditionError("bad file")));
  EXPECT_FALSE(IsRetryableError(absl::OkStatus()));
}

TEST(AlertmanagerBitsTest, RedactUrl) {
  EXPECT_EQ(RedactUrl("https://user:secret@hooks.example.com/x?y"),
            "https://<redacted>@hooks.example.com/x?y");
  EXPECT_EQ(RedactUrl("https://hooks.example.com/a@b"), "https://hooks.example.com/a@b");
}

}  // namespace
}  // namespace pharos::alerting::notify
