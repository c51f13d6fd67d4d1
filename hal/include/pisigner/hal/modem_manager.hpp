// ModemManager over D-Bus (org.freedesktop.ModemManager1, MM 1.20 API): the modems, their
// state, access technology, signal, operator and registration. Follows InterfacesAdded /
// InterfacesRemoved, PropertiesChanged and the service leaving or (re)appearing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace sdbus {
class IConnection;
}

namespace pisigner::hal {

struct ModemInfo {
  std::string path;
  std::string manufacturer;
  std::string model;
  std::int32_t state = 0;                  // MMModemState: 8 registered, 11 connected, -1 failed
  std::uint32_t access_technologies = 0;   // MMModemAccessTechnology bitmask
  std::uint32_t signal_percent = 0;
  bool signal_recent = false;
  std::uint32_t registration_state = 0;    // MMModem3gppRegistrationState: 1 home, 5 roaming
  std::string operator_code;
  std::string operator_name;
};

struct MmSnapshot {
  bool service_present = false;
  std::vector<ModemInfo> modems;   // sorted by path
  std::uint64_t modems_added = 0;
  std::uint64_t modems_removed = 0;
  std::uint64_t service_appearances = 0;  // times the service (re)appeared after being gone
};

const char* modem_state_name(std::int32_t state);
// "lte", "5gnr", "umts", ... the best technology in the bitmask; "unknown" for 0.
std::string access_technology_name(std::uint32_t bits);

class ModemManagerClient {
 public:
  // Subscribes to the signals; call resync() once the bus loop runs. `bus` must outlive
  // the client and run its event loop.
  ModemManagerClient(sdbus::IConnection& bus, std::chrono::milliseconds call_timeout);
  ~ModemManagerClient();

  // Re-reads every modem with GetManagedObjects. Errc::absent when ModemManager is not on
  // the bus (the snapshot then says so). Thread-safe.
  Result<void, HalError> resync();
  // True after the service (re)appeared or vanished and before the next resync().
  bool needs_resync() const;
  MmSnapshot snapshot() const;  // thread-safe copy
  // Called (on the bus thread) after any change.
  void set_on_change(std::function<void()> cb);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pisigner::hal
