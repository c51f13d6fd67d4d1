// The periodic worker (HAL monitors, Ledger reopen timers, hot-plug polling, health loop), driven by a
// ManualClock: no test here sleeps on real time; the thread tests wait on notifications only.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "pisigner/periodic_worker.hpp"

namespace pisigner {
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

// Counts runs and lets a test wait (with a generous real-time bound) for the n-th.
struct RunCounter {
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  void hit() {
    std::lock_guard lock(mu);
    ++runs;
    cv.notify_all();
  }
  bool wait_for_runs(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return runs >= n; });
  }
  int count() {
    std::lock_guard lock(mu);
    return runs;
  }
};

TEST(PeriodicWorker, ThreadRunsJobsOnWakeAndStops) {
  ManualClock clock;  // never advanced: only the first run and the wake can make the job run
  PeriodicWorker w(clock);
  RunCounter c;
  const auto id = w.add("a", [&] { c.hit(); return Clock::Duration(std::chrono::hours(1)); });
  w.start();
  ASSERT_TRUE(c.wait_for_runs(1));
  w.wake(id);
  ASSERT_TRUE(c.wait_for_runs(2));
  w.stop();
  w.stop();  // idempotent
  EXPECT_EQ(c.count(), 2);
}

TEST(PeriodicWorker, AFirstDelayPostponesTheFirstRun) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int runs = 0;
  w.add("a", [&] { ++runs; return Clock::Duration(seconds(5)); }, seconds(5));
  EXPECT_EQ(w.run_due(), seconds(5));
  EXPECT_EQ(runs, 0);
  clock.advance(seconds(5));
  w.run_due();
  EXPECT_EQ(runs, 1);
}

TEST(PeriodicWorker, ARemovedJobNeverRunsAgainAndOthersKeepTheirIds) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int a = 0, b = 0;
  const auto id_a = w.add("a", [&] { ++a; return Clock::Duration(seconds(1)); });
  const auto id_b = w.add("b", [&] { ++b; return Clock::Duration(seconds(3)); });
  w.run_due();
  w.remove(id_a);
  w.remove(id_a);  // twice: ignored
  w.wake(id_a);    // a removed job cannot be woken either
  EXPECT_EQ(w.run_due(), seconds(3)) << "the removed job no longer sets the pace";
  clock.advance(seconds(3));
  w.wake(id_b);
  w.run_due();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  w.remove(id_b);
  EXPECT_EQ(w.run_due(), PeriodicWorker::kNothingDue);
}

TEST(PeriodicWorker, AJobMayRemoveItself) {
  ManualClock clock;
  PeriodicWorker w(clock);
  int runs = 0;
  std::size_t id = 0;
  id = w.add("once", [&] {
    ++runs;
    w.remove(id);  // must not wait for itself
    return Clock::Duration::zero();
  });
  w.run_due();
  w.run_due();
  EXPECT_EQ(runs, 1);
}

// remove() from another thread returns only once the job's run has ended, so the job's owner can go.
TEST(PeriodicWorker, race_RemoveWaitsForTheRunInProgress) {
  ManualClock clock;
  PeriodicWorker w(clock);
  std::promise<void> entered, release;
  auto release_f = release.get_future().share();
  std::atomic<bool> finished{false};
  const auto id = w.add("slow", [&] {
    entered.set_value();
    release_f.wait();
    finished = true;
    return Clock::Duration(std::chrono::hours(1));
  });
  w.start();
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto removed = std::async(std::launch::async, [&] {
    w.remove(id);
    return finished.load();
  });
  EXPECT_EQ(removed.wait_for(milliseconds(20)), std::future_status::timeout) << "remove() returned during the run";
  release.set_value();
  ASSERT_EQ(removed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(removed.get()) << "remove() returned before the run ended";
  w.stop();
}

}  // namespace
}  // namespace pisigner
