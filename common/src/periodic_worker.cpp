#include "pisigner/periodic_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pisigner {

PeriodicWorker::PeriodicWorker(Clock& clock) : clock_(clock) {}

PeriodicWorker::~PeriodicWorker() { stop(); }

std::size_t PeriodicWorker::add(std::string name, Job job, Clock::Duration first_in) {
  std::lock_guard lock(mutex_);
  jobs_.push_back({std::move(name), std::move(job), clock_.now() + std::max(first_in, Clock::Duration::zero())});
  woken_ = true;
  cv_.notify_all();
  return jobs_.size() - 1;
}

void PeriodicWorker::wake(std::size_t id) {
  std::lock_guard lock(mutex_);
  if (id >= jobs_.size() || jobs_[id].removed) return;
  jobs_[id].due = clock_.now();
  jobs_[id].woken = true;
  woken_ = true;
  cv_.notify_all();
}

void PeriodicWorker::remove(std::size_t id) {
  std::unique_lock lock(mutex_);
  if (id >= jobs_.size()) return;
  jobs_[id].removed = true;
  jobs_[id].job = nullptr;  // what it captured goes now, not with the worker
  // From inside the job itself (or its thread) waiting would never end; the caller knows it runs.
  done_cv_.wait(lock, [&] { return running_ != id || runner_ == std::this_thread::get_id(); });
}

Clock::Duration PeriodicWorker::run_due() {
  std::size_t count = 0;
  {
    std::lock_guard lock(mutex_);
    count = jobs_.size();
    woken_ = false;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Job job;
    std::string name;
    {
      std::lock_guard lock(mutex_);
      if (jobs_[i].removed || jobs_[i].due > clock_.now()) continue;
      jobs_[i].woken = false;
      job = jobs_[i].job;  // a copy: jobs_ may grow (and move) while this one runs
      name = jobs_[i].name;
      running_ = i;
      runner_ = std::this_thread::get_id();
    }
    Clock::Duration next{};
    try {
      next = job();
    } catch (const std::exception& e) {
      // The thread's boundary: a failing job must not end the process or starve the others.
      spdlog::error("{}: periodic job failed: {}", name, e.what());
      next = kRetryAfterThrow;
    } catch (...) {
      spdlog::error("{}: periodic job failed", name);
      next = kRetryAfterThrow;
    }
    job = nullptr;  // before remove() may return: its captures may refer to the remover's object
    std::lock_guard lock(mutex_);
    running_ = kNone;
    done_cv_.notify_all();
    // Woken while it ran: stay due now, the change it signals may not have been seen.
    if (!jobs_[i].woken) jobs_[i].due = clock_.now() + std::max(next, Clock::Duration::zero());
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  Clock::TimePoint next = now + kNothingDue;
  for (const auto& j : jobs_) {
    if (!j.removed) next = std::min(next, j.due);
  }
  return next > now ? next - now : Clock::Duration::zero();
}

void PeriodicWorker::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      const auto wait = std::max<Clock::Duration>(run_due(), std::chrono::milliseconds(1));
      lock.lock();
      // The only real-time wait of the periodic jobs.
      cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
    }
  });
}

void PeriodicWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace pisigner
