// Linux power_supply class reader (/sys/class/power_supply/*). The root is injectable so
// tests point it at a temporary tree.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hal {

struct PowerSupplyInfo {
  std::string name;                   // directory name, e.g. "battery", "ac"
  std::string type;                   // "Battery", "Mains", "USB", ... ("" if unreadable)
  std::optional<bool> online;         // `online` (mains/usb supplies)
  std::optional<bool> present;        // `present`
  std::optional<int> capacity;        // `capacity`, percent
  std::string status;                 // `status`: Charging / Discharging / Not charging / Full / Unknown
  std::optional<double> voltage_v;    // `voltage_now` (µV in sysfs)
  std::optional<double> current_ma;   // `current_now` (µA in sysfs; sign is driver specific)
};

class PowerSupplySource {
 public:
  virtual ~PowerSupplySource() = default;
  // All supplies, sorted by name. Errc::absent if the class directory is missing.
  virtual Result<std::vector<PowerSupplyInfo>, HalError> read_all() = 0;
};

std::unique_ptr<PowerSupplySource> make_sysfs_power_supply(
    std::filesystem::path root = "/sys/class/power_supply");

}  // namespace pisigner::hal
