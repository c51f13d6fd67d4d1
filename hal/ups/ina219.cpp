// Waveshare UPS HAT (INA219): bus voltage, shunt, current and power with Waveshare's
// calibration; SoC from the pack voltage; mains inferred from the current's sign.
#include <algorithm>

#include "ina219_registers.hpp"
#include "pisigner/hal/ups_driver.hpp"

namespace pisigner::hal {
namespace {

// The HAT powers the Pi from the battery side of the shunt: a clearly negative current
// means the cells feed the load. Near zero (full pack on mains) still counts as mains.
constexpr double kOnBatteryBelowMa = -50.0;
constexpr double kChargingAboveMa = 10.0;

std::int16_t as_signed(std::uint16_t v) { return static_cast<std::int16_t>(v); }

class Ina219Driver final : public UpsDriver {
 public:
  Ina219Driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr, Ina219Pack pack)
      : bus_(std::move(bus)), addr_(addr), pack_(pack) {}

  std::string model() const override { return "waveshare_ina219"; }

  Result<UpsReading, HalError> read() override {
    // A brown-out resets the chip to its power-on config and a zero calibration, which
    // would read as 0 mA; check and rewrite.
    auto cfg = bus_->read_word(addr_, ina219::kRegConfig);
    if (!cfg) return fail(cfg.error());
    if (*cfg != ina219::kConfig) {
      if (auto w = bus_->write_word(addr_, ina219::kRegConfig, ina219::kConfig); !w) return fail(w.error());
    }
    if (auto w = bus_->write_word(addr_, ina219::kRegCalibration, ina219::kCalibration); !w) return fail(w.error());

    auto bus_v = bus_->read_word(addr_, ina219::kRegBusVoltage);
    if (!bus_v) return fail(bus_v.error());
    auto current = bus_->read_word(addr_, ina219::kRegCurrent);
    if (!current) return fail(current.error());
    auto power = bus_->read_word(addr_, ina219::kRegPower);
    if (!power) return fail(power.error());

    UpsReading r;
    const double volts = static_cast<double>(*bus_v >> 3) * ina219::kBusLsbV;
    r.battery_voltage_v = volts;
    r.current_ma = static_cast<double>(as_signed(*current)) * ina219::kCurrentLsbMa;
    r.power_w = static_cast<double>(*power) * ina219::kPowerLsbW;
    const double span = pack_.full_v - pack_.empty_v;
    r.soc_percent = std::clamp((volts - pack_.empty_v) / span * 100.0, 0.0, 100.0);
    r.mains_present = *r.current_ma > kOnBatteryBelowMa;
    r.charging = *r.current_ma > kChargingAboveMa;
    return r;
  }

 private:
  std::unique_ptr<I2cBus> bus_;
  const std::uint8_t addr_;
  const Ina219Pack pack_;
};

}  // namespace

std::unique_ptr<UpsDriver> make_ina219_driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr, Ina219Pack pack) {
  return std::make_unique<Ina219Driver>(std::move(bus), addr, pack);
}

}  // namespace pisigner::hal
