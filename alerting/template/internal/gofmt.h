#pragma once

// Go's fmt and time formatting over tmpl::Value, as text/template's print/printf and Go
// methods (time.Time.Format, time.Duration.String) render them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "alerting/template/template.h"

namespace pharos::alerting::tmpl::internal {

// fmt.Sprintf: verbs %v %s %d %f %F %e %E %g %G %t %q %x %X %o %O %b %c %U %T %%, flags
// "+- #0", width and precision (incl. *); bad verbs as %!d(string=x), %!d(MISSING),
// %!(EXTRA type=value).
std::string Sprintf(std::string_view format, std::span<const Value> args);
// fmt.Sprint: spaces between operands when neither is a string.
std::string Sprint(std::span<const Value> args);
// fmt.Sprintln: spaces always, newline at the end.
std::string Sprintln(std::span<const Value> args);
// %v of one value (what Value::ToString returns).
void AppendV(std::string* out, const Value& v);
// Go's name of the value's dynamic type, as fmt prints it in %!verb(type=value).
const char* TypeName(const Value& v);
// strconv.Quote.
std::string GoQuote(std::string_view s);
// Go's shortest 'g' float formatting, "+Inf", "-Inf", "NaN".
std::string FormatFloatG(double v);

// time.Time.Format(layout) of a kTime value (in its zone, UTC by default).
std::string FormatTime(const Value& t, std::string_view layout);
// time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST".
std::string TimeString(const Value& t);
// time.Duration.String(): "1h2m3.5s", "1.5ms", "0s".
std::string DurationString(int64_t ns);

}  // namespace pharos::alerting::tmpl::internal
