// The machine power-off action, injected into the UPS monitor.
#pragma once

#include <memory>
#include <string>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace sdbus {
class IConnection;
}

namespace pisigner::hal {

class PowerOff {
 public:
  virtual ~PowerOff() = default;
  // Asks the system to power off; success means the request was accepted.
  virtual Result<void, HalError> power_off() = 0;
};

// logind org.freedesktop.login1.Manager.PowerOff(false) on `bus` (the system bus in
// production). `bus` must outlive the object and run its event loop (or none at all).
std::unique_ptr<PowerOff> make_logind_power_off(sdbus::IConnection& bus);

// The same on the bus named by `bus_spec` ("system" or an address), connecting when first
// needed and again after any failure (the bus or logind may have restarted since), so a bus
// that is down when the power-off falls due only delays it to the caller's next attempt.
// Calls are synchronous (no event loop). Thread-safe.
class ReconnectingPowerOff final : public PowerOff {
 public:
  explicit ReconnectingPowerOff(std::string bus_spec);
  ~ReconnectingPowerOff() override;
  // Connects now (start-up uses it to warn early); a failure here is not fatal.
  Result<void, HalError> connect();
  Result<void, HalError> power_off() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::hal
