// D-Bus connections that may go away: opening one by name or address, running its event loop
// without letting the bus's failure escape the loop thread, and the reconnect backoff.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pisigner/clock.hpp"
#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace sdbus {
class IConnection;
}

namespace pisigner::hal {

// "system" (the system bus) or a D-Bus address ("unix:path=/run/dbus/system_bus_socket").
// Errc::absent when nothing answers there. A failed attempt leaves nothing allocated, but for
// one sdbus-c++ 1.2 bus object (~2 KB) when the bus vanishes between open_bus's probe and connect.
Result<std::unique_ptr<sdbus::IConnection>, HalError> open_bus(const std::string& spec);

// One connection and its event loop on an owned thread. When the bus goes away the loop
// ends, lost() turns true and `on_lost` runs (on the loop thread); nothing is thrown.
class BusSession {
 public:
  static Result<std::unique_ptr<BusSession>, HalError> open(const std::string& spec);
  ~BusSession();  // stop_loop()
  BusSession(const BusSession&) = delete;
  BusSession& operator=(const BusSession&) = delete;

  sdbus::IConnection& connection() { return *conn_; }
  // Starts the event loop thread. Call once, after the proxies and matches are in place.
  void start_loop(std::function<void()> on_lost);
  // Leaves the loop (if it still runs) and joins its thread. Idempotent.
  void stop_loop();
  bool lost() const { return lost_; }
  std::string lost_reason() const;  // why the loop ended ("" while it runs)

 private:
  explicit BusSession(std::unique_ptr<sdbus::IConnection> conn);

  std::unique_ptr<sdbus::IConnection> conn_;
  std::thread loop_;
  std::atomic<bool> lost_{false};
  mutable std::mutex mutex_;
  std::string lost_reason_;  // guarded by mutex_
};

// When to try again after a failed connection: first after `first`, doubling up to `max`.
// Driven by the injected clock; not thread-safe (one owner).
class Backoff {
 public:
  explicit Backoff(Clock::Duration first = std::chrono::milliseconds(500),
                   Clock::Duration max = std::chrono::seconds(30))
      : first_(first), max_(max) {}

  bool due(Clock::TimePoint now) const { return failures_ == 0 || now >= next_; }
  // Time left until due (zero when due).
  Clock::Duration remaining(Clock::TimePoint now) const;
  // An attempt failed (or the connection was lost) at `now`: the next one waits longer.
  void failed(Clock::TimePoint now);
  // Connected: the next failure starts from `first` again.
  void reset();
  int failures() const { return failures_; }

 private:
  const Clock::Duration first_, max_;
  Clock::Duration delay_{0};
  Clock::TimePoint next_{};  // meaningful while failures_ > 0
  int failures_ = 0;
};

}  // namespace pisigner::hal
