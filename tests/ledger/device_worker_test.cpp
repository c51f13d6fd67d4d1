#include "pisigner/ledger/device_worker.hpp"

#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <thread>

#include "fake_baking_device.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using testing::FakeBakingDevice;
using testing::FakeDeviceSwitches;

const Path kPath{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};

struct Harness {
  std::shared_ptr<FakeDeviceSwitches> sw = std::make_shared<FakeDeviceSwitches>();
  std::atomic<bool> factory_fails{false};
  std::atomic<int> opens{0};

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
};

Result<Bytes, DeviceError> sign_job(BakingApp& app) {
  auto s = app.sign(DerivationType::Ed25519, kPath, Bytes(50, 0x13));
  if (!s) return fail(std::move(s).error());
  return s->bytes;
}

TEST(DeviceWorker, ConnectsVerifiesAndRunsJobs) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  auto r = w.run(sign_job, 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, Bytes(64, 0x5A));
  DeviceState s = w.state();
  EXPECT_TRUE(s.healthy());
  EXPECT_TRUE(s.present && s.app_open && s.unlocked && s.identity_ok);
  ASSERT_TRUE(s.app_version);
  EXPECT_EQ(s.app_version->to_string(), "2.5.1");
  ASSERT_TRUE(s.authorized);
  EXPECT_EQ(s.authorized->path, kPath);
  EXPECT_TRUE(s.authorized_ok);
  EXPECT_EQ(s.public_key, Bytes(32, 0x11));
  EXPECT_TRUE(s.last_ok.has_value());
  EXPECT_GE(s.apdu_latency.count, 5u);  // version, pubkey, auth key, 2 x sign
  EXPECT_EQ(s.reconnects, 0u);
}

TEST(DeviceWorker, HungDeviceFailsTheJobWithinTimeoutAndIsReopened) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  h.sw->hung = true;
  const auto start = Steady::now();
  auto r = w.run(sign_job, 2s);
  const auto elapsed = Steady::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Transport);
  EXPECT_EQ(r.error().transport, TransportErrc::Timeout);
  EXPECT_LT(elapsed, 200ms + 400ms);  // the configured APDU timeout + margin
  EXPECT_FALSE(w.state().healthy());
  EXPECT_NE(w.state().last_error.find("did not answer"), std::string::npos);

  h.sw->hung = false;
  // The worker reopens on its own (with backoff) and re-verifies the device.
  const auto deadline = Steady::now() + 3s;
  while (Steady::now() < deadline && w.state().reconnects == 0) std::this_thread::sleep_for(10ms);
  DeviceState s = w.state();
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_TRUE(s.healthy());
  EXPECT_TRUE(w.run(sign_job, 2s));
}

TEST(DeviceWorker, CallerDeadlineShorterThanTheDeviceTimeoutIsHonoured) {
  Harness h;
  auto cfg = h.config();
  cfg.timeouts.apdu = 1500ms;
  DeviceWorker w(cfg, h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  h.sw->hung = true;
  const auto start = Steady::now();
  auto r = w.run(sign_job, 100ms);
  EXPECT_LT(Steady::now() - start, 100ms + 300ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().transport, TransportErrc::Timeout);
  EXPECT_FALSE(w.state().healthy());
  EXPECT_FALSE(w.state().responsive);
  h.sw->hung = false;  // lets the worker finish before destruction
}

TEST(DeviceWorker, NoDeviceFailsFastThenConnectsWhenItAppears) {
  Harness h;
  h.factory_fails = true;
  DeviceWorker w(h.config(), h.factory());
  EXPECT_FALSE(w.wait_connected(100ms));
  const auto start = Steady::now();
  auto r = w.run(sign_job, 2s);
  EXPECT_LT(Steady::now() - start, 500ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Unavailable);
  EXPECT_NE(r.error().message.find("no Ledger found"), std::string::npos);
  EXPECT_FALSE(w.state().present);
  EXPECT_GT(h.opens.load(), 1);  // kept retrying

  h.factory_fails = false;
  EXPECT_TRUE(w.wait_connected(2s));
  EXPECT_TRUE(w.run(sign_job, 2s));
}

TEST(DeviceWorker, WrongLedgerIsRefused) {
  Harness h;
  h.sw->key_byte = 0x22;  // another seed
  DeviceWorker w(h.config(Bytes(32, 0x11)), h.factory());
  EXPECT_FALSE(w.wait_connected(300ms));
  DeviceState s = w.state();
  EXPECT_FALSE(s.identity_ok);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.public_key, Bytes(32, 0x22));
  EXPECT_NE(s.last_error.find("wrong Ledger: key at m/44'/1729'/0'/0' is " + to_hex(Bytes(32, 0x22)) +
                              ", expected " + to_hex(Bytes(32, 0x11))),
            std::string::npos)
      << s.last_error;
  auto r = w.run(sign_job, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Unavailable);
  EXPECT_EQ(h.sw->sign_apdus.load(), 0) << "no SIGN may reach a refused device";
}

