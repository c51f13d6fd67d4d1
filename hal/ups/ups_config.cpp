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
  if (i2c_address) return static_cast<std::uint8_t>(*i2c_address);
  return model == HatModel::x728 ? max1704x::kDefaultAddress : ina219::kDefaultAddress;
}

bool valid_bus_spec(const std::string& spec) {
  return spec == "system" || (spec.find(':') != std::string::npos && spec.find('=') != std::string::npos);
}

std::vector<ConfigIssue> validate(const UpsConfig& c) {
  std::vector<ConfigIssue> out;
  check_range<std::int64_t>(out, "i2c_bus", c.i2c_bus, 0, 255);
  // 7-bit addresses outside the reserved ones.
  if (c.i2c_address) check_range<std::int64_t>(out, "address", *c.i2c_address, 0x03, 0x77);
  if (c.power_loss_line) {
    check_range<std::int64_t>(out, "gpio_line", *c.power_loss_line, 0, 1023);
    if (c.gpio_chip.empty()) out.push_back({"gpio_chip", "must be set when gpio_line is", {"gpio_line"}});
  }
  if (c.sysfs_root.empty()) out.push_back({"sysfs_root", "must not be empty", {}});
  check_range(out, "pack_empty_v", c.pack_empty_v, 0.1, 60.0);
  check_range(out, "pack_full_v", c.pack_full_v, 0.1, 60.0);
  if (!(c.pack_full_v > c.pack_empty_v)) {
    out.push_back({"pack_full_v", "must be greater than pack_empty_v", {"pack_empty_v"}});
  }
  if (c.battery_capacity_mah) check_range(out, "battery_capacity_mah", *c.battery_capacity_mah, 1.0, 1'000'000.0);
  check_range(out, "min_charge_percent", c.min_soc_percent, 0.0, 100.0);
  check_range<std::int64_t>(out, "min_runtime_s", c.min_runtime.count(), 0, 86400);
  check_range<std::int64_t>(out, "grace_period_s", c.grace_period.count(), 0, 3600);
  check_range<std::int64_t>(out, "poll_interval_s", c.poll_interval.count(), 1, 3600);
  check_range<std::int64_t>(out, "read_retries", c.read_retries, 1, 10);
  if (!valid_bus_spec(c.bus)) out.push_back({"bus", kBusExpected, {}});
  return out;
}

}  // namespace pisigner::hal
