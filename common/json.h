#pragma once

// A small streaming JSON writer for API responses: appends to a string, tracks commas.
//   JsonWriter w;
//   w.BeginObject(); w.Key("status"); w.String("success"); w.EndObject();
//   std::string body = std::move(w).Take();

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pharos {

void AppendJsonEscaped(std::string* out, std::string_view s);  // with the quotes

class JsonWriter {
 public:
  void BeginObject() { Prefix(); out_.push_back('{'); first_.push_back(true); }
  void EndObject() { out_.push_back('}'); first_.pop_back(); }
  void BeginArray() { Prefix(); out_.push_back('['); first_.push_back(true); }
  void EndArray() { out_.push_back(']'); first_.pop_back(); }
  void Key(std::string_view k) {
    Prefix();
    AppendJsonEscaped(&out_, k);
    out_.push_back(':');
    after_key_ = true;
  }
  void String(std::string_view s) { Prefix(); AppendJsonEscaped(&out_, s); }
  void Int(int64_t v);
  // A JSON number; NaN and infinities (not JSON) are written as null.
  void Double(double v);
  void Bool(bool b) { Prefix(); out_.append(b ? "true" : "false"); }
  void Null() { Prefix(); out_.append("null"); }
  // Already-encoded JSON.
  void Raw(std::string_view json) { Prefix(); out_.append(json); }

  // Shorthands for "key": value.
  void KV(std::string_view k, std::string_view v) { Key(k); String(v); }
  void KV(std::string_view k, const char* v) { Key(k); String(v); }

  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
    }
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace pharos
