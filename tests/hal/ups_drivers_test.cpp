// Each UPS driver against scripted registers / a fake sysfs tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../../hal/ups/ina219_registers.hpp"
#include "../../hal/ups/max1704x_registers.hpp"
#include "pisigner/hal/fake/fake_gpio.hpp"
#include "pisigner/hal/fake/fake_i2c.hpp"
#include "pisigner/hal/power_loss.hpp"
#include "pisigner/hal/ups_driver.hpp"

namespace pisigner::hal {
namespace {

using fake::FakeI2cBus;
constexpr std::uint8_t kIna = 0x42;
constexpr std::uint8_t kMax = 0x36;

// Register words as the chip would hold them for a given physical value.
std::uint16_t bus_raw(double volts) { return static_cast<std::uint16_t>(static_cast<int>(volts / 0.004) << 3); }
std::uint16_t current_raw(double ma) { return static_cast<std::uint16_t>(static_cast<std::int16_t>(ma / 0.1)); }

struct Ina219Fixture : ::testing::Test {
  void SetUp() override {
    auto b = std::make_unique<FakeI2cBus>();
    bus = b.get();
    bus->add_device(kIna);
    driver = make_ina219_driver(std::move(b), kIna);
  }
  void set(double volts, double ma, double watts) {
    bus->set(kIna, ina219::kRegBusVoltage, bus_raw(volts));
    bus->set(kIna, ina219::kRegCurrent, current_raw(ma));
    bus->set(kIna, ina219::kRegPower, static_cast<std::uint16_t>(watts / 0.002));
  }
  FakeI2cBus* bus = nullptr;
  std::unique_ptr<UpsDriver> driver;
};

TEST_F(Ina219Fixture, FullPackOnMainsReadsFullAndMainsPresent) {
  set(8.40, 5.0, 0.04);
  auto r = driver->read();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NEAR(*r->battery_voltage_v, 8.40, 0.004);
  EXPECT_NEAR(*r->soc_percent, 100.0, 0.2);
  EXPECT_TRUE(*r->mains_present);
  EXPECT_FALSE(*r->charging);
}

TEST_F(Ina219Fixture, DischargingMeansOnBatteryWithVoltageDerivedSoc) {
  set(7.20, -850.0, 6.1);
  auto r = driver->read();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r->mains_present);
  EXPECT_NEAR(*r->current_ma, -850.0, 0.1);
  EXPECT_NEAR(*r->power_w, 6.1, 0.002);
  EXPECT_NEAR(*r->soc_percent, 50.0, 0.5);  // (7.2 - 6.0) / 2.4
}

TEST_F(Ina219Fixture, ChargingMeansMainsAndCharging) {
  set(7.90, 1200.0, 9.5);
  auto r = driver->read();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r->mains_present);
  EXPECT_TRUE(*r->charging);
}

TEST_F(Ina219Fixture, WritesWaveshareCalibrationAndRestoresConfigAfterChipReset) {
  set(8.0, 0, 0);
  bus->set(kIna, ina219::kRegConfig, 0x399F);  // power-on default after a brown-out
  ASSERT_TRUE(driver->read().ok());
  bool wrote_cal = false, wrote_cfg = false;
  for (const auto& w : bus->writes()) {
    wrote_cal |= w.reg == ina219::kRegCalibration && w.value == 4096;
    wrote_cfg |= w.reg == ina219::kRegConfig && w.value == 0x3EEF;
  }
  EXPECT_TRUE(wrote_cal);
  EXPECT_TRUE(wrote_cfg);
}

TEST_F(Ina219Fixture, BusErrorIsAValueNotACrash) {
  set(8.0, 0, 0);
  bus->fail_next(1, Errc::io);
  auto r = driver->read();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_TRUE(driver->read().ok());  // the next read recovers
}

TEST_F(Ina219Fixture, AbsentDeviceReportsAbsent) {
  bus->remove_device(kIna);
  auto r = driver->read();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::absent);
}

TEST(Max17040, ScalesVcellAndSocFromDatasheet) {
  auto b = std::make_unique<FakeI2cBus>();
  auto* bus = b.get();
  bus->add_device(kMax);
  // 4.1 V = 3280 × 1.25 mV in the top 12 bits; 87.5 % = 87 + 128/256.
  bus->set(kMax, max1704x::kRegVcell, static_cast<std::uint16_t>(3280 << 4));
  bus->set(kMax, max1704x::kRegSoc, static_cast<std::uint16_t>((87 << 8) | 128));
  auto driver = make_max17040_driver(std::move(b), kMax, nullptr);
  auto r = driver->read();
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(*r->battery_voltage_v, 4.1, 1e-9);
  EXPECT_NEAR(*r->soc_percent, 87.5, 1e-9);
  EXPECT_FALSE(r->mains_present.has_value());  // no PLD line wired
}

