// The operator's API, served only on server.admin_listen (loopback by default, never proxied):
// Ledger inspection and set-up, which need the device the daemon owns.
//   GET  /ledger                 devices, their state, keys and device watermarks
//   GET  /ledger/devices         Ledgers visible on USB (HID enumeration)
//   POST /ledger/authorize       {"pkh"}                                    (device prompt)
//   POST /ledger/setup           {"pkh","chain","main_level","test_level"}  (device prompt)
//   POST /ledger/deauthorize     {"pkh"}
//   POST /ledger/reset-hwm       {"pkh","level"}                            (device prompt)
#pragma once

#include "ledger_keys.hpp"
#include "pisigner/http/router.hpp"

namespace pisigner::daemon {

class AdminRouter final : public http::Handler {
 public:
  // `ledgers` may be null (no ledger keys configured).
  explicit AdminRouter(LedgerRuntime* ledgers) : ledgers_(ledgers) {}
  http::Response handle(const http::Request& request) override;
  bool blocking(const http::Request& request) const override { return request.method == "POST" || request.target == "/ledger"; }

 private:
  LedgerRuntime* ledgers_;
};

}  // namespace pisigner::daemon
