#include "server/ingest/remote_write_negotiate.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace pharos::ingest {
namespace {

absl::string_view Trim(absl::string_view s) { return absl::StripAsciiWhitespace(s); }

}  // namespace

absl::StatusOr<RemoteWriteVersion> NegotiateRemoteWrite(std::string_view content_type,
                                                        std::string_view content_encoding,
                                                        std::string_view /*version_header*/) {
  absl::string_view ct = Trim(Av(content_type));
  if (ct.empty()) ct = Av(kProtobufMediaType);

  RemoteWriteVersion version = RemoteWriteVersion::kV1;  // no proto= parameter: 1.0
  const std::vector<absl::string_view> parts = absl::StrSplit(ct, ';');
  if (!absl::EqualsIgnoreCase(Trim(parts[0]), Av(kProtobufMediaType))) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", Av(kProtobufMediaType),
                                                   " as the first (media) part, got ", ct,
                                                   " content-type"));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::vector<absl::string_view> kv = absl::StrSplit(parts[i], '=');
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected parameters to be "
          "key-values, got ",
          parts[i], " in ", ct, " content-type"));
    }
    if (!absl::EqualsIgnoreCase(Trim(kv[0]), "proto")) continue;
    absl::string_view msg = Trim(kv[1]);
    if (msg.size() >= 2 && msg.front() == '"' && msg.back() == '"') {
      msg = msg.substr(1, msg.size() - 2);
    }
    if (msg == Av(kProtoMsgV1)) {
      version = RemoteWriteVersion::kV1;
    } else if (msg == Av(kProtoMsgV2)) {
      version = RemoteWriteVersion::kV2;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "got ", ct, " content type; unknown remote write protobuf message ", msg,
          ", supported: ", Av(kProtoMsgV1), ", ", Av(kProtoMsgV2)));
    }
    break;  // the first proto= parameter decides, as in Prometheus
  }

  const absl::string_view enc = Trim(Av(content_encoding));
  if (!enc.empty() && !absl::EqualsIgnoreCase(enc, "snappy")) {
    return absl::InvalidArgumentError(
        absl::StrCat(enc, " encoding (compression) is not accepted by this server; only snappy "
                          "is acceptable"));
  }
  return version;
}

std::string_view RemoteWriteContentType(RemoteWriteVersion v) {
  return v == RemoteWriteVersion::kV2 ? "application/x-protobuf;proto=io.prometheus.write.v2.Request"
                                      : "application/x-protobuf";
}

}  // namespace pharos::ingest
