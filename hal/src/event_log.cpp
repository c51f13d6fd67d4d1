#include "pisigner/hal/event_log.hpp"

#include <spdlog/spdlog.h>

namespace pisigner::hal {

void EventLog::add(Event e, bool warn) {
  if (warn) {
    spdlog::warn("{}: {}: {}", e.source, e.kind, e.message);
  } else {
    spdlog::info("{}: {}: {}", e.source, e.kind, e.message);
  }
  std::lock_guard lock(mutex_);
  ++total_;
  events_.push_back(std::move(e));
  while (events_.size() > capacity_) events_.pop_front();
}

std::vector<Event> EventLog::events() const {
  std::lock_guard lock(mutex_);
  return {events_.begin(), events_.end()};
}

std::uint64_t EventLog::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace pisigner::hal
