#include "pisigner/devices/hwm_check.hpp"

#include <algorithm>

namespace pisigner::devices {

HwmComparison compare_hwm(const ledger::AllHwm& device, const tezos::PublicKeyHash& pkh,
                          const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& records) {
  std::int64_t store_level = -1;
  for (const auto& [k, r] : records) {
    const bool same_chain = device.main_chain_id == 0 || read_be32(k.chain.bytes, 0) == device.main_chain_id;
    if (k.pkh == pkh && same_chain) store_level = std::max<std::int64_t>(store_level, r.level);
  }
  const std::string dev = "device main level " + std::to_string(device.main_level);
  if (store_level < 0) return {{health::State::Ok, dev + "; the store has no watermark for this key yet"}, false};
  if (device.main_level > store_level + 1) {
    return {{health::State::Warning, dev + " is above the store's " + std::to_string(store_level) +
                                         ": the device will refuse levels up to it (chain move or reset? see "
                                         "pisignerctl ledger reset-hwm)"},
            false};
  }
  return {{health::State::Ok, dev + ", store " + std::to_string(store_level)}, true};
}

health::ProbeResult ThrottledHwmCheck::operator()() {
  const auto now = clock_.now();
  if (settled_at_ && now - *settled_at_ < period_) return last_;
  auto answer = ask_();
  settled_at_ = answer.settled ? std::optional(now) : std::nullopt;
  last_ = answer.result;
  return last_;
}

}  // namespace pisigner::devices
