// A GPIO line with scripted edges: push_edge() queues an edge (the level follows it when
// the edge is consumed); wait_edge() returns it, times out, or fails as scripted. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

#include "pisigner/hal/gpio.hpp"

namespace pisigner::hal::fake {

class FakeGpioLine final : public GpioLine {
 public:
  explicit FakeGpioLine(bool initial_level = false) : level_(initial_level) {}

  void push_edge(Edge e);
  // The next `n` calls fail with Errc::io.
  void fail_next(int n);
  std::size_t pending() const;

  Result<bool, HalError> value() override;
  // Waits (real time, at most `deadline`) for a queued edge.
  Result<std::optional<EdgeEvent>, HalError> wait_edge(std::chrono::milliseconds deadline) override;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Edge> edges_;
  bool level_;
  int fail_count_ = 0;
};

}  // namespace pisigner::hal::fake
