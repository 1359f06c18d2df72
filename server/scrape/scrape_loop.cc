#include "server/scrape/scrape_loop.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/post.hpp"
#include "common/status_macros.h"
#include "common/strings.h"
#include "server/ingest/scrape_format.h"
#include "server/ingest/textparse.h"
#include "server/scrape/internal/http_fetch.h"
#include "spdlog/spdlog.h"

namespace pharos::scrape {

namespace {

const double kStaleNaN = std::bit_cast<double>(storage::kStaleNaNBits);

constexpr std::string_view kReportNames[5] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

// Prometheus's ScrapeTimestampTolerance: a scrape this close to its ideal time is stamped
// with the ideal time, so timestamps stay perfectly regular (and compress to nothing).
constexpr int64_t kTimestampToleranceMs = 2;

std::string_view TypeForApi(ingest::MetricType t) {
  if (t == ingest::MetricType::kUntyped) return "unknown";
  return ingest::MetricTypeName(t);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("unable to read file ", path));
  std::string s;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    s.append(buf, static_cast<size_t>(in.gcount()));
    if (s.size() > (1 << 20)) return absl::FailedPreconditionError(absl::StrCat(path, " too large"));
  }
  // Trailing newlines/spaces are not part of the secret (Prometheus trims them).
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The Authorization header for a job, or "" when none. Files are read per scrape.
absl::StatusOr<std::string> AuthorizationHeader(const config::HttpClientConfig& h) {
  if (h.basic_auth) {
    std::string password = h.basic_auth->password;
    if (!h.basic_auth->password_file.empty()) {
      PHAROS_ASSIGN_OR_RETURN(password, ReadSecretFile(h.basic_auth->password_file));
    }
    return absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(h.basic_auth->username, ":", password)));
  }
  if (h.authorization) {
    std::string cred = h.authorization->credentials;
    if (!h.authorization->credentials_file.empty()) {
      PHAROS_ASSIGN_OR_RETURN(cred, ReadSecretFile(h.authorization->credentials_file));
    }
    return absl::StrCat(h.authorization->type.empty() ? "Bearer" : h.authorization->type, " ",
                        cred);
  }
  return std::string();
}

}  // namespace

ScrapeMetrics::ScrapeMetrics(Registry& r)
    : scrapes(r.AddCounter("pharos_scrape_scrapes_total",
                           "Scrapes by job and result (success, failure).", {"job", "result"})),
      duration(r.AddHistogram("pharos_scrape_duration_seconds",
                              "Duration of scrapes (HTTP fetch) by job.", {"job"},
                              {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})),
      samples_appended(r.AddCounter("pharos_scrape_samples_appended_total",
                                    "Scraped samples appended to storage, by job.", {"job"})),
      samples_rejected(r.AddCounter(
          "pharos_scrape_samples_rejected_total",
          "Scraped samples not stored, by job and reason (sample_limit, label_limit, "
          "duplicate, invalid_labels, out_of_retention, too_far_in_future, series_limit).",
          {"job", "reason"})),
      stale_markers(r.AddCounter("pharos_scrape_stale_markers_total",
                                 "Staleness markers written by the scraper, by job.", {"job"})),
      targets(r.AddGauge("pharos_scrape_targets", "Active scrape targets by scrape pool.",
                         {"scrape_pool"})),
      sd_read_errors(r.AddCounter("pharos_scrape_file_sd_read_errors_total",
                                  "file_sd_configs files that failed to read or parse.",
                                  {"scrape_pool"})),
      pool_reloads(r.AddCounter("pharos_scrape_pool_reloads_total",
                                "Scrape pool configuration reloads.", {"scrape_pool"})) {}

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kUp: return "up";
    case Health::kDown: return "down";
    case Health::kUnknown: break;
  }
  return "unknown";
}

// ----------------------------------------------------------------------------------------------
// ScrapeProcessor

