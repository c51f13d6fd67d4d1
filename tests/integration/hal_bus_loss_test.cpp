// The system bus going away must not take pisignerd down: the real daemon with [uplink] and
// [ups] on a private dbus-daemon that is stopped and started again (same address) while a
// client keeps signing. Guards the uncaught sdbus::Error from the bus event loop
// ("Failed to process bus requests") that used to abort the process.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "private_bus.hpp"
#include "support/daemon.hpp"
#include "test_services.hpp"

using namespace pisigner::testing;
using pisigner::hal::testing::PrivateBus;
using pisigner::hal::testing::TestLogind;
using pisigner::hal::testing::TestModemManager;
using pisigner::hal::testing::TestNetworkManager;
using nlohmann::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;

void write_file(const fs::path& p, const std::string& value) {
  const fs::path tmp = p.string() + ".tmp";
  std::ofstream(tmp) << value << "\n";
  fs::rename(tmp, p);
}

// A power_supply tree with one Mains and one Battery supply.
fs::path power_supply(const fs::path& root, bool mains, int capacity) {
  fs::create_directories(root / "AC");
  fs::create_directories(root / "BAT0");
  write_file(root / "AC/type", "Mains");
  write_file(root / "BAT0/type", "Battery");
  write_file(root / "AC/online", mains ? "1" : "0");
  write_file(root / "BAT0/status", mains ? "Charging" : "Discharging");
  write_file(root / "BAT0/capacity", std::to_string(capacity));
  return root;
}

std::string hal_config(const fs::path& sysfs, const std::string& bus, int grace_s) {
  return "[ups]\nmodel = \"sysfs\"\nsysfs_root = \"" + sysfs.string() +
         "\"\npoll_interval_s = 1\nmin_charge_percent = 20\nmin_runtime_s = 0\ngrace_period_s = " +
         std::to_string(grace_s) + "\nbus = \"" + bus +
         "\"\n[uplink]\nenabled = true\nwired_interface = \"eth0\"\nlte_connection = \"lte\"\n"
         "failover_after_s = 60\nfailback_after_s = 120\npoll_interval_s = 1\ncall_timeout_ms = 500\nbus = \"" +
         bus + "\"\n";
}

