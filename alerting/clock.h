#pragma once

// Time source for everything in alerting that waits or stamps: rule evaluation, aggregation
// group timers, retries, digests, silence expiry. Production uses SystemClock; tests drive a
// FakeClock so timer behaviour is tested without sleeping.

#include <cstdint>

namespace pharos::alerting {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  static SystemClock* Get();
};

}  // namespace pharos::alerting