ScrapeProcessor::ScrapeProcessor(std::shared_ptr<const JobSpec> job, Labels target_labels,
                                 storage::Appendable* db, ScrapeMetrics* metrics)
    : job_(std::move(job)), target_labels_(std::move(target_labels)), db_(db), metrics_(metrics) {
  for (int i = 0; i < 5; ++i) {
    LabelsBuilder lb(target_labels_);
    lb.Set(kMetricName, kReportNames[i]);
    report_labels_[i] = lb.Labels();
  }
}

void ScrapeProcessor::AdoptState(ScrapeProcessor& old) {
  prev_series_ = std::move(old.prev_series_);
  old.prev_series_.clear();
  reported_ = old.reported_;
  for (int i = 0; i < 5; ++i) {
    if (report_labels_[i] == old.report_labels_[i]) report_refs_[i] = old.report_refs_[i];
  }
  std::vector<MetricMetadata> md = old.Metadata();
  absl::MutexLock l(&md_mu_);
  metadata_ = std::move(md);
}

std::vector<MetricMetadata> ScrapeProcessor::Metadata() const {
  absl::MutexLock l(&md_mu_);
  return metadata_;
}

std::optional<Labels> ScrapeProcessor::BuildLabels(std::span<const Label> scraped) const {
  Labels base(scraped);
  LabelsBuilder lb(base);
  if (job_->cfg.honor_labels) {
    for (const Label& l : target_labels_) {
      if (!base.Has(l.name)) lb.Set(l.name, l.value);
    }
  } else {
    std::vector<std::pair<std::string_view, std::string_view>> conflicts;
    for (const Label& l : target_labels_) {
      std::string_view existing = base.Get(l.name);
      if (!existing.empty()) conflicts.emplace_back(l.name, existing);
      lb.Set(l.name, l.value);
    }
    std::stable_sort(conflicts.begin(), conflicts.end(),
                     [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
    for (const auto& [name, value] : conflicts) {
      std::string new_name(name);
      while (true) {
        new_name.insert(0, "exported_");
        if (lb.Get(new_name).empty()) {
          lb.Set(new_name, value);
          break;
        }
      }
    }
  }
  if (!job_->metric_relabel.empty() && !ingest::Relabel(job_->metric_relabel, lb)) {
    return std::nullopt;
  }
  return lb.Labels();
}

absl::Status ScrapeProcessor::CheckLabelLimits(const Labels& ls) const {
  const config::ScrapeConfig& c = job_->cfg;
  if (c.label_limit > 0 && ls.size() > c.label_limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("label_limit exceeded (metric: %.50s, number of labels: %d, limit: %d)",
                        std::string(ls.MetricName()), ls.size(), c.label_limit));
  }
  if (c.label_name_length_limit == 0 && c.label_value_length_limit == 0) return absl::OkStatus();
  for (const Label& l : ls) {
    if (c.label_name_length_limit > 0 && l.name.size() > c.label_name_length_limit) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "label_name_length_limit exceeded (metric: %.50s, label name: %.50s, length: %d, "
          "limit: %d)",
          std::string(ls.MetricName()), std::string(l.name), l.name.size(),
          c.label_name_length_limit));
    }
    if (c.label_value_length_limit > 0 && l.value.size() > c.label_value_length_limit) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "label_value_length_limit exceeded (metric: %.50s, label name: %.50s, value: %.50s, "
          "length: %d, limit: %d)",
          std::string(ls.MetricName()), std::string(l.name), std::string(l.value),
          l.value.size(), c.label_value_length_limit));
    }
  }
  return absl::OkStatus();
}

