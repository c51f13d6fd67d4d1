// [ups] / [uplink] in pisignerd's config: defaults that leave the hardware alone, every key
// read into the hal configs, and hal::validate()'s rules reported with file:line and key.
#include <gtest/gtest.h>

#include "pisigner/config/config.hpp"

namespace pisigner::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSoftKey = R"(
[[key]]
backend = "soft"
secret_key = "unencrypted:edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh"
)";

Result<Config, Error> load(const std::string& text) { return parse(text + kSoftKey, "t.toml"); }

std::string error_of(const std::string& text) {
  auto r = load(text);
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(HalConfig, WithoutSectionsNoUpsAndNoUplinkSoExistingConfigsKeepWorking) {
  auto c = load("");
  ASSERT_TRUE(c) << c.error().message;
  const auto& ups = c->ups.config;
  EXPECT_EQ(ups.model, hal::HatModel::none);
  EXPECT_EQ(ups.min_soc_percent, 20.0);
  EXPECT_EQ(ups.min_runtime, 300s);
  EXPECT_TRUE(hal::validate(ups).empty());
  const auto& up = c->uplink.config;
  EXPECT_FALSE(up.enabled);
  EXPECT_EQ(ups.bus, "system");
  EXPECT_EQ(up.bus, "system");
  EXPECT_EQ(up.failover_after, 30s);
  EXPECT_EQ(up.failback_after, 120s);
  EXPECT_TRUE(hal::validate(up).empty());
}

TEST(HalConfig, EveryKeyReachesTheHalConfig) {
  auto c = load(R"(
[ups]
model = "x728"
i2c_bus = 3
address = 0x37
gpio_chip = "gpiochip4"
gpio_line = 16
gpio_active_high = false
battery_capacity_mah = 6000
min_charge_percent = 25.5
min_runtime_s = 600
grace_period_s = 30
poll_interval_s = 2
read_retries = 5
optional = true
bus = "unix:path=/run/test_bus"

[uplink]
enabled = true
wired_interface = "end0"
lte_connection = "3b2c-uuid"
failover_after_s = 10
failback_after_s = 300
retry_after_s = 20
poll_interval_s = 3
call_timeout_ms = 1500
)");
  ASSERT_TRUE(c) << c.error().message;
  const auto& u = c->ups.config;
  EXPECT_EQ(u.model, hal::HatModel::x728);
  EXPECT_EQ(u.i2c_bus, 3);
  EXPECT_EQ(u.effective_address(), 0x37);
  EXPECT_EQ(u.gpio_chip, "gpiochip4");
  EXPECT_EQ(u.power_loss_line, 16);
  EXPECT_FALSE(u.power_loss_active_high);
  EXPECT_EQ(u.battery_capacity_mah, 6000.0);
  EXPECT_EQ(u.min_soc_percent, 25.5);
  EXPECT_EQ(u.min_runtime, 600s);
  EXPECT_EQ(u.grace_period, 30s);
  EXPECT_EQ(u.poll_interval, 2s);
  EXPECT_EQ(u.read_retries, 5);
  EXPECT_TRUE(u.optional);
  EXPECT_EQ(u.bus, "unix:path=/run/test_bus");
  EXPECT_TRUE(hal::validate(u).empty());

  const auto& l = c->uplink.config;
  EXPECT_TRUE(l.enabled);
  EXPECT_EQ(l.wired_interface, "end0");
  EXPECT_EQ(l.lte_connection, "3b2c-uuid");
  EXPECT_EQ(l.failover_after, 10s);
  EXPECT_EQ(l.failback_after, 300s);
  EXPECT_EQ(l.retry_after, 20s);
  EXPECT_EQ(l.poll_interval, 3s);
  EXPECT_EQ(l.call_timeout, 1500ms);
  EXPECT_EQ(l.bus, "system");
  EXPECT_TRUE(hal::validate(l).empty());
}

TEST(HalConfig, RejectionsNameFileLineAndKey) {
  EXPECT_EQ(error_of("[ups]\nmodel = \"pijuice\"\n"),
            "t.toml:2:9: ups.model: must be \"none\", \"waveshare_ina219\", \"x728\" or \"sysfs\"");
  EXPECT_EQ(error_of("[ups]\nmodel = \"sysfs\"\nthreshold = 3\n"),
            "t.toml:3:13: ups.threshold: unknown key (expected one of: model, i2c_bus, address, gpio_chip, gpio_line, "
            "gpio_active_high, sysfs_root, sysfs_battery, sysfs_ac, pack_empty_v, pack_full_v, battery_capacity_mah, "
            "min_charge_percent, min_runtime_s, grace_period_s, poll_interval_s, read_retries, optional, bus)");
  EXPECT_EQ(error_of("[ups]\naddress = 0x80\n"), "t.toml:2:11: ups.address: must be between 3 and 119");
  EXPECT_EQ(error_of("[ups]\nmin_charge_percent = 120\n"), "t.toml:2:22: ups.min_charge_percent: must be between 0 and 100");
  EXPECT_EQ(error_of("[ups]\npoll_interval_s = 0\n"), "t.toml:2:19: ups.poll_interval_s: must be between 1 and 3600");
  EXPECT_EQ(error_of("[ups]\noptional = \"yes\"\n"), "t.toml:2:12: ups.optional: must be true or false");
  EXPECT_EQ(error_of("[ups]\nbus = \"session\"\n"),
            "t.toml:2:7: ups.bus: must be \"system\" or a D-Bus address like \"unix:path=/run/dbus/system_bus_socket\"");
  EXPECT_EQ(error_of("[ups]\npack_empty_v = 8.4\npack_full_v = 6.0\n"),
            "t.toml:3:15: ups.pack_full_v: must be greater than pack_empty_v");
  EXPECT_EQ(error_of("ups = 3\n"), "t.toml:1:7: ups: must be a table");

  EXPECT_EQ(error_of("[uplink]\nenabled = true\n"),
            "t.toml:2:11: uplink.lte_connection: is required when enabled = true (a NetworkManager profile id or uuid)");
  EXPECT_EQ(error_of("[uplink]\nfailover_after_s = 60\nfailback_after_s = 30\n"),
            "t.toml:3:20: uplink.failback_after_s: must not be shorter than failover_after_s (hysteresis)");
  EXPECT_EQ(error_of("[uplink]\nwired = \"eth0\"\n"),
            "t.toml:2:9: uplink.wired: unknown key (expected one of: enabled, wired_interface, lte_connection, "
            "failover_after_s, failback_after_s, retry_after_s, poll_interval_s, call_timeout_ms, bus)");
  EXPECT_EQ(error_of("[uplink]\ncall_timeout_ms = 50\n"), "t.toml:2:19: uplink.call_timeout_ms: must be between 100 and 30000");
  EXPECT_EQ(error_of("[uplink]\nbus = \"system_bus\"\n"),
            "t.toml:2:7: uplink.bus: must be \"system\" or a D-Bus address like \"unix:path=/run/dbus/system_bus_socket\"");
}

TEST(HalConfig, ValuesBeyondTheFieldTypesAreRangeErrorsNotWraparounds) {
  // 2^32 + 0x42 would be a valid address once truncated to 32 bits; it must stay an error.
  EXPECT_EQ(error_of("[ups]\naddress = 4294967362\n"), "t.toml:2:11: ups.address: must be between 3 and 119");
  EXPECT_EQ(error_of("[ups]\nread_retries = -4294967293\n"), "t.toml:2:16: ups.read_retries: must be between 1 and 10");
  EXPECT_EQ(error_of("[uplink]\npoll_interval_s = 9223372036854775807\n"),
            "t.toml:2:19: uplink.poll_interval_s: must be between 1 and 3600");
  EXPECT_EQ(error_of("[ups]\nmin_charge_percent = nan\n"), "t.toml:2:22: ups.min_charge_percent: must be between 0 and 100");
  EXPECT_EQ(error_of("[ups]\ngpio_line = 4\ngpio_chip = \"\"\n"), "t.toml:3:13: ups.gpio_chip: must be set when gpio_line is");
  EXPECT_EQ(error_of("[ups]\ni2c_bus = 1.5\n"), "t.toml:2:11: ups.i2c_bus: must be an integer");
}

}  // namespace
}  // namespace pisigner::config
