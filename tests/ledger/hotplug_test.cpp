#include "pisigner/ledger/hotplug.hpp"

#include <gtest/gtest.h>

#include "pisigner/ledger/hid_device.hpp"

#include <atomic>
#include <thread>

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;

TEST(Hotplug, FakeWatcherDeliversEventsUntilStopped) {
  FakeHotplugWatcher w;
  std::vector<HotplugEvent> seen;
  ASSERT_TRUE(w.start([&](HotplugEvent e) { seen.push_back(e); }));
  w.fire(HotplugEvent::Arrived);
  w.fire(HotplugEvent::Left);
  w.stop();
  w.fire(HotplugEvent::Arrived);
  EXPECT_EQ(seen, (std::vector<HotplugEvent>{HotplugEvent::Arrived, HotplugEvent::Left}));
}

// On a build machine without a Ledger neither watcher may report anything, crash or hang on stop.
TEST(Hotplug, PollingWatcherRunsAndStopsQuietlyWithoutADevice) {
  auto w = make_polling_hotplug(20ms);
  std::atomic<int> events{0};
  ASSERT_TRUE(w->start([&](HotplugEvent) { ++events; }));
  std::this_thread::sleep_for(100ms);
  w->stop();
  w->stop();  // idempotent
  EXPECT_STREQ(w->kind(), "polling");
  if (enumerate_ledgers().empty()) {
    EXPECT_EQ(events.load(), 0);
  }
}

TEST(Hotplug, StartHotplugPicksAWorkingMechanism) {
  auto w = start_hotplug([](HotplugEvent) {}, 50ms);
  ASSERT_NE(w, nullptr);
  const std::string kind = w->kind();
  EXPECT_TRUE(kind == "libusb" || kind == "polling") << kind;
  std::this_thread::sleep_for(50ms);
  w->stop();
}

}  // namespace
}  // namespace pisigner::ledger
