// The Ledger's own watermark beside the store's, for the information check "ledger_hwm <pkh>".
// Pure: the caller queries the device (off the sign path) and lists the store.
#pragma once

#include <utility>
#include <vector>

#include "pisigner/health/health.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/ledger/baking_app.hpp"

namespace pisigner::devices {

// The store's level for `pkh` is the highest of its records (any kind) on the device's main chain
// (every chain when the device has none set). Warning when the device is more than one level above
// it: the device will refuse levels the store allows (a chain move or a reset); Ok otherwise,
// including when the store has no watermark for the key yet.
health::ProbeResult compare_hwm(const ledger::AllHwm& device, const tezos::PublicKeyHash& pkh,
                                const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& records);

}  // namespace pisigner::devices
