#include "connections.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

namespace pisigner::http::detail {

void run_io(boost::asio::io_context& io, const std::function<void(const std::exception_ptr&)>& on_error) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (...) {
      on_error(std::current_exception());
    }
  }
}

void IdleList::enter(Node& node) {
  if (node.linked_) leave(node);
  node.since_ = std::chrono::steady_clock::now().time_since_epoch().count();
  node.prev_ = tail_;
  node.next_ = nullptr;
  node.linked_ = true;
  if (tail_) {
    tail_->next_ = &node;
  } else {
    head_ = &node;
  }
  tail_ = &node;
  if (head_ == &node) publish();
}

void IdleList::leave(Node& node) {
  if (!node.linked_) return;
  const bool was_head = head_ == &node;
  if (node.prev_) node.prev_->next_ = node.next_;
  if (node.next_) node.next_->prev_ = node.prev_;
  if (head_ == &node) head_ = node.next_;
  if (tail_ == &node) tail_ = node.prev_;
  node.prev_ = node.next_ = nullptr;
  node.linked_ = false;
  if (was_head) publish();
}

bool IdleList::evict_oldest() {
  Node* oldest = head_;
  if (!oldest) return false;
  leave(*oldest);
  oldest->evict();
  return true;
}

// Written only when the head changes: with one or two clients that is every request, a relaxed
// store to a line only this thread writes.
void IdleList::publish() { oldest_.store(head_ ? head_->since_ : kNone, std::memory_order_relaxed); }

void report_failure(Connections& conns, const char* where, const std::exception_ptr& e) noexcept {
  conns.handler_errors.fetch_add(1, std::memory_order_relaxed);
  try {
    spdlog::error("HTTP server: exception from the {}: {}", where, describe(e));
  } catch (...) {
  }
}

RoomBudget::RoomBudget(int per_second, Clock::time_point now)
    : per_second_(std::max(1, per_second)),
      burst_(std::max<double>(kMinBurst, per_second_ / 10)),
      tokens_(burst_),
      last_(now) {}

void RoomBudget::refill(Clock::time_point now) {
  if (now <= last_) return;
  tokens_ = std::min(burst_, tokens_ + per_second_ * std::chrono::duration<double>(now - last_).count());
  last_ = now;
}

int RoomBudget::take(int want, Clock::time_point now) {
  refill(now);
  const int n = std::clamp(static_cast<int>(tokens_), 0, std::max(0, want));
  tokens_ -= n;
  return n;
}

void RoomBudget::give_back(int n) { tokens_ = std::min(burst_, tokens_ + std::max(0, n)); }

RoomBudget::Clock::duration RoomBudget::until_next(Clock::time_point now) {
  refill(now);
  if (tokens_ >= 1) return Clock::duration::zero();
  const auto wait = std::chrono::duration<double>((1 - tokens_) / per_second_);
  // Rounded up: waking a tick early would find the budget still spent.
  return std::chrono::ceil<Clock::duration>(wait) + Clock::duration{1};
}

std::chrono::milliseconds Backoff::next() {
  current_ = current_.count() == 0 ? kFirst : std::min(current_ * 2, kMax);
  return current_;
}

std::optional<std::uint64_t> LogLimiter::allow(std::chrono::steady_clock::time_point now) {
  if (last_ && now - *last_ < period_) {
    ++suppressed_;
    return std::nullopt;
  }
  last_ = now;
  const std::uint64_t n = suppressed_;
  suppressed_ = 0;
  return n;
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 8);
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out.push_back(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return printable(x.what());
  } catch (...) {
    return "non-standard exception";
  }
}

}  // namespace pisigner::http::detail
