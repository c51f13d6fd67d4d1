// The Ledger's own watermark beside the store's, for the information check "ledger_hwm <pkh>".
// Pure: the caller queries the device (off the sign path) and lists the store.
#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/ledger/baking_app.hpp"

namespace pisigner::devices {

struct HwmComparison {
  health::ProbeResult result;
  bool settled = false;  // Ok with a store watermark to compare: worth reusing for a while
};

// The store's level for `pkh` is the highest of its records (any kind) on the device's main chain
// (every chain when the device has none set). Warning when the device is more than one level above
// it: the device will refuse levels the store allows (a chain move or a reset); Ok otherwise,
// including when the store has no watermark for the key yet (not settled).
HwmComparison compare_hwm(const ledger::AllHwm& device, const tezos::PublicKeyHash& pkh,
                          const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& records);

// Every device query holds the device away from signing, so a settled answer is reused for
// `period`; anything else (a warning, no watermark yet, a failed query) is asked again at the next
// call. Not thread-safe: one health probe loop calls it.
class ThrottledHwmCheck {
 public:
  ThrottledHwmCheck(const Clock& clock, Clock::Duration period, std::function<HwmComparison()> ask)
      : clock_(clock), period_(period), ask_(std::move(ask)) {}
  health::ProbeResult operator()();

 private:
  const Clock& clock_;
  const Clock::Duration period_;
  const std::function<HwmComparison()> ask_;
  std::optional<Clock::TimePoint> settled_at_;
  health::ProbeResult last_;
};

}  // namespace pisigner::devices
