#include "alerting/notify/template_data.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pharos::alerting::notify {

namespace {

using tmpl::Value;

// Go's zero time.Time (0001-01-01T00:00:00Z) in Unix milliseconds: an unset EndsAt prints and
// compares as it does in Alertmanager's templates.
constexpr int64_t kGoZeroTimeMs = -62135596800000;

// Alertmanager's KV.SortedPairs order: alertname first, then by name.
std::vector<std::pair<std::string, std::string>> SortedPairs(const am::LabelSet& kv) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(kv.size());
  auto it = kv.find("alertname");
  if (it != kv.end()) out.emplace_back(it->first, it->second);
  for (const auto& [k, v] : kv) {
    if (k != "alertname") out.emplace_back(k, v);
  }
  return out;
}

Value StringList(std::vector<std::string> items) {
  Value::List l;
  l.reserve(items.size());
  for (auto& s : items) l.push_back(Value::String(std::move(s)));
  return Value::MakeList(std::move(l));
}

// Pairs: a list of {Name, Value} with .Names and .Values.
Value PairsValue(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Value::List l;
  std::vector<std::string> names, values;
  for (const auto& [k, v] : pairs) {
    l.push_back(Value::MakeMap({{"Name", Value::String(k)}, {"Value", Value::String(v)}}));
    names.push_back(k);
    values.push_back(v);
  }
  Value names_v = StringList(std::move(names)), values_v = StringList(std::move(values));
  Value::Map methods;
  methods["Names"] = Value::MakeFunc(
      [names_v](std::span<const Value>) -> absl::StatusOr<Value> { return names_v; });
  methods["Values"] = Value::MakeFunc(
      [values_v](std::span<const Value>) -> absl::StatusOr<Value> { return values_v; });
  return Value::WithMethods(Value::MakeList(std::move(l)), std::move(methods));
}

// Collects the strings of a Remove argument: a list of strings (`.GroupLabels.Names`,
// `stringSlice "a" "b"`) or strings given directly.
absl::Status CollectNames(std::span<const Value> args, std::vector<std::string>* out) {
  for (const Value& a : args) {
    if (a.kind() == Value::Kind::kString) {
      out->push_back(a.AsString());
    } else if (a.kind() == Value::Kind::kList) {
      for (const Value& e : a.AsList()) {
        if (e.kind() != Value::Kind::kString) {
          return absl::InvalidArgumentError("Remove: want a list of strings");
        }
        out->push_back(e.AsString());
      }
    } else if (!a.is_nil()) {
      return absl::InvalidArgumentError("Remove: want a list of strings");
    }
  }
  return absl::OkStatus();
}

Value AlertValue(const AlertData& a) {
  Value::Map m;
  m["Status"] = Value::String(a.status);
  m["Labels"] = KVValue(a.labels);
  m["Annotations"] = KVValue(a.annotations);
  m["StartsAt"] = Value::Time(a.starts_at_ms == 0 ? kGoZeroTimeMs : a.starts_at_ms);
  m["EndsAt"] = Value::Time(a.ends_at_ms == 0 ? kGoZeroTimeMs : a.ends_at_ms);
  m["GeneratorURL"] = Value::String(a.generator_url);
  m["Fingerprint"] = Value::String(a.fingerprint);
  return Value::MakeMap(std::move(m));
}

// Alerts: a list with .Firing and .Resolved (which are Alerts again). Each element is an
// alert's status and value; values share their storage, so the copies are cheap.
using StatusAndValue = std::pair<std::string, Value>;
Value AlertsValue(std::shared_ptr<const std::vector<StatusAndValue>> alerts) {
  Value::List l;
  l.reserve(alerts->size());
  for (const auto& a : *alerts) l.push_back(a.second);
  auto filter = [alerts](const char* status) {
    return Value::MakeFunc([alerts, status](std::span<const Value>) -> absl::StatusOr<Value> {
      auto out = std::make_shared<std::vector<StatusAndValue>>();
      for (const auto& a : *alerts) {
        if (a.first == status) out->push_back(a);
      }
      return AlertsValue(std::move(out));
    });
  };
  Value::Map methods;
  methods["Firing"] = filter("firing");
  methods["Resolved"] = filter("resolved");
  return Value::WithMethods(Value::MakeList(std::move(l)), std::move(methods));
}

