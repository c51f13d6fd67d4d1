// UPS configuration ([ups] in pisignerd's file): the defaults and every rule on the values live
// here, once; the TOML reader only checks types and adds file:line to what validate() says.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pisigner/hal/config_issue.hpp"

namespace pisigner::hal {

enum class HatModel { none, waveshare_ina219, x728, sysfs };

// Parses "waveshare_ina219" | "x728" | "sysfs" | "none".
std::optional<HatModel> parse_hat_model(const std::string& s);
const char* to_string(HatModel m);
// What parse_hat_model accepts, as the message for anything else.
inline constexpr const char* kHatModelExpected = R"(must be "none", "waveshare_ina219", "x728" or "sysfs")";

// Field names follow the file's keys where they differ: model, i2c_bus, address (i2c_address),
// gpio_chip, gpio_line (power_loss_line), gpio_active_high, sysfs_*, pack_*_v, battery_capacity_mah,
// min_charge_percent (min_soc_percent), min_runtime_s, grace_period_s, poll_interval_s,
// read_retries, optional, bus. Out-of-range integers are kept as given (wide types), so that
// validate() is what rejects them.
struct UpsConfig {
  HatModel model = HatModel::none;
  std::int64_t i2c_bus = 1;
  std::optional<std::int64_t> i2c_address;   // default per model: 0x42 (INA219), 0x36 (X728)
  std::string gpio_chip = "gpiochip0";
  std::optional<std::int64_t> power_loss_line;  // default for x728: 6 (PLD); unset for others
  bool power_loss_active_high = true;
  std::string sysfs_root = "/sys/class/power_supply";
  std::string sysfs_battery;                 // empty = first Battery supply
  std::string sysfs_ac;                      // empty = first Mains/USB supply
  double pack_empty_v = 6.0;                 // INA219 linear SoC map (2S pack)
  double pack_full_v = 8.4;
  std::optional<double> battery_capacity_mah;  // enables runtime from current

  std::chrono::seconds poll_interval{5};
  std::int64_t read_retries = 3;             // attempts per poll before counting a failure
  double min_soc_percent = 20.0;             // at or below on battery: critical
  std::chrono::seconds min_runtime{300};     // estimated runtime at or below: critical (0: rule off)
  std::chrono::seconds grace_period{60};     // critical this long: shut down
  bool optional = false;                     // absent hardware: "not_present" instead of an error
  std::string bus = "system";                // where logind is: "system" or a D-Bus address

  // The address actually used (explicit or the model default). Only after validate().
  std::uint8_t effective_address() const;
};

// Every problem found, in the order of the keys above; empty when the config is usable.
std::vector<ConfigIssue> validate(const UpsConfig& c);

// The rule for a `bus` key, shared by [ups] and [uplink]: "system" or an address with a
// transport and a key=value ("unix:path=/run/dbus/system_bus_socket").
bool valid_bus_spec(const std::string& spec);
inline constexpr const char* kBusExpected =
    R"(must be "system" or a D-Bus address like "unix:path=/run/dbus/system_bus_socket")";

}  // namespace pisigner::hal
