// How a Ledger key names its device, and the transport each name opens:
//   "hid"             the first Ledger on USB
//   a serial number   the Ledger on USB with that USB serial number
//   "tcp://host:port" a Speculos-protocol TCP device (pisigner-vledger, Speculos): software, not hardware
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/ledger/device_worker.hpp"
#include "pisigner/ledger/hid_device.hpp"

namespace pisigner::ledger {

bool is_tcp_spec(std::string_view spec);

// The hidapi path of the Ledger that `spec` ("hid" or a serial number) names among `found`, in
// enumeration order: the first Ledger for "hid", the first whose serial equals `spec` otherwise.
// Disconnected, naming the serials seen, when none matches.
Result<std::string, TransportError> select_hid_path(const std::vector<HidDeviceInfo>& found, std::string_view spec);

// Opens the device `spec` names, anew at each call (the worker calls it to connect and reconnect).
// HID devices are looked up by enumerate_ledgers() at each call, so a replugged device is found
// under its new path.
TransportFactory transport_factory(const std::string& spec, Clock& clock);

}  // namespace pisigner::ledger
