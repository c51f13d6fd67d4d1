// The real HidDevice on hidapi's hidraw backend.
#include <hidapi.h>

#include <algorithm>
#include <cwchar>
#include <memory>
#include <mutex>

#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger {
namespace {

struct HidDeviceDeleter {
  void operator()(hid_device* d) const { hid_close(d); }
};
using HidDevicePtr = std::unique_ptr<hid_device, HidDeviceDeleter>;

struct HidInfoDeleter {
  void operator()(hid_device_info* i) const { hid_free_enumeration(i); }
};
using HidInfoPtr = std::unique_ptr<hid_device_info, HidInfoDeleter>;

// hid_init is not thread-safe and must run before the first enumerate/open.
bool ensure_hid_init() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = hid_init() == 0; });
  return ok;
}

std::string narrow(const wchar_t* w) {
  if (w == nullptr) return {};
  std::string out;
  for (; *w != 0; ++w) out.push_back(*w < 0x80 ? static_cast<char>(*w) : '?');
  return out;
}

std::string last_error(hid_device* d) {
  const wchar_t* e = hid_error(d);
  return e != nullptr ? narrow(e) : std::string("unknown hidapi error");
}

class HidapiDevice final : public HidDevice {
 public:
  HidapiDevice(HidDevicePtr dev, std::string path) : dev_(std::move(dev)), path_(std::move(path)) {}

  Result<void, TransportError> write(ByteView report) override {
    const Bytes buf = with_report_id(report);
    const int n = hid_write(dev_.get(), buf.data(), buf.size());
    if (n < 0) return fail(TransportError{TransportErrc::Disconnected, "HID write failed: " + last_error(dev_.get())});
    if (static_cast<std::size_t>(n) != buf.size()) {
      return fail(TransportError{TransportErrc::Io, "short HID write (" + std::to_string(n) + " bytes)"});
    }
    return {};
  }

  HidRead read(std::chrono::milliseconds timeout) override {
    std::uint8_t buf[kHidReportSize + 1] = {};
    const int ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, timeout.count()));
    // hidapi's hidraw backend maps POLLHUP/POLLERR and read errors to -1.
    const int n = hid_read_timeout(dev_.get(), buf, kHidReportSize, ms);
    if (n < 0) return HidRead{HidRead::Kind::Gone, {}, "HID read failed: " + last_error(dev_.get())};
    if (n == 0) return HidRead{HidRead::Kind::Timeout, {}, {}};
    return HidRead{HidRead::Kind::Data, Bytes(buf, buf + n), {}};
  }

  std::string path() const override { return path_; }

 private:
  HidDevicePtr dev_;
  std::string path_;
};

}  // namespace

Bytes with_report_id(ByteView report) {
  Bytes buf(report.size() + 1, 0);
  std::copy(report.begin(), report.end(), buf.begin() + 1);
  return buf;
}

std::vector<HidDeviceInfo> enumerate_ledgers() {
  std::vector<HidDeviceInfo> out;
  if (!ensure_hid_init()) return out;
  static std::mutex enumerate_mutex;  // hidapi keeps global error state
  std::lock_guard lock(enumerate_mutex);
  HidInfoPtr list(hid_enumerate(kLedgerVendorId, 0));
  for (const hid_device_info* i = list.get(); i != nullptr; i = i->next) {
    if (i->interface_number != 0 && i->usage_page != kApduUsagePage) continue;
    out.push_back(HidDeviceInfo{i->path != nullptr ? i->path : "", narrow(i->product_string),
                                narrow(i->serial_number), i->product_id, i->interface_number, i->usage_page});
  }
  return out;
}

Result<std::unique_ptr<HidDevice>, TransportError> open_hid_device(const std::string& path) {
  if (!ensure_hid_init()) return fail(TransportError{TransportErrc::Io, "hidapi initialisation failed"});
  HidDevicePtr dev(hid_open_path(path.c_str()));
  if (!dev) {
    return fail(TransportError{TransportErrc::Disconnected,
                               "cannot open HID device " + path + " (unplugged, or no permission: install the udev rule)"});
  }
  return std::unique_ptr<HidDevice>(std::make_unique<HidapiDevice>(std::move(dev), path));
}

}  // namespace pisigner::ledger
