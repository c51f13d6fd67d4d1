// The UPS policy timeline through the monitor, driven by a ManualClock and a scripted INA219.
#include <gtest/gtest.h>

#include "../../hal/ups/ina219_registers.hpp"
#include "pisigner/hal/fake/fake_i2c.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/hal/ups_config.hpp"
#include "pisigner/hal/ups_monitor.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::seconds;
constexpr std::uint8_t kAddr = 0x42;

class RecordingPowerOff final : public PowerOff {
 public:
  Result<void, HalError> power_off() override {
    ++calls;
    if (refuse) return fail(HalError{Errc::permission, "refused"});
    return {};
  }
  int calls = 0;
  bool refuse = false;
};

struct MonitorFixture : ::testing::Test {
  void SetUp() override {
    auto b = std::make_unique<fake::FakeI2cBus>();
    bus = b.get();
    bus->add_device(kAddr);
    config.model = HatModel::waveshare_ina219;
    power_off = std::make_shared<RecordingPowerOff>();
    monitor = std::make_unique<UpsMonitor>(config, make_ina219_driver(std::move(b), kAddr), power_off, clock);
    monitor->set_before_shutdown([this] { before_shutdown_at_calls = power_off->calls; ++before_shutdown; });
  }
  // Pack voltage for a SoC on the 2S linear map, and the current sign for mains / battery.
  void battery(double soc, bool mains) {
    const double volts = 6.0 + 2.4 * soc / 100.0;
    bus->set(kAddr, ina219::kRegBusVoltage, static_cast<std::uint16_t>(static_cast<int>(volts / 0.004 + 0.5) << 3));
    bus->set(kAddr, ina219::kRegCurrent, static_cast<std::uint16_t>(static_cast<std::int16_t>(mains ? 300 : -9000)));
  }
  void step(seconds s) {
    clock.advance(s);
    monitor->poll();
  }

  ManualClock clock;
  UpsConfig config;
  fake::FakeI2cBus* bus = nullptr;
  std::shared_ptr<RecordingPowerOff> power_off;
  std::unique_ptr<UpsMonitor> monitor;
  int before_shutdown = 0;
  int before_shutdown_at_calls = -1;
};

TEST_F(MonitorFixture, MainsLossLowBatteryCriticalThenShutdownAfterGrace) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  EXPECT_EQ(monitor->snapshot().state, UpsState::on_mains);
  EXPECT_EQ(monitor->snapshot().health, Health::healthy);

  battery(80, false);
  step(seconds(5));
  EXPECT_EQ(monitor->snapshot().state, UpsState::on_battery);
  EXPECT_EQ(monitor->snapshot().health, Health::degraded);  // warning, still serving

  battery(19, false);
  step(seconds(5));
  auto s = monitor->snapshot();
  EXPECT_EQ(s.state, UpsState::critical);
  EXPECT_EQ(s.health, Health::unhealthy);  // /authorized fails: HAProxy moves to the other Pi
  ASSERT_TRUE(s.shutdown_in.has_value());
  EXPECT_EQ(*s.shutdown_in, config.grace_period);

  step(config.grace_period - seconds(1));
  EXPECT_EQ(monitor->snapshot().state, UpsState::critical);
  EXPECT_EQ(power_off->calls, 0);

  step(seconds(1));
  EXPECT_EQ(monitor->snapshot().state, UpsState::shutdown);
  EXPECT_EQ(power_off->calls, 1);
  EXPECT_EQ(before_shutdown, 1);
  EXPECT_EQ(before_shutdown_at_calls, 0);  // the store closes before power-off is asked for

  step(seconds(5));
  EXPECT_EQ(power_off->calls, 1);  // asked once
}

TEST_F(MonitorFixture, MainsBackDuringGraceRecovers) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  battery(10, false);
  step(seconds(5));
  ASSERT_EQ(monitor->snapshot().state, UpsState::critical);
  step(seconds(30));
  battery(10, true);
  step(seconds(5));
  EXPECT_EQ(monitor->snapshot().state, UpsState::on_mains);
  EXPECT_EQ(monitor->snapshot().health, Health::healthy);
  step(config.grace_period * 2);
  EXPECT_EQ(power_off->calls, 0);
  EXPECT_EQ(before_shutdown, 0);
}

TEST_F(MonitorFixture, CriticalDoesNotFlapBackToOnBatteryWhenVoltageRecovers) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  battery(15, false);
  step(seconds(5));
  battery(30, false);  // load dropped, voltage rose
  step(seconds(5));
  EXPECT_EQ(monitor->snapshot().state, UpsState::critical);
}

