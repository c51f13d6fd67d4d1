// One UPS HAT behind one interface. A driver turns chip registers (or sysfs) into a
// UpsReading; it holds no policy and never sleeps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pisigner/hal/error.hpp"
#include "pisigner/hal/gpio.hpp"
#include "pisigner/hal/i2c.hpp"
#include "pisigner/hal/power_supply.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hal {

class PowerLossWatcher;

// What one read saw. Fields a HAT cannot measure stay empty.
struct UpsReading {
  std::optional<bool> mains_present;
  std::optional<double> soc_percent;         // 0..100
  std::optional<double> battery_voltage_v;
  std::optional<double> current_ma;          // > 0 charging, < 0 discharging
  std::optional<double> power_w;
  std::optional<bool> charging;
};

class UpsDriver {
 public:
  virtual ~UpsDriver() = default;
  // "waveshare_ina219", "x728", "sysfs".
  virtual std::string model() const = 0;
  // One reading. Errc::absent when the chip does not answer. Not thread-safe: one owner.
  virtual Result<UpsReading, HalError> read() = 0;
};

// Battery pack on an INA219 HAT: the linear voltage→SoC map Waveshare's demos use.
struct Ina219Pack {
  double empty_v = 6.0;  // 2S pack (UPS HAT, (B), (D)); 1S (HAT (C)): 3.0
  double full_v = 8.4;   // 1S: 4.2
};

// Waveshare INA219 HAT at `addr` (0x42, or 0x43 for HAT (C)). Rewrites config and
// calibration before each read, as Waveshare does, so a brown-out reset of the chip
// cannot leave current/power uncalibrated.
std::unique_ptr<UpsDriver> make_ina219_driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr,
                                              Ina219Pack pack = {});

// MAX17040/17043 fuel gauge (Geekworm X728 at 0x36). `power_loss` (may be null) supplies
// mains presence from the X728 PLD line; without it mains_present stays empty.
std::unique_ptr<UpsDriver> make_max17040_driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr,
                                                std::shared_ptr<PowerLossWatcher> power_loss);

// Kernel power_supply class: battery capacity/status and the online flag of a Mains/USB
// supply. `battery` and `ac` name the supplies to use; empty = the first of that type.
std::unique_ptr<UpsDriver> make_sysfs_driver(std::unique_ptr<PowerSupplySource> source,
                                             std::string battery = {}, std::string ac = {});

}  // namespace pisigner::hal
