#include "pisigner/hal/ups_config.hpp"

#include "ina219_registers.hpp"
#include "max1704x_registers.hpp"

namespace pisigner::hal {

std::optional<HatModel> parse_hat_model(const std::string& s) {
  if (s == "none") return HatModel::none;
  if (s == "waveshare_ina219") return HatModel::waveshare_ina219;
  if (s == "x728") return HatModel::x728;
  if (s == "sysfs") return HatModel::sysfs;
  return std::nullopt;
}

const char* to_string(HatModel m) {
  switch (m) {
    case HatModel::none: return "none";
    case HatModel::waveshare_ina219: return "waveshare_ina219";
    case HatModel::x728: return "x728";
    case HatModel::sysfs: return "sysfs";
  }
  return "?";
}

std::uint8_t UpsConfig::effective_address() const {
  if (i2c_address) return *i2c_address;
  return model == HatModel::x728 ? max1704x::kDefaultAddress : ina219::kDefaultAddress;
}

std::vector<std::string> validate(const UpsConfig& c) {
  std::vector<std::string> errs;
  const bool uses_i2c = c.model == HatModel::waveshare_ina219 || c.model == HatModel::x728;
  if (uses_i2c && c.i2c_bus < 0) errs.push_back("i2c_bus must be >= 0");
  if (uses_i2c && c.i2c_address && (*c.i2c_address < 0x03 || *c.i2c_address > 0x77)) {
    errs.push_back("i2c_address must be a 7-bit device address (0x03..0x77)");
  }
  if (c.model == HatModel::waveshare_ina219 && !(c.pack_full_v > c.pack_empty_v && c.pack_empty_v > 0)) {
    errs.push_back("pack_full_v must be greater than pack_empty_v, both positive");
  }
  if (c.power_loss_line && c.gpio_chip.empty()) errs.push_back("gpio_chip must be set when power_loss_line is");
  if (c.model == HatModel::sysfs && c.sysfs_root.empty()) errs.push_back("sysfs_root must not be empty");
  if (c.poll_interval.count() < 1) errs.push_back("poll_interval must be at least 1 s");
  if (c.read_retries < 1 || c.read_retries > 10) errs.push_back("read_retries must be between 1 and 10");
  if (c.min_soc_percent < 0 || c.min_soc_percent > 100) errs.push_back("min_soc_percent must be between 0 and 100");
  if (c.min_runtime.count() < 0) errs.push_back("min_runtime must not be negative");
  if (c.grace_period.count() < 0) errs.push_back("grace_period must not be negative");
  if (c.battery_capacity_mah && *c.battery_capacity_mah <= 0) errs.push_back("battery_capacity_mah must be positive");
  return errs;
}

}  // namespace pisigner::hal
