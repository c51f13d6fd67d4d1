#include "pisigner/ledger/device_worker.hpp"

#include <algorithm>

#include "observed_transport.hpp"
#include "pisigner/crypto/hd.hpp"

namespace pisigner::ledger {
namespace {
bool is_wrong_app_sw(std::uint16_t s) {
  return s == sw::kClaNotSupported || s == sw::kAppNotOpenNew || s == sw::kAppNotOpenNew2;
}

// try_lock_for waits on the steady clock through pthread_mutex_clocklock, which gcc 12's
// ThreadSanitizer does not intercept: it would miss the acquisition and report the lease's
// accesses as races. Its build (PISIGNER_TSAN) waits on the system clock instead, through the
// intercepted pthread_mutex_timedlock; a clock step then only stretches or shortens this wait.
bool try_lock_within(std::unique_lock<std::timed_mutex>& lock, std::chrono::milliseconds timeout) {
#ifdef PISIGNER_TSAN
  return lock.try_lock_until(std::chrono::system_clock::now() + timeout);
#else
  return lock.try_lock_for(timeout);
#endif
}
}  // namespace

void LatencyStats::add(Clock::Duration d) {
  min = count == 0 ? d : std::min(min, d);
  max = count == 0 ? d : std::max(max, d);
  last = d;
  total += d;
  ++count;
}

DeviceWorker::DeviceWorker(DeviceWorkerConfig config, TransportFactory factory, Clock& clock,
                           std::shared_ptr<PeriodicWorker> timers)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      clock_(clock),
      timers_(std::move(timers)),
      backoff_(config_.backoff_initial),
      timer_job_(timers_->add("ledger reopen", [this] { return retry_timer(); })),
      thread_([this] { loop(); }) {}

DeviceWorker::~DeviceWorker() {
  timers_->remove(timer_job_);  // not under mutex_: a run in progress takes it, and is waited for
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  state_cv_.notify_all();
  thread_.join();
}

DeviceState DeviceWorker::state_locked() const {
  DeviceState s = state_;
  s.queued = queue_.size();
  return s;
}

DeviceState DeviceWorker::state() const {
  std::lock_guard lock(mutex_);
  return state_locked();
}

// On the timers' thread: turns a passed backoff into an open attempt for the worker thread. Does no
// I/O itself, so a slow device never delays the other jobs sharing the timers.
Clock::Duration DeviceWorker::retry_timer() {
  std::lock_guard lock(mutex_);
  if (!state_.next_retry) return PeriodicWorker::kNothingDue;  // woken when an open fails
  const auto now = clock_.now();
  if (now < *state_.next_retry) return *state_.next_retry - now;
  state_.next_retry.reset();
  connect_due_ = true;
  cv_.notify_all();
  return PeriodicWorker::kNothingDue;
}

void DeviceWorker::request_reconnect() {
  {
    std::lock_guard lock(mutex_);
    reconnect_requested_ = true;
  }
  cv_.notify_all();
}

void DeviceWorker::on_hotplug(HotplugEvent e) {
  if (e == HotplugEvent::Left) {
    std::lock_guard lock(mutex_);
    state_.last_error = "Ledger unplugged";
  }
  // Both directions invalidate the open handle: an app opening or closing re-enumerates USB.
  request_reconnect();
}

bool DeviceWorker::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return state_cv_.wait_for(lock, timeout, [&] { return connected_; });
}