absl::Status ScrapeProcessor::AppendBody(storage::Appender& app, std::string_view body,
                                         std::string_view content_type,
                                         std::string_view content_encoding, int64_t t_ms,
                                         ScrapeOutcome* out,
                                         std::vector<MetricMetadata>* metadata) {
  const config::ScrapeConfig& cfg = job_->cfg;
  const uint64_t max_body =
      cfg.body_size_limit > 0 ? static_cast<uint64_t>(cfg.body_size_limit) : kDefaultMaxBodyBytes;
  std::string_view data = body;
  if (absl::EqualsIgnoreCase(Av(content_encoding), "gzip")) {
    PHAROS_RETURN_IF_ERROR(ingest::GunzipBody(body, max_body, &gunzipped_));
    data = gunzipped_;
  } else if (!content_encoding.empty() &&
             !absl::EqualsIgnoreCase(Av(content_encoding), "identity")) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported Content-Encoding \"", Av(content_encoding), "\""));
  }
  if (data.size() > max_body) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "body size limit exceeded: the response is larger than ", max_body, " bytes"));
  }
  PHAROS_ASSIGN_OR_RETURN(
      ingest::ExpositionFormat format,
      ingest::FormatForContentType(content_type, ingest::ExpositionFormat::kPrometheusText));

  ingest::TextParser p(data, format);
  absl::flat_hash_map<std::string, size_t> md_index;
  auto md_for = [&](std::string_view name) -> MetricMetadata& {
    auto [it, inserted] = md_index.try_emplace(Av(name), metadata->size());
    if (inserted) {
      metadata->emplace_back();
      metadata->back().metric = std::string(name);
    }
    return (*metadata)[it->second];
  };
  absl::Status limit_err;
  while (true) {
    PHAROS_ASSIGN_OR_RETURN(ingest::EntryType e, p.Next());
    if (e == ingest::EntryType::kEof) break;
    switch (e) {
      case ingest::EntryType::kHelp: md_for(p.MetaName()).help = std::string(p.Help()); continue;
      case ingest::EntryType::kType:
        md_for(p.MetaName()).type = std::string(TypeForApi(p.Type()));
        continue;
      case ingest::EntryType::kUnit: md_for(p.MetaName()).unit = std::string(p.Unit()); continue;
      case ingest::EntryType::kSeries: break;
      default: continue;
    }
    ++out->samples_scraped;
    std::string_view key = p.Series();
    storage::SeriesRef ref = 0;
    Labels lset;
    bool is_new = false;
    if (auto it = cache_.find(Av(key)); it != cache_.end()) {
      it->second.last_iter = iter_;
      if (it->second.dropped) continue;
      ref = it->second.ref;
      lset = it->second.labels;
    } else {
      std::optional<Labels> built = BuildLabels(p.Labels());
      if (!built) {
        cache_.emplace(std::string(key), CacheEntry{0, Labels(), iter_, true});
        continue;
      }
      lset = std::move(*built);
      if (lset.MetricName().empty()) {
        // As Prometheus: a series without a name (e.g. removed by relabelling) fails the scrape.
        rejected_["invalid_labels"] += 1;
        return absl::InvalidArgumentError(
            absl::StrCat("series without metric name: ", lset.String()));
      }
      if (absl::Status s = CheckLabelLimits(lset); !s.ok()) {
        rejected_["label_limit"] += 1;
        return s;
      }
      is_new = true;
    }
    ++out->samples_post_relabel;
    if (cfg.sample_limit > 0 && out->samples_post_relabel > cfg.sample_limit) {
      if (limit_err.ok()) {
        limit_err = absl::ResourceExhaustedError(
            absl::StrCat("sample limit exceeded (limit: ", cfg.sample_limit, ")"));
      }
      continue;  // keep counting for scrape_samples_scraped
    }
    if (!limit_err.ok()) continue;
    int64_t ts = t_ms;
    bool explicit_ts = false;
    if (cfg.honor_timestamps && p.TimestampMs()) {
      ts = *p.TimestampMs();
      explicit_ts = true;
    }
    if (ref != 0 && cur_series_.contains(ref)) {
      rejected_["duplicate"] += 1;
      continue;
    }
    storage::AppendResult r = app.Append(ref, lset, ts, p.Value());
    if (!r.ok()) {
      rejected_[std::string(storage::RejectReasonName(r.reject))] += 1;
      if (r.reject == storage::RejectReason::kInvalidLabels) {
        // Invalid names or values fail the whole scrape, as in Prometheus; out-of-range
        // timestamps and the series limit only drop the sample.
        return absl::InvalidArgumentError(
            absl::StrCat("invalid metric name or label names: ", lset.String()));
      }
      continue;
    }
    if (is_new) {
      pending_new_.emplace_back(std::string(key), CacheEntry{r.ref, lset, iter_, false});
      ++out->series_added;
    }
    ++out->appended;
    if (!explicit_ts) cur_series_.emplace(r.ref, std::move(lset));
  }
  if (!limit_err.ok()) {
    rejected_["sample_limit"] += out->samples_post_relabel;
    return limit_err;
  }
  return absl::OkStatus();
}