TEST(DeviceWorker, FirstKeySeenIsPinnedWhenNoneConfigured) {
  Harness h;
  DeviceWorker w(h.config(std::nullopt), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  EXPECT_EQ(w.state().public_key, Bytes(32, 0x11));
  h.sw->key_byte = 0x33;  // somebody swapped the Ledger
  w.request_reconnect();
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(w.state().identity_ok);
  EXPECT_NE(w.state().last_error.find("wrong Ledger"), std::string::npos);
}

TEST(DeviceWorker, LockedDeviceIsPresentButNotUnlocked) {
  Harness h;
  h.sw->locked = true;
  DeviceWorker w(h.config(), h.factory());
  EXPECT_FALSE(w.wait_connected(200ms));
  DeviceState s = w.state();
  EXPECT_TRUE(s.present);
  EXPECT_FALSE(s.unlocked);
  EXPECT_NE(s.last_error.find("Ledger is locked"), std::string::npos);
  h.sw->locked = false;
  EXPECT_TRUE(w.wait_connected(2s));
  EXPECT_TRUE(w.state().unlocked);
}

TEST(DeviceWorker, UnplugMidJobDropsAndHotplugReconnects) {
  Harness h;
  auto cfg = h.config();
  cfg.backoff_initial = 5s;  // only the hot-plug event may bring it back quickly
  cfg.backoff_max = 5s;
  DeviceWorker w(cfg, h.factory());
  FakeHotplugWatcher hotplug;
  hotplug.start([&](HotplugEvent e) { w.on_hotplug(e); });
  ASSERT_TRUE(w.wait_connected(2s));
  h.sw->unplugged = true;
  auto r = w.run(sign_job, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().transport, TransportErrc::Disconnected);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(w.state().present);
  h.sw->unplugged = false;
  hotplug.fire(HotplugEvent::Arrived);
  EXPECT_TRUE(w.wait_connected(1s));
  EXPECT_TRUE(w.run(sign_job, 1s));
  EXPECT_GE(w.state().reconnects, 1u);
}

TEST(DeviceWorker, JobsFromManyThreadsAreSerialised) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (w.run(sign_job, 5s)) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 15);
  EXPECT_EQ(h.sw->max_in_flight.load(), 1);
}

// submit() queues and returns at once: the caller works (the daemon's fsync) while the device does.
TEST(DeviceWorker, SubmittedJobRunsWhileTheCallerWorks) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  std::promise<void> caller_done;
  auto caller_done_f = caller_done.get_future().share();
  std::atomic<bool> job_started{false};
  auto pending = w.submit([&](BakingApp& app) {
    job_started = true;
    caller_done_f.wait();  // the job cannot finish before the caller let it: proves submit did not block
    return sign_job(app);
  });
  for (int i = 0; i < 2000 && !job_started; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(job_started.load()) << "the job did not start while the caller was busy";
  caller_done.set_value();
  auto r = pending.wait(2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, Bytes(64, 0x5A));
}

// A job that holds the device until release(); released at the latest on destruction.
class BusyDevice {
 public:
  explicit BusyDevice(DeviceWorker& w)
      : job_(w.submit([released = released_](BakingApp&) -> Result<int, DeviceError> {
          released.wait();
          return 0;
        })) {}
  ~BusyDevice() { release(); }
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
  bool released_flag_ = false;
  DeviceWorker::Pending<Result<int, DeviceError>> job_;
};

// A signature that arrives while a health probe waits does not wait for the probe's exchanges.
TEST(DeviceWorker, JobsGoAheadOfQueuedHealthProbes) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  BusyDevice busy(w);
  std::thread prober([&] { EXPECT_TRUE(w.refresh(5s)); });
  std::this_thread::sleep_for(200ms);  // the probe's first exchange is queued behind `busy`
  std::atomic<int> exchanges_at_start{-1};
  auto sign = w.submit([&](BakingApp& app) {
    exchanges_at_start = h.sw->exchanges.load();
    return sign_job(app);
  });
  const int before = h.sw->exchanges.load();
  ASSERT_TRUE(busy.finish(5s));
  auto r = sign.wait(5s);
  ASSERT_TRUE(r) << r.error().message;
  prober.join();
  EXPECT_EQ(exchanges_at_start.load(), before) << "the queued probe ran before the signature";
  // The probe yielded: its first exchange ran after the signature, its second not at all (the
  // signature just proved the device works).
  EXPECT_EQ(h.sw->exchanges.load(), before + 3);
}