bool DeviceWorker::wait_until(const std::function<bool(const DeviceState&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return state_cv_.wait_for(lock, timeout, [&] { return pred(state_locked()); });
}

std::shared_ptr<DeviceWorker::Task> DeviceWorker::enqueue(std::function<void(BakingApp*, const DeviceError*)> fn,
                                                          bool probe) {
  auto task = std::make_shared<Task>();
  task->fn = std::move(fn);
  task->probe = probe;
  std::lock_guard lock(mutex_);
  if (!probe) ++jobs_queued_;
  // Other jobs go ahead of queued probes (in arrival order among themselves).
  auto at = probe ? queue_.end()
                  : std::find_if(queue_.begin(), queue_.end(), [](const std::shared_ptr<Task>& t) { return t->probe; });
  queue_.insert(at, task);
  cv_.notify_all();
  state_cv_.notify_all();
  return task;
}

void DeviceWorker::mark_timed_out(const std::shared_ptr<Task>& task, std::chrono::milliseconds timeout) {
  task->cancelled = true;
  std::lock_guard lock(mutex_);
  state_.responsive = false;
  state_.last_error = "Ledger did not answer within " + std::to_string(timeout.count()) + " ms";
  state_cv_.notify_all();
}

void DeviceWorker::set_authorized(const std::optional<AuthorizedKey>& key) {
  state_.authorized = key;
  state_.authorized_ok = key && key->curve == config_.curve && key->path == config_.path;
}

void DeviceWorker::set_error(const std::string& e) {
  std::lock_guard lock(mutex_);
  state_.last_error = e;
}

// Runs inside every exchange, on the worker thread.
void DeviceWorker::observe(std::uint16_t sw_value, const TransportError* err, Clock::Duration latency) {
  std::lock_guard lock(mutex_);
  state_.apdu_latency.add(latency);
  if (err != nullptr) {
    // Unhealthy before the caller sees the failure; the transport is dropped after the job.
    transport_failed_ = true;
    state_.responsive = false;
    state_.last_error = error_from_transport(*err).message;
    if (err->code == TransportErrc::Disconnected) state_.present = false;
    return;
  }
  state_.responsive = true;
  if (sw_value == sw::kLocked) {
    state_.unlocked = false;
    state_.last_error = error_from_sw(sw_value, Ins::Version).message;
    return;
  }
  state_.unlocked = true;
  if (is_wrong_app_sw(sw_value)) {
    // The app was closed or switched; re-verify VERSION and identity on reconnect.
    state_.app_open = false;
    state_.last_error = error_from_sw(sw_value, Ins::Version).message;
    transport_failed_ = true;
    return;
  }
  state_.last_ok = clock_.now();
}

void DeviceWorker::drop(const std::string& why, bool gone) {
  app_.reset();
  observed_.reset();
  transport_.reset();
  std::lock_guard lock(mutex_);
  connected_ = false;
  state_.identity_ok = false;
  if (gone) state_.present = false;
  state_.transport.clear();
  if (!why.empty()) state_.last_error = why;
}

bool DeviceWorker::connect_failed(const DeviceError& e, bool gone) {
  drop(e.message, gone);
  std::lock_guard lock(mutex_);
  state_.next_retry = clock_.now() + backoff_;
  // Under mutex_: whoever sees next_retry set may move the clock and run the timers at once.
  timers_->wake(timer_job_);
  backoff_ = std::min(backoff_ * 2, config_.backoff_max);
  return false;
}

bool DeviceWorker::connect() {
  drop("", false);
  auto t = factory_();
  if (!t) return connect_failed(error_from_transport(t.error()), true);
  transport_ = std::move(*t);
  observed_ = std::make_unique<ObservedTransport>(
      *transport_, clock_, [this](std::uint16_t s, const TransportError* e, Clock::Duration d) { observe(s, e, d); });
  auto app = std::make_unique<BakingApp>(*observed_, config_.timeouts);
  {
    std::lock_guard lock(mutex_);
    state_.present = true;
    state_.transport = transport_->describe();
  }

  auto version = app->version();
  if (!version) {
    const bool gone = version.error().transport == TransportErrc::Disconnected;
    if (version.error().code == DeviceErrc::WrongApp) {
      std::lock_guard lock(mutex_);
      state_.app_open = false;
      state_.app_version.reset();
    }
    return connect_failed(version.error(), gone);
  }
  {
    std::lock_guard lock(mutex_);
    state_.app_open = true;
    state_.app_version = *version;
  }

  auto key = app->get_public_key(config_.curve, config_.path);
  if (!key) return connect_failed(key.error(), key.error().transport == TransportErrc::Disconnected);
  const Bytes& expected = config_.expected_public_key ? *config_.expected_public_key : learned_key_;
  if (!expected.empty() && key->bytes != expected) {
    DeviceError e{DeviceErrc::WrongDevice,
                  "wrong Ledger: key at " + crypto::format_path(config_.path) + " is " + to_hex(key->bytes) +
                      ", expected " + to_hex(expected),
                  0, {}};
    {
      std::lock_guard lock(mutex_);
      state_.public_key = key->bytes;
    }
    return connect_failed(e, false);
  }
  if (config_.identity_check) {
    if (auto refusal = config_.identity_check(key->bytes)) {
      DeviceError e{DeviceErrc::WrongDevice, *refusal, 0, {}};
      {
        std::lock_guard lock(mutex_);
        state_.public_key = key->bytes;
      }
      return connect_failed(e, false);
    }
  }
  if (learned_key_.empty()) learned_key_ = key->bytes;

  // Informational: a failure here does not refuse the device unless the transport broke.
  auto auth = app->query_auth_key_with_curve();
  if (!auth && auth.error().code == DeviceErrc::Transport) {
    return connect_failed(auth.error(), auth.error().transport == TransportErrc::Disconnected);
  }

  app_ = std::move(app);
  transport_failed_ = false;
  backoff_ = config_.backoff_initial;
  {
    std::lock_guard lock(mutex_);
    state_.identity_ok = true;
    state_.public_key = key->bytes;
    if (auth) set_authorized(*auth);
    if (ever_connected_) ++state_.reconnects;
    state_.last_error.clear();
    connected_ = true;
  }
  ever_connected_ = true;
  return true;
}

void DeviceWorker::run_task(const std::shared_ptr<Task>& task) {
  if (task->cancelled) return;
  if (!app_) {
    DeviceError e{DeviceErrc::Unavailable, "", 0, {}};
    {
      std::lock_guard lock(mutex_);
      e.message = "no usable Ledger" + (state_.last_error.empty() ? std::string() : ": " + state_.last_error);
    }
    task->fn(nullptr, &e);
    return;
  }
  transport_failed_ = false;
  task->fn(app_.get(), nullptr);
  if (transport_failed_) {
    std::string why;
    bool gone = false;
    {
      std::lock_guard lock(mutex_);
      why = state_.last_error;
      gone = !state_.present;
    }
    drop(why, gone);
    // Try again at once; the backoff applies only when reopening fails.
    std::lock_guard lock(mutex_);
    connect_due_ = true;
  }
}

// Waits only for work: the backoff's timing is retry_timer()'s, on the injected clock.
void DeviceWorker::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (reconnect_requested_ || connect_due_) {
      if (reconnect_requested_) backoff_ = config_.backoff_initial;
      reconnect_requested_ = false;
      connect_due_ = false;
      state_.next_retry.reset();
      lock.unlock();
      {
        std::lock_guard device(device_mu_);
        connect();
      }
      lock.lock();
      state_cv_.notify_all();
      continue;
    }
    if (!queue_.empty()) {
      auto task = std::move(queue_.front());
      queue_.pop_front();
      state_cv_.notify_all();
      lock.unlock();
      {
        std::lock_guard device(device_mu_);
        run_task(task);
      }
      lock.lock();
      state_cv_.notify_all();
      continue;
    }
    cv_.wait(lock, [&] { return stop_ || reconnect_requested_ || connect_due_ || !queue_.empty(); });
  }
  // Fail what is left so no caller waits for its full deadline.
  DeviceError stopped{DeviceErrc::Unavailable, "device worker stopped", 0, {}};
  auto rest = std::move(queue_);
  lock.unlock();
  for (auto& task : rest) task->fn(nullptr, &stopped);
}

