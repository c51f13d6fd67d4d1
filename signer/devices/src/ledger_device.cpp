#include "pisigner/devices/ledger_device.hpp"

namespace pisigner::devices {

KeyOnDevice find_key(const LedgerDevices& devices, const tezos::PublicKeyHash& pkh) {
  for (const auto& d : devices) {
    for (auto* k : d->keys) {
      if (k->pkh() == pkh) return {d.get(), k};
    }
  }
  return {};
}

}  // namespace pisigner::devices
