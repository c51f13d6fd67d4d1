// The Ledger's own watermark beside the store's, for the information check "ledger_hwm <pkh>" and
// the gauges pisigner_ledger_hwm_state / pisigner_ledger_hwm_level_gap.
// Pure: the caller queries the device (off the sign path) and lists the store.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/ledger/baking_app.hpp"

namespace pisigner::devices {

// How the device's main level stands to the store's, as the metric names it.
enum class HwmRelation {
  Unknown,           // the device or the store could not be read
  NoStoreWatermark,  // nothing to compare yet
  InStep,            // within one level of each other
  DeviceBehind,      // more than one level below: the device alone would sign levels the store refuses
  DeviceAhead,       // more than one level above: the device refuses levels the store allows
};
inline constexpr HwmRelation kHwmRelations[] = {HwmRelation::Unknown, HwmRelation::NoStoreWatermark,
                                                HwmRelation::InStep, HwmRelation::DeviceBehind,
                                                HwmRelation::DeviceAhead};
std::string_view relation_name(HwmRelation r);  // "unknown", "no_store_watermark", "in_step", ...

struct HwmComparison {
  health::ProbeResult result;
  bool settled = false;  // a comparison that holds for a while: worth reusing (see ThrottledHwmCheck)
  HwmRelation relation = HwmRelation::Unknown;
  std::optional<std::int64_t> gap;  // store level minus device level, when both are known
};

// The store's level for `pkh` is the highest of its records (any kind) on the device's main chain
// (every chain when the device has none set). DeviceAhead (a warning, asked again at every probe)
// when the device is more than one level above it: the device will refuse levels the store allows
// (a chain move or a reset). DeviceBehind (a warning, settled) when it is more than one level below:
// the device no longer guards what the store guards (a reset or replaced Ledger, or an imported
// store); its next signature raises it. InStep otherwise; NoStoreWatermark (Ok, not settled) while
// the store has no watermark for the key.
HwmComparison compare_hwm(const ledger::AllHwm& device, const tezos::PublicKeyHash& pkh,
                          const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& records);

// Every device query holds the device away from signing, so a settled answer is reused for
// `period`; anything else (a warning, no watermark yet, a failed query) is asked again at the next
// call. operator() is for one caller (the health probe loop); latest() may be called from any thread.
class ThrottledHwmCheck {
 public:
  ThrottledHwmCheck(const Clock& clock, Clock::Duration period, std::function<HwmComparison()> ask)
      : clock_(clock), period_(period), ask_(std::move(ask)) {}
  health::ProbeResult operator()();
  // The last answer (relation Unknown before the first call).
  HwmComparison latest() const;

 private:
  const Clock& clock_;
  const Clock::Duration period_;
  const std::function<HwmComparison()> ask_;
  std::optional<Clock::TimePoint> settled_at_;  // only operator() touches it
  mutable std::mutex mutex_;
  HwmComparison last_;  // protected by mutex_
};

}  // namespace pisigner::devices