TEST_F(MonitorFixture, RefusedPowerOffIsRetriedAndStaysPending) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  power_off->refuse = true;
  battery(5, false);
  step(seconds(5));
  step(config.grace_period);
  EXPECT_EQ(monitor->snapshot().state, UpsState::shutdown_pending);
  EXPECT_EQ(monitor->snapshot().health, Health::unhealthy);
  power_off->refuse = false;
  step(seconds(5));
  EXPECT_EQ(monitor->snapshot().state, UpsState::shutdown);
  EXPECT_EQ(power_off->calls, 2);
  EXPECT_EQ(before_shutdown, 1);
}

TEST_F(MonitorFixture, LowRuntimeFromSocSlopeIsCritical) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  // 60 % -> 50 % in 2 min on battery: 50 % left lasts 10 min; then 46 % after another
  // 2 min ... runtime falls under 5 min while SoC is still far above 20 %.
  double soc = 60;
  battery(soc, false);
  step(seconds(5));
  UpsState last = UpsState::unknown;
  for (int i = 0; i < 40 && last != UpsState::critical; ++i) {
    soc -= 2.5;
    battery(soc, false);
    step(seconds(30));
    last = monitor->snapshot().state;
  }
  EXPECT_EQ(last, UpsState::critical);
  EXPECT_GT(soc, config.min_soc_percent);
  ASSERT_TRUE(monitor->snapshot().runtime.has_value());
  EXPECT_LE(*monitor->snapshot().runtime, config.min_runtime);
}

TEST_F(MonitorFixture, BusErrorsAreRetriedCountedAndReported) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  bus->fail_next(2);  // fewer than read_retries: the poll still succeeds
  step(seconds(5));
  auto s = monitor->snapshot();
  EXPECT_FALSE(s.stale);
  EXPECT_EQ(s.read_errors, 2u);
  EXPECT_EQ(s.failed_polls, 0u);

  bus->fail_next(100);
  step(seconds(5));
  s = monitor->snapshot();
  EXPECT_TRUE(s.stale);
  EXPECT_EQ(s.failed_polls, 1u);
  EXPECT_EQ(s.health, Health::degraded);
  EXPECT_FALSE(s.last_error.empty());
  EXPECT_EQ(s.state, UpsState::on_mains);  // last known state kept
  bus->fail_next(0);
  step(seconds(5));
  EXPECT_FALSE(monitor->snapshot().stale);
  EXPECT_EQ(monitor->snapshot().consecutive_failed_polls, 0u);
}

TEST_F(MonitorFixture, AbsentHardwareIsAClearStartupError) {
  bus->remove_device(kAddr);
  auto r = monitor->probe();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::absent);
  EXPECT_NE(r.error().message.find("0x42"), std::string::npos);
}

TEST(UpsMonitorOptional, AbsentOptionalHardwareIsNotPresentAndHealthy) {
  ManualClock clock;
  UpsConfig config;
  config.model = HatModel::waveshare_ina219;
  config.optional = true;
  auto bus = std::make_unique<fake::FakeI2cBus>();  // nothing at 0x42
  UpsMonitor m(config, make_ina219_driver(std::move(bus), kAddr), nullptr, clock);
  ASSERT_TRUE(m.probe().ok());
  m.poll();
  EXPECT_EQ(m.snapshot().state, UpsState::not_present);
  EXPECT_EQ(m.snapshot().health, Health::healthy);
}

TEST_F(MonitorFixture, OnTheWorkerItPollsEveryIntervalOfTheInjectedClockAndAtOnceWhenWoken) {
  battery(100, true);
  ASSERT_TRUE(monitor->probe().ok());
  const auto after_probe = monitor->snapshot().polls;
  PeriodicWorker worker(clock);
  monitor->wake();  // before schedule_on: nothing to wake, no crash
  monitor->schedule_on(worker);
  EXPECT_EQ(worker.run_due(), config.poll_interval);
  EXPECT_EQ(monitor->snapshot().polls, after_probe + 1);
  clock.advance(config.poll_interval - seconds(1));
  worker.run_due();
  EXPECT_EQ(monitor->snapshot().polls, after_probe + 1);
  clock.advance(seconds(1));
  worker.run_due();
  EXPECT_EQ(monitor->snapshot().polls, after_probe + 2);

  // A power-loss edge wakes the monitor: mains loss is seen without waiting for the period.
  battery(80, false);
  monitor->wake();
  worker.run_due();
  EXPECT_EQ(monitor->snapshot().polls, after_probe + 3);
  EXPECT_EQ(monitor->snapshot().state, UpsState::on_battery);
}

}  // namespace
}  // namespace pisigner::hal
