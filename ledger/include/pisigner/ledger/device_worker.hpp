// One thread owns one Ledger: every APDU goes through it, callers wait with a deadline,
// a failing device is dropped and reopened with backoff, and its identity is checked on
// every (re)connect. Health reads state() and never touches the device. The reopen backoff is
// timed by a PeriodicWorker on the injected clock, so tests move a ManualClock instead of sleeping.
#pragma once

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "pisigner/clock.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/ledger/baking_app.hpp"
#include "pisigner/ledger/hotplug.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

class ObservedTransport;

struct LatencyStats {
  std::uint64_t count = 0;
  Clock::Duration last{}, min{}, max{}, total{};
  void add(Clock::Duration d);
};

struct DeviceState {
  bool present = false;       // a transport is open (or the last open succeeded)
  bool app_open = false;      // VERSION says Tezos Baking
  std::optional<AppVersion> app_version;
  bool unlocked = false;      // the last answer was not "locked"
  std::optional<AuthorizedKey> authorized;  // as last queried (nullopt: none or unknown)
  bool authorized_ok = false;  // the authorized key is the configured path and curve
  bool identity_ok = false;   // key at the configured path equals the expected one
  Bytes public_key;           // key at the configured path on the connected device
  std::string transport;      // Transport::describe() of the open transport
  std::string last_error;
  std::optional<Clock::TimePoint> last_ok;  // last successful exchange
  std::uint64_t reconnects = 0;             // successful opens after the first
  bool responsive = true;     // false after a timeout or transport failure, until the next answer
  LatencyStats apdu_latency;
  std::optional<Clock::TimePoint> next_retry;  // set while a failed open waits out its backoff
  std::size_t queued = 0;     // jobs waiting for the device (probes included)

  bool healthy() const { return present && app_open && unlocked && identity_ok && responsive; }
};

using TransportFactory = std::function<Result<std::unique_ptr<Transport>, TransportError>()>;

struct DeviceWorkerConfig {
  DerivationType curve = DerivationType::Ed25519;
  Path path;                              // the baking key's path (identity check)
  std::optional<Bytes> expected_public_key;  // nullopt: accept the first key seen
  // Optional extra identity rule (e.g. "hashes to the configured tz address"): returns an
  // error message to refuse the device, nullopt to accept. Runs on the worker thread.
  std::function<std::optional<std::string>(const Bytes& public_key)> identity_check;
  BakingAppTimeouts timeouts;             // apdu default 3 s
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{5000};
};

// Thread-safe. The destructor stops the thread and fails queued jobs with Unavailable.
class DeviceWorker {
  struct Task;  // a queued job (defined below)

 public:
  // Opens the device at once on its own thread; a failed open is retried after the backoff, which
  // a job on `timers` (shared by the daemon's device workers) times on `clock`.
  DeviceWorker(DeviceWorkerConfig config, TransportFactory factory, Clock& clock,
               std::shared_ptr<PeriodicWorker> timers);
  ~DeviceWorker();
  DeviceWorker(const DeviceWorker&) = delete;
  DeviceWorker& operator=(const DeviceWorker&) = delete;

  // Runs `f(BakingApp&)` on the worker thread and waits at most `timeout` for it.
  // `f` returns Result<T, DeviceError>. Fails with Unavailable when no verified device is
  // connected, and with Transport/Timeout when the deadline passes (the job is then
  // cancelled if it has not started, and the device is marked unhealthy).
  template <class F>
  std::invoke_result_t<F&, BakingApp&> run(F f, std::chrono::milliseconds timeout);
  // As run(), for health queries: queued behind every other job, so signatures go first.
  template <class F>
  std::invoke_result_t<F&, BakingApp&> run_probe(F f, std::chrono::milliseconds timeout);

  // A job queued by submit(): its result, waited for once with a deadline.
  template <class R>
  class Pending {
   public:
    // As run(): at most `timeout` from this call; then the job is cancelled if it has not started,
    // the device is marked unhealthy and a Transport/Timeout error is returned.
    R wait(std::chrono::milliseconds timeout);

   private:
    friend class DeviceWorker;
    Pending(DeviceWorker& worker, std::shared_ptr<Task> task, std::future<R> future)
        : worker_(&worker), task_(std::move(task)), future_(std::move(future)) {}
    DeviceWorker* worker_;
    std::shared_ptr<Task> task_;
    std::future<R> future_;
  };
  // Queues `f(BakingApp&)` and returns at once, so the caller can work while the device does.
  template <class F>
  Pending<std::invoke_result_t<F&, BakingApp&>> submit(F f);

  // Exclusive use of the device on the calling thread: a signature's exchanges then wake no other
  // thread. Ends when destroyed; a transport failure during it makes the worker reopen the device.
  class Lease {
   public:
    BakingApp& app() { return *worker_->app_; }
    ~Lease();
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;

   private:
    friend class DeviceWorker;
    Lease(DeviceWorker& worker, std::unique_lock<std::timed_mutex> lock) : worker_(&worker), lock_(std::move(lock)) {}
    DeviceWorker* worker_;
    std::unique_lock<std::timed_mutex> lock_;
  };
  // Waits at most `timeout` for the device (a probe in progress yields after its current exchange).
  // Unavailable while no verified device is connected or a reopen is pending; Transport/Timeout
  // when the device stays busy (it is then marked unhealthy, as a timed-out job).
  Result<Lease, DeviceError> lease(std::chrono::milliseconds timeout);

