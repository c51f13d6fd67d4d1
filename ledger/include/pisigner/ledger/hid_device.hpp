// A raw HID device that exchanges 64-byte reports: real (hidapi, hidraw backend) and fake.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

struct HidRead {
  enum class Kind { Data, Timeout, Gone };
  Kind kind = Kind::Timeout;
  Bytes data;           // the report (Kind::Data)
  std::string message;  // why (Kind::Gone)
};

// Not thread-safe: one owner.
class HidDevice {
 public:
  virtual ~HidDevice() = default;
  // Writes one 64-byte report. Disconnected when the device is gone, Io otherwise.
  virtual Result<void, TransportError> write(ByteView report) = 0;
  // Waits at most `timeout` (0 = poll) for one report.
  virtual HidRead read(std::chrono::milliseconds timeout) = 0;
  virtual std::string path() const = 0;
};

struct HidDeviceInfo {
  std::string path;
  std::string product;
  std::string serial;
  std::uint16_t product_id = 0;
  int interface_number = -1;
  std::uint16_t usage_page = 0;
};

// What hidapi must be given to send `report`: a 0x00 report id, then the 64 bytes
// (Ledger's descriptor has no numbered reports, so hidapi strips that first byte).
Bytes with_report_id(ByteView report);

// Ledger APDU interfaces currently attached: VID 0x2C97, any PID, interface 0 or usage
// page 0xFFA0. Empty when none (or when hidapi cannot enumerate). Thread-safe.
std::vector<HidDeviceInfo> enumerate_ledgers();

// Opens a device by hidapi path. Disconnected if it cannot be opened.
Result<std::unique_ptr<HidDevice>, TransportError> open_hid_device(const std::string& path);

}  // namespace pisigner::ledger
