// A GPIO input line with edge events. Every wait has a deadline and ends in one of three
// outcomes: an event, a timeout (nullopt), or an error.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hal {

enum class Edge { rising, falling };

struct EdgeEvent {
  Edge edge = Edge::rising;
  std::chrono::nanoseconds timestamp{0};  // kernel timestamp, informational only
};

class GpioLine {
 public:
  virtual ~GpioLine() = default;
  // Current level (true = high).
  virtual Result<bool, HalError> value() = 0;
  // Waits up to `deadline` for one edge. nullopt on timeout. Not thread-safe: one owner.
  virtual Result<std::optional<EdgeEvent>, HalError> wait_edge(std::chrono::milliseconds deadline) = 0;
};

// Requests `offset` on `chip` ("gpiochip0" or "/dev/gpiochip0") for both-edge events with
// libgpiod v1. Errc::absent if the chip or line does not exist.
Result<std::unique_ptr<GpioLine>, HalError> open_gpio_line(const std::string& chip, unsigned offset,
                                                           const std::string& consumer);

}  // namespace pisigner::hal
