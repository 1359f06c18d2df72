#pragma once

// Strict YAML decoding shared by every config format Pharos reads (its own config, rule files,
// Alertmanager configs): each mapping is read through a table of known keys, so an unknown key
// or a value of the wrong type is an error that names the file, line and column:
//
//   yaml::Decoder d("rules.yml");
//   PHAROS_RETURN_IF_ERROR(yaml::LoadAndDecode(d, text, [&](const YAML::Node& root) {
//     return d.Map(root, "rule file", {{"groups", ...}});
//   }));

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/units.h"
#include "yaml-cpp/yaml.h"

namespace pharos::yaml {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(absl::string_view s);

class Decoder {
 public:
  explicit Decoder(absl::string_view source) : source_(source) {}

  absl::Status Err(const YAML::Node& n, absl::string_view msg) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return absl::InvalidArgumentError(absl::StrCat(source_, ": ", msg));
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", m.line + 1, ":", m.column + 1, ": ", msg));
  }

  using FieldFn = std::function<absl::Status(const YAML::Node&)>;

  // Applies `fields` to mapping `n` (null is an empty mapping). `what` names it in errors.
  absl::Status Map(const YAML::Node& n, absl::string_view what,
                   const std::map<std::string, FieldFn>& fields) const {
    if (!n || n.IsNull()) return absl::OkStatus();
    if (!n.IsMap()) return Err(n, absl::StrCat(what, " must be a mapping"));
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return Err(kv.first, absl::StrCat("bad key in ", what));
      const std::string key = kv.first.Scalar();
      auto it = fields.find(key);
      if (it == fields.end()) {
        return Err(kv.first, absl::StrCat("field \"", key, "\" not found in ", what));
      }
      if (!seen.insert(key).second) {
        return Err(kv.first, absl::StrCat("field \"", key, "\" set twice in ", what));
      }
      PHAROS_RETURN_IF_ERROR(it->second(kv.second));
    }
    return absl::OkStatus();
  }

  absl::Status Scalar(const YAML::Node& n, absl::string_view key, std::string* out) const {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsScalar()) return Err(n, absl::StrCat("\"", key, "\" must be a string"));
    return ScalarText(n, out);
  }

  // A scalar's text; `!!binary` scalars are base64-decoded, as Go's YAML decoder does.
  absl::Status ScalarText(const YAML::Node& n, std::string* out) const {
    if (n.Tag() == "tag:yaml.org,2002:binary") {
      std::vector<unsigned char> bytes = YAML::DecodeBase64(n.Scalar());
      if (bytes.empty() && !n.Scalar().empty()) {
        return Err(n, "!!binary value contains invalid base64 data");
      }
      out->assign(bytes.begin(), bytes.end());
      return absl::OkStatus();
    }
    *out = n.Scalar();
    return absl::OkStatus();
  }

  absl::Status Bool(const YAML::Node& n, absl::string_view key, bool* out) const {
    if (n.IsNull()) return absl::OkStatus();
    std::string s;
    PHAROS_RETURN_IF_ERROR(Scalar(n, key, &s));
    if (s == "true") *out = true;
    else if (s == "false") *out = false;
    else return Err(n, absl::StrCat("\"", key, "\" must be true or false, got \"", s, "\""));
    return absl::OkStatus();
  }

  absl::Status Uint(const YAML::Node& n, absl::string_view key, uint64_t* out) const {
    if (n.IsNull()) return absl::OkStatus();
    std::string s;
    PHAROS_RETURN_IF_ERROR(Scalar(n, key, &s));
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos ||
        s.size() > 19) {
      return Err(n, absl::StrCat("\"", key, "\" must be a non-negative integer, got \"", s,
                                 "\""));
    }
    *out = std::stoull(s);
    return absl::OkStatus();
  }

  absl::Status Duration(const YAML::Node& n, absl::string_view key, int64_t* out_ms) const {
    if (n.IsNull()) return absl::OkStatus();
    std::string s;
    PHAROS_RETURN_IF_ERROR(Scalar(n, key, &s));
    auto d = ParseDurationMs(s);
    if (!d.ok()) return Err(n, absl::StrCat("\"", key, "\": ", d.status().message()));
    *out_ms = *d;
    return absl::OkStatus();
  }

  absl::Status Bytes(const YAML::Node& n, absl::string_view key, int64_t* out) const {
    if (n.IsNull()) return absl::OkStatus();
    std::string s;
    PHAROS_RETURN_IF_ERROR(Scalar(n, key, &s));
    auto b = ParseBytes(s);
    if (!b.ok()) return Err(n, absl::StrCat("\"", key, "\": ", b.status().message()));
    *out = *b;
    return absl::OkStatus();
  }

  absl::Status StringList(const YAML::Node& n, absl::string_view key,
                          std::vector<std::string>* out) const {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsSequence()) return Err(n, absl::StrCat("\"", key, "\" must be a list of strings"));
    for (const auto& item : n) {
      if (!item.IsScalar()) return Err(item, absl::StrCat("\"", key, "\" must be a list of strings"));
      std::string v;
      PHAROS_RETURN_IF_ERROR(ScalarText(item, &v));
      out->push_back(std::move(v));
    }
    return absl::OkStatus();
  }

  absl::Status StringMap(const YAML::Node& n, absl::string_view key,
                         std::map<std::string, std::string>* out) const {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsMap()) return Err(n, absl::StrCat("\"", key, "\" must be a mapping of strings"));
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull())) {
        return Err(kv.first, absl::StrCat("\"", key, "\" must be a mapping of strings"));
      }
      std::string k, v;
      PHAROS_RETURN_IF_ERROR(ScalarText(kv.first, &k));
      if (!kv.second.IsNull()) PHAROS_RETURN_IF_ERROR(ScalarText(kv.second, &v));
      if (!IsValidUtf8(k) || k.empty()) {
        return Err(kv.first, absl::StrCat("\"", absl::CHexEscape(k), "\" is not a valid label name"));
      }
      if (!IsValidUtf8(v)) {
        return Err(kv.second, absl::StrCat("\"", absl::CHexEscape(v), "\" is not a valid label value"));
      }
      if (!out->emplace(k, v).second) {
        return Err(kv.first, absl::StrCat("duplicate key \"", k, "\" in ", key));
      }
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status List(const YAML::Node& n, absl::string_view key, std::vector<T>* out,
                    const std::function<absl::Status(const YAML::Node&, T*)>& item_fn) const {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsSequence()) return Err(n, absl::StrCat("\"", key, "\" must be a list"));
    for (const auto& item : n) {
      T v;
      PHAROS_RETURN_IF_ERROR(item_fn(item, &v));
      out->push_back(std::move(v));
    }
    return absl::OkStatus();
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};


// Parses `text` and runs `fn` on the root node; YAML syntax errors (thrown by yaml-cpp) come
// back as InvalidArgument "source:line:col: message".
absl::Status LoadAndDecode(const Decoder& d, const std::string& text,
                           const std::function<absl::Status(const YAML::Node&)>& fn);

}  // namespace pharos::yaml
