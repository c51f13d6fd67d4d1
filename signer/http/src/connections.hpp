// The server's connection bookkeeping, kept apart from the sockets so the per-request cost stays
// visible: the connection count, an idle list per I/O thread (no locks), the budget for making room
// at the cap, accept backoff, a log rate limit, and the catch-all's logging and I/O loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace pisigner::http::detail {

// Runs io until it is stopped. An exception escaping a handler goes to on_error and the loop goes
// on with the other handlers (Asio allows run() again after one).
void run_io(boost::asio::io_context& io, const std::function<void(const std::exception_ptr&)>& on_error);

// Connections of one I/O thread in one state, oldest first: keep-alive ones waiting for their next
// request, or (a second list) those whose request is still arriving.
// enter/leave/evict_oldest run on that thread only; oldest() may be read from any thread.
class IdleList {
 public:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();

  class Node {
   public:
    // Closes the connection (on the list's thread); the node leaves the list before this is called.
    virtual void evict() = 0;

   protected:
    ~Node() = default;

   private:
    friend class IdleList;
    Node* prev_ = nullptr;
    Node* next_ = nullptr;
    bool linked_ = false;
    std::int64_t since_ = 0;
  };

  void enter(Node& node);  // node becomes the newest idle connection
  void leave(Node& node);  // no-op when node is not idle
  bool evict_oldest();     // false when no connection is idle
  // steady_clock ticks since the oldest idle connection entered, or kNone.
  std::int64_t oldest() const { return oldest_.load(std::memory_order_relaxed); }

 private:
  void publish();

  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  std::atomic<std::int64_t> oldest_{kNone};
};

// The open-connection count of one server and its counters. Sessions update it once per connection,
// never per request. cap, room_per_second and wake are set before the server starts; the rest is
// thread-safe.
struct Connections {
  int cap = 1;
  int room_per_second = 1000;  // see ServerOptions::room_per_second
  std::atomic<int> open{0};
  std::atomic<bool> paused{false};  // the acceptors wait for a connection to close
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> room_deferrals{0};
  std::atomic<std::uint64_t> handler_errors{0};
  std::function<void()> wake;  // resumes paused acceptors (posts to their thread)

  bool full() const { return open.load(std::memory_order_acquire) >= cap; }
  void opened() { open.fetch_add(1, std::memory_order_acq_rel); }
  void closed() {
    open.fetch_sub(1, std::memory_order_acq_rel);
    if (paused.load(std::memory_order_relaxed) && paused.exchange(false) && !stopping.load()) wake();
  }
};

// Counts the failure and logs one line naming where it was caught. Never throws.
void report_failure(Connections& conns, const char* where, const std::exception_ptr& e) noexcept;

// How many connections may be closed to make room at the cap: a token bucket of `per_second`
// closures a second holding at most a tenth of a second's worth (at least 8, one round of slow
// senders). A slowloris that reopens each connection the server drops then churns at this rate
// instead of as fast as the server can accept and close, which is what competed with signers.
// Not thread-safe (the acceptor's thread).
class RoomBudget {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kMinBurst = 8;
  RoomBudget(int per_second, Clock::time_point now);
  // Up to `want` closures, taken from the budget now; 0 when it is spent.
  int take(int want, Clock::time_point now);
  // Closures taken but not made (the connections had become busy).
  void give_back(int n);
  // How long until take() grants one; zero when it would now.
  Clock::duration until_next(Clock::time_point now);
  int burst() const { return static_cast<int>(burst_); }

 private:
  void refill(Clock::time_point now);

  double per_second_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// Accept-error delays: 10 ms doubling to 1 s; reset() after a successful accept.
class Backoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{10};
  static constexpr std::chrono::milliseconds kMax{1000};
  std::chrono::milliseconds next();
  void reset() { current_ = std::chrono::milliseconds{0}; }

 private:
  std::chrono::milliseconds current_{0};
};

// At most one line per period. allow() returns how many were suppressed since the last allowed
// line, or nullopt when this one is suppressed. Not thread-safe.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration period) : period_(period) {}
  std::optional<std::uint64_t> allow(std::chrono::steady_clock::time_point now);

 private:
  std::chrono::steady_clock::duration period_;
  std::optional<std::chrono::steady_clock::time_point> last_;
  std::uint64_t suppressed_ = 0;
};

// Text for a log line from bytes that may come from a client: non-printable bytes as \xNN,
// cut at max bytes.
std::string printable(std::string_view text, std::size_t max = 160);

// The exception's what() (printable), or a fixed text for a non-std exception.
std::string describe(const std::exception_ptr& e);

}  // namespace pisigner::http::detail
