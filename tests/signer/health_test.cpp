// The health snapshot behind /authorized: freshness, required vs informational checks, busy skipping,
// and the probe loop on a PeriodicWorker driven by a ManualClock.
#include "pisigner/health/health.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace pisigner::health {
namespace {

using namespace std::chrono_literals;

const CheckStatus* find(const Snapshot& s, const std::string& name) {
  for (const auto& c : s.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(Health, UnprobedRequiredCheckIsNotAuthorized) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  h.add("ledger", true, [] { return ProbeResult{State::Ok, "app 2.4.7"}; });
  auto s = h.snapshot();
  EXPECT_FALSE(s.authorized);
  EXPECT_NE(s.summary.find("ledger"), std::string::npos) << s.summary;
  h.probe_once();
  s = h.snapshot();
  EXPECT_TRUE(s.authorized) << s.summary;
  EXPECT_EQ(s.summary, "ok");
}

TEST(Health, StaleRequiredCheckIsNotAuthorized) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  h.add("ledger", true, [] { return ProbeResult{State::Ok, "fine"}; });
  h.probe_once();
  clock.advance(3000ms);
  EXPECT_TRUE(h.snapshot().authorized) << "exactly max_age old is still fresh";
  clock.advance(1ms);
  auto s = h.snapshot();
  EXPECT_FALSE(s.authorized);
  const auto* c = find(s, "ledger");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, State::Failing);
  EXPECT_NE(c->detail.find("stale"), std::string::npos) << c->detail;
  h.probe_once();
  EXPECT_TRUE(h.snapshot().authorized);
}

TEST(Health, ObserverHearsEachFlipAndEachNewSetOfFailingChecksOnce) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  State ledger = State::Ok, cluster = State::Ok;
  int attempt = 0;
  h.add("ledger", true, [&] { return ProbeResult{ledger, "attempt " + std::to_string(++attempt)}; });
  h.add("cluster", true, [&] { return ProbeResult{cluster, "quorum"}; });
  h.add("uplink", false, [] { return ProbeResult{State::Failing, "no LTE"}; });
  std::vector<std::string> heard;
  h.on_change([&](const Snapshot& s) { heard.push_back(s.authorized ? "ok" : s.summary); });
  h.probe_once();
  h.probe_once();
  EXPECT_EQ(heard, (std::vector<std::string>{"ok"})) << "an informational failure is not a change";
  ledger = State::Failing;
  h.probe_once();
  h.probe_once();  // the detail moves on every probe; the same check failing is heard once
  cluster = State::Failing;
  h.probe_once();
  ledger = State::Ok;
  cluster = State::Ok;
  h.probe_once();
  ASSERT_EQ(heard.size(), 4u);
  EXPECT_EQ(heard[1], "ledger: attempt 3");
  EXPECT_EQ(heard[2], "ledger: attempt 5; cluster: quorum");
  EXPECT_EQ(heard[3], "ok");
}

TEST(Health, WarningCountsAsAuthorizedFailingDoesNot) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  State state = State::Warning;
  h.add("ups", true, [&] { return ProbeResult{state, "on battery"}; });
  h.probe_once();
  EXPECT_TRUE(h.snapshot().authorized);
  state = State::Failing;
  h.probe_once();
  auto s = h.snapshot();
  EXPECT_FALSE(s.authorized);
  EXPECT_EQ(s.summary, "ups: on battery");
}

TEST(Health, OptionalChecksNeverDecide) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  h.add("ledger", true, [] { return ProbeResult{State::Ok, ""}; });
  h.add("peer", false, [] { return ProbeResult{State::Failing, "unreachable"}; });
  h.add("uplink", false);  // never probed
  h.probe_once();
  clock.advance(10s);
  h.report("ledger", ProbeResult{State::Ok, "signed"});
  auto s = h.snapshot();
  EXPECT_TRUE(s.authorized) << s.summary;
  EXPECT_EQ(find(s, "peer")->state, State::Failing);
  EXPECT_EQ(s.checks.size(), 3u);
}

TEST(Health, ReportKeepsACheckFreshWithoutAProbe) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  h.add("signing", true);
  EXPECT_FALSE(h.snapshot().authorized);
  h.report("signing", ProbeResult{State::Ok, "last sign 1 ms"});
  auto s = h.snapshot();
  EXPECT_TRUE(s.authorized);
  EXPECT_EQ(find(s, "signing")->detail, "last sign 1 ms");
  EXPECT_EQ(find(s, "signing")->updated, clock.now());
  h.report("no-such-check", ProbeResult{State::Failing, "x"});  // ignored
  EXPECT_EQ(h.snapshot().checks.size(), 1u);
}

TEST(Health, SkipWhenBusyLeavesTheDeviceAloneWhileSigning) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  int device_probes = 0, store_probes = 0;
  h.add("ledger", true, [&] { ++device_probes; return ProbeResult{State::Ok, ""}; });
  h.add("store", true, [&] { ++store_probes; return ProbeResult{State::Ok, ""}; });
  h.skip_when_busy("ledger");
  bool busy = true;
  h.set_busy([&] { return busy; });
  h.probe_once();
  EXPECT_EQ(device_probes, 0);
  EXPECT_EQ(store_probes, 1);
  busy = false;
  h.probe_once();
  EXPECT_EQ(device_probes, 1);
  EXPECT_EQ(store_probes, 2);
}

TEST(Health, LoopProbesEveryIntervalOfTheInjectedClock) {
  ManualClock clock;
  Health h(clock, 1000ms, 3000ms);
  int probes = 0;
  h.add("ledger", true, [&] { ++probes; return ProbeResult{State::Ok, ""}; });
  PeriodicWorker worker(clock);
  h.schedule_on(worker);
  EXPECT_EQ(worker.run_due(), 1000ms);
  EXPECT_EQ(probes, 0) << "the loop's first probe waits one interval (start-up probes once itself)";
  clock.advance(999ms);
  worker.run_due();
  EXPECT_EQ(probes, 0);
  clock.advance(1ms);
  worker.run_due();
  EXPECT_EQ(probes, 1);
  for (int i = 0; i < 5; ++i) {
    clock.advance(1000ms);
    worker.run_due();
    EXPECT_TRUE(h.snapshot().authorized) << "the loop keeps the required check fresh";
  }
  EXPECT_EQ(probes, 6);
  clock.advance(3001ms);  // the loop stopped running: the check goes stale
  EXPECT_FALSE(h.snapshot().authorized);
}

// On its own thread (the daemon's), waiting on notifications only: probes run until the worker stops.
TEST(Health, LoopProbesOnItsThreadUntilStopped) {
  Health h(real_clock(), 5ms, 3000ms);
  std::mutex mu;
  std::condition_variable cv;
  int probes = 0;
  h.add("ledger", true, [&] {
    std::lock_guard lock(mu);
    ++probes;
    cv.notify_all();
    return ProbeResult{State::Ok, ""};
  });
  PeriodicWorker worker(real_clock());
  h.schedule_on(worker);
  worker.start();
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return probes >= 3; }));
  }
  worker.stop();  // joins: no probe runs after this
  worker.stop();  // idempotent
  std::lock_guard lock(mu);
  EXPECT_GE(probes, 3);
}

}  // namespace
}  // namespace pisigner::health
