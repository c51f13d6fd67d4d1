// Time is injected: only RealClock reads the system clock or sleeps, so tests
// drive timeouts, probe ages and grace periods with a ManualClock.
#pragma once

#include <atomic>
#include <chrono>

namespace pisigner {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time. Thread-safe.
  virtual TimePoint now() const = 0;
  // Seconds since the Unix epoch, for timestamps shown to people. Thread-safe.
  virtual std::int64_t unix_seconds() const = 0;
};

// The process-wide real clock. Thread-safe; never destroyed.
Clock& real_clock();

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ticks_.load())); }
  std::int64_t unix_seconds() const override { return 1'700'000'000 + std::chrono::duration_cast<std::chrono::seconds>(Duration(ticks_.load())).count(); }
  void advance(Duration d) { ticks_ += d.count(); }

 private:
  std::atomic<Duration::rep> ticks_{0};
};

}  // namespace pisigner
