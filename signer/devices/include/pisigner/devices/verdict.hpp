// Whether a Ledger key can sign, judged from its device's last snapshot: the line /authorized shows
// for the key's required check. Pure; never touches the device.
#pragma once

#include "pisigner/health/health.hpp"
#include "pisigner/ledger/device_worker.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::devices {

// What the verdict needs to know of the key: its address and where it lives on the device.
struct KeyIdentity {
  tezos::PublicKeyHash pkh;
  ledger::DerivationType curve = ledger::DerivationType::Ed25519;
  ledger::Path path;
};

// Ok ("Tezos Baking 2.5.1 on <transport>, key tz1… authorized") only when the device is present,
// answering, unlocked, in the Baking app, verified, and its authorized baking key is this key's
// curve and path; otherwise Failing with what is wrong and what to do. A key that is not the one
// the device bakes for (two keys configured on one device) is Failing: it cannot sign.
health::ProbeResult judge(const ledger::DeviceState& state, const KeyIdentity& key);

}  // namespace pisigner::devices
