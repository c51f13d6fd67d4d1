// The real pisignerd with its UPS and uplink monitors: a fake power_supply tree stands in for
// the UPS (no I2C needed), and test logind / NetworkManager / ModemManager services on a
// private dbus-daemon stand in for the system's (tests/hal/test_services.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "pisigner/hwm/store.hpp"
#include "private_bus.hpp"
#include "support/daemon.hpp"
#include "test_services.hpp"

using namespace pisigner::testing;
using nlohmann::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;

// A power_supply class directory: AC (Mains) and BAT0 (Battery), rewritten atomically.
class FakePowerSupply {
 public:
  explicit FakePowerSupply(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_ / "AC");
    fs::create_directories(root_ / "BAT0");
    write("AC/type", "Mains");
    write("BAT0/type", "Battery");
    write("BAT0/voltage_now", "8100000");
    set(true, 90);
  }
  void set(bool mains, int capacity) {
    write("AC/online", mains ? "1" : "0");
    write("BAT0/status", mains ? "Charging" : "Discharging");
    write("BAT0/capacity", std::to_string(capacity));
  }
  const fs::path& root() const { return root_; }

 private:
  void write(const std::string& rel, const std::string& value) {
    const fs::path target = root_ / rel;
    const fs::path tmp = target.string() + ".tmp";
    std::ofstream(tmp) << value << "\n";
    fs::rename(tmp, target);  // the daemon never reads a half-written file
  }
  fs::path root_;
};

std::string ups_config(const fs::path& sysfs, const std::string& bus, int grace_s) {
  std::ostringstream s;
  s << "[ups]\nmodel = \"sysfs\"\nsysfs_root = \"" << sysfs.string() << "\"\npoll_interval_s = 1\n"
    << "min_charge_percent = 20\nmin_runtime_s = 0\ngrace_period_s = " << grace_s << "\nbus = \"" << bus << "\"\n";
  return s.str();
}

// Polls `pred` every 50 ms for up to `limit` of real time.
template <class Pred>
bool eventually(Pred pred, milliseconds limit = seconds(8)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

json get_json(HttpClient& c, const std::string& target) {
  return json::parse(c.get(target).body, nullptr, false);
}

std::string check_state(HttpClient& c, const std::string& name) {
  const json j = get_json(c, "/authorized");
  if (j.is_discarded()) return "?";
  for (const auto& ch : j.value("checks", json::array())) {
    if (ch.value("name", "") == name) return ch.value("state", "?");
  }
  return "absent";
}

// Value of the first sample line starting with `prefix` in /metrics, or -1.
double metric(HttpClient& c, const std::string& prefix) {
  std::istringstream in(c.get("/metrics").body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix + " ", 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace

TEST(HalDaemon, UpsOnBatteryWarnsThenLowChargeFailsAuthorizedAndMainsRestoresIt) {
  TempDir dir("hal-ups");
  FakePowerSupply ps(dir.path() / "power_supply");
  // No logind needed here: the grace period is long and the bus address leads nowhere.
  Daemon d(dir.path(), basic_config(dir.path(), ups_config(ps.root(), "unix:path=" + (dir.path() / "nobus").string(), 3600)));
  auto c = d.client();

  ASSERT_TRUE(eventually([&] { return check_state(c, "ups") == "ok"; })) << d.log();
  EXPECT_EQ(c.get("/authorized").status, 200);
  EXPECT_EQ(get_json(c, "/status")["ups"]["state"], "on_mains");

  ps.set(false, 80);
  ASSERT_TRUE(eventually([&] { return check_state(c, "ups") == "warning"; })) << c.get("/authorized").body;
  EXPECT_EQ(c.get("/authorized").status, 200) << "on battery above the thresholds keeps serving";
  EXPECT_EQ(c.post(kKeyPath, "\"" + attestation_hex(10, 0) + "\"").status, 200);
  EXPECT_EQ(metric(c, "pisigner_ups_on_battery"), 1);
  EXPECT_EQ(metric(c, "pisigner_ups_charge_percent"), 80);

  ps.set(false, 15);
  const auto low_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return c.get("/authorized").status == 503; })) << c.get("/authorized").body;
  EXPECT_LT(std::chrono::steady_clock::now() - low_at, seconds(4)) << "within a few poll/probe intervals";
  EXPECT_EQ(check_state(c, "ups"), "failing");
  EXPECT_EQ(get_json(c, "/status")["ups"]["state"], "critical");
  EXPECT_EQ(metric(c, "pisigner_ups_state{state=\"critical\"}"), 1);

  auto [rc, out] = run_command({pisignerctl_path(), "ups", "--url", "http://127.0.0.1:" + std::to_string(d.port())});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("critical"), std::string::npos) << out;
  EXPECT_NE(out.find("charge <= 20"), std::string::npos) << out;

  ps.set(true, 15);
  ASSERT_TRUE(eventually([&] { return c.get("/authorized").status == 200; })) << c.get("/authorized").body;
  EXPECT_EQ(check_state(c, "ups"), "ok");
  EXPECT_EQ(c.post(kKeyPath, "\"" + attestation_hex(11, 0) + "\"").status, 200);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(HalDaemon, CriticalPastGraceStopsSigningClosesStoreAndPowersOffThroughLogind) {
  pisigner::hal::testing::PrivateBus bus;
  ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
  pisigner::hal::testing::TestLogind logind(bus.address());
  TempDir dir("hal-shutdown");
  FakePowerSupply ps(dir.path() / "power_supply");
  Daemon d(dir.path(), basic_config(dir.path(), ups_config(ps.root(), bus.address(), 2)));
  auto c = d.client();
  ASSERT_TRUE(eventually([&] { return check_state(c, "ups") == "ok"; })) << d.log();
  ASSERT_EQ(c.post(kKeyPath, "\"" + attestation_hex(20, 0) + "\"").status, 200);

  ps.set(false, 10);
  ASSERT_TRUE(eventually([&] { return c.get("/authorized").status == 503; })) << d.log();
  // Critical but inside the grace period: nothing powered off yet, still signing.
  EXPECT_EQ(logind.power_offs(), 0);
  EXPECT_EQ(c.post(kKeyPath, "\"" + attestation_hex(21, 0) + "\"").status, 200);

  ASSERT_TRUE(eventually([&] { return logind.power_offs() == 1; }, seconds(10))) << d.log();
  EXPECT_FALSE(logind.last_interactive());
  auto refused = c.post(kKeyPath, "\"" + attestation_hex(22, 0) + "\"");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("signer is shutting down"), std::string::npos) << refused.body;
  EXPECT_EQ(get_json(c, "/status")["ups"]["state"], "shutdown");

  // The store was closed before power-off: its exclusive lock is free while the daemon runs,
  // and it holds exactly what was signed.
  auto store = pisigner::hwm::open_sqlite_store(dir.path() / "store");
  ASSERT_TRUE(store) << store.error().message;
  auto records = (*store)->list();
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front().second.level, 21);
  store.value().reset();

  EXPECT_EQ(d.stop(), 0);
}

