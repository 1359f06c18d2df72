// pharos_loadgen: replays a request file written by pharos_gen against a remote-write URL
// and prints a one-line JSON result on stdout (a human summary on stderr).
//
//   pharos_loadgen --requests=/tmp/rw.bin --url=http://127.0.0.1:9090/api/v1/write
//   pharos_loadgen --requests=/tmp/rw.bin --null-sink     # the load generator's own ceiling
//
// Flags (defaults in brackets):
//   --requests=FILE       request file (pharos_gen --rw-out) [required]
//   --url=URL             http://HOST:PORT/PATH [required unless --null-sink]
//   --null-sink           send to a built-in server that reads and discards each body
//   --connections=K       keep-alive connections, one thread each [one per shard in the file]
//   --max-attempts=N      per request, first try included [10]
//   --deadline=D          stop sending after this long [10m]
//   --repeat=N            send the file N times (null-sink runs need more work) [1]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/gen/encode.h"
#include "bench/loadgen/loadgen.h"
#include "common/strings.h"
#include "common/units.h"

namespace pharos::bench {
namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr,
               "pharos_loadgen: %s\n(see the comment at the top of bench/loadgen/loadgen_main.cc)\n",
               msg.c_str());
  return 2;
}

bool ParseUrl(const std::string& url, LoadOptions* o) {
  std::string_view u = url;
  if (u.substr(0, 7) != "http://") return false;
  u.remove_prefix(7);
  size_t slash = u.find('/');
  std::string_view hostport = u.substr(0, slash);
  o->path = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos) return false;
  o->host = std::string(hostport.substr(0, colon));
  o->port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
  return o->port > 0;
}

int Main(int argc, char** argv) {
  LoadOptions o;
  std::string file, url;
  bool null_sink = false;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--null-sink") {
      null_sink = true;
      continue;
    }
    size_t eq = a.find('=');
    if (a.substr(0, 2) != "--" || eq == std::string_view::npos) return Usage("bad argument " + std::string(a));
    std::string name(a.substr(2, eq - 2));
    std::string value(a.substr(eq + 1));
    if (name == "requests") {
      file = value;
    } else if (name == "url") {
      url = value;
    } else if (name == "connections") {
      o.connections = std::atoi(value.c_str());
    } else if (name == "max-attempts") {
      o.max_attempts = std::atoi(value.c_str());
    } else if (name == "repeat") {
      repeat = std::atoi(value.c_str());
      if (repeat < 1 || repeat > 1000) return Usage("--repeat must be in [1, 1000]");
    } else if (name == "deadline") {
      auto d = ParseDurationMs(value);
      if (!d.ok() || *d <= 0) return Usage("bad --deadline");
      o.deadline = std::chrono::seconds(std::max<int64_t>(1, *d / 1000));
    } else {
      return Usage("unknown flag --" + name);
    }
  }
  if (file.empty()) return Usage("--requests is required");
  if (!null_sink && !ParseUrl(url, &o)) return Usage("--url=http://HOST:PORT/PATH is required");

  auto rf = ReadRequestFile(file);
  if (!rf.ok()) return Usage(std::string(Sv(rf.status().message())));
  if (repeat > 1) {
    size_t n = rf->requests.size();
    for (int k = 1; k < repeat; ++k) {
      for (size_t i = 0; i < n; ++i) rf->requests.push_back(rf->requests[i]);
    }
    rf->samples *= repeat;
  }
  NullSink sink;
  if (null_sink) {
    auto port = sink.Start();
    if (!port.ok()) return Usage(std::string(Sv(port.status().message())));
    o.host = "127.0.0.1";
    o.port = *port;
    o.path = "/api/v1/write";
  }
  auto res = RunLoad(*rf, o);
  if (null_sink) sink.Stop();
  if (!res.ok()) return Usage(std::string(Sv(res.status().message())));
  std::fprintf(stderr,
               "pharos_loadgen: %llu/%llu samples in %.2fs = %.0f samples/s; %llu requests, "
               "p50 %.1f ms, p99 %.1f ms; %llu retries, %llu dropped%s%s\n",
               static_cast<unsigned long long>(res->samples_ok),
               static_cast<unsigned long long>(rf->samples), res->wall_seconds,
               res->samples_per_second(), static_cast<unsigned long long>(res->requests_ok),
               res->latency_p50_ms, res->latency_p99_ms,
               static_cast<unsigned long long>(res->retries),
               static_cast<unsigned long long>(res->samples_dropped),
               res->first_error.empty() ? "" : "; first error: ", res->first_error.c_str());
  std::printf("%s\n", res->ToJson().c_str());
  return res->samples_dropped == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pharos::bench

int main(int argc, char** argv) { return pharos::bench::Main(argc, argv); }
