// The server's connection bookkeeping without sockets: idle order and eviction, the accept backoff,
// the log rate limit, escaping of client text in log lines, and an I/O loop that survives a throw.
#include "connections.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <stdexcept>
#include <vector>

namespace pisigner::http::detail {
namespace {

using namespace std::chrono_literals;

struct Conn final : IdleList::Node {
  explicit Conn(std::vector<int>& log, int id) : log_(log), id_(id) {}
  void evict() override { log_.push_back(id_); }
  std::vector<int>& log_;
  int id_;
};

TEST(IdleList, EvictsTheLongestIdleAndForgetsBusyOnes) {
  std::vector<int> evicted;
  IdleList idle;
  Conn a(evicted, 1), b(evicted, 2), c(evicted, 3);
  EXPECT_EQ(idle.oldest(), IdleList::kNone);
  EXPECT_FALSE(idle.evict_oldest());
  idle.enter(a);
  const auto a_since = idle.oldest();
  EXPECT_NE(a_since, IdleList::kNone);
  idle.enter(b);
  idle.enter(c);
  EXPECT_EQ(idle.oldest(), a_since);
  idle.leave(a);  // a request arrives on a
  EXPECT_GE(idle.oldest(), a_since);
  idle.leave(a);  // twice is harmless
  idle.enter(a);  // a is idle again, now the newest
  ASSERT_TRUE(idle.evict_oldest());
  ASSERT_TRUE(idle.evict_oldest());
  EXPECT_EQ(evicted, (std::vector<int>{2, 3}));
  idle.leave(b);  // an evicted connection is no longer listed
  ASSERT_TRUE(idle.evict_oldest());
  EXPECT_FALSE(idle.evict_oldest());
  EXPECT_EQ(evicted, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(idle.oldest(), IdleList::kNone);
}

TEST(Backoff, DoublesFrom10msTo1sAndResets) {
  Backoff b;
  std::vector<long> got;
  for (int i = 0; i < 9; ++i) got.push_back(static_cast<long>(b.next().count()));
  EXPECT_EQ(got, (std::vector<long>{10, 20, 40, 80, 160, 320, 640, 1000, 1000}));
  b.reset();
  EXPECT_EQ(b.next(), 10ms);
}

TEST(RoomBudget, GrantsATenthOfASecondAtOnceThenThePerSecondRate) {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  RoomBudget b(1000, t0);
  EXPECT_EQ(b.burst(), 100);
  int granted = 0;
  for (int i = 0; i < 20; ++i) granted += b.take(8, t0);
  EXPECT_EQ(granted, 100) << "more than the burst at one instant";
  EXPECT_EQ(b.take(8, t0), 0);
  EXPECT_EQ(b.until_next(t0), std::chrono::steady_clock::duration(std::chrono::microseconds(1000)) +
                                   std::chrono::steady_clock::duration(1));
  EXPECT_EQ(b.take(8, t0 + 999us), 0) << "a closure before its millisecond";
  EXPECT_EQ(b.take(8, t0 + 1ms), 1);
  EXPECT_EQ(b.take(8, t0 + 11ms), 8);  // 10 more accrued, 8 asked
  EXPECT_EQ(b.take(8, t0 + 11ms), 2);
  // Over a second of steady demand: the rate, give or take the burst.
  granted = 0;
  for (auto t = t0 + 12ms; t < t0 + 1012ms; t += 100us) granted += b.take(8, t);
  EXPECT_GE(granted, 999);
  EXPECT_LE(granted, 1001);
  // Idle for a minute: back to the burst, no more.
  EXPECT_EQ(b.take(1000, t0 + 60s), 100);
  EXPECT_GT(b.until_next(t0 + 60s), std::chrono::steady_clock::duration::zero());
}

TEST(RoomBudget, ClosuresNotMadeAreGivenBackAndSlowRatesStillGrantARound) {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  RoomBudget b(20, t0);
  EXPECT_EQ(b.burst(), RoomBudget::kMinBurst) << "one round of slow senders at once, whatever the rate";
  EXPECT_EQ(b.take(8, t0), 8);
  EXPECT_EQ(b.take(1, t0), 0);
  b.give_back(3);  // three of them had become busy
  EXPECT_EQ(b.take(8, t0), 3);
  b.give_back(100);
  EXPECT_EQ(b.take(100, t0), 8) << "given back beyond the burst";
  EXPECT_EQ(b.take(-1, t0 + 1s), 0);
  EXPECT_EQ(b.until_next(t0 + 1s), std::chrono::steady_clock::duration::zero());
  EXPECT_EQ(RoomBudget(0, t0).take(100, t0), RoomBudget::kMinBurst) << "a rate of 0 is taken as 1";
}

TEST(LogLimiter, OneLinePerPeriodCountingTheSuppressed) {
  LogLimiter limit(10s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_EQ(limit.allow(t0), 0u);
  EXPECT_FALSE(limit.allow(t0 + 1s));
  EXPECT_FALSE(limit.allow(t0 + 9s));
  EXPECT_EQ(limit.allow(t0 + 10s), 2u);
  EXPECT_FALSE(limit.allow(t0 + 11s));
}

TEST(Printable, EscapesClientBytesAndCutsLongText) {
  EXPECT_EQ(printable("GET /ledger/\xff\n\x1b[31m"), "GET /ledger/\\xff\\x0a\\x1b[31m");
  EXPECT_EQ(printable("a\\b"), "a\\x5cb");
  EXPECT_EQ(printable(std::string(300, 'x'), 10), "xxxxxxxxxx...");
}

TEST(RunIo, AThrowingHandlerIsReportedAndTheLoopGoesOn) {
  boost::asio::io_context io;
  std::vector<std::string> errors;
  int after = 0;
  boost::asio::post(io, [] { throw std::runtime_error("boom"); });
  boost::asio::post(io, [] { throw 7; });
  boost::asio::post(io, [&] { ++after; });
  run_io(io, [&](const std::exception_ptr& e) { errors.push_back(describe(e)); });
  EXPECT_EQ(errors, (std::vector<std::string>{"boom", "non-standard exception"}));
  EXPECT_EQ(after, 1);
}

}  // namespace
}  // namespace pisigner::http::detail