TEST(HalDaemon, WiredLossActivatesLteVisibleInStatusAndMetricsWhileAuthorizedStays200) {
  pisigner::hal::testing::PrivateBus bus;
  ASSERT_FALSE(bus.address().empty()) << "dbus-daemon did not start";
  pisigner::hal::testing::TestNetworkManager nm(bus.address());
  pisigner::hal::testing::TestModemManager mm(bus.address());
  mm.add_modem(63);
  TempDir dir("hal-uplink");
  const std::string uplink = "[uplink]\nenabled = true\nwired_interface = \"eth0\"\nlte_connection = \"lte\"\n"
                             "failover_after_s = 1\nfailback_after_s = 2\npoll_interval_s = 1\nbus = \"" +
                             bus.address() + "\"\n";
  Daemon d(dir.path(), basic_config(dir.path(), uplink));
  auto c = d.client();
  ASSERT_TRUE(eventually([&] { return get_json(c, "/status")["uplink"].value("wired_ok", false); })) << d.log();
  EXPECT_TRUE(eventually([&] { return check_state(c, "uplink") == "ok"; })) << c.get("/authorized").body;
  EXPECT_EQ(metric(c, "pisigner_uplink_active{uplink=\"wired\"}"), 1);

  nm.set_wired_connectivity(false);
  ASSERT_TRUE(eventually([&] { return nm.lte_active(); })) << d.log();
  ASSERT_TRUE(eventually([&] {
    const json u = get_json(c, "/status")["uplink"];
    return u.value("mode", "") == "lte" && u.value("lte_active", false);
  })) << get_json(c, "/status")["uplink"].dump();
  EXPECT_EQ(c.get("/authorized").status, 200) << "an uplink switch never fails /authorized";
  EXPECT_EQ(nm.activations(), 1);
  EXPECT_EQ(metric(c, "pisigner_uplink_active{uplink=\"lte\"}"), 1);
  EXPECT_TRUE(eventually([&] { return metric(c, "pisigner_uplink_failovers_total") == 1; }));
  const json status = get_json(c, "/status")["uplink"];
  ASSERT_EQ(status["modems"].size(), 1u);
  EXPECT_EQ(status["modems"][0]["signal_percent"], 63);
  EXPECT_EQ(metric(c, "pisigner_uplink_signal_quality_percent{modem=\"" + status["modems"][0].value("path", "") + "\"}"), 63);

  auto [rc, out] = run_command({pisignerctl_path(), "uplink", "--url", "http://127.0.0.1:" + std::to_string(d.port())});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("active uplink         lte"), std::string::npos) << out;
  EXPECT_NE(out.find("failover"), std::string::npos) << out;

  nm.set_wired_connectivity(true);
  ASSERT_TRUE(eventually([&] { return !nm.lte_active(); })) << d.log();
  EXPECT_TRUE(eventually([&] { return get_json(c, "/status")["uplink"].value("mode", "") == "wired"; }));
  EXPECT_TRUE(eventually([&] { return metric(c, "pisigner_uplink_failbacks_total") == 1; }));
  EXPECT_EQ(c.get("/authorized").status, 200);
  EXPECT_EQ(d.stop(), 0);
}
