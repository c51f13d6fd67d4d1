// One thread for periodic jobs (HAL polls, Ledger reopen backoff, hot-plug polling, the health
// loop), timed by the injected clock. Tests drive run_due() after advancing a ManualClock instead
// of sleeping on real time; only the thread started by start() waits on the real clock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pisigner/clock.hpp"

namespace pisigner {

class PeriodicWorker {
 public:
  // Does one round and returns how long until the next (at least 1 ms is waited).
  using Job = std::function<Clock::Duration()>;

  // `clock` must outlive the worker.
  explicit PeriodicWorker(Clock& clock);
  ~PeriodicWorker();  // stop()
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Registers a job, due after `first_in` (at once by default). The job must stay valid until
  // remove(), or until stop() has returned (without a thread: until the last run_due()).
  // Thread-safe.
  std::size_t add(std::string name, Job job, Clock::Duration first_in = Clock::Duration::zero());
  // Makes job `id` due now and wakes the thread. Thread-safe; callable from any thread.
  void wake(std::size_t id);
  // Job `id` never runs again; when called from another thread than the one running it, it is not
  // running either when this returns (so its owner may go). Unknown ids are ignored. Thread-safe.
  void remove(std::size_t id);

  // Runs, in registration order, every job due at clock.now(), each at most once; returns the
  // time until the next one is due. A job that throws is logged and tried again after
  // kRetryAfterThrow: nothing escapes. Not to be called while the thread runs.
  Clock::Duration run_due();

  // run_due() in a loop on an owned thread, sleeping until the next job is due or a wake().
  void start();
  // Ends the thread after the job in progress. Idempotent.
  void stop();

  static constexpr Clock::Duration kRetryAfterThrow = std::chrono::seconds(1);
  // What run_due() returns when no job is registered.
  static constexpr Clock::Duration kNothingDue = std::chrono::hours(1);

 private:
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  struct Entry {
    std::string name;
    Job job;
    Clock::TimePoint due;
    bool woken = false;    // wake() since this job last started
    bool removed = false;  // remove(): never runs again (ids stay stable)
  };

  Clock& clock_;
  std::mutex mutex_;
  std::condition_variable cv_;       // the thread's sleep: a wake(), add() or stop()
  std::condition_variable done_cv_;  // a job finished (remove() waits for it)
  std::vector<Entry> jobs_;          // guarded by mutex_ (the job objects themselves are only run unlocked)
  std::size_t running_ = kNone;      // guarded by mutex_: the job run_due() is in
  std::thread::id runner_;           // guarded by mutex_: the thread running it
  bool woken_ = false;               // guarded by mutex_
  bool stop_ = false;                // guarded by mutex_
  std::thread thread_;
};

}  // namespace pisigner