// A lease runs the exchanges on the caller's thread; jobs wait for it to end.
TEST(DeviceWorker, ALeaseHasTheDeviceToItselfOnTheCallersThread) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  std::atomic<bool> job_ran{false};
  std::optional<DeviceWorker::Pending<Result<Bytes, DeviceError>>> job;
  {
    auto lease = w.lease(1s);
    ASSERT_TRUE(lease) << lease.error().message;
    auto s = sign_job(lease->app());
    ASSERT_TRUE(s) << s.error().message;
    job.emplace(w.submit([&](BakingApp& app) {
      job_ran = true;
      return sign_job(app);
    }));
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(job_ran.load()) << "a job used the device during a lease";
  }
  ASSERT_TRUE(job->wait(2s));
  EXPECT_TRUE(job_ran.load());
  EXPECT_EQ(h.sw->max_in_flight.load(), 1);
}

TEST(DeviceWorker, ATransportFailureDuringALeaseReopensTheDevice) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  {
    auto lease = w.lease(1s);
    ASSERT_TRUE(lease);
    h.sw->unplugged = true;
    auto s = sign_job(lease->app());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().transport, TransportErrc::Disconnected);
  }
  // Until the worker has reopened and verified it, the device is not lent out again.
  auto refused = w.lease(1s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, DeviceErrc::Unavailable);
  h.sw->unplugged = false;
  for (int i = 0; i < 200 && w.state().reconnects == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(w.wait_connected(2s));
  auto again = w.lease(1s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(sign_job(again->app()));
  EXPECT_GE(w.state().reconnects, 1u);
}

TEST(DeviceWorker, ALeaseWaitsAtMostItsTimeoutForABusyDevice) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  BusyDevice busy(w);
  std::this_thread::sleep_for(50ms);  // the job holds the device
  const auto t0 = Steady::now();
  auto lease = w.lease(150ms);
  const auto waited = Steady::now() - t0;
  busy.release();
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.error().transport, TransportErrc::Timeout);
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 1s);
  EXPECT_FALSE(w.state().responsive) << "a device busy past the deadline is reported";
  ASSERT_TRUE(busy.finish(2s));
}

TEST(DeviceWorker, AuthorizedKeyIsComparedWithTheConfiguredOne) {
  Harness h;
  auto cfg = h.config();
  cfg.curve = DerivationType::Bip32Ed25519;  // the fake device authorized Ed25519 (curve 0)
  cfg.expected_public_key = std::nullopt;
  DeviceWorker w(cfg, h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  ASSERT_TRUE(w.state().authorized);
  EXPECT_FALSE(w.state().authorized_ok);
}

TEST(DeviceWorker, RefreshUpdatesTheSnapshot) {
  Harness h;
  DeviceWorker w(h.config(), h.factory());
  ASSERT_TRUE(w.wait_connected(2s));
  const auto before = w.state().apdu_latency.count;
  EXPECT_TRUE(w.refresh(1s));
  EXPECT_EQ(w.state().apdu_latency.count, before + 2);
  h.sw->locked = true;
  auto r = w.refresh(1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Locked);
  EXPECT_FALSE(w.state().unlocked);
  EXPECT_FALSE(w.state().healthy());
}

TEST(DeviceWorker, DestructionFailsQueuedJobsPromptly) {
  Harness h;
  auto cfg = h.config();
  cfg.timeouts.apdu = 300ms;
  auto w = std::make_unique<DeviceWorker>(cfg, h.factory());
  ASSERT_TRUE(w->wait_connected(2s));
  h.sw->hung = true;
  DeviceWorker* worker = w.get();  // the caller uses the object, not the owning pointer
  std::thread caller([worker] { (void)worker->run(sign_job, 5s); });
  std::this_thread::sleep_for(50ms);
  const auto start = Steady::now();
  // Destroying while a caller waits must not deadlock; the caller gets an answer.
  std::thread destroyer([&] { w.reset(); });
  caller.join();
  destroyer.join();
  EXPECT_LT(Steady::now() - start, 2s);
}

}  // namespace
}  // namespace pisigner::ledger