TEST(Max17040, DischargingSequenceAndAbsentDevice) {
  auto b = std::make_unique<FakeI2cBus>();
  auto* bus = b.get();
  bus->add_device(kMax);
  bus->script(kMax, max1704x::kRegSoc, {90 << 8, 60 << 8, 30 << 8});
  auto driver = make_max17040_driver(std::move(b), kMax, nullptr);
  EXPECT_NEAR(*driver->read()->soc_percent, 90, 1e-9);
  EXPECT_NEAR(*driver->read()->soc_percent, 60, 1e-9);
  EXPECT_NEAR(*driver->read()->soc_percent, 30, 1e-9);
  bus->remove_device(kMax);
  auto r = driver->read();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::absent);
}

TEST(PowerLoss, LineEdgesDriveMainsPresence) {
  auto l = std::make_unique<fake::FakeGpioLine>(false);  // low = mains OK
  auto* line = l.get();
  std::vector<bool> changes;
  PowerLossWatcher w(std::move(l), true, [&](bool mains) { changes.push_back(mains); });
  ASSERT_TRUE(w.init().ok());
  EXPECT_EQ(w.mains_present(), true);

  auto timeout = w.poll_once(std::chrono::milliseconds(1));
  ASSERT_TRUE(timeout.ok());
  EXPECT_FALSE(*timeout);

  line->push_edge(Edge::rising);  // PLD high: mains lost
  ASSERT_TRUE(*w.poll_once(std::chrono::milliseconds(100)));
  EXPECT_EQ(w.mains_present(), false);
  line->push_edge(Edge::falling);
  ASSERT_TRUE(*w.poll_once(std::chrono::milliseconds(100)));
  EXPECT_EQ(w.mains_present(), true);
  EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));

  line->fail_next(1);
  EXPECT_FALSE(w.poll_once(std::chrono::milliseconds(1)).ok());
  EXPECT_FALSE(w.mains_present().has_value());  // unknown, not "fine"
  EXPECT_EQ(w.line_errors(), 1u);
}

TEST(PowerLoss, X728DriverTakesMainsFromTheLineInItsThread) {
  auto l = std::make_unique<fake::FakeGpioLine>(false);
  auto* line = l.get();
  auto pld = std::make_shared<PowerLossWatcher>(std::move(l));
  ASSERT_TRUE(pld->init().ok());
  auto b = std::make_unique<FakeI2cBus>();
  b->add_device(kMax);
  auto driver = make_max17040_driver(std::move(b), kMax, pld);
  EXPECT_EQ(driver->read()->mains_present, true);
  pld->start();
  line->push_edge(Edge::rising);
  for (int i = 0; i < 200 && pld->mains_present() != false; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(driver->read()->mains_present, false);
  pld->stop();
}

// A power_supply tree in a temporary directory.
struct SysfsTree {
  SysfsTree() {
    root = std::filesystem::temp_directory_path() /
           ("pisigner-ps-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(root);
  }
  ~SysfsTree() { std::filesystem::remove_all(root); }
  void write(const std::string& supply, const std::string& file, const std::string& value) {
    std::filesystem::create_directories(root / supply);
    std::ofstream(root / supply / file) << value << "\n";
  }
  std::filesystem::path root;
  static inline int counter = 0;
};

TEST(SysfsUps, ReadsBatteryCapacityAndAcOnline) {
  SysfsTree t;
  t.write("battery", "type", "Battery");
  t.write("battery", "capacity", "64");
  t.write("battery", "status", "Discharging");
  t.write("battery", "voltage_now", "3850000");
  t.write("ac", "type", "Mains");
  t.write("ac", "online", "0");
  auto driver = make_sysfs_driver(make_sysfs_power_supply(t.root));
  auto r = driver->read();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->soc_percent, 64);
  EXPECT_NEAR(*r->battery_voltage_v, 3.85, 1e-9);
  EXPECT_FALSE(*r->mains_present);
  t.write("ac", "online", "1");
  EXPECT_TRUE(*driver->read()->mains_present);
}

TEST(SysfsUps, WithoutAcSupplyFallsBackToBatteryStatus) {
  SysfsTree t;
  t.write("max17040", "type", "Battery");
  t.write("max17040", "capacity", "80");
  t.write("max17040", "status", "Charging");
  auto driver = make_sysfs_driver(make_sysfs_power_supply(t.root));
  EXPECT_TRUE(*driver->read()->mains_present);
  t.write("max17040", "status", "Unknown");
  EXPECT_FALSE(driver->read()->mains_present.has_value());
}

TEST(SysfsUps, MissingTreeOrNoSupplyIsAbsent) {
  auto missing = make_sysfs_driver(make_sysfs_power_supply("/nonexistent/power_supply"));
  EXPECT_EQ(missing->read().error().code, Errc::absent);
  SysfsTree t;
  t.write("usb-c", "type", "Wireless");
  EXPECT_EQ(make_sysfs_driver(make_sysfs_power_supply(t.root))->read().error().code, Errc::absent);
}

}  // namespace
}  // namespace pisigner::hal
