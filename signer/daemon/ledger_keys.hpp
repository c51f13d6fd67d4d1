// Ledger keys for pisignerd: one DeviceWorker per configured device (keys on the same device share it),
// hot-plug watching, and one required health check per key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "key_loader.hpp"
#include "pisigner/devices/ledger_device.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/keys/ledger_key.hpp"
#include "pisigner/ledger/hotplug.hpp"

namespace pisigner::daemon {

class LedgerRuntime final : public KeyRuntime {
 public:
  LedgerRuntime(Clock& clock, health::Health& health, metrics::Registry& metrics);
  ~LedgerRuntime() override;

  // Builds the key (and its device's worker on first use). Errors name the [[key]] table.
  Result<std::unique_ptr<keys::LedgerKey>, Error> add_key(const config::Config& cfg, const config::KeyConfig& k);
  // Adds, per key, the information check comparing the device's watermark with the store's.
  void attach_store(hwm::Store& store);
  // Starts hot-plug watching for HID devices.
  void start();
  void stop() override;

  const devices::LedgerDevices& devices() const { return devices_; }

 private:
  Clock& clock_;
  health::Health& health_;
  metrics::Registry& metrics_;
  devices::LedgerDevices devices_;
  std::unique_ptr<ledger::HotplugWatcher> hotplug_;
};

}  // namespace pisigner::daemon
