// hal::validate() for [ups] and [uplink]: the one place the rules live (the config loader only
// adds file:line). One row per rule: the value just inside is accepted, just outside rejected,
// named by the file's key.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "pisigner/hal/uplink_config.hpp"
#include "pisigner/hal/ups_config.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

template <class Config>
struct Row {
  const char* key;
  std::function<void(Config&)> inside;
  std::function<void(Config&)> outside;
  const char* message;
};

template <class Config>
void check_rows(const std::vector<Row<Config>>& rows) {
  for (const auto& row : rows) {
    SCOPED_TRACE(row.key);
    Config ok;
    row.inside(ok);
    EXPECT_TRUE(validate(ok).empty()) << validate(ok).front().key << ": " << validate(ok).front().message;
    Config bad;
    row.outside(bad);
    const auto issues = validate(bad);
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_EQ(issues[0].key, row.key);
    EXPECT_EQ(issues[0].message, row.message);
  }
}

TEST(UpsConfigRules, DefaultsAreValidAndLeaveTheHardwareAlone) {
  const UpsConfig c;
  EXPECT_TRUE(validate(c).empty());
  EXPECT_EQ(c.model, HatModel::none);
  EXPECT_EQ(c.min_soc_percent, 20.0);
  EXPECT_EQ(c.min_runtime, seconds(300));
  EXPECT_EQ(c.grace_period, seconds(60));
  EXPECT_EQ(c.poll_interval, seconds(5));
  EXPECT_EQ(c.read_retries, 3);
  EXPECT_EQ(c.bus, "system");
}

TEST(UpsConfigRules, EachRangeAndCrossFieldRule) {
  using C = UpsConfig;
  check_rows<C>({
      {"i2c_bus", [](C& c) { c.i2c_bus = 255; }, [](C& c) { c.i2c_bus = 256; }, "must be between 0 and 255"},
      {"i2c_bus", [](C& c) { c.i2c_bus = 0; }, [](C& c) { c.i2c_bus = -1; }, "must be between 0 and 255"},
      {"address", [](C& c) { c.i2c_address = 0x77; }, [](C& c) { c.i2c_address = 0x78; }, "must be between 3 and 119"},
      {"address", [](C& c) { c.i2c_address = 0x03; }, [](C& c) { c.i2c_address = 0x02; }, "must be between 3 and 119"},
      {"gpio_line", [](C& c) { c.power_loss_line = 1023; }, [](C& c) { c.power_loss_line = 1024; },
       "must be between 0 and 1023"},
      {"gpio_chip", [](C& c) { c.gpio_chip.clear(); },
       [](C& c) {
         c.gpio_chip.clear();
         c.power_loss_line = 6;
       },
       "must be set when gpio_line is"},
      {"sysfs_root", [](C& c) { c.sysfs_root = "/tmp/ps"; }, [](C& c) { c.sysfs_root.clear(); }, "must not be empty"},
      {"pack_full_v",
       [](C& c) {
         c.pack_empty_v = 3.0;
         c.pack_full_v = 3.1;
       },
       [](C& c) {
         c.pack_empty_v = 3.0;
         c.pack_full_v = 3.0;
       },
       "must be greater than pack_empty_v"},
      {"pack_full_v", [](C& c) { c.pack_full_v = 60; }, [](C& c) { c.pack_full_v = 60.5; }, "must be between 0.1 and 60"},
      {"battery_capacity_mah", [](C& c) { c.battery_capacity_mah = 1; }, [](C& c) { c.battery_capacity_mah = 0; },
       "must be between 1 and 1e+06"},
      {"min_charge_percent", [](C& c) { c.min_soc_percent = 100; }, [](C& c) { c.min_soc_percent = 100.5; },
       "must be between 0 and 100"},
      {"min_charge_percent", [](C& c) { c.min_soc_percent = 0; }, [](C& c) { c.min_soc_percent = std::nan(""); },
       "must be between 0 and 100"},
      {"min_runtime_s", [](C& c) { c.min_runtime = seconds(0); }, [](C& c) { c.min_runtime = seconds(-1); },
       "must be between 0 and 86400"},
      {"grace_period_s", [](C& c) { c.grace_period = seconds(3600); }, [](C& c) { c.grace_period = seconds(3601); },
       "must be between 0 and 3600"},
      {"poll_interval_s", [](C& c) { c.poll_interval = seconds(1); }, [](C& c) { c.poll_interval = seconds(0); },
       "must be between 1 and 3600"},
      {"read_retries", [](C& c) { c.read_retries = 10; }, [](C& c) { c.read_retries = 11; }, "must be between 1 and 10"},
      {"bus", [](C& c) { c.bus = "unix:path=/run/dbus/system_bus_socket"; }, [](C& c) { c.bus = "session"; },
       kBusExpected},
  });
}

