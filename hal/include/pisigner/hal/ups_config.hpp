// UPS configuration as the daemon's TOML layer fills it, with line-free validation.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pisigner::hal {

enum class HatModel { none, waveshare_ina219, x728, sysfs };

// Parses "waveshare_ina219" | "x728" | "sysfs" | "none".
std::optional<HatModel> parse_hat_model(const std::string& s);
const char* to_string(HatModel m);

struct UpsConfig {
  HatModel model = HatModel::none;
  int i2c_bus = 1;
  std::optional<std::uint8_t> i2c_address;   // default per model: 0x42 (INA219), 0x36 (X728)
  std::string gpio_chip = "gpiochip0";
  std::optional<unsigned> power_loss_line;   // default for x728: 6 (PLD); unset for others
  bool power_loss_active_high = true;
  std::string sysfs_root = "/sys/class/power_supply";
  std::string sysfs_battery;                 // empty = first Battery supply
  std::string sysfs_ac;                      // empty = first Mains/USB supply
  double pack_empty_v = 6.0;                 // INA219 linear SoC map (2S pack)
  double pack_full_v = 8.4;
  std::optional<double> battery_capacity_mah;  // enables runtime from current

  std::chrono::seconds poll_interval{5};
  int read_retries = 3;                      // attempts per poll before counting a failure
  double min_soc_percent = 20.0;             // at or below on battery: critical
  std::chrono::seconds min_runtime{300};     // estimated runtime at or below: critical
  std::chrono::seconds grace_period{60};     // critical this long: shut down
  bool optional = false;                     // absent hardware: "not_present" instead of an error

  // The address actually used (explicit or the model default).
  std::uint8_t effective_address() const;
};

// Every problem found, one message each, without file/line (the caller adds those).
std::vector<std::string> validate(const UpsConfig& c);

}  // namespace pisigner::hal
