#include "pisigner/devices/hwm_check.hpp"

#include <algorithm>

namespace pisigner::devices {

std::string_view relation_name(HwmRelation r) {
  switch (r) {
    case HwmRelation::Unknown: return "unknown";
    case HwmRelation::NoStoreWatermark: return "no_store_watermark";
    case HwmRelation::InStep: return "in_step";
    case HwmRelation::DeviceBehind: return "device_behind";
    case HwmRelation::DeviceAhead: return "device_ahead";
  }
  return "unknown";
}

HwmComparison compare_hwm(const ledger::AllHwm& device, const tezos::PublicKeyHash& pkh,
                          const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& records) {
  std::int64_t store_level = -1;
  for (const auto& [k, r] : records) {
    const bool same_chain = device.main_chain_id == 0 || read_be32(k.chain.bytes, 0) == device.main_chain_id;
    if (k.pkh == pkh && same_chain) store_level = std::max<std::int64_t>(store_level, r.level);
  }
  const std::int64_t device_level = device.main_level;
  const std::string dev = "device main level " + std::to_string(device_level);
  if (store_level < 0) {
    return {{health::State::Ok, dev + "; the store has no watermark for this key yet"}, false,
            HwmRelation::NoStoreWatermark, std::nullopt};
  }
  const std::int64_t gap = store_level - device_level;
  if (gap < -1) {
    return {{health::State::Warning, dev + " is above the store's " + std::to_string(store_level) +
                                         ": the device will refuse levels up to it (chain move or reset? see "
                                         "pisignerctl ledger reset-hwm)"},
            false, HwmRelation::DeviceAhead, gap};
  }
  if (gap > 1) {
    return {{health::State::Warning, dev + " is below the store's " + std::to_string(store_level) +
                                         ": the device alone no longer guards those levels (reset or replaced "
                                         "Ledger? its next signature raises it)"},
            true, HwmRelation::DeviceBehind, gap};
  }
  return {{health::State::Ok, dev + ", store " + std::to_string(store_level)}, true, HwmRelation::InStep, gap};
}

health::ProbeResult ThrottledHwmCheck::operator()() {
  const auto now = clock_.now();
  if (settled_at_ && now - *settled_at_ < period_) return latest().result;
  auto answer = ask_();
  settled_at_ = answer.settled ? std::optional(now) : std::nullopt;
  std::lock_guard lock(mutex_);
  last_ = std::move(answer);
  return last_.result;
}

HwmComparison ThrottledHwmCheck::latest() const {
  std::lock_guard lock(mutex_);
  return last_;
}

}  // namespace pisigner::devices
