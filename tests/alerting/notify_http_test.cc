// HttpPost against local receivers on 127.0.0.1: status and body, credentials, retry
// classification, timeouts on a receiver that hangs, refused connections, and TLS verified
// with a CA file (self-signed certificate from the openssl CLI) or skipped.

#include <chrono>
#include <filesystem>
#include <fstream>

#include "alerting/notify/http_client.h"
#include "gtest/gtest.h"
#include "tests/alerting/notify_process.h"
#include "tests/integration/test_util.h"

namespace pharos::alerting::notify {
namespace {

using pharos::testing::CaptureServer;

std::string Url(const CaptureServer& s, const std::string& path = "/hook") {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST(HttpPostTest, SendsJsonWithHeadersAndReturnsStatus) {
  CaptureServer server;
  server.Plan({{202, "{\"status\":\"success\"}"}});
  HttpRequest req;
  req.url = Url(server);
  req.body = "{\"a\":1}";
  req.headers = {{"X-Extra", "yes"}};
  auto resp = HttpPost(req, am::HttpConfig{});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 202);
  EXPECT_EQ(resp->body, "{\"status\":\"success\"}");
  EXPECT_EQ(resp->content_type, "text/plain");
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/hook");
  EXPECT_EQ(reqs[0].body, "{\"a\":1}");
  EXPECT_EQ(reqs[0].headers["content-type"], "application/json");
  EXPECT_EQ(reqs[0].headers["x-extra"], "yes");
  EXPECT_EQ(reqs[0].headers["user-agent"].rfind("Pharos/", 0), 0u);
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);
}

TEST(HttpPostTest, ResponseBodyIsBounded) {
  CaptureServer server;
  server.Plan({{500, std::string(100000, 'x')}});
  HttpRequest req;
  req.url = Url(server);
  req.max_response_body = 100;
  auto resp = HttpPost(req, am::HttpConfig{});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 500);
  EXPECT_EQ(resp->body, std::string(100, 'x'));
}

TEST(HttpPostTest, Credentials) {
  pharos::testing::TempDir dir;
  std::string token_file = dir.Write("token", "  file-token\n");
  CaptureServer server;
  HttpRequest req;
  req.url = Url(server);

  am::HttpConfig basic;
  basic.basic_auth_username = "user";
  basic.basic_auth_password = "pass";
  ASSERT_TRUE(HttpPost(req, basic).ok());

  am::HttpConfig bearer;
  bearer.bearer_token_file = token_file;
  ASSERT_TRUE(HttpPost(req, bearer).ok());

  am::HttpConfig authz;
  authz.authorization_type = "Token";
  authz.authorization_credentials = "abc";
  ASSERT_TRUE(HttpPost(req, authz).ok());

  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].headers["authorization"], "Basic dXNlcjpwYXNz");
  EXPECT_EQ(reqs[1].headers["authorization"], "Bearer file-token");
  EXPECT_EQ(reqs[2].headers["authorization"], "Token abc");

  am::HttpConfig missing;
  missing.authorization_credentials_file = dir.path() + "/nope";
  auto r = HttpPost(req, missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsRetryableError(r.status()));
}

TEST(HttpPostTest, HangingReceiverTimesOutInBoundedTime) {
  CaptureServer server;
  server.Plan({{200, "", /*hang=*/true}});
  HttpRequest req;
  req.url = Url(server);
  req.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto resp = HttpPost(req, am::HttpConfig{});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kDeadlineExceeded) << resp.status();
  EXPECT_TRUE(IsRetryableError(resp.status()));
  EXPECT_NE(std::string(resp.status().message()).find("timed out after 300ms"), std::string::npos)
      << resp.status();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(HttpPostTest, ConnectionRefused) {
  int port = pharos::testing::FreePort();  // nothing listens there
  HttpRequest req;
  req.url = "http://user:secret@127.0.0.1:" + std::to_string(port) + "/x";
  auto resp = HttpPost(req, am::HttpConfig{});
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryableError(resp.status()));
  std::string msg(resp.status().message());
  EXPECT_NE(msg.find("connection failed"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secret"), std::string::npos) << "credentials leaked: " << msg;
}

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_TRUE(testing::MakeSelfSignedCert(dir_.path()));
    std::filesystem::create_directories(dir_.path() + "/out");
    server_ = std::make_unique<testing::HelperProcess>(
        std::vector<std::string>{"/usr/bin/python3", testing::TestDataDir() + "/https_server.py",
                                 "--cert", dir_.path() + "/cert.pem", "--key",
                                 dir_.path() + "/key.pem", "--out", dir_.path() + "/out"},
        dir_.path() + "/server.log");
    port_ = server_->WaitReady();
    ASSERT_NE(port_, 0) << testing::ReadFileOrEmpty(dir_.path() + "/server.log");
  }
  pharos::testing::TempDir dir_;
  std::unique_ptr<testing::HelperProcess> server_;
  int port_ = 0;
};

TEST_F(HttpsTest, VerifiesWithCaFileSkipsWhenInsecureFailsOtherwise) {
  HttpRequest req;
  req.url = "https://localhost:" + std::to_string(port_) + "/enqueue";
  req.body = "{}";
  req.timeout_ms = 5000;

  auto unverified = HttpPost(req, am::HttpConfig{});
  ASSERT_FALSE(unverified.ok());
  EXPECT_EQ(unverified.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(unverified.status().message()).find("TLS"), std::string::npos)
      << unverified.status();

  am::HttpConfig ca;
  ca.tls_ca_file = dir_.path() + "/cert.pem";
  auto ok = HttpPost(req, ca);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok");

  am::HttpConfig insecure;
  insecure.tls_insecure_skip_verify = true;
  auto ok2 = HttpPost(req, insecure);
  ASSERT_TRUE(ok2.ok()) << ok2.status();

  // tls_server_name: connect to 127.0.0.1 but verify the certificate as "localhost".
  HttpRequest by_ip = req;
  by_ip.url = "https://127.0.0.1:" + std::to_string(port_) + "/enqueue";
  am::HttpConfig named = ca;
  named.tls_server_name = "localhost";
  auto ok3 = HttpPost(by_ip, named);
  ASSERT_TRUE(ok3.ok()) << ok3.status();
  ASSERT_TRUE(testing::WaitForFile(dir_.path() + "/out/3.json", std::chrono::seconds(5)));
  std::string rec = testing::ReadFileOrEmpty(dir_.path() + "/out/3.json");
  EXPECT_NE(rec.find("\"host\": \"127.0.0.1:" + std::to_string(port_) + "\""), std::string::npos) << rec;
  EXPECT_NE(rec.find("\"path\": \"/enqueue\""), std::string::npos) << rec;

  am::HttpConfig wrong_name = ca;
  wrong_name.tls_server_name = "other.example";
  auto bad = HttpPost(by_ip, wrong_name);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable) << bad.status();
}

}  // namespace
}  // namespace pharos::alerting::notify
