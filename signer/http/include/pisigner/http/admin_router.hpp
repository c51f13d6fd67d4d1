// The operator's API, served only on server.admin_listen (loopback by default, never proxied):
// Ledger inspection and set-up, which need the device the daemon owns. A pure function of the
// request like Router: no sockets here, so its tests link no Asio.
//   GET  /ledger                 devices, their state, keys and device watermarks
//   GET  /ledger/devices         Ledgers visible on USB (HID enumeration)
//   POST /ledger/authorize       {"pkh"}                                    (device prompt)
//   POST /ledger/setup           {"pkh","chain","main_level","test_level"}  (device prompt)
//   POST /ledger/deauthorize     {"pkh"}
//   POST /ledger/reset-hwm       {"pkh","level"}                            (device prompt)
// Replies are JSON; errors are {"error": "..."} with 400 (malformed body: not JSON, a missing,
// unknown or mistyped field, a level outside 0..2^31-1), 404 (unknown route or key), 405 (known
// route, wrong method; Allow names the right one), 500 (the device failed or refused).
#pragma once

#include <functional>
#include <vector>

#include "pisigner/devices/ledger_device.hpp"
#include "pisigner/http/router.hpp"
#include "pisigner/ledger/hid_device.hpp"

namespace pisigner::http {

// Thread-safe (the devices' workers serialise device access).
class AdminRouter final : public Handler {
 public:
  using Enumerate = std::function<std::vector<ledger::HidDeviceInfo>()>;
  // `devices` may be null (no Ledger keys configured); it outlives the router. `enumerate` lists the
  // Ledgers on USB (ledger::enumerate_ledgers in the daemon).
  AdminRouter(const devices::LedgerDevices* devices, Enumerate enumerate)
      : devices_(devices), enumerate_(std::move(enumerate)) {}
  Response handle(const Request& request) override;
  // Everything that waits on a device: GET /ledger and every POST.
  bool blocking(const Request& request) const override;

 private:
  Response ledger_info();
  Response device_command(const std::string& path, const Request& request);

  const devices::LedgerDevices* devices_;
  Enumerate enumerate_;
};

}  // namespace pisigner::http
