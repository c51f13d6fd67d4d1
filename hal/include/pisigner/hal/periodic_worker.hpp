// One thread for the HAL's periodic jobs (UPS poll, uplink tick), timed by the injected clock.
// Tests drive run_due() after advancing a ManualClock instead of sleeping on real time; only
// the thread started by start() waits on the real clock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pisigner/clock.hpp"

namespace pisigner::hal {

class PeriodicWorker {
 public:
  // Does one round and returns how long until the next (at least 1 ms is waited).
  using Job = std::function<Clock::Duration()>;

  // `clock` must outlive the worker.
  explicit PeriodicWorker(Clock& clock);
  ~PeriodicWorker();  // stop()
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Registers a job, due at once. The job must stay valid until stop() has returned (or, without
  // a thread, until the last run_due()). Thread-safe.
  std::size_t add(std::string name, Job job);
  // Makes job `id` due now and wakes the thread. Thread-safe; callable from any thread.
  void wake(std::size_t id);

  // Runs, in registration order, every job due at clock.now(), each at most once; returns the
  // time until the next one is due. A job that throws is logged and tried again after
  // kRetryAfterThrow: nothing escapes. Not to be called while the thread runs.
  Clock::Duration run_due();

  // run_due() in a loop on an owned thread, sleeping until the next job is due or a wake().
  void start();
  // Ends the thread after the job in progress. Idempotent.
  void stop();

  static constexpr Clock::Duration kRetryAfterThrow = std::chrono::seconds(1);

 private:
  struct Entry {
    std::string name;
    Job job;
    Clock::TimePoint due;
    bool woken = false;  // wake() since this job last started
  };

  Clock& clock_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Entry> jobs_;  // guarded by mutex_ (the job objects themselves are only run unlocked)
  bool woken_ = false;       // guarded by mutex_
  bool stop_ = false;        // guarded by mutex_
  std::thread thread_;
};

}  // namespace pisigner::hal
