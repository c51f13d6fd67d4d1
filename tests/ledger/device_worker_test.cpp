// The device worker's opening, identity checks and reopening (with the backoff on a ManualClock).
// Jobs, leases and probes: device_worker_jobs_test.cpp.
#include "pisigner/ledger/device_worker.hpp"

#include <gtest/gtest.h>

#include "device_worker_harness.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using testing::Harness;
using testing::kWait;
using testing::sign_job;

TEST(DeviceWorker, ConnectsVerifiesAndRunsJobs) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  auto r = w->run(sign_job, 2s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, Bytes(64, 0x5A));
  DeviceState s = w->state();
  EXPECT_TRUE(s.healthy());
  EXPECT_TRUE(s.present && s.app_open && s.unlocked && s.identity_ok);
  ASSERT_TRUE(s.app_version);
  EXPECT_EQ(s.app_version->to_string(), "2.5.1");
  ASSERT_TRUE(s.authorized);
  EXPECT_EQ(s.authorized->path, testing::kPath);
  EXPECT_TRUE(s.authorized_ok);
  EXPECT_EQ(s.public_key, Bytes(32, 0x11));
  EXPECT_TRUE(s.last_ok.has_value());
  EXPECT_GE(s.apdu_latency.count, 5u);  // version, pubkey, auth key, 2 x sign
  EXPECT_EQ(s.reconnects, 0u);
  EXPECT_FALSE(s.next_retry.has_value());
  EXPECT_EQ(h.opens.load(), 1);
}

TEST(DeviceWorker, HungDeviceFailsTheJobWithinTimeoutAndIsReopened) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  h.sw->hung = true;
  const auto start = Steady::now();
  auto r = w->run(sign_job, 2s);
  const auto elapsed = Steady::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Transport);
  EXPECT_EQ(r.error().transport, TransportErrc::Timeout);
  EXPECT_LT(elapsed, 200ms + 400ms);  // the configured APDU timeout + margin
  EXPECT_FALSE(w->state().healthy());
  EXPECT_NE(w->state().last_error.find("did not answer"), std::string::npos);

  h.sw->hung = false;
  // The worker reopens on its own (at once, or after the backoff if it tried while still hung)
  // and re-verifies the device.
  ASSERT_TRUE(h.drive_until(*w, [](const DeviceState& s) { return s.reconnects > 0; }));
  DeviceState s = w->state();
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_TRUE(s.healthy());
  EXPECT_TRUE(w->run(sign_job, 2s));
}

TEST(DeviceWorker, CallerDeadlineShorterThanTheDeviceTimeoutIsHonoured) {
  Harness h;
  auto cfg = h.config();
  cfg.timeouts.apdu = 1500ms;
  auto w = h.make(cfg);
  ASSERT_TRUE(w->wait_connected(kWait));
  h.sw->hung = true;
  const auto start = Steady::now();
  auto r = w->run(sign_job, 100ms);
  EXPECT_LT(Steady::now() - start, 100ms + 300ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().transport, TransportErrc::Timeout);
  EXPECT_FALSE(w->state().healthy());
  EXPECT_FALSE(w->state().responsive);
  h.sw->hung = false;  // lets the worker finish before destruction
}

TEST(DeviceWorker, NoDeviceFailsFastThenConnectsWhenItAppears) {
  Harness h;
  h.factory_fails = true;
  auto w = h.make();
  ASSERT_TRUE(Harness::retry_pending(*w));
  EXPECT_FALSE(w->state().present);
  const auto start = Steady::now();
  auto r = w->run(sign_job, 2s);
  EXPECT_LT(Steady::now() - start, 500ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Unavailable);
  EXPECT_NE(r.error().message.find("no Ledger found"), std::string::npos);

  h.pass_backoff(*w);
  ASSERT_TRUE(Harness::retry_pending(*w));
  EXPECT_EQ(h.opens.load(), 2);  // kept retrying

  h.factory_fails = false;
  h.pass_backoff(*w);
  EXPECT_TRUE(w->wait_connected(kWait));
  EXPECT_TRUE(w->run(sign_job, 2s));
  EXPECT_EQ(w->state().reconnects, 0u) << "the first successful open is not a reconnect";
}

// The retry is timed by the injected clock alone: not a moment early, doubling up to the maximum,
// and a reconnect request starts over from the initial backoff.
TEST(DeviceWorker, BackoffDoublesUpToItsMaximumAndARequestResetsIt) {
  Harness h;
  h.factory_fails = true;
  auto w = h.make();
  std::vector<Clock::Duration> waits;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Harness::retry_pending(*w));
    EXPECT_EQ(h.opens.load(), i + 1);
    waits.push_back(h.backoff_left(*w));
    h.clock.advance(waits.back() - 1ms);
    h.timers->run_due();
    EXPECT_TRUE(w->state().next_retry.has_value()) << "retried before the backoff passed";
    h.pass_backoff(*w);
  }
  EXPECT_EQ(waits, (std::vector<Clock::Duration>{20ms, 40ms, 80ms, 100ms, 100ms}));

  ASSERT_TRUE(Harness::retry_pending(*w));
  const int opens = h.opens.load();
  w->request_reconnect();  // e.g. a hot-plug event: opens now, without the clock moving
  ASSERT_TRUE(w->wait_until([&](const DeviceState& s) { return s.next_retry == h.clock.now() + 20ms; }, kWait));
  EXPECT_EQ(h.opens.load(), opens + 1);
}

