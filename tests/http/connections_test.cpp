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
