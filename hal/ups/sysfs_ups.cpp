// UPS from the kernel power_supply class (e.g. dtoverlay=i2c-sensor,max17040).
#include "pisigner/hal/ups_driver.hpp"

namespace pisigner::hal {
namespace {

const PowerSupplyInfo* pick(const std::vector<PowerSupplyInfo>& all, const std::string& name,
                            bool (*is_kind)(const PowerSupplyInfo&)) {
  for (const auto& s : all) {
    if (name.empty() ? is_kind(s) : s.name == name) return &s;
  }
  return nullptr;
}

bool is_battery(const PowerSupplyInfo& s) { return s.type == "Battery"; }
bool is_ac(const PowerSupplyInfo& s) { return s.type == "Mains" || s.type == "USB"; }

class SysfsUps final : public UpsDriver {
 public:
  SysfsUps(std::unique_ptr<PowerSupplySource> src, std::string battery, std::string ac)
      : src_(std::move(src)), battery_(std::move(battery)), ac_(std::move(ac)) {}

  std::string model() const override { return "sysfs"; }

  Result<UpsReading, HalError> read() override {
    auto all = src_->read_all();
    if (!all) return fail(all.error());
    const PowerSupplyInfo* bat = pick(*all, battery_, is_battery);
    const PowerSupplyInfo* ac = pick(*all, ac_, is_ac);
    if (bat == nullptr && ac == nullptr) {
      return fail(HalError{Errc::absent, "no battery or mains supply under power_supply"});
    }
    UpsReading r;
    if (bat != nullptr) {
      if (bat->capacity) r.soc_percent = *bat->capacity;
      r.battery_voltage_v = bat->voltage_v;
      r.current_ma = bat->current_ma;
      if (!bat->status.empty() && bat->status != "Unknown") r.charging = bat->status == "Charging";
    }
    if (ac != nullptr && ac->online) {
      r.mains_present = *ac->online;
    } else if (bat != nullptr) {
      // Without a charger supply the battery status is the only hint (and can be wrong
      // without a charger driver, see the README).
      if (bat->status == "Charging" || bat->status == "Full") r.mains_present = true;
      if (bat->status == "Discharging") r.mains_present = false;
    }
    return r;
  }

 private:
  std::unique_ptr<PowerSupplySource> src_;
  std::string battery_;
  std::string ac_;
};

}  // namespace

std::unique_ptr<UpsDriver> make_sysfs_driver(std::unique_ptr<PowerSupplySource> source, std::string battery,
                                             std::string ac) {
  return std::make_unique<SysfsUps>(std::move(source), std::move(battery), std::move(ac));
}

}  // namespace pisigner::hal