TEST(UpsConfigRules, ModelNamesAndDefaultAddresses) {
  EXPECT_EQ(parse_hat_model("x728"), HatModel::x728);
  EXPECT_EQ(parse_hat_model("waveshare_ina219"), HatModel::waveshare_ina219);
  EXPECT_EQ(parse_hat_model("sysfs"), HatModel::sysfs);
  EXPECT_EQ(parse_hat_model("none"), HatModel::none);
  EXPECT_FALSE(parse_hat_model("pijuice").has_value());
  UpsConfig c;
  c.model = HatModel::x728;
  EXPECT_EQ(c.effective_address(), 0x36);
  c.model = HatModel::waveshare_ina219;
  EXPECT_EQ(c.effective_address(), 0x42);
  c.i2c_address = 0x43;
  EXPECT_EQ(c.effective_address(), 0x43);
}

TEST(UplinkConfigRules, DefaultsAreValidAndDisabled) {
  const UplinkConfig c;
  EXPECT_TRUE(validate(c).empty());
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.failover_after, seconds(30));
  EXPECT_EQ(c.failback_after, seconds(120));
  EXPECT_EQ(c.retry_after, seconds(60));
  EXPECT_EQ(c.poll_interval, seconds(2));
  EXPECT_EQ(c.call_timeout, milliseconds(2000));
  EXPECT_EQ(c.bus, "system");
}

TEST(UplinkConfigRules, EachRangeAndCrossFieldRule) {
  using C = UplinkConfig;
  check_rows<C>({
      {"lte_connection",
       [](C& c) {
         c.enabled = true;
         c.lte_connection = "lte";
       },
       [](C& c) { c.enabled = true; }, "is required when enabled = true (a NetworkManager profile id or uuid)"},
      {"failover_after_s", [](C& c) { c.failover_after = seconds(1); }, [](C& c) { c.failover_after = seconds(0); },
       "must be between 1 and 86400"},
      {"failback_after_s",
       [](C& c) {
         c.failover_after = seconds(60);
         c.failback_after = seconds(60);
       },
       [](C& c) {
         c.failover_after = seconds(60);
         c.failback_after = seconds(59);
       },
       "must not be shorter than failover_after_s (hysteresis)"},
      {"failback_after_s", [](C& c) { c.failback_after = seconds(86400); }, [](C& c) { c.failback_after = seconds(86401); },
       "must be between 1 and 86400"},
      {"retry_after_s", [](C& c) { c.retry_after = seconds(1); }, [](C& c) { c.retry_after = seconds(0); },
       "must be between 1 and 86400"},
      {"poll_interval_s", [](C& c) { c.poll_interval = seconds(3600); }, [](C& c) { c.poll_interval = seconds(3601); },
       "must be between 1 and 3600"},
      {"call_timeout_ms", [](C& c) { c.call_timeout = milliseconds(100); }, [](C& c) { c.call_timeout = milliseconds(99); },
       "must be between 100 and 30000"},
      {"bus", [](C& c) { c.bus = "system"; }, [](C& c) { c.bus = "/run/dbus/system_bus_socket"; }, kBusExpected},
  });
}

TEST(UplinkConfigRules, RangesHoldEvenWhileDisabledSoSwitchingOnCannotBreakTheFile) {
  UplinkConfig c;
  c.call_timeout = milliseconds(50);
  ASSERT_EQ(validate(c).size(), 1u);
  EXPECT_EQ(validate(c)[0].key, "call_timeout_ms");
}

TEST(ConfigIssues, CrossFieldRulesNameTheOtherKeySoTheReaderCanPointAtIt) {
  UplinkConfig c;
  c.enabled = true;
  const auto issues = validate(c);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].also, std::vector<std::string>{"enabled"});
}

}  // namespace
}  // namespace pisigner::hal
