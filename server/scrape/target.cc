#include "server/scrape/target.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/units.h"
#include "server/scrape/internal/tls.h"

namespace pharos::scrape {

namespace {

constexpr std::string_view kAddressLabel = "__address__";
constexpr std::string_view kSchemeLabel = "__scheme__";
constexpr std::string_view kMetricsPathLabel = "__metrics_path__";
constexpr std::string_view kIntervalLabel = "__scrape_interval__";
constexpr std::string_view kTimeoutLabel = "__scrape_timeout__";
constexpr std::string_view kParamPrefix = "__param_";

// Go's url.QueryEscape.
void AppendQueryEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out->push_back('+');
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string EncodeQuery(const std::map<std::string, std::vector<std::string>>& params) {
  std::string out;
  for (const auto& [k, vs] : params) {
    for (const auto& v : vs) {
      if (!out.empty()) out.push_back('&');
      AppendQueryEscaped(&out, k);
      out.push_back('=');
      AppendQueryEscaped(&out, v);
    }
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const JobSpec>> CompileJob(const config::ScrapeConfig& cfg) {
  auto job = std::make_shared<JobSpec>();
  job->cfg = cfg;
  auto err = [&](std::string_view what, const absl::Status& s) {
    return absl::InvalidArgumentError(
        absl::StrCat("job \"", cfg.job_name, "\": ", Av(what), ": ", s.message()));
  };
  if (cfg.job_name.empty()) return absl::InvalidArgumentError("scrape config without job_name");
  if (cfg.scrape_interval_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("job \"", cfg.job_name, "\": scrape_interval must be positive"));
  }
  if (cfg.scrape_timeout_ms <= 0 || cfg.scrape_timeout_ms > cfg.scrape_interval_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job \"", cfg.job_name, "\": scrape_timeout must be positive and at most scrape_interval"));
  }
  if (cfg.scheme != "http" && cfg.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("job \"", cfg.job_name, "\": unsupported scheme \"", cfg.scheme, "\""));
  }
  auto r = ingest::CompileAll(cfg.relabel_configs);
  if (!r.ok()) return err("relabel_configs", r.status());
  job->relabel = std::move(*r);
  auto m = ingest::CompileAll(cfg.metric_relabel_configs);
  if (!m.ok()) return err("metric_relabel_configs", m.status());
  job->metric_relabel = std::move(*m);
  auto tls = internal::MakeTlsClient(cfg.http.tls_config);
  if (!tls.ok()) return err("tls_config", tls.status());
  job->tls = std::move(*tls);
  return std::shared_ptr<const JobSpec>(std::move(job));
}

std::vector<TargetGroup> StaticGroups(const config::ScrapeConfig& cfg) {
  std::vector<TargetGroup> out;
  for (size_t i = 0; i < cfg.static_configs.size(); ++i) {
    const config::StaticConfig& sc = cfg.static_configs[i];
    TargetGroup g;
    g.source = absl::StrCat("static/", i);
    std::vector<Label> ls;
    for (const auto& [k, v] : sc.labels) ls.push_back({k, v});
    g.labels = Labels(ls);
    for (const auto& t : sc.targets) g.targets.push_back(Labels({{kAddressLabel, t}}));
    out.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<PopulatedTarget> PopulateTarget(const JobSpec& job, const Labels& group_labels,
                                               const Labels& target_labels) {
  const config::ScrapeConfig& cfg = job.cfg;
  LabelsBuilder lb(group_labels);
  for (const Label& l : target_labels) lb.Set(l.name, l.value);
  const std::string interval = FormatDurationMs(cfg.scrape_interval_ms);
  const std::string timeout = FormatDurationMs(cfg.scrape_timeout_ms);
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"job", cfg.job_name},           {kIntervalLabel, interval}, {kTimeoutLabel, timeout},
      {kMetricsPathLabel, cfg.metrics_path}, {kSchemeLabel, cfg.scheme},
  };
  for (const auto& [name, value] : defaults) {
    if (lb.Get(name).empty()) lb.Set(name, value);
  }
  for (const auto& [name, values] : cfg.params) {
    std::string pname = absl::StrCat(Av(kParamPrefix), name);
    if (!values.empty() && lb.Get(pname).empty()) lb.Set(pname, values[0]);
  }

  PopulatedTarget t;
  t.discovered = lb.Labels();
  if (!ingest::Relabel(job.relabel, lb)) {
    t.dropped = true;
    return t;
  }
  Labels relabelled = lb.Labels();
  std::string_view addr = relabelled.Get(kAddressLabel);
  if (addr.empty()) return absl::InvalidArgumentError("no address");
  if (addr.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Av(addr), "\" is not a valid hostname"));
  }
  std::string_view scheme = relabelled.Get(kSchemeLabel);
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("invalid scheme \"", Av(scheme), "\""));
  }
  auto iv = ParseDurationMs(relabelled.Get(kIntervalLabel));
  if (!iv.ok() || *iv <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "error parsing scrape interval \"", Av(relabelled.Get(kIntervalLabel)), "\""));
  }
  auto to = ParseDurationMs(relabelled.Get(kTimeoutLabel));
  if (!to.ok() || *to <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "error parsing scrape timeout \"", Av(relabelled.Get(kTimeoutLabel)), "\""));
  }
  if (*to > *iv) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrape timeout cannot be greater than scrape interval (\"",
                     Av(relabelled.Get(kTimeoutLabel)), "\" > \"",
                     Av(relabelled.Get(kIntervalLabel)), "\")"));
  }
  t.interval_ms = *iv;
  t.timeout_ms = *to;

  // URL: config params, the first value of each overridden by __param_<name>.
  std::map<std::string, std::vector<std::string>> params = cfg.params;
  for (const Label& l : relabelled) {
    if (l.name.substr(0, kParamPrefix.size()) != kParamPrefix) continue;
    auto& vs = params[std::string(l.name.substr(kParamPrefix.size()))];
    if (vs.empty()) {
      vs.emplace_back(l.value);
    } else {
      vs[0] = std::string(l.value);
    }
  }
  std::string path(relabelled.Get(kMetricsPathLabel));
  if (path.empty() || path[0] != '/') path.insert(path.begin(), '/');
  t.url = absl::StrCat(Av(scheme), "://", Av(addr), path);
  if (std::string q = EncodeQuery(params); !q.empty()) {
    absl::StrAppend(&t.url, path.find('?') == std::string::npos ? "?" : "&", q);
  }

  // Final labels: '__' labels go, instance defaults to the address.
  for (const Label& l : relabelled) {
    if (l.name.size() >= 2 && l.name[0] == '_' && l.name[1] == '_') lb.Del(l.name);
  }
  if (lb.Get("instance").empty()) lb.Set("instance", addr);
  t.labels = lb.Labels();
  for (const Label& l : t.labels) {
    if (!IsValidUtf8(l.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid label value for \"", Av(l.name), "\""));
    }
  }
  t.hash = Fnv1a(t.url, t.labels.Hash());
  return t;
}

}  // namespace pharos::scrape
