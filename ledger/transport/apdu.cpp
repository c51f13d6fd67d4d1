#include "pisigner/ledger/transport.hpp"

#include <algorithm>

namespace pisigner::ledger {

Bytes Apdu::encode() const {
  // Built with resize+copy: GCC 12 warns falsely (-Warray-bounds) on initializer-list + insert.
  Bytes out(5 + data.size());
  out[0] = cla;
  out[1] = ins;
  out[2] = p1;
  out[3] = p2;
  out[4] = static_cast<std::uint8_t>(data.size());
  std::copy(data.begin(), data.end(), out.begin() + 5);
  return out;
}

const char* to_string(TransportErrc c) {
  switch (c) {
    case TransportErrc::Timeout: return "timeout";
    case TransportErrc::Disconnected: return "disconnected";
    case TransportErrc::Protocol: return "protocol error";
    case TransportErrc::Io: return "I/O error";
  }
  return "unknown";
}

}  // namespace pisigner::ledger
