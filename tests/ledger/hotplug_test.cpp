// Hot-plug watchers. The polling one runs as a job of a PeriodicWorker: these tests move a
// ManualClock and run the due jobs instead of sleeping.
#include "pisigner/ledger/hotplug.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "pisigner/ledger/hid_device.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Events = std::vector<HotplugEvent>;

TEST(Hotplug, FakeWatcherDeliversEventsUntilStopped) {
  FakeHotplugWatcher w;
  Events seen;
  ASSERT_TRUE(w.start([&](HotplugEvent e) { seen.push_back(e); }));
  w.fire(HotplugEvent::Arrived);
  w.fire(HotplugEvent::Left);
  w.stop();
  w.fire(HotplugEvent::Arrived);
  EXPECT_EQ(seen, (Events{HotplugEvent::Arrived, HotplugEvent::Left}));
}

// A scripted USB bus: the device paths the next enumeration returns.
struct FakeBus {
  std::mutex mu;
  std::vector<std::string> paths;
  int enumerations = 0;
  EnumerateFn fn() {
    return [this] {
      std::lock_guard lock(mu);
      ++enumerations;
      return paths;
    };
  }
  void set(std::vector<std::string> p) {
    std::lock_guard lock(mu);
    paths = std::move(p);
  }
};

TEST(Hotplug, PollingReportsArrivalAndDepartureOncePerIntervalOfTheInjectedClock) {
  ManualClock clock;
  auto timers = std::make_shared<PeriodicWorker>(clock);
  FakeBus bus;
  bus.set({"/dev/hidraw0"});  // present before start: not an arrival
  auto w = make_polling_hotplug(timers, 500ms, bus.fn());
  Events seen;
  ASSERT_TRUE(w->start([&](HotplugEvent e) { seen.push_back(e); }));
  EXPECT_EQ(bus.enumerations, 1) << "start() takes the first enumeration";
  EXPECT_EQ(timers->run_due(), 500ms);
  EXPECT_EQ(bus.enumerations, 1) << "polled before the interval passed";

  bus.set({"/dev/hidraw0", "/dev/hidraw1"});
  clock.advance(499ms);
  timers->run_due();
  EXPECT_TRUE(seen.empty()) << "polled before the interval passed";
  clock.advance(1ms);
  timers->run_due();
  EXPECT_EQ(seen, (Events{HotplugEvent::Arrived}));

  clock.advance(500ms);
  timers->run_due();
  EXPECT_EQ(seen.size(), 1u) << "an unchanged bus reports nothing";

  // The app switched: the old interface went and a new one came between two polls.
  bus.set({"/dev/hidraw0", "/dev/hidraw2"});
  clock.advance(500ms);
  timers->run_due();
  EXPECT_EQ(seen, (Events{HotplugEvent::Arrived, HotplugEvent::Left, HotplugEvent::Arrived}));

  bus.set({});
  clock.advance(500ms);
  timers->run_due();
  EXPECT_EQ(seen.back(), HotplugEvent::Left);
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Hotplug, PollingStopsDeliveringAndCanRestart) {
  ManualClock clock;
  auto timers = std::make_shared<PeriodicWorker>(clock);
  FakeBus bus;
  auto w = make_polling_hotplug(timers, 100ms, bus.fn());
  Events seen;
  ASSERT_TRUE(w->start([&](HotplugEvent e) { seen.push_back(e); }));
  w->stop();
  w->stop();  // idempotent
  bus.set({"/dev/hidraw0"});
  clock.advance(1s);
  EXPECT_EQ(timers->run_due(), PeriodicWorker::kNothingDue) << "a stopped watcher left a job behind";
  EXPECT_TRUE(seen.empty());

  ASSERT_TRUE(w->start([&](HotplugEvent e) { seen.push_back(e); }));  // baseline: hidraw0 present
  bus.set({});
  clock.advance(100ms);
  timers->run_due();
  EXPECT_EQ(seen, (Events{HotplugEvent::Left}));
  EXPECT_STREQ(w->kind(), "polling");
}

// On a build machine without a Ledger the real enumeration may report nothing, crash or hang on stop.
TEST(Hotplug, PollingOverTheRealBusRunsAndStopsQuietlyWithoutADevice) {
  ManualClock clock;
  auto timers = std::make_shared<PeriodicWorker>(clock);
  auto w = make_polling_hotplug(timers, 20ms);
  int events = 0;
  ASSERT_TRUE(w->start([&](HotplugEvent) { ++events; }));
  for (int i = 0; i < 5; ++i) {
    clock.advance(20ms);
    timers->run_due();
  }
  w->stop();
  if (enumerate_ledgers().empty()) {
    EXPECT_EQ(events, 0);
  }
}

TEST(Hotplug, StartHotplugPicksAWorkingMechanism) {
  ManualClock clock;
  auto timers = std::make_shared<PeriodicWorker>(clock);
  auto w = start_hotplug([](HotplugEvent) {}, timers, 50ms);
  ASSERT_NE(w, nullptr);
  const std::string kind = w->kind();
  EXPECT_TRUE(kind == "libusb" || kind == "polling") << kind;
  w->stop();
  EXPECT_EQ(timers->run_due(), PeriodicWorker::kNothingDue) << "stop() left a polling job behind";
}

}  // namespace
}  // namespace pisigner::ledger
