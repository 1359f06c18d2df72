// SendMail against a real SMTP server (Python aiosmtpd) on 127.0.0.1: plain, STARTTLS
// (required; certificate verified with a CA file or skipped), implicit TLS on a "465" port
// mapping, AUTH PLAIN and LOGIN, and the failures (no STARTTLS offered, wrong password).

#include <chrono>
#include <filesystem>
#include <memory>

#include "alerting/notify/email.h"
#include "gtest/gtest.h"
#include "tests/alerting/notify_process.h"
#include "tests/integration/test_util.h"

namespace pharos::alerting::notify {
namespace {

class SmtpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveAiosmtpd()) GTEST_SKIP() << "/usr/bin/python3 has no aiosmtpd module";
    if (!testing::HaveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_TRUE(testing::MakeSelfSignedCert(dir_.path()));
  }
  // Starts the server; returns its port (0 on failure).
  int Start(const std::string& mode, const std::string& auth = "",
            const std::string& mechanisms = "PLAIN,LOGIN") {
    out_ = dir_.path() + "/out" + std::to_string(++servers_);
    std::filesystem::create_directories(out_);
    std::vector<std::string> argv = {"/usr/bin/python3", testing::TestDataDir() + "/smtp_server.py",
                                     "--out", out_, "--mode", mode, "--cert",
                                     dir_.path() + "/cert.pem", "--key", dir_.path() + "/key.pem",
                                     "--mechanisms", mechanisms};
    if (!auth.empty()) {
      argv.push_back("--auth");
      argv.push_back(auth);
    }
    log_ = dir_.path() + "/smtp" + std::to_string(servers_) + ".log";
    server_ = std::make_unique<testing::HelperProcess>(argv, log_);
    return server_->WaitReady();
  }
  std::string Received(int n = 1) {
    std::string path = out_ + "/" + std::to_string(n) + ".json";
    if (!testing::WaitForFile(path, std::chrono::seconds(5))) return "";
    return testing::ReadFileOrEmpty(path);
  }
  SmtpOptions Options(int port) {
    SmtpOptions o;
    o.smarthost = "localhost:" + std::to_string(port);
    o.hello = "pharos.test";
    o.timeout_ms = 10000;
    o.tls_ca_file = dir_.path() + "/cert.pem";
    return o;
  }
  static std::string Message() {
    MimeParts p;
    p.headers = {{"From", "pharos@example.com"}, {"To", "ops@example.com"}, {"Subject", "[FIRING:1] Test"}};
    p.text = "text body";
    p.html = "<p>html body</p>";
    p.date_ms = 1700000000000;
    return BuildMimeMessage(p);
  }

  pharos::testing::TempDir dir_;
  std::unique_ptr<testing::HelperProcess> server_;
  std::string out_, log_;
  int servers_ = 0;
};

TEST_F(SmtpTest, PlainWithoutTls) {
  int port = Start("plain");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.require_tls = false;
  ASSERT_TRUE(SendMail(o, "pharos@example.com", {"ops@example.com", "oncall@example.com"}, Message()).ok());
  std::string r = Received();
  EXPECT_NE(r.find("\"mail_from\": \"pharos@example.com\""), std::string::npos) << r;
  EXPECT_NE(r.find("\"rcpt_tos\": [\"ops@example.com\", \"oncall@example.com\"]"), std::string::npos) << r;
  EXPECT_NE(r.find("Subject: [FIRING:1] Test"), std::string::npos) << r;
  EXPECT_NE(r.find("text body"), std::string::npos) << r;
  EXPECT_NE(r.find("<p>html body</p>"), std::string::npos) << r;
  EXPECT_NE(r.find("\"tls\": false"), std::string::npos) << r;
}

TEST_F(SmtpTest, RequireTlsFailsWhenStartTlsIsNotOffered) {
  int port = Start("plain");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  absl::Status s = SendMail(Options(port), "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(s.message()).find("does not advertise the STARTTLS extension"), std::string::npos) << s;
}

TEST_F(SmtpTest, StartTlsWithAuthPlain) {
  int port = Start("starttls", "alice:s3cret", "PLAIN");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.username = "alice";
  o.password = "s3cret";
  absl::Status s = SendMail(o, "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_TRUE(s.ok()) << s;
  std::string r = Received();
  EXPECT_NE(r.find("\"auth_mechanism\": \"PLAIN\""), std::string::npos) << r;
  EXPECT_NE(r.find("\"auth_login\": \"alice\""), std::string::npos) << r;
  EXPECT_NE(r.find("\"tls\": true"), std::string::npos) << r;
}

TEST_F(SmtpTest, StartTlsWithAuthLoginAndInsecureSkipVerify) {
  int port = Start("starttls", "bob:pw", "LOGIN");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.tls_ca_file.clear();
  o.tls_insecure_skip_verify = true;
  o.username = "bob";
  o.password = "pw";
  absl::Status s = SendMail(o, "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_TRUE(s.ok()) << s;
  std::string r = Received();
  EXPECT_NE(r.find("\"auth_mechanism\": \"LOGIN\""), std::string::npos) << r;
  EXPECT_NE(r.find("\"auth_login\": \"bob\""), std::string::npos) << r;
}

TEST_F(SmtpTest, StartTlsUnverifiedCertificateFails) {
  int port = Start("starttls");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.tls_ca_file.clear();
  absl::Status s = SendMail(o, "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(SmtpTest, WrongPasswordIsRejected) {
  int port = Start("starttls", "alice:s3cret");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.username = "alice";
  o.password = "wrong";
  absl::Status s = SendMail(o, "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
}

// Port 465 means implicit TLS; the test server cannot bind 465, so implicit TLS is forced on
// its port (the same code path).
TEST_F(SmtpTest, ImplicitTlsWithAuthLogin) {
  int port = Start("implicit", "carol:pw", "LOGIN");
  ASSERT_NE(port, 0) << testing::ReadFileOrEmpty(log_);
  SmtpOptions o = Options(port);
  o.implicit_tls = true;
  o.username = "carol";
  o.password = "pw";
  absl::Status s = SendMail(o, "pharos@example.com", {"ops@example.com"}, Message());
  ASSERT_TRUE(s.ok()) << s;
  std::string r = Received();
  EXPECT_NE(r.find("\"auth_mechanism\": \"LOGIN\""), std::string::npos) << r;
  EXPECT_NE(r.find("\"tls\": true"), std::string::npos) << r;
}

}  // namespace
}  // namespace pharos::alerting::notify
