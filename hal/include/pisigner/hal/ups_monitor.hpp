// Periodic UPS reading + policy + shutdown sequence, with a thread-safe snapshot for
// health, metrics and pisignerctl.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pisigner/clock.hpp"
#include "pisigner/hal/event_log.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/hal/power_off.hpp"
#include "pisigner/hal/power_loss.hpp"
#include "pisigner/hal/ups_config.hpp"
#include "pisigner/hal/ups_driver.hpp"
#include "pisigner/hal/ups_policy.hpp"

namespace pisigner::hal {

struct UpsSnapshot {
  UpsState state = UpsState::unknown;
  Health health = Health::degraded;
  std::string model;
  UpsReading reading;                          // last successful reading
  std::optional<std::chrono::seconds> runtime; // estimated runtime to empty
  std::optional<std::chrono::seconds> shutdown_in;  // while critical
  bool stale = true;                           // last poll failed (or none yet)
  std::int64_t last_ok_unix = 0;               // 0 = never
  std::uint64_t polls = 0;
  std::uint64_t read_errors = 0;               // failed attempts, including retried ones
  std::uint64_t failed_polls = 0;              // polls where every attempt failed
  std::uint64_t consecutive_failed_polls = 0;
  std::string last_error;
};

class UpsMonitor {
 public:
  // `driver` null means no hardware (model none, or absent and optional).
  // `power_off` may be null only when driver is null. `clock` must outlive the monitor.
  UpsMonitor(UpsConfig config, std::unique_ptr<UpsDriver> driver, std::shared_ptr<PowerOff> power_off,
             Clock& clock, std::shared_ptr<PowerLossWatcher> power_loss = nullptr);
  ~UpsMonitor();
  UpsMonitor(const UpsMonitor&) = delete;
  UpsMonitor& operator=(const UpsMonitor&) = delete;

  // Runs before power-off, on the worker thread: the daemon stops accepting signatures
  // and closes the store. Set before start().
  void set_before_shutdown(std::function<void()> cb);

  // First read (a power-loss watcher must already be init()ed). Absent hardware: Errc::absent with a clear message, or, when the config
  // says optional, success with state not_present. Call once before poll()/start().
  Result<void, HalError> probe();
  // One cycle: read (with retries), feed the policy, run the shutdown sequence if due.
  void poll();
  // poll() now and then every poll_interval (sooner after wake()) as a job of `worker`, which
  // must be stopped before the monitor is destroyed. Call once, after probe().
  void schedule_on(PeriodicWorker& worker);
  // Makes the worker poll now (e.g. a power-loss edge). Thread-safe; no-op before schedule_on().
  void wake();

  UpsSnapshot snapshot() const;  // thread-safe copy
  const EventLog& events() const { return events_; }

 private:
  void poll_guarded();
  void log_transition(const UpsStep& step);
  void shutdown_sequence();

  // constant after construction
  const UpsConfig config_;
  std::unique_ptr<UpsDriver> driver_;
  std::shared_ptr<PowerOff> power_off_;
  Clock& clock_;
  std::shared_ptr<PowerLossWatcher> power_loss_;
  std::function<void()> before_shutdown_;

  // owned by the polling thread
  UpsPolicy policy_;
  RuntimeEstimator runtime_;
  bool before_shutdown_done_ = false;
  int power_off_failures_ = 0;

  mutable std::mutex mutex_;
  UpsSnapshot snap_;  // guarded by mutex_
  EventLog events_;

  std::size_t job_ = 0;                        // set before worker_
  std::atomic<PeriodicWorker*> worker_{nullptr};
};

// Opens the configured hardware (I2C bus, GPIO line, sysfs) and builds the monitor.
// Does not probe; call probe() next.
Result<std::unique_ptr<UpsMonitor>, HalError> make_ups_monitor(const UpsConfig& config,
                                                               std::shared_ptr<PowerOff> power_off,
                                                               Clock& clock);

}  // namespace pisigner::hal
