// Reconnect backoff on the injected clock: 0.5 s, doubling, capped at 30 s, reset on success.
#include <gtest/gtest.h>

#include "pisigner/hal/bus.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, FirstAttemptIsImmediateThenDoublesUpToTheCap) {
  ManualClock clock;
  Backoff b;
  EXPECT_TRUE(b.due(clock.now()));
  const milliseconds expected[] = {milliseconds(500), seconds(1), seconds(2), seconds(4), seconds(8),
                                   seconds(16),       seconds(30), seconds(30)};
  for (auto wait : expected) {
    b.failed(clock.now());
    EXPECT_FALSE(b.due(clock.now()));
    EXPECT_EQ(b.remaining(clock.now()), wait);
    clock.advance(wait - milliseconds(1));
    EXPECT_FALSE(b.due(clock.now()));
    clock.advance(milliseconds(1));
    EXPECT_TRUE(b.due(clock.now()));
    EXPECT_EQ(b.remaining(clock.now()), Clock::Duration::zero());
  }
  EXPECT_EQ(b.failures(), 8);
}

TEST(Backoff, ResetStartsOverFromTheFirstDelay) {
  ManualClock clock;
  Backoff b(milliseconds(100), seconds(1));
  for (int i = 0; i < 6; ++i) b.failed(clock.now());
  EXPECT_EQ(b.remaining(clock.now()), seconds(1));
  b.reset();
  EXPECT_TRUE(b.due(clock.now()));
  b.failed(clock.now());
  EXPECT_EQ(b.remaining(clock.now()), milliseconds(100));
}

}  // namespace
}  // namespace pisigner::hal
