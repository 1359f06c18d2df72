#pragma once

// Engine-private parts of tmpl::Value: the representation behind its shared pointer and the
// markers Go carries in static types (html/template.HTML, time.Duration, a time's Location,
// Go's nil interface and invalid reflect.Value are both the nil Value: a pipeline turns one
// into the other, so both print "<no value>" from an action and "<nil>" inside fmt). Only the template library uses this.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "alerting/template/template.h"

namespace pharos::alerting::tmpl::internal {

struct ListRep {
  Value::List items;
  std::shared_ptr<const Value::Map> methods;
};
struct MapRep {
  Value::Map items;
  std::shared_ptr<const Value::Map> methods;
};
struct ZoneRep {
  absl::TimeZone tz;
  std::string name;  // as Go's Location.String(): "Europe/Berlin", "UTC"
};

// Go's zero time.Time (0001-01-01T00:00:00Z) in Unix milliseconds: IsZero is true for it.
inline constexpr int64_t kGoZeroTimeMs = -62135596800000;

struct ValueAccess {
  // html/template.HTML: not escaped in Mode::kHtml.
  static Value SafeHtml(std::string s) {
    Value v = Value::String(std::move(s));
    v.b_ = true;
    return v;
  }
  static bool IsSafeHtml(const Value& v) { return v.kind_ == Value::Kind::kString && v.b_; }

  // time.Duration: an int of nanoseconds that prints as "1h2m3.5s".
  static Value Duration(int64_t ns) {
    Value v = Value::Int(ns);
    v.b_ = true;
    return v;
  }
  static bool IsDuration(const Value& v) { return v.kind_ == Value::Kind::kInt && v.b_; }

  // A time shown in a zone other than UTC (Alertmanager's `tz`).
  static Value TimeIn(int64_t unix_ms, std::shared_ptr<const ZoneRep> zone) {
    Value v = Value::Time(unix_ms);
    v.p_ = std::move(zone);
    return v;
  }
  // Null means UTC.
  static const ZoneRep* Zone(const Value& v) {
    return v.kind_ == Value::Kind::kTime ? static_cast<const ZoneRep*>(v.p_.get()) : nullptr;
  }

  static const Value::Map* Methods(const Value& v) {
    if (v.kind_ == Value::Kind::kList) {
      return static_cast<const ListRep*>(v.p_.get())->methods.get();
    }
    if (v.kind_ == Value::Kind::kMap) return static_cast<const MapRep*>(v.p_.get())->methods.get();
    return nullptr;
  }
};

}  // namespace pharos::alerting::tmpl::internal
