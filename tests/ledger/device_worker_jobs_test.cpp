// The device worker's jobs, leases and health probes: one exchange at a time, signatures ahead of
// probes, every wait bounded. Tests wait on notifications (futures, wait_until), never a fixed sleep.
#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <thread>

#include "device_worker_harness.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using testing::BusyDevice;
using testing::Harness;
using testing::kWait;
using testing::sign_job;

TEST(DeviceWorker, JobsFromManyThreadsAreSerialised) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (w->run(sign_job, 5s)) ++ok;
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
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  std::promise<void> caller_done;
  auto caller_done_f = caller_done.get_future().share();
  std::promise<void> job_started;
  auto pending = w->submit([&](BakingApp& app) {
    job_started.set_value();
    caller_done_f.wait();  // the job cannot finish before the caller let it: proves submit did not block
    return sign_job(app);
  });
  EXPECT_EQ(job_started.get_future().wait_for(kWait), std::future_status::ready)
      << "the job did not start while the caller was busy";
  caller_done.set_value();
  auto r = pending.wait(kWait);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, Bytes(64, 0x5A));
}

// A signature that arrives while a health probe waits does not wait for the probe's exchanges.
TEST(DeviceWorker, JobsGoAheadOfQueuedHealthProbes) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  BusyDevice busy(*w);
  ASSERT_TRUE(busy.wait_started());
  std::thread prober([&] { EXPECT_TRUE(w->refresh(kWait)); });
  // The probe's first exchange is queued behind `busy`.
  EXPECT_TRUE(w->wait_until([](const DeviceState& s) { return s.queued == 1; }, kWait));
  std::atomic<int> exchanges_at_start{-1};
  auto sign = w->submit([&](BakingApp& app) {
    exchanges_at_start = h.sw->exchanges.load();
    return sign_job(app);
  });
  const int before = h.sw->exchanges.load();
  EXPECT_TRUE(busy.finish(kWait));
  auto r = sign.wait(kWait);
  prober.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(exchanges_at_start.load(), before) << "the queued probe ran before the signature";
  // The probe yielded: its first exchange ran after the signature, its second not at all (the
  // signature just proved the device works).
  EXPECT_EQ(h.sw->exchanges.load(), before + 3);
}

// A lease runs the exchanges on the caller's thread; jobs wait for it to end.
TEST(DeviceWorker, ALeaseHasTheDeviceToItselfOnTheCallersThread) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  std::promise<void> job_ran;
  auto job_ran_f = job_ran.get_future();
  std::optional<DeviceWorker::Pending<Result<Bytes, DeviceError>>> job;
  {
    auto lease = w->lease(1s);
    ASSERT_TRUE(lease) << lease.error().message;
    auto s = sign_job(lease->app());
    ASSERT_TRUE(s) << s.error().message;
    job.emplace(w->submit([&](BakingApp& app) {
      job_ran.set_value();
      return sign_job(app);
    }));
    // The worker has taken the job off the queue and waits for the device...
    ASSERT_TRUE(w->wait_until([](const DeviceState& st) { return st.queued == 0; }, kWait));
    // ...and does not get it while the lease lasts (a bounded wait for what must not happen).
    EXPECT_EQ(job_ran_f.wait_for(50ms), std::future_status::timeout) << "a job used the device during a lease";
  }
  ASSERT_TRUE(job->wait(kWait));
  EXPECT_EQ(job_ran_f.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(h.sw->max_in_flight.load(), 1);
}

TEST(DeviceWorker, ATransportFailureDuringALeaseReopensTheDevice) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  {
    auto lease = w->lease(1s);
    ASSERT_TRUE(lease);
    h.sw->unplugged = true;
    auto s = sign_job(lease->app());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().transport, TransportErrc::Disconnected);
  }
  // Until the worker has reopened and verified it, the device is not lent out again.
  auto refused = w->lease(1s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, DeviceErrc::Unavailable);
  h.sw->unplugged = false;
  ASSERT_TRUE(h.drive_until(*w, [](const DeviceState& s) { return s.reconnects > 0; }));
  ASSERT_TRUE(w->wait_connected(kWait));
  auto again = w->lease(1s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(sign_job(again->app()));
  EXPECT_GE(w->state().reconnects, 1u);
}

TEST(DeviceWorker, ALeaseWaitsAtMostItsTimeoutForABusyDevice) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  BusyDevice busy(*w);
  ASSERT_TRUE(busy.wait_started());  // the job holds the device
  const auto t0 = Steady::now();
  auto lease = w->lease(150ms);
  const auto waited = Steady::now() - t0;
  busy.release();
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.error().transport, TransportErrc::Timeout);
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 1s);
  EXPECT_FALSE(w->state().responsive) << "a device busy past the deadline is reported";
  ASSERT_TRUE(busy.finish(kWait));
}

TEST(DeviceWorker, RefreshUpdatesTheSnapshot) {
  Harness h;
  auto w = h.make();
  ASSERT_TRUE(w->wait_connected(kWait));
  const auto before = w->state().apdu_latency.count;
  EXPECT_TRUE(w->refresh(1s));
  EXPECT_EQ(w->state().apdu_latency.count, before + 2);
  h.sw->locked = true;
  auto r = w->refresh(1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrc::Locked);
  EXPECT_FALSE(w->state().unlocked);
  EXPECT_FALSE(w->state().healthy());
}

TEST(DeviceWorker, DestructionFailsQueuedJobsPromptly) {
  Harness h;
  auto cfg = h.config();
  cfg.timeouts.apdu = 300ms;
  auto w = h.make(cfg);
  ASSERT_TRUE(w->wait_connected(kWait));
  h.sw->hung = true;
  DeviceWorker* worker = w.get();  // the caller uses the object, not the owning pointer
  auto started = std::make_shared<std::promise<void>>();
  auto started_f = started->get_future();
  std::thread caller([worker, started] {
    (void)worker->run(
        [started](BakingApp& app) {
          started->set_value();
          return sign_job(app);  // hangs for the APDU timeout
        },
        5s);
  });
  EXPECT_EQ(started_f.wait_for(kWait), std::future_status::ready);
  std::thread late_caller([worker] { (void)worker->run(sign_job, 5s); });  // queued behind it
  EXPECT_TRUE(worker->wait_until([](const DeviceState& s) { return s.queued == 1; }, kWait));
  const auto start = Steady::now();
  // Destroying while callers wait must not deadlock; both get an answer.
  std::thread destroyer([&] { w.reset(); });
  caller.join();
  late_caller.join();
  destroyer.join();
  EXPECT_LT(Steady::now() - start, 2s);
}

}  // namespace
}  // namespace pisigner::ledger
