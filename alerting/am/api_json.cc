#include "alerting/am/api_json.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/units.h"
#include "storage/labels/labels.h"

namespace pharos::alerting::am {

namespace {

using nlohmann::json;

absl::Status DecodeLabelSet(const json& j, std::string_view what, LabelSet* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(Av(what), " must be an object"));
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Av(what), " value of \"", k, "\" must be a string"));
    }
    (*out)[k] = v.get<std::string>();
  }
  return absl::OkStatus();
}

absl::Status DecodeTime(const json& a, const char* key, int64_t* out) {
  auto it = a.find(key);
  if (it == a.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat(key, " must be a string"));
  auto t = ParseRfc3339Ms(it->get<std::string>());
  if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat(key, ": ", t.status().message()));
  *out = *t;
  return absl::OkStatus();
}

absl::Status DecodeAlert(const json& a, int64_t now_ms, Alert* out) {
  if (!a.is_object()) return absl::InvalidArgumentError("alert must be an object");
  for (const auto& [k, v] : a.items()) {
    if (k == "labels") {
      PHAROS_RETURN_IF_ERROR(DecodeLabelSet(v, "labels", &out->labels));
    } else if (k == "annotations") {
      PHAROS_RETURN_IF_ERROR(DecodeLabelSet(v, "annotations", &out->annotations));
    } else if (k == "generatorURL") {
      if (!v.is_null() && !v.is_string()) {
        return absl::InvalidArgumentError("generatorURL must be a string");
      }
      if (v.is_string()) out->generator_url = v.get<std::string>();
    } else if (k != "startsAt" && k != "endsAt") {
      return absl::InvalidArgumentError(absl::StrCat("unknown field \"", k, "\""));
    }
  }
  PHAROS_RETURN_IF_ERROR(DecodeTime(a, "startsAt", &out->starts_at_ms));
  PHAROS_RETURN_IF_ERROR(DecodeTime(a, "endsAt", &out->ends_at_ms));
  if (out->labels.empty()) return absl::InvalidArgumentError("at least one label pair required");
  for (const auto& [k, v] : out->labels) {
    if (!IsValidLegacyLabelName(k)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid label set: invalid name \"", k, "\""));
    }
    if (v.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid label set: empty value for \"", k, "\""));
    }
  }
  for (const auto& [k, v] : out->annotations) {
    if (!IsValidLegacyLabelName(k)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid annotations: invalid name \"", k, "\""));
    }
  }
  if (out->starts_at_ms == 0) out->starts_at_ms = out->ends_at_ms != 0 ? out->ends_at_ms : now_ms;
  if (out->ends_at_ms != 0 && out->ends_at_ms < out->starts_at_ms) {
    return absl::InvalidArgumentError("start time must be before end time");
  }
  out->updated_at_ms = now_ms;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DecodedAlerts> DecodePostableAlerts(std::string_view body, int64_t now_ms) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("body is not valid JSON");
  if (!j.is_array()) return absl::InvalidArgumentError("body must be a JSON array of alerts");
  DecodedAlerts out;
  for (size_t i = 0; i < j.size(); ++i) {
    Alert a;
    absl::Status s = DecodeAlert(j[i], now_ms, &a);
    if (!s.ok()) {
      std::string name = a.Name().empty() ? absl::StrCat("#", i) : a.Name();
      out.errors.push_back(absl::StrCat("alert ", name, ": ", s.message()));
      continue;
    }
    out.alerts.push_back(std::move(a));
  }
  return out;
}

std::string EncodePostableAlerts(const std::vector<Alert>& alerts) {
  json arr = json::array();
  for (const Alert& a : alerts) {
    json o = json::object();
    o["labels"] = json::object();
    for (const auto& [k, v] : a.labels) o["labels"][k] = v;
    o["annotations"] = json::object();
    for (const auto& [k, v] : a.annotations) o["annotations"][k] = v;
    if (a.starts_at_ms != 0) o["startsAt"] = FormatRfc3339MillisMs(a.starts_at_ms);
    if (a.ends_at_ms != 0) o["endsAt"] = FormatRfc3339MillisMs(a.ends_at_ms);
    if (!a.generator_url.empty()) o["generatorURL"] = a.generator_url;
    arr.push_back(std::move(o));
  }
  return arr.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace pharos::alerting::am
