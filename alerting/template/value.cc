#include <string>

#include "alerting/template/internal/gofmt.h"
#include "alerting/template/internal/value_access.h"
#include "alerting/template/template.h"

namespace pharos::alerting::tmpl {
namespace {

const std::string& EmptyString() {
  static const std::string* s = new std::string();
  return *s;
}
const Value::List& EmptyList() {
  static const Value::List* l = new Value::List();
  return *l;
}
const Value::Map& EmptyMap() {
  static const Value::Map* m = new Value::Map();
  return *m;
}
const Value::Func& EmptyFunc() {
  static const Value::Func* f = new Value::Func();
  return *f;
}

}  // namespace

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.p_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::Time(int64_t unix_ms) {
  Value v;
  v.kind_ = Kind::kTime;
  v.i_ = unix_ms;
  return v;
}

Value Value::MakeList(List l) {
  Value v;
  v.kind_ = Kind::kList;
  v.p_ = std::make_shared<const internal::ListRep>(internal::ListRep{std::move(l), nullptr});
  return v;
}

Value Value::MakeMap(Map m) {
  Value v;
  v.kind_ = Kind::kMap;
  v.p_ = std::make_shared<const internal::MapRep>(internal::MapRep{std::move(m), nullptr});
  return v;
}

Value Value::MakeFunc(Func f) {
  Value v;
  v.kind_ = Kind::kFunc;
  v.p_ = std::make_shared<const Func>(std::move(f));
  return v;
}

Value Value::WithMethods(Value v, Map methods) {
  auto m = std::make_shared<const Map>(std::move(methods));
  if (v.kind_ == Kind::kList) {
    v.p_ = std::make_shared<const internal::ListRep>(internal::ListRep{v.AsList(), std::move(m)});
  } else if (v.kind_ == Kind::kMap) {
    v.p_ = std::make_shared<const internal::MapRep>(internal::MapRep{v.AsMap(), std::move(m)});
  }
  return v;
}

const std::string& Value::AsString() const {
  return kind_ == Kind::kString ? *static_cast<const std::string*>(p_.get()) : EmptyString();
}

const Value::List& Value::AsList() const {
  return kind_ == Kind::kList ? static_cast<const internal::ListRep*>(p_.get())->items
                              : EmptyList();
}

const Value::Map& Value::AsMap() const {
  return kind_ == Kind::kMap ? static_cast<const internal::MapRep*>(p_.get())->items
                             : EmptyMap();
}

const Value::Func& Value::AsFunc() const {
  return kind_ == Kind::kFunc ? *static_cast<const Func*>(p_.get()) : EmptyFunc();
}

bool Value::Truth() const {
  switch (kind_) {
    case Kind::kNil: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0;
    case Kind::kString: return !AsString().empty();
    case Kind::kTime: return true;  // a struct: always true in Go templates
    case Kind::kList: return !AsList().empty();
    case Kind::kMap: return !AsMap().empty();
    case Kind::kFunc: return static_cast<bool>(AsFunc());
  }
  return false;
}

std::string Value::ToString() const {
  std::string out;
  internal::AppendV(&out, *this);
  return out;
}

}  // namespace pharos::alerting::tmpl
