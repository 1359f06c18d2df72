#pragma once

// Scrape protocol helpers: the Accept header the scraper sends, the parser to use for a
// response's Content-Type, and bounded gzip decompression of response bodies.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/ingest/textparse.h"

namespace pharos::ingest {

// The Accept header Prometheus 3 sends by default (config.DefaultScrapeProtocols: OpenMetrics
// 1.0.0, OpenMetrics 0.0.1, text 1.0.0, text 0.0.4, weighted by scrape.acceptHeader), minus
// protobuf, which Pharos does not parse:
//   application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,
//   application/openmetrics-text;version=0.0.1;q=0.5,
//   text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,
//   text/plain;version=0.0.4;q=0.3,*/*;q=0.2
inline constexpr std::string_view kScrapeAcceptHeader =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

// Picks the parser for a Content-Type header value, as Prometheus's textparse.New does: by the
// media type alone (case-insensitive, parameters ignored): application/openmetrics-text ->
// kOpenMetrics, text/plain -> kPrometheusText. A blank, malformed or unknown media type uses
// `fallback` when given (Prometheus's fallback_scrape_protocol) and is an InvalidArgument error
// otherwise; protobuf (application/vnd.google.protobuf) is Unimplemented unless a fallback is
// given.
[[nodiscard]] absl::StatusOr<ExpositionFormat> FormatForContentType(
    std::string_view content_type, std::optional<ExpositionFormat> fallback = std::nullopt);

// Decompresses a gzip body (one or more concatenated members, as Go's gzip.Reader reads them)
// into *out (cleared first; its capacity is reused). More than `max_bytes` of output is a
// ResourceExhausted error ("body size limit exceeded: ..."); corrupt or truncated input is
// InvalidArgument. max_bytes == 0 means no limit.
[[nodiscard]] absl::Status GunzipBody(std::string_view compressed, size_t max_bytes,
                                      std::string* out);

}  // namespace pharos::ingest
