// Ledger keys for pisignerd: one DeviceWorker per configured device, hot-plug watching, and one
// required health check per key. The workers' reopen backoff and the hot-plug polling share one
// PeriodicWorker thread on the injected clock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "key_loader.hpp"
#include "pisigner/devices/hwm_check.hpp"
#include "pisigner/devices/ledger_device.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/keys/ledger_key.hpp"
#include "pisigner/ledger/hotplug.hpp"
#include "pisigner/periodic_worker.hpp"

namespace pisigner::daemon {

class LedgerRuntime final : public KeyRuntime {
 public:
  LedgerRuntime(Clock& clock, health::Health& health, metrics::Registry& metrics);
  ~LedgerRuntime() override;

  // Builds the key and its device's worker. Errors name the [[key]] table; a second key on a device
  // that already has one is refused (the config refuses it first: one Ledger key per device).
  Result<std::unique_ptr<keys::LedgerKey>, Error> add_key(const config::Config& cfg, const config::KeyConfig& k);
  // Adds, per key, the information check comparing the device's watermark with the store's, and
  // the gauges that report its outcome. Once, before the metrics are served.
  void attach_store(hwm::Store& store);
  // Starts hot-plug watching for HID devices.
  void start();
  // Ends hot-plug watching and the reopen timers. Idempotent.
  void stop() override;

  const devices::LedgerDevices& devices() const { return devices_; }

 private:
  Clock& clock_;
  health::Health& health_;
  metrics::Registry& metrics_;
  // Started at construction (a device that fails its first open is retried before start()); the
  // workers keep it alive, since keys may hold them past this runtime.
  const std::shared_ptr<PeriodicWorker> timers_;
  devices::LedgerDevices devices_;
  std::unique_ptr<ledger::HotplugWatcher> hotplug_;
  // (pkh, its device-watermark check); filled by attach_store, read by the metric gauges.
  std::vector<std::pair<std::string, std::shared_ptr<devices::ThrottledHwmCheck>>> hwm_checks_;
};

}  // namespace pisigner::daemon
