// Ledger keys for pisignerd: one DeviceWorker per configured device (keys on the same device share it),
// hot-plug watching, and one required health check per key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "key_loader.hpp"
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

  struct Device {
    std::string spec;  // "hid", a serial, "tcp://host:port"
    std::shared_ptr<ledger::DeviceWorker> worker;
    std::vector<keys::LedgerKey*> keys;
  };
  const std::vector<std::unique_ptr<Device>>& devices() const { return devices_; }
  Device* find_device(const std::string& pkh);

 private:
  static health::ProbeResult compare_hwm(ledger::DeviceWorker& worker, const tezos::PublicKeyHash& pkh, hwm::Store& store);

  Clock& clock_;
  health::Health& health_;
  metrics::Registry& metrics_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::unique_ptr<ledger::HotplugWatcher> hotplug_;
};

// A one-line health verdict from a device snapshot ("ok: Tezos Baking 2.5.1, ...", or what is wrong).
health::ProbeResult judge(const ledger::DeviceState& st, const keys::LedgerKey& key);

}  // namespace pisigner::daemon
