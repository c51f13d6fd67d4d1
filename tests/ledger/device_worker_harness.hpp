// A DeviceWorker over the fake Baking device, its reopen backoff timed by a ManualClock: tests
// wait on the worker's notifications (wait_until, with a generous real-time bound) and move the
// clock, instead of sleeping on real time.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <optional>

#include "fake_baking_device.hpp"
#include "pisigner/ledger/device_worker.hpp"

namespace pisigner::ledger::testing {
using namespace std::chrono_literals;

inline const Path kPath{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};
// A bound on waiting for another thread; never reached unless the behaviour under test is broken.
constexpr auto kWait = std::chrono::milliseconds(10'000);

struct Harness {
  std::shared_ptr<FakeDeviceSwitches> sw = std::make_shared<FakeDeviceSwitches>();
  std::atomic<bool> factory_fails{false};
  std::atomic<int> opens{0};
  ManualClock clock;
  std::shared_ptr<PeriodicWorker> timers = std::make_shared<PeriodicWorker>(clock);  // driven by the test

  TransportFactory factory() {
    return [this]() -> Result<std::unique_ptr<Transport>, TransportError> {
      ++opens;
      if (factory_fails || sw->unplugged) return fail(TransportError{TransportErrc::Disconnected, "no Ledger found on USB"});
      return std::unique_ptr<Transport>(std::make_unique<FakeBakingDevice>(sw));
    };
  }

  DeviceWorkerConfig config(std::optional<Bytes> expected = Bytes(32, 0x11)) {
    DeviceWorkerConfig c;
    c.path = kPath;
    c.expected_public_key = std::move(expected);
    c.timeouts.apdu = 200ms;
    c.backoff_initial = 20ms;
    c.backoff_max = 100ms;
    return c;
  }

  std::unique_ptr<DeviceWorker> make(DeviceWorkerConfig c) {
    return std::make_unique<DeviceWorker>(std::move(c), factory(), clock, timers);
  }
  std::unique_ptr<DeviceWorker> make() { return make(config()); }

  // A failed open is waiting out its backoff (the worker is otherwise idle as far as opening goes).
  static bool retry_pending(DeviceWorker& w) {
    return w.wait_until([](const DeviceState& s) { return s.next_retry.has_value(); }, kWait);
  }
  // How long the pending retry waits, on the manual clock.
  Clock::Duration backoff_left(DeviceWorker& w) {
    const auto at = w.state().next_retry;
    return at ? *at - clock.now() : Clock::Duration::max();
  }
  // Moves the clock to the pending retry and runs the timers: the worker opens again.
  void pass_backoff(DeviceWorker& w) {
    const auto at = w.state().next_retry;
    ASSERT_TRUE(at.has_value()) << "no retry pending";
    clock.advance(*at - clock.now());
    timers->run_due();
  }
  // Passes each backoff until `done(state)` holds (at most `retries` reopens).
  bool drive_until(DeviceWorker& w, const std::function<bool(const DeviceState&)>& done, int retries = 10) {
    for (int i = 0; i <= retries; ++i) {
      if (!w.wait_until([&](const DeviceState& s) { return done(s) || s.next_retry.has_value(); }, kWait)) return false;
      if (done(w.state())) return true;
      pass_backoff(w);
    }
    return done(w.state());
  }
};

inline Result<Bytes, DeviceError> sign_job(BakingApp& app) {
  auto s = app.sign(DerivationType::Ed25519, kPath, Bytes(50, 0x13));
  if (!s) return fail(std::move(s).error());
  return s->bytes;
}

// A job that holds the device until release(); released at the latest on destruction.
class BusyDevice {
 public:
  explicit BusyDevice(DeviceWorker& w)
      : job_(w.submit([released = released_, started = started_](BakingApp&) -> Result<int, DeviceError> {
          started->set_value();
          released.wait();
          return 0;
        })) {}
  ~BusyDevice() { release(); }
  // The job has the device.
  bool wait_started() { return started_future_.wait_for(kWait) == std::future_status::ready; }
  void release() {
    if (!released_flag_) release_.set_value();
    released_flag_ = true;
  }
  // Releases it and waits for the job to end.
  bool finish(std::chrono::milliseconds timeout) {
    release();
    return job_.wait(timeout).ok();
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::shared_ptr<std::promise<void>> started_ = std::make_shared<std::promise<void>>();
  std::future<void> started_future_ = started_->get_future();
  bool released_flag_ = false;
  DeviceWorker::Pending<Result<int, DeviceError>> job_;
};

}  // namespace pisigner::ledger::testing