template <class Pred>
bool eventually(Pred pred, milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

json check(HttpClient& c, const std::string& name) {
  const json j = json::parse(c.get("/authorized").body, nullptr, false);
  if (j.is_discarded()) return json::object();
  for (const auto& ch : j.value("checks", json::array())) {
    if (ch.value("name", "") == name) return ch;
  }
  return json::object();
}

// The test's stand-ins for the system services; destroyed before the bus stops (their own
// event loops are not what is under test).
struct Services {
  explicit Services(const std::string& address) : nm(address), mm(address), logind(address) {}
  TestNetworkManager nm;
  TestModemManager mm;
  TestLogind logind;
};

// Signs attestations at rising levels until stopped; counts what did not come back 200.
class Signer {
 public:
  explicit Signer(std::uint16_t port) : thread_([this, port] { run(port); }) {}
  ~Signer() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string first_failure() const { return first_failure_; }

 private:
  void run(std::uint16_t port) {
    HttpClient c(port);
    for (int level = 1000; !stop_; ++level) {
      auto r = c.post(kKeyPath, "\"" + attestation_hex(level, 0) + "\"");
      if (r.status == 200 && r.body.find("\"signature\"") != std::string::npos) {
        ++ok_;
      } else {
        if (failed_++ == 0) first_failure_ = std::to_string(r.status) + " " + r.body;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::string first_failure_;  // written by the signing thread before finish() joins it
  std::thread thread_;
};

}  // namespace

TEST(HalBusLoss, BusStoppedWhileSigningKeepsTheDaemonUpAndTheUplinkRecoversWhenItReturns) {
  PrivateBus bus;
  ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
  auto services = std::make_unique<Services>(bus.address());
  services->mm.add_modem(70);
  TempDir dir("hal-bus-loss");
  const fs::path sysfs = power_supply(dir.path() / "power_supply", true, 90);
  Daemon d(dir.path(), basic_config(dir.path(), hal_config(sysfs, bus.address(), 3600)));
  auto c = d.client();
  ASSERT_TRUE(eventually([&] { return check(c, "uplink").value("state", "") == "ok"; }, seconds(10))) << d.log();
  ASSERT_EQ(check(c, "ups").value("state", ""), "ok");

  Signer signer(d.port());
  ASSERT_TRUE(eventually([&] { return signer.ok() > 5; }, seconds(10)));

  services.reset();
  bus.stop();
  ASSERT_TRUE(eventually([&] { return check(c, "uplink").value("state", "ok") != "ok"; }, seconds(10)))
      << check(c, "uplink").dump() << d.log();
  const json down = check(c, "uplink");
  EXPECT_NE(down.value("detail", "").find("D-Bus"), std::string::npos) << down.dump();
  EXPECT_FALSE(down.value("required", true)) << "the uplink is information only";
  // Several reconnect attempts fail meanwhile; the daemon keeps running and serving.
  const int before = signer.ok();
  std::this_thread::sleep_for(seconds(3));
  ASSERT_TRUE(d.process().running()) << d.log();
  EXPECT_GT(signer.ok(), before);
  EXPECT_EQ(c.get("/authorized").status, 200) << c.get("/authorized").body;
  EXPECT_EQ(check(c, "ups").value("state", ""), "ok") << "reading the UPS needs no bus";

  ASSERT_TRUE(bus.restart()) << "dbus-daemon did not restart";
  services = std::make_unique<Services>(bus.address());
  services->mm.add_modem(70);
  // Back without restarting pisignerd: reconnected, signals re-subscribed, state re-read.
  ASSERT_TRUE(eventually([&] { return check(c, "uplink").value("state", "") == "ok"; }, seconds(45)))
      << check(c, "uplink").dump() << d.log();
  const json status = json::parse(c.get("/status").body, nullptr, false);
  ASSERT_FALSE(status.is_discarded());
  EXPECT_TRUE(status["uplink"].value("wired_ok", false)) << status["uplink"].dump();
  EXPECT_EQ(status["uplink"]["modems"].size(), 1u) << status["uplink"].dump();

  signer.finish();
  EXPECT_EQ(signer.failed(), 0) << signer.first_failure();
  EXPECT_GT(signer.ok(), 10);
  ASSERT_TRUE(d.process().running()) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(HalBusLoss, PowerOffDueWhileTheBusIsDownIsRetriedAndLoggedWhenItReturns) {
  PrivateBus bus;
  ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
  TempDir dir("hal-bus-poweroff");
  const fs::path sysfs = power_supply(dir.path() / "power_supply", true, 90);
  auto services = std::make_unique<Services>(bus.address());
  Daemon d(dir.path(), basic_config(dir.path(), hal_config(sysfs, bus.address(), 1)));
  auto c = d.client();
  ASSERT_TRUE(eventually([&] { return check(c, "ups").value("state", "") == "ok"; }, seconds(10))) << d.log();

  services.reset();
  bus.stop();
  power_supply(sysfs, false, 10);  // critical; the grace period (1 s) runs out with no bus
  ASSERT_TRUE(eventually([&] { return d.log().find("power-off refused") != std::string::npos; }, seconds(15)))
      << d.log();
  ASSERT_TRUE(d.process().running()) << d.log();
  EXPECT_EQ(c.get("/authorized").status, 503);

  ASSERT_TRUE(bus.restart());
  services = std::make_unique<Services>(bus.address());
  ASSERT_TRUE(eventually([&] { return services->logind.power_offs() == 1; }, seconds(15))) << d.log();
  EXPECT_FALSE(services->logind.last_interactive());
  EXPECT_TRUE(eventually([&] { return d.log().find("power-off requested") != std::string::npos; }, seconds(5)))
      << d.log();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(services->logind.power_offs(), 1) << "asked once, not on every poll after it was accepted";
  ASSERT_TRUE(d.process().running()) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}