TEST(DeviceWorker, WrongLedgerIsRefused) {
  Harness h;
  h.sw->key_byte = 0x22;  // another seed
  auto w = h.make(h.config(Bytes(32, 0x11)));
  ASSERT_TRUE(Harness::retry_pending(*w));
  DeviceState s = w->state();
  EXPECT_FALSE(s.identity_ok);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.public_key, Bytes(32, 0x22));
  EXPECT_NE(s.last_error.find("wrong Ledger: key at m/44'/1729'/0'/0' is " + to_hex(Bytes(32, 0x22)) +
                              ", expected " + to_hex(Bytes(32, 0x11))),
            std::string::npos)
      << s.last_error;
  auto r = w->run(sign_job, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Unavailable);
  h.pass_backoff(*w);  // and again on every retry
  ASSERT_TRUE(Harness::retry_pending(*w));
  EXPECT_FALSE(w->state().identity_ok);
  EXPECT_EQ(h.sw->sign_apdus.load(), 0) << "no SIGN may reach a refused device";
}

TEST(DeviceWorker, FirstKeySeenIsPinnedWhenNoneConfigured) {
  Harness h;
  auto w = h.make(h.config(std::nullopt));
  ASSERT_TRUE(w->wait_connected(kWait));
  EXPECT_EQ(w->state().public_key, Bytes(32, 0x11));
  h.sw->key_byte = 0x33;  // somebody swapped the Ledger
  w->request_reconnect();
  ASSERT_TRUE(Harness::retry_pending(*w));
  EXPECT_FALSE(w->state().identity_ok);
  EXPECT_NE(w->state().last_error.find("wrong Ledger"), std::string::npos);
}

TEST(DeviceWorker, LockedDeviceIsPresentButNotUnlocked) {
  Harness h;
  h.sw->locked = true;
  auto w = h.make();
  ASSERT_TRUE(Harness::retry_pending(*w));
  DeviceState s = w->state();
  EXPECT_TRUE(s.present);
  EXPECT_FALSE(s.unlocked);
  EXPECT_NE(s.last_error.find("Ledger is locked"), std::string::npos);
  h.sw->locked = false;
  ASSERT_TRUE(h.drive_until(*w, [](const DeviceState& st) { return st.healthy(); }));
  EXPECT_TRUE(w->wait_connected(kWait));
  EXPECT_TRUE(w->state().unlocked);
}

TEST(DeviceWorker, UnplugMidJobDropsAndHotplugReconnects) {
  Harness h;
  auto w = h.make();  // the clock never moves: only the hot-plug event may bring the device back
  FakeHotplugWatcher hotplug;
  hotplug.start([&](HotplugEvent e) { w->on_hotplug(e); });
  ASSERT_TRUE(w->wait_connected(kWait));
  h.sw->unplugged = true;
  auto r = w->run(sign_job, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().transport, TransportErrc::Disconnected);
  ASSERT_TRUE(Harness::retry_pending(*w));  // dropped, reopening failed
  EXPECT_FALSE(w->state().present);
  h.sw->unplugged = false;
  hotplug.fire(HotplugEvent::Arrived);
  EXPECT_TRUE(w->wait_connected(kWait));
  EXPECT_TRUE(w->run(sign_job, 1s));
  EXPECT_GE(w->state().reconnects, 1u);
  hotplug.stop();
}

TEST(DeviceWorker, AuthorizedKeyIsComparedWithTheConfiguredOne) {
  Harness h;
  auto cfg = h.config();
  cfg.curve = DerivationType::Bip32Ed25519;  // the fake device authorized Ed25519 (curve 0)
  cfg.expected_public_key = std::nullopt;
  auto w = h.make(cfg);
  ASSERT_TRUE(w->wait_connected(kWait));
  ASSERT_TRUE(w->state().authorized);
  EXPECT_FALSE(w->state().authorized_ok);
}

// Workers share one timer thread; each one's timer goes with it.
TEST(DeviceWorker, WorkersShareTheTimersAndRemoveTheirJobWhenDestroyed) {
  Harness h;
  h.factory_fails = true;
  auto a = h.make();
  auto b = h.make();
  ASSERT_TRUE(Harness::retry_pending(*a));
  ASSERT_TRUE(Harness::retry_pending(*b));
  EXPECT_EQ(h.timers->run_due(), 20ms);
  a.reset();
  b.reset();
  EXPECT_EQ(h.timers->run_due(), PeriodicWorker::kNothingDue);
}

}  // namespace
}  // namespace pisigner::ledger
