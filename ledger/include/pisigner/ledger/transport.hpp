// One APDU exchange with a device. Implementations: HID (hidapi), TCP (Speculos protocol), fakes.
// Data, timeout and device-gone are distinct outcomes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger {

struct Apdu {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;  // at most 255 bytes; Lc is always sent, even when 0
  Bytes encode() const;
};

struct Reply {
  Bytes data;              // response data without the status word
  std::uint16_t sw = 0;    // status word
};

enum class TransportErrc {
  Timeout,       // no (complete) reply within the deadline; the device may be hung
  Disconnected,  // device or socket gone; reopen needed
  Protocol,      // malformed frame, wrong channel/tag/sequence, oversized length
  Io,            // other OS error
};

struct TransportError {
  TransportErrc code;
  std::string message;
};

const char* to_string(TransportErrc c);

// Not thread-safe: one owner at a time (the device worker, or a caller holding its lease).
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `apdu` and waits at most `timeout` for the whole reply.
  virtual Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds timeout) = 0;
  // The same in two steps, so the host can work while the device does: send(), then exactly one
  // receive() before anything else. Transports that cannot split do it all in receive().
  virtual Result<void, TransportError> send(const Apdu& apdu, std::chrono::milliseconds timeout);
  virtual Result<Reply, TransportError> receive(std::chrono::milliseconds timeout);
  // Human-readable origin ("hid:/dev/hidraw3", "tcp://127.0.0.1:9999").
  virtual std::string describe() const = 0;

 private:
  std::optional<Apdu> unsent_;  // the default send() keeps the APDU for receive()
};

}  // namespace pisigner::ledger