uint64_t ScrapeProcessor::AppendStale(storage::Appender& app, int64_t t_ms, bool all) {
  uint64_t n = 0;
  for (const auto& [ref, ls] : prev_series_) {
    if (!all && cur_series_.contains(ref)) continue;
    if (app.Append(ref, ls, t_ms, kStaleNaN).ok()) ++n;
  }
  return n;
}

void ScrapeProcessor::AppendReport(storage::Appender& app, int64_t t_ms, bool up,
                                   double duration_s, const ScrapeOutcome& o) {
  const double values[5] = {up ? 1.0 : 0.0, duration_s, static_cast<double>(o.samples_scraped),
                            static_cast<double>(o.samples_post_relabel),
                            static_cast<double>(o.series_added)};
  for (int i = 0; i < 5; ++i) {
    storage::AppendResult r = app.Append(report_refs_[i], report_labels_[i], t_ms, values[i]);
    if (r.ok()) report_refs_[i] = r.ref;
  }
  reported_ = true;
}

ScrapeOutcome ScrapeProcessor::Process(const absl::Status& fetch_status, std::string_view body,
                                       std::string_view content_type,
                                       std::string_view content_encoding, int64_t t_ms,
                                       double duration_s) {
  ScrapeOutcome out;
  ++iter_;
  rejected_.clear();
  cur_series_.clear();
  pending_new_.clear();
  std::vector<MetricMetadata> md;
  std::unique_ptr<storage::Appender> app = db_->NewAppender();
  absl::Status st = fetch_status;
  if (st.ok()) st = AppendBody(*app, body, content_type, content_encoding, t_ms, &out, &md);
  if (st.ok()) {
    out.stale_markers = AppendStale(*app, t_ms, /*all=*/false);
    AppendReport(*app, t_ms, true, duration_s, out);
    st = app->Commit();
    if (st.ok()) {
      prev_series_.swap(cur_series_);
      for (auto& [key, e] : pending_new_) cache_.insert_or_assign(std::move(key), std::move(e));
      absl::MutexLock l(&md_mu_);
      metadata_ = std::move(md);
    } else {
      st = absl::InternalError(absl::StrCat("appending to storage failed: ", st.message()));
      std::fill(std::begin(report_refs_), std::end(report_refs_), 0);
    }
  } else {
    app->Rollback();
  }
  if (!st.ok()) {
    out.appended = 0;
    out.series_added = 0;
    auto app2 = db_->NewAppender();
    out.stale_markers = AppendStale(*app2, t_ms, /*all=*/true);
    AppendReport(*app2, t_ms, false, duration_s, out);
    if (!app2->Commit().ok()) std::fill(std::begin(report_refs_), std::end(report_refs_), 0);
    prev_series_.clear();
  }
  pending_new_.clear();
  cur_series_.clear();
  out.status = std::move(st);

  // Forget cache entries not seen lately, so a target whose series churn does not grow it
  // without bound.
  if (out.status.ok() && (iter_ % 10 == 0 || cache_.size() > 2 * out.samples_scraped + 64)) {
    absl::erase_if(cache_, [this](const auto& kv) { return kv.second.last_iter + 1 < iter_; });
  }
  if (metrics_) {
    const std::string& job = job_->cfg.job_name;
    if (out.appended > 0) metrics_->samples_appended.WithLabels({job}).Inc(static_cast<double>(out.appended));
    if (out.stale_markers > 0) metrics_->stale_markers.WithLabels({job}).Inc(static_cast<double>(out.stale_markers));
    for (const auto& [reason, n] : rejected_) {
      metrics_->samples_rejected.WithLabels({job, reason}).Inc(static_cast<double>(n));
    }
  }
  return out;
}

