#include "server/http/http.h"

#include <cctype>

namespace pharos::http {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kPatch: return "PATCH";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> Request::Params() const {
  auto params = ParseUrlEncoded(query);
  if (method == Method::kPost || method == Method::kPut) {
    std::string_view ct = Header("content-type");
    if (EqualsIgnoreCase(ct.substr(0, 33), "application/x-www-form-urlencoded")) {
      auto form = ParseUrlEncoded(body);
      params.insert(params.end(), std::make_move_iterator(form.begin()),
                    std::make_move_iterator(form.end()));
    }
  }
  return params;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseUrlEncoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    size_t amp = s.find('&');
    std::string_view part = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(UrlDecode(part, true), "");
    } else {
      out.emplace_back(UrlDecode(part.substr(0, eq), true), UrlDecode(part.substr(eq + 1), true));
    }
  }
  return out;
}

void Router::Handle(std::string path, std::vector<Method> methods, Handler handler,
                    RouteOptions options) {
  Route r;
  r.prefix = !path.empty() && path.back() == '/' && path != "/";
  if (options.metric_label.empty()) options.metric_label = path;
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.handler = std::move(handler);
  r.options = std::move(options);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(std::string_view path, Method method) const {
  // The best path: an exact route, else the longest matching prefix route.
  const std::string* best = nullptr;
  bool best_prefix = true;
  for (const Route& r : routes_) {
    bool hit = r.prefix ? path.starts_with(r.path) : path == r.path;
    if (!hit) continue;
    if (!best || (best_prefix && !r.prefix) ||
        (best_prefix == r.prefix && r.path.size() > best->size())) {
      best = &r.path;
      best_prefix = r.prefix;
    }
  }
  Match m;
  if (!best) return m;
  m.path_known = true;
  std::vector<std::string_view> allowed;
  for (const Route& r : routes_) {
    if (r.path != *best) continue;
    for (Method meth : r.methods) {
      allowed.push_back(MethodName(meth));
      if (meth == method) m.route = &r;
    }
  }
  if (!m.route) {
    for (size_t i = 0; i < allowed.size(); ++i) {
      if (i) m.allow.append(", ");
      m.allow.append(allowed[i]);
    }
  }
  return m;
}

}  // namespace pharos::http
