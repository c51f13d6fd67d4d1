#include "pisigner/ledger/device_error.hpp"

#include <cstdio>

namespace pisigner::ledger {
namespace {
std::string hex4(std::uint16_t sw) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", sw);
  return buf;
}
bool is_sign(Ins ins) { return ins == Ins::Sign || ins == Ins::SignWithHash; }
}  // namespace

const char* to_string(DeviceErrc c) {
  switch (c) {
    case DeviceErrc::Locked: return "locked";
    case DeviceErrc::WrongApp: return "wrong_app";
    case DeviceErrc::NotAuthorized: return "not_authorized";
    case DeviceErrc::HwmRefused: return "hwm_refused";
    case DeviceErrc::NotBakingMessage: return "not_baking_message";
    case DeviceErrc::Rejected: return "rejected";
    case DeviceErrc::WrongParam: return "wrong_param";
    case DeviceErrc::WrongLength: return "wrong_length";
    case DeviceErrc::BadReply: return "bad_reply";
    case DeviceErrc::WrongDevice: return "wrong_device";
    case DeviceErrc::Unavailable: return "unavailable";
    case DeviceErrc::Transport: return "transport";
    case DeviceErrc::Unknown: return "unknown";
  }
  return "unknown";
}

// The one status-word table (sources: ledger/doc/protocol.md §4).
DeviceError error_from_sw(std::uint16_t sw, Ins ins) {
  auto e = [&](DeviceErrc c, std::string m) { return DeviceError{c, std::move(m) + " (SW " + hex4(sw) + ")", sw, {}}; };
  switch (sw) {
    case sw::kLocked:
      return e(DeviceErrc::Locked, "Ledger is locked: unlock it with the PIN");
    case sw::kClaNotSupported:
    case sw::kAppNotOpenNew:
    case sw::kAppNotOpenNew2:
      return e(DeviceErrc::WrongApp, "Tezos Baking app is not open on the Ledger");
    case sw::kInvalidIns:
      return e(DeviceErrc::WrongApp, "the open Ledger app does not know this instruction: open the Tezos Baking app (or update it)");
    case sw::kSecurity:
      return is_sign(ins)
                 ? e(DeviceErrc::NotAuthorized, "the Ledger refused: this key is not the authorized baking key (run setup), or the PIN is not validated")
                 : e(DeviceErrc::NotAuthorized, "the Ledger refused: PIN not validated or key not authorized");
    case sw::kWrongValues:
      return is_sign(ins)
                 ? e(DeviceErrc::HwmRefused, "the Ledger refused to sign: level/round not above its high watermark")
                 : e(DeviceErrc::WrongParam, "the Ledger rejected the request values (bad path or data)");
    case sw::kParseError:
      return e(DeviceErrc::NotBakingMessage, "the Ledger refused: not a block, (pre)attestation or allowed operation");
    case sw::kReject:
      return e(DeviceErrc::Rejected, "the request was rejected on the Ledger (or the prompt timed out)");
    case sw::kWrongParam:
      return e(DeviceErrc::WrongParam, "the Ledger rejected a parameter (curve not supported by this device or app?)");
    case sw::kWrongLength:
    case sw::kWrongLengthForIns:
      return e(DeviceErrc::WrongLength, "the Ledger rejected the request length");
    case sw::kReferencedDataNotFound:
      return e(DeviceErrc::NotAuthorized, "no baking key is authorized on the Ledger");
    case sw::kMemoryError:
    case sw::kUnknownCxError:
      return e(DeviceErrc::Unknown, "internal error on the Ledger");
    default:
      return e(DeviceErrc::Unknown, "unexpected status from the Ledger");
  }
}

DeviceError error_from_transport(const TransportError& t) {
  std::string m;
  switch (t.code) {
    case TransportErrc::Timeout: m = "Ledger did not answer in time: " + t.message; break;
    case TransportErrc::Disconnected: m = "Ledger disconnected: " + t.message; break;
    case TransportErrc::Protocol: m = "garbled reply from the Ledger: " + t.message; break;
    case TransportErrc::Io: m = "Ledger I/O error: " + t.message; break;
  }
  return DeviceError{DeviceErrc::Transport, std::move(m), 0, t.code};
}

}  // namespace pisigner::ledger