void ScrapeProcessor::WriteEndOfRunStaleMarkers(int64_t t_ms) {
  auto app = db_->NewAppender();
  cur_series_.clear();
  uint64_t n = AppendStale(*app, t_ms, /*all=*/true);
  if (reported_) {
    for (int i = 0; i < 5; ++i) {
      if (app->Append(report_refs_[i], report_labels_[i], t_ms, kStaleNaN).ok()) ++n;
    }
  }
  if (app->Commit().ok() && metrics_ && n > 0) {
    metrics_->stale_markers.WithLabels({job_->cfg.job_name}).Inc(static_cast<double>(n));
  }
  prev_series_.clear();
  reported_ = false;
}

// ----------------------------------------------------------------------------------------------
// ScrapeLoop

ScrapeLoop::ScrapeLoop(LoopOptions o)
    : o_(std::move(o)),
      processor_(o_.job, o_.target.labels, o_.db, o_.metrics),
      timer_(*o_.io) {}

ScrapeLoop::~ScrapeLoop() = default;

void ScrapeLoop::AdoptFrom(ScrapeLoop& old) {
  processor_.AdoptState(old.processor_);
  TargetStatus st = old.Status();
  absl::MutexLock l(&mu_);
  status_ = std::move(st);
}

int64_t ScrapeLoop::InitialDelayMs(uint64_t hash, int64_t interval_ms, int64_t now_ms) {
  const int64_t base = interval_ms - (now_ms % interval_ms);
  const int64_t offset = static_cast<int64_t>(hash % static_cast<uint64_t>(interval_ms));
  int64_t next = base + offset;
  if (next >= interval_ms) next -= interval_ms;
  return next;
}

int64_t ScrapeLoop::AlignedTimestampMs(int64_t now_ms, int64_t ideal_ms, int64_t interval_ms) {
  if (interval_ms > 100 * kTimestampToleranceMs &&
      std::abs(now_ms - ideal_ms) <= kTimestampToleranceMs) {
    return ideal_ms;
  }
  return now_ms;
}

void ScrapeLoop::Start() {
  const int64_t now = o_.now_ms();
  const int64_t delay = InitialDelayMs(o_.target.hash, o_.target.interval_ms, now);
  start_wall_ms_ = now + delay;
  start_steady_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
  iter_ = 0;
  boost::asio::post(*o_.io, [self = shared_from_this()] { self->ScheduleNext(); });
}

void ScrapeLoop::ScheduleNext() {
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
  }
  timer_.expires_at(start_steady_ + std::chrono::milliseconds(iter_ * o_.target.interval_ms));
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->OnTimer();
  });
}

void ScrapeLoop::OnTimer() {
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    in_flight_ = true;
  }
  boost::asio::post(*o_.workers, [self = shared_from_this()] { self->RunScrape(); });
}

