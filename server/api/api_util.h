#pragma once

// Shared pieces of the Prometheus HTTP API handlers: the JSON envelope and error shapes,
// parameter parsing (times, durations, match[] selectors, limits).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http.h"
#include "storage/labels/matcher.h"

namespace pharos::api {

// Prometheus's errorType values and the HTTP status each maps to.
enum class ErrorType { kBadData, kExecution, kTimeout, kCanceled, kInternal, kUnavailable, kNotFound };
std::string_view ErrorTypeName(ErrorType t);
int ErrorStatus(ErrorType t);

// {"status":"error","errorType":"bad_data","error":"..."}
http::Response ErrorResponse(ErrorType type, std::string_view message);
// {"status":"success","data":<data_json>[,"warnings":[...]]}
http::Response SuccessResponse(std::string_view data_json,
                               const std::vector<std::string>& warnings = {},
                               const std::vector<std::string>& infos = {});

// The request's parameters (query string and form body), with repeated keys kept in order.
class Params {
 public:
  explicit Params(const http::Request& req) : params_(req.Params()) {}
  std::optional<std::string> Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// A sample value as the Prometheus API writes it (a JSON string's contents): Go's
// strconv.FormatFloat with 'f' and shortest precision, or 'e' when |v| < 1e-6 or >= 1e21;
// "+Inf", "-Inf", "NaN".
void AppendPromFloat(std::string* out, double v);
// A timestamp in ms as Prometheus writes it: seconds, then ".ddd" when the ms part is non-zero.
void AppendPromTimestamp(std::string* out, int64_t t_ms);

// Prometheus's min/max representable times, used when start/end are absent.
inline constexpr int64_t kMinTimeMs = -9223309901257974LL;  // -292273086-05-16T16:47:06Z
inline constexpr int64_t kMaxTimeMs = 9223309901257974LL;

// Unix seconds (float) or RFC 3339 -> ms. The error names the parameter as Prometheus does:
// invalid parameter "start": cannot parse "x" to a valid timestamp
absl::StatusOr<int64_t> ParseTimeParam(std::string_view param, std::string_view value);
// Float seconds or a Prometheus duration -> ms.
absl::StatusOr<int64_t> ParseDurationParam(std::string_view param, std::string_view value);
// match[] selectors -> one matcher list per selector.
absl::StatusOr<std::vector<std::vector<Matcher>>> ParseMatchParams(
    const std::vector<std::string>& selectors);
// limit: absent or 0 = unlimited; negative or non-integer is bad_data.
absl::StatusOr<size_t> ParseLimitParam(const Params& p);

}  // namespace pharos::api
