// The HAL's one periodic worker, driven by a ManualClock: no test here sleeps on real time
// except the last, which only checks that the thread runs jobs and stops.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "pisigner/hal/periodic_worker.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PeriodicWorker, JobsRunAtOnceThenEveryPeriodOfTheInjectedClock) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int a = 0, b = 0;
  w.add("a", [&] { ++a; return Clock::Duration(seconds(5)); });
  w.add("b", [&] { ++b; return Clock::Duration(seconds(2)); });
  EXPECT_EQ(w.run_due(), seconds(2));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(w.run_due(), seconds(2)) << "nothing is due without the clock moving";
  EXPECT_EQ(b, 1);
  clock.advance(seconds(2));
  EXPECT_EQ(w.run_due(), seconds(2));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  clock.advance(seconds(2));
  EXPECT_EQ(w.run_due(), seconds(1));  // a is due at 5, b at 6
  clock.advance(seconds(1));
  w.run_due();
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 3);
}

TEST(PeriodicWorker, WakeMakesOneJobDueNow) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int a = 0, b = 0;
  w.add("a", [&] { ++a; return Clock::Duration(seconds(60)); });
  const auto id_b = w.add("b", [&] { ++b; return Clock::Duration(seconds(60)); });
  w.run_due();
  w.wake(id_b);
  EXPECT_EQ(w.run_due(), seconds(60));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  w.wake(99);  // unknown id: ignored
  w.run_due();
  EXPECT_EQ(b, 2);
}

TEST(PeriodicWorker, AWakeDuringARunKeepsTheJobDueSoTheChangeIsNotMissed) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int runs = 0;
  std::size_t id = 0;
  id = w.add("a", [&] {
    if (++runs == 1) w.wake(id);  // e.g. a D-Bus signal while the tick reads
    return Clock::Duration(seconds(30));
  });
  EXPECT_EQ(w.run_due(), Clock::Duration::zero());
  w.run_due();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(w.run_due(), seconds(30));
}

TEST(PeriodicWorker, AThrowingJobIsRetriedLaterAndDoesNotStarveTheOthers) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int bad = 0, good = 0;
  w.add("bad", [&]() -> Clock::Duration {
    ++bad;
    throw std::runtime_error("boom");
  });
  w.add("good", [&] { ++good; return Clock::Duration(seconds(5)); });
  EXPECT_EQ(w.run_due(), PeriodicWorker::kRetryAfterThrow);
  EXPECT_EQ(bad, 1);
  EXPECT_EQ(good, 1);
  clock.advance(PeriodicWorker::kRetryAfterThrow);
  w.run_due();
  EXPECT_EQ(bad, 2);
  EXPECT_EQ(good, 1);
}

TEST(PeriodicWorker, ThreadRunsJobsOnWakeAndStops) {
  PeriodicWorker w(real_clock());
  std::atomic<int> runs{0};
  // A long period: only the first run and the wake can make it run again within the test.
  const auto id = w.add("a", [&] { ++runs; return Clock::Duration(std::chrono::hours(1)); });
  w.start();
  for (int i = 0; i < 500 && runs < 1; ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(runs, 1);
  w.wake(id);
  for (int i = 0; i < 500 && runs < 2; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(runs, 2);
  w.stop();
  w.stop();  // idempotent
}

}  // namespace
}  // namespace pisigner::hal