  DeviceState state() const;
  // Drops the current transport (if any) and reconnects now, resetting the backoff.
  void request_reconnect();
  void on_hotplug(HotplugEvent e);
  // A health probe: VERSION + QUERY_AUTH_KEY_WITH_CURVE, results stored in state(). Each is its own
  // job, queued behind every other job, and a job arriving during the first ends the probe there: a
  // signature arriving during a probe waits for one exchange at most (its own result then tells
  // whether the device works).
  Result<void, DeviceError> refresh(std::chrono::milliseconds timeout);
  // Blocks until a verified device is connected or the time passes (for start-up and tests).
  bool wait_connected(std::chrono::milliseconds timeout);
  // Blocks until `pred(state())` holds, checked whenever the worker's state changes (an open
  // attempt, a job queued, started or finished, a lease ended), or the real-time `timeout` passes.
  // For tests: they wait on the worker's progress instead of sleeping. `pred` runs under a lock.
  bool wait_until(const std::function<bool(const DeviceState&)>& pred, std::chrono::milliseconds timeout);

 private:
  struct Task {
    std::function<void(BakingApp*, const DeviceError*)> fn;
    bool probe = false;  // health probes yield to every other job
    std::atomic<bool> cancelled{false};
  };

  std::shared_ptr<Task> enqueue(std::function<void(BakingApp*, const DeviceError*)> fn, bool probe = false);
  template <class F>
  Pending<std::invoke_result_t<F&, BakingApp&>> submit_job(F f, bool probe);
  void mark_timed_out(const std::shared_ptr<Task>& task, std::chrono::milliseconds timeout);
  void loop();
  Clock::Duration retry_timer();                        // a job of timers_
  DeviceState state_locked() const;                     // requires mutex_
  void run_task(const std::shared_ptr<Task>& task);     // worker thread only
  bool connect();                                       // worker thread only
  bool connect_failed(const DeviceError& e, bool gone);  // worker thread only
  void drop(const std::string& why, bool gone);         // worker thread only
  void observe(std::uint16_t sw, const TransportError* err, Clock::Duration latency);
  void set_error(const std::string& e);
  void set_authorized(const std::optional<AuthorizedKey>& key);  // requires mutex_

  // Constant after construction.
  const DeviceWorkerConfig config_;
  const TransportFactory factory_;
  Clock& clock_;
  const std::shared_ptr<PeriodicWorker> timers_;

  // Written by the worker thread only, and only while it holds device_mu_; a Lease holder uses them
  // (holding device_mu_) too.
  std::timed_mutex device_mu_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<ObservedTransport> observed_;
  std::unique_ptr<BakingApp> app_;
  bool transport_failed_ = false;
  std::chrono::milliseconds backoff_;
  bool ever_connected_ = false;
  Bytes learned_key_;

  // Protected by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable cv_;        // the worker thread's: work to do
  std::condition_variable state_cv_;  // waiters': the state changed
  std::deque<std::shared_ptr<Task>> queue_;
  bool stop_ = false;
  std::uint64_t jobs_queued_ = 0;  // jobs other than probes, and leases, ever asked for
  bool reconnect_requested_ = false;  // open now, with the backoff reset
  bool connect_due_ = true;           // open now (the first open, a dropped transport, a backoff passed)
  bool connected_ = false;
  DeviceState state_;  // next_retry: the retry timer's; wake timer_job_ when setting it

  const std::size_t timer_job_;  // registered once everything it reads exists
  std::thread thread_;  // last: starts after everything above is constructed
};

template <class F>
DeviceWorker::Pending<std::invoke_result_t<F&, BakingApp&>> DeviceWorker::submit(F f) {
  return submit_job(std::move(f), false);
}

template <class F>
DeviceWorker::Pending<std::invoke_result_t<F&, BakingApp&>> DeviceWorker::submit_job(F f, bool probe) {
  using R = std::invoke_result_t<F&, BakingApp&>;
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  auto task = enqueue(
      [promise, f = std::move(f)](BakingApp* app, const DeviceError* unavailable) mutable {
        if (app != nullptr) {
          promise->set_value(f(*app));
        } else {
          promise->set_value(fail(*unavailable));
        }
      },
      probe);
  return Pending<R>(*this, std::move(task), std::move(future));
}

template <class F>
std::invoke_result_t<F&, BakingApp&> DeviceWorker::run_probe(F f, std::chrono::milliseconds timeout) {
  return submit_job(std::move(f), true).wait(timeout);
}

template <class R>
R DeviceWorker::Pending<R>::wait(std::chrono::milliseconds timeout) {
  if (future_.wait_for(timeout) != std::future_status::ready) {
    worker_->mark_timed_out(task_, timeout);
    return fail(DeviceError{DeviceErrc::Transport,
                            "Ledger did not answer within " + std::to_string(timeout.count()) + " ms", 0,
                            TransportErrc::Timeout});
  }
  return future_.get();
}

template <class F>
std::invoke_result_t<F&, BakingApp&> DeviceWorker::run(F f, std::chrono::milliseconds timeout) {
  return submit(std::move(f)).wait(timeout);
}

}  // namespace pisigner::ledger
