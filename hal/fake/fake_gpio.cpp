#include "pisigner/hal/fake/fake_gpio.hpp"

namespace pisigner::hal::fake {

void FakeGpioLine::push_edge(Edge e) {
  {
    std::lock_guard lock(mutex_);
    edges_.push_back(e);
  }
  cv_.notify_all();
}

void FakeGpioLine::fail_next(int n) {
  {
    std::lock_guard lock(mutex_);
    fail_count_ = n;
  }
  cv_.notify_all();
}

std::size_t FakeGpioLine::pending() const {
  std::lock_guard lock(mutex_);
  return edges_.size();
}

Result<bool, HalError> FakeGpioLine::value() {
  std::lock_guard lock(mutex_);
  if (fail_count_ > 0) {
    --fail_count_;
    return fail(HalError{Errc::io, "injected line error"});
  }
  return level_;
}

Result<std::optional<EdgeEvent>, HalError> FakeGpioLine::wait_edge(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, deadline, [this] { return !edges_.empty() || fail_count_ > 0; });
  if (fail_count_ > 0) {
    --fail_count_;
    return fail(HalError{Errc::io, "injected line error"});
  }
  if (edges_.empty()) return std::optional<EdgeEvent>{};
  const Edge e = edges_.front();
  edges_.pop_front();
  level_ = e == Edge::rising;
  return std::optional<EdgeEvent>{EdgeEvent{e, {}}};
}

}  // namespace pisigner::hal::fake
