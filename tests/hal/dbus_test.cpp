// UplinkMonitor, ModemManagerClient and logind power-off against test services on a
// private dbus-daemon. Policy time is a ManualClock; only D-Bus delivery is waited for.
#include <gtest/gtest.h>

#include <thread>

#include "pisigner/hal/power_off.hpp"
#include "pisigner/hal/uplink_monitor.hpp"
#include "private_bus.hpp"
#include "test_services.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::seconds;
using testing::PrivateBus;

// Polls `pred` for up to 5 s of real time (signal delivery is asynchronous).
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

struct DbusFixture : ::testing::Test {
  void SetUp() override {
    ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
    client = sdbus::createSessionBusConnectionWithAddress(bus.address());
    client->enterEventLoopAsync();
    config.enabled = true;
    config.lte_connection = "lte";
    config.wired_interface = "eth0";
  }
  void TearDown() override {
    if (client) client->leaveEventLoop();
  }
  void tick(seconds dt) {
    clock.advance(dt);
    monitor->tick();
  }

  PrivateBus bus;
  std::unique_ptr<sdbus::IConnection> client;
  UplinkConfig config;
  ManualClock clock;
  std::unique_ptr<UplinkMonitor> monitor;
};

TEST_F(DbusFixture, WiredLossActivatesLteAndWiredBackReleasesItAfterHysteresis) {
  testing::TestNetworkManager nm(bus.address());
  testing::TestModemManager mm(bus.address());
  mm.add_modem();
  monitor = std::make_unique<UplinkMonitor>(config, *client, clock);

  tick(seconds(0));
  auto s = monitor->snapshot();
  EXPECT_TRUE(s.network_manager_present);
  EXPECT_TRUE(s.wired_ok);
  EXPECT_EQ(s.primary_connection_type, "802-3-ethernet");
  EXPECT_EQ(s.health, Health::healthy);

  nm.set_wired_connectivity(false);
  tick(seconds(1));
  EXPECT_FALSE(monitor->snapshot().wired_ok);
  EXPECT_EQ(nm.activations(), 0);
  tick(config.failover_after);
  EXPECT_EQ(nm.activations(), 1);
  EXPECT_TRUE(nm.lte_active());
  tick(seconds(1));
  s = monitor->snapshot();
  EXPECT_EQ(s.mode, UplinkMode::lte);
  EXPECT_TRUE(s.lte_active);
  EXPECT_EQ(s.health, Health::healthy);  // a switch is information, not a failure
  EXPECT_EQ(s.counters.failovers, 1u);

  nm.set_wired_connectivity(true);
  tick(seconds(1));
  tick(config.failback_after - seconds(1));
  EXPECT_TRUE(nm.lte_active());
  tick(seconds(1));
  EXPECT_FALSE(nm.lte_active());
  EXPECT_EQ(nm.deactivations(), 1);
  EXPECT_EQ(monitor->snapshot().mode, UplinkMode::wired);
}

TEST_F(DbusFixture, FollowsModemAddRemoveAndSignalDrops) {
  testing::TestNetworkManager nm(bus.address());
  testing::TestModemManager mm(bus.address());
  const std::string first = mm.add_modem(80);
  monitor = std::make_unique<UplinkMonitor>(config, *client, clock);
  tick(seconds(0));
  auto s = monitor->snapshot().modems;
  ASSERT_TRUE(s.service_present);
  ASSERT_EQ(s.modems.size(), 1u);
  EXPECT_EQ(s.modems[0].signal_percent, 80u);
  EXPECT_EQ(s.modems[0].operator_name, "Telekom.de");
  EXPECT_EQ(s.modems[0].registration_state, 1u);
  EXPECT_EQ(access_technology_name(s.modems[0].access_technologies), "lte");
  EXPECT_STREQ(modem_state_name(s.modems[0].state), "registered");

  mm.set_signal(first, 12);
  EXPECT_TRUE(eventually([&] {
    monitor->tick();
    auto m = monitor->snapshot().modems.modems;
    return m.size() == 1 && m[0].signal_percent == 12;
  }));

  mm.remove_modem(first);
  EXPECT_TRUE(eventually([&] { monitor->tick(); return monitor->snapshot().modems.modems.empty(); }));
  const std::string second = mm.add_modem(55);
  EXPECT_NE(second, first);
  EXPECT_TRUE(eventually([&] {
    monitor->tick();
    auto m = monitor->snapshot().modems;
    return m.modems.size() == 1 && m.modems[0].path == second && m.modems_added >= 2 && m.modems_removed >= 1;
  }));
}

TEST_F(DbusFixture, ServiceRestartsAreFollowed) {
  testing::TestNetworkManager nm(bus.address());
  auto mm = std::make_unique<testing::TestModemManager>(bus.address());
  mm->add_modem();
  monitor = std::make_unique<UplinkMonitor>(config, *client, clock);
  tick(seconds(0));
  ASSERT_EQ(monitor->snapshot().modems.modems.size(), 1u);

  mm.reset();  // ModemManager exits
  EXPECT_TRUE(eventually([&] {
    monitor->tick();
    auto m = monitor->snapshot().modems;
    return !m.service_present && m.modems.empty();
  }));

  mm = std::make_unique<testing::TestModemManager>(bus.address());
  const std::string path = mm->add_modem(40);
  EXPECT_TRUE(eventually([&] {
    monitor->tick();
    auto m = monitor->snapshot().modems;
    return m.service_present && m.modems.size() == 1 && m.modems[0].path == path && m.service_appearances == 1;
  }));
}

TEST_F(DbusFixture, NetworkManagerAbsentIsReportedAndNothingIsDecided) {
  monitor = std::make_unique<UplinkMonitor>(config, *client, clock);
  tick(seconds(0));
  tick(config.failover_after * 2);
  auto s = monitor->snapshot();
  EXPECT_FALSE(s.network_manager_present);
  EXPECT_FALSE(s.modems.service_present);
  EXPECT_EQ(s.mode, UplinkMode::wired);
  EXPECT_FALSE(s.last_error.empty());
  EXPECT_EQ(s.health, Health::degraded);

  // NetworkManager arrives later: the monitor picks it up.
  testing::TestNetworkManager nm(bus.address());
  tick(seconds(1));
  EXPECT_TRUE(monitor->snapshot().network_manager_present);
  EXPECT_TRUE(monitor->snapshot().wired_ok);
}

TEST_F(DbusFixture, ShutdownGoesThroughLogind) {
  auto power_off = make_logind_power_off(*client);
  auto absent = power_off->power_off();
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, Errc::absent);

  testing::TestLogind logind(bus.address());
  ASSERT_TRUE(power_off->power_off().ok());
  EXPECT_EQ(logind.power_offs(), 1);
  EXPECT_FALSE(logind.last_interactive());
}

}  // namespace
}  // namespace pisigner::hal
