// A configured Ledger and the keys it holds: one DeviceWorker per device spec, shared by its keys.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pisigner/keys/ledger_key.hpp"
#include "pisigner/ledger/device_worker.hpp"

namespace pisigner::devices {

struct LedgerDevice {
  std::string spec;  // as configured: "hid", a USB serial number, "tcp://host:port"
  std::shared_ptr<ledger::DeviceWorker> worker;
  std::vector<keys::LedgerKey*> keys;  // owned by the key registry, which outlives the device list
};

using LedgerDevices = std::vector<std::unique_ptr<LedgerDevice>>;

// The device holding the key `pkh` and that key, or {nullptr, nullptr} when no Ledger key has it.
struct KeyOnDevice {
  LedgerDevice* device = nullptr;
  keys::LedgerKey* key = nullptr;
};
KeyOnDevice find_key(const LedgerDevices& devices, const tezos::PublicKeyHash& pkh);

}  // namespace pisigner::devices