Result<DeviceWorker::Lease, DeviceError> DeviceWorker::lease(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    ++jobs_queued_;  // a probe in progress ends after its current exchange
  }
  std::unique_lock device(device_mu_, std::defer_lock);
  if (!try_lock_within(device, timeout)) {
    const std::string what = "Ledger busy for " + std::to_string(timeout.count()) + " ms";
    {
      std::lock_guard lock(mutex_);
      state_.responsive = false;
      state_.last_error = what;
    }
    state_cv_.notify_all();
    return fail(DeviceError{DeviceErrc::Transport, what, 0, TransportErrc::Timeout});
  }
  if (!app_ || transport_failed_) {
    std::lock_guard lock(mutex_);
    return fail(DeviceError{DeviceErrc::Unavailable,
                            "no usable Ledger" + (state_.last_error.empty() ? std::string() : ": " + state_.last_error),
                            0, {}});
  }
  return Lease(*this, std::move(device));
}

DeviceWorker::Lease::~Lease() {
  if (!lock_.owns_lock() || !worker_->transport_failed_) return;
  {
    std::lock_guard lock(worker_->mutex_);
    worker_->reconnect_requested_ = true;  // the worker drops the transport and reopens it
  }
  worker_->cv_.notify_all();
  worker_->state_cv_.notify_all();
}

Result<void, DeviceError> DeviceWorker::refresh(std::chrono::milliseconds timeout) {
  const auto deadline = clock_.now() + timeout;
  const std::uint64_t jobs_before = [&] {
    std::lock_guard lock(mutex_);
    return jobs_queued_;
  }();
  auto version = run_probe(
      [this](BakingApp& app) -> Result<void, DeviceError> {
        auto v = app.version();
        if (!v) return fail(std::move(v).error());
        std::lock_guard lock(mutex_);
        state_.app_open = true;
        state_.app_version = *v;
        return {};
      },
      timeout);
  if (!version) return version;
  {
    std::lock_guard lock(mutex_);
    if (jobs_queued_ != jobs_before) return {};  // a signature is waiting: it goes first, the probe ends
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now());
  return run_probe(
      [this](BakingApp& app) -> Result<void, DeviceError> {
        auto auth = app.query_auth_key_with_curve();
        if (!auth) return fail(std::move(auth).error());
        std::lock_guard lock(mutex_);
        set_authorized(*auth);
        return {};
      },
      std::max(left, std::chrono::milliseconds(1)));
}

}  // namespace pisigner::ledger
