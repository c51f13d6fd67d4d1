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

Result<void, TransportError> Transport::send(const Apdu& apdu, std::chrono::milliseconds) {
  if (unsent_) return fail(TransportError{TransportErrc::Protocol, "send() twice without receive()"});
  unsent_ = apdu;
  return {};
}

Result<Reply, TransportError> Transport::receive(std::chrono::milliseconds timeout) {
  if (!unsent_) return fail(TransportError{TransportErrc::Protocol, "receive() without send()"});
  const Apdu apdu = std::move(*unsent_);
  unsent_.reset();
  return exchange(apdu, timeout);
}

}  // namespace pisigner::ledger
