// The machine power-off action, injected into the UPS monitor.
#pragma once

#include <memory>

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

}  // namespace pisigner::hal
