#include "server/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace pharos {

namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double start_time_seconds = 0;
  bool ok = false;
};

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

ProcStat ReadProcStat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return s;
  // The command name (field 2) may contain spaces; fields after it start past the last ')'.
  size_t rp = line.rfind(')');
  if (rp == std::string::npos) return s;
  std::istringstream rest(line.substr(rp + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok) f.push_back(tok);
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 22) return s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  s.cpu_seconds = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
  s.start_time_seconds = BootTimeSeconds() + std::stod(f[22 - 3]) / ticks;
  s.virtual_bytes = std::stod(f[23 - 3]);
  s.resident_bytes = std::stod(f[24 - 3]) * page;
  s.ok = true;
  return s;
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own fd
}

}  // namespace

void RegisterProcessMetrics(Registry& registry) {
  registry.AddCollector([](MetricWriter& w) {
    ProcStat s = ReadProcStat();
    if (s.ok) {
      w.Header("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::kCounter);
      w.Sample("process_cpu_seconds_total", s.cpu_seconds);
      w.Header("process_resident_memory_bytes", "Resident memory size in bytes.",
               MetricType::kGauge);
      w.Sample("process_resident_memory_bytes", s.resident_bytes);
      w.Header("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::kGauge);
      w.Sample("process_virtual_memory_bytes", s.virtual_bytes);
      w.Header("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::kGauge);
      w.Sample("process_start_time_seconds", s.start_time_seconds);
    }
    w.Header("process_open_fds", "Number of open file descriptors.", MetricType::kGauge);
    w.Sample("process_open_fds", OpenFds());
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      w.Header("process_max_fds", "Maximum number of open file descriptors.", MetricType::kGauge);
      w.Sample("process_max_fds", rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur));
    }
  });
}

}  // namespace pharos
