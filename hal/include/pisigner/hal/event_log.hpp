// A bounded, thread-safe list of decisions and notable events, newest last, kept for
// /metrics, pisignerctl and the health JSON. Every append is also logged with spdlog.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace pisigner::hal {

struct Event {
  std::int64_t unix_seconds = 0;
  std::string source;   // "ups" or "uplink"
  std::string kind;     // short machine-friendly tag, e.g. "state", "failover", "read_error"
  std::string message;  // one line for people
};

class EventLog {
 public:
  explicit EventLog(std::size_t capacity = 64) : capacity_(capacity) {}

  // Appends (dropping the oldest beyond capacity) and logs at info level,
  // or warn when `warn` is set. Thread-safe.
  void add(Event e, bool warn = false);
  // A copy, oldest first. Thread-safe.
  std::vector<Event> events() const;
  // Total events ever added (also counts dropped ones). Thread-safe.
  std::uint64_t total() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Event> events_;  // guarded by mutex_
  std::uint64_t total_ = 0;   // guarded by mutex_
};

}  // namespace pisigner::hal
