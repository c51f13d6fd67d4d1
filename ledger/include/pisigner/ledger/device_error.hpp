// Typed errors of the Ledger layer: status words and transport failures, each with a
// message a baker can act on. The mapping from status words lives in one table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pisigner/ledger/protocol.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

enum class DeviceErrc {
  Locked,            // 0x5515: PIN lock
  WrongApp,          // 0x6E00/0x6E01/0x6511/0x6D00, or VERSION class != 1
  NotAuthorized,     // 0x6982: key not the authorized baking key, or PIN not validated
  HwmRefused,        // 0x6A80 on SIGN: level/round not above the device watermark
  NotBakingMessage,  // 0x9405
  Rejected,          // 0x6985: refused on the device
  WrongParam,        // 0x6B00, 0x6A80 outside SIGN (bad path / values)
  WrongLength,       // 0x6C00, 0x917E, or a message over 235 bytes refused on the host
  BadReply,          // a 0x9000 reply whose data does not decode (or hash mismatch)
  WrongDevice,       // identity check failed: not the expected key
  Unavailable,       // no device connected (worker)
  Transport,         // see `transport`
  Unknown,           // any other status word
};

struct DeviceError {
  DeviceErrc code = DeviceErrc::Unknown;
  std::string message;
  std::uint16_t sw = 0;                        // status word when the device answered
  std::optional<TransportErrc> transport;      // set when code == Transport
};

const char* to_string(DeviceErrc c);

// Maps a non-0x9000 status word of instruction `ins` to a typed error.
DeviceError error_from_sw(std::uint16_t sw, Ins ins);
DeviceError error_from_transport(const TransportError& e);

}  // namespace pisigner::ledger
