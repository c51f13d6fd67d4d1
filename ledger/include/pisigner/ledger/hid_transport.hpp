// Transport over a HidDevice using APDU-over-HID framing.
#pragma once

#include <memory>

#include "pisigner/clock.hpp"
#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

// Owns the device. Each exchange drains stale reports, writes the framed APDU and
// reassembles the reply before a deadline (the remaining time is recomputed per read
// with `clock`). Errors: Timeout, Disconnected (device gone), Protocol (bad framing).
class HidTransport final : public Transport {
 public:
  HidTransport(std::unique_ptr<HidDevice> device, Clock& clock = real_clock());
  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  Result<void, TransportError> send(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  Result<Reply, TransportError> receive(std::chrono::milliseconds timeout) override;
  std::string describe() const override;

 private:
  std::unique_ptr<HidDevice> device_;
  Clock& clock_;
};

// Opens the first enumerated Ledger (or the one at `path` when non-empty).
Result<std::unique_ptr<Transport>, TransportError> open_hid_transport(const std::string& path = "");

}  // namespace pisigner::ledger
