#pragma once

// Remote-write content negotiation: which protobuf message a request carries, from its
// Content-Type, Content-Encoding and X-Prometheus-Remote-Write-Version headers.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace pharos::ingest {

enum class RemoteWriteVersion : uint8_t {
  kV1,  // prometheus.WriteRequest (remote-write 1.0)
  kV2,  // io.prometheus.write.v2.Request (remote-write 2.0)
};

// Header names and values of the protocol.
inline constexpr std::string_view kRemoteWriteVersionHeader = "X-Prometheus-Remote-Write-Version";
inline constexpr std::string_view kSamplesWrittenHeader = "X-Prometheus-Remote-Write-Samples-Written";
inline constexpr std::string_view kHistogramsWrittenHeader =
    "X-Prometheus-Remote-Write-Histograms-Written";
inline constexpr std::string_view kExemplarsWrittenHeader =
    "X-Prometheus-Remote-Write-Exemplars-Written";
inline constexpr std::string_view kProtobufMediaType = "application/x-protobuf";
inline constexpr std::string_view kProtoMsgV1 = "prometheus.WriteRequest";
inline constexpr std::string_view kProtoMsgV2 = "io.prometheus.write.v2.Request";

// Decides the message version the way Prometheus's receiver (storage/remote/write_handler.go)
// does, per the remote-write 2.0 specification:
//  - Content-Type `application/x-protobuf` with no `proto` parameter is 1.0; with
//    `proto=prometheus.WriteRequest` 1.0; with `proto=io.prometheus.write.v2.Request` 2.0;
//    any other media type or proto value is refused. Parameters are `;key=value`, whitespace
//    around them is ignored, other parameters are ignored, the media type is compared
//    case-insensitively (RFC 9110), a quoted proto value is unquoted.
//  - A missing Content-Type is taken as `application/x-protobuf` (1.0): the 2.0 spec does not
//    cover it; Prometheus accepts it so as not to break old 1.0 senders, and so do we.
//  - Content-Encoding must be `snappy` (case-insensitive). The spec says senders MUST send
//    `snappy` and receivers MUST support it; it is silent on a missing header. Prometheus treats
//    a missing Content-Encoding as snappy (1.0 senders predate the header), and so do we: the
//    body is still decompressed as snappy and a non-snappy body fails there with a clear error.
//  - X-Prometheus-Remote-Write-Version is informational only: the spec makes Content-Type
//    authoritative for the message type, and Prometheus ignores the version header; so do we
//    (a 2.0.0 version header with a 1.0 Content-Type is decoded as 1.0).
// Every error means HTTP 415 Unsupported Media Type, with the error message (Prometheus's
// wording) as the response body.
[[nodiscard]] absl::StatusOr<RemoteWriteVersion> NegotiateRemoteWrite(
    std::string_view content_type, std::string_view content_encoding,
    std::string_view version_header = {});

// The Content-Type a sender uses for `v` (what Prometheus sends).
std::string_view RemoteWriteContentType(RemoteWriteVersion v);

}  // namespace pharos::ingest
