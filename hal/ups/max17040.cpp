// MAX17040/17043 fuel gauge (Geekworm X728): cell voltage and SoC from the chip's model;
// mains presence from the PLD line when one is wired.
#include <algorithm>

#include "max1704x_registers.hpp"
#include "pisigner/hal/power_loss.hpp"
#include "pisigner/hal/ups_driver.hpp"

namespace pisigner::hal {
namespace {

class Max17040Driver final : public UpsDriver {
 public:
  Max17040Driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr, std::shared_ptr<PowerLossWatcher> pld)
      : bus_(std::move(bus)), addr_(addr), pld_(std::move(pld)) {}

  std::string model() const override { return "x728"; }

  Result<UpsReading, HalError> read() override {
    auto vcell = bus_->read_word(addr_, max1704x::kRegVcell);
    if (!vcell) return fail(vcell.error());
    auto soc = bus_->read_word(addr_, max1704x::kRegSoc);
    if (!soc) return fail(soc.error());
    UpsReading r;
    r.battery_voltage_v = static_cast<double>(*vcell >> 4) * max1704x::kVcellLsbV;
    // The gauge may report slightly above 100 % right after a full charge.
    r.soc_percent = std::clamp(static_cast<double>(*soc) * max1704x::kSocPerLsb, 0.0, 100.0);
    if (pld_) r.mains_present = pld_->mains_present();
    return r;
  }

 private:
  std::unique_ptr<I2cBus> bus_;
  const std::uint8_t addr_;
  std::shared_ptr<PowerLossWatcher> pld_;
};

}  // namespace

std::unique_ptr<UpsDriver> make_max17040_driver(std::unique_ptr<I2cBus> bus, std::uint8_t addr,
                                                std::shared_ptr<PowerLossWatcher> power_loss) {
  return std::make_unique<Max17040Driver>(std::move(bus), addr, std::move(power_loss));
}

}  // namespace pisigner::hal