am::LabelSet Common(const std::vector<am::Alert>& alerts, am::LabelSet am::Alert::*field) {
  if (alerts.empty()) return {};
  am::LabelSet common = alerts[0].*field;
  for (size_t i = 1; i < alerts.size() && !common.empty(); ++i) {
    const am::LabelSet& other = alerts[i].*field;
    for (auto it = common.begin(); it != common.end();) {
      auto o = other.find(it->first);
      if (o == other.end() || o->second != it->second) {
        it = common.erase(it);
      } else {
        ++it;
      }
    }
  }
  return common;
}

}  // namespace

TemplateData MakeTemplateData(const NotificationContext& ctx,
                              const std::vector<am::Alert>& alerts) {
  TemplateData d;
  d.receiver = ctx.receiver;
  d.group_labels = ctx.group_labels;
  d.external_url = ctx.external_url;
  d.status = "resolved";
  d.alerts.reserve(alerts.size());
  for (const am::Alert& a : alerts) {
    AlertData ad;
    bool resolved = a.ResolvedAt(ctx.now_ms);
    ad.status = resolved ? "resolved" : "firing";
    if (!resolved) d.status = "firing";
    ad.labels = a.labels;
    ad.annotations = a.annotations;
    ad.starts_at_ms = a.starts_at_ms;
    ad.ends_at_ms = resolved ? a.ends_at_ms : 0;
    ad.generator_url = a.generator_url;
    ad.fingerprint = am::FingerprintHex(a.fingerprint());
    d.alerts.push_back(std::move(ad));
  }
  d.common_labels = Common(alerts, &am::Alert::labels);
  d.common_annotations = Common(alerts, &am::Alert::annotations);
  return d;
}

tmpl::Value KVValue(const am::LabelSet& kv) {
  Value::Map entries;
  for (const auto& [k, v] : kv) entries[k] = Value::String(v);
  auto pairs = SortedPairs(kv);
  Value sorted = PairsValue(pairs);
  std::vector<std::string> names, values;
  for (const auto& [k, v] : pairs) {
    names.push_back(k);
    values.push_back(v);
  }
  Value names_v = StringList(std::move(names)), values_v = StringList(std::move(values));
  Value::Map methods;
  methods["SortedPairs"] = Value::MakeFunc(
      [sorted](std::span<const Value>) -> absl::StatusOr<Value> { return sorted; });
  methods["Names"] = Value::MakeFunc(
      [names_v](std::span<const Value>) -> absl::StatusOr<Value> { return names_v; });
  methods["Values"] = Value::MakeFunc(
      [values_v](std::span<const Value>) -> absl::StatusOr<Value> { return values_v; });
  methods["Remove"] = Value::MakeFunc([kv](std::span<const Value> args) -> absl::StatusOr<Value> {
    std::vector<std::string> drop;
    if (auto s = CollectNames(args, &drop); !s.ok()) return s;
    am::LabelSet rest = kv;
    for (const auto& n : drop) rest.erase(n);
    return KVValue(rest);
  });
  return Value::WithMethods(Value::MakeMap(std::move(entries)), std::move(methods));
}

tmpl::Value ToTemplateValue(const TemplateData& data) {
  auto alerts = std::make_shared<std::vector<StatusAndValue>>();
  alerts->reserve(data.alerts.size());
  for (const AlertData& a : data.alerts) alerts->emplace_back(a.status, AlertValue(a));
  Value::Map m;
  m["Receiver"] = Value::String(data.receiver);
  m["Status"] = Value::String(data.status);
  m["Alerts"] = AlertsValue(std::move(alerts));
  m["GroupLabels"] = KVValue(data.group_labels);
  m["CommonLabels"] = KVValue(data.common_labels);
  m["CommonAnnotations"] = KVValue(data.common_annotations);
  m["ExternalURL"] = Value::String(data.external_url);
  return Value::MakeMap(std::move(m));
}

}  // namespace pharos::alerting::notify