void ScrapeLoop::RunScrape() {
  const config::ScrapeConfig& cfg = o_.job->cfg;
  scrape_wall_ms_ = AlignedTimestampMs(o_.now_ms(), start_wall_ms_ + iter_ * o_.target.interval_ms,
                                       o_.target.interval_ms);
  scrape_start_ = std::chrono::steady_clock::now();

  internal::FetchRequest req;
  absl::Status prep;
  auto url = internal::ParseUrl(o_.target.url);
  if (!url.ok()) {
    prep = url.status();
  } else {
    req.url = std::move(*url);
    req.tls = o_.job->tls;
  }
  if (prep.ok()) {
    req.timeout = std::chrono::milliseconds(o_.target.timeout_ms);
    req.body_limit = cfg.body_size_limit > 0 ? static_cast<uint64_t>(cfg.body_size_limit)
                                             : ScrapeProcessor::kDefaultMaxBodyBytes;
    req.headers.emplace_back("Accept", std::string(ingest::kScrapeAcceptHeader));
    req.headers.emplace_back("Accept-Encoding", "gzip");
    req.headers.emplace_back("User-Agent", o_.user_agent);
    req.headers.emplace_back("X-Prometheus-Scrape-Timeout-Seconds",
                             FormatFloat(static_cast<double>(o_.target.timeout_ms) / 1000.0));
    auto auth = AuthorizationHeader(cfg.http);
    if (!auth.ok()) {
      prep = auth.status();
    } else if (!auth->empty()) {
      req.headers.emplace_back("Authorization", std::move(*auth));
    }
  }
  if (!prep.ok()) {
    internal::FetchResult r;
    r.status = prep;
    OnFetched(std::move(r));
    return;
  }
  absl::MutexLock l(&mu_);
  if (stopped_) {
    in_flight_ = false;
    return;
  }
  fetch_ = internal::StartFetch(
      *o_.io, std::move(req), [self = shared_from_this()](internal::FetchResult r) {
        boost::asio::post(*self->o_.workers, [self, r = std::move(r)]() mutable {
          self->OnFetched(std::move(r));
        });
      });
}

void ScrapeLoop::OnFetched(internal::FetchResult r) {
  const double duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scrape_start_).count();
  {
    absl::MutexLock l(&mu_);
    fetch_.reset();
    if (stopped_) {
      in_flight_ = false;
      return;
    }
  }
  ScrapeOutcome out = processor_.Process(r.status, r.body, r.content_type, r.content_encoding,
                                         scrape_wall_ms_, duration_s);
  const std::string& job = o_.job->cfg.job_name;
  if (o_.metrics) {
    o_.metrics->scrapes.WithLabels({job, out.status.ok() ? "success" : "failure"}).Inc();
    o_.metrics->duration.WithLabels({job}).Observe(duration_s);
  }
  if (!out.status.ok() && o_.log->should_log(spdlog::level::debug)) {
    o_.log->debug("msg=\"scrape failed\" job={} target={} err={}", Quoted(job),
                  Quoted(o_.target.url), Quoted(out.status.message()));
  }
  // Next slot in the schedule; slots that already passed are skipped.
  const auto now = std::chrono::steady_clock::now();
  const auto interval = std::chrono::milliseconds(o_.target.interval_ms);
  ++iter_;
  while (start_steady_ + iter_ * interval <= now) ++iter_;

  absl::MutexLock l(&mu_);
  status_.health = out.status.ok() ? Health::kUp : Health::kDown;
  status_.last_error = out.status.ok() ? "" : std::string(out.status.message());
  status_.last_scrape_ms = scrape_wall_ms_;
  status_.last_duration_s = duration_s;
  in_flight_ = false;
  if (!stopped_) {
    boost::asio::post(*o_.io, [self = shared_from_this()] { self->ScheduleNext(); });
  }
}

void ScrapeLoop::Stop(bool stale) {
  std::shared_ptr<internal::FetchHandle> f;
  {
    absl::MutexLock l(&mu_);
    stopped_ = true;
    f = fetch_;
  }
  if (f) f->Cancel();
  boost::asio::post(*o_.io, [self = shared_from_this()] { self->timer_.cancel(); });
  {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](bool* in_flight) { return !*in_flight; }, &in_flight_));
  }
  if (stale) processor_.WriteEndOfRunStaleMarkers(o_.now_ms());
}

TargetStatus ScrapeLoop::Status() const {
  absl::MutexLock l(&mu_);
  return status_;
}

}  // namespace pharos::scrape
